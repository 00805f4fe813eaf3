/// The idle connections of a load loop and the scan that asks the schedule what each should do — the same
/// for both engines. Used on the loop's thread only.
struct IdleConnections {
    private(set) var indices: [Int]
    private var scanning: [Int] = []

    init(count: Int) {
        indices = Array(0..<count)
        scanning.reserveCapacity(count)
    }

    var isEmpty: Bool { indices.isEmpty }
    var count: Int { indices.count }

    /// A connection became idle again.
    mutating func append(_ index: Int) { indices.append(index) }

    /// Forgets every idle connection (a stop); returns how many there were.
    mutating func removeAll() -> Int {
        defer { indices.removeAll(keepingCapacity: true) }
        return indices.count
    }

    /// Asks the schedule about every idle connection. `start` sends a request and returns false when the
    /// connection could not take it (its failure already reported): it is idle again. Returns the earliest time
    /// something is due (at most `now` + 10 ms) and how many connections are done.
    mutating func scan(schedule: any CurlLoadSchedule, now: UInt64,
                       start: (_ connection: Int, _ request: PreparedRequest, _ intendedStart: UInt64) throws -> Bool) rethrows -> (wake: UInt64, done: Int) {
        var wake = now &+ 10_000_000
        var done = 0
        swap(&indices, &scanning)
        var position = 0
        scan: while position < scanning.count {
            let index = scanning[position]
            position += 1
            switch schedule.next(connection: index, now: now) {
            case .send(let request, let intended):
                if try !start(index, request, intended) { indices.append(index) }
            case .notYet(let until):
                indices.append(index)
                wake = min(wake, until)
            case .pause(let until):
                indices.append(contentsOf: scanning[(position - 1)...])
                wake = min(wake, until)
                break scan
            case .done:
                done += 1
            }
        }
        scanning.removeAll(keepingCapacity: true)
        return (wake, done)
    }
}

extension CurlLoadSchedule {
    /// Hands `completion` to the schedule, with the response body when the request keeps it.
    func deliver(_ completion: CurlCompletion, body: (((UnsafeRawBufferPointer) -> Void) -> Void)?) {
        guard completion.request.capturesBody, let body else { return completed(completion) }
        body { bytes in
            var withBody = completion
            withBody.body = bytes
            completed(withBody)
        }
    }
}
