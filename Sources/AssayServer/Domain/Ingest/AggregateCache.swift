import Fluent
import Foundation
import SQLKit

/// Hot aggregates of one tenant for the portal (ING-3): devices, software by product and version,
/// connection pairs by process. Computed on first read from the tenant database, kept in memory,
/// and dropped whenever a worker lands new data for that tenant.
public actor AggregateCache {
    public struct TenantAggregates: Sendable, Encodable {
        public struct Device: Sendable, Encodable {
            let deviceID: String
            let hostname: String
            let os: String
            let cpuThreads: Int
            let memoryGiB: String
            let softwareCount: Int
            let lastSeen: String
            let cpuP95: String
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

    private var entries: [UUID: TenantAggregates] = [:]

    public init() {}

    public func invalidate(_ tenantID: UUID) {
        entries[tenantID] = nil
    }

    public func aggregates(for tenantID: UUID, compute: @Sendable () async throws -> TenantAggregates) async throws -> TenantAggregates {
        if let cached = entries[tenantID] { return cached }
        let fresh = try await compute()
        entries[tenantID] = fresh
        return fresh
    }

    static func compute(on database: any Database) async throws -> TenantAggregates {
        let sql = database as! any SQLDatabase
        let deviceRows = try await sql.select().columns("device_id", "hostname", "os", "cpu_threads", "memory_bytes", "software_count", "last_seen")
            .from("devices").orderBy("hostname").limit(1000).all()
        // The CPU p95 of each device's latest day, in one query rather than one per device.
        let latestCPU = try await sql.raw("""
            SELECT d.device_id, d.p95 FROM daily_usage d
            WHERE d.metric = 'cpu' AND d.day = (SELECT MAX(day) FROM daily_usage l WHERE l.device_id = d.device_id AND l.metric = 'cpu')
            """).all()
        var cpuByDevice: [String: Int64] = [:]
        for row in latestCPU { cpuByDevice[try row.decode(column: "device_id", as: String.self)] = try row.decode(column: "p95", as: Int64.self) }
        var devices: [TenantAggregates.Device] = []
        for row in deviceRows {
            let id = try row.decode(column: "device_id", as: String.self)
            let memory: Int64? = (try? row.decode(column: "memory_bytes", as: Int64?.self)) ?? nil
            let lastSeen: Int64 = try row.decode(column: "last_seen", as: Int64.self)
            let os: String = ((try? row.decode(column: "os", as: String?.self)) ?? nil) ?? ""
            let threads: Int = ((try? row.decode(column: "cpu_threads", as: Int?.self)) ?? nil) ?? 0
            let softwareCount: Int = ((try? row.decode(column: "software_count", as: Int?.self)) ?? nil) ?? 0
            var cpuP95 = "–"
            if let cpu = cpuByDevice[id] { cpuP95 = String(format: "%.1f %%", Double(cpu) / 10) }
            let memoryText = memory.map { String(format: "%.1f", Double($0) / 1_073_741_824) } ?? ""
            let hostname: String = try row.decode(column: "hostname", as: String.self)
            devices.append(TenantAggregates.Device(deviceID: id, hostname: hostname, os: os, cpuThreads: threads, memoryGiB: memoryText,
                                                   softwareCount: softwareCount, lastSeen: PortalPages.format(Date(timeIntervalSince1970: TimeInterval(lastSeen))),
                                                   cpuP95: cpuP95))
        }
        let software = try await sql.raw("""
            SELECT name, version, COUNT(DISTINCT device_id) AS devices FROM software GROUP BY name, version ORDER BY devices DESC, name LIMIT 200
            """).all().map { row in
            TenantAggregates.SoftwareCount(name: try row.decode(column: "name", as: String.self), version: try row.decode(column: "version", as: String.self),
                                           devices: try row.decode(column: "devices", as: Int.self))
        }
        let total = try await sql.raw("SELECT COUNT(*) AS n FROM software").first()?.decode(column: "n", as: Int.self) ?? 0
        let connections = try await sql.raw("""
            SELECT process, direction, remote_address, remote_port, MAX(CASE WHEN is_database THEN 1 ELSE 0 END) AS db,
                   COUNT(DISTINCT device_id) AS devices, CAST(SUM(observations) AS BIGINT) AS observations
            FROM connections GROUP BY process, direction, remote_address, remote_port ORDER BY observations DESC LIMIT 200
            """).all().map { row in
            TenantAggregates.ConnectionPair(
                process: try row.decode(column: "process", as: String.self), direction: try row.decode(column: "direction", as: String.self),
                remote: "\(try row.decode(column: "remote_address", as: String.self)):\(try row.decode(column: "remote_port", as: Int.self))",
                devices: try row.decode(column: "devices", as: Int.self), observations: try row.decode(column: "observations", as: Int64.self),
                database: try row.decode(column: "db", as: Int.self) == 1)
        }
        return TenantAggregates(devices: devices, software: software, connections: connections, softwareTotal: total)
    }
}
