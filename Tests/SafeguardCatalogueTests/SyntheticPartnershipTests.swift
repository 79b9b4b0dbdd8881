import SafeguardCatalogue
import SafeguardCore
import XCTest

/// The synthetic generator behind `safeguard demo seed` and the benchmarks.
final class SyntheticPartnershipTests: XCTestCase {
    /// At the densest rate (`demo seed --events 10000000` over a year gives a recording every
    /// 3 seconds), no event is recorded before it happens, and recording times never go back.
    /// A chain of events each at least a minute after the one it follows once ran ahead of the
    /// simulated clock, so a 10M-event seed stopped with "occurred_at is later than recorded_at".
    func testNoEventIsRecordedBeforeItHappensAtTheDensestRate() {
        var g = SyntheticPartnership(seed: 1, start: Timestamp(rfc3339: "2025-11-01T12:00:00Z")!, meanGapSeconds: 3)
        var last = Int64.min
        for n in 0..<300_000 {
            let item = g.next()
            guard item.draft.occurredAt.seconds <= item.recordedAt.seconds, item.recordedAt.seconds >= last else {
                return XCTFail("item \(n) (\(item.draft.type)): occurred \(item.draft.occurredAt), recorded \(item.recordedAt), previous recording at \(last)")
            }
            last = item.recordedAt.seconds
        }
    }

    /// Every event the generator emits is one the catalogue accepts, in recording order, checked
    /// in process by the rules append and verification apply (`Catalogue.validate` over a
    /// verifier's `VerifiedView`), without a ledger. In particular a case the generator closes
    /// without `closed_despite` has no escalation open and no MASE decision unacknowledged: a
    /// case's two escalations were once counted as one (their ids shared their first 8 hex
    /// digits), so resolving the second took the first for resolved too, and
    /// `demo seed --events 1000000 --seed 1 --end 2026-12-05T12:00:00Z` was refused at
    /// C-0000-5173 after 285,000 events. These seeds and rates reach such a case within
    /// 20,000 events.
    func testEveryEventIsOneTheCatalogueAccepts() {
        let start = Timestamp(rfc3339: "2025-11-11T04:53:21Z")!
        for (seed, gap, events) in [(27 as UInt64, 3153, 10_000), (19, 1051, 20_000)] {
            var generator = SyntheticPartnership(seed: seed, start: start, meanGapSeconds: gap)
            var summaries: [String: EventSummary] = [:]
            let view = VerifiedView(cases: CaseBook(), events: { summaries[$0] })
            for n in 0..<events {
                let item = generator.next()
                let d = item.draft
                do {
                    try Catalogue.validate(d, agency: item.agency, now: item.recordedAt, policy: .toolkit, context: view)
                } catch {
                    return XCTFail("seed \(seed), gap \(gap) s: event \(n) (\(d.type) of \(d.caseID ?? "no case")) refused: \(error)")
                }
                let e = Envelope(format: 1, seq: Int64(n + 1), eventID: d.eventID!, type: d.type, caseID: d.caseID, occurredAt: d.occurredAt,
                                 recordedAt: item.recordedAt, actor: Actor(agency: item.agency, role: "practitioner", practitioner: "synthetic", keyID: item.agency),
                                 prevHash: [], facts: d.facts, details: .inline(d.details))
                view.accept(e)
                summaries[e.eventID] = EventSummary(e)
            }
        }
    }
}
