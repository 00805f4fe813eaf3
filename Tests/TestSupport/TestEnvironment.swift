import Foundation
import HappeningSystem

/// Where the tests find the local services: the process environment, or else `.run/env`, which
/// `scripts/services.sh up` writes. Tests never start with a mock: no services, no tests.
public enum TestEnvironment {
    /// The repository root (two levels above this file's folder).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A variable from the environment or `.run/env`; fails the test run loudly when missing.
    public static func value(_ name: String) -> String {
        if let value = ProcessInfo.processInfo.environment[name], !value.isEmpty { return value }
        if let value = envFile[name] { return value }
        fatalError("\(name) is not set and .run/env does not define it: run `make services` (scripts/services.sh up) first")
    }

    /// The test database (`happening_test`).
    public static var databaseURL: String { value("DATABASE_URL_TEST") }
    /// The local Redis.
    public static var redisURL: String { value("REDIS_URL") }
    /// The local RabbitMQ.
    public static var amqpURL: String { value("AMQP_URL") }

    private static let envFile: [String: String] = {
        let url = repositoryRoot.appendingPathComponent(".run/env")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            var line = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line.removeFirst(7) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }()

    /// Runs a shell command (e.g. `redis-server`, `scripts/services.sh`) in the repository root and returns
    /// its exit status and output (``ShellCommand``: `system(3)`, which waits for the shell only).
    @discardableResult
    public static func shell(_ command: String, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        ShellCommand.run(command, in: repositoryRoot.path, environment: environment)
    }

    /// ``shell(_:environment:)`` on a thread of its own, for async tests: `system(3)` blocks its thread until
    /// the command ends, and on 2 cores Swift's cooperative pool has only 2 threads, so a few slow commands
    /// (a broker start, a seeder run, waiting for a process to exit) run on it would stall every other test
    /// in the process, timers and connection-pool hand-offs included.
    public static func shellOffPool(_ command: String, environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        await onDedicatedThread(named: "test-shell") { ShellCommand.run(command, in: repositoryRoot.path, environment: environment) }
    }

    /// A short random suffix for names of scratch tables, queues and keys.
    public static func uniqueSuffix() -> String {
        String(UUID().uuidString.prefix(8)).lowercased()
    }
}

extension TestEnvironment {
    /// Creates an empty database next to the test database (extensions come from template1, set up by
    /// scripts/services.sh), runs `body` with its URL, and drops it, also when `body` throws.
    public static func withScratchDatabase<T>(prefix: String = "scratch", _ body: (String) async throws -> T) async throws -> T {
        let name = "happening_\(prefix)_\(uniqueSuffix())"
        let admin = databaseURL
        let created = try await shellOffPool("psql '\(admin)' -v ON_ERROR_STOP=1 -qc 'CREATE DATABASE \(name)'")
        guard created.status == 0 else { throw ScratchDatabaseError(message: created.output) }
        let url = databaseURL.replacingOccurrences(of: "/happening_test", with: "/\(name)")
        // Dropped off the cooperative pool (a forced drop can take seconds on a busy machine), also when `body` throws.
        let drop = "psql '\(admin)' -qc 'DROP DATABASE IF EXISTS \(name) WITH (FORCE)'"
        let result: T
        do { result = try await body(url) } catch {
            _ = try? await shellOffPool(drop)
            throw error
        }
        _ = try? await shellOffPool(drop)
        return result
    }

    /// Applies the repository's `init.sql` to the database at `url`.
    @discardableResult
    public static func applySchema(_ url: String) async throws -> (status: Int32, output: String) {
        try await shellOffPool("psql '\(url)' -v ON_ERROR_STOP=1 -q -f init.sql", environment: ["PGOPTIONS": "-c client_min_messages=warning"])
    }
}

/// A scratch database could not be created.
public struct ScratchDatabaseError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "cannot create a scratch database: \(message)" }
}
