import BookingEngine
import Testing

@Suite("The worker asks the broker for enough deliveries to keep its decisions busy", .timeLimit(.minutes(10)))
struct WorkerPrefetchTests {
    @Test("prefetch follows --concurrency (times --batch for the batch strategy) unless set higher")
    func prefetchRule() {
        #expect(BookingWorker.prefetch(requested: nil, concurrency: 4, batchSize: 50, strategy: .forUpdate) == 4)
        #expect(BookingWorker.prefetch(requested: nil, concurrency: 8, batchSize: 50, strategy: .unsafe) == 8)
        #expect(
            BookingWorker.prefetch(requested: 1, concurrency: 8, batchSize: 50, strategy: .conditionalUpdate) == 8,
            "a prefetch below the concurrency would let one decision run at a time")
        #expect(BookingWorker.prefetch(requested: 50, concurrency: 4, batchSize: 50, strategy: .forUpdate) == 50)
        #expect(BookingWorker.prefetch(requested: nil, concurrency: 2, batchSize: 100, strategy: .batch) == 200)
        #expect(BookingWorker.prefetch(requested: 500, concurrency: 2, batchSize: 100, strategy: .batch) == 500)
        #expect(BookingWorker.prefetch(requested: nil, concurrency: 0, batchSize: 0, strategy: .forUpdate) == 1)
    }
}
