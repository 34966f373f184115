import Foundation
import Leaf
import OpenPGP
import Vapor

/// The signed-in portal pages, rendered by Leaf (which escapes every value). Each page declares the
/// claim it needs, takes the tenant from the session only, and carries the session's CSRF token in
/// every form. A visitor without a session is sent to the sign-in page with a local `next` path.
struct PortalPages: Sendable {
    let administration: @Sendable (Request) -> TenantAdministration

    func register(_ app: Application) {
        let pages = app.grouped(SignInRedirect())
        pages.get("dashboard", use: dashboard)
        pages.get("account", use: account)
        pages.grouped(RequireClaim(claim: .read)).get("uploads", use: uploads)
        pages.grouped(RequireClaim(claim: .write)).get("tenant-key.asc", use: publicKey)
        pages.grouped(RequireClaim(claim: .write)).get("console-bundle.json", use: consoleBundle)
        pages.grouped(RequireClaim(claim: .write)).get("assay-console-linux-x86_64.tar.gz", use: consoleArchive)
        let admin = pages.grouped(RequireClaim(claim: .admin))
        admin.get("admin", "users", use: users)
        admin.get("admin", "audit", use: audit)
        admin.get("admin", "consoles", use: consoles)
    }

    /// What the layout needs on every page.
    struct Frame: Encodable {
        let title: String
        let page: String
        let email: String
        let csrf: String
        let isAdmin: Bool
        /// Seconds until the session ends unless it is used: the script warns five minutes ahead.
        let idleSeconds: Int

        init(_ user: AuthenticatedUser, title: String, page: String) {
            self.title = title
            self.page = page
            email = user.email
            csrf = user.csrfToken
            isAdmin = user.claims.contains(.admin)
            idleSeconds = max(0, Int(user.session.idleExpiresAt.timeIntervalSinceNow))
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

    /// One device as the dashboard shows it.
    struct DeviceRow: Encodable {
        let deviceID: String
        let hostname: String
        let os: String
        let cpuThreads: Int
        let memoryGiB: String
        let softwareCount: Int
        let lastSeen: String
        let cpuP95: String

        init(_ device: TenantAggregates.Device) {
            deviceID = device.deviceID
            hostname = device.hostname
            os = device.os
            cpuThreads = device.cpuThreads
            memoryGiB = device.memoryBytes.map { String(format: "%.1f", Double($0) / 1_073_741_824) } ?? ""
            softwareCount = device.softwareCount
            lastSeen = PortalPages.format(device.lastSeen)
            cpuP95 = device.cpuP95Permille.map { String(format: "%.1f %%", Double($0) / 10) } ?? "–"
        }
    }

    struct DashboardPage: Encodable {
        let tenantName: String
        let tenantID: String
        let region: String
        let claimList: String
        let keyLocked: Bool
        let canWrite: Bool
        let devices: [DeviceRow]
        let software: [TenantAggregates.SoftwareCount]
        let connections: [TenantAggregates.ConnectionPair]
        let softwareTotal: Int
        let hasData: Bool
        /// The tenant key's fingerprint in groups of four: what `assay init` shows, to compare.
        let keyFingerprint: String
    }

    func reports(_ request: Request) -> PortalReports {
        PortalReports(
            catalog: request.catalog, tenantDatabases: request.application.ingest.tenantDatabases, cache: request.application.ingest.cache,
            now: request.application.clock)
    }

    func dashboard(_ request: Request) async throws -> View {
        let user = try request.requireUser()
        let dashboard = try await reports(request).dashboard(for: user.session)
        let aggregates = dashboard.aggregates
        let canWrite = user.claims.contains(.write) || user.claims.contains(.admin)
        let fingerprint = canWrite ? ((try? await request.application.keyring().publicKey(tenantID: user.tenantID))?.fingerprint ?? "") : ""
        return try await request.view.render(
            "dashboard",
            Page(
                frame: Frame(user, title: "Dashboard", page: "dashboard"),
                body: DashboardPage(
                    tenantName: dashboard.tenant?.name ?? "", tenantID: user.tenantID.description,
                    region: dashboard.tenant?.region ?? "", claimList: user.claims.sorted().map(\.rawValue).joined(separator: ", "),
                    keyLocked: dashboard.tenant?.keyLockedAt != nil, canWrite: canWrite,
                    devices: (aggregates?.devices ?? []).map(DeviceRow.init), software: Array((aggregates?.software ?? []).prefix(25)),
                    connections: Array((aggregates?.connections ?? []).prefix(25)), softwareTotal: aggregates?.softwareTotal ?? 0,
                    hasData: !(aggregates?.devices.isEmpty ?? true), keyFingerprint: Fingerprint.grouped(fingerprint))))
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
        let rows = try await reports(request).uploads(for: user.session).map { listing in
            let upload = listing.upload
            return UploadRow(
                id: upload.id.uuidString.lowercased(), createdAt: Self.format(upload.createdAt), uploader: listing.uploader,
                size: upload.size, state: upload.state, kind: upload.kind ?? "", device: upload.deviceID ?? "", failure: upload.failure ?? "")
        }
        return try await request.view.render("uploads", Page(frame: Frame(user, title: "Uploads", page: "uploads"), body: UploadsPage(uploads: rows)))
    }

    /// The tenant's published public key, for writers (KEY-1): what the console encrypts to.
    func publicKey(_ request: Request) async throws -> Response {
        let user = try request.requireUser()
        let key = try await reports(request).publicKey(for: user.session, keyring: try request.application.keyring())
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "application", subType: "pgp-keys")
        headers.contentDisposition = .init(.attachment, filename: "assay-tenant-\(user.tenantID.lowercased).asc")
        return Response(status: .ok, headers: headers, body: .init(string: key.publicKey))
    }

