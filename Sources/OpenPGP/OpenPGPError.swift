/// Every way an OpenPGP operation can fail. Messages are precise but never carry secret material,
/// and decryption failures never say which padding or checksum test failed (RFC 9580 §14).
public enum OpenPGPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not a well-formed OpenPGP structure (truncated, bad length, bad field).
    case malformed(String)
    /// Well-formed, but uses an algorithm, version or feature this implementation refuses.
    case unsupported(String)
    /// The message is encrypted to none of the keys offered.
    case noMatchingKey(recipients: [KeyID])
    /// The session key or the modification detection code did not verify: no plaintext is released.
    case integrityCheckFailed
    /// A configured limit was exceeded (size, nesting, recipients, decompression).
    case tooLarge(String)
    /// The passphrase does not unlock the secret key.
    case wrongPassphrase
    /// A key is structurally valid but unusable (bad self-signature, no encryption key, too short).
    case invalidKey(String)

    public var description: String {
        switch self {
        case .malformed(let why): "malformed OpenPGP data: \(why)"
        case .unsupported(let what): "unsupported OpenPGP feature: \(what)"
        case .noMatchingKey(let recipients):
            recipients.isEmpty
                ? "the message names no recipient this key can decrypt for"
                : "the message is encrypted to \(recipients.map(\.description).joined(separator: ", ")), none of which is ours"
        case .integrityCheckFailed: "decryption failed: the session key or the integrity check (MDC) did not verify"
        case .tooLarge(let why): "limit exceeded: \(why)"
        case .wrongPassphrase: "the passphrase does not unlock this secret key"
        case .invalidKey(let why): "invalid key: \(why)"
        }
    }
}
