/// The log's own event types: those that concern the log itself (its root, keys, policy and
/// checkpoint key), whose rules `LedgerState` applies. Every other type — what agencies record
/// about a child — belongs to the event catalogue (SafeguardCatalogue's `EventType`), which
/// the core is told of as a `KnownTypes` value (docs/FORMAT.md §7).
/// A type name is `family.verb`; governance events concern the log itself and carry no case id.
public enum LogType {
    public static let governanceFamily = "governance"

    public static let genesis = "governance.genesis"
    public static let keyEnrolled = "governance.key_enrolled"
    public static let keyRevoked = "governance.key_revoked"
    public static let policySet = "governance.policy_set"
    /// The partnership's root key hands over to a new one (docs/FORMAT.md §8.6).
    public static let rootRotated = "governance.root_rotated"
    /// The log's checkpoint key is named (docs/FORMAT.md §8.7).
    public static let logKeySet = "governance.log_key_set"

    /// The types the log's own rules read (`LedgerState`): who may sign, under which policy,
    /// with which checkpoint key. A verifier that resumes keeps these entries to replay them.
    /// In the order docs/FORMAT.md lists them.
    public static let ordered: [String] = [genesis, keyEnrolled, keyRevoked, policySet, rootRotated, logKeySet]
    public static let logGovernance: Set<String> = Set(ordered)

    public static func family(of type: String) -> String {
        String(type.prefix(while: { $0 != "." }))
    }

    /// Governance events describe the log, not a child: they never carry a case id; every
    /// other event must.
    public static func requiresCase(_ type: String) -> Bool { family(of: type) != governanceFamily }

    /// Whether `name` has the shape of a type name: `family.verb`, each a lowercase letter
    /// then lowercase letters, digits or underscores.
    /// Checked for every envelope read, so without allocating.
    public static func isWellFormed(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")) else { return false }
        return isWord(bytes[..<dot]) && isWord(bytes[bytes.index(after: dot)...])
    }

    /// Whether `pattern` has the shape of a whole family, `family.*`.
    public static func isFamilyPatternShape(_ pattern: String) -> Bool {
        pattern.hasSuffix(".*") && isWord(Substring(pattern.dropLast(2)).utf8)
    }

    private static func isWord<S: Collection>(_ s: S) -> Bool where S.Element == UInt8 {
        guard let first = s.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first), s.count <= 64 else { return false }
        return s.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }
}

/// The event types a ledger accepts, by family: the log's own (`LogType`) and those of the
/// event catalogue, which defines them. The core checks every envelope's type against the
/// set it is given (`ChainVerifier`, `EventDraft`), and knows nothing of the catalogue itself.
public struct KnownTypes: Sendable {
    /// Every known type, grouped by family, in order.
    public let families: [(family: String, types: [String])]
    public let all: Set<String>
    private let familyNames: Set<String>

    /// `types` are full type names (`contact.recorded`); the log's own are always included, first.
    public init(_ types: [String]) {
        var order: [String] = [], byFamily: [String: [String]] = [:], seen: Set<String> = []
        for t in LogType.ordered + types where seen.insert(t).inserted {
            let family = LogType.family(of: t)
            if byFamily[family] == nil { order.append(family) }
            byFamily[family, default: []].append(String(t.dropFirst(family.count + 1)))
        }
        families = order.map { ($0, byFamily[$0]!) }
        all = Set(families.flatMap { f in f.types.map { "\(f.family).\($0)" } })
        familyNames = Set(order)
    }

    /// The log's own types alone.
    public static let logOnly = KnownTypes([])

    public func isKnown(_ type: String) -> Bool { all.contains(type) }

    /// `family.*` for a known family.
    public func isFamilyPattern(_ s: String) -> Bool {
        s.hasSuffix(".*") && familyNames.contains(String(s.dropLast(2)))
    }
}
