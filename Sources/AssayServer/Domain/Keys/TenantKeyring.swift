import Foundation
import OpenPGP

/// Tenant key pairs (KEY-1, KEY-3, KEY-4). The public key is published to the tenant's writers; the
/// secret key exists in the catalog only wrapped under the operator's key-encryption key, and is
/// unwrapped only by an ingest worker for uploads it has claimed, each time written to the audit
/// log. An unwrap that does not fit that pattern locks the tenant's key until an operator unlocks it.
public struct TenantKeyring: Sendable {
    let catalog: Catalog
    let keys: KeyEncryptionKeys
    let policy: Policy
    let now: @Sendable () -> Date

    public struct Policy: Sendable {
        /// Unwraps per tenant per minute before the key locks.
        public var maxUnwrapsPerMinute: Int = 3000
        public var keyBits: SecretKey.KeySize = .bits3072
        public init(maxUnwrapsPerMinute: Int = 3000, keyBits: SecretKey.KeySize = .bits3072) {
            self.maxUnwrapsPerMinute = maxUnwrapsPerMinute
            self.keyBits = keyBits
        }
    }

    public init(catalog: Catalog, keys: KeyEncryptionKeys, policy: Policy = Policy(), now: @escaping @Sendable () -> Date = Date.init) {
        self.catalog = catalog
        self.keys = keys
        self.policy = policy
        self.now = now
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case locked(reason: String)
        case noKey
        case lockedNow(reason: String)

        public var description: String {
            switch self {
            case .locked(let reason): "the tenant's key is locked (\(reason)); an operator must unlock it"
            case .noKey: "the tenant has no key"
            case .lockedNow(let reason): "the tenant's key was locked just now: \(reason)"
            }
        }
    }

    /// Why a key is being unwrapped: only ingest of uploads the worker has claimed is a reason.
    public enum Purpose: Sendable, Equatable {
        case ingest(uploadIDs: [UUID])
        case other(String)
    }

    static func context(tenantID: TenantID, fingerprint: String) -> String { "assay tenant key|\(tenantID.lowercased)|\(fingerprint)" }

    /// Generates a new key pair; it becomes the published one and the previous ones retire (they
    /// still open what was encrypted to them).
    @discardableResult
    public func createKey(tenantID: TenantID, actor: String) async throws -> TenantKeyRecord {
        try await createKey(tenantID: tenantID, userID: Self.userID(for: tenantID), actor: actor)
    }

    /// The User ID of a tenant key: the GUID and nothing else (CON-5). The key travels in the
    /// console bundle to every device, so it may not name the customer or a person.
    static func userID(for tenantID: TenantID) -> String { "Assay tenant <tenant-\(tenantID.lowercased)@assay.invalid>" }

    /// `userID` is the caller's: the GUID-only one above, or (in tests) one of the old form.
    func createKey(tenantID: TenantID, userID: String, actor: String) async throws -> TenantKeyRecord {
        let secret = try SecretKey.generate(userID: userID, size: policy.keyBits, created: now())
        let fingerprint = secret.fingerprint.description
        let wrapped = try keys.current.wrap(try secret.exported(passphrase: nil), context: Self.context(tenantID: tenantID, fingerprint: fingerprint))
        let key = try await catalog.tenantKeys.publish(
            tenantID: tenantID, fingerprint: fingerprint, bits: secret.certificate.bits,
            publicKey: secret.certificate.armored, wrappedSecret: Data(wrapped).base64EncodedString(),
            kekID: keys.current.id, at: now())
        try await catalog.audit.append(
            tenantID: tenantID, actor: actor, action: "key.created", subject: "tenant:\(tenantID)",
            detail: "fingerprint=\(fingerprint) bits=\(secret.certificate.bits) kek=\(keys.current.id)", at: now())
        return key
    }

    /// Issue 17: keys made before carried the tenant's name in their User ID. Every tenant whose
    /// published key says more than its GUID gets a new key (the old one kept, retired, for what
    /// was encrypted to it). Returns the tenants rotated; running it again rotates none.
    public func rotateKeysNamingMoreThanTheGUID(actor: String) async throws -> [TenantID] {
        var rotated: [TenantID] = []
        for key in try await catalog.tenantKeys.publishedKeys() {
            let certificate = try Certificate(importing: Array(key.publicKey.utf8))
            guard certificate.userIDs != [Self.userID(for: key.tenantID)] else { continue }
            try await createKey(tenantID: key.tenantID, actor: actor)
            rotated.append(key.tenantID)
        }
        return rotated
    }

