/// The console's failures, each with what to do next; exit codes for scripts.
public enum ConsoleError: Error, CustomStringConvertible, Sendable {
    case usage(String)
    case state(String)
    case notInitialised
    case notSignedIn(String)
    case service(String)
    case refused(String)
    case input(String)

    public var description: String {
        switch self {
        case .usage(let why), .state(let why), .service(let why), .refused(let why), .input(let why): why
        case .notInitialised:
            "this console has no tenant bundle yet: download it from the portal (Dashboard → Download the console bundle) and run `assay init BUNDLE`"
        case .notSignedIn(let why): why
        }
    }

    /// sysexits(3)-style codes.
    public var exitCode: Int32 {
        switch self {
        case .usage: 64
        case .input: 65
        case .notInitialised, .notSignedIn: 77
        case .service: 69
        case .refused: 77
        case .state: 73
        }
    }
}
