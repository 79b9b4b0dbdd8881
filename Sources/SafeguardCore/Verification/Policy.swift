/// Which agency may record which event types, as set by the latest `governance.policy_set`
/// event. A permission is an exact type (`referral.mase`) or a whole family (`contact.*`).
///
/// Governance types are not granted through permissions: the root and safeguarding-lead
/// rules in `Rules` decide them, so a policy cannot hand out key enrolment by accident.
public struct Policy: Equatable, Sendable {
    public let name: String
    public let version: Int64
    public let permissions: [String: Set<String>]

    public init(name: String, version: Int64, permissions: [String: Set<String>]) {
        self.name = name; self.version = version; self.permissions = permissions
    }

    public var agencies: [String] { permissions.keys.sorted() }

    public func allows(agency: String, type: String) -> Bool {
        guard let granted = permissions[agency] else { return false }
        return granted.contains(type) || granted.contains(LogType.family(of: type) + ".*")
    }

    /// The policy as it is written in `facts.policy` of a `governance.policy_set` event.
    public var json: JSONValue {
        .object([
            "name": .string(name),
            "version": .integer(version),
            "permissions": .object(permissions.mapValues { .array($0.sorted().map { .string($0) }) }),
        ])
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
        self.init(name: name, version: version, permissions: out)
    }
}
