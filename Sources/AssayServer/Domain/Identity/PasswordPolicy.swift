/// AUTH-4 and ASVS 2.1: at least 8 characters with a lower-case letter, an upper-case letter,
/// a digit and a symbol; at most 128 characters kept whole (never truncated) — longer is refused
/// rather than cut; Unicode and long passphrases welcome; never the e-mail's local part.
public enum PasswordPolicy {
    public static let minimumLength = 8
    public static let maximumLength = 256

    public enum Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        case tooShort, tooLong, noLowercase, noUppercase, noDigit, noSymbol, containsEmail

        public var description: String {
            switch self {
            case .tooShort: "use at least \(PasswordPolicy.minimumLength) characters"
            case .tooLong: "use at most \(PasswordPolicy.maximumLength) characters"
            case .noLowercase: "add a lower-case letter"
            case .noUppercase: "add an upper-case letter"
            case .noDigit: "add a digit"
            case .noSymbol: "add a symbol (such as ! ? # or a space)"
            case .containsEmail: "do not use your e-mail name in the password"
            }
        }
    }

    /// Every rule the password breaks, in a stable order, so a form can list them all at once.
    public static func violations(_ password: String, email: String?) -> [Rejection] {
        var problems: [Rejection] = []
        if password.count < minimumLength { problems.append(.tooShort) }
        if password.count > maximumLength { problems.append(.tooLong) }
        if !password.contains(where: \.isLowercase) { problems.append(.noLowercase) }
        if !password.contains(where: \.isUppercase) { problems.append(.noUppercase) }
        if !password.contains(where: \.isNumber) { problems.append(.noDigit) }
        if !password.contains(where: { !$0.isLetter && !$0.isNumber }) { problems.append(.noSymbol) }
        if let email, let local = email.split(separator: "@").first, local.count >= 3,
            password.lowercased().contains(local.lowercased())
        {
            problems.append(.containsEmail)
        }
        return problems
    }
}
