import Foundation
import SafeguardCore

/// Passphrases come from $SAFEGUARD_PASSPHRASE or a prompt on the terminal, never from the
/// command line (where `ps` and shell history would keep them). Typed passphrases go
/// straight into `SecretBytes`, so no copy is left in ordinary memory.
enum Passphrase {
    static let maxBytes = 1024
    /// The shortest passphrase a new key may have, in characters (a root key's: `rootMinimum`).
    static let minimum = 12
    static let rootMinimum = 16

    /// Characters (Unicode scalars) in `p`, counted in place: no copy leaves protected memory.
    static func characters(_ p: SecretBytes) -> Int {
        p.withUnsafeBytes { b in b.reduce(0) { $0 + (($1 & 0xC0) == 0x80 ? 0 : 1) } }
    }

    /// A passphrase for a new key: read as `read` does, then held to `minimum` characters.
    static func new(prompt: String, minimum: Int) throws -> SecretBytes? {
        guard let p = try read(prompt: prompt, confirm: true) else { return nil }
        guard characters(p) >= minimum else {
            throw InputError("the passphrase is \(characters(p)) characters long; a new \(minimum == rootMinimum ? "root " : "")key needs at least \(minimum) "
                             + "(a few unrelated words make a good one); nothing was written")
        }
        return p
    }

    /// `nil` when there is neither the variable nor a terminal to ask on.
    static func read(prompt: String, confirm: Bool) throws -> SecretBytes? {
        if let env = ProcessInfo.processInfo.environment["SAFEGUARD_PASSPHRASE"], !env.isEmpty {
            var bytes = Array(env.utf8)
            return SecretBytes(consuming: &bytes)
        }
        guard let first = ask(prompt) else { return nil }
        if confirm {
            guard let second = ask("Repeat the passphrase: ") else { return nil }
            guard first.constantTimeEquals(second) else { throw InputError("the two passphrases differ; nothing was written") }
        }
        guard first.count > 0 else {
            throw InputError(confirm ? "the passphrase is empty; use --unprotected for a key without one"
                                     : "no passphrase was typed; type the passphrase the key was created with")
        }
        return first
    }

    /// Reads a line from /dev/tty with echo off into protected memory; nil when there is no terminal.
    private static func ask(_ prompt: String) -> SecretBytes? {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var old = termios()
        guard tcgetattr(fd, &old) == 0 else { return nil }
        var quiet = old
        quiet.c_lflag &= ~tcflag_t(ECHO)
        _ = prompt.withCString { Foundation.write(fd, $0, strlen($0)) }
        tcsetattr(fd, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(fd, TCSAFLUSH, &old)
            _ = Foundation.write(fd, "\n", 1)
        }
        let buffer = SecretBytes(count: maxBytes)
        let n = buffer.withUnsafeMutableBytes { b -> Int in
            var n = 0
            while n < b.count, Foundation.read(fd, b.baseAddress! + n, 1) == 1, b[n] != 0x0A { n += 1 }
            return n
        }
        return buffer.prefix(n)
    }
}
