/* cid.c: content identifiers, v0 and v1 (multiformats/cid README), as fixed-size fog_cid values.
 * Binary: a CIDv0 is a bare sha2-256 multihash (0x12 0x20 + 32 bytes); a CIDv1 is
 * uvarint(1) uvarint(codec) multihash. Text: a 46-character string starting "Qm" is a CIDv0 in
 * bare base58btc; anything else is a multibase string. The decoded bytes then go through the
 * same binary parser, so a multibase string whose bytes are a CIDv0 ("zQm...", "bciqa...") parses
 * as that CIDv0. The CID spec asks decoders to refuse such strings, but go-cid (Decode -> Cast ->
 * CidFromBytes) and js-multiformats (CID.parse -> decodeFirst, version 18 -> v0) both accept
 * them, and fog follows the implementations peers run; fog never writes that form itself.
 * Strictness beyond go-cid: minimal varints, version 0 written as a varint (0x00 ...) is refused
 * (v0 has no version byte), no trailing bytes, and digest lengths capped (mh.h limits).
 * Every fog_cid built here comes from cid_fill, so bytes[] and the parsed fields always agree.
 * Hashes come from crypto.h: sha2-256, sha2-512 and blake2b-256 (go-car's samples use it).
 * Non-identity digests shorter than FOG_DIGEST_MIN are refused by fog_cid_verify.
 */
#include "fog/mf.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fog/crypto.h"

#define CID_V0_LEN     34
#define CID_V0_STR_LEN 46
#define VARINT9_MAX    0x7fffffffffffffffULL /* largest value a 9-byte uvarint holds */

/* Builds c from parts the caller has validated (see fog_cid_make). */
static void cid_fill(fog_cid *c, uint64_t version, uint64_t codec, uint64_t mh_code,
                     const uint8_t *digest, size_t digest_len)
{
    size_t n = 0;
    memset(c, 0, sizeof *c);
    if (version == 1) {
        n += fog_uvarint_put(c->bytes + n, 1);
        n += fog_uvarint_put(c->bytes + n, codec);
    }
    c->mh_off = n;
    n += fog_uvarint_put(c->bytes + n, mh_code);
    n += fog_uvarint_put(c->bytes + n, digest_len);
    assert(n + digest_len <= sizeof c->bytes);
    if (digest_len > 0) {
        memcpy(c->bytes + n, digest, digest_len);
    }
    c->version = version;
    c->codec = version == 0 ? FOG_MC_DAG_PB : codec;
    c->mh_code = mh_code;
    c->digest_off = n;
    c->digest_len = digest_len;
    c->len = n + digest_len;
}

/* Reads one binary CID; returns NULL, or on failure (r->err set) a reason for the detail line. */
static const char *cid_read(fog_reader *r, fog_cid *out)
{
    fog_mh mh;
    if (r->err == 0 && r->left >= 2 && r->p[0] == FOG_MC_SHA2_256 && r->p[1] == 32) {
        fog_mh_read(r, &mh);
        if (r->err != 0) {
            return "CIDv0 multihash is cut short";
        }
        cid_fill(out, 0, FOG_MC_DAG_PB, mh.code, mh.digest.p, mh.digest.len);
        return NULL;
    }
    uint64_t version = 0;
    uint64_t codec = 0;
    fog_reader_uvarint(r, &version);
    if (r->err != 0) {
        return r->err == FOG_ERR_TRUNCATED ? "no version" : "bad version varint";
    }
    if (version != 1) {
        fog_reader_fail(r, FOG_ERR_PROTO);
        return version == 0 ? "version 0 must be a bare sha2-256 multihash" : "unknown CID version";
    }
    fog_reader_uvarint(r, &codec);
    fog_mh_read(r, &mh);
    switch (r->err) {
    case 0:
        break;
    case FOG_ERR_TRUNCATED:
        return "codec or multihash is cut short";
    case FOG_ERR_LIMIT:
        return "multihash digest is too long";
    default:
        return "bad codec or multihash varint";
    }
    cid_fill(out, 1, codec, mh.code, mh.digest.p, mh.digest.len);
    return NULL;
}

void fog_cid_read(fog_reader *r, fog_cid *out)
{
    fog_cid c;
    if (cid_read(r, &c) == NULL) {
        *out = c;
    }
}

int fog_cid_from_bytes(fog_cid *out, const uint8_t *p, size_t len)
{
    fog_reader r;
    fog_reader_init(&r, p, len);
    fog_cid c;
    const char *why = cid_read(&r, &c);
    if (why == NULL && r.left != 0) {
        fog_reader_fail(&r, FOG_ERR_PROTO);
        why = "trailing bytes after the multihash";
    }
    if (why != NULL) {
        return fog_errf(r.err, "invalid binary CID (%zu bytes): %s", len, why);
    }
    *out = c;
    return 0;
}

