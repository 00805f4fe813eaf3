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
