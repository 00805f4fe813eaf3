import Foundation

/// An exact `numeric` value, kept as its decimal text: money is never a floating-point number.
///
/// Amounts are usually handled as integer minor units (paise for INR):
/// ```swift
/// let price: PostgresNumeric = try row.decode(0)     // "499.50"
/// let paise = try price.minorUnits(scale: 2)         // 49950
/// let total = PostgresNumeric(minorUnits: paise * 3, scale: 2)  // "1498.50"
/// ```
public struct PostgresNumeric: PostgresEncodable, PostgresDecodable, Hashable, CustomStringConvertible {
    /// Canonical text: optional `-`, integer digits without leading zeros, optional `.` and fraction digits.
    public let text: String

    /// Parses decimal text such as `12`, `-0.50`, `1234.5678`. Returns nil for anything else (also `NaN`).
    public init?(_ text: String) {
        var body = Substring(text)
        var negative = false
        if body.first == "-" {
            negative = true
            body = body.dropFirst()
        } else if body.first == "+" {
            body = body.dropFirst()
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        var integer = String(parts[0])
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard !(integer.isEmpty && fraction.isEmpty),
            integer.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            fraction.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 })
        else { return nil }
        while integer.count > 1 && integer.first == "0" { integer.removeFirst() }
        if integer.isEmpty { integer = "0" }
        let isZero = integer == "0" && fraction.utf8.allSatisfy { $0 == 48 }
        self.text = (negative && !isZero ? "-" : "") + integer + (fraction.isEmpty ? "" : "." + fraction)
    }

    /// The value `minorUnits / 10^scale`, e.g. `(49950, 2)` is `499.50`.
    public init(minorUnits: Int64, scale: Int) {
        precondition(scale >= 0 && scale <= 18, "scale out of range")
        let negative = minorUnits < 0
        let digits = String(minorUnits.magnitude)
        let padded = String(repeating: "0", count: max(0, scale + 1 - digits.count)) + digits
        let cut = padded.index(padded.endIndex, offsetBy: -scale)
        let body = scale == 0 ? padded : padded[..<cut] + "." + padded[cut...]
        self.init(negative && minorUnits != 0 ? "-" + body : String(body))!
    }

    /// Errors converting to minor units.
    public enum ConversionError: Error, Sendable {
        /// The value has more fraction digits (that are not zero) than the scale allows.
        case inexact
        /// The value does not fit in an `Int64` at that scale.
        case overflow
    }

    /// The value as an integer count of `10^-scale` units; throws if that would round or overflow.
    public func minorUnits(scale: Int) throws -> Int64 {
        var body = Substring(text)
        let negative = body.first == "-"
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        let integer = parts[0]
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        if fraction.count > scale {
            let extra = fraction.dropFirst(scale)
            guard extra.utf8.allSatisfy({ $0 == 48 }) else { throw ConversionError.inexact }
            fraction = String(fraction.prefix(scale))
        }
        fraction += String(repeating: "0", count: scale - fraction.count)
        guard let magnitude = Int64(integer + fraction) else { throw ConversionError.overflow }
        return negative ? -magnitude : magnitude
    }

    /// The same value as a Foundation `Decimal` (exact for up to 38 significant digits).
    public var decimal: Decimal { Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) ?? .nan }

    public var description: String { text }
    public var postgresText: String { text }
    public init?(postgresText: String) { self.init(postgresText) }
}

/// `timestamptz` (and `timestamp`, `date`, read as UTC). Sessions run with `TimeZone=UTC`; values keep
/// microsecond precision both ways.
extension Date: PostgresEncodable, PostgresDecodable {
    public var postgresText: String {
        if self == .distantFuture { return "infinity" }
        if self == .distantPast { return "-infinity" }
        let micros = Int64((timeIntervalSince1970 * 1_000_000).rounded())
        let (days, microOfDay) = micros.floorDivided(by: 86_400_000_000)
        let (year, month, day) = Self.civil(fromDays: days)
        let seconds = microOfDay / 1_000_000
        let fraction = microOfDay % 1_000_000
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(fraction, 6))+00:00"
    }

    public init?(postgresText: String) {
        if postgresText == "infinity" {
            self = .distantFuture
            return
        }
        if postgresText == "-infinity" {
            self = .distantPast
            return
        }
        let bytes = Array(postgresText.utf8)
        var index = 0
        func number(_ width: Int) -> Int64? {
            guard index + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + width] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += width
            return value
        }
        func expect(_ char: Character) -> Bool {
            guard index < bytes.count, bytes[index] == char.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else { return nil }
        var micros = Self.days(fromCivil: year, month, day) * 86_400_000_000
        if index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "T") {
            index += 1
            guard let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2) else { return nil }
            micros += ((hour * 60 + minute) * 60 + second) * 1_000_000
            if expect(".") {
                var scale: Int64 = 100_000
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                    micros += Int64(bytes[index] - 48) * scale
                    scale /= 10
                    index += 1
                }
            }
            if index < bytes.count {
                let sign: Int64
                switch bytes[index] {
                case UInt8(ascii: "+"): sign = 1
                case UInt8(ascii: "-"): sign = -1
                case UInt8(ascii: "Z"): sign = 0
                default: return nil
                }
                index += 1
                if sign != 0 {
                    guard let offsetHours = number(2) else { return nil }
                    var offset = offsetHours * 3600
                    if expect(":"), let offsetMinutes = number(2) { offset += offsetMinutes * 60 }
                    if expect(":"), let offsetSeconds = number(2) { offset += offsetSeconds }
                    micros -= sign * offset * 1_000_000
                }
            }
        }
        guard index == bytes.count else { return nil }
        self.init(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of ``days(fromCivil:_:_:)``.
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity, with a non-negative remainder.
    fileprivate func floorDivided(by divisor: Int64) -> (Int64, Int64) {
        let quotient = self / divisor
        let remainder = self % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}
