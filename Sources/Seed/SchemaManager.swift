import Foundation
import HappeningPostgres

/// Recreates the schema for `--reset` and moves index and foreign-key work out of the bulk load, the way
/// `pg_restore` does: build each index once over the loaded table instead of updating it row by row.
struct SchemaManager: Sendable {
    let postgres: PostgresClient

    /// The tables the seeder loads.
    static let tables = ["users", "host_bank_accounts", "events", "bookings", "payments", "payouts", "webhook_events", "event_cancellations"]

    /// What ``deferIndexes()`` removed, as the statements that put it back.
    struct Deferred: Sendable {
        /// Unique constraints and plain indexes: independent, built in parallel.
        var indexes: [String]
        /// Foreign keys: added (and validated in one pass each) after the indexes.
        var foreignKeys: [String]
    }

    /// Drops the seeded tables and the schema's enum types, then applies `schemaSQL` (init.sql), all in one
    /// transaction. Extensions (cube, earthdistance) and anything else in the database are left alone.
    func reset(schemaSQL: String) async throws {
        let enums = try await postgres.query(
            """
            SELECT format('%I', t.typname) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = 'public' AND t.typtype = 'e'
            """)
        let types = try enums.map { row -> String in try row.decode(0) }
        var script = "SET client_min_messages = warning;\nDROP TABLE IF EXISTS \(Self.tables.joined(separator: ", ")) CASCADE;\n"
        if !types.isEmpty { script += "DROP TYPE IF EXISTS \(types.joined(separator: ", ")) CASCADE;\n" }
        try await postgres.withConnection { connection in
            try await connection.executeScript(script + schemaSQL)
        }
    }

    /// Drops the secondary indexes, unique constraints and foreign keys of the (empty) seeded tables,
    /// keeping primary keys and CHECK constraints, and returns the statements that recreate them.
    func deferIndexes() async throws -> Deferred {
        let constraintRows = try await postgres.query(
            """
            SELECT c.conrelid::regclass::text, c.conname, c.contype::text, pg_get_constraintdef(c.oid)
            FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = 'public' AND t.relname = ANY($1::text[]) AND c.contype IN ('f', 'u')
            ORDER BY c.contype, t.relname, c.conname
            """, [PostgresArray(Self.tables)])
        let indexRows = try await postgres.query(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = 'public' AND t.relname = ANY($1::text[]) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))
            ORDER BY 1
            """, [PostgresArray(Self.tables)])
        var deferred = Deferred(indexes: [], foreignKeys: [])
        var drops: [String] = []
        for row in constraintRows {
            let table: String = try row.decode(0)
            let name: String = try row.decode(1)
            let kind: String = try row.decode(2)
            let definition: String = try row.decode(3)
            let add = "ALTER TABLE \(table) ADD CONSTRAINT \(quoteName(name)) \(definition)"
            if kind == "f" { deferred.foreignKeys.append(add) } else { deferred.indexes.append(add) }
            drops.append("ALTER TABLE \(table) DROP CONSTRAINT \(quoteName(name))")
        }
        for row in indexRows {
            let name: String = try row.decode(0)
            deferred.indexes.append(try row.decode(1))
            drops.append("DROP INDEX \(name)")
        }
        // Foreign keys first (their order above), then unique constraints, then indexes.
        try await postgres.withConnection { connection in
            try await connection.executeScript(drops.joined(separator: ";\n"))
        }
        return deferred
    }

    /// Rebuilds what ``deferIndexes()`` dropped — indexes on `parallelism` connections at once — then
    /// analyses the tables so the planner sees the new data (the near-me query needs it to choose GiST).
    func restore(_ deferred: Deferred, parallelism: Int) async throws {
        let lanes = max(1, parallelism)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<lanes {
                let mine = deferred.indexes.enumerated().filter { $0.offset % lanes == lane }.map(\.element)
                group.addTask { [postgres] in
                    try await postgres.withConnection { connection in
                        try await connection.query("SET maintenance_work_mem = '256MB'")
                        for statement in mine { try await connection.query(statement) }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await postgres.withConnection { connection in
            if !deferred.foreignKeys.isEmpty { try await connection.executeScript(deferred.foreignKeys.joined(separator: ";\n")) }
            try await connection.executeScript("ANALYZE " + Self.tables.joined(separator: ", "))
        }
    }

    /// After rows were appended to live tables (no `--reset`, so every index was updated row by row): rebuilds
    /// the GiST indexes of `events` when the load added at least a tenth of the table (and 10,000 rows), then
    /// analyses the tables. Returns the GiST indexes rebuilt.
    ///
    /// Why: a GiST index grown by inserts keeps the boxes its early pages got, which overlap more and more as the
    /// table grows; built over the whole table it is sorted first. Measured at 1,000,000 events (100,000 seeded,
    /// then 900,000 topped up): the near-me walk of `events_location_gist_idx` for 138 rows read 1,462 pages in
    /// 6.2 ms grown, 145 pages in 1.3 ms rebuilt. `REINDEX … CONCURRENTLY` keeps the old index usable by a
    /// running server until the new one is ready.
    func refreshAfterAppend(addedEvents: Int, totalEvents: Int) async throws -> [String] {
        var rebuilt: [String] = []
        if addedEvents >= 10_000, addedEvents * 10 >= totalEvents {
            let rows = try await postgres.query(
                """
                SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'events'::regclass AND a.amname = 'gist' ORDER BY 1
                """)
            for row in rows {
                let name: String = try row.decode(0)
                try await postgres.withConnection { connection in
                    try await connection.query("SET maintenance_work_mem = '256MB'")
                    try await connection.query("REINDEX INDEX CONCURRENTLY \(name)")
                }
                rebuilt.append(name)
            }
        }
        try await postgres.withConnection { connection in
            try await connection.executeScript("ANALYZE " + Self.tables.joined(separator: ", "))
        }
        return rebuilt
    }

    private func quoteName(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
