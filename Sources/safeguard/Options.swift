import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardPostgres
import SafeguardService
import SafeguardStore

/// `--ledger PATH`, defaulting to $SAFEGUARD_LEDGER.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The ledger file, or a postgres:// URL of a ledger in PostgreSQL, read in one snapshot (default: $SAFEGUARD_LEDGER).", valueName: "path"), completion: .file())
    var ledger: String?

    func path() throws -> String {
        if let ledger, !ledger.isEmpty { return ledger }
        if let env = ProcessInfo.processInfo.environment["SAFEGUARD_LEDGER"], !env.isEmpty { return env }
        throw ValidationError("no ledger given: pass --ledger PATH or set SAFEGUARD_LEDGER")
    }

    /// The ledger file, or, for a PostgreSQL URL (docs/SCALE.md), a private copy of what the
    /// store holds, made in one snapshot with its schema checked exactly, which every reader then
    /// verifies and reads as it would a file. A PostgreSQL ledger is written only by the log
    /// service (`safeguard serve --store URL`).
    func open(readOnly: Bool, detailsWithheld: Bool = false) throws -> Ledger {
        let p = try path()
        guard PostgresURL.isURL(p) else { return try Ledger.open(at: p, readOnly: readOnly) }
        guard readOnly else {
            throw ValidationError("a PostgreSQL ledger is written only by its log service: start it with 'safeguard serve --store URL' and record with --server")
        }
        return try PostgresCopy.open(p, withhold: detailsWithheld)
    }
}

/// Private copies of PostgreSQL ledgers made for this run, removed when it exits.
enum PostgresCopy {
    nonisolated(unsafe) private static var folders: [String] = []

    static func open(_ text: String, withhold: Bool = false) throws -> Ledger {
        let url = try PostgresURL(text)
        var template = Array((NSTemporaryDirectory() + "/safeguard-pg-copy-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ValidationError("cannot make a private folder in \(NSTemporaryDirectory()) for the copy of \(url): set TMPDIR to a writable folder")
        }
        let folder = String(cString: made)
        if folders.isEmpty { atexit { for f in PostgresCopy.folders { try? FileManager.default.removeItem(atPath: f) } } }
        folders.append(folder)
        let progress = Progress("read from PostgreSQL:", json: false)
        defer { progress.finish() }
        return try PostgresLedger.copy(from: url, toNewFile: folder + "/ledger.sqlite", withhold: withhold) { progress.update($0) }
    }
}

/// `--server URL` (or $SAFEGUARD_SERVER): record through the log service instead of opening
/// the ledger file (docs/SERVICE.md).
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Record through the log service at this address (default: $SAFEGUARD_SERVER) instead of writing to a ledger file: the event is signed here and the service places and dates it.", valueName: "url"))
    var server: String?
    @Option(name: .customLong("log-pub"), help: ArgumentHelp("The log's public key (base64, or a .pub file) to check receipts against (default: $SAFEGUARD_LOG_PUB; otherwise the key the service names).", valueName: "key"))
    var logPub: String?

    /// The client, when a server is given.
    func client() throws -> LogClient? {
        let url = server ?? ProcessInfo.processInfo.environment["SAFEGUARD_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
        return try url.map { try LogClient(server: $0) }
    }

    /// Receipts checked against the key the service itself names prove little: says so.
    func warnIfNotPinned(_ pinned: PublicKey?, named: PublicKey) {
        guard pinned == nil else { return }
        Terminal.warning("receipts are checked against the log key the service names (\(named.keyID)); pin the partnership's log key with --log-pub or SAFEGUARD_LOG_PUB")
    }

    func pinnedLogKey() throws -> PublicKey? {
        guard let text = logPub ?? ProcessInfo.processInfo.environment["SAFEGUARD_LOG_PUB"], !text.isEmpty else { return nil }
        if let key = PublicKey(base64: text) { return key }
        return try KeyFiles.readPublic(text)
    }
}

/// `--json`: machine-readable output on stdout.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON (one object per line) for programs to read.")
    var json = false
}

/// `--key PATH` for commands that sign.
struct SignerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Your secret key file (from 'safeguard keys generate'). If it is passphrase-protected, the passphrase comes from $SAFEGUARD_PASSPHRASE or a prompt.", valueName: "path"), completion: .file())
    var key: String

    func load() throws -> SigningKey { try loadSigningKey(key) }
}

/// The agency key that opens sealed case details (docs/PRIVACY.md): `--agency-key`, or
/// `$SAFEGUARD_AGENCY_KEY`.
struct AgencyKeyOptions: ParsableArguments {
    @Option(name: .customLong("agency-key"), help: ArgumentHelp("Your agency's key file, when the ledger seals case details (default: $SAFEGUARD_AGENCY_KEY). Needed to record on a case your agency did not open now, and to read details.", valueName: "path"), completion: .file())
    var agencyKey: String?

