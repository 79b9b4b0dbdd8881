import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdCore
import HTTPTypes
import Logging
import Metrics
import NIOCore
import Prometheus
import SafeguardCore
import SafeguardStore

/// `safeguard serve`: the one writer of a ledger, over HTTP (docs/SERVICE.md). Practitioners'
/// machines submit signed statements; the service places and dates them (`Sequencer`), signs
/// checkpoints of the log every so often (`CheckpointSigner`, which verifies what it signs),
/// and answers the reads the API allows.
public struct LogServer: Sendable {
    public struct Configuration: Sendable {
        public var ledgerPath: String
        public var host = "127.0.0.1"
        public var port = 8088
        public var logKey: SigningKey
        /// The root public key, for the checkpoint signer's first verification.
        public var trustAnchor: PublicKey?
        public var checkpointStatePath: String
        public var checkpointEverySeconds: Double = 10
        public var checkpointEveryEvents: Int64 = 1000
        /// Requests each key may make per second, and the burst allowed above it.
        public var ratePerKey: Double = 50
        public var burstPerKey: Double = 200
        /// How long a client may take to send its request (slow senders are cut off).
        public var requestTimeout: Duration = .seconds(10)
        public var idleTimeout: Duration = .seconds(30)
        public var maxBatch = 512
        /// Connections held open at once; more wait to be accepted (idle connections cost memory).
        public var maxConnections = 1000
        /// Reverse proxies whose `X-Forwarded-For` names the client (docs/DEPLOYMENT.md): behind
        /// one, every request comes from the proxy's address.
        public var trustedProxies: Set<String> = []
        /// The roles whose keys may read entry bundles (c2sp.org/tlog-tiles `tile/entries`).
        public var readRoles: Set<String> = ["analyst", "mase_chair"]
        /// Witnesses to send each new checkpoint to (c2sp.org/tlog-witness), with their keys.
        public var witnesses: [(url: String, cosigner: Cosigner)] = []
        public var clock: @Sendable () -> Timestamp = { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
        /// The durable store the ledger file is a working copy of (PostgreSQL, docs/SCALE.md):
        /// each batch, and each checkpoint signed, is written there first.
        public var store: (any LedgerStore)?
        public var keepCheckpoint: (@Sendable (LedgerRows.Checkpoint) throws -> Void)?
        /// Told why, when the store may hold a batch the working copy does not: stop the service.
        public var onFatal: (@Sendable (String) -> Void)?

        public init(ledgerPath: String, logKey: SigningKey, checkpointStatePath: String) {
            self.ledgerPath = ledgerPath; self.logKey = logKey; self.checkpointStatePath = checkpointStatePath
        }
    }

    let config: Configuration
    let logger: Logger

    public init(_ config: Configuration, logger: Logger) { self.config = config; self.logger = logger }

    /// Runs until SIGTERM or SIGINT; finishes the queued statements before returning.
    /// `onListening` is told the port once the server accepts connections.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let writer = try Ledger.open(at: config.ledgerPath, readOnly: false)
        // Refuse to start with a key the ledger does not name, or a ledger that is not as safeguard leaves it.
        let state = try writer.state()
        let named = state.logKey(forSize: state.nextSeq)
        guard named == config.logKey.publicKey else { throw Ledger.WrongLogKey(given: config.logKey.publicKey.keyID, named: named?.keyID) }
        guard let origin = state.genesis?.origin else { throw Ledger.CheckpointRefusal.empty }
        let reader = try Ledger.open(at: config.ledgerPath, readOnly: true)

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let placedCounter = Counter(label: "safeguard_statements_placed_total")
        let refusedCounter = Counter(label: "safeguard_statements_refused_total")
        let batchRecorder = Recorder(label: "safeguard_batch_size")
        let sizeGauge = Gauge(label: "safeguard_log_size")

