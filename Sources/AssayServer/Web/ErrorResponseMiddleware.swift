import Vapor

/// Turns every error into a JSON answer with a request id and a safe reason: never a stack trace,
/// never the text of an unexpected error (which could name a table or a path).
struct ErrorResponseMiddleware: AsyncMiddleware {
    let environment: Environment

    struct Body: Content {
        let error: String
        let requestID: String
    }

    static func methods(for request: Request) -> [HTTPMethod] {
        let segments = request.url.path.split(separator: "/").map(String.init)
        return request.application.routes.all.filter { route in
            route.path.count == segments.count && zip(route.path, segments).allSatisfy { component, segment in
                switch component {
                case .constant(let value): value == segment
                case .parameter: true
                default: false
                }
            }
        }.map(\.method)
    }

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            let response = try await next.respond(to: request)
            response.headers.replaceOrAdd(name: "X-Request-ID", value: request.id)
            return response
        } catch {
            var status: HTTPResponseStatus
            var reason: String
            var allowed: [HTTPMethod] = []
            if let abort = error as? any AbortError, abort.status == .notFound {
                // A path that exists under other methods answers 405 with Allow, not 404.
                // A handler's own 404 (the route exists for this method) stays a 404.
                allowed = Self.methods(for: request)
                if allowed.contains(request.method) { allowed = [] }
                status = allowed.isEmpty ? .notFound : .methodNotAllowed
                reason = allowed.isEmpty ? abort.reason : "method not allowed"
            } else if let abort = error as? any AbortError {
                status = abort.status
                reason = status == .internalServerError ? "internal error" : abort.reason
            } else {
                status = .internalServerError
                reason = "internal error"
            }
            if status.code >= 500 {
                request.logger.error("request failed", metadata: ["error": .string(String(describing: type(of: error)))])
            }
            let response = Response(status: status)
            try response.content.encode(Body(error: reason, requestID: request.id))
            if !allowed.isEmpty { response.headers.replaceOrAdd(name: .allow, value: allowed.map(\.rawValue).joined(separator: ", ")) }
            response.headers.replaceOrAdd(name: "X-Request-ID", value: request.id)
            return response
        }
    }
}
