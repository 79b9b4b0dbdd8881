import SafeguardCatalogue
import SafeguardCore

/// Why a ledger could not be opened, created or written. Descriptions say what to do and
/// never include event contents.
public enum LedgerError: Error, Equatable, CustomStringConvertible {
    case notFound(path: String)
    case alreadyExists(path: String)
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
    case sqlite(path: String, message: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "no ledger at \(p): create one with 'safeguard init' or pass --ledger PATH"
        case .alreadyExists(let p): return "\(p) already exists: choose a new path for the ledger (init never overwrites)"
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
        case .sqlite(let p, let m): return "cannot use the ledger at \(p): \(m)"
        }
    }

    /// The reason alone, without "nothing was appended", for lists of refusals.
    public var reason: String {
        switch self {
        case .rejected(let v, _): return v.description
        case .invalidEvent(let s, _): return s
        case .invalidFacts(let e, _): return e.description
        case .duplicateEventID(let id, _): return "event id \(id) is already in the ledger"
        default: return description
        }
    }
}
