import Foundation

/// A JUnit XML file as CI systems would read it: validated against `Tests/junit.xsd` with xmllint (Debian's
/// libxml2-utils), then its test cases listed by Python's XML parser.
public struct JUnitFile: Sendable {
    /// One `<testcase>`: its name and its failure's message (nil when it passed).
    public struct Case: Sendable, Equatable {
        public var name: String
        public var failure: String?

        public init(name: String, failure: String?) {
            self.name = name
            self.failure = failure
        }
    }

    public let cases: [Case]

    /// Fails (with xmllint's words) when `path` is not valid against the schema.
    public init(path: String) async throws {
        let schema = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/junit.xsd").path
        let check = try await TestEnvironment.shellOffPool("xmllint --noout --schema '\(schema)' '\(path)' 2>&1")
        guard check.status == 0 else { throw Invalid(report: check.output) }
        let list = try await TestEnvironment.shellOffPool(
            #"python3 -c 'import json, sys, xml.etree.ElementTree as E; print(json.dumps([[c.get("name"), None if c.find("failure") is None else c.find("failure").get("message")] for c in E.parse(sys.argv[1]).getroot().iter("testcase")]))' "#
                + "'\(path)'")
        guard list.status == 0, let rows = try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [[Any]] else {
            throw Invalid(report: list.output)
        }
        cases = rows.map { Case(name: $0[0] as? String ?? "", failure: $0[1] as? String) }
    }

    /// What xmllint or the parser said about an invalid file.
    public struct Invalid: Error, CustomStringConvertible {
        public var report: String
        public var description: String { "not a valid JUnit file: \(report)" }
    }
}
