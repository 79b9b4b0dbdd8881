import ArgumentParser
import Foundation
import SafeguardCore
import SafeguardStore

/// `--ledger PATH`, defaulting to $SAFEGUARD_LEDGER.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The ledger file (default: $SAFEGUARD_LEDGER).", valueName: "path"))
    var ledger: String?

    func path() throws -> String {
        if let ledger, !ledger.isEmpty { return ledger }
        if let env = ProcessInfo.processInfo.environment["SAFEGUARD_LEDGER"], !env.isEmpty { return env }
        throw ValidationError("no ledger given: pass --ledger PATH or set SAFEGUARD_LEDGER")
    }

    func open(readOnly: Bool) throws -> Ledger { try Ledger.open(at: try path(), readOnly: readOnly) }
}

/// `--json`: machine-readable output on stdout.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON (one object per line) for programs to read.")
    var json = false
}

/// `--key PATH` for commands that sign.
struct SignerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Your secret key file (from 'safeguard keys generate'). If it is passphrase-protected, the passphrase comes from $SAFEGUARD_PASSPHRASE or a prompt.", valueName: "path"))
    var key: String

    func load() throws -> SigningKey { try loadSigningKey(key) }
}

/// Loads a secret key file, asking for its passphrase only if it is sealed.
func loadSigningKey(_ path: String) throws -> SigningKey {
    let bytes = try KeyFiles.readSecret(path)
    return try KeyFile.decode(bytes, passphrase: { try Passphrase.read(prompt: "Passphrase for \(path): ", confirm: false) })
}

enum Clock {
    static func now() -> Timestamp { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
    static func newID() -> String { Sodium.uuid() }
}

/// Writes one line of canonical JSON (sorted members, no whitespace) to stdout.
func printJSON(_ value: JSONValue) {
    let bytes = (try? CanonicalJSON.encode(value)) ?? Array("{}".utf8)
    print(String(decoding: bytes, as: UTF8.self))
}

/// Reads at most `limit` bytes from a file or stdin ("-"); more is an error.
func readInput(_ path: String, limit: Int, what: String) throws -> [UInt8] {
    let handle: FileHandle
    if path == "-" {
        handle = FileHandle.standardInput
    } else {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
            let h = FileHandle(forReadingAtPath: path)
        else { throw InputError("cannot read \(what) file \(path): check the path") }
        handle = h
    }
    var data = [UInt8]()
    while true {
        let chunk = try handle.read(upToCount: 1 << 16) ?? Data()
        if chunk.isEmpty { break }
        data.append(contentsOf: chunk)
        if data.count > limit {
            throw InputError("\(what) is larger than \(limit >> 20) MiB: split it or attach large documents elsewhere")
        }
    }
    return data
}
