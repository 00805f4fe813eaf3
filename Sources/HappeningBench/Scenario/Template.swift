import Foundation
import HappeningSystem
import Yams

/// `${name}` substitution.
enum Template {
    static func substitute(_ text: String, _ values: [String: String], keepUnknown: Bool) -> String {
        var output = ""
        var rest = text[...]
        while let open = rest.range(of: "${") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                output += rest[open.lowerBound...]
                return output
            }
            let name = String(rest[open.upperBound..<close])
            if let value = values[name] { output += value } else if keepUnknown { output += "${\(name)}" }
            rest = rest[rest.index(after: close)...]
        }
        return output + rest
    }

    /// The `${…}` names in `text`.
    static func names(in text: String) -> [String] {
        var names: [String] = []
        var rest = text[...]
        while let open = rest.range(of: "${"), let close = rest[open.upperBound...].firstIndex(of: "}") {
            names.append(String(rest[open.upperBound..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }
}
