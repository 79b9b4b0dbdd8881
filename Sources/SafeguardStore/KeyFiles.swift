import Foundation
import SafeguardCore

/// Reading and writing key files with the permissions a secret deserves.
public enum KeyFiles {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case exists(String)
        case notFound(String)
        case publicNotFound(String)
        case cannotWrite(String)
        case tooOpen(path: String, mode: Int)
        case unreadable(String)
        case badPublicKey(String)

        public var description: String {
            switch self {
            case .exists(let p): return "\(p) already exists: choose another --out path (keys are never overwritten)"
            case .notFound(let p): return "no key file at \(p): check the path, or create one with 'safeguard keys generate'"
            case .publicNotFound(let p): return "no public key file at \(p): check the path (auditors: the root public key comes from the partnership, not from keys generate)"
            case .cannotWrite(let p): return "cannot write \(p): check that the folder exists and is writable"
            case .tooOpen(let p, let m):
                return "secret key file \(p) is readable by others (mode \(String(m, radix: 8))): run 'chmod 600 \(p)' and try again"
            case .unreadable(let p): return "cannot read \(p) as a key file (a small regular file from 'safeguard keys generate'): check the path"
            case .badPublicKey(let p): return "\(p) does not hold a safeguard public key (one line of base64, 44 characters)"
            }
        }
    }

    /// Writes `bytes` to a new file created with mode 0600 (never overwriting), then fsyncs it.
    public static func writeSecret(_ bytes: [UInt8], to path: String) throws {
        try write(bytes, to: path, mode: 0o600)
    }

    /// Writes a public key file: the base64 key on one line, mode 0644.
    public static func writePublic(_ key: PublicKey, to path: String) throws {
        try write(Array((key.base64 + "\n").utf8), to: path, mode: 0o644)
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw Failure.exists(path) }
            throw Failure.cannotWrite(path)
        }
        defer { close(fd) }
        fchmod(fd, mode)  // umask must not loosen or tighten what we meant
        let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count, fsync(fd) == 0 else { throw Failure.cannotWrite(path) }
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
