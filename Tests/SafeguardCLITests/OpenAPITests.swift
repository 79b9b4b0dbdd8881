import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SafeguardCatalogue
import SafeguardCore
import XCTest

@testable import SafeguardService

/// docs/openapi.json against the running service: every route `safeguard serve` answers is
/// described, every described operation is called for real, and every answer has a status the
/// description lists for it, its content type, and a body its schema accepts. The schemas are
/// checked by a small JSON Schema validator below, which refuses any keyword it does not
/// implement, so the description cannot claim more than this test checks.
final class OpenAPITests: ServedLedgerTestCase {

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let documentURL = root.appendingPathComponent("docs/openapi.json")
    static let serverSourceURL = root.appendingPathComponent("Sources/SafeguardService/LogServer.swift")

    /// The routes LogServer registers today. The test also reads them from its source, so a
    /// route added there without a description fails even if this list is not updated.
    static let knownRoutes: Set<String> = [
        "POST /v1/statements", "GET /v1/keys/{key_id}", "GET /v1/log", "GET /checkpoint", "GET /metrics", "GET /healthz",
    ]
    /// Members a schema may leave out of `required`; any other property must be required, so a
    /// member dropped from a `required` list by mistake fails the test.
    static let optionalMembers: Set<String> = ["Statement.case_id", "Enrolment.revoked_at_seq", "Submission.details", "Submission.sealed_details",
                                               "Submission.case_keys", "Log.seals_details_since_policy", "CaseKeys.entitled", "CaseKeys.first_sealed_seq",
                                               "WrappedKey.wrapped_by_key", "WrappedKey.wrapped_by_agency"]
    static let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]


    // MARK: - The description on its own

    func testDescriptionIsWellFormedAndItsExamplesHold() throws {
        let doc = try Self.loadDocument()
        let v = SchemaValidator(document: doc)
        XCTAssertEqual(doc["openapi"] as? String, "3.1.0")
        let servers = try XCTUnwrap(doc["servers"] as? [[String: Any]])
        XCTAssertEqual(servers.first?["url"] as? String, "http://127.0.0.1:8088")
        let info = try XCTUnwrap(doc["info"] as? [String: Any])
        XCTAssertNotNil(info["title"] as? String)
        XCTAssertNotNil(info["version"] as? String)

        // Every operation: an id, a description, and for each request and response one example
        // its schema accepts.
        var operationIDs: Set<String> = []
        for (path, method, op) in try Self.operations(doc) {
            let label = "\(method.uppercased()) \(path)"
            let id = try XCTUnwrap(op["operationId"] as? String, label)
            XCTAssertTrue(operationIDs.insert(id).inserted, "\(label): operationId \(id) is used twice")
            XCTAssertFalse((op["description"] as? String ?? "").isEmpty, "\(label): no description")
            if let body = op["requestBody"] {
                let content = try XCTUnwrap(v.deref(body)["content"] as? [String: Any], "\(label): request body without content")
                try checkExamples(content, v, label + " request")
            }
            let responses = try XCTUnwrap(op["responses"] as? [String: Any], "\(label): no responses")
            XCTAssertFalse(responses.isEmpty, label)
            for (status, response) in responses {
                let r = try v.deref(response)
                XCTAssertFalse((r["description"] as? String ?? "").isEmpty, "\(label) \(status): no description")
                let content = try XCTUnwrap(r["content"] as? [String: Any], "\(label) \(status): no content")
                try checkExamples(content, v, "\(label) \(status)")
            }
            for p in op["parameters"] as? [Any] ?? [] {
                let param = try v.deref(p)
                let schema = try XCTUnwrap(param["schema"], "\(label): parameter without schema")
                let example = try XCTUnwrap(param["example"], "\(label): parameter without example")
                XCTAssertEqual(v.errors(example, schema), [], "\(label): parameter example")
                if param["in"] as? String == "path" {
                    XCTAssertEqual(param["required"] as? Bool, true, "\(label): path parameters are required")
                    XCTAssertTrue(path.contains("{\(param["name"] as? String ?? "?")}"), "\(label): parameter not in the path")
                }
            }
        }

        // Reusable schemas: their own examples hold, and every property is required unless it
        // is one the service really leaves out.
        let schemas = try XCTUnwrap((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])
        for (name, s) in schemas {
            let schema = try XCTUnwrap(s as? [String: Any], name)
            for example in schema["examples"] as? [Any] ?? [] {
                XCTAssertEqual(v.errors(example, schema), [], "components.schemas.\(name) example")
            }
            if let properties = schema["properties"] as? [String: Any] {
                let required = Set(schema["required"] as? [String] ?? [])
                XCTAssertTrue(required.isSubset(of: properties.keys), "\(name): requires a member it does not describe")
                for member in properties.keys where !required.contains(member) {
                    XCTAssertTrue(Self.optionalMembers.contains("\(name).\(member)"), "\(name).\(member) is not required: the service always sends or needs it")
                }
            }
        }

        // The catalogue of event types is the code's.
        let types = try XCTUnwrap((schemas["EventType"] as? [String: Any])?["enum"] as? [String])
        XCTAssertEqual(Set(types), EventType.all, "EventType: the description's list differs from the catalogue's")
        XCTAssertEqual(types.count, EventType.all.count, "EventType: a type is listed twice")

        // The examples are real: the submission is one the service parses, signed by the worked
        // example's root key (docs/FORMAT.md §13), its receipt checks against it and the log key,
        // the enrolment and log name keys by their real ids, and the checkpoint is signed.
        let examples = try Self.examples(doc)
        let submission = try ServiceAPI.Submission(body: Self.bytes(try XCTUnwrap(examples["POST /v1/statements request"])))
        XCTAssertEqual(submission.details.digest, submission.statement.envelope.details.digest, "the example's details are the ones its statement commits to")
        let rootKey = try XCTUnwrap(PublicKey(base64: "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="))
        XCTAssertTrue(submission.statement.verifies(under: rootKey, origin: "example.org/cse-ledger"), "the example statement is signed by the worked example's root key")
        let logJSON = try XCTUnwrap(examples["GET /v1/log 200"] as? [String: Any])
        let logKey = try XCTUnwrap(PublicKey(base64: logJSON["log_key"] as? String ?? ""))
        XCTAssertEqual(logKey.keyID, logJSON["log_key_id"] as? String)
        XCTAssertEqual(rootKey.keyID, logJSON["root_key_id"] as? String)
        let receipt = try ServiceAPI.Receipt(json: JSONParser.parse(Self.bytes(try XCTUnwrap(examples["POST /v1/statements 201"]))))
        XCTAssertNoThrow(try receipt.check(against: submission.statement, logKey: logKey), "the example receipt is the log's receipt for the example submission")
        let enrolment = try XCTUnwrap(examples["GET /v1/keys/{key_id} 200"] as? [String: Any])
        XCTAssertEqual(PublicKey(base64: enrolment["public_key"] as? String ?? "")?.keyID, enrolment["key_id"] as? String)
        let note = try XCTUnwrap(examples["GET /checkpoint 200"] as? String)
        let origin = try XCTUnwrap(logJSON["origin"] as? String)
        XCTAssertNoThrow(try Checkpoint.open(Array(note.utf8), log: XCTUnwrap(NoteVerifier(name: origin, publicKey: logKey))), "the example checkpoint is signed by the log key")
    }

    /// The validator is not a test that cannot fail: what each schema forbids, it refuses.
    func testValidatorRefusesWhatTheSchemasForbid() throws {
        let doc = try Self.loadDocument()
        let v = SchemaValidator(document: doc)
        func schema(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }
        let examples = try Self.examples(doc)
        let receipt = try XCTUnwrap(examples["POST /v1/statements 201"] as? [String: Any])
        XCTAssertEqual(v.errors(receipt, schema("Receipt")), [])
        for member in receipt.keys {
            var without = receipt
            without.removeValue(forKey: member)
            XCTAssertNotEqual(v.errors(without, schema("Receipt")), [], "a receipt without \(member)")
        }
        var extra = receipt
        extra["note"] = "unexpected"
        XCTAssertNotEqual(v.errors(extra, schema("Receipt")), [], "a receipt with an unknown member")
        for (member, bad) in [("seq", "3" as Any), ("entry_hash", "D2B1" as Any), ("recorded_at", "2026-01-05T11:00:05.000Z" as Any),
                              ("event_id", "0F8E7A62-3B1C-4D5E-9F00-000000000003" as Any), ("log_signature", "not base64!" as Any), ("type", "contact.telepathy" as Any)] {
            var wrong = receipt
            wrong[member] = bad
            XCTAssertNotEqual(v.errors(wrong, schema("Receipt")), [], "a receipt with \(member) = \(bad)")
        }
        let submission = try XCTUnwrap(examples["POST /v1/statements request"] as? [String: Any])
        var statement = try XCTUnwrap(submission["statement"] as? [String: Any])
        statement["seq"] = 3
        XCTAssertNotEqual(v.errors(statement, schema("Statement")), [], "a statement naming its seq")
        statement.removeValue(forKey: "seq")
        statement["case_id"] = "C-0001"
        XCTAssertNotEqual(v.errors(statement, schema("Statement")), [], "a governance statement with a case id")
        statement["type"] = "contact.recorded"
        XCTAssertEqual(v.errors(statement, schema("Statement")), [])
        statement.removeValue(forKey: "case_id")
        XCTAssertNotEqual(v.errors(statement, schema("Statement")), [], "a contact without a case id")
        statement["case_id"] = "C-0001"
        statement["facts"] = ["score": 1.5]
        XCTAssertNotEqual(v.errors(statement, schema("Statement")), [], "a decimal number in the facts")
        statement["facts"] = ["note": NSNull()]
        XCTAssertNotEqual(v.errors(statement, schema("Statement")), [], "a null in the facts")
        XCTAssertNotEqual(v.errors(["error": "two\nlines", "code": "malformed", "exit_code": 3], schema("Error")), [], "an error of two lines")
        XCTAssertNotEqual(v.errors(["error": "x", "code": "malformed", "exit_code": true], schema("Error")), [], "a boolean is not an integer")
        XCTAssertNotEqual(v.errors("a-different-origin\n2\nMWOES1RTveZ/p/jat0uWFc4AfAQ2IvJ4/3HVgK3Vdqs=\n", schema("Checkpoint")), [], "a note without a signature")
        XCTAssertNotEqual(v.errors(["type": "object", "minProperties": 1] as [String: Any], ["type": "object", "minProperties": 1]), [],
                          "a keyword the validator does not implement is refused, not ignored")
    }

    // MARK: - The description against the running service

    /// Every route the service answers is described, and no described route is missing from it.
    func testEveryRouteTheServiceAnswersIsDescribed() throws {
        let doc = try Self.loadDocument()
        let described = Set(try Self.operations(doc).map { "\($0.1.uppercased()) \($0.0)" })
        let source = try String(contentsOf: Self.serverSourceURL, encoding: .utf8)
        var registered: Set<String> = []
        for m in source.matches(of: /router\.(get|post|put|delete|patch|head|on)\(\s*"([^"]*)"/) {
            let path = String(m.2).split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            registered.insert("\(m.1.uppercased()) \(path)")
        }
        // The tiles (tile/<L>/<N>[.p/<W>], tile/entries/…) are c2sp.org/tlog-tiles's, whose
        // multi-segment paths OpenAPI cannot template: the description points to that
        // specification instead (and ServiceTests.testTilesAndEntryBundles checks them).
        XCTAssertTrue(registered.remove("GET /tile/**") != nil, "the tiles' route was not found: \(registered)")
        XCTAssertTrue(String(describing: doc["info"] ?? "").contains("c2sp.org/tlog-tiles"), "the description points to the tiles' specification")
        XCTAssertTrue(Self.knownRoutes.isSubset(of: registered), "LogServer.swift's routes were not all found: \(registered)")
        XCTAssertTrue(Self.knownRoutes.isSubset(of: described), "routes the service answers are not described: \(Self.knownRoutes.subtracting(described).sorted())")
        XCTAssertEqual(described.subtracting(registered), [], "described routes the service does not register")
        XCTAssertEqual(registered.subtracting(described), [], "routes the service registers that are not described")

        // At run time too: on each described path, a method not described answers 404 with no
        // body (the service answers nothing undescribed), and so does a path not described.
        let paths = try XCTUnwrap(doc["paths"] as? [String: Any])
        for (template, item) in paths {
            let path = template.replacingOccurrences(of: "{key_id}", with: String(repeating: "0", count: 32))
                .replacingOccurrences(of: "{case_id}", with: "C-0001").replacingOccurrences(of: "{event_id}", with: Sodium.uuid())
            let describedMethods = Set((item as? [String: Any] ?? [:]).keys)
            for method in ["get", "post", "put", "delete", "patch", "head"] where !describedMethods.contains(method) {
                let (response, data) = try send(method.uppercased(), path, body: method == "get" || method == "head" ? nil : Data("{}".utf8))
                XCTAssertEqual(response.statusCode, 404, "\(method.uppercased()) \(template) is answered but not described")
                XCTAssertEqual(data.count, 0, "\(method.uppercased()) \(template)")
            }
        }
        for path in ["/", "/v1", "/v1/keys", "/v1/keys/", "/v1/entries", "/v1/statements/1", "/checkpoint/1", "/tile/0/000"] {
            XCTAssertEqual(try send("GET", path, body: nil).0.statusCode, 404, "GET \(path) is answered but not described")
        }
    }

    /// Each described operation, called for real: the status is the expected one and one the
    /// description lists, the content type is the described one, and the body fits its schema.
    func testTheRunningServiceAnswersAsDescribed() throws {
        let doc = try Self.loadDocument()
        let v = SchemaValidator(document: doc)
        let police = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("police.key")))), passphrase: { nil })
        let csc = try KeyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: cli.path("csc.key")))), passphrase: { nil })
        let policeActor = Actor(agency: "police", role: "practitioner", practitioner: "PC 0001", keyID: police.publicKey.keyID)
        let at = try XCTUnwrap(Timestamp(rfc3339: "2026-03-01T10:00:00Z"))
        func contact(_ how: String = "phone") -> EventDraft {
            EventDraft(type: "contact.recorded", caseID: "C-0001", occurredAt: at, facts: ["contact_type": .string(how), "indicators": .array(["A2"])])
        }
        func submission(_ draft: EventDraft, key: SigningKey, actor: Actor) throws -> ServiceAPI.Submission {
            let sealed = try SealedDetails(["narrative": "synthetic narrative"])
            return ServiceAPI.Submission(statement: try SignedStatement(draft: draft, sealed: sealed, actor: actor, eventID: Sodium.uuid(), key: key, origin: "test.example/ledger"), details: sealed)
        }
        let good = try submission(contact(), key: police, actor: policeActor)
        let goodBody = try CanonicalJSON.encode(good.json)
        // What a real client sends is what the description asks for.
        let goodJSON = try JSONSerialization.jsonObject(with: Data(goodBody))
        XCTAssertEqual(v.errors(goodJSON, ["$ref": "#/components/schemas/Submission"]), [], "a real client's submission against the Submission schema")
        var altered = good.json.objectValue!, statement = good.statement.json.objectValue!
        statement["facts"] = .object(["contact_type": "online", "indicators": .array(["A2"])])
        altered["statement"] = .object(statement)
        let stranger = SigningKey.generate()
        let strangerActor = Actor(agency: "police", role: "practitioner", practitioner: "PC 9999", keyID: stranger.publicKey.keyID)

        struct Call { let what: String; let method: String; let template: String; var parameters: [String: String] = [:]; var body: [UInt8]? = nil; let expect: Int }
        let calls: [Call] = [
            Call(what: "a valid submission", method: "post", template: "/v1/statements", body: goodBody, expect: 201),
            Call(what: "the same submission again", method: "post", template: "/v1/statements", body: goodBody, expect: 409),
            Call(what: "malformed JSON", method: "post", template: "/v1/statements", body: Array(#"{"statement":"#.utf8), expect: 400),
            Call(what: "altered after signing", method: "post", template: "/v1/statements", body: try CanonicalJSON.encode(.object(altered)), expect: 401),
            Call(what: "a key not enrolled", method: "post", template: "/v1/statements",
                 body: try CanonicalJSON.encode(submission(contact(), key: stranger, actor: strangerActor).json), expect: 403),
            Call(what: "a fact the catalogue refuses", method: "post", template: "/v1/statements",
                 body: try CanonicalJSON.encode(submission(contact("telepathy"), key: police, actor: policeActor).json), expect: 422),
            Call(what: "a body over the limit", method: "post", template: "/v1/statements",
                 body: [UInt8](repeating: 0x20, count: ServiceAPI.maxRequestBytes + 10), expect: 413),
            Call(what: "an enrolled key", method: "get", template: "/v1/keys/{key_id}", parameters: ["key_id": police.publicKey.keyID], expect: 200),
            Call(what: "the root key", method: "get", template: "/v1/keys/{key_id}", parameters: ["key_id": try rootKeyID()], expect: 200),
            Call(what: "an unknown key", method: "get", template: "/v1/keys/{key_id}", parameters: ["key_id": stranger.publicKey.keyID], expect: 404),
            Call(what: "an invalid key id", method: "get", template: "/v1/keys/{key_id}", parameters: ["key_id": "NOT-A-KEY-ID"], expect: 400),
            Call(what: "an uppercase key id", method: "get", template: "/v1/keys/{key_id}", parameters: ["key_id": police.publicKey.keyID.uppercased()], expect: 400),
            Call(what: "the log", method: "get", template: "/v1/log", expect: 200),
            // Sealed details' routes: unsigned, refused here (SealedServiceTests checks their answers on a sealed ledger).
            Call(what: "a case's keys, unsigned", method: "get", template: "/v1/cases/{case_id}/keys", parameters: ["case_id": "C-0001"], expect: 401),
            Call(what: "a case's sealed records, unsigned", method: "get", template: "/v1/cases/{case_id}/records", parameters: ["case_id": "C-0001"], expect: 401),
            Call(what: "a reading, unsigned", method: "get", template: "/v1/cases/{case_id}/readings/{event_id}",
                 parameters: ["case_id": "C-0001", "event_id": Sodium.uuid()], expect: 401),
            Call(what: "the metrics", method: "get", template: "/metrics", expect: 200),
            Call(what: "health", method: "get", template: "/healthz", expect: 200),
        ]
        var called: Set<String> = []
        for call in calls {
            let answer = try check(call.method, call.template, parameters: call.parameters, body: call.body, doc: doc, v, call.what)
            XCTAssertEqual(answer.status, call.expect, "\(call.what): \(answer.body)")
            called.insert("\(call.method.uppercased()) \(call.template)")
            if call.what == "a valid submission", let json = answer.body as? [String: Any] {
                let receipt = try ServiceAPI.Receipt(json: JSONParser.parse(Self.bytes(json)))
                let logPub = try XCTUnwrap(PublicKey(base64: try String(contentsOfFile: cli.path("log.key.pub"), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)))
                XCTAssertNoThrow(try receipt.check(against: good.statement, logKey: logPub))
            }
        }

        // The checkpoint: 503 until the first is signed, then 200; both are described answers.
        var status = 0
        let deadline = Date().addingTimeInterval(30)
        repeat {
            let answer = try check("get", "/checkpoint", body: nil, doc: doc, v, "the checkpoint")
            status = answer.status
            if status == 200 {
                let log = try server.get("/v1/log").1
                let logKey = try XCTUnwrap(log["log_key"]?.stringValue.flatMap(PublicKey.init(base64:)))
                let origin = try XCTUnwrap(log["origin"]?.stringValue)
                XCTAssertNoThrow(try Checkpoint.open(Array((answer.body as? String ?? "").utf8), log: XCTUnwrap(NoteVerifier(name: origin, publicKey: logKey))))
            } else {
                usleep(200_000)
            }
        } while status != 200 && Date() < deadline
        XCTAssertEqual(status, 200, "a checkpoint is signed soon after the start")
        called.insert("GET /checkpoint")

        // A revoked key's enrolment carries revoked_at_seq.
        let r = try cli.run("keys", "revoke", "--server", server.url, "--key", cli.path("root.key"), "--key-id", csc.publicKey.keyID, "--reason", "left_agency")
        XCTAssertEqual(r.status, 0, r.stderr)
        let revoked = try check("get", "/v1/keys/{key_id}", parameters: ["key_id": csc.publicKey.keyID], body: nil, doc: doc, v, "a revoked key")
        XCTAssertEqual(revoked.status, 200)
        XCTAssertNotNil((revoked.body as? [String: Any])?["revoked_at_seq"], "\(revoked.body)")

        // Every described operation was called.
        let described = Set(try Self.operations(doc).map { "\($0.1.uppercased()) \($0.0)" })
        XCTAssertEqual(described.subtracting(called), [], "described operations this test does not call")
    }

    // MARK: - Calling and checking

    /// Sends `method template` and checks the answer against the description; returns the
    /// status and the decoded body (JSON value or text).
    @discardableResult
    func check(_ method: String, _ template: String, parameters: [String: String] = [:], body: [UInt8]?, doc: [String: Any],
               _ v: SchemaValidator, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int, body: Any) {
        let label = "\(method.uppercased()) \(template) (\(what))"
        let op = try XCTUnwrap((doc["paths"] as? [String: Any])?[template] as? [String: Any], label, file: file, line: line)[method] as? [String: Any]
        let operation = try XCTUnwrap(op, "\(label): not described", file: file, line: line)
        var path = template
        for (name, value) in parameters { path = path.replacingOccurrences(of: "{\(name)}", with: value) }
        XCTAssertFalse(path.contains("{"), "\(label): a path parameter was not given", file: file, line: line)
        let (response, data) = try send(method.uppercased(), path, body: body.map { Data($0) })
        let status = response.statusCode
        let responses = try XCTUnwrap(operation["responses"] as? [String: Any], label, file: file, line: line)
        let key = String(status)
        guard let described = responses[key] ?? responses[String(key.prefix(1)) + "XX"] ?? responses["default"] else {
            XCTFail("\(label): answered \(status), which the description does not list (it lists \(responses.keys.sorted()))", file: file, line: line)
            return (status, String(decoding: data, as: UTF8.self))
        }
        let content = try v.deref(described)["content"] as? [String: Any] ?? [:]
        let contentType = response.value(forHTTPHeaderField: "Content-Type")
        guard !content.isEmpty else {
            XCTAssertEqual(data.count, 0, "\(label) \(status): the description says no body", file: file, line: line)
            return (status, "")
        }
        let given = contentType.map(Self.normalisedMediaType) ?? "(none)"
        guard let match = content.first(where: { Self.normalisedMediaType($0.key) == given }), let mediaObject = match.value as? [String: Any] else {
            XCTFail("\(label) \(status): content type \(given), the description says \(content.keys.sorted())", file: file, line: line)
            return (status, String(decoding: data, as: UTF8.self))
        }
        let schema = try XCTUnwrap(mediaObject["schema"], "\(label) \(status): no schema", file: file, line: line)
        let value: Any
        if match.key.hasPrefix("application/json") {
            do { value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
                XCTFail("\(label) \(status): the body is not JSON: \(String(decoding: data, as: UTF8.self))", file: file, line: line)
                return (status, String(decoding: data, as: UTF8.self))
            }
        } else {
            let text = String(data: data, encoding: .utf8)
            XCTAssertNotNil(text, "\(label) \(status): the body is not UTF-8", file: file, line: line)
            value = text ?? ""
        }
        XCTAssertEqual(v.errors(value, schema), [], "\(label) \(status): the body does not fit its schema: \(String(decoding: data.prefix(600), as: UTF8.self))",
                       file: file, line: line)
        return (status, value)
    }

    func send(_ method: String, _ path: String, body: Data?) throws -> (HTTPURLResponse, Data) {
        var request = URLRequest(url: try XCTUnwrap(URL(string: server.url + path)), timeoutInterval: 30)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        final class Box: @unchecked Sendable { var result: Result<(HTTPURLResponse, Data), any Error>? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let response = response as? HTTPURLResponse {
                box.result = .success((response, data ?? Data()))
            } else {
                box.result = .failure(error ?? URLError(.badServerResponse))
            }
            done.signal()
        }.resume()
        done.wait()
        return try box.result!.get()
    }

    func rootKeyID() throws -> String {
        try XCTUnwrap(PublicKey(base64: try cli.rootPublicKey())).keyID
    }

    // MARK: - Reading the description

    static func loadDocument() throws -> [String: Any] {
        let data = try Data(contentsOf: documentURL)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], "docs/openapi.json is not a JSON object")
    }

    /// (path, method, operation) for every operation the description has.
    static func operations(_ doc: [String: Any]) throws -> [(String, String, [String: Any])] {
        let paths = try XCTUnwrap(doc["paths"] as? [String: Any], "no paths")
        var out: [(String, String, [String: Any])] = []
        for (path, item) in paths.sorted(by: { $0.key < $1.key }) {
            let item = try XCTUnwrap(item as? [String: Any], path)
            for method in methods { if let op = item[method] as? [String: Any] { out.append((path, method, op)) } }
        }
        return out
    }

    /// The one example of each request and response, by "METHOD path request" and "METHOD path status".
    static func examples(_ doc: [String: Any]) throws -> [String: Any] {
        let v = SchemaValidator(document: doc)
        var out: [String: Any] = [:]
        for (path, method, op) in try operations(doc) {
            let name = "\(method.uppercased()) \(path)"
            if let body = op["requestBody"], let content = try v.deref(body)["content"] as? [String: Any] {
                for case let media as [String: Any] in content.values { out["\(name) request"] = media["example"] }
            }
            for (status, response) in op["responses"] as? [String: Any] ?? [:] {
                for case let media as [String: Any] in (try v.deref(response)["content"] as? [String: Any] ?? [:]).values {
                    out["\(name) \(status)"] = media["example"]
                }
            }
        }
        return out
    }

    func checkExamples(_ content: [String: Any], _ v: SchemaValidator, _ label: String) throws {
        XCTAssertFalse(content.isEmpty, "\(label): no media type")
        for (type, media) in content {
            let m = try XCTUnwrap(media as? [String: Any], label)
            let schema = try XCTUnwrap(m["schema"], "\(label) \(type): no schema")
            let example = try XCTUnwrap(m["example"], "\(label) \(type): no example")
            XCTAssertNil(m["examples"], "\(label) \(type): one example, not several")
            XCTAssertEqual(v.errors(example, schema), [], "\(label) \(type): the example does not fit its schema")
        }
    }

    /// `text/plain; charset=utf-8` and `text/plain;charset=UTF-8` are the same.
    static func normalisedMediaType(_ s: String) -> String {
        s.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.joined(separator: ";")
    }

    static func bytes(_ json: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed]))
    }
}

