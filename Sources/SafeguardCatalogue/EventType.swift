import SafeguardCore

/// The event types a ledger accepts, by family (the toolkit's "what gets recorded";
/// docs/FORMAT.md §7): the log's own (`LogType`) and every type of the catalogue, in the
/// catalogue's order. Derived from `Catalogue.ordered`, so that a new type is added in one
/// place: its spec there (and, for agencies to record it, a grant in a policy).
public enum EventType {
    /// The set the core checks envelopes and input events against.
    public static let known = KnownTypes(Catalogue.ordered.map(\.type))

    public static var families: [(family: String, types: [String])] { known.families }
    public static var all: Set<String> { known.all }
    public static func isKnown(_ type: String) -> Bool { known.isKnown(type) }
    /// `family.*` for a known family.
    public static func isFamilyPattern(_ s: String) -> Bool { known.isFamilyPattern(s) }

    /// The first grant of `policy` that names neither a known type nor a known family, with
    /// its agency.
    public static func unknownGrant(in policy: Policy) -> (agency: String, grant: String)? {
        for agency in policy.agencies {
            if let t = policy.permissions[agency]!.sorted().first(where: { !isKnown($0) && !isFamilyPattern($0) }) { return (agency, t) }
        }
        return nil
    }
}

extension Policy {
    /// The default scheme: the permissions of the built-in toolkit policy.
    public static var toolkitDefault: Policy { PolicyDocument.toolkit.permissions }
}
