/// The published development password the seeder gives every account of a development stack (`DEV_MODE=1`), and
/// its bcrypt hash (cost 10), computed once so that seeding 50,000 users costs no hashing. It is a published
/// credential, not a secret: the server refuses to start on a database holding it unless `DEV_MODE=1`.
public enum DevCredentials {
    public static let password = "happening-dev-1"
    public static let passwordHash = "$2b$10$zCQJWTqP7A07IpoQ/uvUmOLs5crIU9hknkWuxKK2VB.6czHwz8CHW"

    /// A bcrypt-shaped hash (cost 10) whose salt and digest are random: no password is known to match it, so an
    /// account holding it cannot sign in with a password at all (seeded accounts outside development).
    public static func lockedHash() -> String {
        let alphabet = Array("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return "$2b$10$" + String((0..<53).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}
