import Directory
import Foundation
import OpenPGP
import Testing

@testable import Console

/// The console's own rules, without a network: what a device's answer may be, how ssh is called,
/// what the remote scripts are, and what the console keeps. The real runs (sshd in network
/// namespaces, slapd, the service) are in Integration/console.
@Suite("Console")
struct ConsoleRulesTests {
    static let tenant = try! SecretKey.generate(userID: "Tenant <keys@assay.test>", size: .bits2048)
    static let other = try! SecretKey.generate(userID: "Other <keys@assay.test>", size: .bits2048)

    static func scratch() throws -> StateDirectory {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("assay-console-\(UUID().uuidString)")
        let state = StateDirectory(root: root)
        try state.prepare()
        return state
    }

    // MARK: a device's answer

    @Test("collected files are read with bounds: names, sizes and the end line are checked")
    func framedFiles() throws {
        let good = Array("FILE consumption-1.pgp 3\nabcFILE c-2.pgp 0\nEND yes\n".utf8)
        let framed = try FramedFiles(good)
        #expect(framed.files.map(\.name) == ["consumption-1.pgp", "c-2.pgp"])
        #expect(framed.files[0].bytes == Array("abc".utf8))
        #expect(framed.stillRunning)
        for hostile in [
            "FILE ../../etc/passwd.pgp 3\nabcEND no\n", "FILE a.pgp 10\nabc", "FILE a.pgp -1\nEND no\n", "FILE a.txt 1\naEND no\n",
            "FILE .hidden.pgp 1\naEND no\n", "END no\nmore", "FILE a.pgp 99999999999\n", String(repeating: "x", count: 400), "",
            "FILE a;rm.pgp 1\naEND no\n",
        ] {
            #expect(throws: (any Error).self, "\(hostile.prefix(30))") { try FramedFiles(Array(hostile.utf8)) }
        }
    }

    @Test("only an OpenPGP message to the tenant's key is kept")
    func spoolCheck() throws {
        let document = Array(#"{"kind":"inventory"}"#.utf8)
        let ours = try MessageEncryptor.encrypt(document, to: [Self.tenant.certificate])
        let theirs = try MessageEncryptor.encrypt(document, to: [Self.other.certificate])
        try Spool.check(ours, recipient: Self.tenant.certificate)
        #expect(throws: Spool.Refusal.self) { try Spool.check(theirs, recipient: Self.tenant.certificate) }
        #expect(throws: Spool.Refusal.self) { try Spool.check(document, recipient: Self.tenant.certificate) }
        #expect(throws: Spool.Refusal.self) {
            try Spool.check([0xC3] + (0..<500).map { UInt8(truncatingIfNeeded: $0 &* 31) }, recipient: Self.tenant.certificate)
        }
        #expect(throws: Spool.Refusal.self) { try Spool.check([UInt8](repeating: 0, count: Spool.maxFileBytes + 1), recipient: Self.tenant.certificate) }
    }

    @Test("the spool keeps a file once, owner-only, until the service acknowledges it")
    func spoolLifecycle() throws {
        let state = try Self.scratch()
        let spool = Spool(state: state)
        let message = try MessageEncryptor.encrypt(Array("{}".utf8), to: [Self.tenant.certificate])
        let first = try spool.add(message, device: "h1", kind: "inventory")
        try spool.add(message, device: "h1", kind: "inventory")
        let pending = try spool.pending()
        #expect(pending.count == 1 && pending[0].metadata.sha256 == first.sha256 && pending[0].metadata.device == "h1")
        var info = stat()
        #expect(stat(pending[0].file.path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(state.root.path, &info) == 0 && info.st_mode & 0o777 == 0o700)
        try spool.acknowledge(pending[0], uploadID: "u-1")
        #expect(try spool.pending().isEmpty)
        #expect(try String(contentsOf: state.uploadLog, encoding: .utf8).contains(first.sha256))
    }

    // MARK: how ssh is called

