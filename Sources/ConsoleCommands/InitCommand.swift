import ArgumentParser
import Console
import Foundation
import OpenPGP

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Install the tenant's console bundle (downloaded from the portal) and show its key fingerprint (CON-5).")

    @Argument(help: "The bundle file (assay-console-bundle.json).")
    var bundle: String

    @Option(name: .customLong("ca-file"), help: "PEM file of the CA that signed the service's certificate (a private CA).")
    var caFile: String?

    @Flag(help: "Replace a bundle of another tenant already installed.")
    var replace = false

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            guard let data = FileManager.default.contents(atPath: bundle) else { throw ConsoleError.input("cannot read \(bundle)") }
            let (read, certificate) = try TenantBundle.read(data)
            if let existing = try? InstalledBundle.load(state), !replace {
                let before = existing.binding
                let after = ServiceBinding(read)
                if existing.bundle.tenantID.lowercased() != read.tenantID.lowercased() {
                    throw ConsoleError.usage(
                        "this console belongs to tenant \(existing.bundle.tenantID); give --replace to switch (its sign-in and spool stay)")
                }
                // The same tenant at another address or with another key is a change of where
                // the grant goes and what scans encrypt to: never silent.
                var changes: [String] = []
                if before.serviceURL != after.serviceURL { changes.append("service \(before.serviceURL) → \(after.serviceURL)") }
                if before.keyFingerprint != after.keyFingerprint {
                    changes.append("key \(existing.certificate.fingerprint.grouped) → \(certificate.fingerprint.grouped)")
                }
                if !changes.isEmpty {
                    throw ConsoleError.usage(
                        "this bundle changes \(changes.joined(separator: " and ")); check it with the portal, then give --replace (the sign-in must then be made again)"
                    )
                }
            }
            try StateDirectory.writeAtomically(data, to: state.bundle)
            var settings = try ConsoleSettings.load(state)
            if let caFile {
                guard FileManager.default.isReadableFile(atPath: caFile) else { throw ConsoleError.input("cannot read the CA file \(caFile)") }
                settings.caFile = URL(fileURLWithPath: caFile).standardizedFileURL.path
                try settings.save(state)
            }
            _ = try state.machineIdentifier()
            struct Installed: Encodable {
                let serviceURL: String
                let tenantID: String
                let fingerprint: String
                let stateDirectory: String
            }
            let installed = Installed(
                serviceURL: read.serviceURL, tenantID: read.tenantID, fingerprint: certificate.fingerprint.grouped,
                stateDirectory: state.root.path)
            if output.json { return try Console.printJSON(installed) }
            print(
                """
                Console bundle installed in \(state.root.path)
                  service:     \(read.serviceURL)
                  tenant:      \(read.tenantID)
                  fingerprint: \(installed.fingerprint)
                Compare the fingerprint with the one the portal shows on its dashboard. Next: assay login
                """)
        }
    }
}
