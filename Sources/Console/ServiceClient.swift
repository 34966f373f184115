import AsyncHTTPClient
import Directory
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// The machine API the console speaks (docs: `GET /api/v1/openapi.json`): console sign-in, code,
/// token renewal, revoke, uploads and upload state. HTTPS with TLS 1.2 at least and the
/// certificate verified (a CA file for a private CA); plain HTTP only to loopback (CON-6).
public final class ServiceClient: Sendable {
    public let endpoint: ServiceEndpoint
    private let http: HTTPClient
    /// The whole of one call, answer body included: a service (or something in its place) that
    /// trickles bytes under the idle timeout is cut off here, and with it any lock held meanwhile.
    public let deadline: Duration

    public init(endpoint: ServiceEndpoint, caFile: String? = nil, deadline: Duration = .seconds(120)) throws {
        self.endpoint = endpoint
        self.deadline = deadline
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else { throw ConsoleError.input("the CA file \(caFile) cannot be read") }
            tls.trustRoots = .file(caFile)
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: .init(connect: .seconds(15), read: .seconds(60)))
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    // MARK: wire types (the OpenAPI document's schemas)

    public struct Credentials: Codable, Sendable {
        public let status: String
        public let grant: String
        public let grantExpiresAt: Date
        public let uploadToken: String
        public let uploadTokenExpiresAt: Date
        public let tenantID: String
        /// The tenant's published key: must be the bundle's (`ServiceBinding`).
        public let keyFingerprint: String
    }

    public enum SignInAnswer: Sendable {
        case signedIn(Credentials)
        case codeSent(attempt: String)
    }

    public enum CodeAnswer: Sendable {
        case signedIn(Credentials)
        case wrongCode(remainingTries: Int)
    }

    public struct UploadState: Codable, Sendable {
        public let id: String
        public let state: String
        public let failure: String?
        public let kind: String?
        public let deviceID: String?
    }

    public enum UploadAnswer: Sendable {
        /// 202 or 200: the service holds the file durably (new, or received before).
        case acknowledged(UploadState)
        /// 429, 503 (and 408, 409, 423, 425): nothing stored; try again after the delay (0: back off).
        case retryLater(seconds: Int, reason: String)
        /// 401: the token is not (or no longer) valid.
        case unauthorized(String)
        /// Any other 4xx: the service will never take this file.
        case refused(status: Int, reason: String)
    }

    struct ErrorBody: Decodable {
        let error: String?
        let reason: String?
        let status: String?
        let remainingTries: String?
    }

    /// The operations of the machine API the console calls: each is checked against the OpenAPI
    /// document (`ServiceContractTests`), paths, methods, the fields sent and the fields read.
    public enum Operation: String, CaseIterable, Sendable {
        case signIn = "/api/v1/console/sign-in"
        case code = "/api/v1/console/code"
        case token = "/api/v1/console/token"
        case revoke = "/api/v1/console/revoke"
        case upload = "/api/v1/uploads"
        case uploadState = "/api/v1/uploads/{uploadID}"

        public var method: String { self == .uploadState ? "get" : "post" }

        /// The JSON fields the console sends (nil: the body is not JSON, or there is none).
        public var fields: Set<String>? {
            switch self {
            case .signIn: ["email", "password", "machineID"]
            case .code: ["attempt", "code", "machineID"]
            case .token: ["grant", "machineID"]
            case .revoke: ["grant"]
            case .upload, .uploadState: nil
            }
        }
    }

    // MARK: calls

    public func signIn(email: String, password: String, machineID: String) async throws -> SignInAnswer {
        let response = try await post(.signIn, json: ["email": email, "password": password, "machineID": machineID])
        switch response.status {
        case 200: return .signedIn(try decode(Credentials.self, response))
        case 202:
            struct Sent: Decodable { let attempt: String }
            return .codeSent(attempt: try decode(Sent.self, response).attempt)
        default: throw failure(response, doing: "sign-in")
        }
    }

    public func code(attempt: String, code: String, machineID: String) async throws -> CodeAnswer {
        let response = try await post(.code, json: ["attempt": attempt, "code": code, "machineID": machineID])
        switch response.status {
        case 200: return .signedIn(try decode(Credentials.self, response))
        case 401:
            let body = try? JSONDecoder().decode(ErrorBody.self, from: response.body)
            if body?.status == "wrong-code" { return .wrongCode(remainingTries: Int(body?.remainingTries ?? "") ?? 0) }
            throw failure(response, doing: "the code")
        default: throw failure(response, doing: "the code")
        }
    }

    public func renew(grant: String, machineID: String) async throws -> Credentials {
        let response = try await post(.token, json: ["grant": grant, "machineID": machineID])
        guard response.status == 200 else {
            if response.status == 401 {
                throw ConsoleError.notSignedIn("the service no longer accepts this console's sign-in (\(reason(response))): run `assay login`")
            }
            throw failure(response, doing: "renewing the upload token")
        }
        return try decode(Credentials.self, response)
    }

