import Foundation

/// Removes passwords from URLs in messages: the user-info password, and libpq's `password` query parameter
/// (`postgres://host/db?password=…`), and any query parameter named like a secret.
enum Redact {
    static func url(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(unparseable URL)" }
        if components.password != nil { components.password = "***" }
        components.queryItems = components.queryItems?.map { item in
            let name = item.name.lowercased()
            let secret = ["password", "passwd", "secret", "token", "key"].contains { name.contains($0) }
            return secret ? URLQueryItem(name: item.name, value: "***") : item
        }
        return components.string ?? "(unparseable URL)"
    }
}
