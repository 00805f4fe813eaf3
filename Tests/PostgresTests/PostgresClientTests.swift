import Foundation
import HappeningPool
import HappeningPostgres
import TestSupport
import Testing

@Suite("PostgreSQL client", .timeLimit(.minutes(10)))
struct PostgresClientTests {
    private func makeClient(poolSize: Int = 4, checkoutTimeout: Duration = .seconds(10)) -> PostgresClient {
        PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: poolSize, checkoutTimeout: checkoutTimeout))
    }

    @Test("a transaction that throws leaves no trace")
    func rollbackOnThrow() async throws {
        let client = makeClient()
        let table = "pg_tx_test_\(TestEnvironment.uniqueSuffix())"
        try await client.query("CREATE TABLE \(table) (id uuid PRIMARY KEY, note text NOT NULL)")
        struct Boom: Error {}
        let id = UUID()
        await #expect(throws: Boom.self) {
            try await client.withTransaction { tx in
                try await tx.query("INSERT INTO \(table) (id, note) VALUES ($1, $2)", [id, "written, then rolled back"])
                let inside = try await tx.query("SELECT count(*) FROM \(table)")
                #expect(try inside[0].decode(0) == 1)
                throw Boom()
            }
        }
        let after = try await client.query("SELECT count(*) FROM \(table) WHERE id = $1", [id])
        #expect(try after[0].decode(0) == 0)
        // A committed transaction stays.
        try await client.withTransaction { tx in
            try await tx.query("INSERT INTO \(table) (id, note) VALUES ($1, $2)", [id, "kept"])
        }
        #expect(try await client.query("SELECT note FROM \(table)")[0].decode(0) == "kept")
        try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    @Test("200 concurrent tasks through a pool of 8 all complete")
    func concurrentTasksThroughSmallPool() async throws {
        // A generous checkout wait: this checks that every task completes and the pool stays bounded, not speed,
        // and the whole suite shares the 2 cores with it.
        let client = makeClient(poolSize: 8, checkoutTimeout: .seconds(60))
        let maxBackends = LockedValue(Set<Int32>())
        let results = try await withThrowingTaskGroup(of: Int.self, returning: [Int].self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await client.withConnection { conn in
                        maxBackends.withLock { _ = $0.insert(conn.backendPID) }
                        let rows = try await conn.query("SELECT $1::int8 * 2 FROM pg_sleep(0.005)", [index])
                        return try rows[0].decode(0)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.sorted() == (0..<200).map { $0 * 2 })
        let stats = client.statistics
        #expect(stats.open <= 8)
        #expect(stats.totalWaits > 0, "the pool should have made callers wait")
        #expect(maxBackends.value.count <= 8)
        await client.shutdown()
    }

    @Test("waiting is first come, first served, and times out")
    func fairWaitingAndTimeout() async throws {
        let client = makeClient(poolSize: 1, checkoutTimeout: .milliseconds(300))
        let order = LockedValue([Int]())
        let holding = LockedValue(false)
        let release = LockedValue(false)
        func waitUntil(_ condition: () -> Bool, file: StaticString = #fileID, line: UInt = #line) async throws {
            try await eventually("the pool to reach the next step", every: .milliseconds(5), file: file, line: line) { condition() }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Hold the only connection until told to let go.
            group.addTask {
                try await client.withConnection { _ in
                    holding.withLock { $0 = true }
                    try await eventually("the test to let go", every: .milliseconds(5)) { release.value }
                }
            }
            try await waitUntil { holding.value }
            // Five callers join the line one after another (each is in line before the next starts).
            for index in 0..<5 {
                group.addTask {
                    do {
                        try await client.withConnection { _ in order.withLock { $0.append(index) } }
                    } catch let error as PostgresError where error.kind == .checkoutTimeout {
                        order.withLock { $0.append(-1 - index) }
                    }
                }
                try await waitUntil { client.statistics.totalWaits == index + 1 }
            }
            // Keep holding until every caller in line has timed out (bounded, however busy the machine is).
            let deadline = ContinuousClock.now + .seconds(30)
            try await waitUntil { client.statistics.checkoutTimeouts == 5 || ContinuousClock.now > deadline }
            release.withLock { $0 = true }
            try await group.waitForAll()
        }
        #expect(order.value == [-1, -2, -3, -4, -5], "every waiter should have timed out, in order")
        #expect(client.statistics.checkoutTimeouts == 5)

        // With a generous timeout the same line is served first come, first served.
        let patient = makeClient(poolSize: 1, checkoutTimeout: .seconds(30))
        let served = LockedValue([Int]())
        let held = LockedValue(false)
        let letGo = LockedValue(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await patient.withConnection { _ in
                    held.withLock { $0 = true }
                    try await eventually("the test to let go", every: .milliseconds(5)) { letGo.value }
                }
            }
            try await waitUntil { held.value }
            for index in 0..<5 {
                group.addTask { try await patient.withConnection { _ in served.withLock { $0.append(index) } } }
                try await waitUntil { patient.statistics.totalWaits == index + 1 }
            }
            letGo.withLock { $0 = true }
            try await group.waitForAll()
        }
        #expect(served.value == [0, 1, 2, 3, 4])
        await patient.shutdown()
        await client.shutdown()
    }

    @Test("a statement with parameters is prepared once per connection and then only run; with none kept, nothing is prepared")
    func preparedOnce() async throws {
        let statement = "SELECT $1::int + \(Int.random(in: 1...1_000_000))"
        for (kept, expected) in [(256, 1), (0, 0)] {
            let client = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 1, preparedStatements: kept))
            for n in 1...3 { _ = try await client.query(statement, [n]) }
            // The same connection (a pool of one) lists what it holds prepared.
            let held: Int = try await client.query("SELECT count(*)::int FROM pg_prepared_statements WHERE statement = $1", [statement])[0].decode(0)
            #expect(held == expected, "\(kept) kept: \(held) prepared")
            await client.shutdown()
        }
    }

    @Test("a table that changes shape under a prepared SELECT *: the next run prepares it again and answers with the new columns")
    func preparedAfterAlter() async throws {
        let client = makeClient(poolSize: 1)
        let table = "pg_prepared_test_\(TestEnvironment.uniqueSuffix())"
        try await client.query("CREATE TABLE \(table) (id int PRIMARY KEY, note text NOT NULL)")
        try await client.query("INSERT INTO \(table) VALUES ($1, $2)", [1, "one"])
        let select = "SELECT * FROM \(table) WHERE id = $1"
        #expect(try await client.query(select, [1])[0].decode(1) == "one")
        try await client.query("ALTER TABLE \(table) ADD COLUMN extra text NOT NULL DEFAULT 'new'")
        let row = try await client.query(select, [1])[0]
        #expect(try row.decode(2) == "new")
        // Inside a transaction the statement fails once (the transaction cannot go on); the next one works.
        try await client.query("ALTER TABLE \(table) DROP COLUMN extra")
        await #expect(throws: PostgresError.self) {
            try await client.withTransaction { tx in _ = try await tx.query(select, [1]) }
        }
        #expect(try await client.query(select, [1])[0].decode(1) == "one")
        try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    @Test("COPY FROM STDIN loads 100,000 rows")
    func copy100k() async throws {
        let client = makeClient()
        let table = "pg_copy_test_\(TestEnvironment.uniqueSuffix())"
        try await client.query("CREATE TABLE \(table) (n int8 NOT NULL, label text, price numeric(12,2), at timestamptz)")
        let now = Date()
        let rows = (0..<100_000).lazy.map { n -> PostgresBindings in
            [n, n % 10 == 0 ? nil : "row \(n)\twith\\escapes\n", PostgresNumeric(minorUnits: Int64(n), scale: 2), now]
        }
        let copied = try await client.withConnection { try await $0.copyFrom(table: table, columns: ["n", "label", "price", "at"], rows: Array(rows)) }
        #expect(copied == 100_000)
        let check = try await client.query(
            "SELECT count(*), sum(n), count(label), sum(price) FROM \(table)"
        )
        #expect(try check[0].decode(0) == 100_000)
        #expect(try check[0].decode(1) == Int64(99_999 * 100_000 / 2))
        #expect(try check[0].decode(2) == 90_000)
        #expect(try check[0].decode(3, as: PostgresNumeric.self).minorUnits(scale: 2) == Int64(99_999 * 100_000 / 2))
        let sample = try await client.query("SELECT label FROM \(table) WHERE n = 7")
        #expect(try sample[0].decode(0) == "row 7\twith\\escapes\n")
        try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    @Test("warming opens the whole pool before the first call; a burst then opens none; a failed open leaves its slot free")
    func warming() async throws {
        let name = "pg-warm-\(TestEnvironment.uniqueSuffix())"
        let client = PostgresClient(configuration: .init(url: TestEnvironment.databaseURL, poolSize: 4, applicationName: name))
        let admin = makeClient(poolSize: 1)
        func backends() async throws -> Int {
            try await admin.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [name])[0].decode(0, as: Int.self)
        }
        #expect(try await backends() == 0, "nothing opens before the first call or warm()")
        #expect(await client.warm() == 4)
        #expect(try await backends() == 4)
        #expect(client.statistics.open == 4 && client.statistics.idle == 4)
        #expect(await client.warm() == 0, "a warm pool opens nothing more")
        let pids = LockedValue(Set<Int32>())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { try await client.withConnection { connection in pids.withLock { _ = $0.insert(connection.backendPID) } } }
            }
            try await group.waitForAll()
        }
        #expect(try await backends() == 4 && client.statistics.open == 4, "the burst opened connections of its own")
        await client.shutdown()

        let unreachable = PostgresClient(configuration: .init(url: "postgres://nobody:wrong@127.0.0.1:1/none", poolSize: 3))
        #expect(await unreachable.warm() == 0)
        #expect(unreachable.statistics.open == 0, "a failed open kept its slot")
        await unreachable.shutdown()
        await admin.shutdown()
    }

    @Test("a connection the server terminated is replaced, not reused")
    func terminatedConnectionIsReplaced() async throws {
        let client = makeClient(poolSize: 1)
        let admin = makeClient(poolSize: 1)
        let firstPID = try await client.withConnection { $0.backendPID }
        let terminated = try await admin.query("SELECT pg_terminate_backend($1)", [firstPID])
        #expect(try terminated[0].decode(0) == true)
        // Wait until the backend is really gone.
        try await eventually("the terminated backend to be gone") {
            try await admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [firstPID])[0].decode(0, as: Int.self)
        } until: {
            $0 == 0
        }
        let rows = try await client.query("SELECT pg_backend_pid()")
        let secondPID: Int32 = try rows[0].decode(0)
        #expect(secondPID != firstPID)
        #expect(client.statistics.replacedConnections == 1)
        await client.shutdown()
        await admin.shutdown()
    }

    @Test("errors carry SQLSTATE and never the parameter values")
    func errorsExposeSQLState() async throws {
        let client = makeClient()
        let table = "pg_err_test_\(TestEnvironment.uniqueSuffix())"
        try await client.query("CREATE TABLE \(table) (email text PRIMARY KEY, n int CHECK (n >= 0))")
        try await client.query("INSERT INTO \(table) VALUES ($1, 1)", ["secret@example.com"])
        await #expect {
            try await client.query("INSERT INTO \(table) VALUES ($1, 1)", ["secret@example.com"])
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.sqlState == "23505" && error.isUniqueViolation && error.constraint == "\(table)_pkey"
                && !"\(error)".contains("secret@example.com") && !String(reflecting: error).contains("secret")
        }
        await #expect {
            try await client.query("SELECT $1::uuid", ["not-a-uuid-SECRET"])
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.sqlState == "22P02" && error.isInvalidInput && !"\(error)".contains("SECRET")
        }
        await #expect {
            try await client.query("INSERT INTO \(table) VALUES ($1, -1)", ["x@example.com"])
        } throws: { error in
            (error as? PostgresError)?.sqlState == "23514"
        }
        await #expect {
            try await client.query("SELEC 1")
        } throws: { error in
            (error as? PostgresError)?.sqlState == "42601"
        }
        // The connection is still good after errors.
        #expect(try await client.query("SELECT 1")[0].decode(0) == 1)
        try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    @Test("a bad URL fails with a connection error that leaks no password")
    func badConnection() async throws {
        let client = PostgresClient(configuration: .init(url: "postgres://happening:hunter2@127.0.0.1:1/happening", poolSize: 1))
        await #expect {
            try await client.query("SELECT 1")
        } throws: { error in
            (error as? PostgresError)?.kind == .connection && !"\(error)".contains("hunter2")
        }
        await client.shutdown()
    }
}
