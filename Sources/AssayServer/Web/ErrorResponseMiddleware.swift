import Foundation
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
            route.path.count == segments.count
                && zip(route.path, segments).allSatisfy { component, segment in
                    switch component {
                    case .constant(let value): value == segment
                    case .parameter: true
                    default: false
                    }
                }
        }.map(\.method)
    }

    static func isUnavailable(_ error: any Error) -> Bool { DatabaseErrors.isUnavailable(error) }
    static func describe(_ error: any Error) -> Logger.Metadata { DatabaseErrors.describe(error) }

    /// A browser asking for a page (not the API) gets a small HTML page instead of JSON.
    static func wantsPage(_ request: Request) -> Bool {
        !request.url.path.hasPrefix("/api/") && request.method == .GET
            && (request.headers.first(name: .accept)?.contains("text/html") ?? false)
    }

    static func page(status: HTTPResponseStatus, reason: String, requestID: String) -> String {
        let escape = { (text: String) in
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(status.code) · Assay</title>
            <link rel="stylesheet" href="/assets/app.css"></head><body>
            <h1>\(status.code) \(escape(status.reasonPhrase))</h1><p>\(escape(reason))</p>
            <p class="muted">Request id <code>\(escape(requestID))</code>: quote it when you ask for help.</p>
            <p><a href="/dashboard">Back to the dashboard</a></p></body></html>
            """
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
            var retryAfter: Int?
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
            } else if let refused = error as? Throttle.Refused {
                status = .tooManyRequests
                reason = refused.description
                retryAfter = refused.retryAfter
            } else if let exceeded = error as? UploadQuota.Exceeded {
                status = .tooManyRequests
                reason = exceeded.description
                retryAfter = exceeded.retryAfter
            } else if let busy = error as? HashingLimiter.Busy {
                status = .serviceUnavailable
                reason = busy.description
                retryAfter = busy.retryAfter
            } else if Self.isUnavailable(error) {
                // Nothing was stored, and the client may simply try again (the console does).
                status = .serviceUnavailable
                reason = "the service is busy or its database is not answering; nothing was stored, try again shortly"
            } else {
                status = .internalServerError
                reason = "internal error"
            }
            if status.code >= 500 {
                request.logger.error("request failed", metadata: Self.describe(error))
            }
            let response = Response(status: status)
            if Self.wantsPage(request) {
                response.headers.contentType = .html
                response.body = .init(string: Self.page(status: status, reason: reason, requestID: request.id))
            } else {
                try response.content.encode(Body(error: reason, requestID: request.id))
            }
            if status == .serviceUnavailable || retryAfter != nil { response.headers.replaceOrAdd(name: .retryAfter, value: "\(retryAfter ?? 5)") }
            // What the error itself says the answer must carry (Retry-After, an expired cookie).
            if let abort = error as? any AbortError {
                for (name, value) in abort.headers { response.headers.replaceOrAdd(name: name, value: value) }
            }
            if !allowed.isEmpty { response.headers.replaceOrAdd(name: .allow, value: allowed.map(\.rawValue).joined(separator: ", ")) }
            response.headers.replaceOrAdd(name: "X-Request-ID", value: request.id)
            return response
        }
    }
}
