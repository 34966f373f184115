import Fluent
import Foundation
import Leaf
import Vapor

/// The signed-in portal pages, rendered by Leaf (which escapes every value). Each page declares the
/// claim it needs, takes the tenant from the session only, and carries the session's CSRF token in
/// every form. A visitor without a session is sent to the sign-in page with a local `next` path.
struct PortalPages: Sendable {
    func register(_ app: Application) {
        let pages = app.grouped(SignInRedirect())
        pages.get("dashboard", use: dashboard)
        pages.get("account", use: account)
        pages.grouped(RequireClaim(claim: .read)).get("uploads", use: uploads)
        pages.grouped(RequireClaim(claim: .write)).get("tenant-key.asc", use: publicKey)
        let admin = pages.grouped(RequireClaim(claim: .admin))
        admin.get("admin", "users", use: users)
        admin.get("admin", "audit", use: audit)
    }

    /// What the layout needs on every page.
    struct Frame: Encodable {
        let title: String
        let page: String
        let email: String
        let csrf: String
        let isAdmin: Bool

        init(_ user: AuthenticatedUser, title: String, page: String) {
            self.title = title
            self.page = page
            email = user.email
            csrf = user.csrfToken
            isAdmin = user.claims.contains(.admin)
        }
    }

    /// A page's context: the layout's frame and the page's own values side by side at the top level.
    struct Page<Body: Encodable>: Encodable {
        let frame: Frame
        let body: Body

        func encode(to encoder: any Encoder) throws {
            try frame.encode(to: encoder)
            try body.encode(to: encoder)
        }
    }

    struct DashboardPage: Encodable {
        let tenantName: String
        let tenantID: String
        let region: String
        let claimList: String
        let keyLocked: Bool
        let canWrite: Bool
        let aggregates: AggregateCache.TenantAggregates?

