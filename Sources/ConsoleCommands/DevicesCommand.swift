import ArgumentParser
import Console
import Directory
import Foundation
import LDAP

struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "The device list (CON-1): only devices on it are ever contacted.",
        subcommands: [ImportDevices.self, DiscoverDevices.self, ListDevices.self, RemoveDevices.self])
}

struct ImportDevices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add the devices of a CSV file (columns host, port, user, labels; labels separated by ';').",
        discussion: "The file is taken whole or not at all: every bad row is reported by its line number.")

    @Argument(help: "The CSV file.")
    var file: String

    @Flag(help: "Devices imported from this file before and no longer in it leave the list.")
    var replace = false

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            guard let data = FileManager.default.contents(atPath: file) else { throw ConsoleError.input("cannot read \(file)") }
            let devices: [Device]
            do { devices = try DeviceListCSV.parse(data) } catch let problems as DeviceListCSV.Problems {
                throw ConsoleError.input("\(file): \(problems.description)")
            }
            let (added, updated, removed) = try DeviceStore(state: state).merge(
                devices, source: "csv:\(URL(fileURLWithPath: file).lastPathComponent)", replacing: replace)
            struct Imported: Encodable {
                let read: Int
                let added: Int
                let updated: Int
                let removed: Int
            }
            if output.json { return try Console.printJSON(Imported(read: devices.count, added: added, updated: updated, removed: removed)) }
            print("\(devices.count) device(s) read: \(added) added, \(updated) updated\(replace ? ", \(removed) removed" : "").")
        }
    }
}

struct DiscoverDevices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "Find Linux and Unix computers in Active Directory (LDAPS or StartTLS, paged) and add them.",
        discussion: """
            Reads computer objects (objectClass=computer) under --base-dn, narrowed by --filter (RFC 4515), and keeps those
            whose operatingSystem is Linux or Unix and whose dNSHostName is a host name. ldap:// always upgrades with
            StartTLS; the bind password is asked, or read from --password-file or standard input.
            """)

    @Option(name: .customLong("ldap"), help: "ldaps://dc.example.com[:636] or ldap://dc.example.com[:389] (StartTLS).")
    var url: String

    @Option(name: .customLong("base-dn"), help: "Where to search, e.g. OU=Servers,DC=example,DC=com.")
    var baseDN: String

    @Option(name: .customLong("bind-dn"), help: "The account to bind as, e.g. CN=assay-reader,OU=Service,DC=example,DC=com.")
    var bindDN: String

    @OptionGroup var secret: SecretOptions

    @Option(help: "An RFC 4515 filter AND-ed with (objectClass=computer), e.g. '(operatingSystem=*Linux*)'.")
    var filter: String?

    @Option(name: .customLong("ca-file"), help: "PEM file of the directory's CA (an enterprise CA).")
    var caFile: String?

    @Option(name: .customLong("page-size"), help: "Entries per page (RFC 2696); Active Directory allows 1,000.")
    var pageSize = 500

    @Option(help: "SSH port of the devices found.")
    var port = 22

    @Option(help: "SSH user of the devices found.")
    var user: String?

    @Option(name: .customLong("label"), help: "Label to give the devices found (repeatable); 'ad' is always given.")
    var labels: [String] = []

    @Flag(name: .customLong("dry-run"), help: "Show what would be added; change nothing.")
    var dryRun = false

    @Flag(help: "Devices found in this directory before and no longer found leave the list.")
    var replace = false

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            guard (1...65535).contains(port) else { throw ConsoleError.usage("--port must be 1 to 65535") }
            if let user, !Device.isUser(user) { throw ConsoleError.usage(Device.FieldProblem.user(user).description) }
            if let bad = labels.first(where: { !Device.isLabel($0) }) { throw ConsoleError.usage(Device.FieldProblem.label(bad).description) }
            guard (1...1000).contains(pageSize) else { throw ConsoleError.usage("--page-size must be 1 to 1000") }
            let server: LDAPServer
            do { server = try LDAPServer(url: url) } catch { throw ConsoleError.usage("\(error)") }
            if let filter { do { _ = try ActiveDirectory.filter(narrowedBy: filter) } catch { throw ConsoleError.usage("\(error)") } }
            let password = try secret.password(prompt: "Bind password for \(bindDN)")
            let found: ActiveDirectory.Found
            do {
                found = try await ActiveDirectory.discover(
                    server: server, tls: LDAPTLS(caFile: caFile), bindDN: bindDN, password: password, baseDN: baseDN, filter: filter,
                    pageSize: pageSize, port: port, user: user, labels: labels)
            } catch {
                throw ConsoleError.service("\(error)")
            }
            let store = DeviceStore(state: state)
            if dryRun {
                let known = Set(try store.load().map(\.key))
                let new = found.devices.filter { !known.contains("\($0.host.lowercased()):\($0.port)") }
                struct Preview: Encodable {
                    let found: [Device]
                    let new: Int
                    let skipped: Int
                }
                if output.json { return try Console.printJSON(Preview(found: found.devices, new: new.count, skipped: found.skipped.count)) }
                for device in found.devices { print("\(device.host):\(device.port)\(known.contains("\(device.host):\(device.port)") ? "" : "  (new)")") }
                return print("\(found.devices.count) found, \(new.count) new, \(found.skipped.count) skipped; nothing changed (--dry-run).")
            }
            let (added, updated, removed) = try store.merge(found.devices, source: "ldap:\(server.host)", replacing: replace)
            struct Discovered: Encodable {
                let found: Int
                let added: Int
                let updated: Int
                let removed: Int
                let skipped: [Skipped]
                struct Skipped: Encodable {
                    let dn: String
                    let reason: String
                }
            }
            if output.json {
                return try Console.printJSON(
                    Discovered(
                        found: found.devices.count, added: added, updated: updated, removed: removed,
                        skipped: found.skipped.map { .init(dn: $0.dn, reason: $0.reason) }))
            }
            print(
                "\(found.devices.count) Linux/Unix computer(s) found: \(added) added, \(updated) updated\(replace ? ", \(removed) removed" : ""); \(found.skipped.count) entr(ies) skipped."
            )
            for skipped in found.skipped.prefix(20) { print("  skipped \(skipped.dn): \(skipped.reason)") }
            if found.skipped.count > 20 { print("  … and \(found.skipped.count - 20) more (--json lists all)") }
        }
    }
}

