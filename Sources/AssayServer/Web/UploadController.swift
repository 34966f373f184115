import Foundation
import Vapor

extension Request {
    private struct UploadPrincipalKey: StorageKey { typealias Value = AuthenticatedUploadToken }
    /// Who the upload token speaks for. Only `UploadTokenMiddleware` sets it, and only the upload
    /// routes read it: the token opens nothing else (CON-3).
    var uploadPrincipal: AuthenticatedUploadToken? {
        get { storage[UploadPrincipalKey.self] }
        set { storage[UploadPrincipalKey.self] = newValue }
    }
}

/// `Authorization: Bearer asu_…` on the upload routes; nothing else is looked at (no cookie).
struct UploadTokenMiddleware: AsyncMiddleware {
    let trustedProxies: [String]
    /// Unknown tokens per client: a guesser raises a security event and is slowed down.
    let guesses: TokenGuessCounter
    let now: @Sendable () -> Date

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let bearer = request.headers.bearerAuthorization?.token,
            let token = try await ConsoleCredentials(catalog: request.catalog, now: now).authenticate(uploadToken: bearer)
        else {
            try await guesses.unknownToken(
                from: request.clientAddress(trustedProxies: trustedProxies), at: now(), catalog: request.catalog, logger: request.logger)
            let response = Response(status: .unauthorized)
            response.headers.replaceOrAdd(name: .wwwAuthenticate, value: "Bearer")
            try response.content.encode(ErrorResponseMiddleware.Body(error: "an upload token is needed (Authorization: Bearer asu_…)", requestID: request.id))
            return response
        }
        request.uploadPrincipal = token
        return try await next.respond(to: request)
    }
}

/// ING-1: `POST /api/v1/uploads` stores the encrypted body durably (spool fsync, then the queue row),
/// then answers 202 with the upload id; the same SHA-256 again answers the same id.
struct UploadController: Sendable {
    let intake: UploadIntake
    let maxBytes: Int
    let quota: UploadQuota.Limits
    let trustedProxies: [String]
    let now: @Sendable () -> Date
    private let guesses = TokenGuessCounter(action: "security.upload-token-guessing")

    static let digestHeader = "X-Content-SHA256"

    func register(_ routes: any RoutesBuilder) {
        let uploads = routes.grouped("uploads").grouped(UploadTokenMiddleware(trustedProxies: trustedProxies, guesses: guesses, now: now))
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
            declared.count == 64, declared.allSatisfy(\.isHexDigit)
        else {
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
        // Durable first: the body is on disk (fsynced) before the queue row exists, and the queue
        // row exists before the client hears 202. Concurrent uploads share the syncs (group commit).
        let answer: UploadReception.Answer
        do {
            answer = try await UploadReception(catalog: request.catalog, intake: intake, quota: quota, now: now).receive(bytes, sha256: digest, from: principal)
        } catch let refusal as UploadReception.Refusal {
            switch refusal {
            case .tenantNotAccepting: throw Abort(.forbidden, reason: "this tenant does not accept uploads")
            case .keyLocked: throw Abort(.locked, reason: "ingestion for this tenant is stopped (its key is locked); an operator has been alerted")
            case .vanished: throw Abort(.conflict)
            }
        }
        switch answer {
        case .accepted(let id): return try await Accepted(id: id, state: "queued").encodeResponse(status: .accepted, for: request)
        case .repeated(let existing): return try await Accepted(existing).encodeResponse(status: .ok, for: request)
        }
    }

    func status(_ request: Request) async throws -> Accepted {
        guard let principal = request.uploadPrincipal else { throw Abort(.unauthorized) }
        guard let id = request.parameters.get("uploadID", as: UUID.self),
            let upload = try await UploadReception(catalog: request.catalog, intake: intake, quota: quota, now: now).status(of: id, for: principal)
        else {
            throw Abort(.notFound)
        }
        return Accepted(upload)
    }
    /// RFC 4880 §4.2: a binary packet starts with bit 7 set; or the armor header.
    static func looksLikeOpenPGP(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first else { return false }
        return first & 0x80 != 0 || bytes.starts(with: Array("-----BEGIN PGP MESSAGE-----".utf8))
    }
}

extension UploadController.Accepted {
    init(_ upload: UploadSummary) {
        self.init(id: upload.id, state: upload.state, failure: upload.failure, kind: upload.kind, deviceID: upload.deviceID)
    }
}
