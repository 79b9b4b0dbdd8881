import Foundation
import Projections
import SafeguardCore
import SafeguardStore

/// Where this user's read models of a ledger live: in their own folder, not beside the ledger.
/// The read models hold children's coded facts and practitioners' names, and the verifier's
/// record that `project update` trusts as already verified; beside the ledger, anyone who can
/// write the ledger's folder (every writer can: SQLite's WAL needs it) could change both, and
/// with them every report. So each user builds their own, in a folder only they can open:
///
/// - `$SAFEGUARD_PROJECTIONS`, if set: that file (a shared location is then its owner's choice);
/// - otherwise `DIR/projections/NAME-HASH.sqlite`, where DIR is `$SAFEGUARD_HOME`, or
///   `$XDG_STATE_HOME/safeguard`, or `~/.local/state/safeguard`; NAME is the ledger file's name
///   without `.sqlite` and HASH the first 8 hex digits of the SHA-256 of its absolute path.
///   The folders are made mode 0700 and the file 0600.
enum ReadModels {
    static func path(for ledgerPath: String) throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let explicit = env["SAFEGUARD_PROJECTIONS"], !explicit.isEmpty { return explicit }
        let home: String
        if let h = env["SAFEGUARD_HOME"], !h.isEmpty {
            home = h
        } else if let x = env["XDG_STATE_HOME"], !x.isEmpty {
            home = x + "/safeguard"
        } else if let h = env["HOME"], !h.isEmpty {
            home = h + "/.local/state/safeguard"
        } else {
            throw InputError("no folder for the read models: set SAFEGUARD_HOME (or HOME), or SAFEGUARD_PROJECTIONS to a file")
        }
        let folder = home + "/projections"
        for dir in [home, folder] where !FileManager.default.fileExists(atPath: dir) {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw InputError("cannot make the read models' folder \(dir): check that it can be created, or set SAFEGUARD_HOME")
            }
        }
        let absolute = URL(fileURLWithPath: ledgerPath).standardizedFileURL.resolvingSymlinksInPath().path
        let name = (absolute as NSString).lastPathComponent
        let stem = name.hasSuffix(".sqlite") ? String(name.dropLast(7)) : name
        return folder + "/" + stem + "-" + Hex.encode(Array(SHA256.hash(Array(absolute.utf8)).prefix(4))) + ".sqlite"
    }

    /// The read models of `ledger`; with `create`, their file is made (mode 0600) if it is not
    /// there yet, and without, its absence is the read models not built.
    static func engine(_ ledger: Ledger, create: Bool) throws -> ProjectionEngine {
        let path = try path(for: ledger.path)
        ExitStatus.writing = path
        if !FileManager.default.fileExists(atPath: path) {
            guard create else { throw InputError(ProjectionEngine.Failure.notBuilt.description) }
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 {
                fchmod(fd, 0o600)
                close(fd)
            } else if errno == ENOSPC || errno == EDQUOT {
                throw KeyFiles.Failure.diskFull(path)
            }
        }
        return try ProjectionEngine(ledger: ledger, path: path)
    }
}
