import Foundation
import Hummingbird

/// The API's OpenAPI document (`openapi.yaml`), a resource of this module. Read once when the server is wired, so an
/// install without it fails at start instead of answering 404 later.
struct OpenAPIDocument: Sendable {
    let bytes: ByteBuffer

    /// Reads the bundled `openapi.yaml`.
    static func bundled() throws -> OpenAPIDocument {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
            let data = FileManager.default.contents(atPath: url.path)
        else { throw OpenAPIDocumentMissing() }
        return OpenAPIDocument(bytes: ByteBuffer(bytes: data))
    }

    func response() -> Response {
        Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: bytes))
    }
}
