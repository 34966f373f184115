/// Text that came from outside the console — a device's standard error, `uname`, a directory's
/// attributes, a service's message — made safe to print on a terminal or keep in a state file.
/// Control characters (C0 but tab, DEL, C1) and the bidirectional overrides that can reorder what
/// a reader sees are replaced by `?`: an escape sequence from a hostile device can neither retitle
/// the window, rewrite earlier lines nor hide part of a message.
public enum TerminalText {
    public static func clean(_ text: some StringProtocol, keepLineBreaks: Bool = false) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if keepLineBreaks, scalar == "\n" {
                result.append(scalar)
            } else if isUnsafe(scalar) {
                result.append("?")
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09: false
        case 0x00...0x1F, 0x7F...0x9F: true
        // Bidirectional embeddings, overrides and isolates (Trojan Source), and the line/paragraph separators.
        case 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029, 0x200E, 0x200F, 0x061C: true
        default: false
        }
    }
}
