import ArgumentParser
import Foundation
import SafeguardCatalogue
import SafeguardCore
import SafeguardService
import SafeguardStore

extension Safeguard {
    struct Record: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record what you did or decided, in the toolkit's terms; says what the toolkit requires next.",
            discussion: """
                "All professionals should maintain clear records of contact with the child, their \
                concerns, all information shared and discussed and with whom, and decisions made and \
                actions taken" (toolkit §5). Each subcommand records one kind of event, checked when \
                you record it, signed with your key. Coded facts go in the flags; names and narrative \
                go in --note (kept apart from the facts statistics read).
                """,
            subcommands: [
                CaseOpen.self, CaseUpdate.self, CaseTransfer.self, CaseClose.self, CaseTransition.self, Contact.self, Screening.self,
                Referral.self, Decision.self, Share.self, Meeting.self, Missing.self, Disruption.self, Link.self, Action.self,
                Ack.self, Escalation.self, Correction.self,
            ])
    }
}

/// What every `record` subcommand takes.
struct RecordOptions: ParsableArguments {
    @OptionGroup var ledger: LedgerOptions
    @OptionGroup var server: ServerOptions
    @OptionGroup var signer: SignerOptions
    @OptionGroup var agency: AgencyKeyOptions
    @Option(name: .customLong("case"), help: ArgumentHelp("The case id, e.g. C-2026-0001.", valueName: "id"))
    var caseID: String
    @Option(help: ArgumentHelp("When it happened (RFC 3339, e.g. 2026-11-30T09:15:00Z or with +01:00); default now.", valueName: "time"))
    var at: String?
    @Option(help: ArgumentHelp("Narrative, names or other identifying detail (kept in details, apart from the coded facts).", valueName: "text"))
    var note: String?
    @Option(help: ArgumentHelp("It happened more than the policy's span (a year) before the case was opened: say why it is recorded now (kept in details).", valueName: "reason"))
    var historic: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try checkCaseID(caseID)
        do { try Validate.caseID(caseID, field: "--case") } catch { throw ValidationError(error.description) }
        if let at, Timestamp(rfc3339: at) == nil {
            throw ValidationError("--at must be an RFC 3339 time such as 2026-11-30T09:15:00Z")
        }
        if let historic, !Rules.isVisible(historic) {
            throw ValidationError("--historic needs a reason: say why an event from before the case is recorded now")
        }
    }

    var occurredAt: Timestamp { at.flatMap(Timestamp.init(rfc3339:)) ?? Clock.now() }

    func draft(_ type: String, _ facts: [String: JSONValue], details: [String: JSONValue] = [:]) -> EventDraft {
        var d = details, f = facts
        if let note { d["narrative"] = .string(note) }
        if let historic {
            f["historic"] = .bool(true)
            d["historic_reason"] = .string(historic)
        }
        return EventDraft(type: type, caseID: caseID, occurredAt: occurredAt, facts: f, details: d)
    }

    /// The flag that sets each fact, so that an error about a fact names what to type.
    static let flags: [String: String] = [
        "contact_type": "--how", "indicators": "--indicator", "vulnerabilities": "--vulnerability", "age_years": "--age",
        "practitioner_level": "--level", "rationale": "--rationale", "telephone_referral": "--follows", "missing_episode": "--episode",
        "mash_referral": "--mash-referral", "strategy_decision": "--strategy-decision", "to_agency": "--with or --to",
        "requested_by_agency": "--with", "from_agency": "--with", "scope": "--what", "lawful_basis": "--lawful-basis",
        "consent_sought": "--consent", "consent_given": "--consent", "consent_not_sought_reason": "--consent not-sought:REASON",
        "subject_informed": "--subject-told", "subject_not_informed_reason": "--subject-told no:REASON",
        "necessary_and_proportionate": "--necessary-and-proportionate", "identities_protected": "--identities-protected",
        "special_category_condition": "--special-category", "organised_complex_abuse": "--organised-abuse", "kind": "--kind or --early-help",
        "meeting_ref": "--ref", "action_ref": "--ref", "attendees": "--attended", "cases_discussed": "--cases", "reported_by": "--reported-by",
        "not_pursued_reason": "--reason", "target": "--ref", "link_kind": "--to", "owner_agency": "--owner", "due_date": "--due",
        "decision_event": "--decision", "with_agency": "--with", "escalation": "--escalation", "lessons_reported_to_mase": "--lessons-reported",
        "corrects_event": "--event", "birth_month": "--birth-month", "learning_disability": "--learning-disability",
        "looked_after": "--looked-after", "lead_agency": "--lead-agency", "police_cris_recorded": "--cris-number",
        "closed_despite": "--despite", "historic": "--historic", "strand": "--strand", "about": "--about", "channel": "--channel",
        "format": "--format", "gender": "--gender", "how": "--how", "outcome": "--outcome", "purpose": "--purpose", "reason": "--reason",
        "review_by": "--review-by", "status": "--status", "borough": "--borough",
    ]

    /// A refusal of the catalogue said as the practitioner typed it: the flag rather than the
    /// fact (`--strand is needed`, not `facts.strand: is missing`), and the values as the flag
    /// takes them (`face-to-face`, not `face_to_face`).
    static func inFlagTerms(field: String, problem: String) -> String {
        let fact = field.split(separator: ".").dropFirst().first.map { String($0.prefix { $0 != "[" && $0 != ":" }) } ?? ""
        guard field.hasPrefix("facts."), let flag = flags[fact] else { return "\(field): \(problem)" }
        if problem.hasPrefix("is missing") { return "\(flag) is needed" + problem.dropFirst("is missing".count).replacingOccurrences(of: "_", with: "-") }
        if problem.contains("is not an allowed value") || problem.contains("allowed:") {
            return "\(flag): " + problem.replacingOccurrences(of: "_", with: "-")
        }
        return "\(flag): \(problem)"
    }

    /// Appends the event and prints where it went and what the toolkit requires next.
    func record(_ draft: EventDraft, extra: [String] = []) throws {
        if let client = try server.client() { return try recordThrough(client, draft, extra: extra) }
        let l = try ledger.open(readOnly: false)
        let key = try signer.load()
        let written: StoredEntry
        var chosen: [String] = []
        let draft = try References.resolve(draft, in: l, agency: { try l.state().registry[key.publicKey.keyID]?.actor.agency }, chosen: &chosen)
        do {
            written = try l.append([draft], signers: [key], clock: Clock.now, newID: Clock.newID, keyring: try agency.keyring())[0]
        } catch LedgerError.invalidFacts(let e, _) {
            throw InputError(Self.inFlagTerms(field: e.field, problem: e.problem) + "; nothing was appended")
        }
        let practice = try CaseQueries.practice(l, caseID: caseID, knownOn: nil)
        let steps = practice.nextSteps(today: Day(london: Clock.now())), actions = practice.toolkitActions()
        let late = try lateRecordingWarning(l.policyDocument(), occurred: draft.occurredAt, recorded: written.recordedAt)
        if output.json {
            printJSON(["seq": .integer(written.seq), "event_id": .string(written.eventID), "type": .string(written.type),
                       "entry_hash": .string(Hex.encode(written.entryHash)),
                       "next_steps": .array(steps.map(CaseQueries.json)), "toolkit_actions": .array(actions.map(CaseQueries.json)),
                       "references_chosen": .array(chosen.map { .string($0) })])
            return
        }
        print("Recorded \(written.type) for \(caseID) as seq \(written.seq) (event \(written.eventID)).")
        for line in chosen { print(line) }
        for line in extra { print(line) }
        if let late { print(late) }
        for line in CaseQueries.stepLines(caseID, steps: steps, actions: actions) { print(line) }
    }
}

