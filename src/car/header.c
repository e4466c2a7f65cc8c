/* header.c: the CARv1 header, a DAG-CBOR map {"roots": [CID...], "version": 1}
 * (ipld/ipld specs/transport/car/carv1, "Header"; PROTOCOLS.md 2.4 and 2.5).
 * Writing is canonical DAG-CBOR: shortest heads, keys sorted length-first ("roots" before
 * "version"), each CID as tag 42 over a byte string that starts with the 0x00 multibase prefix.
 * Reading is as strict as the reference readers agree on. Both ipld/go-car (refmt struct
 * unmarshal) and @ipld/car (its generated header validator) reject a key other than roots and
 * version and accept the two keys in either order, so fog does the same; heads must be shortest
 * (@ipld/car decodes with cborg's strict mode), nothing may follow the map, no indefinite
 * lengths. An empty roots array is accepted: go-car's v2 BlockReader, which kubo's `dag import`
 * uses, and @ipld/car both accept it, although the spec text asks for one or more roots and
 * go-car's old CarReader refused it. `version: 2` is the CARv2 pragma: FOG_ERR_UNSUPPORTED.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum { MT_UINT = 0, MT_BYTES = 2, MT_TEXT = 3, MT_ARRAY = 4, MT_MAP = 5, MT_TAG = 6 };
#define CBOR_TAG_CID 42

typedef struct {
    bool has_version;
    uint64_t version;
    bool has_roots;
    fog_cid *roots; /* given to the caller on success */
    size_t n_roots;
} header;

/* Reads one CBOR head: major type and argument, shortest form only. */
static void head(fog_reader *r, uint8_t *major, uint64_t *arg)
{
    uint8_t ib = 0;
    fog_reader_u8(r, &ib);
    *major = (uint8_t)(ib >> 5);
    uint8_t ai = (uint8_t)(ib & 31);
    uint64_t v = ai;
    uint64_t min = 0;
    if (ai == 24) {
        uint8_t b = 0;
        fog_reader_u8(r, &b);
        v = b;
        min = 24;
    } else if (ai == 25) {
        uint16_t b = 0;
        fog_reader_be16(r, &b);
        v = b;
        min = 0x100;
    } else if (ai == 26) {
        uint32_t b = 0;
        fog_reader_be32(r, &b);
        v = b;
        min = 0x10000;
    } else if (ai == 27) {
        fog_reader_be64(r, &v);
        min = 0x100000000u;
    } else if (ai > 27) {
        fog_reader_fail(r, FOG_ERR_PROTO); /* indefinite length or reserved */
    }
    if (r->err == 0 && v < min) {
        fog_reader_fail(r, FOG_ERR_PROTO); /* DAG-CBOR demands the shortest head */
    }
    *arg = r->err == 0 ? v : 0;
}

/* One root: tag 42, then a byte string holding 0x00 and the binary CID. */
static int read_root(fog_reader *r, fog_cid *out)
{
    uint8_t major;
    uint64_t arg;
    head(r, &major, &arg);
    if (r->err == 0 && (major != MT_TAG || arg != CBOR_TAG_CID)) {
        return fog_errf(FOG_ERR_PROTO, "CAR header: a root is not a CID (tag 42)");
    }
    head(r, &major, &arg);
    if (r->err == 0 && (major != MT_BYTES || arg < 2 || arg > 1 + FOG_CID_MAX)) {
        return fog_errf(FOG_ERR_PROTO, "CAR header: a root CID is not a byte string of a CID");
    }
    fog_slice b = {NULL, 0};
    fog_reader_bytes(r, (size_t)arg, &b);
    if (r->err != 0) {
        return r->err;
    }
    if (b.p[0] != 0x00) {
        return fog_errf(FOG_ERR_PROTO, "CAR header: a root CID lacks its 0x00 prefix");
    }
    if (fog_cid_from_bytes(out, b.p + 1, b.len - 1) < 0) {
        return fog_errf(FOG_ERR_PROTO, "CAR header: a root is not a valid CID");
    }
    return 0;
}