    public func revoke(grant: String) async throws {
        let response = try await post(.revoke, json: ["grant": grant])
        guard response.status == 204 || response.status == 200 else { throw failure(response, doing: "sign-out") }
    }

    public func upload(_ body: Data, sha256: String, token: String) async throws -> UploadAnswer {
        var request = HTTPClientRequest(url: endpoint.base.absoluteString + Operation.upload.rawValue)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "X-Content-SHA256", value: sha256)
        request.headers.add(name: "Content-Type", value: "application/pgp-encrypted")
        request.body = .bytes(ByteBuffer(data: body))
        let response = try await execute(request)
        switch response.status {
        case 200, 202: return .acknowledged(try decode(UploadState.self, response))
        case 429, 503: return .retryLater(seconds: response.retryAfter ?? 30, reason: reason(response))
        // Answers that say "not now" rather than "never": a request timeout, a conflict with an
        // upload in progress, the tenant's key locked by an operator, too early. Retried with
        // back-off (or as Retry-After says), never moved to rejected/.
        case 408, 409, 423, 425: return .retryLater(seconds: response.retryAfter ?? 0, reason: "HTTP \(response.status): \(reason(response))")
        case 401: return .unauthorized(reason(response))
        case 400..<500: return .refused(status: response.status, reason: reason(response))
        default: return .retryLater(seconds: 30, reason: "the service answered \(response.status)")
        }
    }

    public func uploadState(id: String, token: String) async throws -> UploadState {
        guard UUID(uuidString: id) != nil else { throw ConsoleError.usage("\(id.prefix(40)) is not an upload id") }
        var request = HTTPClientRequest(url: endpoint.base.absoluteString + Operation.uploadState.rawValue.replacingOccurrences(of: "{uploadID}", with: id))
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await execute(request)
        guard response.status == 200 else { throw failure(response, doing: "reading an upload's state") }
        return try decode(UploadState.self, response)
    }

    // MARK: plumbing

    struct Response: Sendable {
        let status: Int
        let body: Data
        let retryAfter: Int?
    }

    private func post(_ operation: Operation, json: [String: String]) async throws -> Response {
        assert(operation.fields == Set(json.keys), "\(operation) sends the fields it declares")
        var request = HTTPClientRequest(url: endpoint.base.absoluteString + operation.rawValue)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(json)))
        return try await execute(request)
    }

    private func execute(_ request: HTTPClientRequest) async throws -> Response {
        var request = request
        request.headers.replaceOrAdd(name: "User-Agent", value: "assay-console/\(ConsoleVersion.current)")
        let http = self.http
        let deadline = self.deadline
        let prepared = request
        let target = String(request.url.prefix(200))
        let seconds = TimeAmount.seconds(deadline.components.seconds)
        do {
            return try await withDeadline(deadline) {
                let response = try await http.execute(prepared, timeout: seconds)
                let body = try await response.body.collect(upTo: 1 << 20)
                let retry = response.headers.first(name: "Retry-After").flatMap { Int($0) }.map { min(max($0, 1), 3600) }
                return Response(status: Int(response.status.code), body: Data(buffer: body), retryAfter: retry)
            } expired: {
                throw ConsoleError.service("\(target) gave no complete answer within \(deadline.components.seconds) s (assay settings --service-deadline)")
            }
        } catch let error as NIOSSLError {
            throw ConsoleError.service("TLS with \(endpoint.base.host ?? "the service") failed: \(error) (a private CA? give it with --ca-file)")
        } catch let error as HTTPClientError {
            throw ConsoleError.service("cannot reach \(endpoint.base.absoluteString): \(error)")
        } catch let error as ConsoleError {
            throw error
        } catch {
            throw ConsoleError.service("cannot reach \(endpoint.base.absoluteString): \(error)")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ response: Response) throws -> T {
        do { return try JSONDecoder.console.decode(type, from: response.body) } catch {
            throw ConsoleError.service("the service's answer (\(response.status)) is not what the API describes")
        }
    }

    private func reason(_ response: Response) -> String {
        let body = try? JSONDecoder().decode(ErrorBody.self, from: response.body)
        return TerminalText.clean((body?.error ?? body?.reason ?? "HTTP \(response.status)").prefix(300))
    }

    private func failure(_ response: Response, doing what: String) -> ConsoleError {
        switch response.status {
        case 429, 503: .service("\(what): the service asks to wait \(response.retryAfter ?? 30) s and try again (\(reason(response)))")
        case 401, 403, 410: .refused("\(what) refused: \(reason(response))")
        default: .service("\(what): the service answered \(response.status): \(reason(response))")
        }
    }
}

public enum ConsoleVersion {
    public static let current = "0.7.0"
}