extension RecordOptions {
    /// R12 at the time of recording: a record made later than the policy allows says so.
    func lateRecordingWarning(_ policy: PolicyDocument, occurred: Timestamp, recorded: String) -> String? {
        guard let at = Timestamp(canonical: recorded) else { return nil }
        let days = policy.calendar.workingDays(from: Day(london: occurred), to: Day(london: at))
        guard days > policy.deadlines.lateRecording else { return nil }
        return "Late: recorded \(days) working days after it happened (the policy allows \(policy.deadlines.lateRecording)); the practice report lists it under R12."
    }

    /// `record --server`: signed here, placed and dated by the log service. The toolkit's next
    /// steps need the whole case, which the service does not send: 'safeguard case next' on a
    /// mirror ('safeguard mirror') gives them.
    func recordThrough(_ client: LogClient, _ draft: EventDraft, extra: [String]) throws {
        let key = try signer.load()
        var d = draft
        for field in (References.table[d.type] ?? [:]).keys.sorted() {
            if let v = d.facts[field]?.stringValue, !Validate.isUUID(v) {
                throw InputError("\(Self.flags[field] ?? field) \(v): through the log service give the full event id ('safeguard case show' on a mirror lists them)")
            }
        }
        // Without --at, "now" is this machine's clock, which may run ahead of the service's:
        // an event may not happen after the log records it.
        let log = try client.log()
        if at == nil { d.occurredAt = try LogClient.eventTime(local: d.occurredAt, service: log.now) }
        let pinned = try server.pinnedLogKey()
        server.warnIfNotPinned(pinned, named: log.logKey)
        let (receipt, envelope): (ServiceAPI.Receipt, Envelope)
        do {
            (receipt, envelope) = try client.submit([d], key: key, agencyKey: try agency.load(), logKey: pinned, log: log)[0]
        } catch let e as ServiceError where e.code == "refused" && e.message.hasPrefix("facts.") && e.message.contains(": ") {
            let colon = e.message.range(of: ": ")!
            throw InputError(Self.inFlagTerms(field: String(e.message[..<colon.lowerBound]), problem: String(e.message[colon.upperBound...])))
        }
        if output.json {
            printJSON(["seq": .integer(receipt.seq), "event_id": .string(receipt.eventID), "type": .string(receipt.type),
                       "occurred_at": .string(envelope.occurredAt.description), "recorded_at": .string(receipt.recordedAt), "entry_hash": .string(Hex.encode(receipt.entryHash))])
            return
        }
        print("Recorded \(envelope.type) for \(caseID) as seq \(receipt.seq) (event \(receipt.eventID)): happened \(envelope.occurredAt), recorded at \(receipt.recordedAt) by the log service.")
        for line in extra { print(line) }
    }
}