static int read_roots(fog_reader *r, header *h)
{
    uint8_t major;
    uint64_t n;
    head(r, &major, &n);
    if (r->err != 0) {
        return r->err;
    }
    if (major != MT_ARRAY) {
        return fog_errf(FOG_ERR_PROTO, "CAR header: roots is not an array");
    }
    if (n > FOG_CAR_MAX_ROOTS) {
        return fog_errf(FOG_ERR_LIMIT, "CAR header: %llu roots, more than the limit of %u",
                        (unsigned long long)n, FOG_CAR_MAX_ROOTS);
    }
    if (n > r->left) {
        return FOG_ERR_TRUNCATED; /* each root takes bytes: cannot fit, and nothing allocated */
    }
    h->has_roots = true;
    if (n == 0) {
        return 0;
    }
    h->roots = calloc((size_t)n, sizeof *h->roots);
    if (h->roots == NULL) {
        return FOG_ERR_NOMEM;
    }
    for (size_t i = 0; i < (size_t)n; i++) {
        int rc = read_root(r, &h->roots[i]);
        if (rc < 0) {
            return rc;
        }
        h->n_roots++;
    }
    return 0;
}

/* One map entry: a text key that must be "roots" or "version" and not seen before. */
static int read_entry(fog_reader *r, header *h)
{
    uint8_t major;
    uint64_t klen;
    head(r, &major, &klen);
    if (r->err != 0) {
        return r->err;
    }
    if (major != MT_TEXT || klen > 16) {
        return fog_errf(FOG_ERR_PROTO, "CAR header: a key is not roots or version");
    }
    fog_slice key = {NULL, 0};
    fog_reader_bytes(r, (size_t)klen, &key);
    if (r->err != 0) {
        return r->err;
    }
    if (key.len == 5 && memcmp(key.p, "roots", 5) == 0 && !h->has_roots) {
        return read_roots(r, h);
    }
    if (key.len == 7 && memcmp(key.p, "version", 7) == 0 && !h->has_version) {
        head(r, &major, &h->version);
        if (r->err == 0 && major != MT_UINT) {
            return fog_errf(FOG_ERR_PROTO, "CAR header: version is not an unsigned integer");
        }
        h->has_version = true;
        return r->err;
    }
    return fog_errf(FOG_ERR_PROTO, "CAR header: unknown or repeated key \"%.*s\"",
                    (int)key.len, (const char *)key.p);
}

static int read_map(fog_reader *r, header *h)
{
    uint8_t major;
    uint64_t n;
    head(r, &major, &n);
    if (r->err != 0) {
        return r->err;
    }
    if (major != MT_MAP || n == 0 || n > 2) {
        return fog_errf(FOG_ERR_PROTO, "CAR header: not a map of roots and version");
    }
    for (uint64_t i = 0; i < n; i++) {
        int rc = read_entry(r, h);
        if (rc < 0) {
            return rc;
        }
    }
    if (r->err == 0 && r->left != 0) {
        return fog_errf(FOG_ERR_PROTO, "CAR header: %zu bytes follow the header map", r->left);
    }
    return r->err;
}

/* Rules that span fields, checked once the whole map has been read. */
static int check_header(const header *h)
{
    if (!h->has_version) {
        return fog_errf(FOG_ERR_PROTO, "CAR header: no version");
    }
    if (h->version == 2) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "CARv2 is not supported yet");
    }
    if (h->version != 1) {
        return fog_errf(FOG_ERR_PROTO, "CAR version %llu is not 1",
                        (unsigned long long)h->version);
    }
    if (!h->has_roots) {
        return fog_errf(FOG_ERR_PROTO, "CAR header: no roots");
    }
    return 0;
}