        let sequencer = Sequencer(ledger: writer, logKey: config.logKey, maxBatch: config.maxBatch, clock: config.clock)
        sequencer.store = config.store
        let logger = self.logger, fatal = config.onFatal
        sequencer.onFatal = { why in
            logger.critical("stopping: the store may hold a batch this service did not acknowledge", metadata: ["error": "\(why)"])
            fatal?(why)
        }
        let checkpoints = Checkpoints(config: config, origin: origin, logger: logger)
        sequencer.onCommit = { placed, refused, size in
            placedCounter.increment(by: placed)
            refusedCounter.increment(by: refused)
            batchRecorder.record(placed + refused)
            if size > 0 { sizeGauge.record(size) }
            checkpoints.grew(to: size)
        }
        sizeGauge.record(state.nextSeq)
        sequencer.start()
        checkpoints.start()
        // Signed requests count against their key; requests that are not (malformed, or not
        // signed by the key they name) against the address they came from, so that nobody can
        // use up a practitioner's allowance by naming their key.
        let limiter = RateLimiter(rate: config.ratePerKey, burst: config.burstPerKey)
        let unauthenticated = RateLimiter(rate: config.ratePerKey, burst: config.burstPerKey)

        let router = Router(context: ServiceRequestContext.self)
        router.middlewares.add(MetricsMiddleware())
        router.middlewares.add(LogRequestsMiddleware(.debug))
        let timeout = config.requestTimeout
        let redact = config.ledgerPath
        let trusted = config.trustedProxies
        router.post("/v1/statements") { request, context -> Response in
            let address = "address " + Self.clientAddress(request, context, trusted: trusted)
            return await Self.answer(redacting: redact, logger: logger) {
                // Work a request makes before it is known to be signed by an enrolled key is charged to
                // its address (after a flood of junk, that address gets 429 before any signature is
                // checked); a signed request is limited by its key, and charged only once placed, so
                // neither junk nor a replay of someone's statement uses up their allowance.
                func unauthenticatedFailure(_ error: any Error) -> any Error {
                    unauthenticated.allow(address) ? error : ServiceError.rateLimited(address)
                }
                guard unauthenticated.hasTokens(address) else { throw ServiceError.rateLimited(address) }
                var submission: ServiceAPI.Submission
                do {
                    let body = try await Self.collect(request, timeout: timeout)
                    submission = try ServiceAPI.Submission(body: body)
                } catch { throw unauthenticatedFailure(error) }
                let keyID = submission.statement.envelope.actor.keyID
                // Checked here, on any core, against the keys enrolled as of the last batch (a key id
                // names one public key, and the snapshot is updated before any receipt is sent).
                guard let key = sequencer.enrolledKey(keyID) else {
                    throw unauthenticatedFailure(ServiceError(LedgerError.rejected(.unknownKey(keyID: keyID), index: 0)))
                }
                guard submission.statement.verifies(under: key, origin: origin) else {
                    throw unauthenticatedFailure(ServiceError(LedgerError.badStatementSignature(keyID: keyID, index: 0)))
                }
                submission.verifiedUnder = key
                guard limiter.hasTokens(keyID) else { throw ServiceError.rateLimited("key \(keyID)") }
                switch try await sequencer.submit(submission) {
                case .success(let row):
                    _ = limiter.allow(keyID)
                    logger.info("placed", metadata: ["seq": "\(row.seq)", "event_id": "\(row.eventID)", "type": "\(row.type)", "key_id": "\(keyID)"])
                    return (201, ServiceAPI.Receipt(row).json)
                case .failure(let e):
                    _ = unauthenticated.allow(address)
                    throw ServiceError(e)
                }
            }
        }
        router.get("/v1/keys/:key_id") { _, context -> Response in
            await Self.answer(redacting: redact) {
                let keyID = context.parameters.get("key_id") ?? ""
                guard Validate.isKeyID(keyID) else { throw ServiceError.malformed("the key id must be 32 lowercase hex digits") }
                let state = try await Self.blocking { try reader.state() }
                guard let record = state.registry.records[keyID] else {
                    throw ServiceError.notFound("key \(keyID) is not enrolled in this ledger: ask your safeguarding lead or the partnership to enrol it (safeguard keys enrol)")
                }
                return (200, ServiceAPI.enrolmentJSON(record))
            }
        }
        router.get("/v1/log") { _, _ -> Response in
            await Self.answer(redacting: redact) {
                let (head, now) = try await Self.blocking { (try reader.head(), try reader.state()) }
                var o: [String: JSONValue] = [
                    "origin": .string(origin), "size": .integer(head?.size ?? 0), "log_key": .string(config.logKey.publicKey.base64),
                    "log_key_id": .string(config.logKey.publicKey.keyID), "root_key_id": .string(state.genesis?.rootPublicKey.keyID ?? ""),
                    "now": .string(config.clock().description),
                ]
                // A client seals case details on its own machine while the policy in force says so.
                if now.policy?.sealing != nil { o["seals_details_since_policy"] = .integer(now.policy?.version ?? 0) }
                return (200, .object(o))
            }
        }
        // Sealed details (docs/SERVICE.md): for keys of agencies entitled to the case (or opening
        // it), the copies of its key, wrapped for each entitled agency, to seal its next record;
        // the events whose sealed records a reading may name; and, once a reading is recorded,
        // the sealed records it names. Ciphertext only: the service holds no case key.
        @Sendable func entitledReader(_ request: Request, _ context: ServiceRequestContext, what: String) async throws -> (KeyRecord, String, Ledger.CaseKeys) {
            let who = try Self.authenticate(request, roles: nil, for: what, now: config.clock(), sequencer: sequencer)
            let caseID = context.parameters.get("case_id") ?? ""
            do { try Validate.caseID(caseID, field: "case_id") } catch { throw ServiceError.malformed("\(error)") }
            guard let keys = try await Self.blocking({ try reader.caseKeys(of: caseID) }) else {
                throw ServiceError.notFound("this ledger does not seal case details: send details in the clear")
            }
            if let entitled = keys.entitled, !keys.sealing.everyCase.union(entitled).contains(who.actor.agency) {
                throw ServiceError.forbidden("\(who.actor.agency) is not entitled to case \(caseID)'s details: an entitled agency records sharing.shared with it first")
            }
            return (who, caseID, keys)
        }
        router.get("/v1/cases/:case_id/keys") { request, context -> Response in
            await Self.answer(redacting: redact) {
                let (_, _, keys) = try await entitledReader(request, context, what: "a case's keys")
                return (200, keys.json)
            }
        }
        router.get("/v1/cases/:case_id/records") { request, context -> Response in
            await Self.answer(redacting: redact) {
                let (_, caseID, _) = try await entitledReader(request, context, what: "a case's records")
                let records = try await Self.blocking { try reader.sealedRecords(of: caseID) }
                return (200, .object(["case_id": .string(caseID), "sealed_records": .array(records.map {
                    .object(["seq": .integer($0.seq), "event_id": .string($0.eventID), "type": .string($0.type)])
                })]))
            }
        }
        router.get("/v1/cases/:case_id/readings/:event_id") { request, context -> Response in
            await Self.answer(redacting: redact) {
                let (who, caseID, _) = try await entitledReader(request, context, what: "a reading's records")
                let id = context.parameters.get("event_id") ?? ""
                guard Validate.isUUID(id) else { throw ServiceError.malformed("the reading's event id must be a UUID") }
                let since = Timestamp(seconds: config.clock().seconds - ServiceAPI.readingLifetime)
                switch try await Self.blocking({ try reader.reading(id, of: caseID, by: who.keyID, notBefore: since) }) {
                case .success(let records):
                    logger.info("reading fetched", metadata: ["case_records": "\(records.count)", "reading": "\(id)", "key_id": "\(who.keyID)", "agency": "\(who.actor.agency)"])
                    return (200, ServiceAPI.Reading(records: records).json)
                case .failure(let why): throw ServiceError.forbidden(why.description)
                }
            }
        }
        // c2sp.org/tlog-tiles: the latest checkpoint, as a signed note.
        router.get("/checkpoint") { _, _ -> Response in
            guard let note = checkpoints.latest else {
                return Self.json(503, ServiceError.unavailable("no checkpoint signed yet: try again in a few seconds").json)
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "max-age=5"], body: .init(byteBuffer: ByteBuffer(bytes: note)))
        }
        // c2sp.org/tlog-tiles: hash tiles for anyone; entry bundles for keys of the read roles.
        let readRoles = config.readRoles, clock = config.clock
        router.get("/tile/**") { request, context -> Response in
            let parts = context.parameters.getCatchAll()
            guard let tile = TilePath(parts), request.uri.path == "/tile/" + tile.path else {
                return Self.json(404, ServiceError.notFound("not a tile path: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>] (c2sp.org/tlog-tiles)").json)
            }
            if let level = tile.level {
                return await Self.answerBytes(redacting: redact) {
                    guard let bytes = try await Self.blocking({ try reader.tile(level: level, index: tile.index, width: tile.width) }) else {
                        throw ServiceError.notFound("the log is not yet large enough for tile \(tile.path)")
                    }
                    return bytes
                }
            }
            return await Self.answerBytes(redacting: redact) {
                let who = try Self.authenticate(request, roles: readRoles, now: clock(), sequencer: sequencer)
                guard let entries = try await Self.blocking({ try reader.entryBundle(index: tile.index, width: tile.width) }) else {
                    throw ServiceError.notFound("the log is not yet large enough for entry bundle \(tile.path)")
                }
                var bundle: [UInt8] = []
                for e in entries {
                    guard e.count <= 0xFFFF else { throw ServiceError(status: 500, code: "entry_too_large", message: "an entry in \(tile.path) is over 65,535 bytes and cannot be bundled (c2sp.org/tlog-tiles): read it from a copy of the ledger", exitCode: 4) }
                    bundle += [UInt8(e.count >> 8), UInt8(e.count & 0xFF)] + e
                }
                logger.info("entries read", metadata: ["tile": "\(tile.path)", "key_id": "\(who.keyID)", "agency": "\(who.actor.agency)", "role": "\(who.actor.role)"])
                return bundle
            }
        }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/healthz") { _, _ -> Response in Self.json(200, .object(["status": "ok"])) }

