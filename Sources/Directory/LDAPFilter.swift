/// RFC 4515 search filters built from values that are data: a host name or a label pasted into a
/// filter can never open, close or widen it.
public enum LDAPFilter {
    /// RFC 4515 §3: in an assertion value, `*`, `(`, `)`, `\` and NUL are written as a backslash and
    /// two hex digits.
    public static func escape(_ value: String) -> String {
        var escaped = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "*": escaped += "\\2a"
            case "(": escaped += "\\28"
            case ")": escaped += "\\29"
            case "\\": escaped += "\\5c"
            case "\u{0}": escaped += "\\00"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// `(attribute=value)` with the value escaped; `attribute` must be an attribute description
    /// (letters, digits, `-`, RFC 4512 §2.5), which the caller names in code, never from input.
    public static func equals(_ attribute: String, _ value: String) -> String {
        precondition(!attribute.isEmpty && attribute.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }, "not an attribute name")
        return "(\(attribute)=\(escape(value)))"
    }
}
