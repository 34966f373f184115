import Crypto
import Fluent
import SQLKit
import Foundation
import Vapor

/// Who an upload token speaks for. Only `UploadTokenMiddleware` makes one, and only the upload
/// routes read it: the token opens nothing else (CON-3).
struct UploadPrincipal: Sendable {
    let tenantID: UUID
    let userID: UUID?
    let familyID: UUID
    let tenantActive: Bool
    let keyLocked: Bool
}

extension Request {
    private struct UploadPrincipalKey: StorageKey { typealias Value = UploadPrincipal }
    var uploadPrincipal: UploadPrincipal? {
        get { storage[UploadPrincipalKey.self] }
        set { storage[UploadPrincipalKey.self] = newValue }
    }
}

/// `Authorization: Bearer asu_…` on the upload routes; nothing else is looked at (no cookie).
struct UploadTokenMiddleware: AsyncMiddleware {
    let now: @Sendable () -> Date

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let bearer = request.headers.bearerAuthorization?.token,
              let token = try await ConsoleCredentials(database: request.db, now: now).authenticate(uploadToken: bearer) else {
            let response = Response(status: .unauthorized)
            response.headers.replaceOrAdd(name: .wwwAuthenticate, value: "Bearer")
            try response.content.encode(ErrorResponseMiddleware.Body(error: "an upload token is needed (Authorization: Bearer asu_…)", requestID: request.id))
            return response
        }
        request.uploadPrincipal = UploadPrincipal(tenantID: token.tenantID, userID: token.userID, familyID: token.familyID,
                                                  tenantActive: token.tenantActive, keyLocked: token.keyLocked)
        return try await next.respond(to: request)
    }
}

/// ING-1: `POST /api/v1/uploads` stores the encrypted body durably (spool fsync, then the queue row),
/// then answers 202 with the upload id; the same SHA-256 again answers the same id.
struct UploadController: Sendable {
    let intake: UploadIntake
    let maxBytes: Int
    let now: @Sendable () -> Date

    static let digestHeader = "X-Content-SHA256"

    func register(_ routes: any RoutesBuilder) {
        let uploads = routes.grouped("uploads").grouped(UploadTokenMiddleware(now: now))
        uploads.on(.POST, body: .collect(maxSize: ByteCount(value: maxBytes)), use: upload)
        uploads.get(":uploadID", use: status)
    }

    struct Accepted: Content {
        let id: UUID
        let state: String
        var failure: String?
        var kind: String?
        var deviceID: String?
    }

    func upload(_ request: Request) async throws -> Response {
        guard let principal = request.uploadPrincipal else { throw Abort(.unauthorized) }
        guard let declared = request.headers.first(name: Self.digestHeader)?.lowercased(),
              declared.count == 64, declared.allSatisfy(\.isHexDigit) else {
            throw Abort(.badRequest, reason: "\(Self.digestHeader) must carry the body's SHA-256 in hex (the idempotency key)")
        }
        guard let body = request.body.data, body.readableBytes > 0 else { throw Abort(.badRequest, reason: "the body is empty") }
        guard body.readableBytes <= maxBytes else { throw Abort(.payloadTooLarge, reason: "an upload may have \(maxBytes) bytes at most") }
        let bytes = Array(body.readableBytesView)
        let digest = sha256Hex(Data(bytes))
        guard digest == declared else { throw Abort(.badRequest, reason: "the body's SHA-256 is not the one in \(Self.digestHeader)") }
        guard Self.looksLikeOpenPGP(bytes) else {
            throw Abort(.unsupportedMediaType, reason: "the body is not an OpenPGP message encrypted to the tenant's key")
        }
        guard let sql = request.db as? any SQLDatabase else { throw Abort(.internalServerError) }
        // A tenant that takes no uploads still answers a repeat of one it took (the console may
        // not have heard the first answer); an accepting tenant's repeats are found by the insert.
        if !principal.tenantActive || principal.keyLocked {
            if let existing = try await existing(tenantID: principal.tenantID, sha256: digest, on: sql) {
                return try await existing.encodeResponse(status: .ok, for: request)
            }
            guard principal.tenantActive else { throw Abort(.forbidden, reason: "this tenant does not accept uploads") }
            throw Abort(.locked, reason: "ingestion for this tenant is stopped (its key is locked); an operator has been alerted")
        }
        // Durable first: the body is on disk (fsynced) before the queue row exists, and the queue
        // row exists before the client hears 202. Concurrent uploads share the syncs (group commit).
        let receipt = try await intake.submit(UploadIntake.Submission(
            tenantID: principal.tenantID, userID: principal.userID, sha256: digest, bytes: bytes,
            spoolKey: "\(principal.tenantID.uuidString.lowercased())/\(digest)"))
        switch receipt {
        case .accepted(let id):
            return try await Accepted(id: id, state: Upload.State.queued.rawValue).encodeResponse(status: .accepted, for: request)
        case .duplicate:
            guard let existing = try await existing(tenantID: principal.tenantID, sha256: digest, on: sql) else { throw Abort(.conflict) }
            return try await existing.encodeResponse(status: .ok, for: request)
        }
    }

    func existing(tenantID: UUID, sha256: String, on sql: any SQLDatabase) async throws -> Accepted? {
        guard let row = try await sql.select().columns("id", "state", "failure", "kind", "device_id").from(Upload.schema)
            .where("tenant_id", .equal, SQLBind(tenantID)).where("sha256", .equal, SQLBind(sha256)).first() else { return nil }
        return Accepted(id: try row.decode(column: "id", as: UUID.self), state: try row.decode(column: "state", as: String.self),
                        failure: try row.decode(column: "failure", as: String?.self), kind: try row.decode(column: "kind", as: String?.self),
                        deviceID: try row.decode(column: "device_id", as: String?.self))
    }

    func status(_ request: Request) async throws -> Accepted {
        guard let principal = request.uploadPrincipal else { throw Abort(.unauthorized) }
        guard let id = request.parameters.get("uploadID", as: UUID.self),
              let upload = try await Upload.query(on: request.db).filter(\.$id == id).filter(\.$tenantID == principal.tenantID).first() else {
            throw Abort(.notFound)
        }
        return Accepted(id: id, state: upload.state.rawValue, failure: upload.failure, kind: upload.kind, deviceID: upload.deviceID)
    }

    /// RFC 4880 §4.2: a binary packet starts with bit 7 set; or the armor header.
    static func looksLikeOpenPGP(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first else { return false }
        return first & 0x80 != 0 || bytes.starts(with: Array("-----BEGIN PGP MESSAGE-----".utf8))
    }
}
