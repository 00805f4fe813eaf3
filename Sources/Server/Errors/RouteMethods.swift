import Hummingbird
import Synchronization

/// The methods each route path answers, so a known path asked with another method gets `405 Method Not Allowed`
/// with `Allow` (RFC 9110 §15.5.5) instead of the router's 404. Filled once the routes are registered.
final class RouteMethods: Sendable {
    private let routes = Mutex<[(components: [Substring], method: String)]>([])

    /// Records the router's routes (path patterns with `{parameter}` parts).
    func record(_ descriptions: [(path: String, method: String)]) {
        let entries = descriptions.map { (components: Self.components($0.path), method: $0.method) }
        routes.withLock { $0 = entries }
    }

    /// The methods some route answers for `path`, sorted; empty when no route has the path at all.
    func allowed(for path: String) -> [String] {
        let asked = Self.components(path)
        let methods = routes.withLock { routes in
            routes.filter { route in
                route.components.count == asked.count
                    && zip(route.components, asked).allSatisfy { pattern, part in Self.isCapture(pattern) || pattern == part }
            }.map(\.method)
        }
        return Array(Set(methods)).sorted()
    }

    /// A path part that matches any text: `{id}` (how the router describes `:id`), `:id`, `*`.
    private static func isCapture(_ pattern: Substring) -> Bool { pattern.contains("{") || pattern.hasPrefix(":") || pattern == "*" }

    private static func components(_ path: String) -> [Substring] {
        path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/") } ?? []
    }
}
