/* aead.c: ChaCha20-Poly1305 IETF (RFC 8439) through OpenSSL's EVP interface, for Noise.
 * The cipher is fetched from the provider once (an implicit fetch per message would take the
 * provider lock every time); each call makes its own short-lived context, so the functions are
 * thread-safe and keep no key material after they return (EVP_CIPHER_CTX_free wipes it).
 */
#include "fog/crypto.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

static EVP_CIPHER *chachapoly;
static pthread_once_t chachapoly_once = PTHREAD_ONCE_INIT;

static void chachapoly_fetch(void)
{
    chachapoly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

/* A context keyed for one message, or NULL (no memory, or no cipher in this libcrypto). */
static EVP_CIPHER_CTX *ctx_for(const uint8_t key[32], const uint8_t nonce[12], int enc)
{
    pthread_once(&chachapoly_once, chachapoly_fetch);
    if (chachapoly == NULL) {
        return NULL;
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx != NULL && EVP_CipherInit_ex2(ctx, chachapoly, key, nonce, enc, NULL) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

/* Feeds ad (as associated data) and in to ctx; 0 or -1. */
static int crypt_update(EVP_CIPHER_CTX *ctx, const uint8_t *ad, size_t ad_len, const uint8_t *in,
                        size_t len, uint8_t *out)
{
    int n = 0;
    if (ad_len > 0 && EVP_CipherUpdate(ctx, NULL, &n, ad, (int)ad_len) != 1) {
        return -1;
    }
    if (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1) {
        return -1;
    }
    return 0;
}

int fog_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
                        size_t ad_len, const uint8_t *pt, size_t len, uint8_t *out)
{
    if (len > (size_t)INT_MAX - FOG_CHACHAPOLY_TAG_LEN || ad_len > (size_t)INT_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "chacha20-poly1305: message of %zu bytes is too long", len);
    }
    EVP_CIPHER_CTX *ctx = ctx_for(key, nonce, 1);
    if (ctx == NULL) {
        return fog_errf(FOG_ERR_NOMEM, "chacha20-poly1305: no cipher context");
    }
    int n = 0;
    int ok = crypt_update(ctx, ad, ad_len, pt, len, out) == 0 &&
             EVP_CipherFinal_ex(ctx, out + len, &n) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, FOG_CHACHAPOLY_TAG_LEN,
                                 out + len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : fog_errf(FOG_ERR_IO, "chacha20-poly1305: libcrypto failed to seal");
}

int fog_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
                        size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *out)
{
    if (ct_len < FOG_CHACHAPOLY_TAG_LEN) {
        return fog_errf(FOG_ERR_PROTO, "chacha20-poly1305: %zu bytes is shorter than the tag",
                        ct_len);
    }
    size_t len = ct_len - FOG_CHACHAPOLY_TAG_LEN;
    if (len > (size_t)INT_MAX - FOG_CHACHAPOLY_TAG_LEN || ad_len > (size_t)INT_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "chacha20-poly1305: message of %zu bytes is too long", len);
    }
    uint8_t tag[FOG_CHACHAPOLY_TAG_LEN];
    memcpy(tag, ct + len, sizeof tag); /* out may overlap ct */
    EVP_CIPHER_CTX *ctx = ctx_for(key, nonce, 0);
    if (ctx == NULL) {
        return fog_errf(FOG_ERR_NOMEM, "chacha20-poly1305: no cipher context");
    }
    int n = 0;
    int ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, FOG_CHACHAPOLY_TAG_LEN, tag) == 1 &&
             crypt_update(ctx, ad, ad_len, ct, len, out) == 0 &&
             EVP_CipherFinal_ex(ctx, out + len, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : FOG_ERR_AUTH;
}
