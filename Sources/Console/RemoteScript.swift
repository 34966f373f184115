/// The shell scripts the console runs on devices: constants, reviewed here, never assembled from a
/// host name, user name, label or anything a device said. What varies (sizes, the checksum, a
/// directory the device named earlier, file names) arrives on standard input and is checked by
/// the script with `case` patterns before use. Each script is run as `exec /bin/sh -c '…'`,
/// whatever the account's login shell is, so none contains a single quote.
///
/// Exit codes the console reads: 0 done; 65 not Linux; 66 the bot arrived damaged; 67 the bot
/// failed; 68 a tool the script needs is missing; 69 the console's input was malformed; 71 the
/// campaign's directory is gone; 74 the bot ran past its time limit and was stopped.
public struct RemoteScript: Sendable {
    public let name: String
    public let body: String

    init(name: String, body: String) {
        precondition(!body.contains("'"), "a remote script is single-quoted: it cannot contain a single quote")
        self.name = name
        self.body = body
    }

    /// What ssh sends as the remote command.
    public var command: String { "exec /bin/sh -c '\(body)'" }

    /// Common start: no core files, private files, a Linux check, the tools present. `fail`
    /// reads what is left of the input first, so the console never writes into a closed pipe.
    static let prologue = """
        umask 077
        # The environment of the account may set any of these (a login shell profile, the sshd
        # environment file): none may reach the rm -rf of the EXIT trap, or a test below, before it is ours.
        unset -v d e f n s code pid running idle bounded lines line status why started elapsed botsize botsum limit rest system tool
        d=""
        e=""
        unset IFS
        ulimit -c 0 2>/dev/null
        fail() { code=$1; shift; cat >/dev/null 2>&1; echo "assay: $*" >&2; exit "$code"; }
        system=$(uname -s 2>/dev/null)
        [ "$system" = Linux ] || fail 65 "not Linux: ${system:-unknown}"
        for tool in mktemp sha256sum cat rm wc nice date gzip head; do command -v "$tool" >/dev/null 2>&1 || fail 68 "$tool is missing"; done

        """

    /// Reads `BOTSIZE SHA256 LIMIT` (seconds the bot may run) then the armored key (to its END line), then the bot itself; checks
    /// size and checksum before the bot may run, and moves to the home directory when the
    /// temporary one is mounted noexec. Leaves `$d` set to the private directory.
    static let receiveBot = """
        IFS=" " read -r botsize botsum limit rest || fail 69 "no header"
        case "$botsize" in ""|*[!0-9]*) fail 69 "bad size";; esac
        case "$limit" in ""|*[!0-9]*) fail 69 "bad time limit";; esac
        case "$botsum" in *[!0-9a-f]*) fail 69 "bad checksum";; esac
        [ ${#botsum} -eq 64 ] || fail 69 "bad checksum"
        d=$(mktemp -d "${TMPDIR:-$DEFAULT_DIR}/$PREFIX.XXXXXXXXXX") || fail 68 "cannot make a private directory"
        : > "$d/tenant.asc"
        lines=0
        while IFS= read -r line; do
          lines=$((lines + 1)); [ $lines -le 400 ] || fail 69 "key too long"
          printf "%s\\n" "$line" >> "$d/tenant.asc"
          [ "$line" = "-----END PGP PUBLIC KEY BLOCK-----" ] && break
        done
        # The bot arrives gzip-compressed; at most one byte more than announced is unpacked.
        gzip -dc 2>/dev/null | head -c $((botsize + 1)) > "$d/assay-bot"
        [ "$(wc -c < "$d/assay-bot")" -eq "$botsize" ] || { echo "assay: the bot arrived incomplete" >&2; exit 66; }
        set -- $(sha256sum "$d/assay-bot")
        [ "$1" = "$botsum" ] || { echo "assay: the bot checksum does not match" >&2; exit 66; }
        chmod 700 "$d/assay-bot"
        if ! "$d/assay-bot" version >/dev/null 2>&1; then
          # A temporary directory mounted noexec (a common hardening): the home directory instead.
          e=$(mktemp -d "$HOME/$PREFIX.XXXXXXXXXX") || { echo "assay: the bot cannot run in $d and no directory in $HOME" >&2; exit 67; }
          # The EXIT trap removes $d: until the move succeeds, $e is for this branch to remove.
          mv "$d/assay-bot" "$d/tenant.asc" "$e/" || { rm -rf "$e"; echo "assay: the bot cannot run in $d and cannot move to $HOME" >&2; exit 67; }
          rm -rf "$d"
          d=$e
          "$d/assay-bot" version >/dev/null 2>&1 || { echo "assay: the bot cannot run here: $("$d/assay-bot" version 2>&1 | tail -c 200)" >&2; exit 67; }
        fi
        if command -v ionice >/dev/null 2>&1; then idle="ionice -c 3"; else idle=""; fi

        """

