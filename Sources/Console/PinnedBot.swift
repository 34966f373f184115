/// The SHA-256 of the `assay-bot` built and shipped with this console, written here by
/// `scripts/build-console.sh` for the release it builds and nil in a development build: the bot
/// found beside `assay` must be that one byte for byte.
public enum PinnedBot {
    public static let sha256: String? = nil
}
