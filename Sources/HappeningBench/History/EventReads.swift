/// What watched answers showed of every event they carried (an event's detail, each entry of a list), grouped by
/// event: the history's tickets-left check covers every event a run touches, not only the sale's. Filled on a loop
/// thread, merged after the phase.
struct EventReads: Sendable {
    private(set) var ids: [String] = []
    private(set) var reads: [[ShownRead]] = []
    private var index: [[UInt8]: Int] = [:]
    /// Reads kept, over every event.
    private(set) var count = 0
    /// Reads not kept because ``limit`` was reached.
    private(set) var dropped = 0

    /// Most reads kept per loop thread (a million: 32 MB).
    static let limit = 1_000_000

    /// Keeps `read` of the event whose id is `id`'s bytes.
    mutating func add(id: UnsafeRawBufferPointer, _ read: ShownRead) {
        guard count < Self.limit else {
            dropped += 1
            return
        }
        let key = id.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }  // ASCII lowercase, as ``ids`` holds them
        let slot: Int
        if let known = index[key] {
            slot = known
        } else {
            slot = ids.count
            index[key] = slot
            ids.append(String(decoding: key, as: UTF8.self))
            reads.append([])
        }
        reads[slot].append(read)
        count += 1
    }

    /// Adds another recorder's reads.
    mutating func merge(_ other: EventReads) {
        for (slot, id) in other.ids.enumerated() {
            let key = Array(id.utf8)
            if let known = index[key] {
                reads[known] += other.reads[slot]
            } else {
                index[key] = ids.count
                ids.append(id)
                reads.append(other.reads[slot])
            }
        }
        count += other.count
        dropped += other.dropped
    }

    /// Reads by event id (lowercase).
    var byEvent: [String: [ShownRead]] { Dictionary(zip(ids, reads)) { first, second in first + second } }
}