    var path: String? { agencyKey ?? ProcessInfo.processInfo.environment["SAFEGUARD_AGENCY_KEY"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The agency key, if one was given.
    func load() throws -> SigningKey? { try path.map { try loadSigningKey($0) } }

    /// A keyring for an append: the agency key, if one was given.
    func keyring() throws -> CaseKeyring { CaseKeyring(agencyKey: try load()) }
}

/// Loads a secret key file, asking for its passphrase only if it is sealed. With
/// `rootPassphrase`, a sealed key must have a passphrase a root key may have (16 characters).
func loadSigningKey(_ path: String, rootPassphrase: Bool = false) throws -> SigningKey {
    let bytes = try KeyFiles.readSecret(path)
    var typed = Int.max
    let key = try KeyFile.decode(bytes, passphrase: {
        let p = try Passphrase.read(prompt: "Passphrase for \(path): ", confirm: false)
        typed = p.map(Passphrase.characters) ?? Int.max
        return p
    })
    guard !rootPassphrase || typed >= Passphrase.rootMinimum else {
        throw InputError("the root key \(path) has a passphrase of \(typed) characters; a root key needs at least \(Passphrase.rootMinimum): "
                         + "make one with 'safeguard keys generate --root' (nothing was written)")
    }
    return key
}

enum Clock {
    static func now() -> Timestamp { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
    /// How far ahead of this machine's clock another's may be: a record dated later than
    /// `latestCredible()` is refused by every verification this tool makes.
    static let skew: Int64 = 600
    static func latestCredible() -> Timestamp { Timestamp(seconds: now().seconds + skew) }
    static func newID() -> String { Sodium.uuid() }
}

/// Writes one line of canonical JSON (sorted members, no whitespace) to stdout.
func printJSON(_ value: JSONValue) {
    let bytes = (try? CanonicalJSON.encode(value)) ?? Array("{}".utf8)
    Swift.print(String(decoding: bytes, as: UTF8.self))
}

/// Reads at most `limit` bytes from a file or stdin ("-"); more is an error, found as soon as
/// it is read (so /dev/zero or an endless pipe costs `limit` bytes at most). With `maxLine`,
/// a line longer than that is an error as soon as it is seen.
func readInput(_ path: String, limit: Int, what: String, maxLine: Int? = nil) throws -> [UInt8] {
    let handle = try openInput(path, what: what)
    var data = [UInt8]()
    var lineStart = 0, lines = 1
    while true {
        let chunk = try handle.read(upToCount: 1 << 16) ?? Data()
        if chunk.isEmpty { break }
        data.append(contentsOf: chunk)
        if data.count > limit {
            throw InputError("\(what) is larger than \(limit >> 20) MiB: split it or attach large documents elsewhere")
        }
        if let maxLine {
            var i = data.count - chunk.count
            while let nl = data[i...].firstIndex(of: 0x0A) { lines += 1; lineStart = nl + 1; i = nl + 1 }
            if data.count - lineStart > maxLine {
                throw InputError("line \(lines) of the \(what) is larger than \(maxLine >> 20) MiB: each line holds one event of at most 1 MiB")
            }
        }
    }
    return data
}

/// Standard input for "-", else the file at `path` (not a folder).
func openInput(_ path: String, what: String) throws -> FileHandle {
    guard path != "-" else { return FileHandle.standardInput }
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue, let h = FileHandle(forReadingAtPath: path)
    else { throw InputError("cannot read \(what) file \(path): check the path") }
    return h
}

/// Whether `path` names a regular file (after symbolic links), which can be read twice: not
/// '-', a pipe, a terminal or /dev/stdin.
func isRegularFile(_ path: String) -> Bool {
    guard path != "-" else { return false }
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

/// Reads a JSON Lines input a chunk at a time (for `import`, whose input may be larger than
/// memory should hold): each `next()` is one line, without its newline, with its number.
final class LineReader: @unchecked Sendable {  // read from one thread at a time
    private let handle: FileHandle?
    private let what: String
    private let maxLine: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var number = 0

    init(_ path: String, what: String, maxLine: Int) throws {
        handle = try openInput(path, what: what)
        self.what = what
        self.maxLine = maxLine
    }

    /// Lines of an input already read (stdin, which cannot be read twice).
    init(bytes: [UInt8], what: String, maxLine: Int) {
        handle = nil
        buffer = bytes
        atEnd = true
        self.what = what
        self.maxLine = maxLine
    }

    /// The next line and its number (from 1), or nil at the end of the input.
    func next() throws -> (number: Int, line: ArraySlice<UInt8>)? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                defer { start = nl + 1 }
                number += 1
                return (number, buffer[start..<nl])
            }
            if buffer.count - start > maxLine {
                throw InputError("line \(number + 1) of the \(what) is larger than \(maxLine >> 20) MiB: each line holds one event of at most 1 MiB")
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                number += 1
                return (number, buffer[start...])
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = try handle?.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}

/// Reads a small file (a proof, a checkpoint, a note, a state file): at most `limit` bytes.
func readSmallFile(_ path: String, limit: Int = 1 << 20, what: String) throws -> [UInt8] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue, let handle = FileHandle(forReadingAtPath: path) else {
        throw InputError("cannot read \(what) '\(path)': check the path")
    }
    defer { try? handle.close() }
    let data = try handle.read(upToCount: limit + 1) ?? Data()
    guard data.count <= limit else { throw InputError("\(what) '\(path)' is over \(limit >> 20) MiB: check that it is the right file") }
    return [UInt8](data)
}

/// Refuses a case id that no event could carry (docs/FORMAT.md §3), so that a mistyped or
/// hostile value gets an error saying so instead of an empty answer.
func checkCaseID(_ id: String?, option: String = "--case") throws {
    guard let id else { return }
    do throws(Envelope.Invalid) { try Validate.caseID(id, field: option) } catch { throw ValidationError(error.description) }
}
