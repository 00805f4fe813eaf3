import Foundation
import HappeningLoad
import Histogram
import Synchronization

/// What one loop thread measured in one phase. Used on that thread only; merged after the phase.
final class PhaseRecorder {
    let templates: [TemplateInfo]
    let clock: PhaseClock
    let feed: LiveFeed

    var latency = LatencyHistogram()
    var templateLatency: [LatencyHistogram]
    var templateRequests: [UInt64]
    var templateUnexpected: [UInt64]
    var templateCacheHits: [UInt64]
    var templateCacheMisses: [UInt64]
    var requests: UInt64 = 0
    var unexpected: UInt64 = 0
    var statuses: [Int: UInt64] = [:]
    /// Latency by HTTP status (a flash sale's 202 and 422 answers cost differently).
    var statusLatency: [Int: LatencyHistogram] = [:]
    var transportErrors: [Int32: UInt64] = [:]
    var late: UInt64 = 0
    var cacheHits: UInt64 = 0
    var cacheMisses: UInt64 = 0
    /// Response body bytes received.
    var bodyBytes: UInt64 = 0
    /// Answers by HTTP version, and TCP connections opened (the curl engine reports both).
    var httpVersions: [HTTPVersion: UInt64] = [:]
    var connectionsOpened: UInt64 = 0
    var captures: [Capture] = []
    /// Every answer to a booking request (templates whose 202s the ledger follows): the sale's history.
    var bookingAnswers: [BookingAnswer] = []
    /// The event whose availability watched answers show, and the field (as bytes).
    var watch: (id: [UInt8], field: [UInt8])?
    /// Watched answers that carried the event.
    var shownReads: [ShownRead] = []
    /// The field (as bytes) watched answers are read for in every event they carry (the history's check), nil: not read.
    var everyEvent: [UInt8]?
    /// What watched answers showed of every event they carried (with ``everyEvent``).
    var eventReads = EventReads()
    /// Every answered request (for lane windows), up to ``sampleLimit`` per loop thread.
    var samples: [RequestSample] = []
    /// Requests not kept in ``samples`` because the limit was reached.
    var samplesDropped: UInt64 = 0
    /// Whether to keep ``samples`` (only laned scenarios need them).
    var keepsSamples = false
    /// 4 million samples (about 100 MB) per loop thread: 30 minutes at 2,000 req/s, on every thread.
    static let sampleLimit = 4_000_000
    var firstStart: UInt64 = .max
    var lastEnd: UInt64 = 0
    /// When the first and the last request really left (monotonic; a shard's start skew is measured from them).
    var firstSent: UInt64 = .max
    var lastSent: UInt64 = 0

    /// Where this loop's own figures go each second (wake lag, run-queue wait); nil: not measured.
    var monitor: GeneratorMonitor?
    private var lagSecond: Int64 = 0
    private var lag = LatencyHistogram()
    private var runqueueMark: UInt64?

    private var second = 0
    /// This loop thread's index in the feed.
    private let loop: Int
    private var current = SecondBucket()
    private var pendingRequests: UInt64 = 0
    private var pendingErrors: UInt64 = 0

    init(templates: [TemplateInfo], clock: PhaseClock, feed: LiveFeed) {
        self.templates = templates
        self.clock = clock
        self.feed = feed
        loop = feed.register()
        templateLatency = Array(repeating: LatencyHistogram(), count: templates.count)
        templateRequests = Array(repeating: 0, count: templates.count)
        templateUnexpected = Array(repeating: 0, count: templates.count)
        templateCacheHits = Array(repeating: 0, count: templates.count)
        templateCacheMisses = Array(repeating: 0, count: templates.count)
    }

    /// A request started later than intended by more than a millisecond (open model).
    func countLate() { late += 1 }

