import AssayModel
import Foundation
import Logging
import Vapor

/// Starts the service or runs one of its commands (serve, migrate, tenant, quickstart, audit).
public enum AssayServerApplication {
    /// `key` subcommands that act on the catalog (the others work on files, in OpenPGPCommands).
    public static let tenantKeySubcommands = TenantKeyCommands.subcommands

    /// The release this binary was built from.
    public static let version = "0.6.0"

    public static func main(arguments: [String]) async -> Int32 {
        let command = arguments.dropFirst().first { !$0.hasPrefix("-") }
        if command == "version" || (command == nil && arguments.contains("--version")) {
            print("assay-server \(version) (bot document schema \(Schema.version))")
            return 0
        }
        // Help touches nothing: no configuration file is required, no database or key file is made.
        let wantsHelp = arguments.contains("--help") || arguments.contains("-h") || command == "help"
        let configuration: ServerConfiguration
        do {
            configuration = wantsHelp ? ServerConfiguration() : try ServerConfiguration.load()
        } catch {
            FileHandle.standardError.write(Data("assay-server: \(error)\n".utf8))
            return 78  // EX_CONFIG
        }
        var environment = Environment(name: configuration.mode == .production ? "production" : "development", arguments: arguments)
        do {
            if configuration.mode == .production {
                // Structured logs in production; the level still comes from --log or LOG_LEVEL.
                try LoggingSystem.bootstrap(from: &environment) { level in
                    { label in
                        var handler = JSONLogHandler(label: label)
                        handler.logLevel = level
                        return handler
                    }
                }
            } else {
                try LoggingSystem.bootstrap(from: &environment)
            }
        } catch {
            FileHandle.standardError.write(Data("assay-server: \(error)\n".utf8))
            return 64
        }
        let app: Application
        do {
            app = try await Application.make(environment)
        } catch {
            FileHandle.standardError.write(Data("assay-server: \(error)\n".utf8))
            return 70
        }
        // Below info, Vapor writes raw requests with their cookies and Fluent writes query values
        // (password hashes, CSRF tokens) to the log: never go below info (SEC-3).
        if app.logger.logLevel < .info {
            app.logger.logLevel = .info
            app.logger.notice("debug and trace logging would write cookies and query values; logging at info instead")
        }
        var status: Int32 = 0
        do {
            if wantsHelp {
                registerCommands(app)
            } else {
                try await configure(app, configuration: configuration)
                // Workers run with the server, not with one-shot commands.
                if command == nil || command == "serve" { app.lifecycle.use(IngestLifecycle()) }
            }
            try await app.execute()
        } catch {
            FileHandle.standardError.write(Data("assay-server: \(error)\n".utf8))
            status = 1
        }
        try? await app.asyncShutdown()
        return status
    }
}
