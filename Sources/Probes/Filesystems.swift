import AssayModel

#if canImport(Glibc)
    import Glibc
#endif

/// /proc/self/mountinfo (proc(5)) for mounts, statvfs(3) for size and use.
public enum MountInfoParser {
    public struct Mount: Equatable, Sendable {
        public let mountPoint: String
        public let type: String
        public let device: String
    }

    /// File systems that hold data; pseudo file systems (proc, cgroup, tmpfs …) are left out.
    static let dataFilesystems: Set<String> = [
        "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "vfat", "exfat", "ntfs", "ntfs3", "f2fs", "jfs", "reiserfs",
        "nfs", "nfs4", "cifs", "smb3", "overlay", "ceph", "glusterfs", "fuse.glusterfs", "gfs2", "ocfs2", "hfsplus", "iso9660",
    ]

    public static func parse(_ text: String) -> [Mount] {
        var mounts: [Mount] = []
        var seen = Set<String>()
        for line in text.split(separator: "\n").prefix(10_000) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            // id parent major:minor root mountpoint options [optional…] - type source superoptions
            guard fields.count >= 10, let dash = fields.firstIndex(of: "-"), dash >= 6, dash + 2 < fields.count else { continue }
            let type = String(fields[dash + 1])
            guard dataFilesystems.contains(type) else { continue }
            let mountPoint = unescape(String(fields[4]))
            guard seen.insert(mountPoint).inserted else { continue }
            mounts.append(Mount(mountPoint: mountPoint, type: type, device: unescape(String(fields[dash + 2]))))
        }
        return mounts
    }

    /// Spaces, tabs, newlines and backslashes are written as octal escapes (\040 …).
    static func unescape(_ value: String) -> String {
        guard value.contains("\\") else { return value }
        var bytes: [UInt8] = []
        let utf8 = Array(value.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
                let octal = UInt8(String(decoding: utf8[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(octal)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func probe(_ source: SystemSource, warnings: WarningLog) -> [Filesystem] {
        guard let text = source.text("/proc/self/mountinfo", limit: 8 << 20) else {
            warnings.add("filesystems", "/proc/self/mountinfo is not readable")
            return []
        }
        return parse(text).compactMap { mount in
            guard let usage = FilesystemUsage.read(source, mount.mountPoint) else {
                if source.isLive { warnings.add("filesystems", "statvfs failed for \(mount.mountPoint)") }
                return nil
            }
            return Filesystem(mountPoint: mount.mountPoint, type: mount.type, device: mount.device, sizeBytes: usage.size, usedBytes: usage.used)
        }
    }
}

public enum FilesystemUsage {
    /// Size and used bytes as df(1) shows them (used = blocks − free).
    public static func read(_ source: SystemSource, _ mountPoint: String) -> (size: Int64, used: Int64)? {
        guard source.isLive else { return nil }
        var info = statvfs()
        guard statvfs(mountPoint, &info) == 0 else { return nil }
        let fragment = Int64(info.f_frsize)
        return (Int64(info.f_blocks) * fragment, (Int64(info.f_blocks) - Int64(info.f_bfree)) * fragment)
    }
}
