import Foundation
import OpenPGP

/// The console's configuration, downloaded from the portal by a user with the write claim (CON-5):
/// where the service is, the tenant's GUID and its public key with the fingerprint. Nothing in it
/// names the tenant or a person.
public struct TenantBundle: Codable, Sendable, Equatable {
    public static let format = "assay-console-bundle/1"
    public static let maxBytes = 64 << 10

    public let format: String
    public let serviceURL: String
    public let tenantID: String
    public let publicKey: String
    public let fingerprint: String

    public init(serviceURL: String, tenantID: String, publicKey: String, fingerprint: String) {
        self.format = Self.format
        self.serviceURL = serviceURL
        self.tenantID = tenantID
        self.publicKey = publicKey
        self.fingerprint = fingerprint
    }

    /// Reads and checks a bundle: its format, a service URL the console may speak to, a GUID, and a
    /// key whose fingerprint is the one written beside it.
    public static func read(_ data: Data) throws -> (bundle: TenantBundle, certificate: Certificate) {
        guard data.count <= maxBytes else { throw ConsoleError.input("the bundle is larger than \(maxBytes >> 10) KiB: not a console bundle") }
        let bundle: TenantBundle
        do { bundle = try JSONDecoder().decode(TenantBundle.self, from: data) } catch {
            throw ConsoleError.input("the file is not a console bundle (JSON with format, serviceURL, tenantID, publicKey, fingerprint)")
        }
        guard bundle.format == format else { throw ConsoleError.input("bundle format \"\(bundle.format.prefix(40))\" is not \(format)") }
        guard UUID(uuidString: bundle.tenantID) != nil else { throw ConsoleError.input("the bundle's tenantID is not a GUID") }
        _ = try ServiceEndpoint(bundle.serviceURL)
        let certificate: Certificate
        do { certificate = try Certificate(importing: Array(bundle.publicKey.utf8)) } catch {
            throw ConsoleError.input("the bundle's public key cannot be read: \(error)")
        }
        let declared = bundle.fingerprint.replacingOccurrences(of: " ", with: "").lowercased()
        guard declared == certificate.fingerprint.description.lowercased() else {
            throw ConsoleError.input(
                "the bundle's key has fingerprint \(certificate.fingerprint) but the bundle says \(bundle.fingerprint.prefix(60)): refused")
        }
        guard certificate.bits >= 2048 else { throw ConsoleError.input("the bundle's key has \(certificate.bits) bits; 2048 at least (KEY-1)") }
        return (bundle, certificate)
    }
}

/// The service's base URL: HTTPS, or plain HTTP only to this machine's loopback (CON-6).
public struct ServiceEndpoint: Sendable, Equatable {
    public let base: URL

    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), let host = components.host, !host.isEmpty,
            components.user == nil, components.password == nil, components.query == nil, components.fragment == nil,
            let url = URL(string: text.hasSuffix("/") ? String(text.dropLast()) : text)
        else { throw ConsoleError.input("\"\(text.prefix(120))\" is not a service URL (https://host[:port])") }
        switch scheme {
        case "https": break
        case "http":
            guard Self.isLoopback(host) else {
                throw ConsoleError.refused("plain HTTP to \(host) is refused: uploads go over HTTPS (CON-6); http:// is only for a service on this machine")
            }
        default: throw ConsoleError.input("\"\(scheme)\" is not https")
        }
        base = url
    }

    public var isPlainHTTP: Bool { base.scheme?.lowercased() == "http" }

    public static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare == "::1"
            || (bare.hasPrefix("127.") && bare.split(separator: ".").count == 4 && bare.allSatisfy { $0.isNumber || $0 == "." })
    }
}
