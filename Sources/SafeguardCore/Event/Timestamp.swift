/// A moment in UTC, whole seconds, written as RFC 3339 `YYYY-MM-DDTHH:MM:SSZ` in the envelope.
public struct Timestamp: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.seconds < b.seconds }

    /// The envelope form, e.g. `2026-11-30T09:15:00Z`.
    public var description: String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secs = seconds - days * 86400
        let (y, m, d) = Self.civil(fromDays: days)
        guard (0...9999).contains(y) else {
            return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T"
                + pad(secs / 3600, 2) + ":" + pad(secs % 3600 / 60, 2) + ":" + pad(secs % 60, 2) + "Z"
        }
        // Written digit by digit: timestamps are formatted for every event folded or verified.
        return String(unsafeUninitializedCapacity: 20) { b in
            Self.writeDate(y, m, d, into: b)
            b[10] = 0x54  // T
            Self.digits(secs / 3600, 2, into: b, at: 11); b[13] = 0x3A
            Self.digits(secs % 3600 / 60, 2, into: b, at: 14); b[16] = 0x3A
            Self.digits(secs % 60, 2, into: b, at: 17); b[19] = 0x5A  // Z
            return 20
        }
    }

    /// The date part, `YYYY-MM-DD`.
    public var date: String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let (y, m, d) = Self.civil(fromDays: days)
        guard (0...9999).contains(y) else { return String(description.prefix(10)) }
        return String(unsafeUninitializedCapacity: 10) { b in
            Self.writeDate(y, m, d, into: b)
            return 10
        }
    }

    private static func writeDate(_ y: Int64, _ m: Int64, _ d: Int64, into b: UnsafeMutableBufferPointer<UInt8>) {
        digits(y, 4, into: b, at: 0); b[4] = 0x2D
        digits(m, 2, into: b, at: 5); b[7] = 0x2D
        digits(d, 2, into: b, at: 8)
    }

    private static func digits(_ v: Int64, _ width: Int, into b: UnsafeMutableBufferPointer<UInt8>, at: Int) {
        var v = v
        for k in stride(from: at + width - 1, through: at, by: -1) {
            b[k] = 0x30 + UInt8(v % 10)
            v /= 10
        }
    }

    /// Parses only the canonical envelope form (UTC, `Z`, whole seconds, years 1900-9999).
    public init?(canonical text: String) {
        guard text.utf8.count == 20, let t = Timestamp(rfc3339: text), t.description == text else { return nil }
        self = t
    }

    /// Parses RFC 3339 date-time as people and other systems write it: `Z` or a numeric
    /// offset (converted to UTC), optional fractional seconds (truncated to whole seconds).
    public init?(rfc3339 text: String) {
        let u = Array(text.utf8)
        func num(_ from: Int, _ len: Int) -> Int64? {
            guard from + len <= u.count else { return nil }
            var v: Int64 = 0
            for k in from..<(from + len) {
                guard u[k] >= 48, u[k] <= 57 else { return nil }
                v = v * 10 + Int64(u[k] - 48)
            }
            return v
        }
        guard u.count >= 20, let y = num(0, 4), u[4] == 45, let mo = num(5, 2), u[7] == 45, let d = num(8, 2),
            u[10] == 84 || u[10] == 116, let h = num(11, 2), u[13] == 58, let mi = num(14, 2), u[16] == 58,
            let s = num(17, 2)
        else { return nil }
        guard (1...9999).contains(y), (1...12).contains(mo), d >= 1, d <= Self.daysInMonth(y, mo), h < 24, mi < 60,
            s < 60
        else { return nil }
        var k = 19
        if k < u.count, u[k] == 46 {  // fractional seconds
            k += 1
            let f = k
            while k < u.count, u[k] >= 48, u[k] <= 57 { k += 1 }
            guard k > f else { return nil }
        }
        var offset: Int64 = 0
        guard k < u.count else { return nil }
        if u[k] == 90 || u[k] == 122 {  // Z
            k += 1
        } else if u[k] == 43 || u[k] == 45, let oh = num(k + 1, 2), k + 3 < u.count, u[k + 3] == 58, let om = num(k + 4, 2),
            oh < 24, om < 60
        {
            offset = (oh * 3600 + om * 60) * (u[k] == 45 ? -1 : 1)
            k += 6
        } else {
            return nil
        }
        guard k == u.count else { return nil }
        let utc = Self.days(fromCivil: y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset
        // The range applies to the UTC instant, which is what the envelope stores.
        guard (Self.minimum.seconds...Self.maximum.seconds).contains(utc) else { return nil }
        seconds = utc
    }

    /// 1900-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range an envelope may hold.
    public static let minimum = Timestamp(seconds: days(fromCivil: 1900, 1, 1) * 86400)
    public static let maximum = Timestamp(seconds: days(fromCivil: 9999, 12, 31) * 86400 + 86399)

    static func daysInMonth(_ y: Int64, _ m: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
    /// Days since 1970-01-01 of a proleptic Gregorian date.
    public static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The (year, month, day) of a day number.
    public static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}

private func pad(_ v: Int64, _ width: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}
