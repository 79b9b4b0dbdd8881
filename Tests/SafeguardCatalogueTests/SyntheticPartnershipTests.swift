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
}
