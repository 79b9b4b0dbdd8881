import ArgumentParser
import Foundation
import GRDB
import SafeguardCore
import SafeguardPostgres
import SafeguardService
import SafeguardStore

/// The one place exit codes are decided (documented in README.md and `safeguard --help`).
enum ExitStatus {
    static let ok: Int32 = 0
    static let verificationFailed: Int32 = 1
    static let usage: Int32 = 2
    static let refused: Int32 = 3
    static let unusable: Int32 = 4

    /// The exit code for one of our own errors; nil for argument-parser's (usage, help).
    static func code(for error: Error) -> Int32? {
        if isDiskFull(error) { return unusable }
        switch error {
        case let e as ServiceError: return e.exitCode
        case is Ledger.WrongLogKey: return usage
        case is VerificationFailure, is ProofRefused, is Merkle.ProofError: return verificationFailed
        case let e as SignedNote.Failure:
            if case .malformed = e { return refused }
            return verificationFailed
        case let e as Ledger.CheckpointRefusal:
            switch e {
            case .inconsistent: return verificationFailed
            case .untrusted: return usage
            case .otherRoot, .notBound: return refused
            case .empty, .notStored: return unusable
            }
        case is ProofText.Failure, is WitnessConflict, is ProofInputError: return refused
        case is AuditState.Invalid: return unusable
        case is EvidenceBundle.Failure: return verificationFailed
        case let e as LedgerError:
            switch e {
            case _ where e.isRefusal: return refused
            default: return unusable
            }
        case is InputError, is BatchRefused, is Envelope.Invalid, is JSONParser.Failure, is KeyFile.Failure, is RuleViolation,
            is PassphraseBox.Failure, is CanonicalJSON.Failure:
            return refused
        case let e as KeyFiles.Failure:
            if case .tooOpen = e { return refused }
            if case .badPublicKey = e { return refused }
            return unusable
        case is DatabaseError, is PostgresStoreError: return unusable
        case is PostgresURL.Invalid: return usage
        default: return nil
        }
    }

    /// A full disk or quota, however it reached us: SQLite's SQLITE_FULL, a file write's ENOSPC,
    /// or an I/O error while a file system this command writes to is (nearly) full.
    static func isDiskFull(_ error: Error) -> Bool {
        if case LedgerError.diskFull = error { return true }
        if case KeyFiles.Failure.diskFull = error { return true }
        return DiskSpace.isFull(error, near: nil) || (error is DatabaseError && DiskSpace.isFull(error, near: writing))
    }

    /// The file this command writes to besides the ledger (the read models), for telling a full
    /// disk from another I/O error.
    nonisolated(unsafe) static var writing: String?

    static func message(for error: Error) -> String {
        if isDiskFull(error), !(error is LedgerError), !(error is KeyFiles.Failure) {
            return "disk full: a file could not be written; free space on that disk and try again (what was being written was not kept)"
        }
        if let e = error as? DatabaseError { return "a database file could not be used (\(e.message ?? "\(e.resultCode)")): check the disk and the file's permissions" }
        if error is BatchRefused { return String(describing: error) }
        if let f = error as? VerificationFailure { return "the log does not verify, so nothing was built from it: \(f)" }
        return String(describing: error).replacingOccurrences(of: "\n", with: " ")
    }
}

/// Several lines of an import refused: one error line each, then a summary.
struct BatchRefused: Error, CustomStringConvertible {
    let lines: [(line: Int, reason: String)]
    let total: Int
    /// At most this many lines are listed (a ledger-wide reason, such as the clock, refuses every line alike).
    static let shown = 100
    var description: String {
        lines.prefix(Self.shown).map { "line \($0.line): \($0.reason)" }.joined(separator: "\nerror: ")
            + (lines.count > Self.shown ? "\nerror: ... and \(lines.count - Self.shown) more lines refused (the first \(Self.shown) are listed)" : "")
            + "\nerror: \(lines.count) of \(total) events refused; nothing was appended"
    }
}

/// Input a person gave that cannot be used; the message says what to fix.
struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
