import CCurl
import Foundation

/// A load-generating HTTP/1.1 client: one libcurl multi handle driven by `curl_multi_perform` and
/// `curl_multi_poll` on the calling thread, with one easy handle per virtual connection, reused for every
/// request (keep-alive connections stay in the multi handle's cache, whose size is the connection count).
///
/// The loop asks its ``CurlLoadSchedule`` what each idle connection should send, adds the easy handle,
/// drives the transfers, and reports each completion with monotonic timestamps. Options that do not change
/// are set once per handle; a request's own options (URL, method, headers, body) only when it differs from
/// the previous one on that handle. Run it on a thread of its own: ``run(options:schedule:stop:)`` blocks.
public enum CurlLoadLoop {
    public static func run(options: CurlLoadOptions, schedule: any CurlLoadSchedule, stop: CurlStopFlag) throws -> CurlLoopStatistics {
        _ = CurlGlobal.initialized
        guard let multi = curl_multi_init() else { throw CurlError(code: 2, message: "curl_multi_init failed") }
        defer { curl_multi_cleanup(multi) }
        _ = happening_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, options.connections)
        _ = happening_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0)

        var connections: [LoadConnection] = []
        connections.reserveCapacity(options.connections)
        for index in 0..<options.connections { connections.append(try LoadConnection(index: index, options: options)) }
        defer {
            for connection in connections where connection.inFlight != nil { curl_multi_remove_handle(multi, connection.handle) }
        }

        var statistics = CurlLoopStatistics()
        var idle = Array(0..<options.connections)  // connections waiting for a decision
        var finished = 0
        var inFlight = 0
        var nextWake: UInt64 = 0
        var drainDeadline: UInt64?
        var lastTick: UInt64 = 0

        while true {
            statistics.iterations += 1
            var now = monotonicNanoseconds()
            if now &- lastTick >= 1_000_000 {
                schedule.tick(now: now)
                lastTick = now
            }
            // Ask idle connections what to send.
            nextWake = now &+ 10_000_000
            if stop.isStopped {
                finished += idle.count
                idle.removeAll()
            } else if !idle.isEmpty {
                var stillIdle: [Int] = []
                var position = 0
                scan: while position < idle.count {
                    let index = idle[position]
                    position += 1
                    switch schedule.next(connection: index, now: now) {
                    case .send(let request, let intended):
                        let connection = connections[index]
                        try connection.prepare(request)
                        connection.inFlight = request
                        connection.intendedStart = intended
                        connection.actualStart = monotonicNanoseconds()
                        let code = curl_multi_add_handle(multi, connection.handle)
                        guard code == CURLM_OK else { throw CurlError(code: Int(code.rawValue), message: String(cString: curl_multi_strerror(code))) }
                        inFlight += 1
                    case .notYet(let until):
                        stillIdle.append(index)
                        nextWake = min(nextWake, until)
                    case .pause(let until):
                        stillIdle.append(index)
                        stillIdle.append(contentsOf: idle[position...])
                        nextWake = min(nextWake, until)
                        break scan
                    case .done:
                        finished += 1
                    }
                }
                idle = stillIdle
            }
            if finished == options.connections {
                if inFlight == 0 { break }
                if drainDeadline == nil { drainDeadline = now &+ UInt64(options.drainTimeout.nanoseconds) }
            }
            if stop.isStopped, inFlight > 0, drainDeadline == nil { drainDeadline = now }
            if let deadline = drainDeadline, now >= deadline {
                statistics.abandoned = inFlight
                break
            }

            // Drive the transfers and collect what finished.
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let result = message.pointee.data.result
                var privateData: UnsafeMutableRawPointer?
                _ = happening_curl_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &privateData)
                let index = Int(bitPattern: privateData)
                let connection = connections[index]
                var status = 0
                _ = happening_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                curl_multi_remove_handle(multi, easy)
                inFlight -= 1
                now = monotonicNanoseconds()
                guard let request = connection.inFlight else { continue }
                connection.inFlight = nil
                let sink = connection.sink
                let completion = CurlCompletion(
                    connection: index, request: request, intendedStart: connection.intendedStart, actualStart: connection.actualStart,
                    end: now, status: result == CURLE_OK ? status : 0, curlError: result == CURLE_OK ? nil : Int32(result.rawValue),
                    bodyBytes: sink.bodyBytes, cacheHit: sink.cacheHit, body: nil)
                if request.capturesBody {
                    sink.captured.withUnsafeBytes { bytes in
                        var withBody = completion
                        withBody.body = bytes
                        schedule.completed(withBody)
                    }
                } else {
                    schedule.completed(completion)
                }
                sink.reset()
                idle.append(index)
            }
            // Sleep until a socket is ready or the next scheduled start (at most 10 ms). Under a millisecond to
            // the next start, poll without sleeping, so open-model arrivals are not delayed by timer granularity.
            now = monotonicNanoseconds()
            let waitMilliseconds = nextWake > now ? Int32(min(10, (nextWake - now) / 1_000_000)) : 0
            curl_multi_poll(multi, nil, 0, waitMilliseconds, nil)
        }
        return statistics
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
