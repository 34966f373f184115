import FluentKit
import SQLKit

struct T002_CreateUsage: AsyncMigration {
    func prepare(on database: any Database) async throws {
        // One row per device, metric and bucket: a resent document changes nothing.
        try await database.schema("samples")
            .field("device_id", .string, .required)
            .field("metric", .string, .required)
            .field("bucket_start", .int64, .required)
            .field("bucket_seconds", .int, .required)
            .field("avg", .int64, .required)
            .field("p95", .int64, .required)
            .field("max", .int64, .required)
            .unique(on: "device_id", "metric", "bucket_start")
            .create()
        try await database.schema("connections")
            .field("device_id", .string, .required)
            .field("direction", .string, .required)
            .field("process", .string, .required)
            .field("local_port", .int, .required)
            .field("remote_address", .string, .required)
            .field("remote_port", .int, .required)
            .field("is_database", .bool, .required)
            .field("first_seen", .int64, .required)
            .field("last_seen", .int64, .required)
            .field("observations", .int64, .required)
            .unique(on: "device_id", "direction", "process", "local_port", "remote_address", "remote_port")
            .create()
        // The reporting form (ING-3): daily p50/p95/max per device and metric, kept by the workers.
        try await database.schema("daily_usage")
            .field("device_id", .string, .required)
            .field("day", .string, .required)
            .field("metric", .string, .required)
            .field("p50", .int64, .required)
            .field("p95", .int64, .required)
            .field("max", .int64, .required)
            .field("buckets", .int, .required)
            .unique(on: "device_id", "day", "metric")
            .create()
    }

    func revert(on database: any Database) async throws {
        for table in ["daily_usage", "connections", "samples"] {
            try await database.schema(table).delete()
        }
    }
}
