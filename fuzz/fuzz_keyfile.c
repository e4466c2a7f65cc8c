/* fuzz_keyfile.c: the key export file reader (fog_key_open, include/fog/keystore.h) on arbitrary
 * input: first byte n, then n bytes of passphrase, then the file. Passphrase limits inside the
 * range the reader accepts are lowered to libsodium's minimum before the call, so a run costs
 * microseconds instead of an Argon2id pass of up to 1 GiB; limits outside it are left as they
 * are (the reader must refuse them). A key the reader accepts has a public half that is its
 * seed's. Each run also seals the first 32 bytes of the input as a seed with the same
 * passphrase and the minimum limits, and that file must open to the same key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fog/crypto.h"
#include "fog/keystore.h"
#include "fuzzlib.h"

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A valid export file of seed's key under pass, with the minimum limits. */
static void seal(const uint8_t seed[32], const char *pass, size_t pass_len,
                 uint8_t out[FOG_KEY_EXPORT_LEN])
{
    uint8_t pub[32], secret[64], pb[68] = {0x08, 0x01, 0x12, 0x40}, key[32];
    fog_ed25519_from_seed(seed, pub, secret);
    memcpy(pb + 4, secret, 64);
    memcpy(out, "FOGKEY01", 8);
    be32(out + 8, crypto_pwhash_OPSLIMIT_MIN);
    be32(out + 12, (uint32_t)(crypto_pwhash_MEMLIMIT_MIN / 1024u));
    memset(out + 16, 0x5a, 16 + 24);
    CHECK(crypto_pwhash(key, sizeof key, pass, pass_len, out + 16, crypto_pwhash_OPSLIMIT_MIN,
                        crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2ID13) == 0);
    crypto_secretbox_easy(out + 56, pb, sizeof pb, out + 32, key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        CHECK(fog_crypto_init() == 0);
        init = 1;
    }
    if (size < 1 || (size_t)data[0] + 1 > size) {
        return 0;
    }
    char pass[256];
    size_t pass_len = data[0];
    memcpy(pass, data + 1, pass_len);
    size_t len = size - 1 - pass_len;
    uint8_t *file = malloc(len + 1);
    CHECK(file != NULL);
    memcpy(file, data + 1 + pass_len, len);
    if (len >= 16) {
        uint32_t ops = rd32(file + 8), mem = rd32(file + 12);
        if (ops >= crypto_pwhash_OPSLIMIT_MIN && ops <= crypto_pwhash_OPSLIMIT_SENSITIVE) {
            be32(file + 8, crypto_pwhash_OPSLIMIT_MIN);
        }
        if ((size_t)mem * 1024u >= crypto_pwhash_MEMLIMIT_MIN && mem <= 1024u * 1024u) {
            be32(file + 12, (uint32_t)(crypto_pwhash_MEMLIMIT_MIN / 1024u));
        }
    }
    uint8_t secret[64], pub[32], check[64];
    if (fog_key_open(file, len, pass, pass_len, secret) == 0) {
        fog_ed25519_from_seed(secret, pub, check);
        CHECK(memcmp(pub, secret + 32, 32) == 0);
    }
    free(file);
    if (size >= 32) {
        uint8_t sealed[FOG_KEY_EXPORT_LEN];
        seal(data, pass, pass_len, sealed);
        CHECK(fog_key_open(sealed, sizeof sealed, pass, pass_len, secret) == 0);
        fog_ed25519_from_seed(data, pub, check);
        CHECK(memcmp(secret, check, 64) == 0);
    }
    return 0;
}
