import SafeguardCatalogue
import XCTest

/// The heuristic `doctor` uses to find case ids and references that identify someone.
final class IdentifiersTests: XCTestCase {
    func testTheIssuesExamplesAreFoundAndPseudonymsAreNot() {
        for (value, why) in [("Alice-Example-DOB-2012-04-03", "says DOB"), ("14-Acacia-Avenue.SM1-2AB", "holds a postcode"),
                             ("POI-John-Smith-DOB-1990-01-01", "says DOB"), ("child-2012-04-03", "holds a full date"), ("seen-03/04/2012", "holds a full date"),
                             ("Flat-2-Mill-Road", "looks like an address"), ("Jane-Doe", "looks like a name (Jane Doe)"), ("SW1A 1AA", "holds a postcode"),
                             ("venue-at-E1-6AN", "holds a postcode")] {
            XCTAssertEqual(Identifiers.concern(value), why, value)
        }
        for value in ["C-2026-0001", "C-0000-5173", "VENUE-0012", "VEH-0001", "POI-0003", "MASE-2026-11", "MASE-2026-11-A3", "STRAT-123", "BOROUGH-A",
                      "B1", "A-1", "S-1", "00000000-0000-4000-8000-000000000001", "C-DEMO-0001", "Sutton", "MASE-BOROUGH-A-2026-11"] {
            XCTAssertNil(Identifiers.concern(value), value)
        }
    }
}

/// The shapes a policy's `identifiers` allow (docs/CATALOGUE.md "Identifiers").
final class IdentifierShapeTests: XCTestCase {
    func testOnlyPrefixesAndDigitsPass() {
        for (value, prefixes, letters, ok) in [
            ("C-2026-0001", ["C-"], false, true), ("C-0000-0002", ["C-"], false, true), ("C-", ["C-"], false, false), ("C-ABC", ["C-"], false, false),
            ("Alice-Example-DOB-2012-04-03", ["C-"], false, false), ("C-2026-A1", ["C-"], false, false),
            ("VENUE-0012", ["VENUE-", "POI-"], true, true), ("MASE-2026-11-A3", ["MASE-"], true, true), ("POI-JOHN-1990", ["POI-"], true, false),
            ("POI-John-Smith-DOB-1990-01-01", ["POI-"], true, false), ("POI-J-S-1990", ["POI-"], true, true), ("VEH-", ["VEH-"], true, false),
            ("VEH-A", ["VEH-"], true, false), ("XVENUE-0012", ["VENUE-"], true, false), ("VENUE-" + String(repeating: "1", count: 33), ["VENUE-"], true, false),
        ] as [(String, [String], Bool, Bool)] {
            XCTAssertEqual(Identifiers.follows(value, prefixes: prefixes, lettersAllowed: letters), ok, value)
        }
    }
}
