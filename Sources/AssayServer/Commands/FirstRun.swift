import AssayModel
import Foundation
import NIOFoundationEssentialsCompat
import Vapor

/// The first run of `quickstart`: the bot scans this machine, encrypted to the new tenant's key;
/// the files go through the real upload API (a temporary listener on the configured port, an
/// operator upload token) and an ingest worker writes them to the tenant database, so that the
/// first sign-in shows this machine.
struct FirstRun {
    let app: Application
    let tenantID: TenantID
    let sampleSeconds: Int
    let console: any Console

    func run() async throws {
        let configuration = app.assayConfiguration
        guard let bot = Self.botExecutable() else {
            console.print("First run skipped: no assay-bot beside assay-server (build it: swift build --product assay-bot, or set ASSAY_BOT).")
            return
        }
        let folder = URL(fileURLWithPath: configuration.dataDirectory).appendingPathComponent("first-run")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let keyFile = folder.appendingPathComponent("tenant-public.asc")
        try Data(try await app.keyring().publicKey(tenantID: tenantID).publicKey.utf8).write(to: keyFile)
        console.print("Scanning this machine with \(bot.path) (the dry run is in \(folder.path)/this-machine-inventory.json)…")
        try Data(try Self.run(bot, ["inventory"])).write(to: folder.appendingPathComponent("this-machine-inventory.json"))
        _ = try Self.run(bot, ["inventory", "--recipient", keyFile.path, "--out", folder.appendingPathComponent("inventory.pgp").path])
        if sampleSeconds > 0 {
            console.print("Sampling consumption and connections for \(sampleSeconds) seconds…")
            let bucket = max(2, sampleSeconds / 2)
            _ = try Self.run(
                bot,
                [
                    "sample", "--recipient", keyFile.path, "--out-dir", folder.path, "--interval", "\(max(1, bucket / 5))s",
                    "--bucket", "\(bucket)s", "--duration", "\(sampleSeconds)s", "--file-every", "\(sampleSeconds)s",
                    "--connections-every", "\(bucket)s",
                ])
        }
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "pgp" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }

        // Through the real API: the service listens for the length of the uploads only.
        try await app.server.start(address: .hostname("127.0.0.1", port: configuration.port))
        var ids: [UUID] = []
        do {
            let token = try await ConsoleCredentials(catalog: app.catalog, now: app.clock).issueOperatorUploadToken(tenantID: tenantID, hours: 1)
            for file in files {
                let body = try Data(contentsOf: file)
                var headers = HTTPHeaders()
                headers.bearerAuthorization = BearerAuthorization(token: token)
                headers.add(name: UploadController.digestHeader, value: sha256Hex(body))
                headers.contentType = .init(type: "application", subType: "octet-stream")
                let response = try await app.client.post(URI(string: "http://127.0.0.1:\(configuration.port)/api/v1/uploads"), headers: headers) { request in
                    request.body = ByteBuffer(data: body)
                }
                guard response.status == .accepted || response.status == .ok, let accepted = try? response.content.decode(UploadController.Accepted.self) else {
                    throw CommandFailure("the upload of \(file.lastPathComponent) was refused (\(response.status.code))")
                }
                ids.append(accepted.id)
            }
        } catch {
            await app.server.shutdown()
            throw error
        }
        await app.server.shutdown()

        let worker = try app.ingestWorker(name: "quickstart-\(ProcessInfo.processInfo.processIdentifier)")
        for _ in 0..<50 where try await worker.runOnce() > 0 {}
        for id in ids {
            guard let upload = try await app.catalog.uploads.find(id: id) else { continue }
            console.print("upload \(id.uuidString.lowercased()): \(upload.state) \(upload.kind ?? "") \(upload.failure ?? "")")
        }
        if let inventory = try? JSONDecoder().decode(
            InventoryDocument.self, from: Data(contentsOf: folder.appendingPathComponent("this-machine-inventory.json")))
        {
            console.print(
                "This machine: \(inventory.header.device.hostname), \(inventory.system.os.prettyName ?? inventory.system.os.name ?? "?"), "
                    + "\(inventory.cpu.threads) CPU threads, \(inventory.memory.totalBytes >> 20) MiB memory, \(inventory.software.count) packages.")
        }
    }

    /// ASSAY_BOT, or `assay-bot` beside this executable.
    static func botExecutable() -> URL? {
        if let path = ProcessInfo.processInfo.environment["ASSAY_BOT"], FileManager.default.isExecutableFile(atPath: path) { return URL(fileURLWithPath: path) }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("assay-bot")
        return FileManager.default.isExecutableFile(atPath: beside.path) ? beside : nil
    }

    static func run(_ executable: URL, _ arguments: [String]) throws -> [UInt8] {
        let process = Process()
        let output = Pipe()
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CommandFailure("assay-bot \(arguments.first ?? "") failed (exit \(process.terminationStatus))") }
        return Array(data)
    }
}
