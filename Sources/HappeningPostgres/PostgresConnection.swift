import Foundation
import HappeningPool

/// A connection leased from a ``PostgresClient`` for the duration of one `withConnection` closure.
///
/// Every call runs libpq on a thread of the client's own thread pool; the awaiting task is suspended,
/// never blocked. Do not keep a connection beyond its closure.
public struct PostgresConnection: Sendable {
    let handle: LibPQHandle
    let pool: ConnectionPool<LibPQHandle>

    /// The server process id of this connection.
    public var backendPID: Int32 { handle.backendPID }

    /// Runs one statement. Values go in `bindings` and are referenced as `$1`, `$2` … in `sql`;
    /// they are never interpolated into the SQL text.
    @discardableResult
    public func query(_ sql: String, _ bindings: PostgresBindings = []) async throws -> PostgresRows {
        let handle = self.handle
        return try await run { try handle.execute(sql, bindings) }
    }

    /// Runs a script of several `;`-separated statements that take no parameters (a schema file, for
    /// example). Outside a transaction block the script runs as one implicit transaction: a failing
    /// statement leaves none of it applied.
    public func executeScript(_ sql: String) async throws {
        let handle = self.handle
        try await run { try handle.executeScript(sql) }
    }

    /// Runs `body` inside `BEGIN … COMMIT`. If `body` throws, the transaction is rolled back and the error
    /// rethrown, so nothing it did remains.
    @discardableResult
    public func withTransaction<T: Sendable>(
        isolation: PostgresIsolationLevel = .readCommitted,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await query("BEGIN ISOLATION LEVEL \(isolation.rawValue)")
        let value: T
        do {
            value = try await body(self)
        } catch {
            do { try await query("ROLLBACK") } catch { handle.markBroken() }
            throw error
        }
        do {
            try await query("COMMIT")
        } catch {
            // A failed COMMIT leaves the outcome unknown to us; never reuse this connection.
            handle.markBroken()
            throw error
        }
        return value
    }

    /// Bulk-loads rows with `COPY table (columns) FROM STDIN`: the fastest way to insert many rows.
    /// Returns the number of rows copied. `rows` is read lazily and sent in chunks of about 256 KiB.
    @discardableResult
    public func copyFrom<Rows: Sequence & Sendable>(
        table: String,
        columns: [String],
        rows: Rows
    ) async throws -> Int where Rows.Element == PostgresBindings {
        let sql = "COPY \(quoteIdentifier(table)) (\(columns.map(quoteIdentifier).joined(separator: ", "))) FROM STDIN"
        let handle = self.handle
        return try await run {
            try handle.copyIn(sql) { send in
                var buffer = ""
                buffer.reserveCapacity(300_000)
                for row in rows {
                    appendCopyLine(row, to: &buffer)
                    if buffer.utf8.count >= 256 * 1024 {
                        try buffer.withUTF8 { try send(UnsafeRawBufferPointer($0)) }
                        buffer.removeAll(keepingCapacity: true)
                    }
                }
                if !buffer.isEmpty { try buffer.withUTF8 { try send(UnsafeRawBufferPointer($0)) } }
            }
        }
    }

    /// Bulk-loads rows with `COPY table (columns) FROM STDIN (FORMAT binary)`: the server parses no text,
    /// which makes this the cheapest way to insert many rows. `source` writes rows `rows.lowerBound …`
    /// one call each, in order, on a thread of the client's pool; they are sent in chunks of about 256 KiB.
    /// If `source` throws, the COPY is aborted and no row of it remains (one COPY is one statement).
    /// Returns the number of rows copied.
    @discardableResult
    public func copyBinary<Source: PostgresCopySource>(
        table: String,
        columns: [String],
        rows: Range<Int>,
        from source: Source
    ) async throws -> Int {
        let sql = "COPY \(quoteIdentifier(table)) (\(columns.map(quoteIdentifier).joined(separator: ", "))) FROM STDIN (FORMAT binary)"
        let handle = self.handle
        return try await run {
            try handle.copyIn(sql) { send in
                var writer = PostgresCopyWriter(capacity: 300 * 1024)
                writer.writeHeader()
                for index in rows {
                    try source.writeRow(index, to: &writer)
                    if writer.bytes.count >= 256 * 1024 {
                        try writer.bytes.withUnsafeBytes { try send($0) }
                        writer.bytes.removeAll(keepingCapacity: true)
                    }
                }
                writer.writeTrailer()
                try writer.bytes.withUnsafeBytes { try send($0) }
            }
        }
    }

    /// Runs a blocking libpq call on the client's threads; a task cancellation asks the server to cancel.
    private func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let canceller = handle.makeCanceller()
        return try await withTaskCancellationHandler {
            try await pool.runBlocking(body)
        } onCancel: {
            canceller?.requestCancel()
        }
    }
}

/// Transaction isolation levels.
public enum PostgresIsolationLevel: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

/// Quotes an SQL identifier (`"name"`), doubling embedded quotes.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// Appends one row in COPY text format: tab-separated, `\N` for NULL, backslash escapes.
func appendCopyLine(_ row: PostgresBindings, to buffer: inout String) {
    for (index, value) in row.enumerated() {
        if index > 0 { buffer.append("\t") }
        guard let value else {
            buffer.append("\\N")
            continue
        }
        let text = value.postgresText
        if text.utf8.contains(where: { $0 == 92 || $0 == 9 || $0 == 10 || $0 == 13 }) {
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\\": buffer.append("\\\\")
                case "\t": buffer.append("\\t")
                case "\n": buffer.append("\\n")
                case "\r": buffer.append("\\r")
                default: buffer.unicodeScalars.append(scalar)
                }
            }
        } else {
            buffer.append(text)
        }
    }
    buffer.append("\n")
}
