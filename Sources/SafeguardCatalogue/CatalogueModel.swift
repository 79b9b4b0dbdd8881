import SafeguardCore

/// A typed event of the catalogue: the facts of one event type as Swift properties.
/// `Models.swift` holds one per type, generated from the field specs by `tools/gen-models`.
public protocol CatalogueModel: Sendable {
    /// The event type this models, e.g. `contact.recorded`.
    static var type: String { get }
    /// Reads facts that passed validation; nil when required facts are missing.
    init?(facts: Facts)
    /// The facts, ready for an `EventDraft`.
    var facts: [String: JSONValue] { get }
}

extension CatalogueModel {
    /// A draft of this event for `caseID` (nil for governance) at `occurredAt`.
    public func draft(caseID: String?, occurredAt: Timestamp, details: [String: JSONValue] = [:]) -> EventDraft {
        EventDraft(type: Self.type, caseID: caseID, occurredAt: occurredAt, facts: facts, details: details)
    }
}

extension Screening {
    /// The indicator marks of a screening's `indicators` fact.
    public static func marksOf(_ v: JSONValue?) -> [Mark]? {
        v?.arrayValue?.compactMap { item in
            item["code"]?.stringValue.map { Mark($0, item["timing"]?.stringValue.flatMap(Timing.init(rawValue:))) }
        }
    }
}
