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
