import ArgumentParser
import HappeningCommandLine
import HappeningLoad
import HappeningSystem

/// `--progress auto|live|lines|none`, the same option as the seeder's.
extension ProgressOption: ExpressibleByArgument {}

/// `--engine raw|curl`: ArgumentParser checks the value and lists the choices in `--help` and in its error.
extension LoadEngine: ExpressibleByArgument {}
