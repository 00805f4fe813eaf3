import Foundation
import HappeningLoad
import TestSupport
import Testing

@testable import HappeningBench

/// Both load engines against nginx over TLS on loopback, with a certificate the test makes: the statuses and body
/// bytes are right, certificate checks are on by default, `--cacert` trusts the test's certificate and `--insecure`
/// skips the check.
@Suite("Bench: https targets", .timeLimit(.minutes(10)))
struct TLSTargetTests {
    /// A body of known size (1,000 bytes).
    private static let body = String(repeating: "x", count: 999) + "\n"

    /// Runs `body` with nginx serving TLS on a fresh port from a directory holding `cert.pem` (self-signed for
    /// 127.0.0.1 and localhost) and `static.txt`, and the same files over cleartext HTTP/2 (h2c, prior knowledge) on
    /// another port (`h2c`); nginx is stopped afterwards, also when `body` throws.
    private func withTLSNginx(_ body: (_ base: String, _ directory: String, _ h2c: String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-tls-\(TestEnvironment.uniqueSuffix())").path
        try FileManager.default.createDirectory(atPath: directory + "/www", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.body.write(toFile: directory + "/www/static.txt", atomically: true, encoding: .utf8)
        let cert = try await TestEnvironment.shellOffPool(
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' "
                + "-keyout '\(directory)/key.pem' -out '\(directory)/cert.pem' 2>&1")
        try #require(cert.status == 0, "\(cert.output)")
        let port = TestPorts.next()
        let h2cPort = TestPorts.next()
        try """
        worker_processes 1;
        daemon on;
        pid \(directory)/nginx.pid;
        error_log \(directory)/error.log warn;
        events { worker_connections 1024; }
        http {
            access_log off;
            keepalive_requests 100000;
            server {
                # HTTP/2 on offer too: both engines must still get HTTP/1.1 from ALPN.
                listen 127.0.0.1:\(port) ssl http2;
                ssl_certificate \(directory)/cert.pem;
                ssl_certificate_key \(directory)/key.pem;
                root \(directory)/www;
                location = /api/health { return 200 'ok'; }
            }
            server {
                listen 127.0.0.1:\(h2cPort) http2;
                root \(directory)/www;
                location = /api/health { return 200 'ok'; }
            }
        }
        """.write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        let started = try await TestEnvironment.shellOffPool("nginx -c '\(directory)/nginx.conf' -p '\(directory)' 2>&1")
        try #require(started.status == 0, "\(started.output)")
        let stop = "nginx -c '\(directory)/nginx.conf' -p '\(directory)' -s stop"
        do {
            try await eventually("nginx to answer over TLS", within: Patience.startup) {
                try await TestEnvironment.shellOffPool("curl -s --cacert '\(directory)/cert.pem' https://127.0.0.1:\(port)/api/health").output == "ok"
            }
            try await body("https://127.0.0.1:\(port)", directory, "http://127.0.0.1:\(h2cPort)")
        } catch {
            _ = try? await TestEnvironment.shellOffPool(stop)
            throw error
        }
        _ = try? await TestEnvironment.shellOffPool(stop)
    }

    /// `run` of 300 GETs of the static file with `arguments`; the exit status, output and first phase.
    private func run(_ base: String, _ directory: String, _ arguments: String) async throws -> (status: Int32, output: String, phase: PhaseResult?) {
        let scenario = directory + "/static.yaml"
        try """
        name: tls-static
        requests:
          - { name: static, path: /static.txt, expect: [200] }
        phases:
          - { name: steady, model: closed, connections: 8, max_requests: 300 }
        thresholds: ["steady.error_rate == 0%"]
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let out = directory + "/out-\(TestEnvironment.uniqueSuffix())"
        let result = try await bench("run '\(scenario)' --target \(base) --progress none --out '\(out)' \(arguments)")
        let json = (try? FileManager.default.contentsOfDirectory(atPath: out))?.first { $0.hasSuffix(".json") }
        let phase = try json.map { try BenchResult.load("\(out)/\($0)").runs[0].phases[0] }
        return (result.status, result.output, phase)
    }

    @Test("raw and curl engines over TLS: 300 answers of 200 and 300,000 body bytes; checks on by default; --cacert and --insecure")
    func engines() async throws {
        try await withTLSNginx { base, directory, _ in
            for engine in CurlLoadEngineName.allCases {
                let trusted = try await run(base, directory, "--engine \(engine) --cacert '\(directory)/cert.pem'")
                #expect(trusted.status == 0, "\(engine): \(trusted.output)")
                let phase = try #require(trusted.phase, "\(engine): \(trusted.output)")
                #expect(phase.requests == 300 && phase.statuses == ["200": 300] && phase.errors == 0, "\(engine): \(phase.statuses)")
                #expect(phase.body_bytes == 300 * UInt64(Self.body.utf8.count), "\(engine): \(phase.body_bytes ?? 0) body bytes")
                let insecure = try await run(base, directory, "--engine \(engine) --insecure")
                #expect(insecure.status == 0 && insecure.phase?.statuses == ["200": 300], "\(engine): \(insecure.output)")
            }
            // The certificate is the test's own: with the system's trust store the target is refused before any load.
            let checked = try await run(base, directory, "")
            #expect(checked.status == 2 && checked.phase == nil, "\(checked.output)")
            #expect(checked.output.contains("cannot reach the target") && checked.output.lowercased().contains("certificate"), "\(checked.output)")
            let both = try await run(base, directory, "--insecure --cacert '\(directory)/cert.pem'")
            #expect(both.status == 2 && both.output.contains("--insecure skips the certificate check"), "\(both.output)")
        }
    }
}

extension TLSTargetTests {
    @Test("--http2 multiplexes: 300 answers of 200, every one HTTP/2, 300,000 body bytes, over at most ⌈8 ÷ 4⌉ TCP connections; h2 by ALPN and h2c")
    func http2() async throws {
        try await withTLSNginx { base, directory, h2c in
            // h2c (prior knowledge) only where libcurl can reuse such a connection; before 8.0.0 the Bench refuses it.
            let h2cWorks = HTTP2Multiplexing.libcurlReusesPriorKnowledge
            for (target, trust) in [(base, "--cacert '\(directory)/cert.pem'")] + (h2cWorks ? [(h2c, "")] : []) {
                let multiplexed = try await run(target, directory, "--http2 --streams 4 \(trust)")
                #expect(multiplexed.status == 0, "\(target): \(multiplexed.output)")
                let phase = try #require(multiplexed.phase, "\(target): \(multiplexed.output)")
                #expect(phase.requests == 300 && phase.statuses == ["200": 300] && phase.errors == 0, "\(target): \(phase.statuses)")
                #expect(phase.http_versions == ["2": 300], "\(target): \(phase.http_versions ?? [:])")
                #expect(phase.body_bytes == 300 * UInt64(Self.body.utf8.count), "\(target): \(phase.body_bytes ?? 0) body bytes")
                let opened = try #require(phase.connections_opened, "\(target): no connection count")
                #expect((1...2).contains(opened), "\(target): \(opened) TCP connections for 8 connections of 4 streams")
                #expect(multiplexed.output.contains("HTTP/2 ×300"), "\(multiplexed.output)")
            }
            // Without --http2 the curl engine asks for HTTP/1.1, one connection per virtual connection.
            let plain = try await run(base, directory, "--engine curl --cacert '\(directory)/cert.pem'")
            #expect(plain.phase?.http_versions == ["1.1": 300] && plain.phase?.connections_opened == 8, "\(plain.output)")
            if !h2cWorks {
                let refused = try await run(h2c, directory, "--http2")
                #expect(refused.status == 2 && refused.output.contains("curl/curl#10634"), "\(refused.output)")
            }
            let raw = try await run(base, directory, "--http2 --engine raw --cacert '\(directory)/cert.pem'")
            #expect(raw.status == 2 && raw.output.contains("--http2 needs the curl engine"), "\(raw.output)")
        }
    }
}

/// The engines by the name `--engine` takes.
private enum CurlLoadEngineName: String, CaseIterable, CustomStringConvertible {
    case raw, curl
    var description: String { rawValue }
}
