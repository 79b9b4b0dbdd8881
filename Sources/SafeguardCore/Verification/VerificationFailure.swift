/// The first thing wrong with a ledger: where (sequence number, event id when readable) and why.
public struct VerificationFailure: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case empty
        case missingEvents(expected: Int64, found: Int64)
        case outOfOrder(expected: Int64, found: Int64)
        case truncatedAfterGenesis
        case oversized(bytes: Int)
        case notCanonical(String)
        case invalidEnvelope(String)
        case seqMismatch(envelopeSeq: Int64)
        case untrustedRoot(named: String, trusted: String)
        case badSignature(keyID: String)
        /// Format 3: the entry's signature does not verify under the log key in force.
        case badLogSignature(keyID: String)
        case entryHashMismatch(stored: String, computed: String)
        case columnMismatch(column: String)
        case duplicateEventID
        case malformedRow(column: String)
        case treeMismatch
        case detailsMismatch(String)
        /// One of the format's tables, indexes or triggers is missing or not defined as the
        /// format defines it (docs/FORMAT.md §10).
        case alteredTable(String)
        /// The file holds a table, index, trigger or view that is not part of the format.
        case unknownSchemaObject(String)
        /// An index of the events table does not hold exactly one entry for each row.
        case indexMismatch(String)
        /// Recorded after the verifier's own clock (plus the skew it allows): a time no honest
        /// recording machine gave (docs/FORMAT.md §8.5).
        case recordedAfterClock(recorded: Timestamp, clock: Timestamp)
        case rule(RuleViolation)
    }

    public let seq: Int64
    public let eventID: String?
    public let reason: Reason

    public init(seq: Int64, eventID: String?, reason: Reason) {
        self.seq = seq; self.eventID = eventID; self.reason = reason
    }

    /// A short code for the kind of failure, for `--json` output and tests.
    public var code: String {
        switch reason {
        case .empty: return "empty"
        case .missingEvents: return "missing_events"
        case .outOfOrder: return "out_of_order"
        case .truncatedAfterGenesis: return "no_policy"
        case .oversized: return "oversized"
        case .notCanonical: return "not_canonical"
        case .invalidEnvelope: return "invalid_envelope"
        case .seqMismatch: return "seq_mismatch"
        case .untrustedRoot: return "untrusted_root"
        case .badSignature: return "bad_signature"
        case .badLogSignature: return "bad_log_signature"
        case .entryHashMismatch: return "entry_hash_mismatch"
        case .columnMismatch: return "column_mismatch"
        case .duplicateEventID: return "duplicate_event_id"
        case .malformedRow: return "malformed_row"
        case .treeMismatch: return "tree_mismatch"
        case .detailsMismatch: return "details_mismatch"
        case .alteredTable: return "altered_table"
        case .unknownSchemaObject: return "unknown_schema_object"
        case .indexMismatch: return "index_mismatch"
        case .recordedAfterClock: return "recorded_after_clock"
        case .rule(let r):
            switch r {
            case .brokenLink: return "broken_link"
            case .unknownKey: return "unknown_key"
            case .revokedKey: return "revoked_key"
            case .notPermitted, .noPolicy: return "not_permitted"
            case .actorMismatch: return "actor_mismatch"
            case .recordedBeforePrevious: return "time_order"
            case .noLogKey: return "no_log_key"
            case .catalogue(let code, _, _): return code
            default: return "rule"
            }
        }
    }

    /// How a schema failure names an object of a ledger in PostgreSQL ("PostgreSQL trigger 'events.x'").
    public static let postgres = "PostgreSQL "

    public var detail: String {
        switch reason {
        case .empty: return "the ledger holds no events, not even genesis"
        case .missingEvents(let e, let f): return "events missing: expected sequence number \(e), found \(f)"
        case .outOfOrder(let e, let f): return "sequence number \(f) appears where \(e) was expected (rows reordered or duplicated)"
        case .truncatedAfterGenesis: return "the ledger ends before its policy event"
        case .oversized(let n): return "envelope is \(n) bytes, over the 1 MiB limit"
        case .notCanonical(let s): return "envelope is not RFC 8785 canonical JSON: \(s)"
        case .invalidEnvelope(let s): return "envelope is malformed: \(s)"
        case .seqMismatch(let s): return "envelope says sequence number \(s) but is stored at another position (rows swapped or moved)"
        case .untrustedRoot(let named, let trusted):
            return "genesis names root key \(named), but the trusted root key is \(trusted): this is not the ledger that key anchors, or its genesis was replaced"
        case .badSignature(let k): return "signature does not verify under key \(k): the envelope or signature was altered, or signed by another key"
        case .badLogSignature(let k):
            return "the log's signature does not verify under the log key \(k): the entry's place, time or statement was altered after the log service signed it, or it was written past the service"
        case .entryHashMismatch(let s, let c): return "stored entry_hash \(s) differs from the computed \(c)"
        case .columnMismatch(let c): return "stored column \(c) differs from the signed envelope"
        case .duplicateEventID: return "event_id was already used by an earlier event"
        case .malformedRow(let c): return "the stored row's \(c) column has the wrong type or is missing"
        case .treeMismatch: return "the stored Merkle tree (tree_nodes) does not match the entries: it was altered or damaged, so proofs and checkpoints made from this file would be wrong"
        case .detailsMismatch(let s): return s
        case .alteredTable(let t) where t.hasPrefix(VerificationFailure.postgres):
            return "the PostgreSQL database's \(t.dropFirst(VerificationFailure.postgres.count)) is missing, or not defined or enabled as the ledger format defines it (docs/FORMAT.md §10.1): "
                + "it was changed outside safeguard; restore it as the format's statements make it, or restore the ledger from a verified copy"
        case .unknownSchemaObject(let t) where t.hasPrefix(VerificationFailure.postgres):
            return "the PostgreSQL database holds a \(t.dropFirst(VerificationFailure.postgres.count)) in or on the ledger's schema that is not part of the ledger format "
                + "(a planted trigger, rule or policy could drop or hide records): it was changed outside safeguard; remove it, or restore the ledger from a verified copy"
        case .alteredTable(let t):
            return "the file's \(t) is missing or not defined as the ledger format defines it (docs/FORMAT.md §10): it was edited outside safeguard; "
                + "restore the ledger from a verified copy, or compare with 'safeguard doctor'"
        case .unknownSchemaObject(let t):
            return "the file holds a \(t) that is not part of the ledger format (a planted trigger could drop records, a view could show rows that are not there): "
                + "it was edited outside safeguard; restore the ledger from a verified copy ('safeguard doctor' lists what is extra)"
        case .indexMismatch(let i):
            return "the file's index \(i) does not hold exactly one entry for each event (it was rebuilt or edited outside SQLite), so lookups by it could hide or invent events: "
                + "restore the ledger from a verified copy"
        case .recordedAfterClock(let recorded, let clock):
            return "recorded at \(recorded), after this machine's clock allows (\(clock), the skew included): no honest recording could be dated so, and it would stop "
                + "every later record (its time cannot go back); if this machine's clock is wrong, fix it (or allow more with --clock-skew); otherwise the entry was "
                + "written past safeguard: restore the ledger from a verified copy"
        case .rule(let r): return r.description
        }
    }

    public var description: String {
        "seq \(seq)" + (eventID.map { " (event \($0))" } ?? "") + ": " + detail
    }
}
