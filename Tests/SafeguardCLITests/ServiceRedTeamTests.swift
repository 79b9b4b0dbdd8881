import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SafeguardCore
import XCTest

@testable import SafeguardService

/// The red team's findings against the log service (docs/RELIABILITY.md, "The log service"),
/// each kept as a test through the real executable: the attack, and what must hold.
final class ServiceRedTeamTests: ServedLedgerTestCase {
    var police: SigningKey!
    var policeActor: Actor!
    override var serveArguments: [String] { ["--rate-limit", "1", "--trusted-proxy", "127.0.0.1"] }

    override func setUpWithError() throws {
        try super.setUpWithError()
        police = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key")))), passphrase: { nil })
        policeActor = Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: police.publicKey.keyID)
    }

    func body(_ key: SigningKey, actor: Actor? = nil, origin: String = "test.example/ledger", indicator: Int = 2) throws -> [UInt8] {
        let d = EventDraft(type: "contact.recorded", caseID: "C-0001", occurredAt: Timestamp(rfc3339: "2026-03-01T10:00:00Z")!,
                           facts: ["contact_type": "phone", "indicators": .array([.string("A\(indicator)")])])
        let sealed = try SealedDetails([:])
        let statement = try SignedStatement(draft: d, sealed: sealed, actor: actor ?? policeActor, eventID: Sodium.uuid(), key: key, origin: origin)
        return try CanonicalJSON.encode(ServiceAPI.Submission(statement: statement, details: sealed).json)
    }

    func post(_ body: [UInt8], from client: String? = nil) throws -> (Int, JSONValue) {
        var r = URLRequest(url: URL(string: server.url + "/v1/statements")!)
        r.httpMethod = "POST"
        r.httpBody = Data(body)
        if let client { r.setValue(client, forHTTPHeaderField: "X-Forwarded-For") }
        let (data, status) = try LogClient.send(r)
        return (status, (try? JSONParser.parse([UInt8](data))) ?? .object([:]))
    }

    /// Finding 1: an object of many members out of order cost time quadratic in their number
    /// (about 10 s of CPU for 40,000): names are now checked for duplicates in one pass.
    func testManyMembersOutOfOrderParseInOnePass() throws {
        let n = 200_000
        var text = "{"
        for i in stride(from: n, to: 0, by: -1) { text += "\"k\(i)\":1," }
        text.removeLast()
        text += "}"
        let parsed = try JSONParser.parse(Array(text.utf8))
        XCTAssertEqual(parsed.objectValue?.count, n)
        XCTAssertThrowsError(try JSONParser.parse(Array("{\"b\":1,\"a\":1,\"b\":2}".utf8)), "a duplicate after names out of order")
    }

    /// Finding 2: behind a reverse proxy every request came from its address, so one client's
    /// junk had every agency refused. With --trusted-proxy, the client named in X-Forwarded-For
    /// is charged, not the proxy.
    func testJunkFromOneClientBehindTheProxyDoesNotStopOthers() throws {
        var codes: [Int] = []
        for _ in 0..<12 { codes.append(try post(Array("x".utf8), from: "10.0.0.66").0) }
        XCTAssertTrue(codes.contains(429), "the junk's own address is limited: \(codes)")
        let (code, json) = try post(try body(police), from: "10.0.0.7")
        XCTAssertEqual(code, 201, "another client through the same proxy: \(json)")
    }

    /// Finding 3: replaying a practitioner's placed statement used up their key's allowance.
    /// Refusals are charged to the sender's address; the key only for what is placed.
    func testReplayingAStatementDoesNotLockItsPractitionerOut() throws {
        let placed = try body(police)
        XCTAssertEqual(try post(placed, from: "10.0.0.9").0, 201)
        var codes: [Int] = []
        for _ in 0..<10 { codes.append(try post(placed, from: "10.0.0.5").0) }
        XCTAssertEqual(Set(codes), [409, 429], "\(codes)")
        for i in 0..<3 {
            let (code, json) = try post(try body(police, indicator: 3 + i), from: "10.0.0.9")
            XCTAssertEqual(code, 201, "the practitioner's own statements still go through: \(json)")
        }
    }

    /// Finding 4: a statement signed for one partnership's log was accepted by another's where
    /// the same key is enrolled. The statement's signature now covers the log's origin.
    func testAStatementForAnotherLogIsRefused() throws {
        let (code, json) = try post(try body(police, origin: "other.example/ledger"))
        XCTAssertEqual(code, 401, "\(json)")
        XCTAssertEqual(try server.size(), Int64(CLI.firstFree + 1), "nothing placed")
    }

    /// Finding 9: statements naming fresh, unenrolled key ids went past every limit. They are
    /// refused before the sequencer, and charged to the sender's address.
    func testUnknownKeyIDsAreChargedToTheirSender() throws {
        var codes: [Int] = []
        for _ in 0..<12 {
            let k = SigningKey.generate()
            codes.append(try post(try body(k, actor: Actor(agency: "police", role: "practitioner", practitioner: "PC 9", keyID: k.publicKey.keyID)), from: "10.0.0.13").0)
        }
        XCTAssertEqual(Set(codes), [403, 429], "\(codes)")
    }

    /// Finding 12: a chunked body over the limit gave 500 and nothing in the log; now 413.
    func testAnOversizedChunkedBodyIs413() throws {
        let fd = try server.connectedSocket()
        defer { close(fd) }
        _ = "POST /v1/statements HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: 0x20, count: 0x10000) + Array("\r\n".utf8)
        for _ in 0..<60 { _ = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let n = recv(fd, &buffer, buffer.count, 0)
        XCTAssertGreaterThan(n, 12)
        XCTAssertTrue(String(decoding: buffer.prefix(max(n, 0)), as: UTF8.self).hasPrefix("HTTP/1.1 413"), String(decoding: buffer.prefix(max(n, 0)), as: UTF8.self))
    }

    // MARK: - The second red team: tiles, the witness, the mirror

    /// Tiles 1: a tile index of seven groups overflowed Int64 and crashed the service (one
    /// unauthenticated request). Now 404, and the service goes on; other spellings of one tile
    /// (leading zero groups, a trailing slash) are 404 too.
    func testHugeOrOddTilePathsAre404AndTheServiceGoesOn() throws {
        for path in ["/tile/0/x999/x999/x999/x999/x999/x999/999.p/1", "/tile/0/x009/x223/x372/x036/x854/x775/807.p/1",
                     "/tile/entries/x999/x999/x999/x999/x999/x999/999.p/1", "/tile/7/x072/x057/x594/x037/x927/x935/999.p/1",
                     "/tile/0/x000/000.p/1", "/tile/0/000.p/1/"] {
            let (_, status) = try LogClient.send(URLRequest(url: URL(string: server.url + path)!))
            XCTAssertEqual(status, 404, path)
        }
        let (_, status) = try LogClient.send(URLRequest(url: URL(string: server.url + "/tile/0/000.p/1")!))
        XCTAssertEqual(status, 200, "the service is still up, and the canonical path is served")
    }

    /// Mirror: an answer larger than any the service should send (here an endless checkpoint)
    /// is cut off and refused, and a first run leaves nothing behind.
    func testAnOversizedAnswerIsRefusedByTheMirror() throws {
        server.stop()
        let fake = try FakeService { _, path, _ in
            (200, path == "/checkpoint" ? String(repeating: "x", count: 200_000) : "{}")
        }
        defer { fake.stop() }
        let vkey = try cli.run("checkpoint", "--key", cli.path("log.key"), "--vkey").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let copy = cli.path("m.sqlite")
        let r = try cli.run("mirror", "--server", fake.url, "--ledger", copy, "--key", cli.path("police.key"), "--log-key", vkey, "--trust-file", cli.path("root.key.pub"))
        XCTAssertEqual(r.status, 4, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("bytes, more than any it should send"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: copy))
    }

    /// Witness 4-6: evidence of a fork is kept in a folder made for it (it was lost when the
    /// folder did not exist), once however often the fork is sent, and the answer is 409 with
    /// the size last cosigned (text/x.tlog.size).
    func testTheWitnessKeepsForkEvidenceOnce() throws {
        try cli.run("keys", "generate", "--out", cli.path("w.key"), "--unprotected")
        let logKey = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("log.key")))), passphrase: { nil })
        let logVKey = try cli.run("checkpoint", "--key", cli.path("log.key"), "--vkey").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let evidence = cli.path("evidence/w1")
        let witness = try ServiceProcess.start(cli, arguments: ["witness", "serve", "--key", cli.path("w.key"), "--name", "w.example/1", "--log-key", logVKey,
                                                                "--state", cli.path("w.state"), "--evidence-dir", evidence, "--listen", "127.0.0.1:0"])
        defer { witness.stop() }
        func note(_ root: UInt8) throws -> String {
            let c = Checkpoint(origin: "test.example/ledger", size: 5, root: [UInt8](repeating: root, count: 32))!
            return String(decoding: c.body, as: UTF8.self) + "\n" + (try SignedNote.sign(c.body, name: "test.example/ledger", key: logKey)).line
        }
        func post(_ body: String) throws -> (String, Int) {
            var r = URLRequest(url: URL(string: witness.url + "/add-checkpoint")!)
            r.httpMethod = "POST"
            r.httpBody = Data(body.utf8)
            let (d, s) = try LogClient.send(r)
            return (String(decoding: d, as: UTF8.self), s)
        }
        XCTAssertEqual(try post("old 0\n\n" + (try note(1))).1, 200, "the first tree of 5 events is cosigned")
        for _ in 0..<5 {
            let (answer, status) = try post("old 5\n\n" + (try note(2)))
            XCTAssertEqual(status, 409, answer)
            XCTAssertEqual(answer, "5\n", "the size last cosigned")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: evidence).filter { $0.hasPrefix("misbehaviour-") }.count, 1)
    }

    // MARK: - A hostile service, against the client

    /// Findings 5-8: a fake service (this test's own HTTP server) answering what it likes.
    /// The client must not exit 0 on a refusal whatever exit code the answer claims, must not
    /// sign an event back-dated by the service's claimed clock, must warn when it checks a
    /// receipt against the key the service itself names, and must refuse a receipt that dates
    /// the record before the event.
    func testTheClientDoesNotBelieveAHostileService() throws {
        server.stop()
        let fakeLog = SigningKey.generate()
        var mode = "refuse-exit-0"
        let fake = try FakeService { method, path, body in
            if path.hasPrefix("/v1/keys/") {
                return (200, #"{"agency":"police","role":"practitioner","practitioner":"PC 0001","key_id":"\#(self.police.publicKey.keyID)","public_key":"x","enrolled_at_seq":3}"#)
            }
            if path == "/v1/log" {
                let now = mode == "old-clock" ? "2001-01-01T00:00:00Z" : Timestamp(seconds: Int64(Date().timeIntervalSince1970)).description
                return (200, #"{"origin":"test.example/ledger","size":9,"log_key":"\#(fakeLog.publicKey.base64)","log_key_id":"\#(fakeLog.publicKey.keyID)","root_key_id":"x","now":"\#(now)"}"#)
            }
            if mode == "refuse-exit-0" { return (422, #"{"error":"refused for a reason","code":"refused","exit_code":0}"#) }
            // "early-receipt": a receipt, signed by the key the service names, dating the record in 2000.
            let submission = try ServiceAPI.Submission(body: body)
            let e = submission.statement.placed(seq: 9, prevHash: [UInt8](repeating: 7, count: 32), recordedAt: Timestamp(rfc3339: "2000-01-01T00:00:00Z")!)
            let entry = try Entry(sequencing: e, logKey: fakeLog)
            let receipt = ServiceAPI.Receipt(StoredEntry(e, entry: entry, details: submission.details))
            return (201, String(decoding: try CanonicalJSON.encode(receipt.json), as: UTF8.self))
        }
        defer { fake.stop() }
        let args = ["record", "contact", "--server", fake.url, "--key", cli.path("police.key"), "--case", "C-0001", "--how", "phone"]
        var r = try cli.run(args)
        XCTAssertEqual(r.status, 3, "a refusal is never exit 0: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("refused for a reason"), r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: receipts are checked against the log key the service names"), r.stderr)
        mode = "old-clock"
        r = try cli.run(args)
        XCTAssertEqual(r.status, 4, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("more than 10 minutes behind"), r.stderr)
        mode = "early-receipt"
        r = try cli.run(args)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("before the event"), r.stderr)
        XCTAssertFalse(r.stdout.contains("Recorded"), r.stdout)
        // With the partnership's log key pinned, the fake log key's receipt is refused outright.
        r = try cli.run(args + ["--log-pub", cli.path("log.key.pub")])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stderr.contains("not signed by the log key"), r.stderr)
    }
}

