import Directory
import Foundation

/// The console's device list (CON-1): the only devices it ever contacts. Imports and discoveries
/// merge into it by host and port; a later source replaces the user and labels of a device.
public struct DeviceStore: Sendable {
    public let state: StateDirectory

    public init(state: StateDirectory) { self.state = state }

    public struct Entry: Codable, Sendable, Equatable {
        public var device: Device
        /// Where it came from: `csv:FILE` or `ldap:URL`.
        public var source: String
        public var addedAt: Date
        /// How the last scan of this device ended (nil: never scanned).
        public var lastScan: LastScan?

        public var key: String { "\(device.host.lowercased()):\(device.port)" }
    }

    public struct LastScan: Codable, Sendable, Equatable {
        public let at: Date
        /// `inventory`, `consumption`, `collect` or `stop`.
        public let step: String
        public let status: DeviceStatus
        public let message: String
    }

    /// Read-modify-write of devices.json, one console process at a time.
    private func changing<T>(_ change: (inout [Entry]) throws -> T) throws -> T {
        let lock = try FileLock(state.root.appendingPathComponent("devices.lock").path)
        defer { lock.release() }
        var entries = try load()
        let result = try change(&entries)
        try state.writeJSON(entries, to: state.devices)
        return result
    }

    /// Remembers how each device's scan ended, for `devices list` and `--not-done`.
    public func record(_ outcomes: [DeviceOutcome], step: String, now: Date = Date()) throws {
        let byKey = Dictionary(outcomes.map { ("\($0.host.lowercased()):\($0.port)", $0) }, uniquingKeysWith: { $1 })
        try changing { entries in
            for index in entries.indices {
                guard let outcome = byKey[entries[index].key] else { continue }
                entries[index].lastScan = LastScan(at: now, step: step, status: outcome.status, message: outcome.message)
            }
        }
    }

    public func load() throws -> [Entry] {
        try state.readJSON([Entry].self, from: state.devices) ?? []
    }

    /// Adds or updates; answers how many were new and how many updated. With `replacing`, the
    /// devices that came from the same source before and are not in `devices` leave the list, so
    /// that a re-imported file or a directory's current state is what the console scans.
    @discardableResult
    public func merge(_ devices: [Device], source: String, replacing: Bool = false, now: Date = Date()) throws -> (added: Int, updated: Int, removed: Int) {
        try changing { entries in merge(devices, into: &entries, source: source, replacing: replacing, now: now) }
    }

    private func merge(_ devices: [Device], into entries: inout [Entry], source: String, replacing: Bool, now: Date) -> (added: Int, updated: Int, removed: Int)
    {
        var removed = 0
        if replacing {
            let keep = Set(devices.map { "\($0.host.lowercased()):\($0.port)" })
            let before = entries.count
            entries.removeAll { $0.source == source && !keep.contains($0.key) }
            removed = before - entries.count
        }
        var index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($0.element.key, $0.offset) })
        var added = 0
        var updated = 0
        for device in devices {
            let entry = Entry(device: device, source: source, addedAt: now)
            if let position = index[entry.key] {
                if entries[position].device != device || entries[position].source != source {
                    entries[position].device = device
                    entries[position].source = source
                    updated += 1
                }
            } else {
                index[entry.key] = entries.count
                entries.append(entry)
                added += 1
            }
        }
        return (added, updated, removed)
    }

    /// Removes devices by host (any port) or `host:port`; answers what was removed.
    public func remove(_ names: [String]) throws -> [Entry] {
        let wanted = Set(names.map { $0.lowercased() })
        return try changing { entries in
            let removed = entries.filter { wanted.contains($0.key) || wanted.contains($0.device.host.lowercased()) }
            entries.removeAll { wanted.contains($0.key) || wanted.contains($0.device.host.lowercased()) }
            return removed
        }
    }

    /// The devices a scan may touch: all, or those named (by host) or carrying a label. A name
    /// that is not on the list is an error, never a new target.
    public func select(hosts: [String], labels: [String], notDone: Bool = false) throws -> [Device] {
        let all = try load()
        var entries = all
        guard !all.isEmpty else {
            throw ConsoleError.usage("the device list is empty: `assay devices import FILE.csv` or `assay devices discover --ldap …`")
        }
        if notDone {
            entries.removeAll { $0.lastScan?.status == .done }
            guard !entries.isEmpty else { throw ConsoleError.usage("every listed device's last scan is done: nothing to retry") }
        }
        var chosen = entries.map(\.device)
        if !hosts.isEmpty {
            let known = Set(all.map { $0.device.host.lowercased() })
            if let unknown = hosts.first(where: { !known.contains($0.lowercased()) }) {
                throw ConsoleError.usage("\(unknown.prefix(80)) is not on the device list: only listed devices are ever contacted (CON-1)")
            }
            let wanted = Set(hosts.map { $0.lowercased() })
            chosen = chosen.filter { wanted.contains($0.host.lowercased()) }
        }
        if !labels.isEmpty {
            chosen = chosen.filter { device in labels.allSatisfy { device.labels.contains($0) } }
            guard !chosen.isEmpty else { throw ConsoleError.usage("no listed device carries the label(s) \(labels.joined(separator: ", "))") }
        }
        return chosen
    }
}
