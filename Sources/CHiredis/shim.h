// hiredis 0.14 (Redis client library), imported by HappeningRedis only.
// `redisCommand` is variadic and unavailable in Swift; the client uses the argv forms
// (`redisCommandArgv`, `redisAppendCommandArgv`), which are also binary safe.
#include <hiredis/hiredis.h>