    /// Inventory (CON-2, COL-6): copy, verify, run at low priority, print the encrypted file,
    /// remove everything — also when the connection drops or the bot is killed.
    public static let inventory = RemoteScript(
        name: "inventory",
        body: prologue + """
            DEFAULT_DIR=/tmp PREFIX=assay-inventory
            trap "[ -n \\"\\$d\\" ] && rm -rf \\"\\$d\\"" EXIT
            trap "exit 70" HUP INT TERM PIPE
            """ + "\n" + receiveBot + """
                # The bot never outlives the patience of the console: a hung run is stopped here, on the
                # device, not left behind when the console gives up on the connection.
                if command -v timeout >/dev/null 2>&1; then bounded="timeout -k 5 $limit"; else bounded=""; fi
                started=$(date +%s)
                $bounded nice -n 10 $idle "$d/assay-bot" inventory --recipient "$d/tenant.asc" --out "$d/inventory.pgp" 2> "$d/bot.err"
                status=$?
                elapsed=$(($(date +%s) - started))
                if [ -n "$bounded" ] && [ $elapsed -ge "$limit" ] && { [ $status -eq 124 ] || [ $status -eq 137 ]; }; then
                  echo "assay: the bot ran longer than $limit s and was stopped" >&2
                  exit 74
                fi
                if [ $status -ne 0 ]; then
                  if [ $status -gt 128 ]; then why="killed by signal $((status - 128))"; else why="exit status $status"; fi
                  echo "assay: the bot failed ($why): $(tail -c 300 "$d/bot.err" 2>/dev/null | tr -d "\\000")" >&2
                  exit 67
                fi
                cat "$d/inventory.pgp"
                """)

    /// Consumption, first step: start the sampler detached in a private directory that stays until
    /// the campaign ends. Reads one more line first: `INTERVAL BUCKET DURATION FILE_EVERY`.
    public static let startSampler = RemoteScript(
        name: "start-sampler",
        body: prologue + """
            DEFAULT_DIR=/var/tmp PREFIX=assay-sampler
            IFS=" " read -r interval bucket duration every rest || fail 69 "no schedule"
            for value in "$interval" "$bucket" "$duration" "$every"; do
              case "$value" in ""|*[!0-9smhd]*) fail 69 "bad schedule";; esac
            done
            trap "[ -n \\"\\$d\\" ] && rm -rf \\"\\$d\\"" EXIT
            trap "exit 70" HUP INT TERM PIPE
            """ + "\n" + receiveBot + """
                mkdir "$d/out" || exit 68
                nohup nice -n 10 $idle "$d/assay-bot" sample --recipient "$d/tenant.asc" --out-dir "$d/out" --interval "$interval" \\
                  --bucket "$bucket" --duration "$duration" --file-every "$every" < /dev/null > /dev/null 2> "$d/bot.err" &
                pid=$!
                sleep 1
                if ! kill -0 "$pid" 2>/dev/null; then
                  echo "assay: the sampler stopped at once: $(tail -c 300 "$d/bot.err" 2>/dev/null)" >&2
                  exit 67
                fi
                echo "$pid" > "$d/pid"
                trap - EXIT
                echo "STARTED $d $pid"
                """)

    /// Reads the campaign directory from the first input line and checks it is one of ours.
    static let campaignDirectory = """
        IFS= read -r d || fail 69 "no directory"
        case "$d" in *[!A-Za-z0-9/._-]*|*..*|"") fail 69 "bad directory";; */assay-sampler.*) ;; *) fail 69 "bad directory";; esac
        [ -d "$d/out" ] || fail 71 "the campaign directory is gone"
        running=no
        pid=$(cat "$d/pid" 2>/dev/null)
        case "$pid" in ""|*[!0-9]*) pid="";; esac
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q assay-bot "/proc/$pid/cmdline" 2>/dev/null; then running=yes; fi

        """

    /// Every finished file as `FILE NAME SIZE` then its bytes; `END yes|no` (still sampling?).
    static let sendFinished = """
        for f in "$d"/out/*.pgp; do
          [ -f "$f" ] || continue
          n=${f##*/}
          s=$(wc -c < "$f")
          echo "FILE $n $s"
          cat "$f"
        done
        echo "END $running"
        """

    /// Consumption: hand over the finished files (they stay until `removeFetched`).
    public static let collect = RemoteScript(name: "collect", body: prologue + campaignDirectory + sendFinished)

    /// Consumption: end the sampler (it writes the period in progress), then hand over the files.
    public static let stopSampler = RemoteScript(
        name: "stop-sampler",
        body: prologue + campaignDirectory + """
            if [ "$running" = yes ]; then
              kill -TERM "$pid" 2>/dev/null
              waited=0
              while kill -0 "$pid" 2>/dev/null && [ $waited -lt 150 ]; do sleep 0.1; waited=$((waited + 1)); done
              kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
              running=no
            fi
            """ + "\n" + sendFinished)

    /// Consumption: remove files the console holds now (names on the following input lines), and
    /// with `FINISH` as the last line, the whole directory with the bot.
    public static let removeFetched = RemoteScript(
        name: "remove-fetched",
        body: prologue + campaignDirectory + """
            while IFS= read -r n; do
              case "$n" in
                FINISH) [ "$running" = yes ] && kill -TERM "$pid" 2>/dev/null; rm -rf "$d"; echo "REMOVED"; exit 0;;
                ""|.*|*[!A-Za-z0-9._-]*) continue;;
                *.pgp) rm -f "$d/out/$n";;
              esac
            done
            echo "KEPT"
            """)
}
