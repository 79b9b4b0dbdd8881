import Foundation
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// The log service's HTTP API, as data (docs/SERVICE.md, docs/openapi.json): what a client
/// sends and what it gets back. Pure: no I/O here, so the server, the client and the tests
/// share one definition.
public enum ServiceAPI {
    /// The largest request body the service reads: a statement and its details, each at most 1 MiB.
    public static let maxRequestBytes = 3 * (1 << 20)
    /// How long after a reading is recorded its sealed records may be fetched (seconds).
    public static let readingLifetime: Int64 = 600

    /// A statement submitted for the log to place (POST /v1/statements).
    public struct Submission: Sendable {
        public let statement: SignedStatement
        public let details: SealedDetails
        /// On a ledger that seals details: the copies of the case's key the client wrapped, by
        /// agency, for those `Policy.Sealing.holders` names that hold none yet.
        public let caseKeys: [String: [UInt8]]
        /// Set by the service once the statement's signature verified under this key.
        public var verifiedUnder: PublicKey?

        public init(statement: SignedStatement, details: SealedDetails, caseKeys: [String: [UInt8]] = [:]) {
            self.statement = statement; self.details = details; self.caseKeys = caseKeys
        }

        /// `{"statement": {...}, "actor_sig": base64, "details": {...}, "details_salt": base64}`; sealed
        /// details as `"sealed_details": base64` instead of `details`, with `"case_keys": {agency: base64}`.
        public var json: JSONValue {
            var o: [String: JSONValue] = [
                "statement": statement.json, "actor_sig": .string(Base64.encode(statement.signature)),
                "details_salt": .string(Base64.encode(details.salt)),
            ]
            if details.isSealed {
                o["sealed_details"] = .string(Base64.encode(details.body))
                if !caseKeys.isEmpty { o["case_keys"] = .object(caseKeys.mapValues { .string(Base64.encode($0)) }) }
            } else {
                o["details"] = (try? JSONParser.parse(details.body, mode: .canonical)) ?? .object([:])
            }
            return .object(o)
        }

        /// Reads a request body; throws a `ServiceError` naming the member to fix.
        public init(body: [UInt8]) throws(ServiceError) {
            let json: JSONValue
            do { json = try JSONParser.parse(body) } catch { throw .malformed("the request is not JSON (\(error)): send a JSON object") }
            guard let o = json.objectValue else { throw .malformed("the request must be a JSON object") }
            let allowed: Set<String> = ["statement", "actor_sig", "details", "details_salt", "sealed_details", "case_keys"]
            for k in o.keys where !allowed.contains(k) { throw .malformed("\(k): is not a member of a submission; allowed: \(allowed.sorted().joined(separator: ", "))") }
            guard let statement = o["statement"] else { throw .malformed("statement: is missing") }
            guard let sig = o["actor_sig"]?.stringValue else { throw .malformed("actor_sig: is missing (base64 of your signature over the statement)") }
            do { self.statement = try SignedStatement(json: statement, signature: sig) } catch { throw .malformed(error.description) }
            guard let salt = o["details_salt"]?.stringValue.flatMap(Base64.decode), salt.count == SealedDetails.saltSize else {
                throw .malformed("details_salt: must be base64 of \(SealedDetails.saltSize) random bytes")
            }
            if let sealed = o["sealed_details"] {
                guard o["details"] == nil else { throw .malformed("details: send either details or sealed_details, not both") }
                guard let body = sealed.stringValue.flatMap(Base64.decode), body.first == CaseKey.sealedMark, body.count >= CaseKey.overhead else {
                    throw .malformed("sealed_details: must be base64 of a sealed details record (docs/FORMAT.md §3.5: 0x01, nonce, ciphertext)")
                }
                details = SealedDetails(salt: salt, body: body)
                var keys: [String: [UInt8]] = [:]
                if let given = o["case_keys"] {
                    guard let members = given.objectValue else { throw .malformed("case_keys: must be an object of agency: base64 wrapped key") }
                    for (agency, v) in members {
                        guard let w = v.stringValue.flatMap(Base64.decode) else { throw .malformed("case_keys.\(agency): must be base64 of a wrapped key") }
                        keys[agency] = w
                    }
                }
                caseKeys = keys
            } else {
                guard o["case_keys"] == nil else { throw .malformed("case_keys: copies of a case key go with sealed_details only") }
                guard let details = o["details"]?.objectValue else { throw .malformed("details: is missing or not an object ({} if none)") }
                do {
                    try Validate.plainData(.object(details), path: "details")
                    self.details = try SealedDetails(details, salt: salt)
                } catch { throw .malformed("\(error)") }
                caseKeys = [:]
            }
        }
    }

    /// The log's answer to a placed statement: where and when, and the signed entry, so the
    /// submitter can check the log kept their statement as signed and signed it itself.
    public struct Receipt: Sendable, Equatable {
        public let seq: Int64
        public let eventID: String
        public let type: String
        public let recordedAt: String
        public let entryHash: [UInt8]
        public let signedBytes: [UInt8]
        public let logSignature: [UInt8]

