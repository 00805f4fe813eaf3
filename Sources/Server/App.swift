import Foundation
import HappeningCore

/// `happening-server`: reads its configuration from the environment and runs until SIGTERM/SIGINT.
@main
struct App {
    static func main() async throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration(Settings(ProcessInfo.processInfo.environment))
        } catch {
            FileHandle.standardError.write(Data("happening-server: \(error)\n".utf8))
            exit(2)
        }
        let app = try buildApplication(configuration)
        try await app.runService()
    }
}
