import Foundation
import NIOSSL

/// TLS as SEC-1 asks: TLS 1.2 at least; for TLS 1.2 only ECDHE with 256-bit AEAD (AES-256-GCM,
/// ChaCha20-Poly1305). TLS 1.3's suites are all AEAD and BoringSSL does not let them be narrowed.
enum TransportSecurity {
    static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    static func serverConfiguration(certificateFile: String, keyFile: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(certificateFile) } catch {
            throw Unreadable(description: "TLS_CERT \(certificateFile) is not a readable PEM certificate chain")
        }
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw Unreadable(description: "TLS_KEY \(keyFile) is not a readable PEM private key")
        }
        guard !chain.isEmpty else { throw Unreadable(description: "TLS_CERT \(certificateFile) holds no certificate") }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        tls.cipherSuiteValues = tls12CipherSuites
        return tls
    }
}
