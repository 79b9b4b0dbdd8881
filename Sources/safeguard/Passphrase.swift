import Foundation
import SafeguardCore

/// Passphrases come from $SAFEGUARD_PASSPHRASE or a prompt on the terminal, never from the
/// command line (where `ps` and shell history would keep them).
enum Passphrase {
    static func read(prompt: String, confirm: Bool) throws -> SecretBytes? {
        if let env = ProcessInfo.processInfo.environment["SAFEGUARD_PASSPHRASE"], !env.isEmpty {
            var bytes = Array(env.utf8)
            return SecretBytes(consuming: &bytes)
        }
        guard let first = ask(prompt) else { return nil }
        if confirm {
            guard let second = ask("Repeat the passphrase: ") else { return nil }
            guard Sodium.constantTimeEqual(first, second) else { throw InputError("the two passphrases differ; nothing was written") }
        }
        guard !first.isEmpty else { throw InputError("the passphrase is empty; use --unprotected for a key without one") }
        var bytes = first
        return SecretBytes(consuming: &bytes)
    }

    /// Reads a line from /dev/tty with echo off; nil when there is no terminal.
    private static func ask(_ prompt: String) -> [UInt8]? {
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
        var out = [UInt8]()
        var c: UInt8 = 0
        while Foundation.read(fd, &c, 1) == 1, c != 0x0A, out.count < 1024 { out.append(c) }
        return out
    }
}
