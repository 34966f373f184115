import FluentKit
import Foundation
import SQLKit

/// The queries the portal reads from one tenant database (ING-3).
struct TenantReports: Sendable {
    let database: any SQLDatabase

    /// Devices, software by product and version, and connection pairs by process, each bounded.
    func aggregates() async throws -> TenantAggregates {
        let deviceRows = try await database.select().columns("device_id", "hostname", "os", "cpu_threads", "memory_bytes", "software_count", "last_seen")
            .from("devices").orderBy("hostname").limit(1000).all()
        // The CPU p95 of each device's latest day, in one query rather than one per device.
        let latestCPU = try await database.raw(
            """
            SELECT d.device_id, d.p95 FROM daily_usage d
            WHERE d.metric = 'cpu' AND d.day = (SELECT MAX(day) FROM daily_usage l WHERE l.device_id = d.device_id AND l.metric = 'cpu')
            """
        ).all()
        var cpuByDevice: [String: Int64] = [:]
        for row in latestCPU { cpuByDevice[try row.decode(column: "device_id", as: String.self)] = try row.decode(column: "p95", as: Int64.self) }
        let devices = try deviceRows.map { row in
            let id = try row.decode(column: "device_id", as: String.self)
            return TenantAggregates.Device(
                deviceID: id, hostname: try row.decode(column: "hostname", as: String.self),
                os: ((try? row.decode(column: "os", as: String?.self)) ?? nil) ?? "",
                cpuThreads: ((try? row.decode(column: "cpu_threads", as: Int?.self)) ?? nil) ?? 0,
                memoryBytes: (try? row.decode(column: "memory_bytes", as: Int64?.self)) ?? nil,
                softwareCount: ((try? row.decode(column: "software_count", as: Int?.self)) ?? nil) ?? 0,
                lastSeen: Date(timeIntervalSince1970: TimeInterval(try row.decode(column: "last_seen", as: Int64.self))),
                cpuP95Permille: cpuByDevice[id])
        }
        let software = try await database.raw(
            """
            SELECT name, version, COUNT(DISTINCT device_id) AS devices FROM software GROUP BY name, version ORDER BY devices DESC, name LIMIT 200
            """
        ).all().map { row in
            TenantAggregates.SoftwareCount(
                name: try row.decode(column: "name", as: String.self), version: try row.decode(column: "version", as: String.self),
                devices: try row.decode(column: "devices", as: Int.self))
        }
        let total = try await database.raw("SELECT COUNT(*) AS n FROM software").first()?.decode(column: "n", as: Int.self) ?? 0
        let connections = try await database.raw(
            """
            SELECT process, direction, remote_address, remote_port, MAX(CASE WHEN is_database THEN 1 ELSE 0 END) AS db,
                   COUNT(DISTINCT device_id) AS devices, CAST(SUM(observations) AS BIGINT) AS observations
            FROM connections GROUP BY process, direction, remote_address, remote_port ORDER BY observations DESC LIMIT 200
            """
        ).all().map { row in
            TenantAggregates.ConnectionPair(
                process: try row.decode(column: "process", as: String.self), direction: try row.decode(column: "direction", as: String.self),
                remote: "\(try row.decode(column: "remote_address", as: String.self)):\(try row.decode(column: "remote_port", as: Int.self))",
                devices: try row.decode(column: "devices", as: Int.self), observations: try row.decode(column: "observations", as: Int64.self),
                database: try row.decode(column: "db", as: Int.self) == 1)
        }
        return TenantAggregates(devices: devices, software: software, connections: connections, softwareTotal: total)
    }
}
