import CSnappy

/// Snappy block compression (Debian's libsnappy through its C API), as Prometheus remote write wants its bodies.
///
/// ```swift
/// let body = Snappy.compress(try request.serializedBytes())
/// let back = try Snappy.uncompress(body)  // the tests read what was sent
/// ```
public enum Snappy {
    /// `input` compressed (the block format, not the framed one).
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        guard !input.isEmpty else { return [0] }  // a block is its length as a varint, then the data
        var length = snappy_max_compressed_length(input.count)
        var output = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                source.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(1, source.count)) { from in
                    target.baseAddress!.withMemoryRebound(to: CChar.self, capacity: target.count) { to in
                        snappy_compress(from, source.count, to, &length)
                    }
                }
            }
        }
        // Only a too small output buffer fails, and the buffer has the size snappy asks for.
        precondition(status == SNAPPY_OK, "snappy_compress failed with a buffer of snappy_max_compressed_length")
        output.removeSubrange(length...)
        return output
    }

    /// The bytes `input` was made from; throws ``SnappyError`` when `input` is not a snappy block.
    public static func uncompress(_ input: [UInt8]) throws -> [UInt8] {
        var length = 0
        let sized = input.withUnsafeBufferPointer { source in
            source.baseAddress.map { base in
                base.withMemoryRebound(to: CChar.self, capacity: source.count) { snappy_uncompressed_length($0, source.count, &length) }
            } ?? SNAPPY_INVALID_INPUT
        }
        guard sized == SNAPPY_OK else { throw SnappyError() }
        var output = [UInt8](repeating: 0, count: max(1, length))
        let status = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                source.baseAddress!.withMemoryRebound(to: CChar.self, capacity: source.count) { from in
                    target.baseAddress!.withMemoryRebound(to: CChar.self, capacity: target.count) { to in
                        snappy_uncompress(from, source.count, to, &length)
                    }
                }
            }
        }
        guard status == SNAPPY_OK else { throw SnappyError() }
        output.removeSubrange(length...)
        return output
    }
}

/// The input is not a snappy-compressed block.
public struct SnappyError: Error, CustomStringConvertible {
    public var description: String { "not a snappy-compressed block" }
}
