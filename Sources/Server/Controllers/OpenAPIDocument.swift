import Foundation
import Hummingbird

/// Serves `openapi.yaml` from the repository root (found next to the working directory or the binary).
enum OpenAPIDocument {
    static func response() throws -> Response {
        let candidates = [
            FileManager.default.currentDirectoryPath + "/openapi.yaml",
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
                .appendingPathComponent("../../../openapi.yaml").standardized.path,
        ]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }),
              let data = FileManager.default.contents(atPath: path)
        else { throw AppError.notFound("openapi.yaml is not installed next to the server", code: "spec_missing") }
        return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
