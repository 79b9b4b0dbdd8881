import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SafeguardCore
import SafeguardStore

/// `safeguard witness serve`: c2sp.org/tlog-witness's `add-checkpoint` over HTTP, for an agency
/// or the inspectorate to witness the partnership's log (docs/SERVICE.md, Witnesses).
public struct WitnessServer: Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 8089
        public var name: String
        public var key: SigningKey
        public var logs: [NoteVerifier]
        public var statePath: String
        /// Where evidence of a log's misbehaviour is written.
        public var evidenceFolder: String
        public var requestTimeout: Duration = .seconds(10)
        public var clock: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }

        public init(name: String, key: SigningKey, logs: [NoteVerifier], statePath: String, evidenceFolder: String) {
            self.name = name; self.key = key; self.logs = logs; self.statePath = statePath; self.evidenceFolder = evidenceFolder
        }
    }

    let config: Configuration
    let logger: Logger

    public init(_ config: Configuration, logger: Logger) { self.config = config; self.logger = logger }

    /// The largest request: 63 proof lines and a checkpoint with its signatures.
    static let maxRequestBytes = 64 << 10

    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let config = self.config, logger = self.logger
        // One request at a time touches the state (the library also locks the file).
        let serial = DispatchQueue(label: "safeguard-witness")
        let router = Router()
        router.middlewares.add(LogRequestsMiddleware(.debug))
        router.post("/add-checkpoint") { request, _ -> Response in
            let body: [UInt8]
            do { body = try await LogServer.collect(request, timeout: config.requestTimeout, limit: Self.maxRequestBytes) } catch {
                return Self.text(413, "the request is too large or too slow\n")
            }
            let outcome: Result<SignedNote.Signature, any Error> = await withCheckedContinuation { c in
                serial.async {
                    c.resume(returning: Result {
                        try Witness.addCheckpoint(body, logs: config.logs, name: config.name, key: config.key, statePath: config.statePath, time: config.clock())
                    })
                }
            }
            switch outcome {
            case .success(let cosignature):
                logger.info("cosigned", metadata: ["witness": "\(config.name)"])
                return Self.text(200, cosignature.line)
            case .failure(let r as Witness.Refusal):
                switch r {
                case .conflict(let size, _):
                    return Response(status: .conflict, headers: [.contentType: "text/x.tlog.size"], body: .init(byteBuffer: ByteBuffer(string: "\(size)\n")))
                case .misbehaviour(let why, let evidence):
                    // Named by what it holds: the same evidence sent again is one file, not another.
                    let both = Array((evidence.cosigned + "\n" + evidence.presented).utf8)
                    let path = "\(config.evidenceFolder)/misbehaviour-\(Hex.encode(Array(SHA256.hash(both).prefix(16)))).json"
                    if FileManager.default.fileExists(atPath: path) {
                        logger.critical("log misbehaviour, again", metadata: ["reason": "\(why)", "evidence": "\(path)"])
                    } else {
                        do {
                            try evidence.write(to: path)
                            logger.critical("log misbehaviour", metadata: ["reason": "\(why)", "evidence": "\(path)"])
                        } catch {
                            logger.critical("log misbehaviour; the evidence could not be written", metadata: ["reason": "\(why)", "error": "\(error)"])
                        }
                    }
                    // tlog-witness: 409 with the size last cosigned.
                    return Response(status: .conflict, headers: [.contentType: "text/x.tlog.size"], body: .init(byteBuffer: ByteBuffer(string: "\(evidence.old)\n")))
                default:
                    logger.notice("refused", metadata: ["status": "\(r.status)", "reason": "\(r.description)"])
                    return Self.text(r.status, r.description + "\n")
                }
            case .failure(let error):
                logger.error("cannot cosign", metadata: ["error": "\(error)"])
                return Self.text(500, "the witness cannot record its state: try again later\n")
            }
        }
        router.get("/healthz") { _, _ -> Response in Self.text(200, "ok\n") }
        var http = HTTP1Channel.Configuration()
        http.idleTimeout = .seconds(30)
        let app = Application(
            router: router, server: .http1(configuration: http),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "safeguard-witness"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening", metadata: ["address": "\(config.host):\(port)", "witness": "\(config.name)"])
                onListening(port)
            },
            logger: logger)
        try await app.runService()
    }

    static func text(_ status: Int, _ body: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
