/// Which agency may record which event types, as set by the latest `governance.policy_set`
/// event. A permission is an exact type (`referral.mase`) or a whole family (`contact.*`).
///
/// Governance types are not granted through permissions: the root and safeguarding-lead
/// rules in `Rules` decide them, so a policy cannot hand out key enrolment by accident.
public struct Policy: Equatable, Sendable {
    public let name: String
    public let version: Int64
    public let permissions: [String: Set<String>]
    /// How case details are sealed from this policy on (docs/FORMAT.md §3.5), or nil: details
    /// in the clear.
    public let sealing: Sealing?

    /// A policy's `sealing` member: each agency's key (an Ed25519 public key, used in its
    /// X25519 form to wrap case keys; never enrolled to sign) and the agencies entitled to
    /// every case's details. Others gain a case when it is shared with them (CATALOGUE.md).
    public struct Sealing: Equatable, Sendable {
        public let agencyKeys: [String: PublicKey]
        public let everyCase: Set<String>
        public init(agencyKeys: [String: PublicKey], everyCase: Set<String>) { self.agencyKeys = agencyKeys; self.everyCase = everyCase }

        /// The event types that entitle the agency their `to_agency` names to the case.
        public static let entitlingTypes: Set<String> = ["sharing.shared", "sharing.partly_shared", "case.transferred"]

        /// The agencies that hold a wrapped copy of a case's key once an event of `type`, by
        /// `agency`, is recorded on it (docs/FORMAT.md §3.5): those entitled to every case,
        /// those already entitled to this one (`entitled`; nil for a case not yet opened: the
        /// recording agency), and the one a share or transfer names, each that has an agency
        /// key in the policy. Every writer (a local append, the log service, its clients) asks
        /// this one function.
        public func holders(after type: String, by agency: String, entitled: Set<String>?, toAgency: String?) -> Set<String> {
            var out = everyCase.union(entitled ?? [agency])
            if Self.entitlingTypes.contains(type), let toAgency { out.insert(toAgency) }
            return out.filter { agencyKeys[$0] != nil }
        }

        public var json: JSONValue {
            .object(["agency_keys": .object(agencyKeys.mapValues { .string($0.base64) }),
                     "every_case": .array(everyCase.sorted().map { .string($0) })])
        }
    }

    public init(name: String, version: Int64, permissions: [String: Set<String>], sealing: Sealing? = nil) {
        self.name = name; self.version = version; self.permissions = permissions; self.sealing = sealing
    }

    public var agencies: [String] { permissions.keys.sorted() }

    public func allows(agency: String, type: String) -> Bool {
        guard let granted = permissions[agency] else { return false }
        return granted.contains(type) || granted.contains(LogType.family(of: type) + ".*")
    }

    /// The policy as it is written in `facts.policy` of a `governance.policy_set` event.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(name),
            "version": .integer(version),
            "permissions": .object(permissions.mapValues { .array($0.sorted().map { .string($0) }) }),
        ]
        if let sealing { o["sealing"] = sealing.json }
        return .object(o)
    }

    /// Reads `facts.policy`. Members this version does not know are left for later readers.
    public init(json: JSONValue) throws(Envelope.Invalid) {
        guard let name = json["name"]?.stringValue, !name.isEmpty else {
            throw Envelope.Invalid("facts.policy.name", "must be a non-empty string")
        }
        guard let version = json["version"]?.integerValue, version >= 1 else {
            throw Envelope.Invalid("facts.policy.version", "must be an integer of at least 1")
        }
        guard let perms = json["permissions"]?.objectValue, !perms.isEmpty else {
            throw Envelope.Invalid("facts.policy.permissions", "must map at least one agency code to the event types it may record")
        }
        var out: [String: Set<String>] = [:]
        for (agency, list) in perms {
            try Validate.code(agency, field: "facts.policy.permissions")
            guard let items = list.arrayValue else {
                throw Envelope.Invalid("facts.policy.permissions.\(agency)", "must be an array of event types")
            }
            var set = Set<String>()
            for item in items {
                guard let t = item.stringValue else {
                    throw Envelope.Invalid("facts.policy.permissions.\(agency)", "must hold strings only")
                }
                // The log's own types are never granted (the root and safeguarding-lead rules
                // decide them), nor the governance family as a whole; whether a grant names a
                // known type or family is the catalogue's check (it defines them).
                let shaped = LogType.isWellFormed(t) || LogType.isFamilyPatternShape(t)
                guard shaped, !LogType.logGovernance.contains(t), t != LogType.governanceFamily + ".*" else {
                    throw Envelope.Invalid("facts.policy.permissions.\(agency)", "\"\(t)\" is not a grantable event type or family")
                }
                set.insert(t)
            }
            out[agency] = set
        }
        self.init(name: name, version: version, permissions: out, sealing: try json["sealing"].map { v throws(Envelope.Invalid) in try Self.sealing(v, agencies: out) })
    }

    /// Reads `sealing` (docs/FORMAT.md §8.2): a key for every agency the policy names, and
    /// `every_case` a list of those agencies.
    static func sealing(_ json: JSONValue, agencies: [String: Set<String>]) throws(Envelope.Invalid) -> Sealing {
        let field = "facts.policy.sealing"
        guard let o = json.objectValue, Set(o.keys) == ["agency_keys", "every_case"] else {
            throw Envelope.Invalid(field, "must be an object with exactly agency_keys and every_case")
        }
        guard let keys = o["agency_keys"]?.objectValue else { throw Envelope.Invalid(field + ".agency_keys", "must map each agency to its key") }
        var out: [String: PublicKey] = [:]
        for agency in agencies.keys.sorted() {
            guard let text = keys[agency]?.stringValue, let key = PublicKey(base64: text) else {
                throw Envelope.Invalid(field + ".agency_keys", "must give \(agency) a key (base64 of 32 bytes, from 'safeguard keys generate')")
            }
            out[agency] = key
        }
        if let extra = keys.keys.sorted().first(where: { agencies[$0] == nil }) {
            throw Envelope.Invalid(field + ".agency_keys", "names \(extra), which the policy's permissions do not")
        }
        guard let every = o["every_case"]?.arrayValue else { throw Envelope.Invalid(field + ".every_case", "must be an array of agencies") }
        var entitled = Set<String>()
        for v in every {
            guard let a = v.stringValue, agencies[a] != nil, entitled.insert(a).inserted else {
                throw Envelope.Invalid(field + ".every_case", "must list agencies of the policy's permissions, each once")
            }
        }
        if Set(out.values).count != out.count { throw Envelope.Invalid(field + ".agency_keys", "gives two agencies the same key") }
        return Sealing(agencyKeys: out, everyCase: entitled)
    }
}
