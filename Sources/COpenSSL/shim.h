// ImageGate: OpenSSL headers as Swift sees them. Macros and variadic functions Swift cannot import get
// static inline wrappers here; nothing else lives in this file.
#ifndef IMAGEGATE_COPENSSL_SHIM_H
#define IMAGEGATE_COPENSSL_SHIM_H
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static inline int COpenSSL_CTX_set_min_proto_version(SSL_CTX *c, int v) {
    return (int)SSL_CTX_set_min_proto_version(c, v);
}
static inline int COpenSSL_CTX_set_max_proto_version(SSL_CTX *c, int v) {
    return (int)SSL_CTX_set_max_proto_version(c, v);
}
/// No renegotiation, no compression, server cipher order, kernel TLS when the kernel offers it.
static inline void COpenSSL_CTX_set_server_options(SSL_CTX *c) {
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE
                               | SSL_OP_ENABLE_KTLS | SSL_OP_NO_TICKET);
}
/// Partial writes and moving buffers, so a non-blocking writer can retry with what is left.
static inline void COpenSSL_CTX_set_nonblocking_modes(SSL_CTX *c) {
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                            | SSL_MODE_RELEASE_BUFFERS);
}
/// The server session cache (SSL_CTX_sess_set_cache_size and SSL_CTX_sess_number are macros).
static inline long COpenSSL_CTX_sess_set_cache_size(SSL_CTX *c, long n) { return SSL_CTX_sess_set_cache_size(c, n); }
static inline long COpenSSL_CTX_sess_number(SSL_CTX *c) { return SSL_CTX_sess_number(c); }
static inline int COpenSSL_ktls_send_enabled(SSL *s) {
    return BIO_get_ktls_send(SSL_get_wbio(s)) ? 1 : 0;
}
/// EVP_PKEY_Q_keygen is variadic, which Swift cannot call.
static inline EVP_PKEY *COpenSSL_generate_p256(void) {
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}
static inline int COpenSSL_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }
static inline int COpenSSL_TLS1_3_VERSION(void) { return TLS1_3_VERSION; }
/// SHA-256 on the plain SHA256_CTX struct, whose bytes are the hash's whole midstate: an import into an
/// object store saves it at each part boundary and resumes from it (Docs/object-storage.md, "Resume").
/// OpenSSL 3 deprecates these functions for EVP, whose context cannot be exported; they stay supported.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static inline int COpenSSL_SHA256_Init(SHA256_CTX *c) { return SHA256_Init(c); }
static inline int COpenSSL_SHA256_Update(SHA256_CTX *c, const void *data, size_t len) {
    return SHA256_Update(c, data, len);
}
static inline int COpenSSL_SHA256_Final(unsigned char *md, SHA256_CTX *c) { return SHA256_Final(md, c); }
/// One compression of a 64-byte block into `c->h` (HMACSHA256Key pads short messages itself).
static inline void COpenSSL_SHA256_Transform(SHA256_CTX *c, const unsigned char *block) { SHA256_Transform(c, block); }
#pragma GCC diagnostic pop

#endif
