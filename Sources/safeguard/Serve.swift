import ArgumentParser
import Foundation
import Logging
import SafeguardCore
import SafeguardPostgres
import SafeguardService
import SafeguardStore

extension Safeguard {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the log service: the one writer of the ledger, over HTTP.",
            discussion: """
                Agencies record with 'safeguard record|append|import --server URL': each event is built, \
                checked and signed on the practitioner's machine with their enrolled key, and this service \
                gives it its place and its time of recording from its own clock, signs the entry with the \
                log key (the key 'keys set-log-key' named) and answers with a receipt (docs/FORMAT.md §3.4). \
                It signs a checkpoint every --checkpoint-every seconds or --checkpoint-events events, and \
                serves it at /checkpoint (c2sp.org/tlog-checkpoint). It runs in the foreground, logs one JSON \
                object per line on standard error, serves Prometheus metrics at /metrics, and stops cleanly \
                on SIGTERM or Ctrl-C after placing what it has received. An event is durable before its \
                receipt is sent. It speaks plain HTTP: put it behind a TLS reverse proxy for any network \
                other than this machine (docs/DEPLOYMENT.md). The API: docs/SERVICE.md, docs/openapi.json.
                """)

        @OptionGroup var ledger: LedgerOptions
        @Option(help: ArgumentHelp("Keep the ledger in PostgreSQL at this postgres:// URL instead of a file (its password in $PGPASSWORD; docs/SCALE.md): each batch is committed there before it is acknowledged. Connect as a role granted only SELECT and INSERT.", valueName: "url"))
        var store: String?
        @Option(name: .customLong("working-copy"), help: ArgumentHelp("With --store: the folder for the service's working copy of the ledger (made from the store at each start, verified, and kept in step with it; default: a private temporary folder).", valueName: "dir"), completion: .directory)
        var workingCopy: String?
        @Option(name: .customLong("store-timeout"), help: ArgumentHelp("With --store: how long a batch may take to commit before the service stops (its outcome is then unknown; start the service again once the store answers).", valueName: "seconds"))
        var storeTimeout: Double = 30
        @Option(help: ArgumentHelp("Address and port to listen on (port 0: any free port, printed at start).", valueName: "host:port"))
        var listen = "127.0.0.1:8088"
        @Option(name: .customLong("log-key"), help: ArgumentHelp("The log's secret key: the key the ledger names with 'keys set-log-key' (it signs entries and checkpoints).", valueName: "path"), completion: .file())
        var logKey: String
        @Option(name: .customLong("trust-file"), help: ArgumentHelp("The root public key (e.g. root.key.pub): needed the first time, so the service verifies the log before signing a checkpoint of it.", valueName: "path"), completion: .file())
        var trustFile: String?
        @Option(name: .customLong("checkpoint-every"), help: ArgumentHelp("Sign a checkpoint at least this often while the log grows.", valueName: "seconds"))
        var checkpointEvery: Double = 10
        @Option(name: .customLong("checkpoint-events"), help: ArgumentHelp("…or as soon as this many events were added since the last.", valueName: "n"))
        var checkpointEvents: Int64 = 1000
        @Option(name: .customLong("rate-limit"), help: ArgumentHelp("Requests per second each practitioner's key may make (bursts of 4 times as many are allowed).", valueName: "n"))
        var rateLimit: Double = 50
        @Option(help: ArgumentHelp("A witness to send each new checkpoint to, as \"URL VKEY\" (its c2sp.org/tlog-witness address and cosigning verifier key; repeatable). Its cosignatures are added to the checkpoint served at /checkpoint.", valueName: "url vkey"))
        var witness: [String] = []
        @Option(name: .customLong("trusted-proxy"), help: ArgumentHelp("The address of a reverse proxy in front of the service (repeatable): requests from it are counted against the client address its X-Forwarded-For names, not against the proxy's.", valueName: "address"))
        var trustedProxy: [String] = []
        @Option(name: .customLong("max-connections"), help: ArgumentHelp("Connections held open at once; more wait to be accepted (each idle connection costs memory).", valueName: "n"))
        var maxConnections = 1000
        @Option(name: .customLong("request-timeout"), help: ArgumentHelp("How long a client may take to send one request before it is cut off (slow senders hold connections).", valueName: "seconds"))
        var requestTimeout: Double = 10

        func validate() throws {
            if let store {
                guard PostgresURL.isURL(store) else { throw ValidationError("--store takes a postgres:// URL, e.g. postgres://safeguard_service@db.example:5432/ledger") }
                if ledger.ledger != nil { throw ValidationError("--store and --ledger are two places for the ledger: give one") }
            } else if workingCopy != nil {
                throw ValidationError("--working-copy goes with --store (a ledger in PostgreSQL)")
            }
            guard storeTimeout >= 1, storeTimeout <= 3600 else { throw ValidationError("--store-timeout must be between 1 and 3600 seconds") }
            guard parsedListen() != nil else { throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8088 or 0.0.0.0:8088") }
            guard checkpointEvery >= 1, checkpointEvery <= 86400 else { throw ValidationError("--checkpoint-every must be between 1 and 86400 seconds") }
            guard checkpointEvents >= 1 else { throw ValidationError("--checkpoint-events must be at least 1") }
            guard rateLimit > 0 else { throw ValidationError("--rate-limit must be more than 0") }
            for w in witness {
                let parts = w.split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2, URL(string: parts[0])?.scheme != nil, Cosigner(verifierKey: parts[1]) != nil else {
                    throw ValidationError("--witness must be \"URL VKEY\": the witness's address (e.g. http://127.0.0.1:8089) and its cosigning verifier key (NAME+HEX8+BASE64)")
                }
            }
            guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
            guard requestTimeout >= 0.1, requestTimeout <= 600 else { throw ValidationError("--request-timeout must be between 0.1 and 600 seconds") }
        }

        func parsedListen() -> (String, Int)? {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else { return nil }
            let host = String(listen[..<colon])
            return host.isEmpty ? nil : (host, port)
        }

        func run() throws {
            let key = try loadSigningKey(logKey)
            LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
            let logger = Logger(label: "safeguard.serve")
            var pg: PostgresStore?
            let path: String, shown: String
            if let store {
                // The store is what is durable; the working copy is made from it, in one snapshot,
                // and the checkpoint signer verifies it before signing anything.
                let url = try PostgresURL(store)
                let s = PostgresStore(url: url, timeout: storeTimeout)
                try s.open()
                pg = s
                path = try WorkingCopy.make(in: workingCopy, from: url, logger: logger)
                shown = "\(url) (working copy \(path))"
            } else {
                path = try ledger.path()
                shown = path
            }
            var config = LogServer.Configuration(ledgerPath: path, logKey: key, checkpointStatePath: CheckpointSigner.statePath(forKey: logKey))
            if let pg {
                config.store = pg
                config.keepCheckpoint = { try pg.addCheckpoint($0) }
                config.onFatal = { _ in
                    FileHandle.standardError.write(Data("safeguard serve: stopped: the PostgreSQL store may hold a batch this service did not acknowledge; start it again to resume from what the store holds\n".utf8))
                    Foundation.exit(ExitStatus.unusable)
                }
            }
            (config.host, config.port) = parsedListen()!
            config.trustAnchor = try trustFile.map(KeyFiles.readPublic)
            config.checkpointEverySeconds = checkpointEvery
            config.checkpointEveryEvents = checkpointEvents
            config.ratePerKey = rateLimit
            config.burstPerKey = rateLimit * 4
            config.witnesses = witness.map { w in
                let parts = w.split(separator: " ", maxSplits: 1).map(String.init)
                return (parts[0], Cosigner(verifierKey: parts[1])!)
            }
            config.trustedProxies = Set(trustedProxy)
            config.maxConnections = maxConnections
            config.requestTimeout = .milliseconds(Int64(requestTimeout * 1000))
            config.idleTimeout = .milliseconds(Int64(max(requestTimeout * 3, 1) * 1000))
            let server = LogServer(config, logger: logger)
            let host = config.host
            try runAsync {
                try await server.run { port in
                    FileHandle.standardOutput.write(Data("safeguard serve: listening on http://\(host):\(port) for \(shown)\n".utf8))
                }
            }
        }
    }
}

