/// What each virtual user captured in a lane's earlier phases (a template's `capture:` field of an expected answer),
/// for a later barrier phase's `${captured.<field>}`: each user acts on their own result (cancels the booking they
/// won, pays for their hold). A user's latest value of each field is kept.
struct CapturedValues: Sendable {
    /// How a template names a captured value: `${captured.booking_id}`.
    static let prefix = "captured."

    private var byUser: [Int: [String: String]] = [:]

    /// Keeps `captures`' values by user (a capture's tag is its virtual user); empty values and captures without a
    /// field (a 202 that carried no id) are left out.
    mutating func add(_ captures: [Capture]) {
        for capture in captures where !capture.value.isEmpty {
            guard let field = capture.field else { continue }
            byUser[capture.tag, default: [:]][Self.prefix + field] = capture.value
        }
    }

    /// The users of `range` (nil: any) who captured every one of `names` (`captured.<field>`), in order.
    func users(having names: Set<String>, in range: Range<Int>?) -> [Int] {
        byUser.compactMap { user, values in
            (range?.contains(user) ?? true) && names.allSatisfy { values[$0] != nil } ? user : nil
        }.sorted()
    }

    /// `user`'s captured values, keyed as templates name them (`captured.<field>`).
    func values(of user: Int) -> [String: String] { byUser[user] ?? [:] }

    /// The `${captured.…}` names in `text`.
    static func names(in text: String) -> Set<String> { Set(Template.names(in: text).filter { $0.hasPrefix(prefix) }) }
}
