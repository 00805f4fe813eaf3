// snappy's C API (Debian's libsnappy-dev), imported by HappeningSnappy only: Prometheus remote write bodies are
// snappy block-compressed (not the framed format).
#include <snappy-c.h>
