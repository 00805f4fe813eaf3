/// The server's resource bundle has no `openapi.yaml`: the install is incomplete.
struct OpenAPIDocumentMissing: Error, CustomStringConvertible {
    var description: String { "openapi.yaml is missing from the server's resource bundle (Happening_Server.resources next to the binary)" }
}
