import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SafeguardCore
import TestSupport
import XCTest

@testable import SafeguardService

/// `safeguard serve`, started as the real executable on loopback, driven by the real CLI and
/// by raw HTTP as a hostile client would (docs/SERVICE.md).
class ServiceTests: ServedLedgerTestCase {
    override var serveArguments: [String] { ["--request-timeout", "2", "--rate-limit", "100"] }

    func testTwoAgenciesRecordThroughTheServiceAndTheLedgerVerifies() throws {
        let before = try Timestamp(seconds: Int64(Date().timeIntervalSince1970) - 1)
        var r = try cli.run("record", "contact", "--server", server.url, "--key", cli.path("police.key"), "--case", "C-0001",
                            "--how", "phone", "--indicator", "A2", "--note", "synthetic note")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("as seq \(CLI.firstFree + 1)") && r.stdout.contains("by the log service"), r.stdout)
        r = try cli.run(["append", "--server", server.url, "--key", cli.path("csc.key")], stdin: Data(CLI.contact("C-0007").utf8))
        XCTAssertEqual(r.status, 0, r.stderr)
        // Through $SAFEGUARD_SERVER too, with the log key pinned.
        r = try cli.run(["record", "contact", "--key", cli.path("csc.key"), "--case", "C-1", "--how", "online", "--indicator", "A3", "--json"],
                        env: ["SAFEGUARD_SERVER": server.url, "SAFEGUARD_LOG_PUB": cli.path("log.key.pub")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let receipt = try JSONParser.parse(Array(r.stdout.utf8))
        XCTAssertEqual(receipt["seq"]?.integerValue, Int64(CLI.firstFree + 3))
        // The service dated them by its own clock, and each is format 3, signed by the log key.
        let recorded = try XCTUnwrap(receipt["recorded_at"]?.stringValue.flatMap(Timestamp.init(canonical:)))
        XCTAssertGreaterThanOrEqual(recorded, before)
        server.stop()
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("OK: \(CLI.firstFree + 4) events"), r.stdout)
        let log = try cli.run("log", "--json")
        XCTAssertTrue(log.stdout.contains("\"format\":3") || log.status == 0, log.stderr)
        // Once served, always served: a local append (format 2) is refused.
        r = try cli.run(["append", "--key", cli.path("police.key")], stdin: Data(CLI.contact().utf8))
        if postgres {
            // A ledger in PostgreSQL is written only through its service.
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("written only by its log service"), r.stderr)
        } else {
            XCTAssertEqual(r.status, 3, r.stderr)
            XCTAssertTrue(r.stderr.contains("format 2 after an event of format 3"), r.stderr)
        }
    }

    /// The trust-model issue's insider attacks and a hostile client's requests, through the API:
    /// each refused with a one-line JSON error and the CLI's exit code, and nothing written.
    func testHostileRequestsAreRefusedAndChangeNothing() throws {
        let police = try KeyFile.decode(try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key"))).map { $0 }, passphrase: { nil })
        let csc = try KeyFile.decode(try Data(contentsOf: URL(fileURLWithPath: cli.path("csc.key"))).map { $0 }, passphrase: { nil })
        let policeActor = Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: police.publicKey.keyID)
        func submission(_ draft: EventDraft, key: SigningKey, actor: Actor) throws -> ServiceAPI.Submission {
            let sealed = try SealedDetails(draft.details)
            return ServiceAPI.Submission(statement: try SignedStatement(draft: draft, sealed: sealed, actor: actor, eventID: Sodium.uuid(), key: key, origin: "test.example/ledger"), details: sealed)
        }
        let at = Timestamp(rfc3339: "2026-03-01T10:00:00Z")!
        func contact(_ caseID: String = "C-0001", how: String = "phone") -> EventDraft {
            EventDraft(type: "contact.recorded", caseID: caseID, occurredAt: at, facts: ["contact_type": .string(how), "indicators": .array(["A2"])])
        }
        let good = try submission(contact(), key: police, actor: policeActor)
        let size = try server.size()

        var cases: [(String, [UInt8], Int, String)] = []
        func body(_ s: ServiceAPI.Submission) throws -> [UInt8] { try CanonicalJSON.encode(s.json) }
        // A client naming its own place, time or link.
        for member in ["seq", "prev_hash", "recorded_at"] {
            var o = good.json.objectValue!, st = good.statement.json.objectValue!
            st[member] = member == "seq" ? .integer(3) : .string(member == "prev_hash" ? String(repeating: "0", count: 64) : "2026-01-01T00:00:00Z")
            o["statement"] = .object(st)
            cases.append(("statement with \(member)", try CanonicalJSON.encode(.object(o)), 400, "given by the log"))
        }
        cases.append(("csc's key signing as police's key", try body(try submission(contact(), key: csc, actor: policeActor)), 401, "signature does not verify"))
        let cscAsPolice = Actor(agency: "police", role: "practitioner", practitioner: "SW 0002", keyID: csc.publicKey.keyID)
        cases.append(("csc's key claiming agency police", try body(try submission(contact(), key: csc, actor: cscAsPolice)), 422, "actor.agency"))
        var altered = good.json.objectValue!, st = good.statement.json.objectValue!
        st["facts"] = .object(["contact_type": "online", "indicators": .array(["A2"])])
        altered["statement"] = .object(st)
        cases.append(("altered after signing", try CanonicalJSON.encode(.object(altered)), 401, "signature does not verify"))
        let stranger = SigningKey.generate()
        cases.append(("unknown key", try body(try submission(contact(), key: stranger, actor: Actor(agency: "police", role: "practitioner", practitioner: "PC 9", keyID: stranger.publicKey.keyID))), 403, "not enrolled"))
        cases.append(("telepathy", try body(try submission(contact(how: "telepathy"), key: police, actor: policeActor)), 422, "telepathy"))
        cases.append(("case never opened", try body(try submission(contact("Z-0404"), key: police, actor: policeActor)), 422, "never opened"))
        cases.append(("malformed JSON", Array("{\"statement\":".utf8), 400, "not JSON"))
        cases.append(("not an object", Array("[]".utf8), 400, "JSON object"))
        cases.append(("oversized", [UInt8](repeating: 0x20, count: ServiceAPI.maxRequestBytes + 10), 413, "over"))
        try server.assertRefused(cases)
        XCTAssertEqual(try server.size(), size, "nothing was written")

        // The good one is placed once; sent again (a replay), it is refused as a duplicate.
        var (code, json) = try server.post("/v1/statements", try body(good))
        XCTAssertEqual(code, 201, "\(json)")
        (code, json) = try server.post("/v1/statements", try body(good))
        XCTAssertEqual(code, 409, "\(json)")
        XCTAssertEqual(try server.size(), size + 1)

        // A revoked key: refused from the revocation on.
        var r = try cli.run("keys", "revoke", "--server", server.url, "--key", cli.path("root.key"), "--key-id", csc.publicKey.keyID, "--reason", "left_agency")
        XCTAssertEqual(r.status, 0, r.stderr)
        let cscActor = Actor(agency: "csc", role: "practitioner", practitioner: "SW 0002", keyID: csc.publicKey.keyID)
        (code, json) = try server.post("/v1/statements", try body(try submission(contact(), key: csc, actor: cscActor)))
        XCTAssertEqual(code, 403, "\(json)")
        XCTAssertTrue(json["error"]?.stringValue?.contains("revoked") == true, "\(json)")
        r = try cli.run("record", "contact", "--server", server.url, "--key", cli.path("csc.key"), "--case", "C-0001", "--how", "phone")
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("revoked"), r.stderr)
    }

    /// A slow sender is cut off after --request-timeout, and a key over its rate is told to wait.
    func testSlowSendersAreCutOffAndRatesLimited() throws {
        let fd = try server.connectedSocket()
        defer { close(fd) }
        let head = "POST /v1/statements HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nContent-Type: application/json\r\n\r\n{"
        _ = head.withCString { send(fd, $0, strlen($0), 0) }
        let started = Date()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let n = recv(fd, &buffer, buffer.count, 0)
        let waited = Date().timeIntervalSince(started)
        XCTAssertLessThan(waited, 8, "the service cut the slow sender off")
        if n > 0 {
            let answer = String(decoding: buffer.prefix(n), as: UTF8.self)
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 408"), answer)
        }

        // Rate: a server allowing 1 request a second per key (bursts of 4).
        server.stop()
        server = try ServiceProcess.start(cli, extra: ["--rate-limit", "1"])
        let police = try KeyFile.decode(try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key"))).map { $0 }, passphrase: { nil })
        let actor = Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: police.publicKey.keyID)
        let draft = EventDraft(type: "contact.recorded", caseID: "Z-0404", occurredAt: Timestamp(rfc3339: "2026-03-01T10:00:00Z")!,
                               facts: ["contact_type": "phone", "indicators": .array(["A2"])])
        let sealed = try SealedDetails([:])
        let bytes = try CanonicalJSON.encode(ServiceAPI.Submission(statement: try SignedStatement(draft: draft, sealed: sealed, actor: actor, eventID: Sodium.uuid(), key: police, origin: "test.example/ledger"), details: sealed).json)
        var limited = 0
        for _ in 0..<10 {
            let (code, json) = try server.post("/v1/statements", bytes)
            if code == 429 {
                limited += 1
                XCTAssertEqual(json["exit_code"]?.integerValue, 4, "\(json)")
            }
        }
        XCTAssertGreaterThan(limited, 0, "a key over its rate is told to wait")
    }

    /// A request that is not signed by the key it names counts against the address it came
    /// from, not against that key: junk naming a practitioner's key cannot use up their allowance.
    func testJunkNamingAKeyDoesNotUseUpThatKeysAllowance() throws {
        server.stop()
        server = try ServiceProcess.start(cli, extra: ["--rate-limit", "1"])
        let police = try KeyFile.decode(try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key"))).map { $0 }, passphrase: { nil })
        let actor = Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: police.publicKey.keyID)
        func body(signedBy key: SigningKey, _ i: Int) throws -> [UInt8] {
            let d = EventDraft(type: "contact.recorded", caseID: "C-0001", occurredAt: Timestamp(rfc3339: "2026-03-01T10:00:00Z")!,
                               facts: ["contact_type": "phone", "indicators": .array([.string("A\(1 + i % 19)")])])
            let sealed = try SealedDetails([:])
            return try CanonicalJSON.encode(ServiceAPI.Submission(statement: try SignedStatement(draft: d, sealed: sealed, actor: actor, eventID: Sodium.uuid(), key: key, origin: "test.example/ledger"), details: sealed).json)
        }
        // From 127.0.0.2: ten statements naming the police key, signed by another.
        var codes: [Int] = []
        for i in 0..<10 { codes.append(try server.post("/v1/statements", try body(signedBy: SigningKey.generate(), i), from: "127.0.0.2")) }
        XCTAssertEqual(Set(codes), [401, 429], "\(codes)")
        // From 127.0.0.1, the police key's own statements: its allowance (a burst of 4) is whole.
        for i in 0..<4 {
            let (code, json) = try server.post("/v1/statements", try body(signedBy: police, i))
            XCTAssertEqual(code, 201, "\(json)")
        }
    }

    /// A witness served over HTTP (c2sp.org/tlog-witness) cosigns the service's checkpoints as
    /// it sends them; the checkpoint at /checkpoint carries the cosignature, and `verify` with
    /// the witness's key proves when the events it covers were recorded, at the latest.
    func testAWitnessCosignsTheServicesCheckpointsAndVerifyProvesWhen() throws {
        var r = try cli.run("keys", "generate", "--out", cli.path("w.key"), "--unprotected")
        XCTAssertEqual(r.status, 0, r.stderr)
        let logVKey = try cli.run("checkpoint", "--key", cli.path("log.key"), "--vkey").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let wVKey = try cli.run("witness", "serve", "--key", cli.path("w.key"), "--name", "inspectorate.example/w1", "--state", cli.path("w.state"), "--vkey")
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let witness = try ServiceProcess.start(cli, arguments: ["witness", "serve", "--key", cli.path("w.key"), "--name", "inspectorate.example/w1",
                                                                "--log-key", logVKey, "--state", cli.path("w.state"), "--listen", "127.0.0.1:0"])
        defer { witness.stop() }
        // Before the service that sends checkpoints to the witness starts: the checkpoint found
        // below may be the one it cosigns at start-up (of the size before the contact).
        let before = Int64(Date().timeIntervalSince1970)
        server.stop()
        server = try ServiceProcess.start(cli, extra: ["--checkpoint-every", "1", "--witness", "\(witness.url) \(wVKey)"])
        r = try cli.run("record", "contact", "--server", server.url, "--key", cli.path("police.key"), "--case", "C-0001", "--how", "phone")
        XCTAssertEqual(r.status, 0, r.stderr)
        // Wait for a checkpoint covering it, cosigned.
        var note = ""
        for _ in 0..<100 {
            let (data, status) = try LogClient.send(URLRequest(url: URL(string: server.url + "/checkpoint")!))
            note = String(decoding: data, as: UTF8.self)
            if status == 200, note.contains("\n\(CLI.firstFree + 1)\n") || note.contains("\n\(CLI.firstFree + 2)\n"), note.contains("— inspectorate.example/w1 ") { break }
            usleep(100_000)
        }
        XCTAssertTrue(note.contains("— inspectorate.example/w1 "), note)
        try note.write(toFile: cli.path("cp.txt"), atomically: true, encoding: .utf8)
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--checkpoint", cli.path("cp.txt"), "--log-key", logVKey, "--witness", wVKey, "--json")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let json = try JSONParser.parse(Array(r.stdout.utf8))
        let bound = try XCTUnwrap(json["checkpoint"]?["recorded_before"]?.arrayValue?.first)
        XCTAssertEqual(bound["witness"]?.stringValue, "inspectorate.example/w1")
        let t = try XCTUnwrap(bound["time"]?.stringValue.flatMap(Timestamp.init(canonical:)))
        XCTAssertGreaterThanOrEqual(t.seconds, before)
        r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"), "--checkpoint", cli.path("cp.txt"), "--log-key", logVKey, "--witness", wVKey)
        XCTAssertTrue(r.stdout.contains("recorded before \(t), cosigned by inspectorate.example/w1"), r.stdout)

        // The witness's own answers (c2sp.org/tlog-witness): a request from a stale size gets 409
        // and the size it cosigned; an unknown log 404; a checkpoint not signed by the log 403.
        let parts = note.components(separatedBy: "\n\n")
        let body = Array(("old 0\n\n" + parts[0] + "\n\n" + parts[1].split(separator: "\n")[0] + "\n").utf8)
        var req = URLRequest(url: URL(string: witness.url + "/add-checkpoint")!)
        req.httpMethod = "POST"
        req.httpBody = Data(body)
        var (answer, status) = try LogClient.send(req)
        XCTAssertEqual(status, 409, String(decoding: answer, as: UTF8.self))
        XCTAssertEqual(Int64(String(decoding: answer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)).map { $0 > 0 }, true)
        req.httpBody = Data(("old 0\n\nother.example/log\n1\n" + String(repeating: "A", count: 43) + "=\n\n— other.example/log AAAAAAAA\n").utf8)
        (answer, status) = try LogClient.send(req)
        XCTAssertEqual(status, 404, String(decoding: answer, as: UTF8.self))
        let forged = parts[0] + "\n\n— test.example/ledger " + Base64.encode([UInt8](repeating: 1, count: 68)) + "\n"
        req.httpBody = Data(("old 0\n\n" + forged).utf8)
        (answer, status) = try LogClient.send(req)
        XCTAssertTrue([403, 400].contains(status), "\(status) \(String(decoding: answer, as: UTF8.self))")
    }

    /// c2sp.org/tlog-tiles: hash tiles for anyone (each entry's hash at level 0, checked here
    /// against the entries themselves); entry bundles only for a key of a read role, with a
    /// signed request.
    func testTilesAndEntryBundles() throws {
        var r = try cli.run("keys", "generate", "--out", cli.path("analyst.key"), "--unprotected")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("keys", "enrol", "--server", server.url, "--key", cli.path("root.key"), "--public", cli.path("analyst.key.pub"),
                        "--agency", "mash", "--role", "analyst", "--practitioner", "Analyst 0001")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("record", "contact", "--server", server.url, "--key", cli.path("police.key"), "--case", "C-0001", "--how", "phone")
        XCTAssertEqual(r.status, 0, r.stderr)
        let size = Int(try server.size())
        XCTAssertLessThan(size, 256)
        let tilePath = TilePath(level: 0, index: 0, width: size).path
        XCTAssertEqual(tilePath, "0/000.p/\(size)")
        XCTAssertEqual(TilePath("0/x001/x234/067.p/7".split(separator: "/")), TilePath(level: 0, index: 1_234_067, width: 7))
        XCTAssertNil(TilePath("0/1/2".split(separator: "/")))
        let (tile, status) = try LogClient.send(URLRequest(url: URL(string: "\(server.url)/tile/\(tilePath)")!))
        XCTAssertEqual(status, 200)
        XCTAssertEqual(tile.count, 32 * size)
        let (_, tooBig) = try LogClient.send(URLRequest(url: URL(string: "\(server.url)/tile/0/000.p/\(size + 1)")!))
        XCTAssertEqual(tooBig, 404, "a tile the log is not yet large enough for")

        func bundle(_ key: SigningKey?) throws -> (Data, Int) {
            let path = "/tile/entries/000.p/\(size)"
            var req = URLRequest(url: URL(string: server.url + path)!)
            if let key {
                for (k, v) in SignedRead.headers(method: "GET", path: path, key: key, time: Int64(Date().timeIntervalSince1970)) { req.setValue(v, forHTTPHeaderField: k) }
            }
            return try LogClient.send(req)
        }
        XCTAssertEqual(try bundle(nil).1, 401, "no signature")
        let police = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key")))), passphrase: { nil })
        XCTAssertEqual(try bundle(police).1, 403, "a practitioner's key does not read bundles")
        XCTAssertEqual(try bundle(SigningKey.generate()).1, 403, "an unknown key")
        let analyst = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("analyst.key")))), passphrase: { nil })
        let (data, ok) = try bundle(analyst)
        XCTAssertEqual(ok, 200, String(decoding: data, as: UTF8.self))
        // Each entry hashes (RFC 6962 leaf) to the level-0 tile's hash at its place.
        var bytes = [UInt8](data), i = 0
        while !bytes.isEmpty {
            let n = Int(bytes[0]) << 8 | Int(bytes[1])
            let entry = Array(bytes[2..<(2 + n)])
            XCTAssertEqual(SHA256.hash([0x00] + entry), Array(tile[(32 * i)..<(32 * i + 32)]), "entry \(i)")
            bytes.removeFirst(2 + n)
            i += 1
        }
        XCTAssertEqual(i, size)
    }

    /// `safeguard mirror`: a verified copy, fetched through the tiles by an analyst's key, then
    /// only what is new; verified with the details withheld; a practitioner's key gets nothing,
    /// and a failed first run leaves no file behind.
    func testMirrorKeepsAVerifiedCopy() throws {
        server.stop()
        server = try ServiceProcess.start(cli, extra: ["--checkpoint-every", "1"])
        var r = try cli.run("keys", "generate", "--out", cli.path("analyst.key"), "--unprotected")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("keys", "enrol", "--server", server.url, "--key", cli.path("root.key"), "--public", cli.path("analyst.key.pub"),
                        "--agency", "mash", "--role", "analyst", "--practitioner", "Analyst 0001")
        XCTAssertEqual(r.status, 0, r.stderr)
        let logVKey = try cli.run("checkpoint", "--key", cli.path("log.key"), "--vkey").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        func waitForCheckpoint(_ size: Int64) throws {
            for _ in 0..<100 {
                let (data, status) = try LogClient.send(URLRequest(url: URL(string: server.url + "/checkpoint")!))
                if status == 200, String(decoding: data, as: UTF8.self).contains("\n\(size)\n") { return }
                usleep(100_000)
            }
            XCTFail("no checkpoint of \(size) events")
        }
        let copy = cli.path("copy.sqlite")
        let mirror = ["mirror", "--server", server.url, "--ledger", copy, "--key", cli.path("analyst.key"), "--log-key", logVKey, "--trust-file", cli.path("root.key.pub")]
        try waitForCheckpoint(try server.size())
        r = try cli.run(mirror)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let first = try server.size()
        XCTAssertTrue(r.stdout.contains("checkpoint of \(first) events (\(first) new"), r.stdout)
        r = try cli.run("verify", "--ledger", copy, "--trust-file", cli.path("root.key.pub"), "--details-withheld", "--checkpoint", copy + ".checkpoint", "--log-key", logVKey)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        r = try cli.run("verify", "--ledger", copy, "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 1, "without --details-withheld, the missing records are missing")
        XCTAssertTrue(r.stdout.contains("--details-withheld"), r.stdout)
        for how in ["phone", "online"] {
            r = try cli.run("record", "contact", "--server", server.url, "--key", cli.path("police.key"), "--case", "C-0001", "--how", how)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        try waitForCheckpoint(first + 2)
        r = try cli.run(mirror)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("(2 new"), r.stdout)
        // Every checkpoint it saw is kept, for late recording by witnessed time (R12).
        let kept = try FileManager.default.contentsOfDirectory(atPath: copy + ".checkpoints").sorted()
        XCTAssertEqual(kept, ["\(first + 2).checkpoint", "\(first).checkpoint"].sorted())
        r = try cli.run("project", "rebuild", "--ledger", copy, "--trust-file", cli.path("root.key.pub"))
        XCTAssertNotEqual(r.status, 0, "a rebuild verifies in full, and the copy has no details: \(r.stdout)")
        r = try cli.run("project", "rebuild", "--ledger", copy, "--trust-file", cli.path("root.key.pub"), "--details-withheld")
        XCTAssertEqual(r.status, 0, "the analyst's read models from the mirror: \(r.stdout) \(r.stderr)")
        r = try cli.run("report", "practice", "--ledger", copy, "--witnessed", copy + ".checkpoints")
        XCTAssertEqual(r.status, 2, "--witnessed needs the keys whose signatures count: \(r.stderr)")
        r = try cli.run("keys", "generate", "--out", cli.path("w.key"), "--unprotected")
        let wVKey = try cli.run("witness", "serve", "--key", cli.path("w.key"), "--name", "w.example/1", "--state", cli.path("w.state"), "--vkey")
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        r = try cli.run("report", "practice", "--ledger", copy, "--witnessed", copy + ".checkpoints", "--log-key", logVKey, "--witness", wVKey)
        XCTAssertEqual(r.status, 0, "no cosignature by that witness: the log's clock alone, as without --witnessed: \(r.stderr)")
        XCTAssertTrue(r.stdout.contains("Recording-practice exceptions"), r.stdout)
        // A practitioner's key may not read entries: refused, and nothing is left behind.
        let other = cli.path("other.sqlite")
        r = try cli.run(["mirror", "--server", server.url, "--ledger", other, "--key", cli.path("police.key"), "--log-key", logVKey, "--trust-file", cli.path("root.key.pub")])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("entry bundles are for analyst, mase_chair"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: other))
        XCTAssertFalse(FileManager.default.fileExists(atPath: other + ".state"))
    }

    /// SIGTERM: the service finishes what it received and exits 0. SIGKILL mid-load: every
    /// event acknowledged before the kill is in the ledger after a restart, which verifies.
    func testSIGKILLKeepsEveryAcknowledgedEvent() throws {
        let police = try KeyFile.decode(try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key"))).map { $0 }, passphrase: { nil })
        let client = try LogClient(server: server.url)
        let acknowledged = Locked<[String]>([])
        let group = DispatchGroup()
        for t in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                for i in 0..<200 {
                    let d = EventDraft(type: "contact.recorded", caseID: "C-0001", occurredAt: Timestamp(rfc3339: "2026-03-01T10:00:00Z")!,
                                       facts: ["contact_type": "phone", "indicators": .array([.string("A\(1 + (t + i) % 19)")])])
                    guard let r = try? client.submit([d], key: police) else { return }
                    acknowledged.mutate { $0.append(r[0].0.eventID) }
                }
            }
        }
        while acknowledged.value.count < 50 { usleep(10_000) }
        server.kill()
        group.wait()
        let kept = acknowledged.value
        XCTAssertGreaterThan(kept.count, 49)
        let r = try cli.run("verify", "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let log = try cli.run("log", "--json")
        for id in kept { XCTAssertTrue(log.stdout.contains(id), "acknowledged event \(id) is missing after SIGKILL") }
        // Restarted, it goes on; SIGTERM then stops it cleanly.
        server = try ServiceProcess.start(cli)
        let again = try cli.run("record", "contact", "--server", server.url, "--key", cli.path("police.key"), "--case", "C-0001", "--how", "phone")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(server.terminate(), 0, "SIGTERM: a clean stop")
    }
}

