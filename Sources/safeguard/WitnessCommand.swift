import ArgumentParser
import Foundation
import Logging
import SafeguardCore
import SafeguardService
import SafeguardStore

extension Safeguard {
    struct Witness: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Act as a witness (an agency or the inspectorate): cosign the log's checkpoints only if they extend the last one you cosigned.",
            subcommands: [AddCheckpoint.self, WitnessServe.self])
    }
}

extension Safeguard.Witness {
    struct AddCheckpoint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-checkpoint",
            abstract: "Check a checkpoint the log presents (a c2sp.org/tlog-witness add-checkpoint body, as 'safeguard prove consistency' prints) and print your cosignature.",
            discussion: """
                The checkpoint must be signed by --log-key, its 'old' size must be the size you last \
                cosigned for that log (0 the first time), and its consistency proof must verify from the \
                checkpoint you last cosigned. Then it is cosigned (c2sp.org/tlog-cosignature v1) with \
                --key, the state file records it, and the cosignature line is printed, to be added to the \
                checkpoint. A request that starts at another size is refused with the size you last \
                cosigned on standard output (exit 3; tlog-witness's 409 Conflict): send a proof from \
                there. A proof that does not verify is refused (exit 1) and proves nothing. Only a \
                checkpoint of the size you cosigned with another root, two signed trees of one size, \
                is misbehaviour: it is written as evidence to --evidence (default \
                misbehaviour-ORIGIN-SIZE.json), which anyone can check with 'safeguard check-proof'.
                """)

        @Argument(help: ArgumentHelp("The request file (old size, consistency proof, blank line, signed checkpoint).", valueName: "request"))
        var request: String
        @Option(help: ArgumentHelp("Your witness key file.", valueName: "path"), completion: .file())
        var key: String
        @Option(help: ArgumentHelp("Your witness name (a schema-less URL, e.g. inspectorate.example/w1).", valueName: "name"))
        var name: String
        @Option(name: .customLong("log-key"), help: ArgumentHelp("The log's checkpoint verifier key, or a file holding it.", valueName: "vkey"))
        var logKey: String
        @Option(help: ArgumentHelp("Your state file: the last checkpoint you cosigned for each log (created if missing).", valueName: "path"), completion: .file())
        var state: String
        @Option(help: ArgumentHelp("Where to write evidence if the log misbehaves.", valueName: "path"), completion: .file())
        var evidence: String?
        @Flag(help: "Print your cosigning verifier key (NAME+ID+KEY, type 0x04) for the log's users, and check nothing.")
        var vkey = false

        /// Writes the evidence where asked (never over an existing file), or beside the state.
        func writeEvidence(_ m: Misbehaviour, origin: String) throws -> String {
            var path = evidence ?? "misbehaviour-\(origin.replacingOccurrences(of: "/", with: "_"))-\(m.old).json"
            var n = 1
            while evidence == nil, FileManager.default.fileExists(atPath: path) {
                n += 1
                path = "misbehaviour-\(origin.replacingOccurrences(of: "/", with: "_"))-\(m.old)-\(n).json"
            }
            try m.write(to: path)
            return path
        }

        func run() throws {
            let signer = try loadSigningKey(key)
            guard let me = Cosigner(name: name, publicKey: signer.publicKey) else {
                throw InputError("--name must be non-empty with no spaces or '+' (e.g. inspectorate.example/w1)")
            }
            if vkey { print(me.verifierKey); return }
            let log = try noteVerifier(logKey, what: "--log-key")
            let body = try readFile(request, what: "the request")
            // A request that does not parse, or a checkpoint not signed by the log: as before, the
            // parser's and the note's own errors.
            let req = try ProofText.Consistency(text: body)
            let (checkpoint, _) = try Checkpoint.open(req.checkpoint, log: log)
            guard checkpoint.origin == log.name else {
                throw InputError("the checkpoint's origin '\(checkpoint.origin)' is not the log '\(log.name)' that --log-key names")
            }
            do {
                let cosignature = try Witness.addCheckpoint(body, logs: [log], name: name, key: signer, statePath: state, time: UInt64(max(0, Clock.now().seconds)))
                print(cosignature.line, terminator: "")
            } catch let r as Witness.Refusal {
                switch r {
                case .conflict(let size, let message):
                    print(size)
                    throw WitnessConflict(message)
                case .misbehaviour(let why, let m):
                    let path = try writeEvidence(m, origin: checkpoint.origin)
                    throw ProofRefused("NOT COSIGNED: \(why). Evidence (both signed checkpoints and the proof) written to \(path)")
                case .badProof(let m): throw ProofRefused(m)
                case .malformed(let m), .unknownLog(let m), .notSigned(let m): throw InputError(m)
                }
            } catch let f as Witness.State.Failure {
                throw InputError(f.description)
            }
        }
    }
}

