import HappeningConfig
import HappeningPostgres

extension Settings {
    /// `PLATFORM_FEE_PERCENT` (default 10; 0 to 100 with at most two decimals) in basis points: the one reading the
    /// server (payout amounts it shows and sends) and the worker (payouts its reconcile pass sends) share.
    public func platformFeeBasisPoints() throws -> Int64 {
        let fee = string("PLATFORM_FEE_PERCENT", default: "10")
        guard let percent = PostgresNumeric(fee), let points = try? percent.minorUnits(scale: 2), (0...10_000).contains(points) else {
            throw Settings.Invalid(name: "PLATFORM_FEE_PERCENT", problem: "must be a percentage from 0 to 100 with at most two decimals")
        }
        return points
    }
}
