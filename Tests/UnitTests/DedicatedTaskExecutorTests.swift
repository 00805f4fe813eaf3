import Foundation
import HappeningSystem
import TestSupport
import Testing

@Suite("A dedicated task executor runs preferring tasks on its own threads, at its own nice value", .timeLimit(.minutes(10)))
struct DedicatedTaskExecutorTests {
    /// Where a job ran: the thread's name and its nice value (read on that thread: nice values are per thread).
    struct Place: Equatable, CustomStringConvertible {
        var thread: String
        var niceness: Int32
        var description: String { "\(thread) (nice \(niceness))" }

        /// Read synchronously on the calling thread.
        static func here() -> Place {
            // The kernel's name of the calling thread (Linux; pthread_getname_np is not in Swift's Glibc module).
            let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
            let niceness = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            return Place(thread: name.trimmingCharacters(in: .whitespacesAndNewlines), niceness: niceness)
        }
    }

    /// Runs `body`'s work preferring `executor`, reporting where the part after an await ran too.
    static func placesPreferring(_ executor: DedicatedTaskExecutor) async -> [Place] {
        await withTaskExecutorPreference(executor) {
            let before = Place.here()
            await Task.yield()
            return [before, Place.here()]
        }
    }

    @Test("jobs run on its threads while it runs, and on the shared pool before and after")
    func runsOnItsThreads() async throws {
        let executor = DedicatedTaskExecutor(name: "unit-exec", threads: 2, niceness: 7)
        let outside = Place.here()
        #expect(
            await Self.placesPreferring(executor).allSatisfy { !$0.thread.hasPrefix("unit-exec") },
            "before run() the jobs go to the shared pool instead of waiting for threads that are not there")

        let service = Task { try await executor.run() }
        try await eventually("a job to run on one of the executor's threads") {
            await Self.placesPreferring(executor)
        } until: { places in
            places.allSatisfy { $0.thread.hasPrefix("unit-exec-") }
        }

        // Many at once, each across an await: every part runs on the executor's threads, at nice 7.
        let places = await withTaskGroup(of: [Place].self) { group in
            for _ in 0..<200 { group.addTask { await Self.placesPreferring(executor) } }
            return await group.reduce(into: [Place]()) { $0 += $1 }
        }
        #expect(places.count == 400)
        #expect(Set(places.map(\.thread)).isSubset(of: ["unit-exec-0", "unit-exec-1"]))
        #expect(places.allSatisfy { $0.niceness == 7 }, "the executor's threads run at the nice value asked for")
        #expect(Place.here().niceness == outside.niceness, "the rest of the process keeps its nice value")

        service.cancel()
        try await service.value
        #expect(
            await Self.placesPreferring(executor).allSatisfy { !$0.thread.hasPrefix("unit-exec") },
            "after it stopped, jobs run on the shared pool: nothing waits for a stopped thread")
    }
}
