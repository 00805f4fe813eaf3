import Foundation
import HappeningPostgres
import TestSupport
import Testing

@Suite("PostgreSQL values", .timeLimit(.minutes(10)))
struct PostgresTypeTests {
    @Test("every supported type round-trips, NULL included")
    func roundTrip() async throws {
        let client = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 2))
        let id = UUID()
        let when = Date(timeIntervalSince1970: 1_795_000_000.123456)
        let price = PostgresNumeric("12345678901234567.89")!
        let json = PostgresJSON(text: #"{"a": [1, 2, {"b": null}], "s": "ünïcødé ✓"}"#)
        let bytes = Data([0, 1, 2, 250, 255])
        let rows = try await client.query(
            """
            SELECT $1::uuid, $2::text, $3::int4, $4::int8, $5::bool, $6::numeric, $7::timestamptz,
                   $8::jsonb, $9::float8, $10::text, $11::int8, $12::bytea, $13::int2
            """,
            [
                id, "it's \"quoted\"\n\ttabbed ✓", Int32(-2_147_483_648), Int64.max, true, price, when,
                json, 3.141592653589793, nil, nil, bytes, Int16(-7),
            ]
        )
        let row = try #require(rows.first)
        #expect(try row.decode(0) == id)
        #expect(try row.decode(1) == "it's \"quoted\"\n\ttabbed ✓")
        #expect(try row.decode(2) == Int32.min)
        #expect(try row.decode(3) == Int64.max)
        #expect(try row.decode(4) == true)
        #expect(try row.decode(5) == price)
        let decodedDate: Date = try row.decode(6)
        #expect(abs(decodedDate.timeIntervalSince1970 - when.timeIntervalSince1970) < 0.000_001)
        let decodedJSON: PostgresJSON = try row.decode(7)
        struct Doc: Decodable, Equatable { let s: String }
        #expect(try decodedJSON.decode(Doc.self) == Doc(s: "ünïcødé ✓"))
        #expect(try row.decode(8) == 3.141592653589793)
        #expect(try row.decode(9, as: String?.self) == nil)
        #expect(try row.decode(10, as: Int?.self) == nil)
        #expect(throws: PostgresError.self) { try row.decode(10, as: Int.self) }
        #expect(try row.decode(11) == bytes)
        #expect(try row.decode(12) == Int16(-7))
        await client.shutdown()
    }

    @Test("timestamps with zones, infinity and dates decode exactly")
    func timestamps() async throws {
        let client = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 1))
        let row = try #require(
            try await client.query(
                "SELECT '2026-03-01 12:30:45.5+05:30'::timestamptz, 'infinity'::timestamptz, '1969-12-31'::date, '0044-03-15 00:00:00+00'::timestamptz"
            ).first)
        #expect(try row.decode(0, as: Date.self).timeIntervalSince1970 == 1_772_348_445.5)
        #expect(try row.decode(1, as: Date.self) == .distantFuture)
        #expect(try row.decode(2, as: Date.self).timeIntervalSince1970 == -86_400)
        let ides: Date = try row.decode(3)
        let back = try #require(try await client.query("SELECT $1::timestamptz = '0044-03-15 00:00:00+00'", [ides]).first)
        #expect(try back.decode(0) == true)
        await client.shutdown()
    }

    @Test("numeric is exact and converts to integer minor units")
    func numericMinorUnits() throws {
        #expect(try PostgresNumeric("499.50")!.minorUnits(scale: 2) == 49_950)
        #expect(try PostgresNumeric("-0.05")!.minorUnits(scale: 2) == -5)
        #expect(try PostgresNumeric("7")!.minorUnits(scale: 2) == 700)
        #expect(try PostgresNumeric("1.2300")!.minorUnits(scale: 2) == 123)
        #expect(throws: PostgresNumeric.ConversionError.self) { try PostgresNumeric("1.005")!.minorUnits(scale: 2) }
        #expect(throws: PostgresNumeric.ConversionError.self) { try PostgresNumeric("99999999999999999999")!.minorUnits(scale: 2) }
        #expect(PostgresNumeric(minorUnits: 49_950, scale: 2).text == "499.50")
        #expect(PostgresNumeric(minorUnits: -5, scale: 2).text == "-0.05")
        #expect(PostgresNumeric(minorUnits: 0, scale: 2).text == "0.00")
        #expect(PostgresNumeric("abc") == nil)
        #expect(PostgresNumeric("NaN") == nil)
        #expect(PostgresNumeric("1.2.3") == nil)
    }
}
