import HappeningCore
import Logging

/// The server's settings, from environment variables (see the README's configuration table).
struct ServerConfiguration: Sendable {
    /// `HOST` (default 127.0.0.1).
    var host: String
    /// `PORT` (default 5000).
    var port: Int
    /// `DATABASE_URL`, `REDIS_URL`, `AMQP_URL` (required).
    var endpoints: ServiceEndpoints
    /// `DB_POOL_SIZE` (default 10).
    var databasePoolSize: Int
    /// `LOG_LEVEL` (default info).
    var logLevel: Logger.Level

    init(_ settings: Settings) throws {
        host = settings.string("HOST", default: "127.0.0.1")
        port = try settings.integer("PORT", default: 5000, range: 0...65535)
        endpoints = try ServiceEndpoints(settings)
        databasePoolSize = try settings.integer("DB_POOL_SIZE", default: 10, range: 1...500)
        let level = try settings.choice("LOG_LEVEL", default: "info", choices: Logger.Level.allCases.map(\.rawValue))
        logLevel = Logger.Level(rawValue: level) ?? .info
    }
}
