import SafeguardCatalogue
import XCTest

/// Table-driven tests of the suggested level (DOMAIN.md "Risk levels and the suggested level").
final class LevelTests: XCTestCase {
    let policy = PolicyDocument.toolkit

    func level(_ marks: [Screening.Mark], age: Int = 15, ld: Bool = false, v: [String] = []) -> LevelSuggestion {
        LevelSuggestion.suggest(Screening(indicators: marks, vulnerabilities: v, ageYears: age, learningDisability: ld), policy: policy)
    }

    /// Every indicator on its own, marked current, at 15 without a learning disability: the
    /// level of its threshold column (the toolkit's supplementary descriptors).
    func testEveryIndicatorAloneGivesItsColumnsLevel() {
        let expected: [String: RiskLevel] = [
            "S1": .significant, "S2": .significant, "S3": .significant, "S4": .significant, "S5": .significant,
            "S6": .significant, "S7": .significant,
            "A1": .medium, "A2": .medium, "A3": .medium, "A4": .medium, "A5": .significant, "A6": .medium, "A7": .medium,
            "A8": .medium, "A9": .medium, "A10": .medium, "A11": .medium, "A12": .significant, "A13": .significant,
            "A14": .medium, "A15": .significant, "A16": .significant, "A17": .significant, "A18": .medium, "A19": .significant,
        ]
        XCTAssertEqual(Set(expected.keys), Set(policy.indicatorOrder), "the table covers every indicator of the policy")
        for (code, want) in expected {
            let timing: Screening.Timing? = code.hasPrefix("S") ? .current : nil
            let s = level([.init(code, timing)])
            XCTAssertEqual(s.level, want, code)
            XCTAssertTrue(s.reasons.first?.hasPrefix(code) == true, "\(code): \(s.reasons)")
        }
        // Acute column indicators are urgent: telephone MASH first.
        for code in ["A5", "A12", "A13", "A16", "A19"] { XCTAssertTrue(level([.init(code)]).urgent, code) }
        for code in ["S1", "A15", "A17", "A2"] { XCTAssertFalse(level([.init(code, code.hasPrefix("S") ? .current : nil)]).urgent, code) }
    }

    func testPriorOnlyIndicatorsCountAsAdditionalAtMost() {
        for code in ["S1", "S2", "S3", "S4", "S5", "S6", "S7"] {
            let s = level([.init(code, .prior)])
            XCTAssertEqual(s.level, .medium, code)
            XCTAssertTrue(s.reasons[0].contains("prior"), s.reasons[0])
        }
        XCTAssertEqual(level([.init("A12", .prior)]).level, .medium)
        XCTAssertFalse(level([.init("A12", .prior)]).urgent)
        // Prior does not lower an indicator already at or below the cap.
        XCTAssertEqual(level([.init("A2", .prior)]).level, .medium)
        // A current indicator still decides.
        XCTAssertEqual(level([.init("S1", .prior), .init("S3", .current)]).level, .significant)
    }

    func testUnderThirteenWithAnyIndicatorIsSignificant() {
        for (age, want) in [(9, RiskLevel.significant), (12, .significant), (13, .medium), (16, .medium)] {
            let s = level([.init("A2")], age: age)
            XCTAssertEqual(s.level, want, "age \(age)")
            XCTAssertEqual(s.reasons.contains { $0.contains("under 13") }, age < 13, "age \(age)")
        }
        XCTAssertEqual(level([.init("S1", .prior)], age: 11).level, .significant)
        XCTAssertEqual(level([], age: 10).level, RiskLevel.none, "no indicator: none, whatever the age")
    }

    func testLearningDisabilityWithAnyIndicatorIsSignificant() {
        XCTAssertEqual(level([.init("A9")], ld: true).level, .significant)
        XCTAssertTrue(level([.init("A9")], ld: true).reasons.contains { $0.contains("learning disability") })
        XCTAssertEqual(level([], ld: true).level, RiskLevel.none)
    }

    func testVulnerabilitiesNeverRaiseTheLevel() {
        let s = level([], v: ["V1", "V2", "V3", "V4", "V5"])
        XCTAssertEqual(s.level, RiskLevel.none)
        XCTAssertTrue(s.reasons.joined().contains("never raise"))
        XCTAssertEqual(level([.init("A2")], v: ["V4"]).level, .medium)
    }

    func testHighestColumnWinsAndEachRaiseIsExplained() {
        let s = level([.init("A2"), .init("S5", .current), .init("A9")])
        XCTAssertEqual(s.level, .significant)
        XCTAssertEqual(s.reasons.count, 2)  // A2 raised to medium, S5 to significant; A9 changed nothing
    }
}

