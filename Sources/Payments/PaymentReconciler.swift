import Logging
import ServiceLifecycle

/// Runs ``PaymentService/reconcile(minimumAge:)`` every `interval` until shutdown: the safety net that
/// finishes refunds and captures a crash, a gateway timeout or a lost webhook left open.
public struct PaymentReconciler: Service {
    let payments: PaymentService
    let interval: Duration
    let logger: Logger

    public init(payments: PaymentService, interval: Duration = .seconds(30), logger: Logger) {
        self.payments = payments
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let report = try await payments.reconcile()
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
