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
        guard let text = String(data: data, encoding: .utf8) else { throw fail("the file is not UTF-8 text") }
        // CSV.swift reads an unclosed quote to the end of the file as one field: the fault would be
        // reported as a field holding line breaks, far from where it is. Find it first.
        if let opened = unclosedQuote(in: text) {
            throw fail("a quoted field opened on this line is never closed (a \" is missing)", line: opened)
        }
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
            let checked = check(host: row[hostColumn], port: field("port"), user: field("user"), labels: field("labels"))
            // Every fault of the row is named, and a repeated host is caught even when its first
            // row had another fault: fixing one line must not reveal the next problem.
            problems += checked.problems.map { .init(line: line, reason: $0.description) }
            if let key = checked.key {
                if let earlier = firstLine[key] {
                    problems.append(.init(line: line, reason: "\(row[hostColumn]) port \(checked.port) is listed already (line \(earlier))"))
                    continue
                }
                firstLine[key] = line
            }
            if let device = checked.device { devices.append(device) }
            if devices.count > maxDevices { throw fail("more than \(maxDevices) devices", line: line) }
        }
        if let error = reader.error { throw fail("the file cannot be read as CSV (\(type(of: error)))", line: line) }
        guard problems.isEmpty else { throw Problems(problems: problems) }
        return devices
    }

    /// A row's fields checked together: every problem, the host-and-port key when both are valid
    /// (for duplicates), and the device when nothing is wrong.
    static func check(host: String, port: String, user: String, labels: String) -> (
        device: Device?, key: String?, port: Int, problems: [Device.FieldProblem]
    ) {
        var problems: [Device.FieldProblem] = []
        let hostValid = Device.isHost(host)
        if !hostValid { problems.append(.host(host)) }
        var portNumber: Int? = 22
        if !port.isEmpty {
            if port.allSatisfy(\.isASCII), let parsed = Int(port), (1...65535).contains(parsed) {
                portNumber = parsed
            } else {
                portNumber = nil
                problems.append(.port(port))
            }
        }
        if !user.isEmpty, !Device.isUser(user) { problems.append(.user(user)) }
        let labelList = labels.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        problems += labelList.filter { !Device.isLabel($0) }.map { .label($0) }
        let key = hostValid ? portNumber.map { "\(host.lowercased()):\($0)" } : nil
        let device =
            problems.isEmpty ? Device(host: host, port: portNumber ?? 22, user: user.isEmpty ? nil : user, labels: labelList) : nil
        return (device, key, portNumber ?? 0, problems)
    }

    /// The line on which a quoted field opens and never closes (RFC 4180 §2: a quote opens a
    /// field only at its start; inside one, "" is a quote and " closes it), or nil.
    static func unclosedQuote(in text: String) -> Int? {
        var line = 1
        var openedOn: Int?
        var atFieldStart = true
        var pendingQuote = false
        for character in text {
            if openedOn != nil {
                if pendingQuote {
                    pendingQuote = false
                    if character == "\"" { continue }  // "" inside a quoted field
                    openedOn = nil  // the quote closed the field; read this character outside it
                } else {
                    if character == "\"" {
                        pendingQuote = true
                    } else if character.isNewline {
                        line += 1
                    }
                    continue
                }
            }
            if character.isNewline {
                line += 1
                atFieldStart = true
            } else if character == "," {
                atFieldStart = true
            } else if character == "\"", atFieldStart {
                openedOn = line
                atFieldStart = false
            } else if character == "\u{FEFF}" || character == " " || character == "\t" {
                continue  // a byte order mark or spaces before the quote (fields are trimmed)
            } else {
                atFieldStart = false
            }
        }
        return pendingQuote ? nil : openedOn
    }

    static func newlines(in field: String) -> Int {
        field.reduce(0) { $0 + ($1 == "\n" || $1 == "\r\n" || $1 == "\r" ? 1 : 0) }
    }
}
