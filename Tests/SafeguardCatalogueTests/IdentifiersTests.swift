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
