import ArgumentParser
import AssayServer
import Foundation
import OpenPGPCommands

// Files the server creates (catalog, outbox, keys) are readable by the service account only.
umask(0o077)

// One `key` tree, two halves: keys in files (generate, export, inspect, encrypt, decrypt) are plain
// ArgumentParser commands; the tenant keys in the catalog (public, rotate, unlock, rotate-kek) need
// the Vapor application.
let arguments = CommandLine.arguments
if arguments.count > 1, arguments[1] == "key", !AssayServerApplication.tenantKeySubcommands.contains(arguments.dropFirst(2).first ?? "") {
    KeyCommand.main(Array(arguments.dropFirst(2)))
} else {
    exit(await AssayServerApplication.main(arguments: arguments))
}
