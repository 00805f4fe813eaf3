import Foundation

/// When an answer's bytes reached the generator's socket, as the kernel stamped them (`SO_TIMESTAMPNS`), not when the
/// load loop got round to reading them.
///
/// A generator sharing its cores with the server it loads (or a barrier loop busy sending thousands of requests)
/// reads an answer late; timed at the read, that wait counts as the server's latency. The kernel stamps each segment
/// as it arrives (on loopback: when the server's write delivered it), and `recvmsg` hands the stamp of the newest
/// segment it read over with the bytes. Plain TCP connections of the raw engine only (over TLS libcurl reads).
enum ArrivalTime {
    /// `SO_TIMESTAMPNS` (= `SCM_TIMESTAMPNS`) on 64-bit Linux: the macro is not imported by Swift.
    static let socketOption: Int32 = 35
    /// Room for one `SCM_TIMESTAMPNS` control message (header and `timespec`, aligned), with margin.
    static let controlBytes = 64

    /// Asks the kernel to stamp what `socket` receives; false when it would not.
    static func enable(on socket: Int32) -> Bool {
        var on: Int32 = 1
        return setsockopt(socket, SOL_SOCKET, socketOption, &on, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// The `SCM_TIMESTAMPNS` stamp (CLOCK_REALTIME nanoseconds) in a control buffer `recvmsg` filled with `length`
    /// bytes; nil when there is none.
    static func realtimeStamp(in control: UnsafeRawBufferPointer, length: Int) -> UInt64? {
        let header = MemoryLayout<cmsghdr>.size  // 16 on 64-bit Linux: the data follows aligned to 8
        var offset = 0
        while offset + header <= min(length, control.count) {
            let messageLength = control.loadUnaligned(fromByteOffset: offset, as: Int.self)
            let level = control.loadUnaligned(fromByteOffset: offset + MemoryLayout<Int>.size, as: Int32.self)
            let type = control.loadUnaligned(fromByteOffset: offset + MemoryLayout<Int>.size + 4, as: Int32.self)
            guard messageLength >= header, offset + messageLength <= control.count else { return nil }
            if level == SOL_SOCKET, type == socketOption, messageLength >= header + MemoryLayout<timespec>.size {
                let seconds = control.loadUnaligned(fromByteOffset: offset + header, as: Int.self)
                let nanoseconds = control.loadUnaligned(fromByteOffset: offset + header + MemoryLayout<Int>.size, as: Int.self)
                guard seconds >= 0, nanoseconds >= 0 else { return nil }
                return UInt64(seconds) &* 1_000_000_000 &+ UInt64(nanoseconds)
            }
            offset += (messageLength + 7) & ~7
        }
        return nil
    }

    /// `stamp` (CLOCK_REALTIME) on the loop's monotonic clock, through the two clocks' offset now.
    static func monotonic(fromRealtime stamp: UInt64) -> UInt64 {
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        let monotonicNow = monotonicNanoseconds()
        let realtimeNow = UInt64(realtime.tv_sec) &* 1_000_000_000 &+ UInt64(realtime.tv_nsec)
        return stamp &+ monotonicNow &- realtimeNow
    }

    /// The end of a transfer: when its last bytes arrived, kept between the request leaving and the read (`now`) —
    /// a stamp outside that (clocks stepped, no stamp) gives way to the read's time.
    static func end(arrived: UInt64?, sent: UInt64, read now: UInt64) -> UInt64 {
        guard let arrived, arrived >= sent, arrived <= now else { return now }
        return arrived
    }
}
