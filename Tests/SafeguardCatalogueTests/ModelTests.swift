import SafeguardCatalogue
import SafeguardCore
import XCTest

/// The generated typed models agree with the catalogue's field specs.
final class ModelTests: XCTestCase {
    func testEveryCataloguedTypeHasAModel() {
        XCTAssertEqual(Set(Catalogue.models.keys), Set(Catalogue.specs.keys))
        for (type, model) in Catalogue.models { XCTAssertEqual(model.type, type) }
    }

    /// Every event of a synthetic partnership reads into its model and writes back the same facts.
    func testModelsRoundTripSyntheticFacts() {
        var g = SyntheticPartnership(seed: 3, start: Timestamp(rfc3339: "2025-01-01T00:00:00Z")!, meanGapSeconds: 600)
        var seen = Set<String>()
        for _ in 0..<5000 {
            let d = g.next().draft
            guard let model = Catalogue.models[d.type]?.init(facts: Facts(d.facts)) else { return XCTFail("\(d.type) did not read \(d.facts)") }
            XCTAssertEqual(model.facts, d.facts, d.type)
            seen.insert(d.type)
        }
        XCTAssertGreaterThan(seen.count, 15)
    }

    func testMissingRequiredFactGivesNil() {
        XCTAssertNil(DecisionNfa(facts: Facts(["reason": "other", "referrer_told_verbally": true])))
        let nfa = DecisionNfa(reason: "other", referrerToldInWriting: false, referrerToldVerbally: true)
        XCTAssertEqual(DecisionNfa(facts: Facts(nfa.facts)), nfa)
        let d = nfa.draft(caseID: "C-1", occurredAt: Timestamp(seconds: 0))
        XCTAssertEqual(d.type, "decision.nfa")
    }
}