    /// The published public key, armored.
    public func publicKey(tenantID: TenantID) async throws -> TenantKeyRecord {
        guard let key = try await catalog.tenantKeys.published(tenantID: tenantID) else {
            throw Failure.noKey
        }
        return key
    }

    /// Every secret key of the tenant (current and retired), for the named uploads. Checks the lock,
    /// the purpose against the upload queue, the rate, and each wrapped key's integrity; any
    /// mismatch locks the key and throws.
    public func unwrap(tenantID: TenantID, purpose: Purpose, worker: String) async throws -> [SecretKey] {
        guard let tenant = try await catalog.tenants.find(tenantID) else { throw Failure.noKey }
        if let reason = tenant.keyLockReason, tenant.keyLockedAt != nil { throw Failure.locked(reason: reason) }
        guard case .ingest(let uploadIDs) = purpose, !uploadIDs.isEmpty else {
            throw try await lock(tenantID: tenantID, reason: "an unwrap asked for a purpose other than ingest", worker: worker)
        }
        let claimed = try await catalog.uploads.countProcessing(uploadIDs, tenantID: tenantID)
        guard claimed == uploadIDs.count else {
            throw try await lock(tenantID: tenantID, reason: "an unwrap named uploads that are not being processed for this tenant", worker: worker)
        }
        let since = now().addingTimeInterval(-60)
        let recent = try await catalog.audit.count(tenantID: tenantID, action: "key.unwrapped", since: since)
        guard recent < policy.maxUnwrapsPerMinute else {
            throw try await lock(tenantID: tenantID, reason: "more than \(policy.maxUnwrapsPerMinute) unwraps in a minute", worker: worker)
        }
        let stored = try await catalog.tenantKeys.all(tenantID: tenantID)
        guard !stored.isEmpty else { throw Failure.noKey }
        var secrets: [SecretKey] = []
        for key in stored {
            guard let kek = keys.key(id: key.kekID), let wrapped = Data(base64Encoded: key.wrappedSecret),
                let bytes = try? kek.unwrap(Array(wrapped), context: Self.context(tenantID: tenantID, fingerprint: key.fingerprint)),
                let secret = try? SecretKey(importing: bytes), secret.fingerprint.description == key.fingerprint
            else {
                throw try await lock(tenantID: tenantID, reason: "the wrapped key \(key.fingerprint) failed its integrity check", worker: worker)
            }
            secrets.append(secret)
        }
        try await catalog.audit.append(
            tenantID: tenantID, actor: "worker:\(worker)", action: "key.unwrapped", subject: "tenant:\(tenantID)",
            detail: "uploads=\(uploadIDs.map { $0.uuidString.lowercased() }.joined(separator: ","))", at: now())
        return secrets
    }

    /// Locks the tenant's key: its ingestion stops until `assay-server key unlock`.
    func lock(tenantID: TenantID, reason: String, worker: String) async throws -> Failure {
        try await catalog.tenants.lockKey(tenantID, reason: reason, at: now())
        try await catalog.audit.append(
            tenantID: tenantID, actor: "worker:\(worker)", action: "security.key-locked",
            subject: "tenant:\(tenantID)", detail: reason, at: now())
        return .lockedNow(reason: reason)
    }

    /// Operator only: ends a lock, recording why.
    public func unlock(tenantID: TenantID, reason: String, actor: String) async throws {
        try await catalog.tenants.unlockKey(tenantID)
        try await catalog.audit.append(tenantID: tenantID, actor: actor, action: "key.unlocked", subject: "tenant:\(tenantID)", detail: reason, at: now())
    }

    /// Re-wraps every key wrapped under the previous key-encryption key with the current one.
    public func rewrapAll(actor: String) async throws -> Int {
        guard let previous = keys.previous else { return 0 }
        var count = 0
        for key in try await catalog.tenantKeys.wrapped(underKEK: previous.id) {
            let context = Self.context(tenantID: key.tenantID, fingerprint: key.fingerprint)
            guard let wrapped = Data(base64Encoded: key.wrappedSecret) else { continue }
            let secret = try previous.unwrap(Array(wrapped), context: context)
            try await catalog.tenantKeys.rewrap(
                keyID: key.id, wrappedSecret: Data(try keys.current.wrap(secret, context: context)).base64EncodedString(),
                kekID: keys.current.id)
            try await catalog.audit.append(
                tenantID: key.tenantID, actor: actor, action: "key.rewrapped", subject: "tenant:\(key.tenantID)",
                detail: "fingerprint=\(key.fingerprint) kek=\(keys.current.id)", at: now())
            count += 1
        }
        return count
    }
}
