import SafeguardCatalogue
import SafeguardCore

/// Why a ledger could not be opened, created or written. Descriptions say what to do and
/// never include event contents.
public enum LedgerError: Error, Equatable, CustomStringConvertible {
    case notFound(path: String)
    case alreadyExists(path: String)
    /// The path holds an empty file (an interrupted init of an older version, say).
    case emptyFile(path: String)
    case notALedger(path: String)
    case newerFormat(path: String, found: Int, supported: Int)
    case readOnly(path: String)
    case busy(path: String)
    /// The draft at `index` (0-based) broke a rule of the log.
    case rejected(RuleViolation, index: Int)
    case invalidEvent(String, index: Int)
    /// The draft at `index` breaks the event catalogue.
    case invalidFacts(CatalogueError, index: Int)
    /// Several drafts of a batch were refused; nothing was appended.
    case refused([Ledger.Refusal])
    case duplicateEventID(String, index: Int)
    /// A signed statement (format 3) whose signature does not verify under the key it names.
    case badStatementSignature(keyID: String, index: Int)
    /// This machine's clock is earlier than the ledger's last recording time.
    case clockBehind(now: Timestamp, last: Timestamp)
    /// This machine's clock is implausibly far ahead of the ledger's last recording time.
    case clockAhead(now: Timestamp, last: Timestamp, maxDays: Int64)
    /// The disk (or the file system's quota) is full.
    case diskFull(path: String)
    /// The file is not as safeguard leaves it (its schema, or a row append builds on).
    case altered(path: String, what: String)
    case sqlite(path: String, message: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "no ledger at \(p): create one with 'safeguard init' or pass --ledger PATH"
        case .alreadyExists(let p): return "\(p) already exists: choose a new path for the ledger (init never overwrites)"
        case .emptyFile(let p):
            return "\(p) is an empty file (0 bytes), not a ledger: perhaps left by an init that was interrupted; if nothing else uses it, remove it ('rm \(p)') and run init again"
        case .notALedger(let p): return "\(p) is not a safeguard ledger: check the --ledger path"
        case .newerFormat(let p, let f, let s):
            return "\(p) uses ledger format \(f), newer than this safeguard reads (\(s)): upgrade safeguard"
        case .readOnly(let p): return "\(p) is read-only: nothing was appended; append to a writable copy or fix the file's permissions"
        case .busy(let p): return "\(p) stayed locked by other writers past the timeout: nothing was appended; try again"
        case .rejected(let v, _): return "\(v.description); nothing was appended"
        case .invalidEvent(let s, _): return "\(s); nothing was appended"
        case .invalidFacts(let e, _): return "\(e); nothing was appended"
        case .refused(let list):
            return "\(list.count) event(s) refused, nothing was appended: " + list.map { "#\($0.index + 1): \($0.reason)" }.joined(separator: " | ")
        case .duplicateEventID(let id, _): return "an event with id \(id) is already in the ledger (was it sent twice?); nothing was appended"
        case .badStatementSignature(let k, _):
            return "the statement's signature does not verify under key \(k): sign it with that key, and change nothing after signing; nothing was appended"
        case .clockBehind(let now, let last):
            return "this machine's clock (\(now)) is \(Self.span(last.seconds - now.seconds)) behind the ledger's last record (\(last)): "
                + "a record cannot be dated before the one it follows; fix the clock (e.g. enable time synchronisation) and try again; nothing was appended"
        case .clockAhead(let now, let last, let days):
            return "this machine's clock (\(now)) is \(Self.span(now.seconds - last.seconds)) ahead of the ledger's last record (\(last)), more than \(days) days: "
                + "fix the clock, or, if the ledger really has not been written to since then, set SAFEGUARD_ALLOW_CLOCK_JUMP=1 for this command; nothing was appended"
        case .diskFull(let p): return "disk full: \(p) could not be written; free space on that disk and try again (nothing was changed)"
        case .altered(let p, let what):
            return "\(p) is not as safeguard leaves it: \(what). Nothing was written; run 'safeguard doctor' and 'safeguard verify', and restore the ledger from a verified copy"
        case .sqlite(let p, let m): return "cannot use the ledger at \(p): \(m)"
        }
    }

    /// A duration as people say it: "3 h 12 min", "2 days 4 h", "45 s".
    static func span(_ seconds: Int64) -> String {
        let s = max(0, seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" + (s % 60 == 0 ? "" : " \(s % 60) s") }
        if s < 86400 { return "\(s / 3600) h" + (s % 3600 / 60 == 0 ? "" : " \(s % 3600 / 60) min") }
        let days = s / 86400
        if days >= 730 { return "\(days / 365) years" }
        return "\(days) day\(days == 1 ? "" : "s")" + (s % 86400 / 3600 == 0 ? "" : " \(s % 86400 / 3600) h")
    }

    /// The reason alone, without "nothing was appended", for lists of refusals.
    public var reason: String {
        switch self {
        case .rejected(let v, _): return v.description
        case .invalidEvent(let s, _): return s
        case .invalidFacts(let e, _): return e.description
        case .duplicateEventID(let id, _): return "event id \(id) is already in the ledger"
        case .badStatementSignature(let k, _): return "the statement's signature does not verify under key \(k)"
        default: return description
        }
    }
}
