import Foundation

/// Data files shipped in the server's resource bundle: one entry a line, "#" starts a comment.
enum DataFile {
    static func lines(_ name: String) throws -> [String] {
        guard let url = Bundle.module.url(forResource: "Resources/\(name)", withExtension: "txt") else {
            throw DataFileError.missing(name)
        }
        return try String(contentsOf: url, encoding: .utf8)
            .split(separator: "\n")
            .map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    enum DataFileError: Error, CustomStringConvertible {
        case missing(String)
        var description: String {
            switch self {
            case .missing(let name): "the data file \(name).txt is missing from the server's resources"
            }
        }
    }
}
