# Sourced by the generator comparisons (compare-wrk.sh, compare-tls.sh): one target for every generator.
#
#   static_target WORK PORT [tls]   writes WORK/www/static.json (~1 KB of event JSON), starts nginx (1 worker,
#                                   pinned to core 1) serving it on 127.0.0.1:PORT — over TLS 1.3 with a certificate
#                                   made here (WORK/cert.pem; HTTP/1.1 and HTTP/2 offered by ALPN) when asked — waits
#                                   until it answers, stops it on exit, and sets URL to the file's address.
static_target() {
    local work="$1" port="$2" tls="${3:-}" listen scheme=http curl_trust=() events="" i
    mkdir -p "$work/www" "$work/logs"
    for i in 0 1 2 3 4 5; do
        events+="${events:+, }{\"id\": \"00000000-0000-4000-8000-$(printf %012d "$i")\", \"title\": \"Sunset Jazz Night $i\", "
        events+="\"venue\": \"Phoenix Arena, Mumbai\", \"price\": \"499.00\", \"available_tickets\": 120}"
    done
    printf '{"message": "Upcoming events", "events": [%s]}' "$events" >"$work/www/static.json"
    listen="listen 127.0.0.1:$port;"
    if [ "$tls" = tls ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
            -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
        listen="listen 127.0.0.1:$port ssl http2; ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem; ssl_protocols TLSv1.3;"
        scheme=https; curl_trust=(--cacert "$work/cert.pem")
    fi
    cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    default_type application/json;
    server {
        $listen
        root $work/www;
        location = /api/health { return 200 '{"status":"ok"}'; }
    }
}
CONF
    taskset -c 1 nginx -c "$work/nginx.conf" -p "$work" -g 'daemon on;'
    trap "kill \"\$(cat '$work/nginx.pid')\" 2>/dev/null || true" EXIT
    URL="$scheme://127.0.0.1:$port/static.json"
    for _ in $(seq 1 50); do curl -sf "${curl_trust[@]}" "$URL" >/dev/null && break; sleep 0.1; done
    echo "   serving $(wc -c <"$work/www/static.json") bytes of JSON from nginx${tls:+ over TLS 1.3} (1 worker, core 1)"
}