/* A printable excerpt of untrusted text for an error line: at most 64 characters, controls and
 * non-ASCII bytes replaced by '?'. */
static void excerpt(const char *s, size_t len, char out[72])
{
    size_t n = len < 64 ? len : 64;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch >= 0x20 && ch < 0x7f && ch != '"') ? (char)ch : '?';
    }
    strcpy(out + n, len > 64 ? "..." : "");
}

static int parse_fail(int rc, const char *s, size_t len, const char *why)
{
    char ex[72];
    excerpt(s, len, ex);
    return fog_errf(rc, "invalid CID \"%s\": %s", ex, why);
}

static const char *base_reason(int rc)
{
    switch (rc) {
    case FOG_ERR_UNSUPPORTED:
        return "unknown multibase prefix";
    case FOG_ERR_LIMIT:
        return "too long";
    default:
        return "bad character or length for its base";
    }
}

int fog_cid_parse(fog_cid *out, const char *s)
{
    assert(s != NULL);
    size_t n = strnlen(s, FOG_CID_STR_MAX + 1);
    if (n == 0) {
        return parse_fail(FOG_ERR_PROTO, s, n, "empty string");
    }
    if (n > FOG_CID_STR_MAX) {
        return parse_fail(FOG_ERR_LIMIT, s, n, "too long");
    }
    bool v0 = n == CID_V0_STR_LEN && s[0] == 'Q' && s[1] == 'm';
    uint8_t bin[FOG_CID_MAX];
    int rc = v0 ? fog_base_decode(FOG_BASE58BTC, s, n, bin, sizeof bin)
                : fog_multibase_decode(s, n, bin, sizeof bin, NULL);
    if (rc < 0) {
        return parse_fail(rc, s, n, base_reason(rc));
    }
    fog_reader r;
    fog_reader_init(&r, bin, (size_t)rc);
    fog_cid c;
    const char *why = cid_read(&r, &c);
    if (why == NULL && r.left != 0) {
        fog_reader_fail(&r, FOG_ERR_PROTO);
        why = "trailing bytes after the multihash";
    }
    if (why == NULL && v0 && c.version != 0) {
        fog_reader_fail(&r, FOG_ERR_PROTO);
        why = "a 46-character \"Qm\" string must be a CIDv0";
    }
    if (why != NULL) {
        return parse_fail(r.err, s, n, why);
    }
    *out = c;
    return 0;
}

int fog_cid_format(const fog_cid *c, int base, char *out, size_t cap)
{
    if (c->version == 0) {
        if (base != 0 && base != FOG_BASE58BTC) {
            return FOG_ERR_INVALID; /* CIDv0 text is bare base58btc only (go-cid StringOfBase) */
        }
        return fog_base_encode(FOG_BASE58BTC, c->bytes, c->len, out, cap);
    }
    return fog_multibase_encode(base != 0 ? base : FOG_BASE32, c->bytes, c->len, out, cap);
}

const char *fog_cid_str(const fog_cid *c)
{
    static _Thread_local char buf[FOG_CID_STR_MAX];
    if (fog_cid_format(c, 0, buf, sizeof buf) < 0) {
        snprintf(buf, sizeof buf, "<unprintable CID>");
    }
    return buf;
}

int fog_cid_make(fog_cid *out, uint64_t version, uint64_t codec, uint64_t mh_code,
                 const uint8_t *digest, size_t digest_len)
{
    if (version > 1 || codec > VARINT9_MAX || mh_code > VARINT9_MAX) {
        return fog_errf(FOG_ERR_INVALID, "CID version, codec or hash code out of range");
    }
    if (digest_len > FOG_DIGEST_MAX ||
        (mh_code == FOG_MC_IDENTITY && digest_len > FOG_IDENTITY_MAX)) {
        return fog_errf(FOG_ERR_LIMIT, "CID digest of %zu bytes is too long", digest_len);
    }
    if (version == 0 &&
        (codec != FOG_MC_DAG_PB || mh_code != FOG_MC_SHA2_256 || digest_len != 32)) {
        return fog_errf(FOG_ERR_INVALID, "a CIDv0 is dag-pb with a 32-byte sha2-256 digest");
    }
    cid_fill(out, version, codec, mh_code, digest, digest_len);
    return 0;
}

