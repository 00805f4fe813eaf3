// OpenSSL's libcrypto (Debian libssl-dev): the one-shot HMAC and digest calls and the constant-time compare
// HappeningCrypto wraps. Only HappeningCrypto imports this module.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
