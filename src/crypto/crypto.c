/* crypto.c: SHA-256 through libcrypto, Ed25519 and randomness through libsodium.
 * The SHA-256 context is OpenSSL's SHA256_CTX kept in caller storage (checked by a static
 * assertion), so incremental hashing allocates nothing. SHA256() with the low-level API is
 * deprecated in OpenSSL 3 but is the fastest path for one-shot hashing of 1 MiB leaves and
 * still uses SHA-NI; EVP would add a context allocation per leaf.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "fog/crypto.h"

#include <assert.h>
#include <string.h>

#include <openssl/sha.h>
#include <sodium.h>

_Static_assert(sizeof(SHA256_CTX) <= sizeof(fog_sha256_ctx), "fog_sha256_ctx too small");

int fog_crypto_init(void)
{
    return sodium_init() < 0 ? FOG_ERR_UNSUPPORTED : 0;
}

void fog_sha256(const uint8_t *data, size_t len, uint8_t out[FOG_SHA256_LEN])
{
    SHA256(data, len, out);
}

void fog_sha512(const uint8_t *data, size_t len, uint8_t out[64])
{
    SHA512(data, len, out);
}

void fog_blake2b_256(const uint8_t *data, size_t len, uint8_t out[32])
{
    crypto_generichash(out, 32, data, len, NULL, 0);
}

void fog_sha256_begin(fog_sha256_ctx *c)
{
    SHA256_Init((SHA256_CTX *)(void *)c);
}

void fog_sha256_update(fog_sha256_ctx *c, const uint8_t *data, size_t len)
{
    SHA256_Update((SHA256_CTX *)(void *)c, data, len);
}

void fog_sha256_end(fog_sha256_ctx *c, uint8_t out[FOG_SHA256_LEN])
{
    SHA256_Final(out, (SHA256_CTX *)(void *)c);
}

void fog_random_bytes(void *out, size_t len)
{
    randombytes_buf(out, len);
}

void fog_ed25519_keypair(uint8_t pub[FOG_ED25519_PUB_LEN], uint8_t secret[FOG_ED25519_SECRET_LEN])
{
    crypto_sign_keypair(pub, secret);
}

void fog_ed25519_from_seed(const uint8_t seed[FOG_ED25519_SEED_LEN],
                           uint8_t pub[FOG_ED25519_PUB_LEN],
                           uint8_t secret[FOG_ED25519_SECRET_LEN])
{
    crypto_sign_seed_keypair(pub, secret, seed);
}

void fog_ed25519_sign(const uint8_t secret[FOG_ED25519_SECRET_LEN], const uint8_t *msg,
                      size_t len, uint8_t sig[FOG_ED25519_SIG_LEN])
{
    crypto_sign_detached(sig, NULL, msg, len, secret);
}

int fog_ed25519_verify(const uint8_t pub[FOG_ED25519_PUB_LEN], const uint8_t *msg, size_t len,
                       const uint8_t sig[FOG_ED25519_SIG_LEN])
{
    return crypto_sign_verify_detached(sig, msg, len, pub) == 0 ? 0 : FOG_ERR_AUTH;
}

void fog_memzero(void *p, size_t len)
{
    sodium_memzero(p, len);
}