/// Runs async work from a synchronous command, waiting for it.
func runAsync(_ work: @escaping @Sendable () async throws -> Void) throws {
    final class Box: @unchecked Sendable { var error: (any Error)? }
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { try await work() } catch { box.error = error }
        done.signal()
    }
    done.wait()
    if let e = box.error { throw e }
}

/// The log service's working copy of a ledger kept in PostgreSQL: a ledger file made from the
/// store at each start (so it never holds anything the store does not), in a folder of the
/// service's own, removed when the service stops.
enum WorkingCopy {
    static func make(in folder: String?, from url: PostgresURL, logger: Logger) throws -> String {
        let dir: String
        if let folder {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--working-copy \(folder) is not a folder: make it first (mkdir -m 700 \(folder))")
            }
            dir = folder
            // Copies left by services that are no longer running.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix("working-copy-") {
                let pid = Int32(name.dropFirst("working-copy-".count).prefix { $0.isNumber }) ?? 0
                if pid > 0, pid != getpid(), kill(pid, 0) != 0 { try? FileManager.default.removeItem(atPath: folder + "/" + name) }
            }
        } else {
            var template = Array((NSTemporaryDirectory() + "/safeguard-serve-XXXXXX").utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw ValidationError("cannot make a private folder in \(NSTemporaryDirectory()) for the working copy: give --working-copy DIR")
            }
            dir = String(cString: made)
        }
        let path = dir + "/working-copy-\(getpid()).sqlite"
        WorkingCopy.made = (folder == nil ? dir : nil, path)
        atexit {
            guard let made = WorkingCopy.made else { return }
            if let d = made.folder { try? FileManager.default.removeItem(atPath: d) } else {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: made.path + suffix) }
            }
        }
        let started = Date()
        let copy = try PostgresLedger.copy(from: url, toNewFile: path)
        let events = try copy.head()?.size ?? 0
        logger.info("working copy made", metadata: ["events": "\(events)", "seconds": "\(String(format: "%.1f", Date().timeIntervalSince(started)))"])
        return path
    }

    nonisolated(unsafe) static var made: (folder: String?, path: String)?
}
