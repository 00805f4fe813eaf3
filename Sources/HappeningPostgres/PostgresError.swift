/// An error from PostgreSQL or from this client.
///
/// `description` is safe to log: it carries the SQLSTATE, its name and the schema object involved
/// (constraint, table, column), never the server's message text or DETAIL, because those can quote the
/// values of the parameters (`invalid input syntax for type uuid: "…"`, `Key (email)=(…) already exists`).
/// The server's primary message is kept in ``serverMessage`` for code that knows it may show it.
public struct PostgresError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, coarsely.
    public enum Kind: String, Sendable {
        /// The server answered with an error (see ``PostgresError/sqlState``).
        case server
        /// Could not connect, or the connection broke during the call.
        case connection
        /// No pooled connection became free within the checkout timeout.
        case checkoutTimeout
        /// The client has been shut down.
        case clientClosed
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// The call was cancelled.
        case cancelled
    }

    /// What went wrong, coarsely.
    public var kind: Kind
    /// The five-character SQLSTATE (`23505`, `40001`, `40P01`, `57P01` …) when the server sent one.
    public var sqlState: String?
    /// The constraint that failed, if any (e.g. `events_available_tickets_check`).
    public var constraint: String?
    /// The table involved, if the server named one.
    public var table: String?
    /// The column involved, if the server named one.
    public var column: String?
    /// The server's primary message. **May contain parameter values: never log it.**
    public var serverMessage: String?

    /// Creates an error; used by the client.
    public init(kind: Kind, sqlState: String? = nil, constraint: String? = nil, table: String? = nil, column: String? = nil, serverMessage: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.constraint = constraint
        self.table = table
        self.column = column
        self.serverMessage = serverMessage
    }

    public var description: String {
        var parts = ["PostgresError(\(kind.rawValue)"]
        if let sqlState { parts.append("sqlState: \(sqlState) \(Self.name(of: sqlState))") }
        if let constraint { parts.append("constraint: \(constraint)") }
        if let table { parts.append("table: \(table)") }
        if let column { parts.append("column: \(column)") }
        return parts.joined(separator: ", ") + ")"
    }

    // MARK: Classification

    /// `23505`: a unique constraint was violated.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// `23514`: a CHECK constraint was violated.
    public var isCheckViolation: Bool { sqlState == "23514" }
    /// `22P02`, `22007`, `22008`, `22003`, `22023`: the input was malformed or out of range.
    public var isInvalidInput: Bool { ["22P02", "22007", "22008", "22003", "22023", "22021", "22P05"].contains(sqlState ?? "") }

    /// A text parameter holding a NUL character, refused before it is sent: libpq passes parameters as C strings,
    /// which would end the text at the NUL (`victim@x.com\u{0}…` would reach PostgreSQL as `victim@x.com`).
    /// PostgreSQL's own verdict on such text: SQLSTATE 22021, `character_not_in_repertoire`.
    public static let nulInText = PostgresError(
        kind: .server, sqlState: "22021", serverMessage: "a text parameter contains a NUL character (0x00), which PostgreSQL text cannot hold")

    /// True when running the same work again may succeed: serialization failures, deadlocks, a dropped
    /// or terminated connection, a server starting up or shutting down, a checkout timeout.
    public var isTransient: Bool {
        switch kind {
        case .connection, .checkoutTimeout: return true
        case .clientClosed, .decoding, .cancelled: return false
        case .server:
            guard let state = sqlState else { return false }
            return ["40001", "40P01", "57P01", "57P02", "57P03", "55P03", "53300"].contains(state)
                || state.hasPrefix("08")
        }
    }

    /// True when the database itself is out of reach — it cannot be connected to, the connection broke, or
    /// the server is shutting down, crashed or still starting (`57P01`…`57P03`, class `08`) — as opposed to
    /// contention (a deadlock, a lock timeout), which retrying the same work may never get past.
    public var isUnavailable: Bool {
        if kind == .connection { return true }
        guard kind == .server, let state = sqlState else { return false }
        return ["57P01", "57P02", "57P03"].contains(state) || state.hasPrefix("08")
    }

    /// A human name for the SQLSTATEs this project meets; empty for others.
    static func name(of sqlState: String) -> String {
        switch sqlState {
        case "23505": return "unique_violation"
        case "23503": return "foreign_key_violation"
        case "23502": return "not_null_violation"
        case "23514": return "check_violation"
        case "22P02": return "invalid_text_representation"
        case "22003": return "numeric_value_out_of_range"
        case "22007": return "invalid_datetime_format"
        case "22008": return "datetime_field_overflow"
        case "40001": return "serialization_failure"
        case "40P01": return "deadlock_detected"
        case "42601": return "syntax_error"
        case "42P01": return "undefined_table"
        case "42703": return "undefined_column"
        case "42883": return "undefined_function"
        case "55P03": return "lock_not_available"
        case "57014": return "query_canceled"
        case "57P01": return "admin_shutdown"
        case "57P02": return "crash_shutdown"
        case "57P03": return "cannot_connect_now"
        case "53300": return "too_many_connections"
        default: return sqlState.hasPrefix("08") ? "connection_exception" : ""
        }
    }
}
