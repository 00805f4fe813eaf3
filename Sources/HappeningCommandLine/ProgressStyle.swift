import Foundation

/// How a long command shows its progress on stderr: redrawn in place (a terminal), a plain line every few seconds
/// (CI logs), or not at all.
public enum ProgressStyle: String, Sendable {
    case live, lines, none
}

/// `--progress` of every command: a ``ProgressStyle`` or `auto` (live on a terminal, lines otherwise).
/// `bar` is accepted as the seeder's older name for `live`.
public enum ProgressOption: String, CaseIterable, Sendable {
    case auto, live, lines, none

    /// Reads `auto`, `live`, `lines`, `none` (and `bar`, meaning `live`).
    public init?(argument: String) {
        if argument == "bar" { self = .live } else if let option = ProgressOption(rawValue: argument) { self = option } else { return nil }
    }

    /// The style to use; `auto` asks whether stderr is a terminal.
    public var style: ProgressStyle {
        switch self {
        case .auto: isatty(2) == 1 ? .live : .lines
        case .live: .live
        case .lines: .lines
        case .none: .none
        }
    }
}