/// A test with `CLI.makeLedger`'s ledger, a log key, and `safeguard serve` running on it.
class ServedLedgerTestCase: XCTestCase {
    var cli: CLI!
    var server: ServiceProcess!
    /// The `serve` options the tests of a subclass need.
    var serveArguments: [String] { [] }
    /// Whether the ledger is kept in PostgreSQL (`serve --store`) rather than in the file.
    var postgres: Bool { false }

    override func setUpWithError() throws { (cli, server) = try ServiceProcess.servedLedger(extra: serveArguments, postgres: postgres) }
    override func tearDown() { server?.stop() }
}

/// A value shared between threads.
final class Locked<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}

/// `safeguard serve` running in the background on a free loopback port.
final class ServiceProcess {
    let process: Process
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }
    let stderrPath: String

    /// `CLI.makeLedger`'s ledger with a log key, served.
    /// With `postgres`, the ledger is moved into a new PostgreSQL database first, and
    /// $SAFEGUARD_LEDGER names it (as the service's role, which may read): every command the
    /// tests run reads it there, and the service keeps it there (`serve --store`).
    static func servedLedger(extra: [String] = [], postgres: Bool = false) throws -> (CLI, ServiceProcess) {
        var cli = try CLI()
        try cli.makeLedger()
        var r = try cli.run("keys", "generate", "--out", cli.path("log.key"), "--unprotected")
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try cli.run("keys", "set-log-key", "--key", cli.path("root.key"), "--public", cli.path("log.key.pub"))
        XCTAssertEqual(r.status, 0, r.stderr)
        if postgres {
            let (server, db) = try PostgresServer.newDatabase()
            r = try cli.run("migrate", "--from", cli.ledger, "--to", server.url(database: db), "--trust-file", cli.path("root.key.pub"), "--service-role", "svc")
            XCTAssertEqual(r.status, 0, r.stderr)
            cli.env["SAFEGUARD_LEDGER"] = server.url(user: "svc", database: db)
        }
        return (cli, try start(cli, extra: extra))
    }

    static func start(_ cli: CLI, extra: [String] = [], arguments: [String]? = nil) throws -> ServiceProcess {
        let p = Process()
        p.executableURL = CLI.executable
        // A ledger in PostgreSQL is served from there (the service's role connects).
        let store = cli.env["SAFEGUARD_LEDGER"].flatMap { $0.hasPrefix("postgres://") ? ["--store", $0] : nil } ?? []
        p.arguments = arguments ?? (["serve", "--listen", "127.0.0.1:0", "--log-key", cli.path("log.key"), "--trust-file", cli.path("root.key.pub")] + store + extra)
        p.environment = cli.env
        p.currentDirectoryURL = cli.dir
        let out = cli.path("serve-\(UUID().uuidString).out"), err = out + ".err"
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: out)
        p.standardError = FileHandle(forWritingAtPath: err)
        try p.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            if let r = text.range(of: "listening on http://127.0.0.1:"), let port = Int(text[r.upperBound...].prefix { $0.isNumber }) {
                return ServiceProcess(process: p, port: port, stderrPath: err)
            }
            if !p.isRunning {
                throw XCTSkip("safeguard serve exited at start: " + ((try? String(contentsOfFile: err, encoding: .utf8)) ?? ""))
            }
            usleep(20_000)
        }
        p.terminate()
        throw CocoaError(.fileReadUnknown)
    }

    private init(process: Process, port: Int, stderrPath: String) { self.process = process; self.port = port; self.stderrPath = stderrPath }

    func stop() { if process.isRunning { process.terminate(); process.waitUntilExit() } }
    func kill() { Foundation.kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    func terminate() -> Int32 { process.terminate(); process.waitUntilExit(); return process.terminationStatus }

    func size() throws -> Int64 { try get("/v1/log").1["size"]?.integerValue ?? -1 }

    /// Posts each statement body of `cases` (what, body, status, a fragment of the message) and
    /// checks it is refused with that status and a one-line message the submitter must act on.
    func assertRefused(_ cases: [(String, [UInt8], Int, String)], file: StaticString = #filePath, line: UInt = #line) throws {
        for (what, bytes, status, fragment) in cases {
            let (code, json) = try post("/v1/statements", bytes)
            XCTAssertEqual(code, status, "\(what): \(json)", file: file, line: line)
            let message = json["error"]?.stringValue ?? ""
            XCTAssertTrue(message.contains(fragment), "\(what): \(message)", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "\(what): one line", file: file, line: line)
            XCTAssertEqual(json["exit_code"]?.integerValue, 3, "\(what)", file: file, line: line)
        }
    }

    func get(_ path: String) throws -> (Int, JSONValue) { try request("GET", path, nil) }
    func post(_ path: String, _ body: [UInt8]) throws -> (Int, JSONValue) { try request("POST", path, body) }

    /// A POST over a socket bound to `source` (another loopback address): the status alone.
    /// A TCP socket connected to the service, from `source` (another loopback address) if given.
    func connectedSocket(from source: String? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard bound == 0 else { close(fd); throw XCTSkip("cannot send from \(source) on this machine") }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { close(fd); throw CocoaError(.fileReadUnknown) }
        return fd
    }

    func post(_ path: String, _ body: [UInt8], from source: String) throws -> Int {
        let fd = try connectedSocket(from: source)
        defer { close(fd) }
        let request = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 12 else { return 0 }
        return Int(String(decoding: buffer[9..<12], as: UTF8.self)) ?? 0
    }

    func request(_ method: String, _ path: String, _ body: [UInt8]?) throws -> (Int, JSONValue) {
        var r = URLRequest(url: URL(string: url + path)!, timeoutInterval: 30)
        r.httpMethod = method
        if let body { r.httpBody = Data(body); r.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, status) = try LogClient.send(r)
        return (status, (try? JSONParser.parse([UInt8](data))) ?? .object([:]))
    }
}

