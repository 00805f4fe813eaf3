import Foundation
import HappeningHTTP

/// One of the project's binaries running as a separate process in the background, started through the shell
/// so that it can be signalled like a deployed process. The binaries are the ones built beside the test bundle
/// (`.build/debug` or `.build/release`, whichever `swift test` runs), or those in `HAPPENING_BIN_DIR`.
public struct ChildProcess: Sendable {
    /// The file holding the process id; its output goes to `<pidFile>.log`.
    public let pidFile: String

    /// The folder the products are taken from: `HAPPENING_BIN_DIR`, else the folder of the running test bundle.
    public static let binaryDirectory: String = {
        if let dir = ProcessInfo.processInfo.environment["HAPPENING_BIN_DIR"], !dir.isEmpty { return dir }
        // The test bundle is `.build/<triple>/<configuration>/HappeningPackageTests.xctest`; the products are beside it.
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: bundle).deletingLastPathComponent().path
    }()

    /// The path of one of the project's products, e.g. `happening-seed`.
    public static func binary(_ product: String) -> String { binaryDirectory + "/" + product }

    /// Starts `<binaryDirectory>/<product>` with `arguments` and `environment` (plus the shell's). The shell runs
    /// off the cooperative pool.
    public static func start(_ product: String, arguments: String = "", environment: [String: String] = [:]) async throws -> ChildProcess {
        let binary = binary(product)
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw StartFailed(output: "\(binary) is not built") }
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(product)-\(TestEnvironment.uniqueSuffix()).pid").path
        let env = environment.map { "\($0.key)='\($0.value)'" }.sorted().joined(separator: " ")
        let started = try await TestEnvironment.shellOffPool("\(env) nohup '\(binary)' \(arguments) >'\(pidFile).log' 2>&1 & echo $! >'\(pidFile)'")
        guard started.status == 0 else { throw StartFailed(output: started.output) }
        return ChildProcess(pidFile: pidFile)
    }

    /// The process could not be started, or exited before it was serving.
    public struct StartFailed: Error, CustomStringConvertible {
        public var output: String
        public var description: String { "the process did not start: \(output)" }
    }

    /// The process id, or nil if the pid file cannot be read.
    public var processID: pid_t? {
        (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// The process id as text (for the Bench's `--worker-pids` files and messages).
    public var pid: String { processID.map(String.init) ?? "" }

    /// What the process printed so far.
    public var output: String { (try? String(contentsOfFile: pidFile + ".log", encoding: .utf8)) ?? "" }

    /// Sends a signal (`SIGTERM`, `SIGKILL`, `SIGINT` …).
    public func signal(_ signal: Int32) {
        if let id = processID { kill(id, signal) }
    }

    /// True while the process exists.
    public var isRunning: Bool {
        guard let id = processID else { return false }
        return kill(id, 0) == 0
    }

    /// Starts `product` listening on `port` (the caller puts the port into `environment`) and waits until `path`
    /// answers there. Throws ``PortTaken`` when the child exited because another process held the port.
    public static func serve(
        _ product: String, arguments: String = "", port: Int, path: String,
        environment: [String: String]
    ) async throws -> ChildProcess {
        let process = try await start(product, arguments: arguments, environment: environment)
        do {
            try await process.waitUntilServing("http://127.0.0.1:\(port)\(path)")
            return process
        } catch {
            await process.terminate()
            guard process.output.contains("Address already in use") else { throw error }
            // Who holds it: the answer to "which process took a port the allocator had just found free".
            let holder =
                (try? await TestEnvironment.shellOffPool("ss -ltnpH 'sport = :\(port)' 2>&1; ss -tanH 'sport = :\(port)' 2>&1 | head -5"))?.output ?? ""
            throw PortTaken(product: product, port: port, holder: holder.trimmingCharacters(in: .whitespacesAndNewlines), output: process.output)
        }
    }

    /// A child could not listen: another process bound its port after ``TestPorts`` had found it free.
    public struct PortTaken: Error, CustomStringConvertible {
        public var product: String
        public var port: Int
        /// What `ss` showed on that port right after the failure (empty when the holder was already gone).
        public var holder: String
        /// What the child printed before it exited.
        public var output: String
        public var description: String { "\(product) could not bind 127.0.0.1:\(port): Address already in use; ss saw: \(holder.isEmpty ? "nothing" : holder)" }
    }

    /// Runs `body` (which starts children on fresh ports from ``TestPorts``) again when a child hit ``PortTaken``, up to
    /// `attempts` times; each failure is printed with its holder so a loaded run's log says what took the port.
    public static func retryingTakenPorts<T>(attempts: Int = 3, _ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let taken as PortTaken where attempt < attempts {
                print("test support: \(taken); starting again on other ports (attempt \(attempt + 1) of \(attempts))")
                attempt += 1
            }
        }
    }

    /// Starts `product` on a port from ``TestPorts`` and waits until `path` answers there. A port is checked free before
    /// it is handed out, but another process can still bind it before the child does (a loaded run saw it once, caused by
    /// the probe's socket leaking into other children, now close-on-exec); the child then exits with "Address already in use", and this starts it again on another port, up to `attempts` times.
    public static func startServing(
        _ product: String, arguments: String = "", path: String, attempts: Int = 3,
        environment: (Int) -> [String: String]
    ) async throws -> (process: ChildProcess, port: Int) {
        try await retryingTakenPorts(attempts: attempts) {
            let port = TestPorts.next()
            return (try await serve(product, arguments: arguments, port: port, path: path, environment: environment(port)), port)
        }
    }

    /// Waits until an HTTP GET of `url` gets any answer from the process, for at most `timeout`. Throws at once
    /// if the process exits first, with what it printed.
    public func waitUntilServing(_ url: String, within timeout: Duration = Patience.startup) async throws {
        try await eventually("\(url) to answer", within: timeout, every: .milliseconds(100)) {
            guard isRunning else { throw WaitAbandoned(reason: "the process exited before it answered: \(output)") }
            return try await TestHTTP.send(HTTPClientRequest(url: url, timeout: .seconds(2))).status > 0
        }
    }

    /// Waits (bounded) for the process to exit; true when it did. Sleeps between checks: no thread is blocked.
    public func waitForExit(within timeout: Duration = Patience.standard) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return !isRunning
    }

    /// Stops the process and waits for it: TERM, then KILL if it is still running after `grace`.
    public func terminate(grace: Duration = .seconds(10)) async {
        guard let id = processID else { return }
        kill(id, SIGTERM)
        if (try? await waitForExit(within: grace)) != true { kill(id, SIGKILL) }
    }

    /// Runs `body` while the process runs, then stops it and waits for it (``terminate(grace:)``), also when `body`
    /// throws: the scoped form of a cleanup, so no test leaves a child behind or stops one without waiting.
    public func whileRunning<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await terminate()
            return result
        } catch {
            await terminate()
            throw error
        }
    }
}

/// One-off HTTP requests for tests: a client per call, shut down before the call returns (never left to a
/// fire-and-forget task).
public enum TestHTTP {
    /// Sends `request` and returns whatever answer came back; throws when none did. A request made without a
    /// timeout of its own waits ``Patience/standard`` (the library's 10 s is a deadline a loaded machine misses).
    public static func send(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let http = CurlHTTPClient(maxConcurrentRequests: 1)
        do {
            let response = try await http.send(request.patient())
            await http.shutdown()
            return response
        } catch {
            await http.shutdown()
            throw error
        }
    }
}

extension HTTPClientRequest {
    /// This request, with ``Patience/standard`` as its timeout unless it was given one of its own: a test's request
    /// waits as long as a test waits for anything (the suite runs in parallel, possibly beside CPU hogs).
    public func patient() -> HTTPClientRequest {
        guard timeout == HTTPClientRequest.defaultTimeout else { return self }
        var request = self
        request.timeout = Patience.standard
        return request
    }
}

extension CurlHTTPClient {
    /// `send` with a test's patience (``HTTPClientRequest/patient()``): only tests about timeouts give a request a
    /// deadline of their own.
    public func sendPatiently(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        try await send(request.patient())
    }
}
