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
