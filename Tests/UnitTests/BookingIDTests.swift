import Foundation
import HappeningModel
import Testing

@testable import Server

private let user = UUID(uuidString: "6BA7B810-9DAD-11D1-80B4-00C04FD430C8")!
private let otherUser = UUID(uuidString: "6BA7B811-9DAD-11D1-80B4-00C04FD430C8")!

/// The UUID's version (high nibble of byte 6) and whether its variant is RFC 4122 (`10` in byte 8's top bits).
private func versionAndVariant(_ id: UUID) -> (version: UInt8, rfc4122: Bool) {
    (id.uuid.6 >> 4, id.uuid.8 & 0xC0 == 0x80)
}

/// The booking id the intake derives from (user, `Idempotency-Key`), so a retry maps to the same booking even
/// when Redis is down; and the booking job's JSON round trip between the server and the worker.
@Suite("Booking ids and jobs", .timeLimit(.minutes(10)))
struct BookingIDTests {
    @Test("known answer: the first 16 bytes of SHA-256(\"<user, lower case>:<key>\") as a version-8 UUID")
    func knownAnswer() {
        // printf '%s' '6ba7b810-9dad-11d1-80b4-00c04fd430c8:retry-me-1' | openssl dgst -sha256
        //   → 046c1ab310cb04dbc4603230f77de3da…; version nibble 8 into byte 6, variant 10 into byte 8.
        #expect(BookingIntake.bookingID(user: user, key: "retry-me-1") == UUID(uuidString: "046c1ab3-10cb-84db-8460-3230f77de3da"))
    }

    @Test("the same (user, key) always gives the same id")
    func deterministic() {
        for key in ["a", "retry-me-1", "ключ", String(repeating: "k", count: 200)] {
            #expect(BookingIntake.bookingID(user: user, key: key) == BookingIntake.bookingID(user: user, key: key))
        }
    }

    @Test("another user or another key gives another id; keys are case-sensitive")
    func distinct() {
        var seen = Set<UUID>()
        for owner in [user, otherUser] {
            for key in ["k", "K", "k ", "k1", "k2", "", "retry-me-1"] {
                #expect(seen.insert(BookingIntake.bookingID(user: owner, key: key)).inserted, "\(owner) \(key)")
            }
        }
        #expect(seen.count == 14)
    }

    @Test("derived ids are valid RFC 4122 UUIDs of version 8")
    func validUUIDs() {
        for index in 0..<200 {
            let id = BookingIntake.bookingID(user: user, key: "key-\(index)")
            let (version, rfc4122) = versionAndVariant(id)
            #expect(version == 8 && rfc4122, "\(id)")
            #expect(UUID(uuidString: id.lowercasedText) == id)
        }
    }

    @Test("without a key every request gets a fresh random (version 4) id")
    func noKey() {
        let first = BookingIntake.bookingID(user: user, key: nil)
        let second = BookingIntake.bookingID(user: user, key: nil)
        #expect(first != second)
        #expect(versionAndVariant(first).version == 4 && versionAndVariant(second).version == 4)
    }

    @Test("a job round-trips through its JSON, which has sorted keys and ISO 8601 dates")
    func jobRoundTrip() throws {
        let job = BookingJob(
            booking_id: BookingIntake.bookingID(user: user, key: "retry-me-1"), event_id: otherUser, user_id: user, ticket_count: 2,
            idempotency_key: "retry-me-1", requested_at: Date(timeIntervalSince1970: 1_894_795_200))
        let bytes = try job.encoded()
        #expect(
            String(decoding: bytes, as: UTF8.self) == #"""
                {"booking_id":"046C1AB3-10CB-84DB-8460-3230F77DE3DA","event_id":"6BA7B811-9DAD-11D1-80B4-00C04FD430C8","idempotency_key":"retry-me-1",\#
                "requested_at":"2030-01-16T12:00:00Z","ticket_count":2,"user_id":"6BA7B810-9DAD-11D1-80B4-00C04FD430C8"}
                """#)
        #expect(try BookingJob.decode(bytes) == job)

        var anonymous = job
        anonymous.idempotency_key = nil
        #expect(try BookingJob.decode(anonymous.encoded()) == anonymous)
        #expect(!String(decoding: try anonymous.encoded(), as: UTF8.self).contains("idempotency_key"))
    }

    @Test(
        "malformed jobs are refused",
        arguments: [
            "",
            "not json",
            #"{"booking_id":"046C1AB3-10CB-84DB-8460-3230F77DE3DA"}"#,
            #"{"booking_id":"nope","event_id":"6BA7B811-9DAD-11D1-80B4-00C04FD430C8","user_id":"6BA7B810-9DAD-11D1-80B4-00C04FD430C8","ticket_count":1,"requested_at":"2030-01-16T12:00:00Z"}"#,
            #"{"booking_id":"046C1AB3-10CB-84DB-8460-3230F77DE3DA","event_id":"6BA7B811-9DAD-11D1-80B4-00C04FD430C8","user_id":"6BA7B810-9DAD-11D1-80B4-00C04FD430C8","ticket_count":"1","requested_at":"2030-01-16T12:00:00Z"}"#,
            #"{"booking_id":"046C1AB3-10CB-84DB-8460-3230F77DE3DA","event_id":"6BA7B811-9DAD-11D1-80B4-00C04FD430C8","user_id":"6BA7B810-9DAD-11D1-80B4-00C04FD430C8","ticket_count":1,"requested_at":1894795200}"#,
        ])
    func malformedJobs(text: String) {
        #expect(throws: (any Error).self) { try BookingJob.decode(Array(text.utf8)) }
    }

    @Test("a job written by hand (lower-case ids, absent key) decodes")
    func decodesHandWritten() throws {
        let job = try BookingJob.decode(
            Array(
                #"""
                {"ticket_count":3,"user_id":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","event_id":"6ba7b811-9dad-11d1-80b4-00c04fd430c8",
                 "booking_id":"046c1ab3-10cb-84db-8460-3230f77de3da","requested_at":"2030-01-16T12:00:00Z"}
                """#.utf8))
        #expect(job.user_id == user && job.event_id == otherUser && job.ticket_count == 3 && job.idempotency_key == nil)
        #expect(job.requested_at == Date(timeIntervalSince1970: 1_894_795_200))
    }
}
