/* noise_hs.c: the raw Noise layer: CipherState, SymmetricState and the XX handshake
 * (Noise framework rev 34, sections 5.1-5.3 and 7.5) for Noise_XX_25519_ChaChaPoly_SHA256.
 * DH is X25519 (libsodium crypto_scalarmult, which clamps and refuses an all-zero output), the
 * cipher ChaCha20-Poly1305 IETF (fog_chachapoly_*, libcrypto) with the nonce 4 zero bytes || 64-bit little-endian counter
 * (section 12.3), the hash SHA-256 and HKDF built on HMAC-SHA256 (section 4.3). The protocol
 * name is exactly 32 bytes, so h starts as the name itself (section 5.2, InitializeSymmetric).
 * XX: -> e; <- e, ee, s, es; -> s, se. A counter never wraps: n = 2^64-1 is reserved and
 * refused (section 5.1). Untrusted messages are read through fog_reader.
 */
#include "net/noise_internal.h"

#include <string.h>

#include <sodium.h>

#include "fog/crypto.h"

static const char proto_name[] = "Noise_XX_25519_ChaChaPoly_SHA256";

static void make_nonce(uint64_t n, uint8_t nonce[12])
{
    memset(nonce, 0, 4);
    for (size_t i = 0; i < 8; i++) {
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
    }
}

int fog__noise_encrypt(fog__noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                       size_t pt_len, uint8_t *out)
{
    if (!c->has_key) {
        if (pt_len > 0) {
            memmove(out, pt, pt_len);
        }
        return 0;
    }
    if (c->n == UINT64_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "noise: nonce counter exhausted");
    }
    uint8_t nonce[12];
    make_nonce(c->n, nonce);
    int rc = fog_chachapoly_seal(c->k, nonce, ad, ad_len, pt, pt_len, out);
    if (rc == 0) {
        c->n++;
    }
    return rc;
}

int fog__noise_decrypt(fog__noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
                       size_t ct_len, uint8_t *out)
{
    if (!c->has_key) {
        if (ct_len > 0) {
            memmove(out, ct, ct_len);
        }
        return 0;
    }
    if (ct_len < FOG__NOISE_TAG_LEN) {
        return fog_errf(FOG_ERR_PROTO, "noise: ciphertext of %zu bytes is shorter than its tag",
                        ct_len);
    }
    if (c->n == UINT64_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "noise: nonce counter exhausted");
    }
    uint8_t nonce[12];
    make_nonce(c->n, nonce);
    if (fog_chachapoly_open(c->k, nonce, ad, ad_len, ct, ct_len, out) != 0) {
        return fog_errf(FOG_ERR_AUTH, "noise: message %llu fails its authentication tag",
                        (unsigned long long)c->n);
    }
    c->n++;
    return 0;
}

