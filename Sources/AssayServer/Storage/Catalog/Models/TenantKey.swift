import FluentKit
import Foundation

/// One tenant key pair (KEY-1): the public key in the clear, the secret key only wrapped (KEY-3).
public final class TenantKey: Model, @unchecked Sendable {
    public static let schema = "tenant_keys"

    public enum State: String, Codable, Sendable { case active, retired }

    @ID(key: .id) public var id: UUID?
    @Field(key: "tenant_id") public var tenantID: UUID
    /// OpenPGP v4 fingerprint, hex.
    @Field(key: "fingerprint") public var fingerprint: String
    @Field(key: "bits") public var bits: Int
    /// Armored public key, as published to the tenant's writers.
    @Field(key: "public_key") public var publicKey: String
    /// AES-256-GCM (nonce, ciphertext, tag) of the unprotected secret key, base64.
    @Field(key: "wrapped_secret") public var wrappedSecret: String
    @Field(key: "kek_id") public var kekID: String
    @Field(key: "state") public var state: State
    @Field(key: "created_at") public var createdAt: Date

    public init() {}

    init(tenantID: UUID, fingerprint: String, bits: Int, publicKey: String, wrappedSecret: String, kekID: String, createdAt: Date) {
        self.tenantID = tenantID
        self.fingerprint = fingerprint
        self.bits = bits
        self.publicKey = publicKey
        self.wrappedSecret = wrappedSecret
        self.kekID = kekID
        self.state = .active
        self.createdAt = createdAt
    }
}
