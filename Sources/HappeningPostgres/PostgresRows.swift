/// The rows a statement returned, copied out of libpq's result (which is freed at once).
public struct PostgresRows: Sendable, Sequence {
    /// Column names, in order.
    public let columns: [String]
    /// Rows of text values (`nil` is SQL NULL).
    let values: [[String?]]
    /// The number of rows the statement affected (`UPDATE`, `DELETE`, `INSERT`, `COPY`), 0 otherwise.
    public let affectedRows: Int

    init(columns: [String], values: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.values = values
        self.affectedRows = affectedRows
    }

    /// The number of rows returned.
    public var count: Int { values.count }
    /// True when no row was returned.
    public var isEmpty: Bool { values.isEmpty }
    /// The first row, if any.
    public var first: PostgresRow? { values.first.map { PostgresRow(columns: columns, values: $0) } }

    /// Row `index` (0-based).
    public subscript(index: Int) -> PostgresRow { PostgresRow(columns: columns, values: values[index]) }

    public func makeIterator() -> AnyIterator<PostgresRow> {
        var index = 0
        return AnyIterator {
            guard index < values.count else { return nil }
            defer { index += 1 }
            return PostgresRow(columns: columns, values: values[index])
        }
    }
}

/// One result row. Decode columns by position or by name into any ``PostgresDecodable`` type;
/// ask for an `Optional` to accept SQL NULL.
public struct PostgresRow: Sendable {
    let columns: [String]
    let values: [String?]

    /// The raw text of a column (nil for NULL).
    public func text(_ index: Int) -> String? { values[index] }

    /// True when the column is SQL NULL.
    public func isNull(_ index: Int) -> Bool { values[index] == nil }

    /// Decodes column `index`; throws for NULL or for text that is not a `T`.
    public func decode<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard index >= 0, index < values.count else { throw decodingError(index) }
        guard let text = values[index], let value = T(postgresText: text) else { throw decodingError(index) }
        return value
    }

    /// Decodes column `index`, mapping SQL NULL to `nil`.
    public func decode<T: PostgresDecodable>(_ index: Int, as type: T?.Type = T?.self) throws -> T? {
        guard index >= 0, index < values.count else { throw decodingError(index) }
        guard let text = values[index] else { return nil }
        guard let value = T(postgresText: text) else { throw decodingError(index) }
        return value
    }

    /// Decodes column `index` as one of a Swift enum's cases (a PostgreSQL enum read as text, like `status::text`);
    /// throws for NULL or for a label the enum does not have.
    public func decode<T: RawRepresentable>(_ index: Int, as type: T.Type = T.self) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: try decode(index, as: String.self)) else { throw decodingError(index) }
        return value
    }

    /// Decodes column `index` as an enum case, mapping SQL NULL to `nil`.
    public func decode<T: RawRepresentable>(_ index: Int, as type: T?.Type = T?.self) throws -> T? where T.RawValue == String {
        guard let text = try decode(index, as: String?.self) else { return nil }
        guard let value = T(rawValue: text) else { throw decodingError(index) }
        return value
    }

    /// Decodes the column called `name`.
    public func decode<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try decode(try position(of: name), as: T.self)
    }

    /// Decodes the column called `name`, mapping SQL NULL to `nil`.
    public func decode<T: PostgresDecodable>(_ name: String, as type: T?.Type = T?.self) throws -> T? {
        try decode(try position(of: name), as: T?.self)
    }

    private func position(of name: String) throws -> Int {
        guard let index = columns.firstIndex(of: name) else {
            throw PostgresError(kind: .decoding, column: name)
        }
        return index
    }

    /// The error names the column, never the value (which may be private).
    private func decodingError(_ index: Int) -> PostgresError {
        PostgresError(kind: .decoding, column: index < columns.count && index >= 0 ? columns[index] : "#\(index)")
    }
}
