import XCTest

@testable import SafeguardCore

/// Details records of envelope format 2 (docs/FORMAT.md §3.2).
final class SealedDetailsTests: XCTestCase {
    func testTheDigestCoversSaltAndDetailsAndFreshSaltsDiffer() throws {
        let salt = [UInt8](repeating: 0xab, count: 32)
        let d = try SealedDetails(["name": "Synthetic Child 0001"], salt: salt)
        XCTAssertEqual(d.body, Array(#"{"name":"Synthetic Child 0001"}"#.utf8))
        XCTAssertEqual(d.digest, SHA256.hash([0x02] + salt + d.body))
        XCTAssertNil(d.problem(against: d.digest))
        XCTAssertEqual(SealedDetails(bytes: d.bytes), d)
        XCTAssertNil(SealedDetails(bytes: Array(salt.prefix(31))))
        // The same details under two fresh salts: two digests, so equal details cannot be spotted.
        let a = try SealedDetails([:]), b = try SealedDetails([:])
        XCTAssertNotEqual(a.salt, b.salt)
        XCTAssertNotEqual(a.digest, b.digest)
    }

    func testARecordIsRefusedUnlessItIsExactlyWhatTheDigestCommitsTo() throws {
        let salt = [UInt8](repeating: 1, count: 32)
        let d = try SealedDetails(["narrative": "synthetic note"], salt: salt)
        XCTAssertNotNil(SealedDetails(salt: salt, body: Array(#"{"narrative":"synthetic nose"}"#.utf8)).problem(against: d.digest))
        XCTAssertNotNil(SealedDetails(salt: [UInt8](repeating: 2, count: 32), body: d.body).problem(against: d.digest))
        XCTAssertNotNil(SealedDetails(salt: Array(salt.prefix(16)), body: d.body).problem(against: d.digest))
        // A signer who committed to bytes the format does not allow: refused even though they match.
        for bad in [#"{ "a":1}"#, #"[1]"#, #"{"a":null}"#, #"{"a":1.5}"#, #"{"b":1,"a":2}"#] {
            let record = SealedDetails(salt: salt, body: Array(bad.utf8))
            XCTAssertNotNil(record.problem(against: record.digest), bad)
        }
    }

    /// docs/FORMAT.md §9 check 3: the top-level value is at depth 1; no value deeper than 64.
    func testTheDepthLimitIsTheDocumentedOne() throws {
        func nested(_ n: Int, _ inner: String) -> [UInt8] { Array((String(repeating: "[", count: n) + inner + String(repeating: "]", count: n)).utf8) }
        XCTAssertNoThrow(try JSONParser.parse(nested(64, ""), mode: .canonical))
        XCTAssertNoThrow(try JSONParser.parse(nested(63, "1"), mode: .canonical))
        XCTAssertThrowsError(try JSONParser.parse(nested(65, ""), mode: .canonical))
        XCTAssertThrowsError(try JSONParser.parse(nested(64, "1"), mode: .canonical))
        // A details record as deep as that is refused even when its digest matches.
        let deep = SealedDetails(salt: [UInt8](repeating: 3, count: 32), body: Array(#"{"a":"#.utf8) + nested(63, "1") + [UInt8(ascii: "}")])
        XCTAssertNotNil(deep.problem(against: deep.digest))
    }
}