    @Test("ssh gets the device as data: options first, then --, the host, and a constant script")
    func sshArguments() {
        var settings = OpenSSHTransport.Settings()
        settings.identityFile = "/keys/id"
        settings.knownHostsFile = "/keys/known_hosts"
        let transport = OpenSSHTransport(settings: settings)
        let arguments = transport.arguments(for: Device(host: "web01.acme.test", port: 2222, user: "deploy"), script: .inventory)
        let separator = arguments.firstIndex(of: "--")!
        #expect(Array(arguments[(separator + 1)...]) == ["web01.acme.test", RemoteScript.inventory.command])
        #expect(arguments.contains("StrictHostKeyChecking=yes") && arguments.contains("BatchMode=yes"))
        #expect(arguments.contains("ForwardAgent=no"))
        #expect(arguments[arguments.firstIndex(of: "-p")! + 1] == "2222")
        #expect(arguments[arguments.firstIndex(of: "-l")! + 1] == "deploy")
        #expect(!arguments.contains { $0.contains("StrictHostKeyChecking=no") || $0.contains("accept-new") })
    }

    @Test("the remote scripts are constants a single-quoted sh -c can carry")
    func scriptsAreConstant() {
        for script in [RemoteScript.inventory, .startSampler, .collect, .stopSampler, .removeFetched] {
            #expect(!script.body.contains("'"))
            #expect(script.command.hasPrefix("exec /bin/sh -c '") && script.command.hasSuffix("'"))
            #expect(script.body.contains("[ \"$system\" = Linux ]"))
        }
        // Whatever varies is read from standard input and checked there.
        #expect(RemoteScript.inventory.body.contains("read -r botsize botsum"))
        #expect(RemoteScript.inventory.body.contains("trap \"[ -n \\\"\\$d\\\" ] && rm -rf"))
        #expect(RemoteScript.removeFetched.body.contains("*[!A-Za-z0-9._-]*) continue"))
    }

    @Test(
        "ssh's own failures are told apart",
        arguments: [
            ("root@h: Permission denied (publickey).", DeviceStatus.authenticationFailed),
            ("@@@\n@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @\n", .hostKeyChanged),
            ("No ED25519 host key is known for h and you have requested strict checking.\nHost key verification failed.", .hostKeyUnknown),
            ("ssh: connect to host 10.0.0.9 port 22: Connection refused", .unreachable),
            ("ssh: connect to host 10.0.0.9 port 22: Connection timed out", .timedOut),
            ("ssh: Could not resolve hostname nope: Name or service not known", .unreachable),
        ])
    func classify(_ text: String, _ status: DeviceStatus) {
        #expect(OpenSSHTransport.classify(text) == status)
    }

    @Test("a script's exit code becomes a status and its last assay: line the message")
    func scriptFailures() {
        let device = Device(host: "h1")
        #expect(DeviceOutcome(scriptExit: 65, error: "assay: not Linux: FreeBSD\n", device).status == .notLinux)
        let killed = DeviceOutcome(scriptExit: 67, error: "noise\nassay: the bot failed (killed by signal 9): \n", device)
        #expect(killed.status == .botFailed && killed.message.contains("signal 9"))
        #expect(DeviceOutcome(scriptExit: 66, error: "assay: the bot checksum does not match", device).message.contains("checksum"))
        #expect(DeviceOutcome(scriptExit: 74, error: "assay: the bot ran longer than 290 s and was stopped", device).status == .timedOut)
    }

    // MARK: bundle, endpoint, device list

    static func bundleData(_ change: (inout [String: String]) -> Void = { _ in }) throws -> Data {
        var fields = [
            "format": TenantBundle.format, "serviceURL": "https://assay.example.com", "tenantID": UUID().uuidString.lowercased(),
            "publicKey": tenant.certificate.armored, "fingerprint": tenant.certificate.fingerprint.description,
        ]
        change(&fields)
        return try JSONEncoder().encode(fields)
    }

    @Test("a bundle is checked: format, GUID, HTTPS, and a key that matches its fingerprint")
    func bundles() throws {
        let (bundle, certificate) = try TenantBundle.read(try Self.bundleData())
        #expect(certificate.fingerprint == Self.tenant.certificate.fingerprint && bundle.serviceURL == "https://assay.example.com")
        let refused: [(inout [String: String]) -> Void] = [
            { $0["fingerprint"] = Self.other.certificate.fingerprint.description }, { $0["publicKey"] = Self.other.certificate.armored },
            { $0["serviceURL"] = "http://assay.example.com" }, { $0["serviceURL"] = "ftp://x" }, { $0["tenantID"] = "acme" },
            { $0["format"] = "other/1" }, { $0["publicKey"] = "not a key" },
        ]
        for change in refused {
            #expect(throws: ConsoleError.self) { try TenantBundle.read(try Self.bundleData(change)) }
        }
        #expect(throws: ConsoleError.self) { try TenantBundle.read(Data(repeating: 0x20, count: TenantBundle.maxBytes + 1)) }
    }