/// The agency codes of the built-in policy, for help texts.
let agencies = PolicyDocument.toolkit.permissions.agencies.joined(separator: ", ")

/// Splits comma-separated or repeated values.
func codes(_ values: [String]) -> [String] {
    values.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
}

func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

/// `--flag value` kebab-case in, the catalogue's snake_case code out.
func code(_ s: String) -> String { s.replacingOccurrences(of: "-", with: "_") }

extension Safeguard.Record {
    struct CaseOpen: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "case-open", abstract: "Open a case: a child or young person about whom there is a concern (or reopen a closed one).")
        @OptionGroup var r: RecordOptions
        @Option(name: .customLong("birth-month"), help: ArgumentHelp("Month of birth, YYYY-MM (ages are computed from it).", valueName: "YYYY-MM")) var birthMonth: String
        func validate() throws {
            guard Day.isMonth(birthMonth) else { throw ValidationError("--birth-month must be a month YYYY-MM") }
        }
        @Option(help: "female, male, non-binary or not-known.", completion: Choices.fact("case.opened", "gender")) var gender: String
        @Flag(name: .customLong("looked-after"), help: "The child is looked after (LAC).") var lookedAfter = false
        @Flag(name: .customLong("learning-disability"), help: "The young person has a learning disability.") var learningDisability = false
        @Option(help: ArgumentHelp("Borough of residence, as a code.", valueName: "code")) var borough: String
        @Option(name: .customLong("lead-agency"), help: ArgumentHelp("The agency leading on the case: \(agencies).", valueName: "agency"), completion: Choices.agency) var leadAgency: String?
        @Option(help: ArgumentHelp("The child's name (kept in details).", valueName: "name")) var name: String?

        func run() throws {
            var facts: [String: JSONValue] = ["birth_month": .string(birthMonth), "gender": .string(code(gender)), "looked_after": .bool(lookedAfter),
                                              "learning_disability": .bool(learningDisability), "borough": .string(borough)]
            if let leadAgency { facts["lead_agency"] = .string(leadAgency) }
            try r.record(r.draft("case.opened", facts, details: name.map { ["name": .string($0)] } ?? [:]))
        }
    }

    struct CaseUpdate: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "case-update", abstract: "Change a case's facts (only what changed).")
        @OptionGroup var r: RecordOptions
        @Option(name: .customLong("birth-month"), help: ArgumentHelp("Month of birth, YYYY-MM.", valueName: "YYYY-MM")) var birthMonth: String?
        func validate() throws {
            if let birthMonth, !Day.isMonth(birthMonth) { throw ValidationError("--birth-month must be a month YYYY-MM") }
        }
        @Option(help: "female, male, non-binary or not-known.", completion: Choices.fact("case.opened", "gender")) var gender: String?
        @Option(name: .customLong("looked-after"), help: "true or false.", completion: Choices.bool) var lookedAfter: Bool?
        @Option(name: .customLong("learning-disability"), help: "true or false.", completion: Choices.bool) var learningDisability: Bool?
        @Option(help: ArgumentHelp("Borough of residence code.", valueName: "code")) var borough: String?
        @Option(name: .customLong("lead-agency"), help: ArgumentHelp("The agency now leading.", valueName: "agency"), completion: Choices.agency) var leadAgency: String?
        @Option(name: .customLong("cris-number"), help: ArgumentHelp("The police CSE CRIS reference (police only; the number is kept in details, the facts record that there is one).", valueName: "ref")) var cris: String?

        func run() throws {
            var f: [String: JSONValue] = [:]
            if let birthMonth { f["birth_month"] = .string(birthMonth) }
            if let gender { f["gender"] = .string(code(gender)) }
            if let lookedAfter { f["looked_after"] = .bool(lookedAfter) }
            if let learningDisability { f["learning_disability"] = .bool(learningDisability) }
            if let borough { f["borough"] = .string(borough) }
            if let leadAgency { f["lead_agency"] = .string(leadAgency) }
            if cris != nil { f["police_cris_recorded"] = true }
            try r.record(r.draft("case.updated", f, details: cris.map { ["police_cris_number": .string($0)] } ?? [:]))
        }
    }

    struct CaseTransfer: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "case-transfer", abstract: "Transfer the case to another agency or area.")
        @OptionGroup var r: RecordOptions
        @Option(name: .customLong("to"), help: ArgumentHelp("The agency taking the case: \(agencies).", valueName: "agency"), completion: Choices.agency) var to: String
        @Option(help: "moved-area, lead-changed, service-ended or other.", completion: Choices.fact("case.transferred", "reason")) var reason: String
        func run() throws { try r.record(r.draft("case.transferred", ["to_agency": .string(to), "reason": .string(code(reason))])) }
    }

    struct CaseClose: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "case-close", abstract: "Close the case.",
            discussion: """
                A case with an escalation not yet resolved, or MASE decisions an agency has not \
                acknowledged, is closed only with --despite saying why (kept in the details): \
                closing does not end those exceptions (R7, R15).
                """)
        @OptionGroup var r: RecordOptions
        @Option(help: "risk-reduced, no-cse-concerns, moved-out-of-area, transferred-to-adult-services or other.", completion: Choices.fact("case.closed", "reason")) var reason: String
        @Option(help: ArgumentHelp("Close although escalations are open or MASE decisions unacknowledged: say why.", valueName: "reason")) var despite: String?

        func run() throws {
            var facts: [String: JSONValue] = ["reason": .string(code(reason))], details: [String: JSONValue] = [:]
            if let despite {
                guard Rules.isVisible(despite) else { throw ValidationError("--despite needs a reason: say why the case closes with these open") }
                facts["closed_despite"] = .bool(true)
                details["closed_despite_reason"] = .string(despite)
            }
            try r.record(r.draft("case.closed", facts, details: details))
        }
    }

    struct CaseTransition: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "case-transition", abstract: "Record the transition at 18: a plan or referral to adult services (§7 principle 9).")
        @OptionGroup var r: RecordOptions
        @Option(help: "adult-social-care-referral, transition-plan-agreed, leaving-care-support or no-further-support.", completion: Choices.fact("case.transition", "plan")) var plan: String
        func run() throws { try r.record(r.draft("case.transition", ["plan": .string(code(plan))])) }
    }

    struct Contact: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record contact with or about the child, and the concerns noticed (risk indicators S1-S7, A1-A19; vulnerabilities V1-V5).")
        @OptionGroup var r: RecordOptions
        @Option(name: .customLong("how"), help: "face-to-face, phone, online or about-child (contact about the child, not with them).", completion: Choices.fact("contact.recorded", "contact_type")) var how: String
        @Option(name: .customLong("indicator"), help: ArgumentHelp("A risk indicator noticed (repeat, or comma-separate), e.g. A2,A9; 'safeguard codes' lists them.", valueName: "code"), completion: Choices.indicators) var indicators: [String] = []
        @Option(name: .customLong("vulnerability"), help: ArgumentHelp("A vulnerability factor noticed, V1-V5.", valueName: "code"), completion: Choices.vulnerabilities) var vulnerabilities: [String] = []
        func run() throws {
            var f: [String: JSONValue] = ["contact_type": .string(code(how))]
            if !indicators.isEmpty { f["indicators"] = strings(codes(indicators)) }
            if !vulnerabilities.isEmpty { f["vulnerabilities"] = strings(codes(vulnerabilities)) }
            try r.record(r.draft("contact.recorded", f))
        }
    }
}
