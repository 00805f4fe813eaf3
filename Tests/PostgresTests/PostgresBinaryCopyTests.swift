import Foundation
import HappeningPostgres
import TestSupport
import Testing

/// Rows for the binary COPY test: row `i` of `values`, every column type the seeder writes.
private struct TypedRows: PostgresCopySource {
    struct Row: Sendable {
        var id: UUID
        var count: Int32
        var big: Int64
        var flag: Bool?
        var label: String
        var at: Int64  // µs since 1970
        var price: Int64  // scale 2
        var latitude: Int64  // scale 6
        var document: String?
    }
    let rows: [Row]
    /// Fails the COPY at this row (to test that nothing of it remains).
    var failAt: Int?

    struct Boom: Error {}

    func writeRow(_ index: Int, to writer: inout PostgresCopyWriter) throws {
        if index == failAt { throw Boom() }
        let row = rows[index]
        writer.beginRow(fields: 10)
        writer.uuid(row.id)
        writer.int32(row.count)
        writer.int64(row.big)
        if let flag = row.flag { writer.bool(flag) } else { writer.null() }
        writer.text(row.label)
        writer.text {
            $0.append("built-")
            $0.append(decimal: index, width: 4)
            $0.append(ascii: 0x21)
        }
        writer.timestamp(microsecondsSince1970: row.at)
        writer.numeric(row.price, scale: 2)
        writer.numeric(row.latitude, scale: 6)
        if let document = row.document { writer.jsonb(document) } else { writer.null() }
    }
}

@Suite("Binary COPY", .timeLimit(.minutes(10)))
struct PostgresBinaryCopyTests {
    @Test("every written type round-trips exactly: numerics of every size and sign, µs timestamps, NULLs, UTF-8, jsonb")
    func roundTrip() async throws {
        let client = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 1))
        let table = "pg_binary_copy_\(TestEnvironment.uniqueSuffix())"
        try await client.query(
            """
            CREATE TABLE \(table) (id uuid PRIMARY KEY, n int4, big int8, flag bool, label text, built text, at timestamptz,
                                   price numeric(12,2), lat numeric(9,6), doc jsonb)
            """)
        let prices: [Int64] = [0, 1, 10, 99, 100, 1_234_567, -150, 10_000_000_000, 999_999_999_999, 50, 4_900, 100_000_000]
        let latitudes: [Int64] = [0, 1, -33_123_456, 89_999_999, -180_000_000, 19_076_000, 72_877_700, 100, 10_000, 12_345_678, -5, 1_000_000]
        let times: [Int64] = [
            0, 946_684_800_000_000, 946_684_799_999_999, 1_795_000_000_123_456, -86_400_000_001, 1_700_000_000_000_000,
            1, 2, 3, 4, 5, 6,
        ]
        var rows: [TypedRows.Row] = []
        for i in 0..<prices.count {
            let flag: Bool? = i % 3 == 0 ? nil : i % 2 == 0
            let label = i == 3 ? "" : "ünïcødé \(i) 🎟️\t\"quoted\"\n"
            let document: String? = i % 4 == 0 ? nil : #"{"k": \#(i), "s": "v"}"#
            rows.append(
                TypedRows.Row(
                    id: UUID(), count: Int32(i) - 5, big: Int64(i) * 1_000_000_007 - 3, flag: flag, label: label,
                    at: times[i], price: prices[i], latitude: latitudes[i], document: document))
        }
        let copied = try await client.withConnection { connection in
            try await connection.copyBinary(
                table: table, columns: ["id", "n", "big", "flag", "label", "built", "at", "price", "lat", "doc"],
                rows: 0..<rows.count, from: TypedRows(rows: rows))
        }
        #expect(copied == rows.count)
        for (index, row) in rows.enumerated() {
            let stored = try await client.query(
                """
                SELECT n, big, flag, label, built, (extract(epoch FROM at) * 1000000)::int8, price::text, lat::text, doc->>'k'
                FROM \(table) WHERE id = $1
                """, [row.id])[0]
            #expect(try stored.decode(0, as: Int32.self) == row.count)
            #expect(try stored.decode(1, as: Int64.self) == row.big)
            #expect(try stored.decode(2, as: Bool?.self) == row.flag)
            #expect(try stored.decode(3, as: String.self) == row.label)
            #expect(try stored.decode(4, as: String.self) == String(format: "built-%04d!", index))
            #expect(try stored.decode(5, as: Int64.self) == row.at)
            let price: String = PostgresNumeric(minorUnits: row.price, scale: 2).text
            let latitude: String = PostgresNumeric(minorUnits: row.latitude, scale: 6).text
            #expect(try stored.decode(6, as: String.self) == price)
            #expect(try stored.decode(7, as: String.self) == latitude)
            #expect(try stored.decode(8, as: String?.self) == (row.document == nil ? nil : String(index)))
        }
        try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    @Test("a source that throws aborts the COPY: none of its rows remain, and the connection is reusable")
    func abortLeavesNothing() async throws {
        let client = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 1))
        let table = "pg_binary_abort_\(TestEnvironment.uniqueSuffix())"
        try await client.query(
            "CREATE TABLE \(table) (id uuid PRIMARY KEY, n int4, big int8, flag bool, label text, built text, at timestamptz, price numeric(12,2), lat numeric(9,6), doc jsonb)"
        )
        let rows = (0..<50_000).map { i in
            TypedRows.Row(id: UUID(), count: Int32(i), big: 0, flag: true, label: "x", at: 0, price: 100, latitude: 0, document: nil)
        }
        await #expect(throws: TypedRows.Boom.self) {
            try await client.withConnection { connection in
                try await connection.copyBinary(
                    table: table, columns: ["id", "n", "big", "flag", "label", "built", "at", "price", "lat", "doc"],
                    rows: 0..<rows.count, from: TypedRows(rows: rows, failAt: 40_000))
            }
        }
        #expect(try await client.query("SELECT count(*) FROM \(table)")[0].decode(0, as: Int.self) == 0)
        try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }
}
