import Foundation

/// SEC-5: per tenant, how many uploads a minute and how many bytes a day it may send. Counted in
/// the catalog (both counters in one statement per upload), so the limits hold across replicas.
struct UploadQuota: Sendable {
    let catalog: Catalog
    let limits: Limits
    let now: @Sendable () -> Date

    public struct Limits: Sendable {
        public var uploadsPerMinute: Int
        public var bytesPerDay: Int

        public init(uploadsPerMinute: Int, bytesPerDay: Int) {
            self.uploadsPerMinute = uploadsPerMinute
            self.bytesPerDay = bytesPerDay
        }
    }

    /// Over the tenant's quota: try again after `retryAfter` seconds.
    public struct Exceeded: Error, Equatable, CustomStringConvertible {
        public let retryAfter: Int
        public let what: String
        public var description: String { "this tenant's \(what) quota is used up: try again in \(retryAfter) seconds" }
    }

    /// Counts one upload of `bytes` for the tenant; throws `Exceeded` past either limit (the
    /// first upload past a limit in its window is audited).
    func admit(_ tenant: TenantID, bytes: Int) async throws {
        let time = now()
        let minute = Int(time.timeIntervalSince1970 / 60)
        let day = Int(time.timeIntervalSince1970 / 86_400)
        let (uploadsKey, bytesKey) = ("uploads:\(tenant.lowercased):\(minute)", "upload-bytes:\(tenant.lowercased):\(day)")
        let totals = try await catalog.throttles.add([
            (uploadsKey, 1, Date(timeIntervalSince1970: TimeInterval(minute + 1) * 60)),
            (bytesKey, bytes, Date(timeIntervalSince1970: TimeInterval(day + 1) * 86_400)),
        ])
        let uploads = totals[uploadsKey] ?? 1
        let volume = totals[bytesKey] ?? bytes
        if uploads > limits.uploadsPerMinute {
            if uploads == limits.uploadsPerMinute + 1 { try await audit(tenant, "more than \(limits.uploadsPerMinute) uploads in a minute", at: time) }
            throw Exceeded(retryAfter: max(1, (minute + 1) * 60 - Int(time.timeIntervalSince1970)), what: "uploads a minute")
        }
        if volume > limits.bytesPerDay {
            if volume - bytes <= limits.bytesPerDay { try await audit(tenant, "more than \(limits.bytesPerDay) bytes in a day (UTC)", at: time) }
            throw Exceeded(retryAfter: max(1, (day + 1) * 86_400 - Int(time.timeIntervalSince1970)), what: "bytes a day")
        }
    }

    private func audit(_ tenant: TenantID, _ detail: String, at time: Date) async throws {
        try await catalog.audit.append(
            tenantID: tenant, actor: "tenant:\(tenant)", action: "security.upload-quota-exceeded", subject: "tenant:\(tenant)", detail: detail, at: time)
    }
}
