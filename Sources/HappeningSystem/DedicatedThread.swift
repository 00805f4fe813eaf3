import Foundation
import ServiceLifecycle

/// Runs a blocking loop (a C library's event loop: a broker consumer, a subscription) on a thread of its
/// own, for a `Service.run()`: returns when `loop` returns. `stop` is how the loop is told to end: with
/// `immediately: false` on graceful shutdown, `true` when the task is cancelled; the loop then returns.
public func runOnDedicatedThread(
    named name: String,
    _ loop: @escaping @Sendable () -> Void,
    stop: @escaping @Sendable (_ immediately: Bool) -> Void
) async {
    await withGracefulShutdownHandler {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    loop()
                    done.resume()
                }
                thread.name = name
                thread.start()
            }
        } onCancel: {
            stop(true)
        }
    } onGracefulShutdown: {
        stop(false)
    }
}

/// Runs one blocking call (`system(3)`, a C call that waits) on a thread of its own and returns its result,
/// so the awaiting task holds no thread of Swift's cooperative pool (2 threads on 2 cores) while it waits.
/// A throwing call returns a `Result` (`try await onDedicatedThread(named:) { Result { try … } }.get()`).
public func onDedicatedThread<T: Sendable>(named name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = name
        thread.start()
    }
}
