import Logging
import ServiceLifecycle

/// Runs ``PaymentService/reconcile(minimumAge:)`` every `interval` until shutdown: the safety net that
/// finishes refunds and captures a crash, a gateway timeout or a lost webhook left open, and resumes event
/// cancellations nobody is working on.
public struct PaymentReconciler: Service {
    let payments: PaymentService
    let cancellations: CancellationService
    let payouts: PayoutService
    let interval: Duration
    let logger: Logger

    public init(payments: PaymentService, interval: Duration = .seconds(30), logger: Logger) {
        self.payments = payments
        self.cancellations = CancellationService(payments: payments, logger: logger)
        self.payouts = PayoutService(postgres: payments.ledger.postgres, gateway: payments.gateway, logger: logger)
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    for event in try await cancellations.unfinishedEventCancellations() {
                        try await cancellations.runEventCancellation(event)
                    }
                    let report = try await payments.reconcile()
                    let sentOrUpdated = try await payouts.reconcile()
                    if sentOrUpdated.sent + sentOrUpdated.updated > 0 {
                        logger.info("payouts reconciled", metadata: ["sent": "\(sentOrUpdated.sent)", "updated": "\(sentOrUpdated.updated)"])
                    }
                    if report != PaymentService.ReconcileReport() {
                        logger.info("payments reconciled", metadata: [
                            "refunds_issued": "\(report.refundsIssued)", "refunds_updated": "\(report.refundsUpdated)",
                            "captures_found": "\(report.capturesFound)", "failures": "\(report.failures)"])
                    }
                } catch {
                    logger.warning("payment reconcile pass failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