        var http = HTTP1Channel.Configuration()
        let idle = config.idleTimeout.components
        http.idleTimeout = .nanoseconds(idle.seconds * 1_000_000_000 + idle.attoseconds / 1_000_000_000)
        let app = Application(
            router: router, server: .http1(configuration: http),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "safeguard",
                                 availableConnectionsDelegate: MaximumAvailableConnections(config.maxConnections)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening", metadata: ["address": "\(config.host):\(port)", "ledger": "\(config.ledgerPath)", "origin": "\(origin)"])
                onListening(port)
            },
            logger: logger)
        do {
            try await app.runService()
        } catch {
            sequencer.stop()
            checkpoints.stop()
            throw error
        }
        sequencer.stop()
        checkpoints.stop()
        logger.info("stopped", metadata: ["ledger": "\(config.ledgerPath)"])
    }

    // MARK: - Helpers

    static func json(_ status: Int, _ value: JSONValue) -> Response {
        let bytes = (try? CanonicalJSON.encode(value)) ?? Array("{}".utf8)
        return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes + [0x0A])))
    }

    /// Runs a handler, turning any error into the JSON refusal the API documents. The ledger's
    /// path on this machine (`redacting`) is not told to clients.
    static func answer(redacting path: String, logger: Logger? = nil, _ body: () async throws -> (Int, JSONValue)) async -> Response {
        let e: ServiceError
        do {
            let (status, value) = try await body()
            return json(status, value)
        } catch let s as ServiceError {
            e = s
        } catch let l as LedgerError {
            e = ServiceError(l)
        } catch let h as HTTPError where h.status == .contentTooLarge {
            e = ServiceError.tooLarge(ServiceAPI.maxRequestBytes)
        } catch is NIOTooManyBytesError {
            e = ServiceError.tooLarge(ServiceAPI.maxRequestBytes)
        } catch {
            logger?.error("internal error", metadata: ["error": "\(String(describing: error).replacingOccurrences(of: "\n", with: " "))"])
            e = ServiceError(status: 500, code: "internal", message: "the service could not answer this request: try again; if it persists, tell the partnership (the service's log says why)", exitCode: 4)
        }
        if e.status != 500 || e.code != "internal" {
            logger?.notice("refused", metadata: ["status": "\(e.status)", "code": "\(e.code)"])
        }
        let told = path.isEmpty ? e : ServiceError(status: e.status, code: e.code, message: e.message.replacingOccurrences(of: path, with: "the ledger"), exitCode: e.exitCode)
        var response = json(told.status, told.json)
        if told.status == 401 { response.headers[.wwwAuthenticate] = "safeguard-statement" }
        return response
    }

    /// `answer` for a handler whose success is bytes (a tile or bundle, immutable once served).
    static func answerBytes(redacting path: String, _ body: () async throws -> [UInt8]) async -> Response {
        var bytes: [UInt8] = []
        let r = await answer(redacting: path) { bytes = try await body(); return (200, .object([:])) }
        guard r.status == .ok else { return r }
        return Response(status: .ok, headers: [.contentType: "application/octet-stream", .cacheControl: "public, max-age=31536000, immutable"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The address a request came from: the connection's peer, or, when that is a trusted
    /// proxy, the last address in the `X-Forwarded-For` it sets.
    static func clientAddress(_ request: Request, _ context: ServiceRequestContext, trusted: Set<String>) -> String {
        let peer = context.remoteAddress?.ipAddress ?? "unknown"
        guard trusted.contains(peer), let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!],
            let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        else { return peer }
        return String(last.prefix(64))
    }

    /// The enrolment of the key that signed this read (`SignedRead`), which must hold one of
    /// `roles` (nil: any enrolled key).
    static func authenticate(_ request: Request, roles: Set<String>?, for what: String = "entry bundles", now: Timestamp, sequencer: Sequencer) throws -> KeyRecord {
        guard let keyID = request.headers[HTTPField.Name("Safeguard-Key")!], let timeText = request.headers[HTTPField.Name("Safeguard-Time")!],
            let sigText = request.headers[HTTPField.Name("Safeguard-Signature")!]
        else { throw ServiceError.unauthenticated("\(what) are for enrolled keys\(roles.map { " of the roles " + $0.sorted().joined(separator: ", ") } ?? ""): sign the request (Safeguard-Key, Safeguard-Time, Safeguard-Signature; docs/SERVICE.md)") }
        guard let time = Int64(timeText), abs(time - now.seconds) <= SignedRead.skew else {
            throw ServiceError.unauthenticated("Safeguard-Time is not within 5 minutes of the service's clock (\(now)): check this machine's clock")
        }
        guard let record = sequencer.enrolment(keyID), record.revokedAt == nil else {
            throw ServiceError.forbidden("key \(keyID.prefix(32)) is not enrolled in this ledger, or was revoked")
        }
        guard let sig = Base64.decode(sigText), record.publicKey.verify(signature: sig, message: SignedRead.message(method: "GET", path: request.uri.path, time: time)) else {
            throw ServiceError.unauthenticated("Safeguard-Signature does not verify under key \(keyID): sign 'safeguard/read/v1', the method and path, and the time")
        }
        if let roles, !roles.contains(record.actor.role) {
            throw ServiceError.forbidden("key \(keyID) is enrolled as \(record.actor.role); \(what) are for \(roles.sorted().joined(separator: ", "))")
        }
        return record
    }

    /// The request body, at most `maxRequestBytes`, within `timeout` (a slow sender is cut off).
    static func collect(_ request: Request, timeout: Duration, limit: Int = ServiceAPI.maxRequestBytes) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw ServiceError.tooLarge(limit)
        }
        let body = request.body
        let buffer = try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
            group.addTask { try await body.collect(upTo: limit) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ServiceError.timeout
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
        return Array(buffer.readableBytesView)
    }

    /// Runs blocking file work off the server's event loops.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            DispatchQueue.global().async {
                do { c.resume(returning: try work()) } catch { c.resume(throwing: error) }
            }
        }
    }
}

