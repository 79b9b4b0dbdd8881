import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes `data` to `path` readable and writable by its owner only (mode 0600, whatever the
/// umask), whole or not at all: a new file beside it, synced, then renamed over `path`. A
/// report or a bundle holds case ids and figures about children; who else may read it is the
/// analyst's choice to make (chmod), not the umask's.
func writePrivately(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).partial").path
    let fd = Glibc.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw PrivateFileError(reason: String(cString: strerror(errno))) }
    var ok = fchmod(fd, 0o600) == 0
    data.withUnsafeBytes { raw in
        var offset = 0
        while ok, offset < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { ok = false } else { offset += n }
        }
    }
    let reason = ok ? "" : String(cString: strerror(errno))
    ok = ok && fsync(fd) == 0
    close(fd)
    guard ok, rename(temp, path) == 0 else {
        let why = reason.isEmpty ? String(cString: strerror(errno)) : reason
        unlink(temp)
        throw PrivateFileError(reason: why)
    }
}

struct PrivateFileError: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
