import ArgumentParser
import HappeningCurl

/// `--progress` of the Bench's commands: ``ProgressStyle`` plus `auto` (live on a terminal, lines otherwise).
enum ProgressOption: String, CaseIterable, ExpressibleByArgument, Sendable {
    case auto, live, lines, none
}

/// `--engine raw|curl`: ArgumentParser checks the value and lists the choices in `--help` and in its error.
extension CurlLoadEngine: ExpressibleByArgument {}
