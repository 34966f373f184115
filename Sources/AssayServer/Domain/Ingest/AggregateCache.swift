import Foundation

/// What the portal's dashboard shows of one tenant (ING-3), as values: the web tier formats them.
public struct TenantAggregates: Sendable {
    public struct Device: Sendable {
        let deviceID: String
        let hostname: String
        let os: String
        let cpuThreads: Int
        let memoryBytes: Int64?
        let softwareCount: Int
        let lastSeen: Date
        /// The 95th percentile of CPU use on the device's latest day, in tenths of a percent.
        let cpuP95Permille: Int64?
    }
    public struct SoftwareCount: Sendable, Encodable {
        let name: String
        let version: String
        let devices: Int
    }
    public struct ConnectionPair: Sendable, Encodable {
        let process: String
        let direction: String
        let remote: String
        let devices: Int
        let observations: Int64
        let database: Bool
    }
    let devices: [Device]
    let software: [SoftwareCount]
    let connections: [ConnectionPair]
    let softwareTotal: Int
}

/// Hot aggregates of one tenant for the portal (ING-3): computed on first read from the tenant
/// database, kept in memory, and dropped whenever a worker lands new data for that tenant.
public actor AggregateCache {
    private var entries: [TenantID: TenantAggregates] = [:]

    public init() {}

    public func invalidate(_ tenantID: TenantID) {
        entries[tenantID] = nil
    }

    /// The scope's aggregates, from the cache or else from its tenant database.
    func aggregates(for scope: TenantScope, compute: @Sendable () async throws -> TenantAggregates) async throws -> TenantAggregates {
        if let cached = entries[scope.tenantID] { return cached }
        let fresh = try await compute()
        entries[scope.tenantID] = fresh
        return fresh
    }
}
