import Foundation
import Vapor

/// State-changing requests must come from our own origin (SEC-2, CSRF): the browser always sends
/// Origin on cross-site POSTs, and a missing or foreign one is refused.
struct OriginCheckMiddleware: AsyncMiddleware {
    let publicURL: String

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard [.POST, .PUT, .PATCH, .DELETE].contains(request.method) else { return try await next.respond(to: request) }
        guard let origin = request.headers.first(name: .origin), Self.origin(of: origin) == Self.origin(of: publicURL) else {
            throw Abort(.forbidden, reason: "cross-origin request refused")
        }
        return try await next.respond(to: request)
    }

    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return nil }
        let port = components.port.map { ":\($0)" } ?? ""
        return "\(scheme)://\(host)\(port)".lowercased()
    }
}
