import ArgumentParser
import Foundation
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

@main
struct Safeguard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "safeguard",
        abstract: "A tamper-evident ledger of multi-agency child safeguarding records.",
        discussion: """
            Every event is signed by the recording agency's enrolled key and chained to the one \
            before it, so an auditor holding only the partnership's root public key can prove \
            that nothing was changed, removed, reordered or forged; signed checkpoints of the log's \
            Merkle tree, kept by auditors and cosigned by witnesses, show that nothing was cut off \
            or rewritten since.

            The ledger file is --ledger PATH or $SAFEGUARD_LEDGER. A writer waits up to \
            $SAFEGUARD_LOCK_TIMEOUT seconds (default 30) for others to finish before giving up. A record is dated by \
            this machine's clock, which may not be behind the ledger's last record, nor more than 31 days ahead of it \
            unless $SAFEGUARD_ALLOW_CLOCK_JUMP=1 (a ledger not written to for that long).

            Exit codes: 0 success; \
            1 verification failed (the ledger, a proof, a checkpoint or a bundle does not hold); 2 usage error; 3 input refused (event, key \
            or passphrase), nothing written; 4 the ledger or a file could not be used.
            """,
        version: "safeguard 0.17 (ledger file format 5, audit state format \(AuditState.formatVersion), built-in toolkit policy version \(ToolkitPolicy.version))",
        subcommands: [Init.self, Keys.self, PolicyCommand.self, Record.self, Case.self, Project.self, Audit.self, ReportCommand.self, Retention.self, Append.self, Import.self, Log.self, Head.self, CheckpointCommand.self, Prove.self, CheckProof.self, Witness.self, Evidence.self, Verify.self, Serve.self, MirrorCommand.self, Migrate.self, Export.self, DoctorCommand.self, Types.self, Codes.self, Schema.self, Demo.self]
    )

    static func main() {
        do {
            if let text = ProcessInfo.processInfo.environment["SAFEGUARD_LOCK_TIMEOUT"], !text.isEmpty {
                guard let seconds = TimeInterval(text), seconds > 0, seconds <= 3600 else {
                    throw ValidationError("SAFEGUARD_LOCK_TIMEOUT must be a number of seconds between 0 and 3600, e.g. 30")
                }
                Ledger.lockTimeout = seconds
            }
            // This machine's clock dates every record: refuse one implausibly far ahead of the ledger.
            if ProcessInfo.processInfo.environment["SAFEGUARD_ALLOW_CLOCK_JUMP"].map({ $0.isEmpty || $0 == "0" }) ?? true {
                Ledger.maxClockJumpDays = 31
            }
            var command = try parseAsRoot()
            try command.run()
        } catch {
            Foundation.exit(report(error))
        }
    }

    /// Prints `error` as one line on stderr (or help on stdout) and returns the exit code.
    static func report(_ error: Error) -> Int32 {
        if let code = ExitStatus.code(for: error) {
            Terminal.error("error: " + ExitStatus.message(for: error))
            return code
        }
        let code = exitCode(for: error)
        if code == .success {
            print(fullMessage(for: error))
            return 0
        }
        if let exit = error as? ExitCode { return exit.rawValue }
        // Usage errors: one line, pointing at --help (argument-parser's own text spans several).
        let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
        Terminal.error("error: \(text) (see --help)")
        return ExitStatus.usage
    }
}