        public init(_ row: StoredEntry) {
            seq = row.seq; eventID = row.eventID; type = row.type; recordedAt = row.recordedAt
            entryHash = row.entryHash; signedBytes = row.envelope; logSignature = row.signature
        }

        public var json: JSONValue {
            .object([
                "seq": .integer(seq), "event_id": .string(eventID), "type": .string(type), "recorded_at": .string(recordedAt),
                "entry_hash": .string(Hex.encode(entryHash)), "signed_bytes": .string(Base64.encode(signedBytes)),
                "log_signature": .string(Base64.encode(logSignature)),
            ])
        }

        public init(json: JSONValue) throws(ServiceError) {
            guard let seq = json["seq"]?.integerValue, let id = json["event_id"]?.stringValue, let type = json["type"]?.stringValue,
                let rec = json["recorded_at"]?.stringValue, let hash = json["entry_hash"]?.stringValue.flatMap(Hex.decode),
                let bytes = json["signed_bytes"]?.stringValue.flatMap(Base64.decode), let sig = json["log_signature"]?.stringValue.flatMap(Base64.decode)
            else { throw .malformed("the service's receipt is incomplete") }
            self.seq = seq; eventID = id; self.type = type; recordedAt = rec; entryHash = hash; signedBytes = bytes; logSignature = sig
        }

        /// Checks the receipt against what was submitted: the entry holds exactly the signed
        /// statement, its hash is right, and the log key signed it. Returns the placed envelope.
        public func check(against submitted: SignedStatement, logKey: PublicKey) throws(ServiceError) -> Envelope {
            let e: Envelope
            do { e = try Envelope(json: JSONParser.parse(signedBytes, mode: .canonical)) } catch {
                throw .badReceipt("the entry it returned is not a canonical envelope")
            }
            guard e.statementJSON == submitted.json, e.actorSignature == submitted.signature else {
                throw .badReceipt("the entry it returned is not the statement you signed")
            }
            guard e.seq == seq, sameBytes(e.recordedAt.description, recordedAt), e.eventID == eventID else {
                throw .badReceipt("the receipt's seq, time or id differ from its entry")
            }
            guard Entry.entryHash(canonical: signedBytes, signature: logSignature) == entryHash else { throw .badReceipt("the entry hash is wrong") }
            guard logKey.verify(signature: logSignature, message: Envelope.entryMessage(signedBytes)) else {
                throw .badReceipt("the entry is not signed by the log key \(logKey.keyID)")
            }
            guard e.recordedAt >= e.occurredAt else { throw .badReceipt("it dates the record (\(e.recordedAt)) before the event (\(e.occurredAt))") }
            return e
        }
    }

    /// GET /v1/keys/{key_id}: an enrolment as the log holds it at its head.
    public static func enrolmentJSON(_ r: KeyRecord) -> JSONValue {
        var o: [String: JSONValue] = [
            "key_id": .string(r.keyID), "public_key": .string(r.publicKey.base64), "agency": .string(r.actor.agency),
            "role": .string(r.actor.role), "practitioner": .string(r.actor.practitioner), "enrolled_at_seq": .integer(r.enrolledAt),
        ]
        if let at = r.revokedAt { o["revoked_at_seq"] = .integer(at) }
        return .object(o)
    }
}

/// A c2sp.org/tlog-tiles path after `tile/`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, with
/// `<N>` in zero-padded 3-digit elements, all but the last prefixed with `x`.
public struct TilePath: Equatable, Sendable {
    /// nil for an entry bundle.
    public let level: Int?
    public let index: Int64
    /// 256 for a full tile.
    public let width: Int

    public init(level: Int?, index: Int64, width: Int) { self.level = level; self.index = index; self.width = width }

    public init?(_ parts: [Substring]) {
        guard let head = parts.first else { return nil }
        if head == "entries" {
            level = nil
        } else {
            guard let l = Int(head), (0...63).contains(l), String(l) == head else { return nil }
            level = l
        }
        var rest = Array(parts.dropFirst())
        var width = 256
        if rest.count >= 2, let last = rest.last, rest[rest.count - 2].hasSuffix(".p") {
            guard let w = Int(last), (1...255).contains(w), String(w) == last else { return nil }
            width = w
            rest.removeLast()
            rest[rest.count - 1] = rest[rest.count - 1].dropLast(2)
        }
        guard !rest.isEmpty, rest.count <= 7 else { return nil }
        var n: Int64 = 0
        for (i, element) in rest.enumerated() {
            var digits = element
            if i < rest.count - 1 {
                guard digits.first == "x" else { return nil }
                digits = digits.dropFirst()
            }
            guard digits.count == 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let d = Int64(digits) else { return nil }
            // Checked: seven groups can exceed Int64 (a request must never crash the service).
            let (times, o1) = n.multipliedReportingOverflow(by: 1000)
            let (sum, o2) = times.addingReportingOverflow(d)
            guard !o1, !o2 else { return nil }
            n = sum
        }
        // No tile of a log this side of 2^47 entries lies further (index × 256 then fits, with room).
        guard n <= Self.maxIndex else { return nil }
        index = n
        self.width = width
        // One spelling per tile: no leading zero groups, nothing else (a cache sees one URL).
        guard path == parts.joined(separator: "/") else { return nil }
    }