/* The full digest of data under a hash fog can compute; FOG_ERR_UNSUPPORTED for others. */
static int hash_compute(uint64_t mh_code, const uint8_t *data, size_t len, uint8_t out[64],
                        size_t *out_len)
{
    switch (mh_code) {
    case FOG_MC_SHA2_256:
        fog_sha256(data, len, out);
        *out_len = FOG_SHA256_LEN;
        return 0;
    case FOG_MC_SHA2_512:
        fog_sha512(data, len, out);
        *out_len = 64;
        return 0;
    case FOG_MC_BLAKE2B_256:
        fog_blake2b_256(data, len, out);
        *out_len = 32;
        return 0;
    default:
        return FOG_ERR_UNSUPPORTED;
    }
}

static int hash_unsupported(uint64_t mh_code)
{
    const char *name = fog_mc_name(mh_code);
    if (name != NULL) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "hash function %s is not supported", name);
    }
    return fog_errf(FOG_ERR_UNSUPPORTED, "hash function 0x%llx is not supported",
                    (unsigned long long)mh_code);
}

int fog_cid_of(fog_cid *out, uint64_t version, uint64_t codec, uint64_t mh_code,
               const uint8_t *data, size_t len)
{
    if (mh_code == FOG_MC_IDENTITY) {
        return fog_cid_make(out, version, codec, mh_code, data, len);
    }
    uint8_t digest[64];
    size_t digest_len = 0;
    if (hash_compute(mh_code, data, len, digest, &digest_len) < 0) {
        return hash_unsupported(mh_code);
    }
    return fog_cid_make(out, version, codec, mh_code, digest, digest_len);
}

/* A truncated digest (multihash allows them) matches the same-length prefix of the full hash,
 * as go-multihash's Sum with a length does. */
int fog_cid_verify(const fog_cid *c, const uint8_t *data, size_t len)
{
    fog_slice want = fog_cid_digest(c);
    bool ok;
    if (c->mh_code == FOG_MC_IDENTITY) {
        ok = len == want.len && (len == 0 || memcmp(data, want.p, len) == 0);
    } else {
        uint8_t digest[64];
        size_t digest_len = 0;
        if (hash_compute(c->mh_code, data, len, digest, &digest_len) < 0) {
            return hash_unsupported(c->mh_code);
        }
        if (want.len < FOG_DIGEST_MIN) {
            /* A digest cut this short would let almost any bytes pass as the block (boxo's
             * verifcid refuses them for the same reason). */
            return fog_errf(FOG_ERR_UNSUPPORTED, "a %zu-byte digest is too short to verify",
                            want.len);
        }
        ok = want.len <= digest_len && (want.len == 0 || memcmp(digest, want.p, want.len) == 0);
    }
    if (!ok) {
        char s[FOG_CID_STR_MAX];
        if (fog_cid_format(c, 0, s, sizeof s) < 0) {
            s[0] = '\0';
        }
        return fog_errf(FOG_ERR_HASH_MISMATCH, "%zu bytes do not match CID %s", len, s);
    }
    return 0;
}

bool fog_cid_eq(const fog_cid *a, const fog_cid *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

int fog_cid_to_v1(const fog_cid *in, fog_cid *out)
{
    if (in->version == 1) {
        *out = *in;
        return 0;
    }
    fog_cid tmp = *in; /* in and out may be the same object */
    return fog_cid_make(out, 1, FOG_MC_DAG_PB, tmp.mh_code, tmp.bytes + tmp.digest_off,
                        tmp.digest_len);
}

int fog_cid_to_v0(const fog_cid *in, fog_cid *out)
{
    if (in->version == 0) {
        *out = *in;
        return 0;
    }
    fog_cid tmp = *in;
    return fog_cid_make(out, 0, tmp.codec, tmp.mh_code, tmp.bytes + tmp.digest_off, tmp.digest_len);
}

int fog_cid_vec_push(fog_cid_vec *v, const fog_cid *c)
{
    if (v->n == v->cap) {
        size_t cap = v->cap > 0 ? v->cap * 2 : 64;
        size_t bytes;
        if (fog_mul_size(cap, sizeof *v->items, &bytes) < 0) {
            return FOG_ERR_NOMEM;
        }
        fog_cid *p = realloc(v->items, bytes);
        if (p == NULL) {
            return FOG_ERR_NOMEM;
        }
        v->items = p;
        v->cap = cap;
    }
    v->items[v->n++] = *c;
    return 0;
}

void fog_cid_vec_clear(fog_cid_vec *v)
{
    free(v->items);
    v->items = NULL;
    v->n = v->cap = 0;
}
