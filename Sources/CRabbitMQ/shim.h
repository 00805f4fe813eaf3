// rabbitmq-c 0.11 (AMQP 0-9-1 client library), imported by HappeningAMQP only.
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

/// `amqp_login` is variadic (its SASL arguments), so Swift cannot call it: this is the PLAIN form.
static inline amqp_rpc_reply_t happening_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                          int channel_max, int frame_max, int heartbeat,
                                                          const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

/// Builds a one-entry table holding a string value (e.g. `x-dead-letter-exchange`), for queue arguments.
/// `entries` must point to storage for `count` entries that outlives the call using the table.
static inline void happening_amqp_table_set_string(amqp_table_entry_t *entry, amqp_bytes_t key, amqp_bytes_t value) {
    entry->key = key;
    entry->value.kind = AMQP_FIELD_KIND_UTF8;
    entry->value.value.bytes = value;
}

/// Sets a 32-bit integer table entry (e.g. `x-delivery-limit`).
static inline void happening_amqp_table_set_int(amqp_table_entry_t *entry, amqp_bytes_t key, int32_t value) {
    entry->key = key;
    entry->value.kind = AMQP_FIELD_KIND_I32;
    entry->value.value.i32 = value;
}
