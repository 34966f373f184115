import ArgumentParser
import OpenPGPCommands

/// The service's command line. Each subcommand lives in a library target; this file only lists them.
struct AssayServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assay-server",
        abstract: "The Assay service: portal, public API, ingest workers and operator tools.",
        version: "0.1.0",
        subcommands: [KeyCommand.self]
    )
}

AssayServer.main()
