import EventAvailability
import Foundation
import HappeningModel
import Testing

@testable import Server

@Suite("Tickets left written into cached bodies", .timeLimit(.minutes(10)))
struct AvailabilitySlotsTests {
    private func record(_ id: UUID, title: String, available: Int) -> String {
        // The keys as the server writes them (sorted), with a title that tries to look like both patterns.
        let escaped = title.replacingOccurrences(of: "\"", with: "\\\"")
        return #"{"available_tickets":\#(available),"category":"music","id":"\#(id.lowercasedText)","title":"\#(escaped)","total_tickets":10}"#
    }

    @Test("each event's value is replaced, the rest of the body is byte for byte the same")
    func mergesAPage() throws {
        let (a, b, c) = (UUID(), UUID(), UUID())
        let body =
            #"{"events":["#
            + [
                record(a, title: #"fake "id":"\#(UUID().uuidString)" and "available_tickets":99"#, available: 10),
                record(b, title: "plain", available: 0), record(c, title: "third", available: 7),
            ].joined(separator: ",")
            + #"],"message":"Upcoming events","pagination":{"has_more":false,"limit":20,"page":1}}"#
        let slots = try #require(AvailabilitySlots(scanning: Array(body.utf8)))
        #expect(slots.ids == [a, b, c])
        let merged = Array(body.utf8).withUnsafeBytes { slots.merged($0, values: [a: 4, c: 12_345]) }
        let expected = body.replacingOccurrences(of: #""available_tickets":10,"#, with: #""available_tickets":4,"#)
            .replacingOccurrences(of: #""available_tickets":7,"#, with: #""available_tickets":12345,"#)
        #expect(String(decoding: merged, as: UTF8.self) == expected)
        // Still JSON, and the title kept its text.
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(merged)) as? [String: Any])
        let events = try #require(decoded["events"] as? [[String: Any]])
        #expect(events.map { $0["available_tickets"] as? Int } == [4, 0, 12_345])
        #expect((events[0]["title"] as? String)?.contains(#""available_tickets":99"#) == true)
    }

    @Test("the server's own encoding of an event and of a page is understood")
    func serverEncoding() throws {
        let id = UUID()
        let event = try JSONDecoder.iso.decode(EventRecord.self, from: Data(record(id, title: "x", available: 3).utf8).withDates())
        let single = try JSON.encode(PublicEvent(message: "Event details", event: event))
        #expect(AvailabilitySlots(scanning: single)?.ids == [id])
        let page = try JSON.encode(EventPage(message: "Search results", rows: [event, event], page: PageRequest(page: 1, limit: 20)))
        #expect(AvailabilitySlots(scanning: page)?.ids == [id, id])
        let empty = try JSON.encode(EventPage(message: "Search results", rows: [], page: PageRequest(page: 1, limit: 20)))
        #expect(AvailabilitySlots(scanning: empty)?.ids == [])
    }

    @Test("a body that does not pair ids with tickets left is refused; values round-trip")
    func refusesOthers() {
        #expect(AvailabilitySlots(scanning: Array(#"{"id":"\#(UUID().uuidString)"}"#.utf8)) == nil)
        #expect(AvailabilitySlots(scanning: Array(#"{"available_tickets":1}"#.utf8)) == nil)
        #expect(AvailabilitySlots(scanning: Array(#"{"available_tickets":x,"id":"\#(UUID().uuidString)"}"#.utf8)) == nil)
        #expect(AvailabilitySlots(scanning: Array("stale".utf8))?.ids == [])
        #expect(Availability(encoded: Array("1733100000000000:42".utf8)) == Availability(available: 42, version: 1_733_100_000_000_000))
        #expect(Availability(encoded: Array("42".utf8)) == nil)
        #expect(Availability(available: 0, version: 7).encoded == "7:0")
    }
}

extension JSONDecoder {
    fileprivate static var iso: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

extension Data {
    /// Adds the fields an ``EventRecord`` needs besides those the test writes.
    fileprivate func withDates() -> Data {
        var object = (try? JSONSerialization.jsonObject(with: self) as? [String: Any]) ?? [:]
        object["date_time"] = "2030-01-01T10:00:00Z"
        object["created_at"] = "2029-01-01T10:00:00Z"
        object["venue"] = "Hall"
        object["price"] = "0.00"
        object["is_cancelled"] = false
        object["approval_status"] = "approved"
        return (try? JSONSerialization.data(withJSONObject: object)) ?? self
    }
}