    @Test("plain HTTP only to loopback (CON-6)")
    func endpoints() throws {
        for allowed in ["https://assay.example.com", "http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"] {
            #expect(throws: Never.self) { try ServiceEndpoint(allowed) }
        }
        for refused in ["http://assay.example.com", "http://127.0.0.1.evil.example", "http://10.0.0.1", "https://u:p@assay.example.com", "file:///etc"] {
            #expect(throws: ConsoleError.self) { try ServiceEndpoint(refused) }
        }
    }

    @Test("a scan reaches only listed devices; imports merge by host and port")
    func deviceList() throws {
        let store = DeviceStore(state: try Self.scratch())
        #expect(throws: ConsoleError.self) { try store.select(hosts: [], labels: []) }
        try store.merge([Device(host: "a.acme.test", labels: ["web"]), Device(host: "b.acme.test")], source: "csv:x")
        let again = try store.merge([Device(host: "A.acme.test", user: "deploy", labels: ["web"]), Device(host: "c.acme.test")], source: "csv:y")
        #expect(again == (added: 1, updated: 1, removed: 0))
        #expect(try store.select(hosts: [], labels: ["web"]).map(\.host) == ["A.acme.test"])
        #expect(throws: ConsoleError.self) { try store.select(hosts: ["z.acme.test"], labels: []) }
        #expect(try store.remove(["b.acme.test"]).count == 1)
        #expect(try store.load().count == 2)
        // a re-import with --replace drops what that file no longer lists, and nothing from elsewhere
        let replaced = try store.merge([Device(host: "c.acme.test")], source: "csv:y", replacing: true)
        #expect(replaced == (added: 0, updated: 0, removed: 1))
        try store.merge([Device(host: "d.acme.test")], source: "ldap:dc1")
        #expect(try store.merge([], source: "csv:y", replacing: true).removed == 1)
        #expect(try store.load().map(\.device.host) == ["d.acme.test"])
        // the last scan is remembered; --not-done leaves out the devices that are done
        try store.merge([Device(host: "e.acme.test")], source: "ldap:dc1")
        try store.record([DeviceOutcome(host: "d.acme.test", port: 22, status: .done, message: "ok")], step: "inventory")
        #expect(try store.load().first?.lastScan?.status == .done)
        #expect(try store.select(hosts: [], labels: [], notDone: true).map(\.host) == ["e.acme.test"])
        #expect(try store.select(hosts: ["d.acme.test"], labels: [], notDone: false).count == 1)
    }

    @Test("back-off grows to its cap, with jitter of at most a quarter")
    func backoff() {
        for attempt in 1...20 {
            let delay = Uploader.backoff(attempt: attempt, cap: .seconds(120))
            let base = min(Double(1 << min(attempt - 1, 16)), 120)
            let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
            #expect(seconds >= base && seconds <= base * 1.25 + 0.001)
        }
    }

    @Test("a consumption schedule is numbers and units only")
    func schedules() throws {
        try ConsumptionCampaign.Schedule(days: 90).validate()
        for bad in ["1m;reboot", "$(id)", "m", "10", "1w", "123456789m"] {
            #expect(throws: ConsoleError.self) { try ConsumptionCampaign.Schedule(interval: bad, bucket: "5m", duration: "1d", fileEvery: "1h").validate() }
        }
        #expect(ConsumptionCampaign.isCampaignDirectory("/var/tmp/assay-sampler.AbC123xyz0"))
        for bad in ["/var/tmp/../etc", "relative/assay-sampler.x", "/tmp/assay-sampler.x y", "/tmp/x"] {
            #expect(!ConsumptionCampaign.isCampaignDirectory(bad))
        }
    }
}
