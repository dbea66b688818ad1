//===----------------------------------------------------------------------===//
// ImageGate: libcurl for Swift — typed wrappers for the variadic easy API and the macros Swift cannot import.
//===----------------------------------------------------------------------===//
//
// curl_easy_setopt/curl_easy_getinfo are C variadics: Swift cannot call them (Docs/style.md §3.3), so each option
// *type* (CURLOPTTYPE_LONG, _OBJECTPOINT/_STRINGPOINT, _OFF_T, _SLISTPOINT, _FUNCTIONPOINT) gets one
// static inline wrapper. The caller must pick the wrapper matching the option's documented type — libcurl
// reads the va_arg with that type, so a mismatch is undefined behaviour (see curl.h `CURLOPTTYPE_*`).
#ifndef IMAGEGATE_CCURL_SHIM_H
#define IMAGEGATE_CCURL_SHIM_H

#include <curl/curl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

// --- setopt, one per option type -------------------------------------------------------------------------------

static inline CURLcode CCurl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode CCurl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode CCurl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode CCurl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode CCurl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(h, o, v);
}
// Function pointers: one wrapper per callback signature so Swift's @convention(c) closures type-check.
static inline CURLcode CCurl_setopt_write_callback(CURL *h, CURLoption o, curl_write_callback cb) {
    return curl_easy_setopt(h, o, cb);
}
static inline CURLcode CCurl_setopt_read_callback(CURL *h, CURLoption o, curl_read_callback cb) {
    return curl_easy_setopt(h, o, cb);
}
static inline CURLcode CCurl_setopt_seek_callback(CURL *h, CURLoption o, curl_seek_callback cb) {
    return curl_easy_setopt(h, o, cb);
}
static inline CURLcode CCurl_setopt_xferinfo_callback(CURL *h, CURLoption o, curl_xferinfo_callback cb) {
    return curl_easy_setopt(h, o, cb);
}
static inline CURLcode CCurl_setopt_opensocket_callback(CURL *h, CURLoption o, curl_opensocket_callback cb) {
    return curl_easy_setopt(h, o, cb);
}

// --- getinfo, one per result type ------------------------------------------------------------------------------

static inline CURLcode CCurl_getinfo_long(CURL *h, CURLINFO i, long *out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode CCurl_getinfo_off(CURL *h, CURLINFO i, curl_off_t *out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode CCurl_getinfo_string(CURL *h, CURLINFO i, char **out) { return curl_easy_getinfo(h, i, out); }

// --- macros and constants ----------------------------------------------------------------------------------------

/// CURL_GLOBAL_DEFAULT is an expression macro (`CURL_GLOBAL_ALL`): not importable.
static inline CURLcode CCurl_global_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT); }
/// CURL_READFUNC_ABORT is a macro: a read callback returns it to stop an upload.
static inline size_t CCurl_readfunc_abort(void) { return CURL_READFUNC_ABORT; }
static inline int CCurl_socket_bad(void) { return CURL_SOCKET_BAD; }
static inline long CCurl_error_size(void) { return CURL_ERROR_SIZE; }
static inline unsigned int CCurl_u_default_port(void) { return CURLU_DEFAULT_PORT; }
static inline unsigned int CCurl_u_non_support_scheme(void) { return CURLU_NON_SUPPORT_SCHEME; }
static inline unsigned int CCurl_u_urldecode(void) { return CURLU_URLDECODE; }

/// The peer address of a socket libcurl is about to open, as raw network-order bytes (4 or 16) and a port.
/// `struct curl_sockaddr.addr` is declared as a 16-byte `struct sockaddr` but libcurl stores a full
/// sockaddr_in6 there (curl_sockaddr_ex), so it is read through `addrlen`, in C, where that is well defined.
/// Returns the address length (4 or 16), or 0 for any other family (refused by the caller).
static inline int CCurl_sockaddr_ip(const struct curl_sockaddr *a, unsigned char out[16], unsigned short *port) {
    if (a->family == AF_INET && a->addrlen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)&a->addr;
        memcpy(out, &s->sin_addr, 4);
        *port = ntohs(s->sin_port);
        return 4;
    }
    if (a->family == AF_INET6 && a->addrlen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)&a->addr;
        memcpy(out, &s->sin6_addr, 16);
        *port = ntohs(s->sin6_port);
        return 16;
    }
    return 0;
}

/// Opens the socket libcurl asked for (close-on-exec: the importer may spawn qemu-img).
static inline int CCurl_open_socket(const struct curl_sockaddr *a) {
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

#endif