/// The request context: Hummingbird's, with the address the request came from.
struct ServiceRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Requests per key: a token bucket each.
final class RateLimiter: @unchecked Sendable {
    private let rate: Double, burst: Double
    private var buckets: [String: (tokens: Double, at: Double)] = [:]
    private let lock = NSLock()

    init(rate: Double, burst: Double) { self.rate = rate; self.burst = burst }

    /// Whether `key` has a request left, without taking it.
    func hasTokens(_ key: String) -> Bool {
        let now = ProcessInfo.processInfo.systemUptime
        lock.lock()
        defer { lock.unlock() }
        guard let b = buckets[key] else { return true }
        return min(burst, b.tokens + (now - b.at) * rate) >= 1
    }

    func allow(_ key: String) -> Bool {
        let now = ProcessInfo.processInfo.systemUptime
        lock.lock()
        defer { lock.unlock() }
        // Buckets that have filled up again say nothing: dropped once there are many.
        if buckets.count > 10_000 { buckets = buckets.filter { min(burst, $0.value.tokens + (now - $0.value.at) * rate) < burst } }
        var b = buckets[key] ?? (burst, now)
        b.tokens = min(burst, b.tokens + (now - b.at) * rate)
        b.at = now
        guard b.tokens >= 1 else { buckets[key] = b; return false }
        b.tokens -= 1
        buckets[key] = b
        return true
    }
}

