import SafeguardCore
import XCTest

/// `Envelope(canonical:)`, the direct decoder verification uses for the common shape, against
/// the general one (the canonical JSON parser, then `Envelope(json:)`): it must never accept
/// what the general one refuses, nor read anything differently. (tools/fuzz/targets/envelope
/// checks the same property on fuzzed input.)
final class EnvelopeDecoderTests: XCTestCase {

    private func general(_ bytes: [UInt8]) -> Envelope? {
        (try? JSONParser.parse(bytes, mode: .canonical)).flatMap { try? Envelope(json: $0) }
    }

    private func envelope(format: Int64 = 2, type: String = "contact.recorded", caseID: String? = "C-0001", practitioner: String = "PC 0001",
                          facts: [String: JSONValue] = ["contact_type": "phone", "indicators": ["A2", "B7"]], seq: Int64 = 41) -> Envelope {
        Envelope(format: format, seq: seq, eventID: "6f1c2a9e-0b7d-4c3e-9a51-2d8f4e6b7c10", type: type, caseID: caseID,
                 occurredAt: Timestamp(seconds: 1_772_442_900), recordedAt: Timestamp(seconds: 1_772_443_000),
                 actor: Actor(agency: "police", role: "practitioner", practitioner: practitioner, keyID: String(repeating: "ab", count: 16)),
                 prevHash: Array(0..<32), facts: facts, details: .committed(digest: Array(repeating: 7, count: 32)),
                 actorSignature: format == 3 ? Array(repeating: 9, count: 64) : nil)
    }

    private var samples: [Envelope] {
        [
            envelope(),
            envelope(format: 3),
            envelope(type: LogType.keyEnrolled, caseID: nil, facts: ["agency": "csc", "role": "practitioner", "public_key": "x"]),
            envelope(facts: ["nested": ["list": [1, 2, ["deep": true]], "text": "quote \" and \\ and \u{1F}"], "n": 9_007_199_254_740_991, "none": [:]]),
            envelope(facts: ["naïve": "café ✓", "zero": 0]),
            envelope(seq: 0),
            envelope(seq: 123_456_789_012_345),
        ]
    }

    func testCommonShapesDecodeDirectlyAsTheGeneralDecoderReadsThem() throws {
        for e in samples {
            let bytes = try e.canonicalBytes()
            let direct = try XCTUnwrap(Envelope(canonical: bytes), String(decoding: bytes, as: UTF8.self))
            XCTAssertEqual(direct, e)
            XCTAssertEqual(direct, general(bytes))
        }
    }

    /// What the direct decoder leaves to the general one: it declines, and the general one decides.
    func testUncommonShapesAreLeftToTheGeneralDecoder() throws {
        let nonASCII = try envelope(practitioner: "Siân 0001").canonicalBytes()
        XCTAssertNil(Envelope(canonical: nonASCII))
        XCTAssertNotNil(general(nonASCII))
        let big = try envelope(seq: 9_007_199_254_740_991).canonicalBytes()
        XCTAssertNil(Envelope(canonical: big))
        XCTAssertEqual(general(big)?.seq, 9_007_199_254_740_991)
        let format1 = Envelope(format: 1, seq: 1, eventID: "6f1c2a9e-0b7d-4c3e-9a51-2d8f4e6b7c10", type: "contact.recorded", caseID: "C-0001",
                               occurredAt: Timestamp(seconds: 1), recordedAt: Timestamp(seconds: 2),
                               actor: Actor(agency: "police", role: "practitioner", practitioner: "PC", keyID: String(repeating: "ab", count: 16)),
                               prevHash: Array(repeating: 0, count: 32), facts: [:], details: .inline(["narrative": "synthetic"]))
        let f1 = try format1.canonicalBytes()
        XCTAssertNil(Envelope(canonical: f1))
        XCTAssertEqual(general(f1), format1)
    }

    /// Every byte of each sample replaced by each of a set of telling bytes, deleted, or doubled:
    /// whatever the direct decoder still accepts, the general one accepts and reads the same.
    func testMutatedBytesAreNeverAcceptedByTheDirectDecoderAlone() throws {
        let replacements: [UInt8] = Array("\"\\09aAfz,:{}[]-.eE +/".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]
        var accepted = 0, mutants = 0
        for e in samples {
            let bytes = try e.canonicalBytes()
            for i in bytes.indices {
                var variants: [[UInt8]] = replacements.filter { $0 != bytes[i] }.map { var b = bytes; b[i] = $0; return b }
                variants.append({ var b = bytes; b.remove(at: i); return b }())
                variants.append({ var b = bytes; b.insert(bytes[i], at: i); return b }())
                for v in variants {
                    mutants += 1
                    guard let direct = Envelope(canonical: v) else { continue }
                    accepted += 1
                    XCTAssertEqual(general(v), direct, "byte \(i): \(String(decoding: v, as: UTF8.self))")
                }
            }
        }
        // Some mutants are still valid envelopes (another digit, another hex digit): the check bites.
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertLessThan(accepted, mutants / 2)
    }
}
