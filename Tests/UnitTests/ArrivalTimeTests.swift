import Foundation
import Testing

@testable import HappeningLoad

/// Timing an answer by the kernel's stamp of its arrival (`SO_TIMESTAMPNS`).
@Suite("Answers timed when they arrived")
struct ArrivalTimeTests {
    /// A control buffer holding one message of `level`/`type` whose data is a `timespec`.
    private func control(level: Int32, type: Int32, seconds: Int, nanoseconds: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: ArrivalTime.controlBytes)
        let length = MemoryLayout<cmsghdr>.size + MemoryLayout<timespec>.size
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: length, toByteOffset: 0, as: Int.self)
            raw.storeBytes(of: level, toByteOffset: 8, as: Int32.self)
            raw.storeBytes(of: type, toByteOffset: 12, as: Int32.self)
            raw.storeBytes(of: seconds, toByteOffset: 16, as: Int.self)
            raw.storeBytes(of: nanoseconds, toByteOffset: 24, as: Int.self)
        }
        return bytes
    }

    @Test("the SCM_TIMESTAMPNS stamp is read out of recvmsg's control bytes; another message or none gives nil")
    func parse() {
        let stamped = control(level: SOL_SOCKET, type: ArrivalTime.socketOption, seconds: 1_796_639_714, nanoseconds: 646_880_123)
        let length = MemoryLayout<cmsghdr>.size + MemoryLayout<timespec>.size
        #expect(stamped.withUnsafeBytes { ArrivalTime.realtimeStamp(in: $0, length: length) } == 1_796_639_714_646_880_123)
        let other = control(level: SOL_SOCKET, type: 29, seconds: 1, nanoseconds: 2)  // SCM_TIMESTAMP (a timeval): not ours
        #expect(other.withUnsafeBytes { ArrivalTime.realtimeStamp(in: $0, length: length) } == nil)
        #expect(stamped.withUnsafeBytes { ArrivalTime.realtimeStamp(in: $0, length: 0) } == nil, "no control bytes came back")
        var broken = stamped
        broken.withUnsafeMutableBytes { $0.storeBytes(of: 4_096, toByteOffset: 0, as: Int.self) }
        #expect(broken.withUnsafeBytes { ArrivalTime.realtimeStamp(in: $0, length: length) } == nil, "a length past the buffer")
    }

    @Test("a transfer ends at its arrival when that lies between its send and its read; otherwise at the read")
    func end() {
        #expect(ArrivalTime.end(arrived: 150, sent: 100, read: 400) == 150)
        #expect(ArrivalTime.end(arrived: nil, sent: 100, read: 400) == 400)
        #expect(ArrivalTime.end(arrived: 90, sent: 100, read: 400) == 400, "an earlier answer's stamp on a kept-alive connection")
        #expect(ArrivalTime.end(arrived: 500, sent: 100, read: 400) == 400, "clocks stepped")
    }

    @Test("the realtime stamp maps onto the monotonic clock: now in one is now in the other")
    func clocks() {
        var realtime = timespec()
        let before = monotonicNanoseconds()
        clock_gettime(CLOCK_REALTIME, &realtime)
        let mapped = ArrivalTime.monotonic(fromRealtime: UInt64(realtime.tv_sec) * 1_000_000_000 + UInt64(realtime.tv_nsec))
        let after = monotonicNanoseconds()
        #expect(mapped >= before && mapped <= after)
    }
}