/// The service's checkpoints: signed every so many seconds or events, whichever comes first,
/// by `CheckpointSigner` (which verifies what it has not verified before, so the service never
/// signs a log that does not verify), on a thread of its own.
final class Checkpoints: @unchecked Sendable {
    private let config: LogServer.Configuration
    private let origin: String
    private let logger: Logger
    private let lock = NSCondition()
    private var size: Int64 = 0
    private var signedSize: Int64 = -1
    private var stopping = false
    private var note: [UInt8]?
    private var thread: Thread?

    init(config: LogServer.Configuration, origin: String, logger: Logger) {
        self.config = config; self.origin = origin; self.logger = logger
    }

    var latest: [UInt8]? { lock.lock(); defer { lock.unlock() }; return note }

    func grew(to newSize: Int64) {
        lock.lock()
        size = max(size, newSize)
        if size - max(signedSize, 0) >= config.checkpointEveryEvents { lock.signal() }
        lock.unlock()
    }

    func start() {
        let t = Thread { [self] in run() }
        t.name = "safeguard-checkpoints"
        thread = t
        t.start()
    }

    func stop() {
        lock.lock(); stopping = true; lock.signal(); lock.unlock()
        while thread?.isFinished == false { usleep(1000) }
    }

    private func run() {
        var first = true
        while true {
            lock.lock()
            if !first { _ = lock.wait(until: Date(timeIntervalSinceNow: config.checkpointEverySeconds)) }
            first = false
            let stop = stopping
            let due = size != signedSize
            lock.unlock()
            if due || note == nil { sign() }
            if stop { return }
        }
    }

