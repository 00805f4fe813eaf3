#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one set of `Duration` conversions every module uses (C APIs take integers, reports take `Double`s).
/// Each truncates toward zero where the target unit is coarser than the duration.
extension Duration {
    /// The whole duration in nanoseconds (swift-metrics' timers, monotonic clock arithmetic).
    public var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }

    /// The whole duration in milliseconds (libcurl's `*_MS` options, libpq's timeouts).
    public var milliseconds: Int { Int(components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000) }

    /// The duration in seconds as a floating-point number (reports and display only; never for money or limits).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }

    /// The duration as a C `timeval` (socket timeouts of hiredis and librabbitmq).
    public var timeval: timeval {
        #if canImport(Glibc)
            return Glibc.timeval(tv_sec: Int(components.seconds), tv_usec: Int(components.attoseconds / 1_000_000_000_000))
        #else
            return Darwin.timeval(tv_sec: Int(components.seconds), tv_usec: Int32(components.attoseconds / 1_000_000_000_000))
        #endif
    }
}
