// ImageGate: OpenSSL headers as Swift sees them. Macros Swift cannot import get static inline wrappers here.
#ifndef IMAGEGATE_COPENSSL_SHIM_H
#define IMAGEGATE_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#endif
