import CSV
import Foundation

/// A device list from a CSV file (CON-1), read with CSV.swift: quoted fields, a UTF-8 byte order
/// mark, CRLF line ends and blank lines are fine. The columns are named by the header row, in any
/// order and case: `host` (required), `port` (default 22), `user`, `labels` (separated by `;`).
/// The list is taken whole or not at all: every bad row is reported by its line number, and one
/// is enough for nothing to be imported.
public enum DeviceListCSV {
    public static let maxBytes = 16 << 20
    public static let maxDevices = 100_000

    /// Every problem of a file, each with the line it starts on.
    public struct Problems: Error, Equatable, CustomStringConvertible, Sendable {
        public struct Problem: Equatable, Sendable {
            public let line: Int
            public let reason: String
        }
        public let problems: [Problem]

        public var description: String {
            let shown = problems.prefix(20).map { "line \($0.line): \($0.reason)" }
            let more = problems.count > 20 ? ["… and \(problems.count - 20) more"] : []
            return "the device list was not imported:\n" + (shown + more).joined(separator: "\n")
        }
    }

    public static func parse(_ data: Data) throws -> [Device] {
        func fail(_ reason: String, line: Int = 1) -> Problems { Problems(problems: [.init(line: line, reason: reason)]) }
        guard data.count <= maxBytes else { throw fail("the file is larger than \(maxBytes >> 20) MiB") }
        guard String(data: data, encoding: .utf8) != nil else { throw fail("the file is not UTF-8 text") }
        let reader: CSVReader
        do {
            reader = try CSVReader(stream: InputStream(data: data), hasHeaderRow: true, trimFields: true)
        } catch {
            throw fail("no header row (the first line names the columns: host,port,user,labels)")
        }
        let header = (reader.headerRow ?? []).map { $0.lowercased() }
        guard let hostColumn = header.firstIndex(of: "host") else {
            throw fail("the header row has no host column (columns: host,port,user,labels)")
        }
        let known: Set<String> = ["host", "port", "user", "labels"]
        if let unknown = header.first(where: { !known.contains($0) && !$0.isEmpty }) {
            throw fail("unknown column \"\(unknown.prefix(40))\" (columns: host,port,user,labels)")
        }
        let column = { (name: String) in header.firstIndex(of: name) }
        var devices: [Device] = []
        var problems: [Problems.Problem] = []
        var firstLine: [String: Int] = [:]
        var line = 1 + (reader.headerRow ?? []).reduce(0) { $0 + newlines(in: $1) } + 1
        while let row = reader.next() {
            defer { line += 1 + row.reduce(0) { $0 + newlines(in: $1) } }
            if row.allSatisfy({ $0.isEmpty }) { continue }  // a blank line
            guard row.count == header.count else {
                problems.append(.init(line: line, reason: "\(row.count) fields where the header has \(header.count)"))
                continue
            }
            let field = { (name: String) in column(name).map { row[$0] } ?? "" }
            do {
                let device = try device(host: row[hostColumn], port: field("port"), user: field("user"), labels: field("labels"))
                let key = "\(device.host.lowercased()):\(device.port)"
                if let earlier = firstLine[key] {
                    problems.append(.init(line: line, reason: "\(device.host) port \(device.port) is listed already (line \(earlier))"))
                    continue
                }
                firstLine[key] = line
                devices.append(device)
            } catch let problem as Device.FieldProblem {
                problems.append(.init(line: line, reason: problem.description))
            }
            if devices.count > maxDevices { throw fail("more than \(maxDevices) devices", line: line) }
        }
        if let error = reader.error { throw fail("the file cannot be read as CSV (\(type(of: error)))", line: line) }
        guard problems.isEmpty else { throw Problems(problems: problems) }
        return devices
    }

    static func device(host: String, port: String, user: String, labels: String) throws -> Device {
        guard Device.isHost(host) else { throw Device.FieldProblem.host(host) }
        var portNumber = 22
        if !port.isEmpty {
            guard port.allSatisfy(\.isASCII), let parsed = Int(port), (1...65535).contains(parsed) else { throw Device.FieldProblem.port(port) }
            portNumber = parsed
        }
        if !user.isEmpty, !Device.isUser(user) { throw Device.FieldProblem.user(user) }
        let labelList = labels.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if let bad = labelList.first(where: { !Device.isLabel($0) }) { throw Device.FieldProblem.label(bad) }
        return Device(host: host, port: portNumber, user: user.isEmpty ? nil : user, labels: labelList)
    }

    static func newlines(in field: String) -> Int {
        field.reduce(0) { $0 + ($1 == "\n" || $1 == "\r\n" || $1 == "\r" ? 1 : 0) }
    }
}
