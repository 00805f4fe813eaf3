import Foundation

/// Faults built in on purpose (`MUTATION=name,…`), so that a test can show the Bench's checks catch each one: a check
/// that passes on the real system proves little until it has failed on a broken one. Never for production: the server
/// and the worker log each active mutation at error level when they start.
public enum Mutation: String, CaseIterable, Sendable {
    /// The server's read cache serves events' tickets left as they were when the entry was stored, never the current value.
    case frozenTicketsLeft = "frozen-tickets-left"
    /// The worker confirms a booking, then deletes it and gives its tickets back half a second later (a confirmation
    /// rolled back after the customer could have been told).
    case confirmThenRollBack = "confirm-then-roll-back"
    /// The server remembers an event it found sold out for an hour and ignores the gate's word that tickets came back
    /// (the memory should last at most 250 ms, and not once tickets are given back).
    case soldOutMemoryNeverForgets = "sold-out-memory-never-forgets"
    /// Admission claims last an hour and the worker leaves them to lapse instead of releasing them when it decides:
    /// the gate counts every decided booking twice (sold, and still claimed) for the rest of the sale.
    case admissionLeaseOutlivesSale = "admission-lease-outlives-sale"

    /// The mutations `MUTATION` names (comma-separated); an unknown name is a configuration error.
    public static func active(_ settings: Settings) throws -> Set<Mutation> {
        guard let names = settings.optional("MUTATION") else { return [] }
        return Set(
            try names.split(separator: ",").map { name in
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                guard let mutation = Mutation(rawValue: trimmed) else {
                    throw Settings.Invalid(name: "MUTATION", problem: "names no known mutation (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return mutation
            })
    }
}
