import CLibPQ
import Foundation
import HappeningPool

/// Owns one libpq connection (`PGconn *`) and makes the blocking libpq calls on it.
///
/// `@unchecked Sendable` is safe because of how the pool uses it, not because libpq is thread-safe for a
/// shared connection (it is not):
/// - a handle is leased to exactly one task at a time (the pool hands it out and takes it back), and that
///   task awaits each call before the next, so calls on one `PGconn` never overlap;
/// - every blocking call runs on a thread of the client's own thread pool, never on the cooperative pool;
/// - the only call made from another thread concurrently is `PQcancel` on a `PGcancel` object, which libpq
///   documents as safe to use from any thread;
/// - the pointer is private, and freed exactly once in `deinit` with `PQfinish`.
final class LibPQHandle: PoolableConnection, @unchecked Sendable {
    private let conn: OpaquePointer
    /// Set when the connection is known to be unusable; the pool then replaces it.
    private(set) var isBroken = false
    /// Statements prepared on this connection: their text → their name (`s1`, `s2` …).
    private var prepared: [String: String] = [:]
    /// Names are never reused: a statement dropped from `prepared` may still exist on the server.
    private var preparedCount = 0
    /// Most statements kept prepared; past it, statements are parsed each time.
    private let preparedLimit: Int

    /// Connects (blocking) with `PQconnectdbParams`; `dbname` may be a `postgres://` URL (expanded).
    init(keywords: [String], values: [String], preparedStatements: Int = 0) throws {
        self.preparedLimit = preparedStatements
        let connection = withCStrings(keywords) { keys in
            withCStrings(values) { vals in
                PQconnectdbParams(keys + [nil], vals + [nil], 1)
            }
        }
        guard let connection else { throw PostgresError(kind: .connection) }
        self.conn = connection
        guard PQstatus(connection) == CONNECTION_OK else {
            // libpq's message names the host and user; it is not copied into the error (see PostgresError).
            throw PostgresError(kind: .connection)
        }
    }

    deinit { PQfinish(conn) }

    /// The server process id of this connection (for `pg_terminate_backend` in tests and diagnostics).
    var backendPID: Int32 { PQbackendPID(conn) }

    /// True while inside a transaction block (`BEGIN` without `COMMIT`/`ROLLBACK`).
    var isInTransaction: Bool {
        let status = PQtransactionStatus(conn)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    func markBroken() { isBroken = true }

    /// Reusable unless broken or left inside a transaction.
    var isReusable: Bool { !isBroken && !isInTransaction && PQstatus(conn) == CONNECTION_OK }

    /// Checks, without a round trip, that the server has not closed the connection while it sat idle in
    /// the pool (a terminated backend sends a FATAL message and closes the socket).
    func isAliveWhenIdle() -> Bool {
        if isBroken || PQstatus(conn) != CONNECTION_OK { return false }
        let fd = PQsocket(conn)
        guard fd >= 0 else { return false }
        // Pooled connections never LISTEN, so anything readable on an idle one is the server's goodbye
        // (a FATAL message, then EOF): treat it as dead.
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, 0) == 0
    }

    /// A canceller usable from another thread while a statement runs.
    func makeCanceller() -> LibPQCanceller? {
        PQgetCancel(conn).map(LibPQCanceller.init)
    }

    // MARK: Statements

    /// Runs one statement with text-format parameters and results (blocking). A statement with parameters is prepared
    /// the first time this connection sees its text and only bound and run after that (its parse and analysis were
    /// about half of a cache-off list request's time in PostgreSQL); PostgreSQL keeps a generic plan for it once five
    /// runs show that one costs no more than planning each time.
    func execute(_ sql: String, _ bindings: PostgresBindings) throws -> PostgresRows {
        let texts: [String?] = bindings.map { $0?.postgresText }
        if texts.contains(where: { $0?.utf8.contains(0) ?? false }) { throw PostgresError.nulInText }
        guard !texts.isEmpty, let name = try preparedName(sql, parameters: texts.count) else {
            return try consume(withCStrings(texts) { PQexecParams(conn, sql, Int32($0.count), nil, $0, nil, nil, 0) })
        }
        do {
            return try consume(withCStrings(texts) { PQexecPrepared(conn, name, Int32($0.count), $0, nil, nil, 0) })
        } catch let error as PostgresError where Self.isStalePreparedStatement(error) {
            // A table it reads changed shape (`cached plan must not change result type`) or the statement is gone: it
            // is prepared again next time; outside a transaction, now.
            prepared[sql] = nil
            if isInTransaction { throw error }
            return try execute(sql, bindings)
        }
    }

