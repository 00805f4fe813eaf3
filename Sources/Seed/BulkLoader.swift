import Foundation
import HappeningCommandLine
import HappeningPostgres
import HappeningSystem

/// A COPY source made of a row-writing function, which also counts progress and honours Ctrl-C.
struct RowSource: PostgresCopySource {
    let interruption: Interruption
    let progress: ProgressReporter
    let write: @Sendable (Int, inout PostgresCopyWriter) -> Void

    func writeRow(_ index: Int, to writer: inout PostgresCopyWriter) throws {
        if index & 255 == 0 { try interruption.check() }
        write(index, &writer)
        progress.add()
    }
}

/// How one table's load went.
struct TableLoad: Sendable, Codable, Equatable {
    var table: String
    var rows: Int
    var seconds: Double
    var rows_per_second: Int
}

/// Loads generated rows with binary COPY, `batchSize` rows per statement. Each batch commits on its own,
/// so an interrupted run keeps whole batches only.
struct BulkLoader: Sendable {
    let postgres: PostgresClient
    let interruption: Interruption
    let progress: ProgressReporter
    let batchSize: Int

    /// Copies rows `0..<count`. Returns the rows committed (fewer when interrupted).
    func load(
        table: String, columns: [String], count: Int, label: String? = nil,
        write: @escaping @Sendable (Int, inout PostgresCopyWriter) -> Void
    ) async throws -> TableLoad {
        let source = RowSource(interruption: interruption, progress: progress, write: write)
        progress.begin(label ?? table, total: count)
        let started = ContinuousClock.now
        var committed = 0
        do {
            while committed < count {
                try interruption.check()
                let batch = committed..<min(count, committed + batchSize)
                try await postgres.withConnection { connection in
                    _ = try await connection.copyBinary(table: table, columns: columns, rows: batch, from: source)
                }
                committed = batch.upperBound
            }
        } catch is Interruption.Interrupted {}
        progress.end()
        return Self.result(table, rows: committed, since: started)
    }

    /// Loads bookings and their payments batch by batch; each batch's transaction also takes the batch's
    /// tickets off `events.available_tickets`, so the ledger holds after every commit.
    func loadBookings(_ planner: BookingPlanner, ledger: BookingPlanner.Ledger) async throws -> [TableLoad] {
        let count = ledger.statuses.count
        let statuses = ledger.statuses
        let payments = ledger.paymentBookings
        let bookingSource = RowSource(interruption: interruption, progress: progress) { index, writer in
            planner.writeBooking(index, status: statuses[index], to: &writer)
        }
        let paymentSource = RowSource(interruption: interruption, progress: ProgressReporter(style: .none)) { index, writer in
            planner.writePayment(payments[index], status: statuses[payments[index]], to: &writer)
        }
        progress.begin("bookings+payments", total: count)
        let started = ContinuousClock.now
        var committed = 0
        var paymentsCommitted = 0
        do {
            while committed < count {
                try interruption.check()
                let batch = committed..<min(count, committed + batchSize)
                let paymentRange = lowerBound(payments, batch.lowerBound)..<lowerBound(payments, batch.upperBound)
                let held = planner.heldTickets(bookings: batch, statuses: statuses)
                try await postgres.withTransaction { connection in
                    _ = try await connection.copyBinary(table: "bookings", columns: BookingPlanner.bookingColumns, rows: batch, from: bookingSource)
                    if !paymentRange.isEmpty {
                        _ = try await connection.copyBinary(table: "payments", columns: BookingPlanner.paymentColumns, rows: paymentRange, from: paymentSource)
                    }
                    if !held.isEmpty {
                        let ids = Array(held.keys)
                        try await connection.query(
                            """
                            UPDATE events e SET available_tickets = e.available_tickets - d.n
                            FROM unnest($1::uuid[], $2::int[]) AS d(id, n) WHERE e.id = d.id
                            """, [PostgresArray(ids), PostgresArray(ids.map { Int(held[$0]!) })])
                    }
                }
                committed = batch.upperBound
                paymentsCommitted = paymentRange.upperBound
            }
        } catch is Interruption.Interrupted {}
        progress.end()
        return [Self.result("bookings", rows: committed, since: started), Self.result("payments", rows: paymentsCommitted, since: started)]
    }

    private func lowerBound(_ sorted: [Int], _ value: Int) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    static func result(_ table: String, rows: Int, since started: ContinuousClock.Instant) -> TableLoad {
        let seconds = (ContinuousClock.now - started).seconds
        return TableLoad(
            table: table, rows: rows, seconds: (seconds * 1000).rounded() / 1000,
            rows_per_second: seconds > 0 ? Int(Double(rows) / seconds) : 0)
    }
}