int fog__car_header_parse(const uint8_t *p, size_t len, fog_cid **roots_out, size_t *n_out)
{
    header h = {0};
    fog_reader r;
    fog_reader_init(&r, p, len);
    int rc = read_map(&r, &h);
    if (rc == FOG_ERR_TRUNCATED || (rc == FOG_ERR_PROTO && r.err == FOG_ERR_PROTO)) {
        /* The reader failed without a detail of its own: cut short, or a bad head. */
        rc = fog_errf(FOG_ERR_PROTO, "CAR header: malformed DAG-CBOR (%s)",
                      rc == FOG_ERR_TRUNCATED ? "cut short"
                                              : "an indefinite length or a head longer than needed");
    }
    if (rc == 0) {
        rc = check_header(&h);
    }
    if (rc < 0) {
        free(h.roots);
        return rc;
    }
    *roots_out = h.roots;
    *n_out = h.n_roots;
    return 0;
}

/* A CBOR head in its shortest form. */
static int put_head(fog_buf *b, uint8_t major, uint64_t v)
{
    uint8_t tmp[9];
    size_t n = 1;
    uint8_t mt = (uint8_t)(major << 5);
    if (v < 24) {
        tmp[0] = (uint8_t)(mt | v);
    } else if (v <= 0xff) {
        tmp[0] = (uint8_t)(mt | 24);
        tmp[n++] = (uint8_t)v;
    } else if (v <= 0xffff) {
        tmp[0] = (uint8_t)(mt | 25);
        for (int s = 8; s >= 0; s -= 8) {
            tmp[n++] = (uint8_t)(v >> s);
        }
    } else if (v <= 0xffffffffu) {
        tmp[0] = (uint8_t)(mt | 26);
        for (int s = 24; s >= 0; s -= 8) {
            tmp[n++] = (uint8_t)(v >> s);
        }
    } else {
        tmp[0] = (uint8_t)(mt | 27);
        for (int s = 56; s >= 0; s -= 8) {
            tmp[n++] = (uint8_t)(v >> s);
        }
    }
    return fog_buf_append(b, tmp, n);
}

static int put_text(fog_buf *b, const char *s)
{
    size_t n = strlen(s);
    int rc = put_head(b, MT_TEXT, n);
    return rc < 0 ? rc : fog_buf_append(b, s, n);
}

static int put_map(fog_buf *b, const fog_cid *roots, size_t n_roots)
{
    int rc = put_head(b, MT_MAP, 2);
    if (rc == 0 && (rc = put_text(b, "roots")) == 0) {
        rc = put_head(b, MT_ARRAY, n_roots);
    }
    for (size_t i = 0; rc == 0 && i < n_roots; i++) {
        if ((rc = put_head(b, MT_TAG, CBOR_TAG_CID)) == 0 &&
            (rc = put_head(b, MT_BYTES, roots[i].len + 1)) == 0 &&
            (rc = fog_buf_u8(b, 0x00)) == 0) {
            rc = fog_buf_append(b, roots[i].bytes, roots[i].len);
        }
    }
    if (rc == 0 && (rc = put_text(b, "version")) == 0) {
        rc = put_head(b, MT_UINT, 1);
    }
    return rc;
}

int fog__car_header_write(fog_buf *out, const fog_cid *roots, size_t n_roots)
{
    fog_buf map;
    fog_buf_init(&map);
    int rc = put_map(&map, roots, n_roots);
    if (rc == 0 && (rc = fog_buf_uvarint(out, map.len)) == 0) {
        rc = fog_buf_append(out, map.p, map.len);
    }
    fog_buf_clear(&map);
    return rc;
}

size_t fog__car_section_head(const fog_cid *c, size_t data_len, uint8_t *out)
{
    size_t n = fog_uvarint_put(out, (uint64_t)c->len + data_len);
    memcpy(out + n, c->bytes, c->len);
    return n + c->len;
}
