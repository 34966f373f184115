import Foundation
import Testing
import Vapor

@testable import AssayServer

/// Runs `openssl s_client` against the server; true when the handshake completed.
func handshake(port: Int, _ options: [String]) throws -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-brief"] + options
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0
}

@Suite("Transport: TLS settings and trusted proxies (SEC-1)", .serialized)
struct TransportTests {
    @Test("TLS 1.2+ only, and for TLS 1.2 only ECDHE with 256-bit AEAD; HSTS is sent over TLS")
    func tlsPolicy() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assay-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try RealSMTPServer.makeCertificates(in: directory)
        try await withTestApp(
            .sqlite,
            adjust: { configuration in
                configuration.tlsCertificatePath = directory.appendingPathComponent("server.pem").path
                configuration.tlsKeyPath = directory.appendingPathComponent("server.key").path
            }
        ) { app, _ in
            let port = try freePort()
            try await app.server.start(address: .hostname("127.0.0.1", port: port))
            defer { Task { await app.server.shutdown() } }

            #expect(try handshake(port: port, ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"]))
            #expect(try handshake(port: port, ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"]))
            #expect(try handshake(port: port, ["-tls1_3"]))
            #expect(try !handshake(port: port, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]), "128-bit AES-GCM must be refused")
            #expect(try !handshake(port: port, ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA384"]), "CBC must be refused")
            #expect(try !handshake(port: port, ["-tls1_2", "-cipher", "AES256-GCM-SHA384"]), "RSA key exchange must be refused")
            #expect(try !handshake(port: port, ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]), "TLS 1.1 must be refused")
            #expect(try !handshake(port: port, ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]), "TLS 1.0 must be refused")

            // An HTTP answer over that TLS carries HSTS.
            let curl = Process()
            let output = Pipe()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            curl.arguments = [
                "-s", "-D", "-", "-o", "/dev/null", "--cacert", directory.appendingPathComponent("ca.pem").path, "https://127.0.0.1:\(port)/health",
            ]
            curl.standardOutput = output
            try curl.run()
            let headers = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).lowercased()
            curl.waitUntilExit()
            #expect(headers.contains("200"))
            #expect(headers.contains("strict-transport-security: max-age="))
            await app.server.shutdown()
        }
    }

    @Test("unreadable certificate or key files fail with a message naming the setting")
    func unreadableFiles() throws {
        #expect(throws: TransportSecurity.Unreadable.self) {
            try TransportSecurity.serverConfiguration(certificateFile: "/nonexistent.pem", keyFile: "/nonexistent.key")
        }
        do {
            _ = try TransportSecurity.serverConfiguration(certificateFile: "/etc/hostname", keyFile: "/etc/hostname")
            Issue.record("a non-PEM file was accepted")
        } catch {
            #expect("\(error)".contains("TLS_CERT"))
        }
    }

    @Test("X-Forwarded-For counts only from a trusted proxy, read from the right")
    func trustedProxies() {
        // No proxy trusted: the header is the client's own words.
        #expect(TrustedProxies.clientAddress(peer: "203.0.113.9", forwardedFor: ["198.51.100.1"], trusted: []) == "203.0.113.9")
        // An untrusted peer cannot claim another address even when some proxy is trusted.
        #expect(TrustedProxies.clientAddress(peer: "203.0.113.9", forwardedFor: ["198.51.100.1"], trusted: ["10.0.0.5"]) == "203.0.113.9")
        // Behind the trusted proxy: the address it appended.
        #expect(TrustedProxies.clientAddress(peer: "10.0.0.5", forwardedFor: ["198.51.100.1"], trusted: ["10.0.0.5"]) == "198.51.100.1")
        // A client that forges a first hop gets its real address, the one the proxy appended.
        #expect(TrustedProxies.clientAddress(peer: "10.0.0.5", forwardedFor: ["1.2.3.4, 198.51.100.1"], trusted: ["10.0.0.5"]) == "198.51.100.1")
        // Two proxies in a trusted range.
        #expect(TrustedProxies.clientAddress(peer: "10.0.0.5", forwardedFor: ["198.51.100.1, 10.1.2.3"], trusted: ["10.0.0.0/8"]) == "198.51.100.1")
        #expect(TrustedProxies.clientAddress(peer: "11.0.0.5", forwardedFor: ["198.51.100.1"], trusted: ["10.0.0.0/8"]) == "11.0.0.5")
        // Garbage in the chain: the peer.
        #expect(TrustedProxies.clientAddress(peer: "10.0.0.5", forwardedFor: ["<script>"], trusted: ["10.0.0.5"]) == "10.0.0.5")
        #expect(TrustedProxies.clientAddress(peer: "::1", forwardedFor: ["2001:db8::7"], trusted: ["::1"]) == "2001:db8::7")
    }

    @Test("TRUSTED_PROXIES entries must be addresses or IPv4 ranges")
    func trustedProxyConfiguration() throws {
        #expect(throws: ServerConfiguration.Invalid.self) { try ServerConfiguration.load(environment: ["TRUSTED_PROXIES": "proxy.example.com"]) }
        #expect(throws: ServerConfiguration.Invalid.self) { try ServerConfiguration.load(environment: ["TRUSTED_PROXIES": "10.0.0.0/33"]) }
        let loaded = try ServerConfiguration.load(environment: ["TRUSTED_PROXIES": "10.0.0.0/8, ::1"])
        #expect(loaded.trustedProxies == ["10.0.0.0/8", "::1"])
    }
}
