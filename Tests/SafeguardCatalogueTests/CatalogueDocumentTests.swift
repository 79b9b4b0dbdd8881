import Foundation
import SafeguardCatalogue
import XCTest

/// docs/CATALOGUE.md gives the catalogue type by type exactly as the code checks it: its block
/// between the `catalogue` markers is `Catalogue.reference()`. After changing the catalogue,
/// `SAFEGUARD_WRITE_DOCS=1 swift test --filter CatalogueDocumentTests` writes the block anew.
final class CatalogueDocumentTests: XCTestCase {
    func testTheDocumentedCatalogueIsTheCodes() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/CATALOGUE.md")
        let doc = try String(contentsOf: url, encoding: .utf8)
        let begin = "<!-- catalogue:begin -->\n", end = "<!-- catalogue:end -->"
        guard let b = doc.range(of: begin), let e = doc.range(of: end, range: b.upperBound..<doc.endIndex) else {
            return XCTFail("docs/CATALOGUE.md has no catalogue block")
        }
        let expected = Catalogue.reference()
        if ProcessInfo.processInfo.environment["SAFEGUARD_WRITE_DOCS"] == "1" {
            try (String(doc[..<b.upperBound]) + expected + String(doc[e.lowerBound...])).write(to: url, atomically: true, encoding: .utf8)
            return
        }
        XCTAssertEqual(String(doc[b.upperBound..<e.lowerBound]), expected,
                       "docs/CATALOGUE.md is not the catalogue: run SAFEGUARD_WRITE_DOCS=1 swift test --filter CatalogueDocumentTests")
    }
}
