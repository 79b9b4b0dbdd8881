import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SafeguardCore
import SafeguardStore

/// A practitioner's side of the log service (`record`, `append`, `import` with `--server`):
/// builds and signs each statement on this machine, sends it, and checks the receipt. The
/// secret key never leaves this process.
public struct LogClient: Sendable {
    public let base: URL
    public let timeout: TimeInterval

    public init(server: String, timeout: TimeInterval = 30) throws(ServiceError) {
        guard let url = URL(string: server), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ServiceError(status: 0, code: "usage", message: "--server must be the service's address, e.g. https://ledger.example.org or http://127.0.0.1:8088", exitCode: 2)
        }
        base = url
        self.timeout = timeout
    }

    /// What the log says of the key with `keyID` (its enrolment), to sign as.
    public func enrolment(_ keyID: String) throws -> Actor {
        let json = try request("GET", "v1/keys/\(keyID)")
        guard let agency = json["agency"]?.stringValue, let role = json["role"]?.stringValue, let name = json["practitioner"]?.stringValue else {
            throw ServiceError.badReceipt("its answer for key \(keyID) is incomplete")
        }
        if let at = json["revoked_at_seq"]?.integerValue { throw LedgerError.rejected(.revokedKey(keyID: keyID, revokedAt: at), index: 0) }
        return Actor(agency: agency, role: role, practitioner: name, keyID: keyID)
    }

    /// The log's description: origin, size, the log key, the service's clock, and whether the
    /// policy in force seals case details.
    public func log() throws -> LogInfo {
        let json = try request("GET", "v1/log")
        guard let origin = json["origin"]?.stringValue, let size = json["size"]?.integerValue,
            let key = json["log_key"]?.stringValue.flatMap(PublicKey.init(base64:)),
            let now = json["now"]?.stringValue.flatMap(Timestamp.init(canonical:))
        else { throw ServiceError.badReceipt("its description of the log is incomplete") }
        return LogInfo(origin: origin, size: size, logKey: key, now: now, sealsDetails: json["seals_details_since_policy"] != nil)
    }

    /// GET /v1/log.
    public struct LogInfo: Sendable {
        public let origin: String
        public let size: Int64
        public let logKey: PublicKey
        public let now: Timestamp
        public let sealsDetails: Bool
    }

    /// The copies of case `caseID`'s key and what a client needs to seal its next record.
    public func caseKeys(_ caseID: String, key: SigningKey) throws -> ServiceAPI.CaseKeys {
        let body = try signedGet("/v1/cases/\(caseID)/keys", key: key)
        guard let json = try? JSONParser.parse(body) else { throw ServiceError.badReceipt("its answer for the case's keys is not JSON") }
        let keys = try ServiceAPI.CaseKeys(json: json)
        guard sameBytes(keys.caseID, caseID) else { throw ServiceError.badReceipt("it answered for case \(keys.caseID), not \(caseID)") }
        return keys
    }

    /// This machine's clock `local`, or the service's when it is behind (an event may not happen
    /// after the log records it), but not by more than 10 minutes: a service, or someone in
    /// between, claiming a much earlier time could have the practitioner sign a back-dated event.
    public static func eventTime(local: Timestamp, service: Timestamp) throws(ServiceError) -> Timestamp {
        guard service.seconds >= local.seconds - 600 else {
            throw ServiceError(status: 0, code: "clock", message: "the log service says it is \(service), more than 10 minutes behind this machine's clock (\(local)): "
                               + "check this machine's clock and --server (a service with a wrong clock cannot date records); nothing was recorded", exitCode: 4)
        }
        return min(local, service)
    }

    /// Builds, signs and submits `drafts` with `key`, one statement each, and returns the
    /// receipts in order, each checked against what was signed and the log key (`logKey`, or
    /// the one the service names). Stops at the first refusal (those before it are placed).
    /// Where the log seals case details, each case event's details are sealed here with the
    /// case's key (new, or `agencyKey`'s copy), and copies wrapped for the agencies that
    /// `Policy.Sealing.holders` says must gain one (docs/SERVICE.md "Sealed details").
    public func submit(_ drafts: [EventDraft], key: SigningKey, agencyKey: SigningKey? = nil, logKey pinned: PublicKey? = nil, log known: LogInfo? = nil,
                       newID: () -> String = Sodium.uuid, newSalt: () -> [UInt8] = Ledger.randomSalt) throws -> [(ServiceAPI.Receipt, Envelope)] {
        let actor = try enrolment(key.publicKey.keyID)
        let log = try known ?? self.log()
        let logKey = pinned ?? log.logKey
        var out: [(ServiceAPI.Receipt, Envelope)] = []
        // Each case's key as this run knows it: the key, the policy's sealing, the agencies holding a copy.
        var cases: [String: (key: CaseKey, sealing: Policy.Sealing, entitled: Set<String>?, holders: Set<String>)] = [:]
        var shared: [String: [UInt8]] = [:]
        for (index, draft) in drafts.enumerated() {
            let eventID = newID()
            let sealed: SealedDetails
            var wraps: [String: [UInt8]] = [:]
            var known: (key: CaseKey, sealing: Policy.Sealing, entitled: Set<String>?, holders: Set<String>)?
            if log.sealsDetails, let c = draft.caseID {
                var k: (key: CaseKey, sealing: Policy.Sealing, entitled: Set<String>?, holders: Set<String>)
                if let have = cases[c] { k = have } else {
                    let answer = try caseKeys(c, key: key)
                    let (caseKey, holders) = try answer.key(agency: actor.agency, agencyKey: agencyKey)
                    k = (caseKey, answer.sealing, answer.entitled, holders)
                }
                let needed = k.sealing.holders(after: draft.type, by: actor.agency, entitled: k.entitled, toAgency: draft.facts["to_agency"]?.stringValue)
                    .subtracting(k.holders)
                for agency in needed.sorted() {
                    guard let pk = k.sealing.agencyKeys[agency], let w = k.key.wrap(for: pk, by: key, caseID: c, shared: &shared) else {
                        throw ServiceError.badReceipt("the policy's key for \(agency) cannot be used to wrap a case key")
                    }
                    wraps[agency] = w
                }
                sealed = try SealedDetails(draft.details, sealedWith: k.key, eventID: eventID, caseID: c, salt: newSalt())
                // Once placed, every holder is entitled (and holds a copy).
                k.holders.formUnion(needed)
                k.entitled = k.holders
                known = k
            } else {
                sealed = try SealedDetails(draft.details, salt: newSalt())
            }
            let statement = try SignedStatement(draft: draft, sealed: sealed, actor: actor, eventID: eventID, key: key, origin: log.origin)
            let submission = ServiceAPI.Submission(statement: statement, details: sealed, caseKeys: wraps)
            let json: JSONValue
            do { json = try request("POST", "v1/statements", body: try CanonicalJSON.encode(submission.json)) } catch let e as ServiceError where drafts.count > 1 {
                throw ServiceError(status: e.status, code: e.code, message: "event \(index + 1) of \(drafts.count): \(e.message)" + (index > 0 ? " (the \(index) before it were recorded)" : ""), exitCode: e.exitCode)
            }
            let receipt = try ServiceAPI.Receipt(json: json)
            out.append((receipt, try receipt.check(against: statement, logKey: logKey)))
            if let c = draft.caseID, let known { cases[c] = known }
        }
        return out
    }

    /// Reads case `caseID`'s sealed details through the service (docs/PRIVACY.md): the reading,
    /// signed by `reader` with `purpose`, is recorded first (`access.consulted`, naming every
    /// sealed record of the case); then the records it names are fetched, each checked against
    /// its entry signed by the log key, and opened here with the case's key (`agencyKey`'s
    /// copy). Returns the reading's receipt and each record's envelope and details (nil where
    /// the copy does not open it).
    public func read(_ caseID: String, purpose: String, reader: SigningKey, agencyKey: SigningKey, logKey pinned: PublicKey? = nil, log known: LogInfo? = nil,
                     newID: () -> String = Sodium.uuid, now: () -> Timestamp) throws -> (reading: ServiceAPI.Receipt, records: [(Envelope, [String: JSONValue]?)]) {
        let actor = try enrolment(reader.publicKey.keyID)
        let log = try known ?? self.log()
        let logKey = pinned ?? log.logKey
        guard log.sealsDetails else {
            throw ServiceError(status: 0, code: "usage", message: "this ledger does not seal case details: read them from a copy of the ledger with 'safeguard case show --details'", exitCode: 2)
        }
        // The agency's copy of the key is checked before anything is recorded.
        let keys = try caseKeys(caseID, key: reader)
        let key = try keys.key(agency: actor.agency, agencyKey: agencyKey, toSeal: false).key
        guard let listed = try? JSONParser.parse(try signedGet("/v1/cases/\(caseID)/records", key: reader)), let items = listed["sealed_records"]?.arrayValue else {
            throw ServiceError.badReceipt("its list of the case's sealed records is not usable")
        }
        let ids = items.compactMap { $0["event_id"]?.stringValue }
        guard !ids.isEmpty else {
            throw ServiceError(status: 0, code: "not_found", message: "case \(caseID) has no sealed records in the log (none yet, or erased): nothing was recorded", exitCode: 3)
        }
        let draft = EventDraft(type: "access.consulted", caseID: caseID, occurredAt: try Self.eventTime(local: now(), service: log.now),
                               facts: ["records": .array(ids.map { .string($0) }), "purpose": .string(purpose)])
        let (receipt, _) = try submit([draft], key: reader, agencyKey: agencyKey, logKey: logKey, log: log, newID: newID)[0]
        let body = try signedGet("/v1/cases/\(caseID)/readings/\(receipt.eventID)", key: reader, limit: 64 << 20)
        guard let json = try? JSONParser.parse(body) else { throw ServiceError.badReceipt("its answer for the reading is not JSON") }
        var actorKeys: [String: PublicKey?] = [:]
        let records = try ServiceAPI.Reading.records(json: json, caseID: caseID, named: Set(ids), logKey: logKey) { keyID in
            if let known = actorKeys[keyID] { return known }
            let key = try? request("GET", "v1/keys/\(keyID)")["public_key"]?.stringValue.flatMap(PublicKey.init(base64:))
            actorKeys[keyID] = .some(key.flatMap { $0.keyID == keyID ? $0 : nil })
            return actorKeys[keyID] ?? nil
        }
        return (receipt, records.map { e, d in (e, d.open(with: key, eventID: e.eventID, caseID: caseID)) })
    }

    /// POSTs `body` to `path`: the service's JSON answer, or its refusal as a `ServiceError`.
    public func post(_ path: String, body: [UInt8]) throws -> JSONValue { try request("POST", path, body: body) }

    /// One request; a JSON answer, or the service's refusal as a `ServiceError`.
    func request(_ method: String, _ path: String, body: [UInt8]? = nil) throws -> JSONValue {
        var r = URLRequest(url: base.appendingPathComponent(path), timeoutInterval: timeout)
        r.httpMethod = method
        if let body {
            r.httpBody = Data(body)
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, status) = try Self.send(r)
        let json = try? JSONParser.parse([UInt8](data))
        guard (200..<300).contains(status) else {
            // The message is the service's; the exit code follows from the status, whatever the
            // answer claims (a hostile service must not make a refusal look like success).
            if let json, let e = ServiceError(json: json, status: status) {
                throw ServiceError(status: status, code: e.code, message: e.message, exitCode: (400..<500).contains(status) && status != 408 && status != 429 ? 3 : 4)
            }
            throw ServiceError(status: status, code: "http", message: "the log service at \(base.absoluteString) answered HTTP \(status): check --server", exitCode: 4)
        }
        guard let json else { throw ServiceError.badReceipt("its answer is not JSON") }
        return json
    }

    /// Sends `request`; the answer's body and status. The body is cut off (and refused) past
    /// `limit` bytes, and the whole exchange past twice the request's timeout: a hostile service,
    /// or anyone in between, cannot make this process hold unbounded memory or wait for ever.
    static func send(_ request: URLRequest, limit: Int = ServiceAPI.maxRequestBytes) throws -> (Data, Int) {
        final class Collector: NSObject, URLSessionDataDelegate, @unchecked Sendable {
            let limit: Int
            let lock = NSLock()
            var data = Data()
            var status = 0
            var tooLarge = false
            var result: Result<(Data, Int), any Error>?
            let done = DispatchSemaphore(value: 0)
            init(limit: Int) { self.limit = limit }
            func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                            completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
                lock.lock(); status = (response as? HTTPURLResponse)?.statusCode ?? 0; lock.unlock()
                completionHandler(.allow)
            }
            func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive d: Data) {
                lock.lock()
                data.append(d)
                let over = data.count > limit
                if over { tooLarge = true }
                lock.unlock()
                if over { dataTask.cancel() }
            }
            func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
                lock.lock()
                result = error.map { .failure($0) } ?? .success((data, status))
                lock.unlock()
                done.signal()
            }
        }
        let collector = Collector(limit: limit)
        let session = URLSession(configuration: .default, delegate: collector, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        task.resume()
        if collector.done.wait(timeout: .now() + max(request.timeoutInterval, 1) * 2) == .timedOut {
            task.cancel()
            _ = collector.done.wait(timeout: .now() + 5)
            throw ServiceError(status: 0, code: "timeout", message: "the log service at \(request.url?.host ?? "?") did not finish answering in time: try again later", exitCode: 4)
        }
        collector.lock.lock()
        let tooLarge = collector.tooLarge
        let outcome = collector.result
        collector.lock.unlock()
        if tooLarge {
            throw ServiceError(status: 0, code: "too_large", message: "the log service's answer is over \(limit) bytes, more than any it should send: do not rely on it, and tell the partnership", exitCode: 4)
        }
        final class Box { var result: Result<(Data, Int), any Error>? }
        let box = Box()
        box.result = outcome
        switch box.result! {
        case .success(let r): return r
        case .failure(let e):
            // Refused or unresolved: the request never arrived. Timed out or cut off: it may have.
            let code = (e as? URLError)?.code
            let sent = request.httpMethod == "POST" && code != .cannotConnectToHost && code != .cannotFindHost && code != .dnsLookupFailed
            throw ServiceError(status: 0, code: "unreachable",
                               message: "cannot reach the log service at \(request.url?.host ?? "?") (\(e.localizedDescription)): check --server and your network; "
                                   + (sent ? "the event may or may not have been recorded: look for it before recording it again" : "nothing was recorded"),
                               exitCode: 4)
        }
    }
}
