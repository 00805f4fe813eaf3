import Testing

@testable import HappeningBench

@Suite("Secrets never reach the Bench's messages")
struct RedactTests {
    @Test("a URL's user-info password and a libpq password parameter are both hidden")
    func passwords() {
        #expect(Redact.url("postgres://happening:s3cret@db:5432/happening") == "postgres://happening:***@db:5432/happening")
        let libpq = Redact.url("postgres://db:5432/happening?user=happening&password=s3cret&sslmode=require")
        #expect(!libpq.contains("s3cret") && libpq.contains("password=***") && libpq.contains("sslmode=require"))
        #expect(!Redact.url("https://example.test/write?api_key=abc123").contains("abc123"))
    }
}
