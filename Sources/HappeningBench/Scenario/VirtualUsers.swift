import Foundation
import HappeningCommandLine
import HappeningSystem

/// A virtual user: a token from the seeder's `--tokens-out` file.
struct VirtualUser: Codable, Sendable {
    var user_id: String
    var email: String
    var token: String
}

/// The virtual users a run renders requests for: the seeder's tokens file holds `count` of them, and `window` (by
/// line, 0-based) is what this process loaded — all of them, except in a shard (`--shard I/N`), which loads only the
/// slice its lanes use. A 40,000-user fleet's shard of 10,000 then keeps 10,000 tokens, not 40,000 (~12 MiB less of
/// the process's memory, which the fleet reports per open connection).
package struct VirtualUsers: Sendable {
    /// How many users the file holds (what lanes and shards are cut from).
    package let count: Int
    /// The users loaded: lines `window` of the file.
    let window: Range<Int>
    private let loaded: [VirtualUser]

    static let none = VirtualUsers(count: 0, window: 0..<0, loaded: [])

    /// Every user of `users` (as loaded from a whole file).
    init(_ users: [VirtualUser]) { self.init(count: users.count, window: 0..<users.count, loaded: users) }

    private init(count: Int, window: Range<Int>, loaded: [VirtualUser]) {
        (self.count, self.window, self.loaded) = (count, window, loaded)
    }

    var isEmpty: Bool { count == 0 }

    /// User `index` (wrapped round the file, as when there are more connections than users; an index outside the
    /// window is wrapped into it, since only its users are here).
    subscript(index: Int) -> VirtualUser {
        let user = index % count
        if window.contains(user) { return loaded[user - window.lowerBound] }
        return loaded[user % loaded.count]
    }

    /// Reads the tokens file at `path`; `window` says, from the file's count of users, which lines to decode (nil: all).
    /// Lines outside it are counted, never decoded.
    static func load(path: String, window: (_ count: Int) throws -> Range<Int>?) throws -> VirtualUsers {
        guard let data = FileManager.default.contents(atPath: path) else { throw UsageError("cannot read tokens file \(path)") }
        return try data.withUnsafeBytes { bytes in
            var lines: [Range<Int>] = []
            var start = 0
            for (offset, byte) in bytes.enumerated() where byte == 0x0A {
                if offset > start { lines.append(start..<offset) }
                start = offset + 1
            }
            if bytes.count > start { lines.append(start..<bytes.count) }
            var wanted = try window(lines.count)?.clamped(to: 0..<lines.count) ?? 0..<lines.count
            if wanted.isEmpty { wanted = 0..<lines.count }  // nothing asked for: every user, so any index has one
            let decoder = JSONDecoder()
            let users = try wanted.map { line in
                do { return try decoder.decode(VirtualUser.self, from: Data(bytes[lines[line]])) } catch {
                    throw UsageError("\(path):\(line + 1): expected {\"user_id\", \"email\", \"token\"}")
                }
            }
            return VirtualUsers(count: lines.count, window: wanted, loaded: users)
        }
    }
}
