// libcurl, imported by HappeningHTTP (easy interface: the outbound HTTP client) and HappeningLoad (multi interface: the Bench's load engines).
// curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic and so unavailable in Swift:
// these typed one-line wrappers are the only way the Swift code sets options.
#include <curl/curl.h>
#include <sys/epoll.h>  // the load loop drives curl_multi_socket_action from epoll

typedef size_t (*happening_curl_data_callback)(char *data, size_t size, size_t count, void *userdata);

static inline CURLcode happening_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode happening_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode happening_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode happening_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode happening_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode happening_curl_easy_setopt_callback(CURL *handle, CURLoption option, happening_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode happening_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode happening_curl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode happening_curl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLMcode happening_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

// The multi interface's socket and timer callbacks (curl_multi_socket_action with epoll).
typedef int (*happening_curl_socket_callback)(CURL *easy, curl_socket_t socket, int what, void *userp, void *socketp);
typedef int (*happening_curl_timer_callback)(CURLM *multi, long timeout_ms, void *userp);

static inline CURLMcode happening_curl_multi_setopt_pointer(CURLM *multi, CURLMoption option, void *value) {
    return curl_multi_setopt(multi, option, value);
}
static inline CURLMcode happening_curl_multi_setopt_socket_callback(CURLM *multi, CURLMoption option, happening_curl_socket_callback value) {
    return curl_multi_setopt(multi, option, value);
}
static inline CURLMcode happening_curl_multi_setopt_timer_callback(CURLM *multi, CURLMoption option, happening_curl_timer_callback value) {
    return curl_multi_setopt(multi, option, value);
}
static inline CURLcode happening_curl_easy_getinfo_socket(CURL *handle, CURLINFO info, curl_socket_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLSHcode happening_curl_share_setopt_long(CURLSH *share, CURLSHoption option, long value) {
    return curl_share_setopt(share, option, value);
}