        enum CodingKeys: CodingKey { case tenantName, tenantID, region, claimList, keyLocked, canWrite, devices, software, connections, softwareTotal, hasData }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(tenantName, forKey: .tenantName)
            try container.encode(tenantID, forKey: .tenantID)
            try container.encode(region, forKey: .region)
            try container.encode(claimList, forKey: .claimList)
            try container.encode(keyLocked, forKey: .keyLocked)
            try container.encode(canWrite, forKey: .canWrite)
            try container.encode(aggregates?.devices ?? [], forKey: .devices)
            try container.encode(Array((aggregates?.software ?? []).prefix(25)), forKey: .software)
            try container.encode(Array((aggregates?.connections ?? []).prefix(25)), forKey: .connections)
            try container.encode(aggregates?.softwareTotal ?? 0, forKey: .softwareTotal)
            try container.encode(!(aggregates?.devices.isEmpty ?? true), forKey: .hasData)
        }
    }

    func dashboard(_ request: Request) async throws -> View {
        let user = try request.requireUser()
        let scope = try request.requireTenant()
        let tenant = try await Tenant.find(scope.tenantID, on: request.db)
        var aggregates: AggregateCache.TenantAggregates?
        if user.claims.contains(.read) || user.claims.contains(.admin) {
            let tenantDatabase = try await request.application.ingest.tenantDatabases.database(for: scope, catalog: request.db)
            aggregates = try await request.application.ingest.cache.aggregates(for: scope.tenantID) { try await AggregateCache.compute(on: tenantDatabase) }
            try await request.recordTenantView("inventory.viewed", detail: "dashboard")
        }
        return try await request.view.render("dashboard", Page(frame: Frame(user, title: "Dashboard", page: "dashboard"), body: DashboardPage(
            tenantName: tenant?.name ?? "", tenantID: scope.tenantID.uuidString,
            region: tenant?.region ?? "", claimList: user.claims.sorted().map(\.rawValue).joined(separator: ", "),
            keyLocked: tenant?.keyLockedAt != nil, canWrite: user.claims.contains(.write) || user.claims.contains(.admin), aggregates: aggregates)))
    }

    struct UploadRow: Encodable {
        let id: String
        let createdAt: String
        let uploader: String
        let size: Int64
        let state: String
        let kind: String
        let device: String
        let failure: String
    }

    struct UploadsPage: Encodable {
        let uploads: [UploadRow]
    }

    /// Who uploaded what, when, and what became of it.
    func uploads(_ request: Request) async throws -> View {
        let user = try request.requireUser()
        let scope = try request.requireTenant()
        let uploads = try await Upload.query(on: request.db).filter(\.$tenantID == scope.tenantID).sort(\.$createdAt, .descending).limit(500).all()
        let users = try await User.query(on: request.db).filter(\.$tenant.$id == scope.tenantID).all()
        let emails = Dictionary(users.compactMap { user in user.id.map { ($0, user.email) } }, uniquingKeysWith: { first, _ in first })
        let rows = try uploads.map {
            UploadRow(id: try $0.requireID().uuidString.lowercased(), createdAt: Self.format($0.createdAt), uploader: $0.userID.flatMap { emails[$0] } ?? "operator",
                      size: $0.size, state: $0.state.rawValue, kind: $0.kind ?? "", device: $0.deviceID ?? "", failure: $0.failure ?? "")
        }
        try await request.recordTenantView("uploads.viewed")
        return try await request.view.render("uploads", Page(frame: Frame(user, title: "Uploads", page: "uploads"), body: UploadsPage(uploads: rows)))
    }

    /// The tenant's published public key, for writers (KEY-1): what the console encrypts to.
    func publicKey(_ request: Request) async throws -> Response {
        let user = try request.requireUser()
        let scope = try request.requireTenant()
        let key = try await request.application.keyring().publicKey(tenantID: scope.tenantID)
        try await request.recordTenantView("key.public.downloaded", detail: "fingerprint=\(key.fingerprint)")
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "application", subType: "pgp-keys")
        headers.contentDisposition = .init(.attachment, filename: "assay-tenant-\(scope.tenantID.uuidString.lowercased()).asc")
        return Response(status: .ok, headers: headers, body: .init(string: key.publicKey))
    }

    struct SessionRow: Encodable {
        let id: String
        let createdAt: String
        let expiresAt: String
        let current: Bool
    }

    struct AccountPage: Encodable {
        let sessions: [SessionRow]
    }

    func account(_ request: Request) async throws -> View {
        let user = try request.requireUser()
        let sessions = try await Session.query(on: request.db).filter(\.$user.$id == user.userID).sort(\.$createdAt, .descending).all()
        let rows = try sessions.map {
            SessionRow(id: try $0.requireID().uuidString, createdAt: Self.format($0.createdAt), expiresAt: Self.format($0.expiresAt),
                       current: try $0.requireID() == user.sessionID)
        }
        return try await request.view.render("account", Page(frame: Frame(user, title: "Account", page: "account"), body: AccountPage(sessions: rows)))
    }

    struct UsersPage: Encodable {
        let users: [AdminController.UserSummary]
        let allClaims: [String]
    }

    func users(_ request: Request) async throws -> View {
        let user = try request.requireUser()
        let scope = try request.requireTenant()
        try await request.recordTenantView("users.viewed")
        let users = try await AdminController.userSummaries(of: scope, on: request.db)
        return try await request.view.render("admin-users", Page(frame: Frame(user, title: "Users", page: "admin-users"),
                                                                 body: UsersPage(users: users, allClaims: Claim.allCases.map(\.rawValue))))
    }

    struct AuditRow: Encodable {
        let sequence: Int64
        let occurredAt: String
        let actor: String
        let action: String
        let subject: String
        let detail: String
    }

    struct AuditPage: Encodable {
        let events: [AuditRow]
        let truncated: Bool
        let limit: Int
    }

    func audit(_ request: Request) async throws -> View {
        let user = try request.requireUser()
        let scope = try request.requireTenant()
        let limit = 500
        try await request.recordTenantView("audit.viewed")
        let events = try await AuditLog(database: request.db).events(tenantID: scope.tenantID, limit: limit).map {
            AuditRow(sequence: $0.sequence, occurredAt: Self.format($0.occurredAt), actor: $0.actor, action: $0.action, subject: $0.subject, detail: $0.detail)
        }
        return try await request.view.render("admin-audit", Page(frame: Frame(user, title: "Audit log", page: "admin-audit"),
                                                                 body: AuditPage(events: events, truncated: events.count == limit, limit: limit)))
    }

    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(dateSeparator: .dash, dateTimeSeparator: .space, timeSeparator: .colon, timeZone: .gmt)
            .year().month().day().time(includingFractionalSeconds: false))
    }
}

/// Pages (not the API) send a visitor without a session to the sign-in page, remembering where
/// they were going as a local path.
struct SignInRedirect: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard request.auth.has(AuthenticatedUser.self) else {
            return request.redirect(to: LocalRedirect.page("/signin", next: request.url.path))
        }
        return try await next.respond(to: request)
    }
}

/// Where to go after signing in: only a path on this site. Anything that a browser could read as
/// another origin ("//evil", "/\evil", "https://…", control characters) becomes the dashboard.
enum LocalRedirect {
    static let fallback = "/dashboard"

    static func sanitize(_ next: String?) -> String {
        guard let next, next.utf8.count <= 512, next.hasPrefix("/"), !next.hasPrefix("//"), !next.hasPrefix("/\\"),
              !next.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F || $0 == "\\" }),
              let components = URLComponents(string: next), components.scheme == nil, components.host == nil else {
            return fallback
        }
        return next
    }

    /// `page` with `?next=` when the target is not the default one.
    static func page(_ page: String, next: String?) -> String {
        let target = sanitize(next)
        guard target != fallback, let encoded = target.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_"))) else {
            return page
        }
        return page + "?next=" + encoded
    }
}