/// The service's tests with the ledger kept in PostgreSQL (`serve --store`), against a real server.
final class PostgresServiceTests: ServiceTests {
    override var postgres: Bool { true }
    // Named here so that test discovery on Linux, which reads each class's own methods, runs them.
    override func testTwoAgenciesRecordThroughTheServiceAndTheLedgerVerifies() throws { try super.testTwoAgenciesRecordThroughTheServiceAndTheLedgerVerifies() }
    override func testHostileRequestsAreRefusedAndChangeNothing() throws { try super.testHostileRequestsAreRefusedAndChangeNothing() }
    override func testSlowSendersAreCutOffAndRatesLimited() throws { try super.testSlowSendersAreCutOffAndRatesLimited() }
    override func testJunkNamingAKeyDoesNotUseUpThatKeysAllowance() throws { try super.testJunkNamingAKeyDoesNotUseUpThatKeysAllowance() }
    override func testAWitnessCosignsTheServicesCheckpointsAndVerifyProvesWhen() throws { try super.testAWitnessCosignsTheServicesCheckpointsAndVerifyProvesWhen() }
    override func testTilesAndEntryBundles() throws { try super.testTilesAndEntryBundles() }
    override func testMirrorKeepsAVerifiedCopy() throws { try super.testMirrorKeepsAVerifiedCopy() }
    override func testSIGKILLKeepsEveryAcknowledgedEvent() throws { try super.testSIGKILLKeepsEveryAcknowledgedEvent() }
}
