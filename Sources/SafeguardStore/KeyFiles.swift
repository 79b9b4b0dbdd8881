import Foundation
import GRDB
import SafeguardCore

/// Reading and writing key files with the permissions a secret deserves.
public enum KeyFiles {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case exists(String)
        case notFound(String)
        case publicNotFound(String)
        case cannotWrite(String)
        case diskFull(String)
        case tooOpen(path: String, mode: Int)
        case unreadable(String)
        case badPublicKey(String)

        public var description: String {
            switch self {
            case .exists(let p): return "\(p) already exists: choose another --out path (keys are never overwritten)"
            case .notFound(let p): return "no key file at \(p): check the path, or create one with 'safeguard keys generate'"
            case .publicNotFound(let p): return "no public key file at \(p): check the path (auditors: the root public key comes from the partnership, not from keys generate)"
            case .cannotWrite(let p): return "cannot write \(p): check that the folder exists and is writable"
            case .diskFull(let p): return "disk full: \(p) could not be written; free space on that disk and try again (nothing was written)"
            case .tooOpen(let p, let m):
                return "secret key file \(p) is readable by others (mode \(String(m, radix: 8))): run 'chmod 600 \(p)' and try again"
            case .unreadable(let p): return "cannot read \(p) as a key file (a small regular file from 'safeguard keys generate'): check the path"
            case .badPublicKey(let p): return "\(p) does not hold a safeguard public key (one line of base64, 44 characters)"
            }
        }
    }

    /// Writes `bytes` to a new file created with mode 0600 (never overwriting), durably.
    public static func writeSecret(_ bytes: [UInt8], to path: String) throws {
        try write(bytes, to: path, mode: 0o600)
    }

    /// Writes a public key file: the base64 key on one line, mode 0644.
    public static func writePublic(_ key: PublicKey, to path: String) throws {
        try write(Array((key.base64 + "\n").utf8), to: path, mode: 0o644)
    }

    /// Writes a key pair: the secret file and `PATH.pub`, both or neither (a public file that
    /// cannot be written takes the secret one with it, so a retry finds the paths free).
    public static func writePair(_ secret: [UInt8], _ key: PublicKey, to path: String) throws {
        try writeSecret(secret, to: path)
        do { try writePublic(key, to: path + ".pub") } catch {
            unlink(path)
            throw error
        }
    }

    /// The whole file is written and flushed under a temporary name in the same folder, then
    /// linked to `path` (which fails if `path` exists: a key is never overwritten) and the
    /// temporary name removed. A full disk, a crash or a kill part way leaves nothing at `path`,
    /// so the same command can simply be run again.
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure(errno, path) }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        fchmod(fd, mode)  // umask must not loosen or tighten what we meant
        let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let writeErrno = errno
        guard n == bytes.count else { close(fd); throw failure(n < 0 ? writeErrno : ENOSPC, path) }
        guard fsync(fd) == 0 else { let e = errno; close(fd); throw failure(e, path) }
        guard close(fd) == 0 else { throw failure(errno, path) }
        guard link(tmp, path) == 0 else { throw failure(errno, path) }
        ok = true
        unlink(tmp)
        syncFolder(of: path)
    }

    static func failure(_ code: Int32, _ path: String) -> Failure {
        switch code {
        case EEXIST: return .exists(path)
        case ENOSPC, EDQUOT: return .diskFull(path)
        default: return .cannotWrite(path)
        }
    }

    /// Flushes the folder holding `path`, so that a new name in it survives a power cut.
    public static func syncFolder(of path: String) {
        let folder = (path as NSString).deletingLastPathComponent
        let fd = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Reads a secret key file, refusing one that group or others can read or write.
    public static func readSecret(_ path: String) throws -> [UInt8] {
        var st = stat()
        guard stat(path, &st) == 0 else { throw Failure.notFound(path) }
        let mode = Int(st.st_mode & 0o777)
        guard mode & 0o077 == 0 else { throw Failure.tooOpen(path: path, mode: mode) }
        // A key file is a small regular file: never a device, a pipe or a folder.
        guard st.st_mode & S_IFMT == S_IFREG, st.st_size <= 4096, let data = FileManager.default.contents(atPath: path) else { throw Failure.unreadable(path) }
        return [UInt8](data)
    }

    /// Reads a public key file (or a key given inline as base64).
    public static func readPublic(_ path: String) throws -> PublicKey {
        var st = stat()
        guard stat(path, &st) == 0 else { throw Failure.publicNotFound(path) }
        guard st.st_mode & S_IFMT == S_IFREG, st.st_size <= 4096, let data = FileManager.default.contents(atPath: path) else { throw Failure.badPublicKey(path) }
        let text = String(decoding: data.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = PublicKey(base64: text) else { throw Failure.badPublicKey(path) }
        return key
    }
}

/// Whether an error means the disk (or quota) holding `path` is full: SQLite's SQLITE_FULL, a
/// file write's ENOSPC or EDQUOT, or an I/O error while that file system has less than 1 MiB
/// left (SQLite reports some full-disk writes, to its journal or WAL, only as I/O errors).
public enum DiskSpace {
    public static func isFull(_ error: Error, near path: String?) -> Bool {
        if let e = error as? DatabaseError {
            if e.resultCode == .SQLITE_FULL { return true }
            if e.resultCode == .SQLITE_IOERR, let path { return nearlyFull(path) }
            return false
        }
        var e: NSError? = error as NSError
        while let n = e {
            if n.domain == NSPOSIXErrorDomain, n.code == Int(ENOSPC) || n.code == Int(EDQUOT) { return true }
            e = n.userInfo[NSUnderlyingErrorKey] as? NSError
        }
        return false
    }

    /// Less than 1 MiB free for an ordinary user on the file system holding `path` (or its folder).
    public static func nearlyFull(_ path: String) -> Bool {
        var st = statvfs()
        let folder = (path as NSString).deletingLastPathComponent
        guard statvfs(path, &st) == 0 || statvfs(folder.isEmpty ? "." : folder, &st) == 0 else { return false }
        return UInt64(st.f_bavail) * UInt64(st.f_frsize) < 1 << 20
    }
}
