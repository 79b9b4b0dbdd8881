/// The event types the ledger accepts, by family (the toolkit's "what gets recorded";
/// docs/FORMAT.md §7).
/// A type name is `family.verb`; governance events concern the log itself and carry no case id.
public enum EventType {
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
    public static let logGovernance: Set<String> = [genesis, keyEnrolled, keyRevoked, policySet, rootRotated, logKeySet]

    /// Every known type, grouped by family.
    public static let families: [(family: String, types: [String])] = [
        ("governance", ["genesis", "key_enrolled", "key_revoked", "policy_set", "root_rotated", "log_key_set", "legal_hold", "retention_review"]),
        ("case", ["opened", "updated", "transferred", "closed", "transition"]),
        ("contact", ["recorded"]),
        ("screening", ["cse_tool", "csc_mosaic"]),
        ("referral", ["mash_written", "mash_telephone", "mase", "ewo", "adult_social_care", "rhi_provider"]),
        ("decision", ["mash", "s17", "strategy", "s47", "cin_plan", "early_help", "nfa"]),
        ("sharing", ["shared", "partly_shared", "not_shared", "request_received"]),
        ("meeting", ["strategy", "network", "pre_mase", "mase"]),
        ("missing", ["started", "returned", "rhi_offered", "rhi_completed"]),
        ("disruption", ["recorded"]),
        ("link", ["recorded"]),
        ("action", ["set", "progressed", "completed"]),
        ("acknowledgement", ["recorded"]),
        ("escalation", ["raised", "resolved"]),
        ("correction", ["recorded"]),
    ]

    public static let all: Set<String> = Set(families.flatMap { f in f.types.map { "\(f.family).\($0)" } })

    public static func isKnown(_ type: String) -> Bool { all.contains(type) }

    /// `family.*` for a known family.
    public static func isFamilyPattern(_ s: String) -> Bool {
        families.contains { $0.family + ".*" == s }
    }

    public static func family(of type: String) -> String {
        String(type.prefix(while: { $0 != "." }))
    }

    /// Governance events describe the log, not a child: they never carry a case id; every
    /// other event must.
    public static func requiresCase(_ type: String) -> Bool { family(of: type) != governanceFamily }
}
