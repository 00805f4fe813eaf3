import Foundation

/// The CPUs this process may run on (its affinity mask, as set by `taskset` or a cpuset), which can be fewer
/// than the machine's cores. Read from `/proc/self/status` (`Cpus_allowed_list`, e.g. `0-3,8`).
public enum CPUAffinity {
    /// How many CPUs the process may run on; nil where the kernel does not say.
    public static func allowedCount(status path: String = "/proc/self/status") -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return nil }
        return count(list: line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces))
    }

    /// Counts a kernel CPU list such as `0-3,8,10-11`; nil when it is malformed or empty.
    public static func count(list: String) -> Int? {
        var total = 0
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1:
                guard bounds[0] != nil else { return nil }
                total += 1
            case 2:
                guard let low = bounds[0], let high = bounds[1], high >= low else { return nil }
                total += high - low + 1
            default: return nil
            }
        }
        return total > 0 ? total : nil
    }
}
