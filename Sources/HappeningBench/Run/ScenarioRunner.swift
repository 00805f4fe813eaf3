import Foundation
import HappeningCommandLine
import HappeningHTTP
import HappeningLoad
import HappeningSystem

/// Runs a scenario against one target: setup steps, pools, the phases in order, the ledger check.
package struct ScenarioRunner: Sendable {
    var scenario: Scenario
    let target: String
    let settings: RunSettings
    let stop: StopFlag
    /// `--prometheus-remote-write`: where the run's seconds stream to.
    var metrics: RemoteWriteStream?

    package init(scenario: Scenario, target: String, settings: RunSettings, stop: StopFlag) {
        (self.scenario, self.target, self.settings, self.stop) = (scenario, target, settings, stop)
    }

    private var databaseURL: String? { settings.databaseURL }
    private var progress: ProgressStyle { settings.progress }
    /// A shard runs its part of every phase, with its slice of the users; the ledger is checked by `merge` over every part.
    private var shard: Shard? { settings.shard }

    /// Setup: runs the seeder steps and loads tokens (a shard only its lanes' slice of them); returns the variables
    /// (with captured values) and users. `reusing`: a `happening-bench setup` already ran the seeder (its captured
    /// values are among the variables): only the tokens are read.
    package func setUp(runDirectory: String, reusing: Bool = false) async throws -> (variables: [String: String], users: VirtualUsers) {
        var variables = scenario.variables ?? [:]
        var users = VirtualUsers.none
        for step in scenario.setup ?? [] {
            if let arguments = step.seed, !reusing {
                let summary = try SeedStep.run(Template.substitute(arguments, variables, keepUnknown: false), databaseURL: databaseURL, progress: progress)
                for (name, path) in step.set ?? [:] {
                    guard let value = SeedStep.lookup(path, in: summary) else { throw UsageError("setup: the seeder's summary has no '\(path)'") }
                    variables[name] = value
                }
            }
            if let path = step.tokens {
                users = try VirtualUsers.load(path: Template.substitute(path, variables, keepUnknown: false)) { [scenario, shard] count in
                    guard shard != nil else { return nil }
                    let slices = try Self.users(of: scenario, available: count, shard: shard).compactMap { $0 }
                    guard let low = slices.map(\.lowerBound).min(), let high = slices.map(\.upperBound).max() else { return nil }
                    return low..<high
                }
            }
        }
        return (variables, users)
    }

    func run(label: String, variables: [String: String], users: VirtualUsers) async throws -> BenchResult.Run {
        let pools = try await ValuePool.load(scenario.pools ?? [:], databaseURL: databaseURL)
        var renderer = RequestRenderer(target: target, templates: scenario.requests, variables: variables, pools: pools, users: users)
        renderer.watched = scenario.watchedTemplates
        renderer.accepting = scenario.ledger == nil ? [] : scenario.acceptingTemplates
        try renderer.validate()
        if let spec = scenario.ledger {
            guard let databaseURL else { throw UsageError("the ledger check reads PostgreSQL: pass --database-url or set DATABASE_URL") }
            try await LedgerChecker(databaseURL: databaseURL, source: try spec.source()).preflight(
                event: Template.substitute(spec.event, variables, keepUnknown: true))
        }
        let watchedEvent = scenario.staleness.map { Template.substitute($0.event, variables, keepUnknown: true).lowercased() }
        let followUp = followUp(users: users)
        var runner = PhaseRunner(renderer: renderer, settings: settings, stop: stop)
        runner.keepsSamples = scenario.hasLanes
        if let watchedEvent, let spec = scenario.staleness { runner.watch = (Array(watchedEvent.utf8), Array((spec.field ?? "available_tickets").utf8)) }
        if scenario.readsEveryEvent, shard == nil { runner.everyEvent = Array((scenario.staleness?.field ?? "available_tickets").utf8) }
        let loadStart = LoadStartSignal()
        runner.loadStart = loadStart
        let monitor = GeneratorMonitor()
        runner.monitor = monitor
        monitor.start()
        defer { monitor.stop() }
        runner.metrics = metrics
        let streaming = metrics.map { stream in Task { await stream.run() } }
        defer { streaming?.cancel() }  // also when a phase throws
        // Faults run beside the phases, timed from the moment the load begins; the run waits for the last one (a
        // fault planned after the load, such as restarting what was stopped, still happens).
        let progress = self.progress
        let faults = FaultRunner(steps: scenario.faults ?? [], servicesScript: settings.servicesScript, workerPidFiles: settings.workerPidFiles) { line in
            if progress != .none { FileHandle.standardError.write(Data("bench: \(label): \(line)\n".utf8)) }
        }
        let laneUsers = try Self.users(of: scenario, available: users.count, shard: shard)
        // Rendered before the clock starts (a lane's phases then begin on time).
        for (index, lane) in scenario.runLanes.enumerated() {
            for phase in lane.phases { runner.prepare(phase, users: laneUsers[index]) }
        }
        // One run clock: lane offsets count from `origin`, and so do the faults of a laned scenario.
        var origin: UInt64?
        if scenario.hasLanes {
            let at = StartInstant.monotonic(wallMicros: settings.startAtMicros, otherwiseIn: 100_000_000)
            origin = at
            loadStart.set(monotonic: at)
        }
        let faultTask = Task { [stop] in await faults.run(from: loadStart, stop: stop) }
        let laneRuns = try await withThrowingTaskGroup(of: (Int, LaneOutcome).self) { group in
            for (index, lane) in scenario.runLanes.enumerated() {
                let users = laneUsers[index]
                let notBefore = origin.map { $0 &+ UInt64(lane.start.flatMap(DurationText.parse)?.nanoseconds ?? 0) }
                group.addTask { [runner] in
                    (
                        index,
                        try await self.run(lane, runner: runner, notBefore: notBefore, users: users, faultTask: faultTask, followUp: followUp, label: label)
                    )
                }
            }
            var outcomes: [(Int, LaneOutcome)] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let faultEvents = await faultTask.value
        let remoteWrite = await finishStreaming(streaming)
        var phaseRuns = laneRuns.flatMap(\.runs)
        for index in phaseRuns.indices { phaseRuns[index].result.generator = Self.check(phaseRuns[index].result, monitor) }
        let shardReport = shard.map { Self.report(of: $0, scenario: scenario, variables: variables, laneRuns: laneRuns) }
        var (ledger, staleness, watchedTruth) = try await checks(
            variables: variables, laneRuns: laneRuns, watchedEvent: watchedEvent, shownReads: phaseRuns.flatMap(\.shownReads),
            requestNames: renderer.infos.map(\.name))
        if ledger != nil { try await addLaneTickets(to: &ledger, variables: variables, laneUsers: laneUsers, users: users) }
        let history = try await historyReport(
            variables: variables, followUp: followUp, answers: phaseRuns.flatMap(\.bookingAnswers),
            eventReads: phaseRuns.reduce(into: EventReads()) { $0.merge($1.eventReads) }, watchedTruth: watchedTruth, users: users,
            requestNames: renderer.infos.map(\.name))
        let windows =
            scenario.hasLanes
            ? LaneWindows.views(of: phaseRuns, templates: renderer.infos).map { window in
                var window = window
                window.generator = Self.check(window, monitor)
                return window
            } : nil
        return BenchResult.Run(
            label: label, target: target, phases: phaseRuns.map(\.result), windows: windows, ledger: ledger,
            staleness: staleness, history: history, faults: faultEvents.isEmpty ? nil : faultEvents, remote_write: remoteWrite, shard: shardReport)
    }

    /// Asks about accepted bookings as their customers would, when the scenario's history is checked (not in a shard:
    /// its answers go to merge).
    private func followUp(users: VirtualUsers) -> BookingFollowUp? {
        guard shard == nil, let spec = scenario.historySpec else { return nil }
        let deadline = scenario.ledger?.decision_timeout.flatMap(DurationText.parse) ?? .seconds(60)
        let ours = scenario.ledger?.schema == nil && scenario.ledger?.sql == nil
        return BookingFollowUp(
            target: target, path: spec.status ?? "/api/bookings/{id}", field: spec.status_field ?? "status",
            words: scenario.ledger?.schema.map { ToldOutcome.words(of: $0.bookings) } ?? [:],
            listPath: spec.my_bookings ?? (ours ? "/api/bookings/my-bookings" : nil), bound: .microseconds(spec.boundMicros), users: users,
            deadline: deadline, tls: settings.tls)
    }

    /// What customers were told, checked against the sale's rows (after the ledger, which waited for the decisions).
    private func historyReport(
        variables: [String: String], followUp: BookingFollowUp?, answers: [BookingAnswer], eventReads: EventReads, watchedTruth: SaleTruth?,
        users: VirtualUsers, requestNames: [String]
    ) async throws -> CustomerHistoryReport? {
        guard let followUp, let spec = scenario.historySpec, let ledger = scenario.ledger else { return nil }
        let told = await followUp.finish()
        guard !stop.isStopped else { return nil }
        guard let databaseURL else { throw UsageError("the history check reads PostgreSQL: pass --database-url or set DATABASE_URL") }
        let event = Template.substitute(ledger.event, variables, keepUnknown: true)
        let (source, soldOut) = (try ledger.source(), Set(spec.sold_out ?? ["sold_out"]))
        // The staleness check read the same rows when it watches the sale's event on Happening's schema.
        let sameRows = watchedTruth.flatMap { $0.event == event.lowercased() && source == .mapped(.happening) && soldOut == ["sold_out"] ? $0 : nil }
        let truth: SaleTruth
        if let sameRows { truth = sameRows } else { truth = try await SaleTruth.read(event: event, source: source, soldOut: soldOut, databaseURL: databaseURL) }
        let known = Set(truth.rows.map(\.id))
        let otherRows = try await SaleTruth.rows(
            ids: told.map { $0.booking_id.lowercased() }.filter { !known.contains($0) }, source: source, soldOut: soldOut, databaseURL: databaseURL)
        // Refusals count against the sale's event only: the templates that name it (a scenario may book other events too).
        let saleTemplates = Set(
            scenario.requests.indices.filter { index in
                let request = scenario.requests[index]
                return Template.substitute(request.templatedText, variables, keepUnknown: true).lowercased().contains(truth.event)
            })
        let bound = spec.boundMicros
        let userID: (Int) -> String? = { users.isEmpty ? nil : users[$0].user_id }
        let tickets = try await ticketsLeftCheck(eventReads, bound: bound, requestNames: requestNames, databaseURL: databaseURL)
        return CustomerHistoryReport(
            event_id: truth.event, answers: Dictionary(grouping: answers, by: Self.answerKind).mapValues(\.count), followed: told.count,
            told: Dictionary(grouping: told) { $0.told ?? "no answer" }.mapValues(\.count), bound_ms: Double(bound) / 1_000,
            checks: [
                HistoryChecks.falseSoldOut(
                    answers: answers.filter { saleTemplates.contains($0.template) }, truth: truth, users: userID, tolerance: 1_000, bound: bound),
                HistoryChecks.toldMatchesLedger(told: told, rows: truth.rows + otherRows, users: userID, bound: bound),
                HistoryChecks.readYourWrites(told: told, rows: truth.rows + otherRows, users: userID, bound: bound),
                tickets,
            ])
    }

    /// Most events the tickets-left check rebuilds a truth for: the most-read ones.
    static let eventsChecked = 10_000

    /// Tickets left as every watched answer showed them, each event against its own truth.
    private func ticketsLeftCheck(_ eventReads: EventReads, bound: Int64, requestNames: [String], databaseURL: String) async throws -> HistoryCheck {
        let shown = eventReads.byEvent.sorted { $0.value.count > $1.value.count }.prefix(Self.eventsChecked)
        guard !shown.isEmpty else {
            var skipped = HistoryCheck(name: "tickets left linearizable within the bound", metric: "not_linearizable", checked: 0, violations: 0, witnesses: [])
            skipped.skipped = "no watched answer showed tickets left (the GET templates', or staleness.requests)"
            return skipped
        }
        var earliest = Int64.max
        for (_, reads) in shown { for read in reads { earliest = min(earliest, read.sent_micros) } }
        let truths = try await SaleTruth.availability(events: shown.map(\.key), since: earliest - bound - 1_000_000, databaseURL: databaseURL)
        return HistoryChecks.ticketsLeft(
            events: shown.compactMap { id, reads in truths[id].map { .init(id: id, reads: reads, truth: $0) } }, bound: bound, requestNames: requestNames)
    }

    /// `202`, `422 sold_out`, `no answer` …: what kind of answer a customer got.
    private static func answerKind(_ answer: BookingAnswer) -> String {
        answer.status == 0 ? "no answer" : answer.code.map { "\(answer.status) \($0)" } ?? "\(answer.status)"
    }

    /// Ends the remote-write stream after its last write; what it delivered (nil: not streaming).
    private func finishStreaming(_ streaming: Task<Void, Never>?) async -> RemoteWriteReport? {
        guard let streaming, let metrics else { return nil }
        metrics.stop()
        await streaming.value
        var report = metrics.report
        report.labels = metrics.labels
        return report
    }

    /// The scenario's ledger and staleness checks after the load (none once stopped), and the watched event's rows.
    private func checks(
        variables: [String: String], laneRuns: [LaneOutcome], watchedEvent: String?, shownReads: [ShownRead],
        requestNames: [String]
    ) async throws -> (LedgerReport?, StalenessReport?, SaleTruth?) {
        guard !stop.isStopped else { return (nil, nil, nil) }
        var ledger: LedgerReport?
        if let spec = scenario.ledger, shard == nil {  // a shard's accepted bookings go to merge, which checks them all
            guard let databaseURL else { throw UsageError("the ledger check reads PostgreSQL: pass --database-url or set DATABASE_URL") }
            let event = Template.substitute(spec.event, variables, keepUnknown: true)
            let timeout = spec.decision_timeout.flatMap(DurationText.parse) ?? .seconds(60)
            let run = LedgerChecker.Run(
                accepted: laneRuns.flatMap(\.captures), ticketsPerRequest: spec.ticket_count ?? 1, complete: laneRuns.allSatisfy(\.complete),
                soldOutAnswers: laneRuns.reduce(0) { $0 + $1.soldOut }, timeout: timeout)
            ledger = try await LedgerChecker(databaseURL: databaseURL, source: try spec.source()).check(event: event, run: run, progress: progress)
        }
        var staleness: StalenessReport?
        var truth: SaleTruth?
        if let watchedEvent {
            guard let databaseURL else { throw UsageError("the staleness check reads PostgreSQL: pass --database-url or set DATABASE_URL") }
            truth = try await SaleTruth.read(event: watchedEvent, databaseURL: databaseURL, check: "staleness")
            staleness = StalenessCheck.report(event: watchedEvent, reads: shownReads, truth: truth!.availability, requestNames: requestNames)
        }
        return (ledger, staleness, truth)
    }

    /// Who won the sale: the tickets held by each lane's own users, and the most any one user holds.
    private func addLaneTickets(to ledger: inout LedgerReport?, variables: [String: String], laneUsers: [Range<Int>?], users: VirtualUsers)
        async throws
    {
        guard let spec = scenario.ledger, let databaseURL else { return }
        let event = Template.substitute(spec.event, variables, keepUnknown: true)
        guard let held = try await LedgerChecker(databaseURL: databaseURL, source: try spec.source()).ticketsByUser(event: event) else { return }
        ledger?.max_tickets_per_user = held.values.max() ?? 0
        let laned = zip(scenario.runLanes, laneUsers).compactMap { lane, range in range.map { (lane.name, $0) } }
        guard scenario.hasLanes, !laned.isEmpty else { return }
        ledger?.lanes = LaneTickets.lanes(laned.map(\.0), users: laned.map { $0.1.map { users[$0].user_id } }, held: held)
    }

    /// The generator check over the wall-clock span of a phase or window.
    private static func check(_ phase: PhaseResult, _ monitor: GeneratorMonitor) -> GeneratorCheck? {
        monitor.check(fromMicros: phase.started_at_micros, toMicros: phase.started_at_micros + Int64(phase.elapsed_seconds * 1e6))
    }

    /// What `merge` needs of this part: its accepted bookings and the ledger block, with setup's event id.
    private static func report(of shard: Shard, scenario: Scenario, variables: [String: String], laneRuns: [LaneOutcome]) -> ShardReport {
        var report = ShardReport(index: shard.index, count: shard.count)
        if let spec = scenario.ledger {
            report.ledger = spec
            report.ledger_event = Template.substitute(spec.event, variables, keepUnknown: true)
            report.accepted = laneRuns.flatMap(\.captures)
            report.sold_out = laneRuns.reduce(0) { $0 + $1.soldOut }
            report.complete = laneRuns.allSatisfy(\.complete)
        }
        return report
    }

    /// Each lane's users (nil: the renderer's choice of every user); a shard's slice of them.
    private static func users(of scenario: Scenario, available: Int, shard: Shard?) throws -> [Range<Int>?] {
        let ranges = try scenario.laneUsers(available: available)
        guard let shard else { return ranges }
        return ranges.map { range in
            guard let whole = range ?? (available > 0 ? 0..<available : nil) else { return nil }
            return shard.slice(of: whole)
        }
    }

    /// What one lane ran: its phases, the values it captured, and whether every barrier answer was definite.
    private struct LaneOutcome: Sendable {
        var runs: [LanePhaseRun] = []
        /// The recorded phases' captures (the ledger's accepted bookings).
        var captures: [Capture] = []
        /// Every phase's captures by user, for a later phase's `${captured.…}`.
        var captured = CapturedValues()
        var complete = true
        var soldOut = 0
    }

    /// For a phase whose requests name captured values: the users of `users` who captured them all, and its connections
    /// cut to their number (nil for any other phase).
    private func capturingUsers(of phase: inout Scenario.Phase, captured: CapturedValues, users: Range<Int>?) -> PhaseRunner.CapturingUsers? {
        let chosen = Set(phase.requests ?? scenario.requests.map(\.name))
        let names = scenario.requests.filter { chosen.contains($0.name) }.reduce(into: Set<String>()) { $0.formUnion($1.capturedNames) }
        guard !names.isEmpty else { return nil }
        let people = Array(captured.users(having: names, in: users).prefix(phase.connections))
        phase.connections = max(1, people.count)
        return PhaseRunner.CapturingUsers(users: people, captured: captured)
    }

    /// Runs a lane's phases in order, the first no earlier than `notBefore`.
    private func run(
        _ lane: Scenario.Lane, runner: PhaseRunner, notBefore: UInt64?, users: Range<Int>?,
        faultTask: Task<[FaultRunner.Event], Never>, followUp: BookingFollowUp?, label: String
    ) async throws -> LaneOutcome {
        var outcome = LaneOutcome()
        let prefix = lane.name.isEmpty ? "" : "lane \(lane.name): "
        var first = true
        for var phase in lane.phases {
            if stop.isStopped { break }
            if phase.after_faults == true {
                if progress != .none {
                    FileHandle.standardError.write(Data("bench: \(label): \(prefix)phase \(phase.name) waits for the faults to finish\n".utf8))
                }
                _ = await faultTask.value
            }
            if phase.after_outcomes == true, let followUp {
                if progress != .none {
                    FileHandle.standardError.write(Data("bench: \(label): \(prefix)phase \(phase.name) waits for the accepted bookings' outcomes\n".utf8))
                }
                await followUp.settled()
            }
            if phase.requests == nil { phase.requests = lane.requests }
            let capturing = capturingUsers(of: &phase, captured: outcome.captured, users: users)
            if capturing?.users.isEmpty == true {
                if progress != .none {
                    FileHandle.standardError.write(
                        Data("bench: \(label): \(prefix)phase \(phase.name) skipped: no user captured what its requests name\n".utf8))
                }
                continue
            }
            if phase.model.isTimed, phase.record ?? true {
                if let connections = settings.connections { phase.connections = connections }
                if let rate = settings.rate, phase.model == .open { phase.rate = rate }
                if let duration = settings.duration { phase.duration = duration }
            }
            if let shard { phase = try shard.apply(to: phase) }
            if progress != .none {
                FileHandle.standardError.write(
                    Data(
                        "bench: \(label): \(prefix)phase \(phase.name) (\(phase.model.rawValue), \(phase.connections) connections\(phase.rate.map { ", \($0) req/s" } ?? "")\(phase.duration.map { ", \($0)" } ?? ""))\n"
                            .utf8))
            }
            // A lane's first phase may wait for its start (its connections opened meanwhile): the target's CPU is read
            // when the phase's load begins, not while the lane waits (other lanes' requests are not this phase's).
            let plannedStart = first ? notBefore : nil
            let targetCPU = settings.targetCPU
            let cpuAtStart = targetCPU.map { cpu in
                Task {
                    if let plannedStart {
                        let now = monotonicNanoseconds()
                        if plannedStart > now { try? await Task.sleep(for: .nanoseconds(Int64(plannedStart - now))) }
                    }
                    return await cpu.seconds()
                }
            }
            var (run, phaseCaptures) = try await runner.run(phase, lane: lane.name, notBefore: plannedStart, users: users, capturing: capturing)
            outcome.captured.add(phaseCaptures)
            if let targetCPU, let cpuBefore = await cpuAtStart?.value, let cpuAfter = await targetCPU.seconds() {
                run.result.target_cpu = TargetCPUReport(source: targetCPU.label, before: cpuBefore, after: cpuAfter, requests: run.result.requests)
            }
            first = false
            outcome.runs.append(run)
            let result = run.result
            if result.recorded {
                await followUp?.follow(run.bookingAnswers)
                outcome.captures += phaseCaptures
                if phase.model == .barrier {
                    // Definite answers only: 202 accepted or 422 refused (sold out); anything else leaves the count open.
                    let definite = (result.statuses["202"] ?? 0) + (result.statuses["422"] ?? 0)
                    if definite != result.requests || result.abandoned > 0 { outcome.complete = false }
                    outcome.soldOut += Int(result.statuses["422"] ?? 0)
                }
            }
        }
        return outcome
    }
}
