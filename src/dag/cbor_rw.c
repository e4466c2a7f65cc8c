/* cbor_rw.c: the strict DAG-CBOR item readers and canonical writers of dag/cbor.h.
 * DAG-CBOR (ipld/ipld specs/codecs/dag-cbor/spec.md; PROTOCOLS.md 2.4) is CBOR (RFC 8949) with
 * every integer and length in its shortest head, no indefinite lengths, string map keys in
 * length-first then bytewise order, and one tag, 42, for CID links. Codecs of fixed-shape maps
 * (IPNS data, version nodes) read their fields with these pieces and write them back in the one
 * canonical form, so that decode and encode agree byte for byte. The general validating walk
 * over arbitrary DAG-CBOR (both lenient and strict) is cbor_links.c.
 */
#include "dag/cbor.h"

#include <string.h>

bool fog__utf8_valid(fog_slice s)
{
    static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
    size_t i = 0;
    while (i < s.len) {
        uint8_t c = s.p[i];
        size_t n; /* continuation bytes */
        if (c < 0x80) {
            n = 0;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
        } else {
            return false;
        }
        if (n > s.len - i - 1) {
            return false;
        }
        uint32_t cp = (uint32_t)(c & (0x7f >> n));
        for (size_t k = 1; k <= n; k++) {
            if ((s.p[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (uint32_t)(s.p[i + k] & 0x3f);
        }
        if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false; /* overlong, a surrogate, or beyond Unicode */
        }
        i += n + 1;
    }
    return true;
}

void fog__cbor_head_read(fog_reader *r, fog__cbor_head *h)
{
    uint8_t ib = 0;
    fog_reader_u8(r, &ib);
    h->major = (uint8_t)(ib >> 5);
    h->info = (uint8_t)(ib & 0x1f);
    h->arg = h->info;
    uint8_t b8 = 0;
    uint16_t b16 = 0;
    uint32_t b32 = 0;
    uint64_t min = 0; /* the smallest argument this width may carry in the shortest form */
    switch (h->info) {
    case 24:
        fog_reader_u8(r, &b8);
        h->arg = b8;
        min = 24;
        break;
    case 25:
        fog_reader_be16(r, &b16);
        h->arg = b16;
        min = 0x100;
        break;
    case 26:
        fog_reader_be32(r, &b32);
        h->arg = b32;
        min = 0x10000;
        break;
    case 27:
        fog_reader_be64(r, &h->arg);
        min = 0x100000000ULL;
        break;
    default:
        if (h->info > 27) {
            fog_reader_fail(r, FOG_ERR_PROTO); /* reserved, or indefinite length (31) */
        }
        return;
    }
    if (h->major != FOG__CBOR_SIMPLE && h->arg < min) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
}

void fog__cbor_string(fog_reader *r, const fog__cbor_head *h, fog_slice *out)
{
    if (r->err == 0 && h->arg > r->left) {
        fog_reader_fail(r, FOG_ERR_TRUNCATED);
    }
    fog_reader_bytes(r, r->err == 0 ? (size_t)h->arg : 0, out);
    if (r->err == 0 && h->major == FOG__CBOR_TEXT && !fog__utf8_valid(*out)) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
}

bool fog__cbor_key_before(fog_slice a, fog_slice b)
{
    if (a.len != b.len) {
        return a.len < b.len;
    }
    return a.len > 0 && memcmp(a.p, b.p, a.len) < 0;
}

void fog__cbor_key_read(fog_reader *r, fog_slice *prev, bool first, fog_slice *key)
{
    fog__cbor_head h;
    fog__cbor_head_read(r, &h);
    if (r->err == 0 && h.major != FOG__CBOR_TEXT) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    fog__cbor_string(r, &h, key);
    if (r->err == 0 && !first && !fog__cbor_key_before(*prev, *key)) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    *prev = *key;
}

void fog__cbor_link_read(fog_reader *r, fog_cid *out)
{
    fog__cbor_head h;
    fog__cbor_head_read(r, &h);
    if (r->err == 0 && (h.major != FOG__CBOR_TAG || h.arg != FOG__CBOR_TAG_CID || h.info != 24)) {
        fog_reader_fail(r, FOG_ERR_PROTO); /* only tag 42, and only as d8 2a */
    }
    fog__cbor_head_read(r, &h);
    if (r->err == 0 && h.major != FOG__CBOR_BYTES) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    fog_slice b = {0};
    fog__cbor_string(r, &h, &b);
    if (r->err != 0) {
        return;
    }
    if (b.len < 2 || b.p[0] != 0x00 || fog_cid_from_bytes(out, b.p + 1, b.len - 1) != 0) {
        fog_reader_fail(r, FOG_ERR_PROTO); /* 0x00 (the old multibase identity prefix), a CID */
    }
}

int fog__cbor_head_put(fog_buf *b, uint8_t major, uint64_t arg)
{
    uint8_t tmp[9];
    size_t n = 1;
    uint8_t ib = (uint8_t)(major << 5);
    if (arg < 24) {
        tmp[0] = (uint8_t)(ib | arg);
    } else {
        unsigned bytes = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffffULL ? 4 : 8;
        tmp[0] = (uint8_t)(ib | (bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27));
        for (unsigned i = 0; i < bytes; i++) {
            tmp[1 + i] = (uint8_t)(arg >> (8 * (bytes - 1 - i)));
        }
        n += bytes;
    }
    return fog_buf_append(b, tmp, n);
}

int fog__cbor_text_put(fog_buf *b, const char *s, size_t len)
{
    int rc = fog__cbor_head_put(b, FOG__CBOR_TEXT, len);
    return rc < 0 || len == 0 ? rc : fog_buf_append(b, s, len);
}

int fog__cbor_bytes_put(fog_buf *b, const uint8_t *p, size_t len)
{
    int rc = fog__cbor_head_put(b, FOG__CBOR_BYTES, len);
    return rc < 0 || len == 0 ? rc : fog_buf_append(b, p, len);
}

int fog__cbor_link_put(fog_buf *b, const fog_cid *c)
{
    static const uint8_t tag42[2] = {0xd8, 0x2a};
    size_t start = b->len;
    int rc = fog_buf_append(b, tag42, sizeof tag42);
    if (rc == 0) {
        rc = fog__cbor_head_put(b, FOG__CBOR_BYTES, (uint64_t)c->len + 1);
    }
    if (rc == 0) {
        rc = fog_buf_u8(b, 0x00);
    }
    if (rc == 0) {
        rc = fog_buf_append(b, c->bytes, c->len);
    }
    if (rc < 0) {
        b->len = start;
    }
    return rc;
}