/// Working-day deadline arithmetic across weekends and England & Wales bank holidays.
final class CalendarTests: XCTestCase {
    let cal = PolicyDocument.toolkit.calendar

    func d(_ s: String) -> Day { Day(iso: s)! }

    func testWeekdays() {
        XCTAssertEqual(d("2026-11-30").weekday, 1)  // Monday
        XCTAssertEqual(d("2026-12-06").weekday, 7)
        XCTAssertEqual(d("2026-12-01").spoken, "Tue 1 Dec 2026")
    }

    func testDeadlines() {
        let cases: [(start: String, days: Int, due: String, why: String)] = [
            ("2026-11-30", 1, "2026-12-01", "Monday + 1"),
            ("2026-11-30", 0, "2026-11-30", "same working day"),
            ("2026-12-04", 1, "2026-12-07", "Friday + 1 skips the weekend"),
            ("2026-12-05", 0, "2026-12-07", "Saturday: same working day is Monday"),
            ("2026-12-06", 1, "2026-12-07", "Sunday + 1 is Monday, the first working day after"),
            ("2026-11-30", 10, "2026-12-14", "Family CAF: two weeks"),
            ("2026-12-24", 1, "2026-12-29", "Christmas Day (Fri) and Boxing Day substitute (Mon 28) skipped"),
            ("2026-12-23", 10, "2027-01-11", "over Christmas and New Year (three bank holidays)"),
            ("2027-12-24", 1, "2027-12-29", "2027: both Christmas substitutes (27, 28)"),
            ("2026-04-02", 1, "2026-04-07", "Easter 2026: Good Friday 3 Apr and Easter Monday 6 Apr"),
            ("2026-04-03", 0, "2026-04-07", "Good Friday itself is not a working day"),
            ("2027-03-25", 2, "2027-03-31", "Easter 2027 falls in March"),
            ("2026-08-28", 1, "2026-09-01", "summer bank holiday 31 Aug 2026"),
            ("2028-12-31", 0, "2029-01-01", "no list for 2029 yet: New Year's Day counts as working"),
        ]
        for c in cases {
            XCTAssertEqual(cal.adding(workingDays: c.days, to: d(c.start)), d(c.due), c.why)
        }
    }

    func testMonthsShiftClampsToMonthEnd() {
        XCTAssertEqual(Age.shiftMonths("2026-08-31", by: 6), "2027-02-28")
        XCTAssertEqual(Age.shiftMonths("2027-05-01", by: -6), "2026-11-01")
        XCTAssertEqual(Age.shiftMonths("2023-12-31", by: 2), "2024-02-29")
    }

    func testWorkingDaysBetween() {
        XCTAssertEqual(cal.workingDays(from: d("2026-12-01"), to: d("2026-12-08")), 5)
        XCTAssertEqual(cal.workingDays(from: d("2026-12-24"), to: d("2026-12-29")), 1)
        XCTAssertEqual(cal.workingDays(from: d("2026-12-08"), to: d("2026-12-01")), -5)
    }

    func testLondonDates() {
        // 23:30 UTC on a summer evening is already the next day in London.
        XCTAssertEqual(Day(london: Timestamp(rfc3339: "2026-07-01T23:30:00Z")!), d("2026-07-02"))
        XCTAssertEqual(Day(london: Timestamp(rfc3339: "2026-12-01T23:30:00Z")!), d("2026-12-01"))
        XCTAssertEqual(Day(london: Timestamp(rfc3339: "2026-03-29T00:59:00Z")!), d("2026-03-29"))
        XCTAssertEqual(Day(london: Timestamp(rfc3339: "2026-10-24T23:30:00Z")!), d("2026-10-25"))
    }

    func testAges() {
        XCTAssertEqual(Age.youngest(birthMonth: "2013-12", on: d("2026-12-15")), 12, "birthday may be on 31 Dec")
        XCTAssertEqual(Age.youngest(birthMonth: "2013-12", on: d("2027-01-01")), 13)
        XCTAssertEqual(Age.youngest(birthMonth: "2010-03", on: d("2026-11-30")), 16)
        XCTAssertEqual(Age.earliestEighteenth(birthMonth: "2009-05"), d("2027-05-01"))
        XCTAssertEqual(Age.eighteenth(birthMonth: "2009-05"), d("2027-05-31"), "the latest it can be: no one is called an adult early")
        XCTAssertEqual(Age.eighteenth(birthMonth: "2010-02"), d("2028-02-29"))
    }
}

import SafeguardCore