    /// The name `sql` is prepared under on this connection, preparing it first if needed; nil when no more are kept.
    private func preparedName(_ sql: String, parameters: Int) throws -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < preparedLimit else { return nil }
        preparedCount += 1
        let name = "s\(preparedCount)"
        _ = try consume(PQprepare(conn, name, sql, Int32(parameters), nil))
        prepared[sql] = name
        return name
    }

    /// `0A000` with a cached plan's message, or `26000` (no such prepared statement).
    private static func isStalePreparedStatement(_ error: PostgresError) -> Bool {
        error.sqlState == "26000" || (error.sqlState == "0A000" && (error.serverMessage ?? "").contains("cached plan"))
    }

    /// Runs a script of several statements with no parameters (simple query protocol, blocking).
    func executeScript(_ sql: String) throws {
        _ = try consume(PQexec(conn, sql))
    }

    /// Streams rows into `COPY … FROM STDIN` (blocking). `chunks` yields COPY text-format data.
    func copyIn(_ sql: String, chunks: (_ send: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> Int {
        let start = PQexec(conn, sql)
        guard let start, PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try consume(start)
            throw PostgresError(kind: .server, serverMessage: "COPY did not start")
        }
        PQclear(start)
        var failure: (any Error)?
        do {
            try chunks { chunk in
                let ok = PQputCopyData(conn, chunk.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(chunk.count))
                guard ok == 1 else { throw connectionError() }
            }
        } catch {
            failure = error
        }
        guard PQputCopyEnd(conn, failure == nil ? nil : "aborted by client") == 1 else { throw connectionError() }
        var affected = 0
        var serverError: (any Error)?
        while let result = PQgetResult(conn) {
            do { affected += try consume(result).affectedRows } catch { serverError = serverError ?? error }
        }
        if let failure { throw failure }
        if let serverError { throw serverError }
        return affected
    }

    // MARK: Results

    /// Turns a `PGresult` into rows or a typed error, and frees it.
    private func consume(_ result: OpaquePointer?) throws -> PostgresRows {
        guard let result else { throw connectionError() }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN:
            return PostgresRows(columns: [], values: [], affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0)
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            let rowCount = Int(PQntuples(result))
            let columnCount = Int(PQnfields(result))
            let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
            var values = [[String?]]()
            values.reserveCapacity(rowCount)
            for row in 0..<Int32(rowCount) {
                var line = [String?]()
                line.reserveCapacity(columnCount)
                for column in 0..<Int32(columnCount) {
                    if PQgetisnull(result, row, column) == 1 {
                        line.append(nil)
                    } else {
                        let length = Int(PQgetlength(result, row, column))
                        let bytes = UnsafeRawBufferPointer(start: PQgetvalue(result, row, column), count: length)
                        line.append(String(decoding: bytes, as: UTF8.self))
                    }
                }
                values.append(line)
            }
            return PostgresRows(columns: columns, values: values, affectedRows: rowCount)
        default:
            let error = serverError(result)
            if PQstatus(conn) != CONNECTION_OK { isBroken = true }
            throw error
        }
    }

    private func serverError(_ result: OpaquePointer) -> PostgresError {
        func field(_ code: Int32) -> String? { PQresultErrorField(result, code).map { String(cString: $0) } }
        let state = field(Int32(UInt8(ascii: "C")))  // PG_DIAG_SQLSTATE
        return PostgresError(
            kind: state == nil && PQstatus(conn) != CONNECTION_OK ? .connection : .server,
            sqlState: state,
            constraint: field(Int32(UInt8(ascii: "n"))),  // PG_DIAG_CONSTRAINT_NAME
            table: field(Int32(UInt8(ascii: "t"))),  // PG_DIAG_TABLE_NAME
            column: field(Int32(UInt8(ascii: "c"))),  // PG_DIAG_COLUMN_NAME
            serverMessage: field(Int32(UInt8(ascii: "M")))  // PG_DIAG_MESSAGE_PRIMARY
        )
    }

    private func connectionError() -> PostgresError {
        isBroken = true
        return PostgresError(kind: .connection)
    }
}

/// A `PGcancel` object: asks the server to cancel the statement running on a connection.
/// `@unchecked Sendable`: libpq documents `PQcancel` as safe to call from any thread; freed in `deinit`.
final class LibPQCanceller: @unchecked Sendable {
    private let cancel: OpaquePointer
    init(_ cancel: OpaquePointer) { self.cancel = cancel }
    deinit { PQfreeCancel(cancel) }

    func requestCancel() {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &buffer, Int32(buffer.count))
    }
}

/// Calls `body` with C strings for `texts` (nil stays a null pointer), alive for the call only.
private func withCStrings<R>(_ texts: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var storage = [UnsafeMutablePointer<CChar>?]()
    storage.reserveCapacity(texts.count)
    for text in texts { storage.append(text.map { strdup($0) }) }
    defer { for pointer in storage { free(pointer) } }
    return body(storage.map { UnsafePointer($0) })
}
