import Foundation

/// Work e-mail addresses only (AUTH-1): a syntactically plain address, not at a public mail
/// provider, not a role address. Addresses are compared case-insensitively (AUTH-2).
public struct EmailPolicy: Sendable {
    public enum Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        case malformed
        case tooLong
        case publicProvider(String)
        case roleAddress(String)

        public var description: String {
            switch self {
            case .malformed: "enter an e-mail address such as jane.doe@example.com"
            case .tooLong: "an e-mail address may have at most 254 characters"
            case .publicProvider(let domain): "addresses at \(domain) are not accepted: use your work e-mail address"
            case .roleAddress(let local): "\(local)@ is a shared address: use the address of one person"
            }
        }
    }

    private let exactDomains: Set<String>
    private let wildcardBases: Set<String>
    private let roleAddresses: Set<String>

    public init(publicDomains: [String], roleAddresses: [String]) {
        let domains = publicDomains.map { $0.lowercased() }
        exactDomains = Set(domains.filter { !$0.hasSuffix(".*") })
        wildcardBases = Set(domains.filter { $0.hasSuffix(".*") }.map { String($0.dropLast(2)) })
        self.roleAddresses = Set(roleAddresses.map { $0.lowercased() })
    }

    /// Reads the two data files shipped with the server (one entry a line, # comments).
    public static func bundled() throws -> EmailPolicy {
        EmailPolicy(publicDomains: try DataFile.lines("public-mail-domains"), roleAddresses: try DataFile.lines("role-addresses"))
    }

    /// Returns the normalized (lower-case, trimmed) address, or throws why it is refused.
    public func validate(_ address: String) throws(Rejection) -> String {
        let trimmed = address.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard trimmed.utf8.count <= 254 else { throw .tooLong }
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .malformed }
        let local = String(parts[0])
        let domain = String(parts[1])
        let localAllowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-")
        guard !local.isEmpty, local.count <= 64, local.allSatisfy(localAllowed.contains),
            !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..")
        else { throw .malformed }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        let labelAllowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        guard labels.count >= 2,
            labels.allSatisfy({ !$0.isEmpty && $0.count <= 63 && $0.allSatisfy(labelAllowed.contains) && !$0.hasPrefix("-") && !$0.hasSuffix("-") }),
            labels.last!.count >= 2, !labels.last!.allSatisfy(\.isNumber)
        else { throw .malformed }
        if isPublic(domain) { throw .publicProvider(domain) }
        let base = local.split(separator: "+").first.map(String.init) ?? local
        if roleAddresses.contains(base) { throw .roleAddress(base) }
        return trimmed
    }

    func isPublic(_ domain: String) -> Bool {
        if exactDomains.contains(domain) { return true }
        // yahoo.* matches yahoo.fr and yahoo.co.uk: the name right before the public suffix.
        let labels = domain.split(separator: ".")
        for start in labels.indices.dropLast() {
            let base = labels[start]
            let suffix = labels[(start + 1)...]
            if wildcardBases.contains(String(base)), suffix.count <= 2, suffix.allSatisfy({ $0.count <= 3 || $0 == "com" }) {
                return true
            }
        }
        return false
    }
}
