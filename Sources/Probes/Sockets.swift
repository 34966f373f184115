import AssayModel

/// One row of /proc/net/tcp, tcp6, udp or udp6 (proc(5)).
public struct SocketEntry: Equatable, Sendable {
    public let transport: String
    public let localAddress: String
    public let localPort: Int
    public let remoteAddress: String
    public let remotePort: Int
    public let state: String
    public let inode: UInt64
}

public enum ProcNetParser {
    static let tcpStates: [String: String] = [
        "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT",
        "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING", "0C": "NEW_SYN_RECV",
    ]

    /// Parses one table; lines that do not fit are counted, not trusted.
    public static func parse(_ text: String, transport: String, ipv6: Bool, malformed: inout Int) -> [SocketEntry] {
        var entries: [SocketEntry] = []
        for line in text.split(separator: "\n").dropFirst().prefix(1_000_000) {
            let fields = line.split(separator: " ")
            guard fields.count >= 10,
                let local = endpoint(fields[1], ipv6: ipv6), let remote = endpoint(fields[2], ipv6: ipv6),
                let inode = UInt64(fields[9])
            else {
                malformed += 1
                continue
            }
            let stateCode = String(fields[3]).uppercased()
            let state =
                transport.hasPrefix("tcp")
                ? (tcpStates[stateCode] ?? stateCode) : (stateCode == "07" ? "UNCONN" : stateCode == "01" ? "ESTABLISHED" : stateCode)
            entries.append(
                SocketEntry(
                    transport: transport, localAddress: local.0, localPort: local.1,
                    remoteAddress: remote.0, remotePort: remote.1, state: state, inode: inode))
        }
        return entries
    }

    static func endpoint(_ field: Substring, ipv6: Bool) -> (String, Int)? {
        let parts = field.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1], radix: 16) else { return nil }
        let address = ipv6 ? IPAddressFormat.ipv6(procHex: parts[0]) : IPAddressFormat.ipv4(littleEndianHex: parts[0])
        return address.map { ($0, port) }
    }

    public static func read(_ source: SystemSource, warnings: WarningLog, transports: [String] = ["tcp", "tcp6"]) -> [SocketEntry] {
        var entries: [SocketEntry] = []
        var malformed = 0
        for transport in transports {
            guard let text = source.text("/proc/net/\(transport)", limit: 64 << 20) else { continue }
            entries += parse(text, transport: transport, ipv6: transport.hasSuffix("6"), malformed: &malformed)
        }
        if malformed > 0 { warnings.add("sockets", "\(malformed) lines of /proc/net were not understood") }
        return entries
    }
}

/// Running processes: name (comm, never the command line), parent, and the sockets they hold.
public struct ProcessTable: Sendable {
    public struct Process: Equatable, Sendable {
        public let pid: Int
        public let parent: Int
        public let name: String
    }

    public let processes: [Int: Process]
    public let socketOwners: [UInt64: Int]
    /// Processes whose descriptors we could not read (not root).
    public let hiddenDescriptorCount: Int

    public static func read(_ source: SystemSource, includeSockets: Bool = true) -> ProcessTable {
        var processes: [Int: Process] = [:]
        var owners: [UInt64: Int] = [:]
        var hidden = 0
        for entry in source.list("/proc", limit: 1_000_000) {
            guard let pid = Int(entry) else { continue }
            guard let name = source.value("/proc/\(pid)/comm") else { continue }
            let parent = source.text("/proc/\(pid)/stat", limit: 4096).flatMap(parentPID) ?? 0
            processes[pid] = Process(pid: pid, parent: parent, name: name)
            guard includeSockets else { continue }
            guard source.canList("/proc/\(pid)/fd") else {
                hidden += 1
                continue
            }
            let descriptors = source.list("/proc/\(pid)/fd", limit: 1_000_000)
            for descriptor in descriptors {
                guard let target = source.readLink("/proc/\(pid)/fd/\(descriptor)"), target.hasPrefix("socket:["),
                    let inode = UInt64(target.dropFirst(8).dropLast())
                else { continue }
                owners[inode] = owners[inode] ?? pid
            }
        }
        return ProcessTable(processes: processes, socketOwners: owners, hiddenDescriptorCount: hidden)
    }

    /// /proc/PID/stat: "pid (comm) state ppid …"; comm may contain spaces and parentheses.
    static func parentPID(_ stat: String) -> Int? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        return rest.count >= 2 ? Int(rest[1]) : nil
    }

    public func processName(ofSocket inode: UInt64) -> String? {
        socketOwners[inode].flatMap { processes[$0]?.name }
    }
}

public enum ListeningPortProbe {
    public static func listening(_ sockets: [SocketEntry], processes: ProcessTable) -> [ListeningPort] {
        var ports: [ListeningPort] = []
        var seen = Set<ListeningPort>()
        for socket in sockets where socket.state == "LISTEN" || (socket.transport.hasPrefix("udp") && socket.state == "UNCONN" && socket.remotePort == 0) {
            let port = ListeningPort(
                transport: socket.transport, address: socket.localAddress, port: socket.localPort,
                process: processes.processName(ofSocket: socket.inode))
            if seen.insert(port).inserted { ports.append(port) }
        }
        return ports.sorted { ($0.port, $0.transport, $0.address) < ($1.port, $1.transport, $1.address) }
    }
}
