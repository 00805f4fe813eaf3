#if canImport(Glibc)
    import Glibc
#endif

/// This process's CPU time: what the Bench's generator check and the server's `process_cpu_seconds_total` read.
public enum ProcessCPU {
    /// User + system CPU seconds of the whole process so far (`getrusage`).
    public static func seconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
