import CLibCrypto

/// SHA-256 and HMAC-SHA256 from OpenSSL's libcrypto, the only hashing Happening needs: API tokens (HS256),
/// Razorpay's signatures and booking ids derived from idempotency keys.
///
/// libcrypto is already on every machine that builds Happening (libcurl links it); swift-crypto would compile a
/// second copy of BoringSSL from C++ source, about two minutes of a 2-core CI machine, for these two functions.
/// Every call is a one-shot function on caller-owned buffers: no shared state, safe from any thread.
public enum SHA256 {
    /// Bytes in a digest.
    public static let byteCount = 32

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        var digest = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let ok = input.withUnsafeBytes { data in
            digest.withUnsafeMutableBufferPointer { out in
                EVP_Digest(data.baseAddress, data.count, out.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        // EVP_Digest fails only when libcrypto cannot allocate a context: nothing a caller could do about it.
        precondition(ok == 1 && length == UInt32(byteCount), "libcrypto's SHA-256 failed")
        return digest
    }
}

/// HMAC with SHA-256 (RFC 2104).
public enum HMACSHA256 {
    /// The authentication code of `message` under `key`.
    public static func code(for message: some Sequence<UInt8>, key: some Sequence<UInt8>) -> [UInt8] {
        let input = Array(message)
        // A non-null pointer even for an empty key: HMAC() treats a null key as "reuse the previous one".
        let keyBytes = Array(key) + [0]
        var code = [UInt8](repeating: 0, count: SHA256.byteCount)
        var length: UInt32 = 0
        let result = keyBytes.withUnsafeBytes { keyBuffer in
            input.withUnsafeBytes { data in
                code.withUnsafeMutableBufferPointer { out in
                    HMAC(
                        EVP_sha256(), keyBuffer.baseAddress, Int32(keyBuffer.count - 1),
                        data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, out.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == UInt32(SHA256.byteCount), "libcrypto's HMAC-SHA256 failed")
        return code
    }

    /// True when `code` is the authentication code of `message` under `key`, compared in constant time.
    public static func isValid(_ code: [UInt8], for message: some Sequence<UInt8>, key: some Sequence<UInt8>) -> Bool {
        ConstantTime.equals(code, self.code(for: message, key: key))
    }
}

/// Comparisons of secrets.
public enum ConstantTime {
    /// Whether `a` and `b` hold the same bytes, in time that depends only on their lengths (CRYPTO_memcmp).
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { left in
            b.withUnsafeBytes { right in CRYPTO_memcmp(left.baseAddress, right.baseAddress, a.count) == 0 }
        }
    }
}

extension HMACSHA256 {
    /// A key made ready once: SHA-256's state after the key's inner and outer pads, so each code costs two digests of
    /// the message and nothing else (the one-shot `HMAC()` looks the algorithm up, allocates and pads the key on every
    /// call — several times the cost of a short message's digest). The states are only read after `init` (each
    /// code works on a copy): safe from any thread.
    public final class Key: @unchecked Sendable {
        private let inner: OpaquePointer
        private let outer: OpaquePointer
        private let digest: OpaquePointer

        public init(_ secret: some Sequence<UInt8>) {
            guard let digest = EVP_MD_fetch(nil, "SHA256", nil), let inner = EVP_MD_CTX_new(), let outer = EVP_MD_CTX_new() else {
                preconditionFailure("libcrypto could not set up SHA-256")
            }
            var block = Array(secret)
            if block.count > 64 { block = SHA256.hash(block) }
            block += [UInt8](repeating: 0, count: 64 - block.count)
            for (context, pad) in [(inner, UInt8(0x36)), (outer, UInt8(0x5c))] {
                let padded = block.map { $0 ^ pad }
                let ok = EVP_DigestInit_ex(context, digest, nil) == 1 && padded.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, 64) } == 1
                precondition(ok, "libcrypto's SHA-256 failed")
            }
            (self.inner, self.outer, self.digest) = (inner, outer, digest)
        }

        deinit {
            EVP_MD_CTX_free(inner)
            EVP_MD_CTX_free(outer)
            EVP_MD_free(digest)
        }

        /// The authentication code of `message` under this key (the same bytes as ``HMACSHA256/code(for:key:)``).
        public func code(for message: some Sequence<UInt8>) -> [UInt8] {
            let input = Array(message)
            guard let context = EVP_MD_CTX_new() else { preconditionFailure("libcrypto could not allocate a digest context") }
            defer { EVP_MD_CTX_free(context) }
            var innerDigest = [UInt8](repeating: 0, count: SHA256.byteCount)
            var code = [UInt8](repeating: 0, count: SHA256.byteCount)
            var length: UInt32 = 0
            let ok =
                EVP_MD_CTX_copy_ex(context, inner) == 1
                && input.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) } == 1
                && EVP_DigestFinal_ex(context, &innerDigest, &length) == 1
                && EVP_MD_CTX_copy_ex(context, outer) == 1
                && EVP_DigestUpdate(context, innerDigest, innerDigest.count) == 1
                && EVP_DigestFinal_ex(context, &code, &length) == 1
            precondition(ok && length == UInt32(SHA256.byteCount), "libcrypto's HMAC-SHA256 failed")
            return code
        }

        /// True when `code` is the code of `message` under this key, compared in constant time.
        public func isValid(_ code: [UInt8], for message: some Sequence<UInt8>) -> Bool {
            ConstantTime.equals(code, self.code(for: message))
        }
    }
}