/// The request does not start where the witness left off (tlog-witness: 409 Conflict).
struct WitnessConflict: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension Safeguard.Witness {
    struct WitnessServe: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve c2sp.org/tlog-witness's add-checkpoint over HTTP: cosign the log's checkpoints as the log service sends them.",
            discussion: """
                POST /add-checkpoint takes an old size, a consistency proof and a signed checkpoint, and \
                answers with your cosignature (200) once the checkpoint is signed by a --log-key you trust \
                and extends the last one you cosigned for that log; 409 with the size you last cosigned \
                (text/x.tlog.size) when the request starts elsewhere; 422 when the proof does not verify; \
                403 when the log's signature does not; 404 for a log you do not witness. Two checkpoints of \
                one size with different roots are misbehaviour: the evidence is written to --evidence-dir \
                and logged. The state file records what you cosigned, durably, before each answer. Runs in \
                the foreground; SIGTERM stops it. Give the log service your verifier key ('--vkey').
                """)

        @Option(help: ArgumentHelp("Your witness key file.", valueName: "path"), completion: .file())
        var key: String
        @Option(help: ArgumentHelp("Your witness name (a schema-less URL, e.g. inspectorate.example/w1).", valueName: "name"))
        var name: String
        @Option(name: .customLong("log-key"), help: ArgumentHelp("A log's checkpoint verifier key, or a file holding it (repeatable: one per log you witness).", valueName: "vkey"))
        var logKeys: [String] = []
        @Option(help: ArgumentHelp("Your state file: the last checkpoint you cosigned for each log (created if missing).", valueName: "path"), completion: .file())
        var state: String
        @Option(name: .customLong("evidence-dir"), help: ArgumentHelp("Where to write evidence of a log's misbehaviour (default: the state file's folder).", valueName: "path"), completion: .file())
        var evidenceDir: String?
        @Option(help: ArgumentHelp("Address and port to listen on (port 0: any free port, printed at start).", valueName: "host:port"))
        var listen = "127.0.0.1:8089"
        @Flag(help: "Print your cosigning verifier key (NAME+ID+KEY, type 0x04) for the log service, and serve nothing.")
        var vkey = false

        func run() throws {
            let signer = try loadSigningKey(key)
            guard let me = Cosigner(name: name, publicKey: signer.publicKey) else {
                throw InputError("--name must be non-empty with no spaces or '+' (e.g. inspectorate.example/w1)")
            }
            if vkey { print(me.verifierKey); return }
            guard !logKeys.isEmpty else { throw ValidationError("give at least one --log-key: the logs you witness") }
            let logs = try logKeys.map { try noteVerifier($0, what: "--log-key") }
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port), colon != listen.startIndex else {
                throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8089")
            }
            _ = try Witness.State.load(state)
            let folder = evidenceDir ?? { let d = (state as NSString).deletingLastPathComponent; return d.isEmpty ? "." : d }()
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
                throw InputError("cannot make the evidence folder '\(folder)': check --evidence-dir; a witness must be able to keep evidence")
            }
            var config = WitnessServer.Configuration(name: name, key: signer, logs: logs, statePath: state, evidenceFolder: folder)
            config.host = String(listen[..<colon])
            config.port = port
            LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
            let server = WitnessServer(config, logger: Logger(label: "safeguard.witness"))
            let host = config.host
            try runAsync {
                try await server.run { port in
                    FileHandle.standardOutput.write(Data("safeguard witness serve: listening on http://\(host):\(port) as \(me.name)\n".utf8))
                }
            }
        }
    }
}