static void hmac(const uint8_t key[32], const uint8_t *a, size_t a_len, const uint8_t *b,
                 size_t b_len, uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, 32);
    crypto_auth_hmacsha256_update(&st, a, a_len);
    crypto_auth_hmacsha256_update(&st, b, b_len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

/* HKDF(chaining_key, ikm) with two outputs (Noise section 4.3). */
static void hkdf2(const uint8_t ck[32], const uint8_t *ikm, size_t ikm_len, uint8_t out1[32],
                  uint8_t out2[32])
{
    uint8_t temp[32];
    const uint8_t one = 1, two = 2;
    hmac(ck, ikm, ikm_len, NULL, 0, temp);
    hmac(temp, &one, 1, NULL, 0, out1);
    uint8_t o1[32];
    memcpy(o1, out1, 32);
    hmac(temp, o1, 32, &two, 1, out2);
    sodium_memzero(temp, sizeof temp);
    sodium_memzero(o1, sizeof o1);
}

static void mix_hash(fog__noise_hs *hs, const uint8_t *data, size_t len)
{
    fog_sha256_ctx c;
    fog_sha256_begin(&c);
    fog_sha256_update(&c, hs->h, sizeof hs->h);
    fog_sha256_update(&c, data, len);
    fog_sha256_end(&c, hs->h);
}

static void mix_key(fog__noise_hs *hs, const uint8_t ikm[32])
{
    uint8_t ck[32];
    hkdf2(hs->ck, ikm, 32, ck, hs->cs.k);
    memcpy(hs->ck, ck, 32);
    sodium_memzero(ck, sizeof ck);
    hs->cs.has_key = true;
    hs->cs.n = 0;
}

/* MixKey(DH(priv, pub)); an all-zero DH output (a low-order point) fails. */
static int mix_dh(fog__noise_hs *hs, const uint8_t priv[32], const uint8_t pub[32])
{
    uint8_t shared[32];
    if (crypto_scalarmult(shared, priv, pub) != 0) {
        return fog_errf(FOG_ERR_AUTH, "noise: peer key is a low-order point");
    }
    mix_key(hs, shared);
    sodium_memzero(shared, sizeof shared);
    return 0;
}

static int encrypt_and_hash(fog__noise_hs *hs, const uint8_t *pt, size_t len, uint8_t *out,
                            size_t *out_len)
{
    int rc = fog__noise_encrypt(&hs->cs, hs->h, sizeof hs->h, pt, len, out);
    if (rc < 0) {
        return rc;
    }
    *out_len = len + (hs->cs.has_key ? FOG__NOISE_TAG_LEN : 0);
    mix_hash(hs, out, *out_len);
    return 0;
}

static int decrypt_and_hash(fog__noise_hs *hs, fog_slice ct, uint8_t *out, size_t *out_len)
{
    int rc = fog__noise_decrypt(&hs->cs, hs->h, sizeof hs->h, ct.p, ct.len, out);
    if (rc < 0) {
        return rc;
    }
    *out_len = ct.len - (hs->cs.has_key ? FOG__NOISE_TAG_LEN : 0);
    mix_hash(hs, ct.p, ct.len);
    return 0;
}

void fog__noise_hs_init(fog__noise_hs *hs, bool initiator, const uint8_t *prologue,
                        size_t prologue_len, const uint8_t s_priv[32], const uint8_t e_priv[32])
{
    memset(hs, 0, sizeof *hs);
    hs->initiator = initiator;
    memcpy(hs->h, proto_name, FOG__NOISE_HASH_LEN);
    memcpy(hs->ck, hs->h, FOG__NOISE_HASH_LEN);
    mix_hash(hs, prologue, prologue_len);
    memcpy(hs->s_priv, s_priv, 32);
    memcpy(hs->e_priv, e_priv, 32);
    crypto_scalarmult_base(hs->s_pub, hs->s_priv);
    crypto_scalarmult_base(hs->e_pub, hs->e_priv);
}

bool fog__noise_hs_our_turn(const fog__noise_hs *hs)
{
    return hs->step < 3 && (hs->step % 2 == 0) == hs->initiator;
}

size_t fog__noise_hs_write_len(const fog__noise_hs *hs, size_t payload_len)
{
    switch (hs->step) {
    case 0:
        return 32 + payload_len;
    case 1:
        return 32 + 48 + payload_len + FOG__NOISE_TAG_LEN;
    default:
        return 48 + payload_len + FOG__NOISE_TAG_LEN;
    }
}

/* The token sequence of each XX message after its public keys: es/se from the writer's or the
 * reader's side (Noise section 7.5). */
static int mix_es(fog__noise_hs *hs)
{
    /* es: DH(initiator e, responder s). */
    return hs->initiator ? mix_dh(hs, hs->e_priv, hs->rs) : mix_dh(hs, hs->s_priv, hs->re);
}

static int mix_se(fog__noise_hs *hs)
{
    /* se: DH(initiator s, responder e). */
    return hs->initiator ? mix_dh(hs, hs->s_priv, hs->re) : mix_dh(hs, hs->e_priv, hs->rs);
}

int fog__noise_hs_write(fog__noise_hs *hs, const uint8_t *payload, size_t payload_len,
                        uint8_t *out, size_t cap, size_t *out_len)
{
    if (!fog__noise_hs_our_turn(hs) || cap < fog__noise_hs_write_len(hs, payload_len)) {
        return FOG_ERR_INVALID;
    }
    size_t off = 0, n = 0;
    int rc = 0;
    if (hs->step < 2) {
        memcpy(out, hs->e_pub, 32);
        mix_hash(hs, hs->e_pub, 32);
        off = 32;
    }
    if (hs->step == 1) {
        if ((rc = mix_dh(hs, hs->e_priv, hs->re)) < 0) {
            return rc;
        }
    }
    if (hs->step > 0) {
        if ((rc = encrypt_and_hash(hs, hs->s_pub, 32, out + off, &n)) < 0) {
            return rc;
        }
        off += n;
        rc = hs->step == 1 ? mix_es(hs) : mix_se(hs);
        if (rc < 0) {
            return rc;
        }
    }
    if ((rc = encrypt_and_hash(hs, payload, payload_len, out + off, &n)) < 0) {
        return rc;
    }
    *out_len = off + n;
    hs->step++;
    return 0;
}

/* Reads "s" (encrypted once a key exists, which in XX it always does) into rs. */
static int read_s(fog__noise_hs *hs, fog_reader *r)
{
    fog_slice ct;
    fog_reader_bytes(r, 32 + FOG__NOISE_TAG_LEN, &ct);
    if (r->err < 0) {
        return fog_errf(r->err, "noise: handshake message %d too short for a static key",
                        hs->step + 1);
    }
    size_t n = 0;
    return decrypt_and_hash(hs, ct, hs->rs, &n);
}

int fog__noise_hs_read(fog__noise_hs *hs, const uint8_t *msg, size_t msg_len,
                       uint8_t *payload_out, size_t *payload_len)
{
    if (hs->step >= 3 || fog__noise_hs_our_turn(hs)) {
        return FOG_ERR_INVALID;
    }
    fog_reader r;
    fog_reader_init(&r, msg, msg_len);
    int rc = 0;
    if (hs->step < 2) {
        fog_slice e;
        fog_reader_bytes(&r, 32, &e);
        if (r.err < 0) {
            return fog_errf(r.err, "noise: handshake message %d too short for a key",
                            hs->step + 1);
        }
        memcpy(hs->re, e.p, 32);
        mix_hash(hs, hs->re, 32);
    }
    if (hs->step == 1 && (rc = mix_dh(hs, hs->e_priv, hs->re)) < 0) {
        return rc;
    }
    if (hs->step > 0) {
        if ((rc = read_s(hs, &r)) < 0) {
            return rc;
        }
        if ((rc = hs->step == 1 ? mix_es(hs) : mix_se(hs)) < 0) {
            return rc;
        }
    }
    fog_slice rest;
    fog_reader_bytes(&r, r.left, &rest);
    if ((rc = decrypt_and_hash(hs, rest, payload_out, payload_len)) < 0) {
        return rc;
    }
    hs->step++;
    return 0;
}

void fog__noise_hs_split(const fog__noise_hs *hs, fog__noise_cipher *send, fog__noise_cipher *recv)
{
    fog__noise_cipher c1 = {.has_key = true}, c2 = {.has_key = true};
    hkdf2(hs->ck, NULL, 0, c1.k, c2.k);
    *send = hs->initiator ? c1 : c2;
    *recv = hs->initiator ? c2 : c1;
    sodium_memzero(&c1, sizeof c1);
    sodium_memzero(&c2, sizeof c2);
}

void fog__noise_hs_wipe(fog__noise_hs *hs)
{
    sodium_memzero(hs, sizeof *hs);
}
