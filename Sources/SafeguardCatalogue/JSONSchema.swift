import SafeguardCore

/// JSON Schema (draft 2020-12) of the input form of every event type, for agencies that
/// integrate their own systems. Code lists come from the policy in force. The schema checks
/// shapes; the cross-field and ledger checks (case opened, referenced events) happen when
/// the event is recorded.
public enum JSONSchema {
    static let caseIDPattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
    static let uuidPattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

    public static func document(policy: PolicyDocument) -> JSONValue {
        var defs: [String: JSONValue] = [:]
        for type in Catalogue.specs.keys.sorted() {
            let spec = Catalogue.specs[type]!
            var props: [String: JSONValue] = [:]
            for f in spec.fields {
                var p = schema(f.kind, policy)
                if case .object(var o) = p { o["description"] = .string(f.help); p = .object(o) }
                props[f.name] = p
            }
            var eventProps: [String: JSONValue] = [
                "type": ["const": .string(type)],
                "occurred_at": ["type": "string", "format": "date-time"],
                "event_id": ["type": "string", "pattern": .string(uuidPattern)],
                "details": ["type": "object", "description": "names, addresses and narrative (kept apart from facts)"],
                "facts": .object([
                    "type": "object", "additionalProperties": false, "properties": .object(props),
                    "required": .array(spec.fields.filter(\.required).map { .string($0.name) }),
                ]),
            ]
            var required: [JSONValue] = ["type", "occurred_at", "facts"]
            if LogType.requiresCase(type) {
                eventProps["case_id"] = ["type": "string", "pattern": .string(caseIDPattern)]
                required.append("case_id")
            }
            defs[type] = .object([
                "type": "object", "additionalProperties": false, "description": .string(spec.summary),
                "properties": .object(eventProps), "required": .array(required),
            ])
        }
        return .object([
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": .string("safeguard input event (policy \(policy.name) v\(policy.version))"),
            "description": "One event as 'safeguard append' and 'safeguard import' read it (docs/FORMAT.md §11).",
            "oneOf": .array(Catalogue.specs.keys.sorted().map { .object(["$ref": .string("#/$defs/\($0)")]) }),
            "$defs": .object(defs),
        ])
    }

    static func schema(_ kind: FieldKind, _ policy: PolicyDocument) -> JSONValue {
        func enumeration(_ v: [String]) -> JSONValue { ["type": "string", "enum": .array(v.map { .string($0) })] }
        switch kind {
        case .oneOf(let v): return enumeration(v)
        case .indicator: return enumeration(policy.indicatorOrder)
        case .vulnerability: return enumeration(policy.vulnerabilityOrder)
        case .disruption: return enumeration(policy.disruptionOrder)
        case .agency: return enumeration(policy.permissions.agencies)
        case .caseRef, .reference: return ["type": "string", "pattern": .string(caseIDPattern)]
        case .eventRef: return ["type": "string", "pattern": .string(uuidPattern)]
        case .date: return ["type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"]
        case .month: return ["type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"]
        case .bool: return ["type": "boolean"]
        case .integer(let r): return ["type": "integer", "minimum": .integer(r.lowerBound), "maximum": .integer(r.upperBound)]
        case .list(let inner, let n):
            return ["type": "array", "items": schema(inner, policy), "minItems": .integer(Int64(n)), "uniqueItems": true]
        case .screeningIndicators:
            return ["type": "array", "items": [
                "type": "object", "additionalProperties": false, "required": ["code"],
                "properties": ["code": enumeration(policy.indicatorOrder), "timing": enumeration(["current", "prior"])],
            ]]
        }
    }
}