/// A minimal HTTP/1.1 server on loopback answering with `handler` (one connection at a time,
/// Connection: close), standing in for a hostile log service.
final class FakeService: @unchecked Sendable {
    let fd: Int32
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }
    private var running = true

    private final class Handler: @unchecked Sendable {
        let f: (String, String, [UInt8]) throws -> (Int, String)
        init(_ f: @escaping (String, String, [UInt8]) throws -> (Int, String)) { self.f = f }
    }

    init(_ handle: @escaping (String, String, [UInt8]) throws -> (Int, String)) throws {
        let handler = Handler(handle)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 16)
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: bound.sin_port))
        let listener = fd
        Thread.detachNewThread { [self] in
            while running {
                let c = accept(listener, nil, nil)
                guard c >= 0 else { return }
                var data: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 65536)
                var headerEnd: Int?
                var length = 0
                while true {
                    let n = recv(c, &chunk, chunk.count, 0)
                    if n <= 0 { break }
                    data += chunk[..<n]
                    if headerEnd == nil, let r = String(decoding: data, as: UTF8.self).range(of: "\r\n\r\n") {
                        let head = String(decoding: data, as: UTF8.self)[..<r.lowerBound]
                        headerEnd = head.utf8.count + 4
                        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                            length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                        }
                    }
                    if let h = headerEnd, data.count >= h + length { break }
                }
                let head = String(decoding: data.prefix(headerEnd ?? 0), as: UTF8.self).split(separator: " ")
                let (status, answer) = (try? handler.f(head.first.map(String.init) ?? "", head.dropFirst().first.map(String.init) ?? "",
                                                     Array(data.dropFirst(headerEnd ?? 0)))) ?? (500, "{}")
                let response = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(answer.utf8.count)\r\nConnection: close\r\n\r\n" + answer
                _ = response.withCString { send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                close(c)
            }
        }
    }

    func stop() { running = false; shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}