struct ListDevices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Show the device list.")

    @Option(name: .customLong("label"), help: "Only devices with this label (repeatable: all of them).")
    var labels: [String] = []

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            let entries = try DeviceStore(state: state).load().filter { entry in labels.allSatisfy { entry.device.labels.contains($0) } }
            if output.json { return try Console.printJSON(entries) }
            guard !entries.isEmpty else { return print("No devices listed (assay devices import FILE.csv, or assay devices discover …).") }
            func cell(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
            print(cell("HOST", 32) + " " + cell("PORT", 5) + " " + cell("USER", 10) + " " + cell("LABELS", 20) + " " + cell("LAST SCAN", 36) + " SOURCE")
            for entry in entries {
                let device = entry.device
                let last = entry.lastScan.map { "\($0.step) \($0.status.rawValue) \($0.at.formatted(.iso8601))" } ?? "never"
                print(
                    cell(device.host, 32) + " " + cell(String(device.port), 5) + " " + cell(device.user ?? "-", 10) + " "
                        + cell(device.labels.joined(separator: ";"), 20) + " " + cell(last, 36) + " " + entry.source)
            }
        }
    }
}

struct RemoveDevices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Take devices off the list (by host, or host:port).")

    @Argument(help: "Hosts to remove.")
    var hosts: [String]

    @OptionGroup var stateOptions: StateOptions

    func run() async throws {
        try await Console.guarded {
            let removed = try DeviceStore(state: try stateOptions.state()).remove(hosts)
            guard !removed.isEmpty else { throw ConsoleError.usage("none of these is on the device list") }
            print("Removed \(removed.count) device(s).")
        }
    }
}