    private func sign() {
        do {
            let ledger = try Ledger.open(at: config.ledgerPath, readOnly: false)
            let signed = try CheckpointSigner.sign(ledger, key: config.logKey, statePath: config.checkpointStatePath, trustAnchor: config.trustAnchor,
                                                   at: config.clock(), notAfter: Timestamp(seconds: config.clock().seconds + 600))
            if signed.new { logger.info("checkpoint", metadata: ["size": "\(signed.checkpoint.size)", "verified": "\(signed.verified)"]) }
            // Kept in the durable store before it is served.
            if let keep = config.keepCheckpoint, let kept = try ledger.checkpoints().last(where: { $0.size == signed.checkpoint.size }) {
                try keep(LedgerRows.Checkpoint(size: kept.size, root: kept.root, note: kept.note, signedAt: kept.signedAt))
            }
            // The witnesses' cosignatures, added to the note as they come (each checked).
            var cosigned = signed.note
            if signed.new || witnessed < signed.checkpoint.size {
                for w in config.witnesses {
                    if let line = witness(w, signed, ledger) { cosigned += line }
                }
                witnessed = signed.checkpoint.size
            } else if let kept = latest, signedSize == signed.checkpoint.size {
                cosigned = kept
            }
            lock.lock()
            note = cosigned
            signedSize = signed.checkpoint.size
            size = max(size, signedSize)
            lock.unlock()
        } catch {
            logger.error("checkpoint not signed", metadata: ["error": "\(String(describing: error).replacingOccurrences(of: "\n", with: " "))"])
        }
    }

