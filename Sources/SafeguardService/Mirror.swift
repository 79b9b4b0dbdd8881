import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SafeguardCore
import SafeguardStore

/// `safeguard mirror`: a verified local copy of a served log, fetched incrementally through
/// c2sp.org/tlog-tiles (the checkpoint, then the entry bundles after what the copy holds), each
/// step checked: the new entries must make the tree of the log's signed checkpoint on top of the
/// copy, and the copy is then verified (from the auditor's kept state) with the root public key,
/// as `verify --state` does, with its details withheld (the service does not serve them).
public enum Mirror {
    public struct Outcome {
        public let checkpoint: Checkpoint
        /// The signed checkpoint as served (with any witnesses' cosignatures).
        public let note: [UInt8]
        public let added: Int64
        public let verification: Ledger.Verification
    }

    public static func update(_ client: LogClient, copy path: String, reader: SigningKey, log: NoteVerifier, trustAnchor: PublicKey,
                              statePath: String, progress: (Int64, Int64) -> Void = { _, _ in }) throws -> Outcome {
        let (noteData, status) = try LogClient.send(URLRequest(url: client.base.appendingPathComponent("checkpoint"), timeoutInterval: client.timeout), limit: 64 << 10)
        guard status == 200 else { throw ServiceError.unavailable("the log service has no checkpoint to serve yet (HTTP \(status)): try again in a few seconds") }
        let note = [UInt8](noteData)
        let (checkpoint, _) = try Checkpoint.open(note, log: log)
        guard checkpoint.extensions.isEmpty else { throw ProofRefused("the log's checkpoint carries extension lines, which this log's checkpoints never do (docs/FORMAT.md §6.2)") }
        let exists = FileManager.default.fileExists(atPath: path)
        guard exists || !FileManager.default.fileExists(atPath: statePath) else {
            throw ProofInputError("a state file '\(statePath)' exists but no copy at '\(path)': move the state away, or give the copy it belongs to")
        }
        let ledger = exists ? try Ledger.open(at: path, readOnly: false) : try Ledger.createMirror(at: path)
        do {
            return try fill(ledger, client: client, note: note, checkpoint: checkpoint, reader: reader, trustAnchor: trustAnchor, statePath: statePath, progress: progress)
        } catch {
            // A first run that fails leaves nothing behind: no copy, no state.
            if !exists { for f in [path, path + "-wal", path + "-shm", statePath] { try? FileManager.default.removeItem(atPath: f) } }
            throw error
        }
    }

    private static func fill(_ ledger: Ledger, client: LogClient, note: [UInt8], checkpoint: Checkpoint, reader: SigningKey, trustAnchor: PublicKey,
                             statePath: String, progress: (Int64, Int64) -> Void) throws -> Outcome {
        let held = try ledger.head()?.size ?? 0
        guard held <= checkpoint.size else {
            throw ProofRefused("TRUNCATED: your copy holds \(held) events, but the log's latest checkpoint, signed by it, says \(checkpoint.size): "
                               + "events were cut off the log. Keep the copy and the checkpoint as evidence")
        }
        if held < checkpoint.size {
            // Fetched and written a bundle at a time, in one transaction: what is kept is the
            // whole checkpoint's tree, or nothing.
            try ledger.appendMirrored(first: held, checkpoint: checkpoint) { add in
                var next = held
                while next < checkpoint.size {
                    let tile = next / 256
                    let width = Int(min(256, checkpoint.size - tile * 256))
                    let path = "/tile/" + TilePath(level: nil, index: tile, width: width).path
                    let bundle = try client.signedGet(path, key: reader, limit: width * (2 + 0xFFFF))
                    var entries: [[UInt8]] = []
                    var i = bundle.startIndex
                    while i < bundle.endIndex {
                        guard i + 2 <= bundle.endIndex else { throw ProofRefused("the service's entry bundle \(path) is cut short") }
                        let n = Int(bundle[i]) << 8 | Int(bundle[i + 1])
                        guard i + 2 + n <= bundle.endIndex else { throw ProofRefused("the service's entry bundle \(path) is cut short") }
                        entries.append(Array(bundle[(i + 2)..<(i + 2 + n)]))
                        i += 2 + n
                    }
                    guard entries.count == width else { throw ProofRefused("the service's entry bundle \(path) holds \(entries.count) entries, not \(width)") }
                    let fresh = Array(entries.dropFirst(Int(next - tile * 256)))
                    try add(fresh)
                    next += Int64(fresh.count)
                    progress(next, checkpoint.size)
                }
            }
        }
        let kept: AuditState? = FileManager.default.fileExists(atPath: statePath) ? try AuditState.open(statePath) : nil
        let update = kept == nil ? try AuditState.Update(creating: statePath) : AuditState.Update()
        let v = try ledger.verify(from: kept.map { .state($0) } ?? .none, trustAnchor: trustAnchor, threads: ProcessInfo.processInfo.activeProcessorCount,
                                  notAfter: Timestamp(seconds: Int64(Date().timeIntervalSince1970) + 600),
                                  detailsWithheld: true, onEntry: { try update.add($0, $1) })
        update.finish(tree: v.tree, cases: v.cases)
        if let kept { try kept.save(update) } else { try AuditState.create(statePath, update, rootKey: trustAnchor, origin: v.summary.origin) }
        // Every checkpoint seen is kept (COPY.checkpoints/SIZE.checkpoint): with its witnesses'
        // cosignatures, it bounds when the events it covers were recorded ('report practice --witnessed').
        let folder = ledger.path + ".checkpoints"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = folder + "/\(checkpoint.size).checkpoint"
        if !FileManager.default.fileExists(atPath: file) { try? Data(note).write(to: URL(fileURLWithPath: file), options: .atomic) }
        return Outcome(checkpoint: checkpoint, note: note, added: checkpoint.size - held, verification: v)
    }
}

extension LogClient {
    /// A GET signed with `key` (`SignedRead`): the body, or the service's refusal.
    public func signedGet(_ path: String, key: SigningKey, limit: Int = ServiceAPI.maxRequestBytes) throws -> [UInt8] {
        var r = URLRequest(url: URL(string: base.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path)!, timeoutInterval: timeout)
        for (k, v) in SignedRead.headers(method: "GET", path: path, key: key, time: Int64(Date().timeIntervalSince1970)) { r.setValue(v, forHTTPHeaderField: k) }
        let (data, status) = try Self.send(r, limit: limit)
        guard status == 200 else {
            if let json = try? JSONParser.parse([UInt8](data)), let e = ServiceError(json: json, status: status) { throw e }
            throw ServiceError(status: status, code: "http", message: "the log service answered HTTP \(status) for \(path)", exitCode: 4)
        }
        return [UInt8](data)
    }
}
