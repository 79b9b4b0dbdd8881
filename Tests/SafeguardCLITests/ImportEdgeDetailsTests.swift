import Foundation
import XCTest

/// Pins, through the executable, that import writes what verify and the projection rebuild
/// then accept for the details a JSON line may carry (the direct binding and the signing
/// thread's skipped parse both on the path), and that a full disk during an import changes
/// nothing and says so.
final class ImportEdgeDetailsTests: XCTestCase {
    var cli: CLI!

    override func setUpWithError() throws {
        cli = try CLI()
        try cli.makeLedger()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: cli.dir)
    }

    func testEdgeDetailsImportVerifyAndRebuild() throws {
        let nested = (0..<62).reduce("1") { inner, _ in #"{"a":\#(inner)}"# }
        let details = [
            #"{}"#, #"{"a":"x\u0000y","k\u0000":"\u0000"}"#, "{\"e\u{301}\":\"caf\u{e9}\",\"\u{e9}x\":\"cafe\u{301}\"}",
            #"{"n":-0,"m":9007199254740991,"s":"\/\u00E9\u2028\ufeff\ud83d\ude00","":"empty key","arr":[[],{}]}"#,
            nested, #"{"big":""# + String(repeating: "x", count: 1_000_000) + #""}"#,
        ]
        let lines = [CLI.contact().replacingOccurrences(of: #","details":{"narrative":"synthetic"}"#, with: "")]
            + details.map { CLI.contact().replacingOccurrences(of: #"{"narrative":"synthetic"}"#, with: $0) }
        try lines.joined(separator: "\n").write(toFile: cli.path("edge.jsonl"), atomically: true, encoding: .utf8)
        var r = try cli.run("import", "--key", cli.path("police.key"), "--file", cli.path("edge.jsonl"), "--json")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"appended\":\(lines.count)"), r.stdout)
        r = try cli.run("verify", "--trust", try cli.rootPublicKey())
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        r = try cli.run("project", "rebuild", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        // One level more than the parser takes: refused, nothing appended.
        let before = try cli.head()
        let tooDeep = CLI.contact().replacingOccurrences(of: #"{"narrative":"synthetic"}"#, with: #"{"a":\#(nested)}"#)
        r = try cli.run(["import", "--key", cli.path("police.key"), "--file", "-"], stdin: Data(tooDeep.utf8))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertEqual(try cli.head(), before)
    }

    func testImportOntoAFullDiskChangesNothingAndSaysSo() throws {
        let ledger = cli.ledger
        let line = CLI.contact(details: #","pad":""# + String(repeating: "y", count: 200_000) + #"""#)
        try Array(repeating: line, count: 40).joined(separator: "\n").write(toFile: cli.path("big.jsonl"), atomically: true, encoding: .utf8)
        try cli.withSmallDisk(before: { try FileManager.default.copyItem(atPath: ledger, toPath: $0 + "/ledger.sqlite") }, leaving: 1 << 20) { mount in
            var small = cli!
            small.env["SAFEGUARD_LEDGER"] = mount + "/ledger.sqlite"
            let before = try small.head()
            let r = try small.run("import", "--key", cli.path("police.key"), "--file", cli.path("big.jsonl"))
            XCTAssertEqual(r.status, 4, r.stdout + r.stderr)
            XCTAssertTrue(r.stderr.contains("disk full") && r.stderr.contains("nothing was changed"), r.stderr)
            XCTAssertEqual(try small.head(), before)
            XCTAssertEqual(try small.run("verify", "--trust", try cli.rootPublicKey()).status, 0)
        }
    }
}
