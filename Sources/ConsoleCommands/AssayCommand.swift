import ArgumentParser
import Console
import Foundation

/// `assay`: the console an IT team runs inside its network (CON-1 … CON-6).
public struct AssayCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "assay",
        abstract: "Find your devices, inventory them over SSH, and bring the encrypted results to Assay.",
        discussion: """
            Start with the console bundle from the portal (Dashboard → Download the console bundle):
              assay init assay-console-bundle.json
              assay login
              assay devices import devices.csv        (or: assay devices discover --ldap ldaps://dc.example …)
              assay scan inventory
            Exit codes: 0 done; 3 some devices did not finish (see their status); 64 usage; 65 bad input;
            69 the service cannot be reached; 73 the state directory cannot be written; 77 not signed in or refused.
            """,
        version: ConsoleVersion.current,
        subcommands: [
            InitCommand.self, LoginCommand.self, LogoutCommand.self, StatusCommand.self, DevicesCommand.self, ScanCommand.self, UploadCommand.self,
            SettingsCommand.self,
        ]
    )

    public init() {}

    /// The executable's entry point: a device that hangs up must not kill the console with SIGPIPE.
    public static func entry() async {
        signal(SIGPIPE, SIG_IGN)
        await main()
    }
}
