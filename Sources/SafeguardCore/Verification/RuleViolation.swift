/// Why an event may not stand at its place in the log, whether caught at append (and refused)
/// or at verification (and reported with its sequence number).
public enum RuleViolation: Error, Equatable, CustomStringConvertible {
    case wrongSequence(expected: Int64, found: Int64)
    case brokenLink(expected: [UInt8], found: [UInt8])
    case genesisNotFirst
    case firstNotGenesis(type: String)
    case unknownKey(keyID: String)
    case revokedKey(keyID: String, revokedAt: Int64)
    case actorMismatch(field: String, enrolled: String, claimed: String)
    case noPolicy(type: String)
    case notPermitted(agency: String, type: String, policy: String)
    case governance(String)
    case invalidFacts(Envelope.Invalid)
    case recordedBeforeOccurred(occurred: Timestamp, recorded: Timestamp)
    /// `recorded_at` earlier than the previous entry's: the log's time only moves forward.
    case recordedBeforePrevious(recorded: Timestamp, previous: Timestamp)
    case formatDowngrade(format: Int64, previous: Int64)
    /// A format 3 entry where no log key is in force to have signed it (docs/FORMAT.md §3.4).
    case noLogKey
    /// A rule of the event catalogue (docs/FORMAT.md §7.1), with its failure code, the field
    /// at fault and what is wrong.
    case catalogue(code: String, field: String, problem: String)

    public var description: String {
        switch self {
        case .wrongSequence(let e, let f): return "sequence number \(f) where \(e) was expected"
        case .brokenLink(let e, let f):
            return "prev_hash \(Hex.encode(f)) does not match the previous entry's hash \(Hex.encode(e))"
        case .genesisNotFirst: return "a genesis event may only stand at sequence number 0"
        case .firstNotGenesis(let t): return "the first event must be governance.genesis, found \(t)"
        case .unknownKey(let k): return "key \(k) is not enrolled in this ledger: ask your safeguarding lead or the partnership to enrol it (safeguard keys enrol)"
        case .revokedKey(let k, let at): return "key \(k) was revoked at sequence number \(at); use a key that is still enrolled"
        case .actorMismatch(let field, let enrolled, let claimed):
            return "actor.\(field) is \"\(claimed)\" but the key is enrolled as \"\(enrolled)\""
        case .noPolicy(let t): return "no policy has been set yet, so \(t) cannot be recorded (safeguard init sets one)"
        case .notPermitted(let a, let t, let p): return "agency \(a) may not record \(t) under policy \(p)"
        case .governance(let s): return s
        case .formatDowngrade(let f, let p) where p == 3:
            return "envelope format \(f) after an event of format 3: once the log service places and dates entries, no later entry may be written around it (record through 'safeguard … --server')"
        case .formatDowngrade(let f, let p):
            return "envelope format \(f) after an event of format \(p): once the log writes details apart (format 2), no later event may sign them in (format 1)"
        case .noLogKey:
            return "a format 3 entry is signed by the log's key, but the ledger names no log key before it (governance.log_key_set)"
        case .invalidFacts(let i): return i.description
        case .recordedBeforePrevious(let r, let p):
            return "recorded_at \(r) is earlier than the previous entry's \(p): the log's time of recording never goes back (the recording machine's clock was wrong)"
        case .catalogue(_, let field, let problem): return "\(field): \(problem)"
        case .recordedBeforeOccurred(let o, let r):
            return "occurred_at \(o) is later than recorded_at \(r): an event cannot be recorded before it happens (check the time zone: give local times with their offset, e.g. +01:00 in summer)"
        }
    }
}
