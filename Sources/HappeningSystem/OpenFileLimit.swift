#if canImport(Glibc)
    import Glibc
#endif

/// This process's limit on open files (`RLIMIT_NOFILE`). A load generator holding 20,000 connections needs a
/// descriptor for each, and so does a server accepting them: the usual soft limit (1,024) is far too low for
/// either, and so can the hard one be (20,000 in this sandbox, which cannot raise it).
public enum OpenFileLimit {
    /// The current soft limit.
    public static var current: Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        return Int(limit.rlim_cur)
    }

    /// Raises the soft limit to at least `wanted` (to the hard limit, or above it when the process may raise that:
    /// root, up to the kernel's `fs.nr_open`); returns the soft limit afterwards. Never lowers it.
    @discardableResult
    public static func raise(toAtLeast wanted: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let target = rlim_t(max(wanted, 0))
        if limit.rlim_cur >= target { return Int(limit.rlim_cur) }
        if limit.rlim_max < target {
            var raised = limit
            raised.rlim_max = target
            raised.rlim_cur = target
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { return Int(target) }
        }
        limit.rlim_cur = min(target, limit.rlim_max)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        return current
    }
}