    func record(_ completion: LoadCompletion) {
        tick(now: completion.end)
        let template = completion.request.template
        let info = templates[template]
        requests += 1
        templateRequests[template] += 1
        latency.record(nanoseconds: completion.latencyNanoseconds)
        templateLatency[template].record(nanoseconds: completion.latencyNanoseconds)
        current.requests += 1
        current.latency.record(nanoseconds: completion.latencyNanoseconds)
        firstStart = min(firstStart, completion.intendedStart)
        lastEnd = max(lastEnd, completion.end)
        firstSent = min(firstSent, completion.actualStart)
        lastSent = max(lastSent, completion.actualStart)
        var failed = false
        if let code = completion.curlError {
            transportErrors[code, default: 0] += 1
            failed = true
        } else {
            statuses[completion.status, default: 0] += 1
            statusLatency[completion.status, default: LatencyHistogram()].record(nanoseconds: completion.latencyNanoseconds)
            if completion.status >= 500 { current.status5xx += 1 }
            if !info.isExpected(completion.status) { failed = true }
        }
        if failed {
            unexpected += 1
            templateUnexpected[template] += 1
            current.errors += 1
            pendingErrors += 1
        }
        current.routes[template, default: RouteSecond()].record(nanoseconds: completion.latencyNanoseconds, failed: failed)
        pendingRequests += 1
        bodyBytes += UInt64(max(0, completion.bodyBytes))
        if let version = completion.httpVersion { httpVersions[version, default: 0] += 1 }
        connectionsOpened += UInt64(max(0, completion.connectionsOpened))
        if let hit = completion.cacheHit {
            if hit {
                cacheHits += 1
                templateCacheHits[template] += 1
                current.cacheHits += 1
            } else {
                cacheMisses += 1
                templateCacheMisses[template] += 1
                current.cacheMisses += 1
            }
        }
        keepSample(completion, failed: failed)
        let answer = info.accepting ? bookingAnswer(completion, idField: info.capture) : nil
        if let answer, bookingAnswers.count < Self.sampleLimit { bookingAnswers.append(answer) }
        guard !failed else { return }
        // A booking's 202 was read for its id just above: not scanned twice.
        let captured =
            info.accepting && completion.status == 202 && info.capture != nil
            ? answer?.booking_id : info.capture.flatMap { key in completion.body.flatMap { ResponseFields.string(key, in: $0) } }
        if captured != nil || (info.accepting && completion.status == 202) {
            // A 202 without an id still counts: the ledger then compares counts.
            captures.append(
                Capture(
                    tag: completion.request.tag, value: captured ?? "", at_micros: clock.wallMicros(completion.end),
                    sent_micros: clock.wallMicros(completion.actualStart), field: captured == nil ? nil : info.capture))
        }
        guard info.watched, let body = completion.body else { return }
        let (sent, received) = (clock.wallMicros(completion.actualStart), clock.wallMicros(completion.end))
        if let field = everyEvent {
            // One pass over the body for every event it shows, the watched one (staleness) among them.
            var watchedShown = false  // the watched event counts once per answer, as the single-event scan did
            ResponseFields.integers(field, byID: body) { id, shown in
                let read = ShownRead(template: template, sent_micros: sent, received_micros: received, shown: shown)
                eventReads.add(id: id, read)
                if let watch, !watchedShown, shownReads.count < Self.sampleLimit, id.elementsEqual(watch.id) {
                    shownReads.append(read)
                    watchedShown = true
                }
            }
        } else if let watch, shownReads.count < Self.sampleLimit, ResponseFields.contains(watch.id, in: body),
            let shown = ResponseFields.integer(watch.field, inObjectWithID: watch.id, in: body)
        {
            shownReads.append(ShownRead(template: template, sent_micros: sent, received_micros: received, shown: shown))
        }
    }

    /// What the customer was told: status, and the body's booking id (`idField`, else `booking_id`) or error code.
    private func bookingAnswer(_ completion: LoadCompletion, idField: String?) -> BookingAnswer {
        var answer = BookingAnswer(
            user: completion.request.tag, template: completion.request.template, sent_micros: clock.wallMicros(completion.actualStart),
            received_micros: clock.wallMicros(completion.end), status: completion.curlError == nil ? completion.status : 0)
        if answer.status != 0, let body = completion.body {
            if answer.status == 202 {
                answer.booking_id = ResponseFields.string(idField ?? "booking_id", in: body)
            } else if answer.status >= 400 {
                answer.code = ResponseFields.string("code", in: body)
                answer.request_id = ResponseFields.string("request_id", in: body) ?? completion.requestID
            }
        }
        return answer
    }

    private func keepSample(_ completion: LoadCompletion, failed: Bool) {
        guard keepsSamples else { return }
        guard samples.count < Self.sampleLimit else {
            samplesDropped += 1
            return
        }
        var flags: RequestSample.Flags = []
        if failed { flags.insert(.unexpected) }
        if let hit = completion.cacheHit { flags.insert(hit ? .cacheHit : .cacheMiss) }
        if completion.actualStart &- completion.intendedStart > 1_000_000, completion.actualStart > completion.intendedStart { flags.insert(.late) }
        samples.append(
            RequestSample(
                start: completion.intendedStart, latencyNanoseconds: completion.latencyNanoseconds,
                template: UInt16(truncatingIfNeeded: completion.request.template),
                status: UInt16(clamping: completion.status), curlError: Int16(clamping: completion.curlError ?? 0), flags: flags))
    }

    /// The loop woke `late` ns after it was due (called on the loop's thread after every wait).
    func loopWoke(late: UInt64, now: UInt64) {
        guard let monitor else { return }
        let wallSecond = clock.wallMicros(now) / 1_000_000
        if wallSecond != lagSecond { flushLag(to: monitor, next: wallSecond) }
        lag.record(nanoseconds: late)
    }

    /// Hands the finished second's lag and this thread's run-queue wait over it to the monitor.
    private func flushLag(to monitor: GeneratorMonitor, next: Int64?) {
        let waited = GeneratorMonitor.threadRunqueueNanoseconds()
        if let mark = runqueueMark, lag.count > 0 {
            monitor.add(wallSecond: lagSecond, lag: lag, runqueueNanoseconds: (waited ?? mark) &- mark)
        }
        runqueueMark = waited
        lag = LatencyHistogram()
        if let next { lagSecond = next }
    }

    /// Hands finished seconds to the feed.
    func tick(now: UInt64) {
        let index = Int((now &- clock.monotonicStart) / 1_000_000_000)
        if now >= clock.monotonicStart, index > second {
            flushSecond()
            second = index
            feed.recording(loop: loop, second: index)
        }
        if pendingRequests >= 256 {
            feed.count(requests: pendingRequests, errors: pendingErrors)
            (pendingRequests, pendingErrors) = (0, 0)
        }
    }

    /// Flushes the partial last second (after the loop ended; on the loop's thread).
    func finish() {
        if let monitor { flushLag(to: monitor, next: nil) }
        flushSecond()
        feed.count(requests: pendingRequests, errors: pendingErrors)
        (pendingRequests, pendingErrors) = (0, 0)
        feed.recording(loop: loop, second: .max)
    }

    private func flushSecond() {
        if current.requests > 0 { feed.add(second: second, current) }
        current = SecondBucket()
    }
}
