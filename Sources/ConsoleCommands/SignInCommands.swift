import ArgumentParser
import Console
import Foundation

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Sign in as a user with the write claim; keeps a 90-day grant and a 12-hour upload token in token.txt (CON-3).",
        discussion: "The password is never taken from the command line: it is asked on the terminal, or read from --password-file or standard input.")

    @Option(help: "Your e-mail address (asked if missing).")
    var email: String?

    @OptionGroup var secret: SecretOptions

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            let installed = try InstalledBundle.load(state)
            let settings = try ConsoleSettings.load(state)
            let address = try email ?? Terminal.readLineVisible(prompt: "E-mail: ")
            guard !address.isEmpty, address.utf8.count <= 254 else { throw ConsoleError.usage("an e-mail address is needed (--email)") }
            let password = try secret.password(prompt: "Password")
            guard !password.isEmpty else { throw ConsoleError.usage("a password is needed") }
            let machine = try state.machineIdentifier()
            let credentials = try await installed.withClient(settings) { client in
                let credentials = try await signIn(client, email: address, password: password, machine: machine)
                guard credentials.tenantID.lowercased() == installed.bundle.tenantID.lowercased() else {
                    try? await client.revoke(grant: credentials.grant)
                    throw ConsoleError.refused("this account belongs to another tenant than the console's bundle: signed out again")
                }
                do { try installed.binding.check(credentials) } catch {
                    try? await client.revoke(grant: credentials.grant)
                    throw error
                }
                return credentials
            }
            let stored = StoredSignIn(email: address, signedInAt: Date(), binding: installed.binding, credentials)
            try installed.signIns(state).save(stored)
            if output.json { return try Console.printJSON(SignInSummary(stored)) }
            print("Signed in as \(address) until \(stored.grantExpiresAt.formatted(.iso8601)); the upload token renews by itself.")
        }
    }
}

extension LoginCommand {
    /// Password, then the e-mailed code for as long as the service allows tries.
    func signIn(_ client: ServiceClient, email: String, password: String, machine: String) async throws -> ServiceClient.Credentials {
        switch try await client.signIn(email: email, password: password, machineID: machine) {
        case .signedIn(let issued): return issued
        case .codeSent(let attempt):
            Console.say("A 7-digit code was sent to \(email).")
            while true {
                let code = try Console.secret(prompt: "Code", file: nil, fromStandardInput: secret.passwordStandardInput)
                    .trimmingCharacters(in: .whitespaces)
                switch try await client.code(attempt: attempt, code: code, machineID: machine) {
                case .signedIn(let credentials): return credentials
                case .wrongCode(let remaining):
                    guard remaining > 0 else { throw ConsoleError.refused("the code was wrong too often: sign in again") }
                    Console.say("That code is wrong; \(remaining) tries left.")
                }
            }
        }
    }
}

struct SignInSummary: Encodable {
    let email: String
    let tenantID: String
    let signedInAt: Date
    let grantExpiresAt: Date
    let uploadTokenExpiresAt: Date

    init(_ signIn: StoredSignIn) {
        email = signIn.email
        tenantID = signIn.tenantID
        signedInAt = signIn.signedInAt
        grantExpiresAt = signIn.grantExpiresAt
        uploadTokenExpiresAt = signIn.uploadTokenExpiresAt
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "Revoke this console's grant and upload token, and forget them.")

    @OptionGroup var stateOptions: StateOptions

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            let installed = try InstalledBundle.load(state)
            let store = installed.signIns(state)
            guard let signIn = try store.load() else { return print("Nobody is signed in on this console.") }
            try store.checkBinding(signIn)
            do {
                try await installed.withClient(try ConsoleSettings.load(state)) { try await $0.revoke(grant: signIn.grant) }
            } catch {
                throw ConsoleError.service("the service could not be told (\(error)); token.txt is kept so that you can try again")
            }
            try store.remove()
            print("Signed out: the grant and the upload token of \(signIn.email) are revoked.")
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Who is signed in and until when, the devices, and what waits to be uploaded.")

    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var output: OutputOptions

    struct Status: Encodable {
        var stateDirectory: String
        var serviceURL: String?
        var tenantID: String?
        var signedIn: SignInSummary?
        var signInEnded: Bool
        var devices: Int
        var waitingUploads: Int
        var waitingBytes: Int
        var rejectedUploads: Int
        var sampling: Int
    }

    func run() async throws {
        try await Console.guarded {
            let state = try stateOptions.state()
            let installed = try? InstalledBundle.load(state)
            let signIn = try installed.map { try $0.signIns(state).load() } ?? nil
            let pending = try Spool(state: state).pending()
            let rejected = (try? FileManager.default.contentsOfDirectory(atPath: state.rejected.path).filter { $0.hasSuffix(".pgp") }.count) ?? 0
            let sampling = (try? ConsumptionCampaign.runs(in: state).filter { $0.state == "sampling" }.count) ?? 0
            let status = Status(
                stateDirectory: state.root.path, serviceURL: installed?.bundle.serviceURL, tenantID: installed?.bundle.tenantID,
                signedIn: signIn.map(SignInSummary.init), signInEnded: signIn.map { $0.grantExpiresAt <= Date() } ?? false,
                devices: try DeviceStore(state: state).load().count, waitingUploads: pending.count,
                waitingBytes: pending.reduce(0) { $0 + $1.metadata.bytes }, rejectedUploads: rejected, sampling: sampling)
            if output.json { return try Console.printJSON(status) }
            print("State:    \(status.stateDirectory)")
            if let installed {
                print("Service:  \(installed.bundle.serviceURL)  tenant \(installed.bundle.tenantID)")
            } else {
                print("Service:  none yet (assay init BUNDLE)")
            }
            if let signIn {
                if status.signInEnded {
                    print("Sign-in:  \(signIn.email): ended \(signIn.grantExpiresAt.formatted(.iso8601)) — run `assay login`")
                } else {
                    print(
                        "Sign-in:  \(signIn.email), until \(signIn.grantExpiresAt.formatted(.iso8601)); upload token until \(signIn.uploadTokenExpiresAt.formatted(.iso8601))"
                    )
                }
            } else {
                print("Sign-in:  nobody (assay login)")
            }
            print("Devices:  \(status.devices) listed, \(status.sampling) sampling")
            print(
                "Spool:    \(status.waitingUploads) file(s), \(status.waitingBytes) bytes waiting\(rejected > 0 ? "; \(rejected) refused by the service in \(state.rejected.path)" : "")"
            )
        }
    }
}
