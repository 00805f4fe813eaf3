import ArgumentParser
import Foundation
import HappeningCurl

/// `happening-bench`: replays scenarios against the server over HTTP. This build can check that a server
/// answers; the libcurl-multi load generator arrives with the Bench issue (order 5 of 8).
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "happening-bench",
        abstract: "Load-tests a Happening server and checks that it never oversells.",
        subcommands: [Check.self])

    mutating func run() async throws {
        FileHandle.standardError.write(Data("happening-bench: the load generator is not built yet (see the Bench issue); `happening-bench check` probes a server\n".utf8))
        throw ExitCode(2)
    }

    /// Asks a server for `/api/health` and prints what it says.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "GET /api/health on a server.")

        @Option(help: "The server's base URL.")
        var url = "http://127.0.0.1:5000"

        mutating func run() async throws {
            let http = CurlHTTPClient(maxConcurrentRequests: 1)
            let response = try await http.send(HTTPClientRequest(url: url + "/api/health", timeout: .seconds(5)))
            await http.shutdown()
            print("\(response.status) \(response.text)")
            if response.status != 200 { throw ExitCode(1) }
        }
    }
}
