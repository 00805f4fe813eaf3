// libpq (PostgreSQL client library), imported by HappeningPostgres only.
#include <libpq-fe.h>
