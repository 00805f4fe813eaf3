import EventAvailability
import Foundation
import Logging
import ServiceLifecycle

/// The safety net that finishes what a crash, a gateway timeout or a lost webhook left open: event cancellations
/// nobody is working on, owed and pending refunds, paid orders never settled, payouts to send or follow up. As a
/// service it runs ``pass(minimumAge:)`` every `interval` until shutdown; `happening-worker reconcile` runs one pass.
public struct PaymentReconciler: Service {
    let payments: PaymentService
    let cancellations: CancellationService
    let payouts: PayoutService
    let interval: Duration
    let logger: Logger

    /// What one pass did.
    public struct Report: Sendable, Equatable {
        /// Event cancellations resumed (each refunds its bookings).
        public var eventCancellationsResumed = 0
        /// Refunds issued and updated, paid orders settled, failed steps.
        public var payments = PaymentService.ReconcileReport()
        /// Payouts sent, and payouts whose state was asked of the gateway and changed.
        public var payoutsSent = 0
        public var payoutsUpdated = 0
    }

    /// `feeBasisPoints`: the platform fee payouts keep (`PLATFORM_FEE_PERCENT`, read with ``Settings/platformFeeBasisPoints()``);
    /// `notifier` publishes the tickets event cancellations give back.
    public init(payments: PaymentService, notifier: AvailabilityNotifier, feeBasisPoints: Int64, interval: Duration = .seconds(30), logger: Logger) {
        self.payments = payments
        self.cancellations = CancellationService(payments: payments, notifier: notifier, logger: logger)
        self.payouts = PayoutService(postgres: payments.ledger.postgres, gateway: payments.gateway, feeBasisPoints: feeBasisPoints, logger: logger)
        self.interval = interval
        self.logger = logger
    }

    /// One pass over rows untouched for at least `minimumAge`: event cancellations first (they owe refunds), then
    /// payments, then payouts.
    public func pass(minimumAge: Duration = .seconds(10)) async throws -> Report {
        var report = Report()
        for event in try await cancellations.unfinishedEventCancellations() {
            try await cancellations.runEventCancellation(event)
            report.eventCancellationsResumed += 1
        }
        report.payments = try await payments.reconcile(minimumAge: minimumAge)
        (report.payoutsSent, report.payoutsUpdated) = try await payouts.reconcile(minimumAge: minimumAge)
        return report
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let report = try await pass()
                    if report != Report() {
                        logger.info(
                            "reconciled",
                            metadata: [
                                "event_cancellations": "\(report.eventCancellationsResumed)", "refunds_issued": "\(report.payments.refundsIssued)",
                                "refunds_updated": "\(report.payments.refundsUpdated)", "captures_found": "\(report.payments.capturesFound)",
                                "payouts_sent": "\(report.payoutsSent)", "payouts_updated": "\(report.payoutsUpdated)",
                                "failures": "\(report.payments.failures)",
                            ])
                    }
                } catch {
                    logger.warning("reconcile pass failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
