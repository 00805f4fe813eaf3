import Foundation
import HappeningPool
import HappeningRedis
import TestSupport
import Testing

@Suite("Redis client", .timeLimit(.minutes(10)))
struct RedisClientTests {
    /// A generous checkout timeout: these tests check correctness, and the whole suite runs in parallel on 2 cores.
    private func makeClient(url: String = TestEnvironment.redisURL, poolSize: Int = 4, commandTimeout: Duration = .seconds(2)) throws -> RedisClient {
        RedisClient(configuration: try RedisConfiguration(url: url, poolSize: poolSize, commandTimeout: commandTimeout, checkoutTimeout: .seconds(60)))
    }

    @Test("GET, SET EX NX, DEL, INCR, EXPIRE, EVAL, EVALSHA and PUBLISH work and are binary safe")
    func commands() async throws {
        let redis = try makeClient()
        let key = "test:\(TestEnvironment.uniqueSuffix())"
        #expect(try await redis.ping())
        #expect(try await redis.get(key) == nil)
        let binary: [UInt8] = [0, 13, 10, 255, 36, 42, 0]
        #expect(try await redis.set(key, value: RedisArgument(bytes: binary)))
        #expect(try await redis.get(key) == binary)
        #expect(try await redis.set(key, value: "other", onlyIfNotExists: true) == false)
        #expect(try await redis.get(key) == binary)
        #expect(try await redis.delete([key, key + ":missing"]) == 1)
        #expect(try await redis.set(key, value: "first", expiresIn: .seconds(30), onlyIfNotExists: true))
        #expect((1...30).contains(try await redis.ttl(key)))

        let counter = key + ":n"
        #expect(try await redis.increment(counter) == 1)
        #expect(try await redis.increment(counter) == 2)
        #expect(try await redis.expire(counter, after: 100))
        #expect((1...100).contains(try await redis.ttl(counter)))
        #expect(try await redis.ttl(key + ":missing") == -2)

        let script = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
        #expect(try await redis.eval(script, keys: [counter], arguments: ["5"]).integer == 7)
        #expect(try await redis.evalScript(script, keys: [counter], arguments: ["10"]).integer == 17)
        try await redis.send(["SCRIPT", "FLUSH"])  // Redis forgets the script: evalScript reloads it
        #expect(try await redis.evalScript(script, keys: [counter], arguments: ["1"]).integer == 18)
        #expect(try await redis.publish("test:channel", message: "hello") == 0)

        await #expect {
            try await redis.send(["INCR", RedisArgument(key)])  // "first" is not an integer
        } throws: { error in
            (error as? RedisError)?.kind == .server && (error as? RedisError)?.code == "ERR"
        }
        try await redis.delete([key, counter])
        await redis.shutdown()
    }

    @Test("a pipeline sends many commands in one round trip and keeps errors in place")
    func pipelining() async throws {
        let redis = try makeClient()
        let key = "test:pipe:\(TestEnvironment.uniqueSuffix())"
        var commands: [[RedisArgument]] = (0..<100).map { _ in ["INCR", RedisArgument(key)] }
        commands.append(["HGET", RedisArgument(key), "field"])  // WRONGTYPE: key holds a string
        commands.append(["GET", RedisArgument(key)])
        let replies = try await redis.pipeline(commands)
        #expect(replies.count == 102)
        #expect(replies[0].integer == 1)
        #expect(replies[99].integer == 100)
        guard case .error(let message) = replies[100] else {
            Issue.record("expected an error reply")
            return
        }
        #expect(message.hasPrefix("WRONGTYPE"))
        #expect(replies[101].string == "100")
        try await redis.delete([key])
        await redis.shutdown()
    }

    @Test("keys expire after their TTL, not before")
    func ttlExpiry() async throws {
        let redis = try makeClient()
        let key = "test:ttl:\(TestEnvironment.uniqueSuffix())"
        let start = ContinuousClock.now
        // 5 s: long enough that a busy 2-core test run cannot stall past it between SET and PTTL.
        try await redis.set(key, value: "soon gone", expiresIn: .milliseconds(5000))
        let pttl = try #require(try await redis.send(["PTTL", RedisArgument(key)]).integer)
        #expect(pttl > 0 && pttl <= 5000)
        try await eventually("the key to expire", within: .seconds(5) + Patience.standard, every: .milliseconds(50)) {
            try await redis.getString(key) == nil
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(5000), "expired after \(elapsed), before its TTL")
        await redis.shutdown()
    }

    @Test("500 concurrent INCRs through a pool of 4 all count")
    func concurrentIncrements() async throws {
        let redis = try makeClient(poolSize: 4)
        let key = "test:concurrent:\(TestEnvironment.uniqueSuffix())"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<500 { group.addTask { _ = try await redis.increment(key) } }
            try await group.waitForAll()
        }
        #expect(try await redis.getString(key) == "500")
        #expect(redis.statistics.open <= 4)
        try await redis.delete([key])
        await redis.shutdown()
    }

    @Test("a command that outlives the timeout fails, and the next one gets a fresh connection")
    func commandTimeout() async throws {
        let redis = try makeClient(poolSize: 1, commandTimeout: .milliseconds(200))
        await #expect {
            try await redis.send(["BLPOP", RedisArgument("test:never:\(TestEnvironment.uniqueSuffix())"), "2"])
        } throws: { error in
            (error as? RedisError)?.kind == .connection
        }
        #expect(try await redis.ping())
        #expect(redis.statistics.replacedConnections == 1)
        await redis.shutdown()
    }

    @Test("the client reconnects after redis-cli shutdown and a restart")
    func reconnectAfterRestart() async throws {
        // A throw-away Redis of our own, so the shared one keeps serving the other tests.
        let port = 64_000 + Int.random(in: 0..<1_000)  // above the ephemeral port range (32768–60999)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("happening-redis-\(port)").path
        let start =
            "mkdir -p \(dir) && redis-server --port \(port) --bind 127.0.0.1 --dir \(dir) --daemonize yes --save '' --appendonly no --pidfile \(dir)/redis.pid --logfile \(dir)/redis.log && for i in $(seq 50); do redis-cli -p \(port) ping >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1"
        #expect(try await TestEnvironment.shellOffPool(start).status == 0)
        defer { _ = try? TestEnvironment.shell("redis-cli -p \(port) shutdown nosave; rm -rf \(dir)") }

        let redis = try makeClient(url: "redis://127.0.0.1:\(port)", poolSize: 2)
        try await redis.set("k", value: "before")
        #expect(try await redis.getString("k") == "before")

        #expect(try await TestEnvironment.shellOffPool("redis-cli -p \(port) shutdown nosave; sleep 0.3").status == 0)
        await #expect {
            try await redis.ping()
        } throws: { error in
            (error as? RedisError)?.kind == .connection
        }

        #expect(try await TestEnvironment.shellOffPool(start).status == 0)
        #expect(try await redis.ping())
        try await redis.set("k", value: "after")
        #expect(try await redis.getString("k") == "after")
        #expect(redis.statistics.replacedConnections >= 1)
        await redis.shutdown()
    }

    @Test("REDIS_URL parsing")
    func urlParsing() throws {
        let config = try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:6380/2")
        #expect(config.host == "127.0.0.1" && config.port == 6380 && config.password == "s3cret" && config.database == 2)
        #expect(try RedisConfiguration(url: "redis://localhost").port == 6379)
        #expect(throws: RedisConfiguration.InvalidURL.self) { try RedisConfiguration(url: "http://x") }
        #expect(throws: RedisConfiguration.InvalidURL.self) { try RedisConfiguration(url: "redis://h/notanumber") }
    }
}
