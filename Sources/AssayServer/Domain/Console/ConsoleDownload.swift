import Foundation

/// What a writer downloads to install a console (CON-5): the bundle alone, or the whole console
/// archive with the bundle in it. Both carry the tenant's GUID and public key and nothing that
/// names the customer or a person; both downloads are audited (SEC-4).
public struct ConsoleDownload: Sendable {
    let reports: PortalReports
    let keyring: TenantKeyring
    let publicURL: String
    let distDirectory: String
    let now: @Sendable () -> Date

    public init(reports: PortalReports, keyring: TenantKeyring, publicURL: String, distDirectory: String, now: @escaping @Sendable () -> Date) {
        self.reports = reports
        self.keyring = keyring
        self.publicURL = publicURL
        self.distDirectory = distDirectory
        self.now = now
    }

    /// `assay-console-bundle/1`, sorted keys: service URL, tenant GUID, public key, fingerprint.
    public func bundle(for session: LiveSession) async throws -> Data {
        let key = try await reports.publicKey(for: session, keyring: keyring)
        let bundle: [String: String] = [
            "format": "assay-console-bundle/1", "serviceURL": publicURL, "tenantID": session.scope.tenantID.lowercased, "publicKey": key.publicKey,
            "fingerprint": key.fingerprint,
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(bundle)
    }

    /// The neutral archive followed by the tenant's part; `ConsoleArchive.Failure.notBuilt` when
    /// the build script has not been run on this server.
    public func archive(for session: LiveSession) async throws -> [UInt8] {
        let directory = URL(fileURLWithPath: distDirectory)
        guard let neutral = FileManager.default.contents(atPath: directory.appendingPathComponent(ConsoleArchive.neutralName).path),
            let sums = FileManager.default.contents(atPath: directory.appendingPathComponent(ConsoleArchive.sumsName).path)
        else { throw ConsoleArchive.Failure.notBuilt(directory: distDirectory) }
        let bundle = Array(try await bundle(for: session))
        let tenantPart = try ConsoleArchive.tenantPart(
            bundle: bundle, neutralSums: String(decoding: sums, as: UTF8.self), bundleSHA256: sha256Hex(bundle), at: now())
        try await reports.catalog.audit.recordView(
            "console.downloaded", by: session, detail: "archive=\(ConsoleArchive.neutralName) bytes=\(neutral.count + tenantPart.count)", at: now())
        return Array(neutral) + tenantPart
    }
}
