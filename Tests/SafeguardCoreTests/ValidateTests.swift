import SafeguardCore
import XCTest

/// Shape checks for ids and codes in the envelope.
final class ValidateTests: XCTestCase {
    private func assertInvalid(_ check: (String, String) throws(Envelope.Invalid) -> Void, _ value: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            try check(value, "actor.agency")
            XCTFail("\(value.debugDescription) was accepted", file: file, line: line)
        } catch {
            XCTAssertEqual(error.field, "actor.agency", file: file, line: line)
        }
    }

    private func assertValid(_ check: (String, String) throws(Envelope.Invalid) -> Void, _ value: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        do {
            try check(value, "f")
        } catch {
            XCTFail("\(value.debugDescription) was refused: \(error)", file: file, line: line)
        }
    }

    func testIsUUID() {
        for s in ["123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000",
                  "ffffffff-ffff-4fff-bfff-ffffffffffff"] {
            XCTAssertTrue(Validate.isUUID(s), s)
        }
        for s in ["", "123E4567-E89B-12D3-A456-426614174000", "123e4567e89b12d3a456426614174000",
                  "{123e4567-e89b-12d3-a456-426614174000}", "123e4567-e89b-12d3-a456-42661417400",
                  "123e4567-e89b-12d3-a456-4266141740000", "123e4567-e89b-12d3-a4564-26614174000",
                  "123e4567_e89b_12d3_a456_426614174000", "123e4567-e89b-12d3-a456-42661417400g",
                  "123e4567-e89b-12d3-a456-42661417400é"] {
            XCTAssertFalse(Validate.isUUID(s), s)
        }
    }

    func testIsKeyID() {
        XCTAssertTrue(Validate.isKeyID("21fe31dfa154a261626bf854046fd227"))
        XCTAssertTrue(Validate.isKeyID(String(repeating: "0", count: 32)))
        for s in ["", String(repeating: "a", count: 31), String(repeating: "a", count: 33),
                  "21FE31DFA154A261626BF854046FD227", "21fe31dfa154a261626bf854046fd22g",
                  "21fe31dfa154a261626bf854046fd22 ", String(repeating: "a", count: 64)] {
            XCTAssertFalse(Validate.isKeyID(s), s)
        }
    }

    func testCaseID() {
        for s in ["C-2026-0001", "a", "0", "Z9", "A.b_c-d", "case.2026_01", String(repeating: "x", count: 64)] {
            assertValid(Validate.caseID, s)
        }
        for s in ["", ".abc", "_abc", "-abc", "a b", "a/b", "a:b", "é", "C-2026-0001\n", "ケース",
                  String(repeating: "x", count: 65)] {
            assertInvalid(Validate.caseID, s)
        }
    }

    func testCode() {
        for s in ["a", "social_work", "a1", "z_9_", "police", String(repeating: "a", count: 32)] {
            assertValid(Validate.code, s)
        }
        for s in ["", "1a", "_a", "A", "Police", "a-b", "a.b", "a b", "é", String(repeating: "a", count: 33)] {
            assertInvalid(Validate.code, s)
        }
    }

    func testName() {
        for s in ["A", "Dr. Anna Müller-Łukasiewicz", "李小龙", String(repeating: "é", count: 128)] {
            assertValid(Validate.name, s)
        }
        for s in ["", "a\nb", "tab\there", "\u{7F}", "x\u{85}y", String(repeating: "é", count: 129)] {
            assertInvalid(Validate.name, s)
        }
    }

    func testPlainData() {
        XCTAssertNoThrow(try Validate.plainData(["a": [1, "x", true, ["b": false]]], path: "details"))
        XCTAssertThrowsError(try Validate.plainData(["a": [1, .null]], path: "details")) { error in
            XCTAssertEqual((error as? Envelope.Invalid)?.field, "details.a[1]")
        }
        XCTAssertThrowsError(try Validate.plainData(["a": ["b": .number(1.5)]], path: "facts")) { error in
            XCTAssertEqual((error as? Envelope.Invalid)?.field, "facts.a.b")
        }
    }
}

final class UUIDTests: XCTestCase {
    func testRandomUUIDsAreVersion4LowercaseAndDistinct() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let u = Sodium.uuid()
            XCTAssertTrue(Validate.isUUID(u), u)
            let chars = Array(u)
            XCTAssertEqual(chars[14], "4", u)
            XCTAssertTrue("89ab".contains(chars[19]), u)
            seen.insert(u)
        }
        XCTAssertEqual(seen.count, 1000)
    }
}