    /// The size each witness last cosigned, as far as this service knows (from its answers).
    private var witnessSizes: [String: Int64] = [:]
    private var witnessed: Int64 = -1

    /// Sends `signed` to witness `w` with a consistency proof from the size it last cosigned
    /// (asking it first, with old size 0, when that is not known: it answers 409 with its size);
    /// returns its cosignature line once it checks out, or nil (logged).
    private func witness(_ w: (url: String, cosigner: Cosigner), _ signed: CheckpointSigner.Signed, _ ledger: Ledger) -> [UInt8]? {
        for _ in 0..<3 {
            let old = witnessSizes[w.url] ?? 0
            do {
                let proof = old == 0 || old == signed.checkpoint.size ? [] : try ledger.consistencyProof(old: old, new: signed.checkpoint.size)
                let body = ProofText.Consistency(old: old, proof: proof, checkpoint: signed.note).text
                guard let url = URL(string: w.url.hasSuffix("/") ? w.url + "add-checkpoint" : w.url + "/add-checkpoint") else { return nil }
                var r = URLRequest(url: url, timeoutInterval: 10)
                r.httpMethod = "POST"
                r.httpBody = Data(body)
                let (data, status) = try LogClient.send(r)
                switch status {
                case 200:
                    let lines = [UInt8](data)
                    let (_, sigs) = try SignedNote.parse(signed.note + lines)
                    guard let time = try w.cosigner.verifiedTime(of: signed.checkpoint, in: sigs) else {
                        logger.error("witness answered without its cosignature", metadata: ["witness": "\(w.cosigner.name)"])
                        return nil
                    }
                    witnessSizes[w.url] = signed.checkpoint.size
                    logger.info("cosigned", metadata: ["witness": "\(w.cosigner.name)", "size": "\(signed.checkpoint.size)", "time": "\(Timestamp(seconds: Int64(time)))"])
                    let mine = sigs.filter { sameBytes($0.name, w.cosigner.name) && $0.keyID == w.cosigner.keyID }
                    return mine.first.map { Array($0.line.utf8) }
                case 409:
                    guard let size = Int64(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), size != old else {
                        logger.critical("witness refused the checkpoint as conflicting", metadata: ["witness": "\(w.cosigner.name)", "answer": "\(String(decoding: data.prefix(200), as: UTF8.self))"])
                        return nil
                    }
                    witnessSizes[w.url] = size
                default:
                    logger.error("witness refused the checkpoint", metadata: ["witness": "\(w.cosigner.name)", "status": "\(status)", "answer": "\(String(decoding: data.prefix(200), as: UTF8.self))"])
                    return nil
                }
            } catch {
                logger.error("witness not reached", metadata: ["witness": "\(w.cosigner.name)", "error": "\(error)"])
                return nil
            }
        }
        return nil
    }
}