/// A JSON Schema (2020-12) validator for the subset docs/openapi.json uses, over values as
/// JSONSerialization gives them. It refuses a keyword it does not implement rather than
/// ignore it, and follows `$ref`s into the same document.
struct SchemaValidator {
    let document: [String: Any]

    static let assertions: Set<String> = [
        "$ref", "allOf", "if", "then", "else", "not", "type", "const", "enum", "required", "properties", "additionalProperties",
        "items", "pattern", "minLength", "maxLength", "minimum", "maximum",
    ]
    static let annotations: Set<String> = ["description", "examples", "format", "title"]

    enum Kind: String { case null, boolean, integer, number, string, array, object }

    static func kind(_ v: Any) -> Kind {
        if v is NSNull { return .null }
        if v is String { return .string }
        if let n = v as? NSNumber {
            let t = String(cString: n.objCType)
            if t == "c" || t == "B" { return .boolean }
            if t == "d" || t == "f" { return n.doubleValue.rounded() == n.doubleValue ? .integer : .number }
            return .integer
        }
        if v is [Any] { return .array }
        if v is [String: Any] { return .object }
        return .null
    }

    static func equal(_ a: Any, _ b: Any) -> Bool {
        let (ka, kb) = (kind(a), kind(b))
        switch (ka, kb) {
        case (.integer, .integer), (.integer, .number), (.number, .integer), (.number, .number):
            return (a as! NSNumber).doubleValue == (b as! NSNumber).doubleValue
        case (.boolean, .boolean): return (a as! NSNumber).boolValue == (b as! NSNumber).boolValue
        case (.string, .string): return (a as! String) == (b as! String)
        case (.null, .null): return true
        case (.array, .array):
            let (x, y) = (a as! [Any], b as! [Any])
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object, .object):
            let (x, y) = (a as! [String: Any], b as! [String: Any])
            return Set(x.keys) == Set(y.keys) && x.allSatisfy { k, v in equal(v, y[k]!) }
        default: return false
        }
    }

    /// Follows a `$ref` (a JSON pointer into this document) if `object` is one.
    func deref(_ object: Any) throws -> [String: Any] {
        var o = try XCTUnwrap(object as? [String: Any], "not an object")
        var seen = 0
        while let ref = o["$ref"] as? String {
            o = try XCTUnwrap(resolve(ref) as? [String: Any], "\(ref) does not resolve")
            seen += 1
            if seen > 20 { throw CocoaError(.coderInvalidValue) }
        }
        return o
    }

    func resolve(_ ref: String) -> Any? {
        guard ref.hasPrefix("#/") else { return nil }
        var node: Any = document
        for token in ref.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = (node as? [String: Any])?[key] else { return nil }
            node = next
        }
        return node
    }

    /// Why `value` does not fit `schema` (empty if it does), each naming where.
    func errors(_ value: Any, _ schema: Any, at path: String = "$", depth: Int = 0) -> [String] {
        guard depth < 64 else { return ["\(path): schema recursion too deep"] }
        if Self.kind(schema) == .boolean { return (schema as! NSNumber).boolValue ? [] : ["\(path): no value is allowed here"] }
        guard let s = schema as? [String: Any] else { return ["\(path): the schema is not an object"] }
        var out: [String] = []
        for k in s.keys where !Self.assertions.contains(k) && !Self.annotations.contains(k) {
            out.append("\(path): the schema uses \(k), which this validator does not implement")
        }
        if let ref = s["$ref"] as? String {
            if let target = resolve(ref) { out += errors(value, target, at: path, depth: depth + 1) } else { out.append("\(path): \(ref) does not resolve") }
        }
        for sub in s["allOf"] as? [Any] ?? [] { out += errors(value, sub, at: path, depth: depth + 1) }
        if let condition = s["if"] {
            if errors(value, condition, at: path, depth: depth + 1).isEmpty {
                if let then = s["then"] { out += errors(value, then, at: path, depth: depth + 1) }
            } else if let otherwise = s["else"] {
                out += errors(value, otherwise, at: path, depth: depth + 1)
            }
        }
        if let not = s["not"], errors(value, not, at: path, depth: depth + 1).isEmpty { out.append("\(path): matches a schema it must not") }
        let kind = Self.kind(value)
        if let type = s["type"] {
            let allowed = (type as? [String]) ?? [(type as? String) ?? "?"]
            let fits = allowed.contains(kind.rawValue) || (kind == .integer && allowed.contains("number"))
            if !fits { out.append("\(path): is \(kind.rawValue), not \(allowed.joined(separator: " or "))") }
        }
        if let c = s["const"], !Self.equal(value, c) { out.append("\(path): is not \(c)") }
        if let e = s["enum"] as? [Any], !e.contains(where: { Self.equal(value, $0) }) { out.append("\(path): \(value) is not one of \(e)") }
        switch kind {
        case .object:
            let o = value as! [String: Any]
            for r in s["required"] as? [String] ?? [] where o[r] == nil { out.append("\(path): \(r) is missing") }
            let properties = s["properties"] as? [String: Any] ?? [:]
            for (k, v) in o {
                if let p = properties[k] {
                    out += errors(v, p, at: "\(path).\(k)", depth: depth + 1)
                } else if let additional = s["additionalProperties"] {
                    out += errors(v, additional, at: "\(path).\(k)", depth: depth + 1)
                }
            }
        case .array:
            if let items = s["items"] {
                for (i, v) in (value as! [Any]).enumerated() { out += errors(v, items, at: "\(path)[\(i)]", depth: depth + 1) }
            }
        case .string:
            let text = value as! String
            let length = text.unicodeScalars.count
            if let min = s["minLength"] as? Int, length < min { out.append("\(path): shorter than \(min)") }
            if let max = s["maxLength"] as? Int, length > max { out.append("\(path): longer than \(max)") }
            if let pattern = s["pattern"] as? String {
                if let re = try? NSRegularExpression(pattern: pattern) {
                    if re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                        out.append("\(path): \(text.debugDescription.prefix(200)) does not match \(pattern)")
                    }
                } else {
                    out.append("\(path): the pattern \(pattern) is not a regular expression")
                }
            }
        case .integer, .number:
            let n = (value as! NSNumber).doubleValue
            if let min = s["minimum"] as? NSNumber, n < min.doubleValue { out.append("\(path): \(n) is below \(min)") }
            if let max = s["maximum"] as? NSNumber, n > max.doubleValue { out.append("\(path): \(n) is above \(max)") }
        case .boolean, .null:
            break
        }
        return out
    }
}
