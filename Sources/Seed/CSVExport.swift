import Foundation
import HappeningCommandLine
import HappeningModel
import HappeningPostgres
import HappeningSystem

/// Writes the generated events as CSV (the columns of ``EventFactory/columns``), byte for byte the rows
/// the seeder would COPY, so `psql \copy` can be timed on exactly the same data.
struct CSVExport: Sendable {
    let events: EventFactory

    func writeEvents(count: Int, to path: String, progress: ProgressReporter) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let file = FileHandle(forWritingAtPath: path) else { throw UsageError("cannot write \(path)") }
        defer { try? file.close() }
        progress.begin("events.csv", total: count)
        var buffer = ""
        buffer.reserveCapacity(1 << 20)
        for index in 0..<count {
            let event = events.event(index)
            let fields: [String] = [
                uuid(event.id), uuid(event.createdBy), quoted(event.title), quoted(event.description),
                Self.timestamp(event.dateMicros), quoted(event.venue), String(event.totalTickets), String(event.totalTickets),
                Self.decimal(event.pricePaise, scale: 2), event.category.rawValue, quoted(event.imageURL),
                Self.timestamp(event.createdMicros), Self.timestamp(event.updatedMicros), event.isCancelled ? "t" : "f",
                event.approval, event.adminNotes.map(quoted) ?? "", event.approvedBy.map(uuid) ?? "",
                event.approvedAtMicros.map(Self.timestamp) ?? "",
                Self.decimal(event.latitudeMicro, scale: 6), Self.decimal(event.longitudeMicro, scale: 6),
            ]
            buffer += fields.joined(separator: ",")
            buffer += "\n"
            progress.add()
            if buffer.utf8.count > 1 << 20 {
                file.write(Data(buffer.utf8))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        file.write(Data(buffer.utf8))
        progress.end()
    }

    private func uuid(_ id: UUID) -> String { id.lowercasedText }
    private func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// `unscaled / 10^scale` in plain decimal notation.
    static func decimal(_ unscaled: Int64, scale: Int) -> String {
        var divisor: Int64 = 1
        for _ in 0..<scale { divisor *= 10 }
        let magnitude = unscaled.magnitude
        let fraction = String(magnitude % UInt64(divisor))
        return (unscaled < 0 ? "-" : "") + String(magnitude / UInt64(divisor)) + "." + String(repeating: "0", count: scale - fraction.count) + fraction
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00` for microseconds since 1970 (UTC; civil-from-days).
    static func timestamp(_ micros: Int64) -> String {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = micros - seconds * 1_000_000
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return String(
            format: "%04lld-%02lld-%02lld %02lld:%02lld:%02lld.%06lld+00", year, month, day,
            secondOfDay / 3600, secondOfDay % 3600 / 60, secondOfDay % 60, fraction)
    }
}
