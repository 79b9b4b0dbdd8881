import ArgumentParser
import Foundation
import SafeguardCatalogue
import SafeguardCore
import SafeguardStore

/// Reading sealed details (docs/PRIVACY.md): the reader says why, and the reading is recorded
/// as a signed `access.consulted` event before anything is opened.
struct ConsultOptions: ParsableArguments {
    @OptionGroup var agency: AgencyKeyOptions
    @Option(name: .customLong("reader-key"), help: ArgumentHelp("Your secret key file, when the details are sealed: the reading is recorded, signed by you, before they are opened.", valueName: "path"), completion: .file())
    var readerKey: String?
    @Option(help: ArgumentHelp("Why you read sealed details: \(ConsultOptions.purposes.map { $0.replacingOccurrences(of: "_", with: "-") }.joined(separator: ", ")).", valueName: "purpose"))
    var purpose: String?

    static let purposes: [String] = {
        guard case .oneOf(let values)? = Catalogue.specs["access.consulted"]?.fields.first(where: { $0.name == "purpose" })?.kind else { return [] }
        return values
    }()

    func validate() throws {
        if let purpose, !Self.purposes.contains(purpose.replacingOccurrences(of: "-", with: "_")) {
            throw ValidationError("--purpose must be one of \(Self.purposes.map { $0.replacingOccurrences(of: "_", with: "-") }.joined(separator: ", "))")
        }
    }

    /// The details of `rows` (all of case `caseID`): those in the clear as they are; sealed
    /// ones only after the reading is recorded, opened with the agency key. Tells the reader,
    /// on standard error, what was recorded.
    func details(of rows: [StoredEntry], caseID: String, ledger: LedgerOptions) throws -> [Int64: [String: JSONValue]] {
        // Only records the signed envelopes commit to are shown or opened: a record changed in
        // the file is named, not shown ('safeguard verify' reports it too).
        if let altered = rows.first(where: { $0.details != nil && !$0.detailsAreCommitted }) {
            throw InputError("the details record of seq \(altered.seq) is not the one its signed event commits to: the file was altered; run 'safeguard verify' and restore it from a backup (nothing was shown or recorded)")
        }
        var out: [Int64: [String: JSONValue]] = [:]
        for row in rows where row.details?.isSealed == false {
            if let d = try? row.details?.open() { out[row.seq] = d }
        }
        let sealed = rows.filter { $0.details?.isSealed == true }
        guard !sealed.isEmpty else { return out }
        let choices = Self.purposes.map { $0.replacingOccurrences(of: "_", with: "-") }.joined(separator: ", ")
        guard let purpose = purpose?.replacingOccurrences(of: "-", with: "_") else {
            throw InputError("\(caseID)'s details are sealed: say why you read them with --purpose (\(choices)); the reading is recorded before they are opened")
        }
        guard let readerKey else {
            throw InputError("\(caseID)'s details are sealed: give your own key with --reader-key FILE, to sign the record of this reading made before they are opened")
        }
        guard let agencyKey = try agency.load() else {
            throw InputError("\(caseID)'s details are sealed: give your agency's key with --agency-key FILE (or $SAFEGUARD_AGENCY_KEY)")
        }
        let l = try ledger.open(readOnly: false)
        // The agency key is checked before anything is recorded.
        do { _ = try l.agency(of: agencyKey) } catch let r as CaseKeyring.Refusal { throw InputError("\(r.description): nothing was recorded or opened") }
        let signer = try loadSigningKey(readerKey)
        let draft = EventDraft(type: "access.consulted", caseID: caseID, occurredAt: Clock.now(),
                               facts: ["records": .array(sealed.map { .string($0.eventID) }), "purpose": .string(purpose)])
        let written: StoredEntry
        do {
            written = try l.append([draft], signers: [signer], clock: Clock.now, newID: Clock.newID, keyring: CaseKeyring(agencyKey: agencyKey))[0]
        } catch LedgerError.rejected(.formatDowngrade(_, 3), _) {
            throw InputError("this ledger is written by the log service, so the reading must be recorded through it: 'safeguard case read \(caseID) --server URL' (nothing was recorded or opened)")
        } catch let e as LedgerError {
            throw InputError("the reading could not be recorded, so nothing was opened: \(e.reason)")
        }
        FileHandle.standardError.write(Data("Recorded your reading of \(sealed.count) sealed records of \(caseID) (purpose \(purpose)) as seq \(written.seq); 'safeguard audit access' lists every reading.\n".utf8))
        let opened = try l.openDetails(sealed, agencyKey: agencyKey)
        out.merge(opened) { a, _ in a }
        return out
    }
}