    func download(_ request: Request) throws -> ConsoleDownload {
        ConsoleDownload(
            reports: reports(request), keyring: try request.application.keyring(), publicURL: request.application.assayConfiguration.publicURL,
            distDirectory: request.application.assayConfiguration.consoleDistDirectory, now: request.application.clock)
    }

    /// The console's configuration (CON-5): service URL, tenant GUID, public key and fingerprint.
    /// No tenant name, no user name: the file may be copied to any administrator's machine.
    func consoleBundle(_ request: Request) async throws -> Response {
        let user = try request.requireUser()
        var headers = HTTPHeaders()
        headers.contentType = .json
        headers.contentDisposition = .init(.attachment, filename: "assay-console-bundle.json")
        return Response(status: .ok, headers: headers, body: .init(data: try await download(request).bundle(for: user.session)))
    }

    /// The whole console: static `assay` and `assay-bot`, the bundle, a README and SHA256SUMS.
    func consoleArchive(_ request: Request) async throws -> Response {
        let user = try request.requireUser()
        do {
            let archive = try await download(request).archive(for: user.session)
            var headers = HTTPHeaders()
            headers.contentType = HTTPMediaType(type: "application", subType: "gzip")
            headers.contentDisposition = .init(.attachment, filename: "assay-console-linux-x86_64.tar.gz")
            return Response(status: .ok, headers: headers, body: .init(buffer: ByteBuffer(bytes: archive)))
        } catch let failure as ConsoleArchive.Failure {
            request.logger.warning("console download: \(failure)")
            throw Abort(.notFound, reason: failure.description)
        }
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
        let sessions = try await SessionLifecycle(catalog: request.catalog, now: request.application.clock).sessions(of: user.session)
        let rows = sessions.map {
            SessionRow(id: $0.id.uuidString, createdAt: Self.format($0.createdAt), expiresAt: Self.format($0.expiresAt), current: $0.id == user.sessionID)
        }
        return try await request.view.render("account", Page(frame: Frame(user, title: "Account", page: "account"), body: AccountPage(sessions: rows)))
    }

    struct UsersPage: Encodable {
        let users: [AdminController.UserSummary]
        let allClaims: [String]
    }

    func users(_ request: Request) async throws -> View {
        let user = try request.requireUser()
        let users = try await administration(request).users(for: user.session).map { AdminController.UserSummary($0, at: request.application.clock()) }
        return try await request.view.render(
            "admin-users",
            Page(
                frame: Frame(user, title: "Users", page: "admin-users"),
                body: UsersPage(users: users, allClaims: Claim.allCases.map(\.rawValue))))
    }

    struct ConsoleRow: Encodable {
        let familyID: String
        let user: String
        let machine: String
        let signedInAt: String
        let lastRenewedAt: String
        let expiresAt: String
    }

    struct ConsolesPage: Encodable {
        let consoles: [ConsoleRow]
    }

    func consoles(_ request: Request) async throws -> View {
        let user = try request.requireUser()
        let rows = try await administration(request).consoles(for: user.session).map {
            ConsoleRow(
                familyID: $0.familyID.uuidString.lowercased(), user: $0.userEmail, machine: $0.machine, signedInAt: Self.format($0.signedInAt),
                lastRenewedAt: Self.format($0.lastRenewedAt), expiresAt: Self.format($0.expiresAt))
        }
        return try await request.view.render(
            "admin-consoles", Page(frame: Frame(user, title: "Consoles", page: "admin-consoles"), body: ConsolesPage(consoles: rows)))
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
        let limit = 500
        let events = try await administration(request).auditEvents(for: user.session, limit: limit).map {
            AuditRow(sequence: $0.sequence, occurredAt: Self.format($0.occurredAt), actor: $0.actor, action: $0.action, subject: $0.subject, detail: $0.detail)
        }
        return try await request.view.render(
            "admin-audit",
            Page(
                frame: Frame(user, title: "Audit log", page: "admin-audit"),
                body: AuditPage(events: events, truncated: events.count == limit, limit: limit)))
    }

    static func format(_ date: Date) -> String {
        date.formatted(
            Date.ISO8601FormatStyle(dateSeparator: .dash, dateTimeSeparator: .space, timeSeparator: .colon, timeZone: .gmt)
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
            let components = URLComponents(string: next), components.scheme == nil, components.host == nil
        else {
            return fallback
        }
        return next
    }

    /// `page` with `?next=` when the target is not the default one.
    static func page(_ page: String, next: String?) -> String {
        let target = sanitize(next)
        guard target != fallback, let encoded = target.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_")))
        else {
            return page
        }
        return page + "?next=" + encoded
    }
}
