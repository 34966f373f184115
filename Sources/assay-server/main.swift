import AssayServer
import Foundation
import OpenPGPCommands

// Files the server creates (catalog, outbox, keys) are readable by the service account only.
umask(0o077)

// Key tools are plain ArgumentParser commands; everything else belongs to the Vapor application.
let arguments = CommandLine.arguments
if arguments.count > 1, arguments[1] == "key" {
    KeyCommand.main(Array(arguments.dropFirst(2)))
} else {
    exit(await AssayServerApplication.main(arguments: arguments))
}
