import Foundation
import Testing

@testable import HappeningBench

/// The staleness check against ledgers and reads constructed here, and the response scanner that finds the shown value.
@Suite("Bench: staleness of what readers see", .timeLimit(.minutes(10)))
struct StalenessTests {
    /// 3 tickets; bookings decided at 1.000 s, 2.000 s and 3.000 s (sold out then); the first cancelled at 5.000 s.
    static let truth = AvailabilityTruth(
        total: 3,
        bookings: [
            (decided: 1_000_000, tickets: 1, cancelled: 5_000_000), (decided: 2_000_000, tickets: 1, cancelled: nil),
            (decided: 3_000_000, tickets: 1, cancelled: nil),
        ])

    static func read(_ sent: Int64, _ shown: Int, received: Int64? = nil, template: Int = 0) -> ShownRead {
        ShownRead(template: template, sent_micros: sent, received_micros: received ?? sent + 1_000, shown: shown)
    }

    @Test("the truth steps down at each decision and back at the cancellation")
    func truthOverTime() {
        let truth = Self.truth
        #expect(truth.value(at: 999_999) == 3)
        #expect(truth.value(at: 1_000_000) == 2)
        #expect(truth.value(at: 2_500_000) == 1)
        #expect(truth.value(at: 4_000_000) == 0)
        #expect(truth.value(at: 5_000_000) == 1)
        #expect(truth.droppedBelow(3, before: 2_500_000) == 1_000_000)
        #expect(truth.droppedBelow(2, before: 2_500_000) == 2_000_000)
        #expect(truth.droppedBelow(1, before: 2_500_000) == nil)
        #expect(truth.soldOut(before: 4_000_000) == 3_000_000)
        #expect(truth.soldOut(before: 6_000_000) == nil, "tickets came back at 5 s")
    }

    @Test("stale reads, the largest staleness, understated reads and reads shown after the sell-out, counted exactly")
    func staleCountAndMax() {
        let reads = [
            Self.read(500_000, 3),  // fresh
            Self.read(1_200_000, 3),  // stale by 200 ms (the truth fell to 2 at 1.0 s)
            Self.read(2_100_000, 2),  // stale by 100 ms
            Self.read(2_100_000, 3),  // stale by 1.1 s (below 3 since 1.0 s)
            Self.read(3_400_000, 1, template: 1),  // sold out at 3.0 s: stale by 400 ms and shown after sold out
            Self.read(3_900_000, 0),  // fresh
            Self.read(4_500_000, 1),  // shown after sold out, 1.5 s after it
            Self.read(5_200_000, 0),  // a ticket came back at 5.0 s: understated
            Self.read(2_999_000, 1, received: 3_100_000),  // in flight across the sell-out: either value is right
        ]
        let report = StalenessCheck.report(event: "e", reads: reads, truth: Self.truth, requestNames: ["detail", "list"])
        #expect(report.reads == 9)
        #expect(report.stale == 5)
        #expect(report.max_staleness_ms == 1_500)
        #expect(report.shown_after_sold_out == 2)
        #expect(report.shown_after_sold_out_max_ms == 1_500)
        #expect(report.understated == 1)
        #expect(report.sold_out_at_micros == nil, "not sold out at the end: a ticket came back")
        #expect(report.reads_by_request == ["detail": 8, "list": 1])
        #expect(report.changes == 4)
        #expect(Thresholds.evaluate("staleness.max < 1s", phases: [], ledger: nil, staleness: report).passed == false)
        #expect(Thresholds.evaluate("staleness.max < 2s", phases: [], ledger: nil, staleness: report).passed)
        #expect(Thresholds.evaluate("shown_after_sold_out == 0", phases: [], ledger: nil, staleness: report).message.contains("= 2"))
    }

    @Test("no reads, no staleness; a fresh run passes its thresholds")
    func fresh() {
        let report = StalenessCheck.report(event: "e", reads: [Self.read(1_500_000, 2), Self.read(3_500_000, 0)], truth: Self.truth, requestNames: ["detail"])
        #expect(report.stale == 0 && report.understated == 0 && report.max_staleness_ms == 0 && report.p99_staleness_ms == nil)
        #expect(Thresholds.evaluate("staleness.max < 1s", phases: [], ledger: nil, staleness: report).passed)
        #expect(Thresholds.evaluate("shown_after_sold_out == 0", phases: [], ledger: nil, staleness: report).passed)
    }

    @Test("the shown value is found in a detail body and in the right entry of a list, not in a neighbour or a string")
    func scanner() {
        let id = "0b9a1c2e-0000-4000-8000-00000000abcd"
        func shown(_ json: String) -> Int? {
            let bytes = Array(json.utf8)
            return bytes.withUnsafeBytes { ResponseFields.integer(Array("available_tickets".utf8), inObjectWithID: Array(id.utf8), in: $0) }
        }
        #expect(shown(#"{"event":{"id":"\#(id)","title":"A {brace} \"quoted\"","available_tickets":42,"total_tickets":100}}"#) == 42)
        #expect(
            shown(#"{"events":[{"available_tickets":7,"id":"other"},{"total_tickets":9,"available_tickets":3,"id":"\#(id)","price":"0.00"}],"page":1}"#) == 3)
        #expect(shown(#"{"events":[{"id":"other","available_tickets":7,"note":"\#(id)"}]}"#) == nil, "the id only inside another event's string")
        #expect(shown(#"{"events":[{"id":"\#(id)","organizer":{"id":"u","available_tickets":1},"available_tickets":0}]}"#) == 0)
        #expect(shown(#"{"id":"\#(id)","available_tickets":1.5}"#) == nil, "not an integer")
        let body = Array(#"{"x":"\#(id)"}"#.utf8)
        #expect(body.withUnsafeBytes { ResponseFields.contains(Array(id.utf8), in: $0) })
        #expect(!body.withUnsafeBytes { ResponseFields.contains(Array("0b9a1c2e-0000-4000-8000-00000000abce".utf8), in: $0) })
        #expect(Array(#"{"booking_id":"b-1","status":"queued"}"#.utf8).withUnsafeBytes { ResponseFields.string("booking_id", in: $0) } == "b-1")
    }
}