    public static let maxIndex: Int64 = 1 << 39

    /// The path after `tile/`.
    public var path: String {
        var digits: [String] = []
        var n = index
        repeat { digits.insert(String(format: "%03lld", n % 1000), at: 0); n /= 1000 } while n > 0
        let elements = digits.enumerated().map { $0.offset < digits.count - 1 ? "x" + $0.element : $0.element }.joined(separator: "/")
        return (level.map(String.init) ?? "entries") + "/" + elements + (width < 256 ? ".p/\(width)" : "")
    }
}

/// A read request signed by an enrolled key (entry bundles): headers `Safeguard-Key` (key id),
/// `Safeguard-Time` (POSIX seconds) and `Safeguard-Signature` (base64 Ed25519 over
/// `safeguard/read/v1` LF METHOD SP PATH LF TIME LF). Accepted within 5 minutes of the service's clock.
public enum SignedRead {
    public static let skew: Int64 = 300

    public static func message(method: String, path: String, time: Int64) -> [UInt8] {
        Array("safeguard/read/v1\n\(method) \(path)\n\(time)\n".utf8)
    }

    public static func headers(method: String, path: String, key: SigningKey, time: Int64) -> [String: String] {
        ["Safeguard-Key": key.publicKey.keyID, "Safeguard-Time": String(time),
         "Safeguard-Signature": Base64.encode(key.sign(message(method: method, path: path, time: time)))]
    }
}

/// Why the service refused a request, with the one-line message, exit code and HTTP status
/// the command line would give for the same problem.
public struct ServiceError: Error, Equatable, CustomStringConvertible, Sendable {
    public let status: Int
    public let code: String
    public let message: String
    /// The exit code `safeguard` gives for it (README, "Exit codes").
    public let exitCode: Int32

    public init(status: Int, code: String, message: String, exitCode: Int32) {
        self.status = status; self.code = code; self.message = message; self.exitCode = exitCode
    }
    public var description: String { message }

    public static func malformed(_ m: String) -> ServiceError { .init(status: 400, code: "malformed", message: m, exitCode: 3) }
    public static func badReceipt(_ m: String) -> ServiceError {
        .init(status: 502, code: "bad_receipt", message: "the log service's answer does not hold: \(m); do not rely on it, and tell the partnership", exitCode: 1)
    }
    public static func tooLarge(_ limit: Int) -> ServiceError {
        .init(status: 413, code: "too_large", message: "the request is over \(limit) bytes: attach large documents elsewhere and record a reference", exitCode: 3)
    }
    public static func rateLimited(_ who: String) -> ServiceError {
        .init(status: 429, code: "rate_limited", message: "too many requests from \(who): wait a moment and send again", exitCode: 4)
    }
    public static let timeout = ServiceError(status: 408, code: "timeout", message: "the request was not received in time: send it again", exitCode: 4)
    public static func notFound(_ m: String) -> ServiceError { .init(status: 404, code: "not_found", message: m, exitCode: 3) }
    public static func unauthenticated(_ m: String) -> ServiceError { .init(status: 401, code: "unauthenticated", message: m, exitCode: 3) }
    public static func forbidden(_ m: String) -> ServiceError { .init(status: 403, code: "forbidden", message: m, exitCode: 3) }
    public static func unavailable(_ m: String) -> ServiceError { .init(status: 503, code: "unavailable", message: m, exitCode: 4) }

    /// The service's answer to a refusal by the ledger.
    public init(_ e: LedgerError) {
        switch e {
        case .duplicateEventID: self.init(status: 409, code: "duplicate_event_id", message: e.description, exitCode: 3)
        case .rejected(.unknownKey, _), .rejected(.revokedKey, _):
            self.init(status: 403, code: "key_not_enrolled", message: e.description, exitCode: 3)
        case .rejected(.notPermitted, _), .rejected(.noPolicy, _): self.init(status: 403, code: "not_permitted", message: e.description, exitCode: 3)
        case .badStatementSignature: self.init(status: 401, code: "bad_signature", message: e.description, exitCode: 3)
        case _ where e.isRefusal: self.init(status: 422, code: "refused", message: e.description, exitCode: 3)
        case .diskFull, .busy: self.init(status: 503, code: "unavailable", message: e.description, exitCode: 4)
        default: self.init(status: 500, code: "ledger", message: e.description, exitCode: 4)
        }
    }

    public var json: JSONValue {
        .object(["error": .string(message), "code": .string(code), "exit_code": .integer(Int64(exitCode))])
    }

    public init?(json: JSONValue, status: Int) {
        guard let m = json["error"]?.stringValue, let c = json["code"]?.stringValue, let x = json["exit_code"]?.integerValue else { return nil }
        self.init(status: status, code: c, message: m, exitCode: Int32(clamping: x))
    }
}
