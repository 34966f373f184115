import Foundation
import Vapor

enum SessionCookie {
    static let session = "__Host-assay-session"
    static let attempt = "__Host-assay-attempt"

    /// __Host-: Secure, Path=/, no Domain; HttpOnly; SameSite=Lax (AUTH-10).
    static func value(_ token: String, expires: Date?) -> HTTPCookies.Value {
        HTTPCookies.Value(
            string: token, expires: expires, maxAge: nil, domain: nil, path: "/",
            isSecure: true, isHTTPOnly: true, sameSite: .lax)
    }

    static var expired: HTTPCookies.Value {
        HTTPCookies.Value(
            string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, domain: nil, path: "/",
            isSecure: true, isHTTPOnly: true, sameSite: .lax)
    }
}

extension Abort {
    /// 401 that also expires the session cookie: the session was ended on the server (AUTH-7).
    static func signedOut(_ reason: String) -> Abort {
        var headers = HTTPHeaders()
        headers.add(name: .setCookie, value: SessionCookie.expired.serialize(name: SessionCookie.session))
        return Abort(.unauthorized, headers: headers, reason: reason)
    }
}
