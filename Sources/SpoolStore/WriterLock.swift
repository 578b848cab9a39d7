import SpoolModel
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on the database file that marks its one writer.
///
/// The lock lives on a descriptor of its own that stays open until after SQLite has closed the
/// database: closing a descriptor of the file earlier would drop SQLite's own POSIX locks. The
/// kernel releases the lock when the process dies, so a killed writer never leaves a stale lock.
final class WriterLock {
    private var descriptor: Int32

    /// Takes the lock within half a second or throws `StoreError.inUse` naming the holder when it
    /// can be found.
    init(path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StoreError.cannotOpen(path: path, reason: "\(String(cString: strerror(errno))); check the file and its folder exist and are writable")
        }
        // Retry for a moment: a process that just spawned a child shares a lock it released
        // with that child until the child's exec closes the descriptor (a few milliseconds).
        var attempts = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            attempts += 1
            if attempts > 50 {
                let holder = Self.holder(of: fd)
                close(fd)
                throw StoreError.inUse(path: path, holder: holder)
            }
            usleep(10_000)
        }
        descriptor = fd
    }

    deinit { release() }

    /// Releases the lock (call after the SQLite connection is closed).
    func release() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
    }

    /// "process PID (command)" of the flock holder, from /proc/locks, when it can be read.
    private static func holder(of fd: Int32) -> String? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        let inode = UInt64(info.st_ino)
        guard let locks = TextFile.read("/proc/locks") else { return nil }
        for line in locks.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields.contains("FLOCK"),
                  let deviceInode = fields.first(where: { $0.split(separator: ":").count == 3 }),
                  let lockInode = UInt64(deviceInode.split(separator: ":")[2]), lockInode == inode,
                  let pidIndex = fields.firstIndex(where: { $0 == "WRITE" }).map({ $0 + 1 }), pidIndex < fields.count,
                  let pid = Int32(fields[pidIndex]), pid != getpid() else { continue }
            let command = TextFile.read("/proc/\(pid)/comm")?.split(separator: "\n").first.map(String.init)
            return "process \(pid)" + (command.map { " \($0)" } ?? "")
        }
        return nil
    }
}
