/* ipns_cbor.c: the DAG-CBOR `data` map of an IPNS record, read strictly and written canonically.
 * DAG-CBOR (ipld/ipld specs/codecs/dag-cbor/spec.md; PROTOCOLS.md 2.4) is CBOR (RFC 8949) with
 * integers and lengths in their shortest form, no indefinite lengths, string map keys sorted
 * length-first then bytewise (RFC 7049 canonical order) without duplicates, only 64-bit floats
 * (not NaN or infinities), only the simple values false/true/null, and only tag 42 (a CID after
 * a 0x00 byte). The map must hold the five keys the spec requires (TTL, Value, Sequence,
 * Validity, ValidityType); other keys are the spec's "extensible data": their values are walked
 * to check their form, to a depth of FOG_IPNS_CBOR_DEPTH_MAX, and otherwise ignored.
 * Why strict: the signature covers these bytes, so accepting a looser form buys nothing, and
 * helia (@ipld/dag-cbor decodes with cborg's strict mode) rejects the same forms.
 * Integers are unsigned and at most INT64_MAX: boxo reads them as int64 (go-ipld-prime AsInt).
 */
#include "names/internal.h"

#include <string.h>

#include "fog/mf.h"

enum { MT_UINT = 0, MT_NEGINT, MT_BYTES, MT_TEXT, MT_ARRAY, MT_MAP, MT_TAG, MT_SIMPLE };

typedef struct {
    uint8_t major;
    uint8_t info; /* the low five bits of the initial byte */
    uint64_t arg; /* the value, length or count; for major 7 the raw argument */
} cbor_head;

/* Reads one initial byte and its argument, refusing reserved and indefinite forms and any
 * argument that a shorter form could have held. Major 7 arguments are returned raw. */
static void head_read(fog_reader *r, cbor_head *h)
{
    uint8_t ib = 0;
    fog_reader_u8(r, &ib);
    h->major = (uint8_t)(ib >> 5);
    h->info = (uint8_t)(ib & 0x1f);
    h->arg = h->info;
    uint8_t b8 = 0;
    uint16_t b16 = 0;
    uint32_t b32 = 0;
    uint64_t min = 0;
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
    if (h->major != MT_SIMPLE && h->arg < min) {
        fog_reader_fail(r, FOG_ERR_PROTO); /* not the shortest form */
    }
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_ok(fog_slice s)
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
            return false;
        }
        i += n + 1;
    }
    return true;
}

/* A string body of h->arg bytes (text checked as UTF-8), borrowed into *out. */
static void string_body(fog_reader *r, const cbor_head *h, fog_slice *out)
{
    if (r->err == 0 && h->arg > r->left) {
        fog_reader_fail(r, FOG_ERR_TRUNCATED);
    }
    fog_reader_bytes(r, r->err == 0 ? (size_t)h->arg : 0, out);
    if (r->err == 0 && h->major == MT_TEXT && !utf8_ok(*out)) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
}

/* Map keys: canonical order is shorter first, then bytewise; equal keys are duplicates. */
static bool key_before(fog_slice a, fog_slice b)
{
    if (a.len != b.len) {
        return a.len < b.len;
    }
    return a.len > 0 && memcmp(a.p, b.p, a.len) < 0;
}

/* Reads one map key (a text string) and checks it comes after *prev; *prev becomes it. */
static void map_key(fog_reader *r, fog_slice *prev, bool first, fog_slice *key)
{
    cbor_head h;
    head_read(r, &h);
    if (r->err == 0 && h.major != MT_TEXT) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    string_body(r, &h, key);
    if (r->err == 0 && !first && !key_before(*prev, *key)) {
        fog_reader_fail(r, FOG_ERR_PROTO); /* unsorted or duplicate */
    }
    *prev = *key;
}

static void item_skip(fog_reader *r, unsigned depth);

static void simple_check(fog_reader *r, const cbor_head *h)
{
    if (h->info == 27) {
        /* A float64: NaN and the infinities have an all-ones exponent. */
        if (((h->arg >> 52) & 0x7ff) == 0x7ff) {
            fog_reader_fail(r, FOG_ERR_PROTO);
        }
    } else if (h->info < 20 || h->info > 22) {
        fog_reader_fail(r, FOG_ERR_PROTO); /* only false, true and null; 16/32-bit floats no */
    }
}

static void tag_check(fog_reader *r)
{
    cbor_head h;
    head_read(r, &h);
    fog_slice b = {0};
    if (r->err == 0 && h.major != MT_BYTES) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    string_body(r, &h, &b);
    if (r->err != 0) {
        return;
    }
    fog_cid cid;
    if (b.len < 2 || b.p[0] != 0x00 || fog_cid_from_bytes(&cid, b.p + 1, b.len - 1) != 0) {
        fog_reader_fail(r, FOG_ERR_PROTO); /* tag 42: 0x00 then a binary CID */
    }
}

static void container_skip(fog_reader *r, const cbor_head *h, unsigned depth)
{
    /* Every item takes at least one byte, so a count above the bytes left cannot be real. */
    if (h->arg > r->left) {
        fog_reader_fail(r, FOG_ERR_TRUNCATED);
        return;
    }
    fog_slice prev = {0};
    for (uint64_t i = 0; i < h->arg && r->err == 0; i++) {
        if (h->major == MT_MAP) {
            fog_slice key;
            map_key(r, &prev, i == 0, &key);
        }
        item_skip(r, depth + 1);
    }
}

/* Walks one data item of any kind, checking the DAG-CBOR rules. */
static void item_skip(fog_reader *r, unsigned depth)
{
    if (depth > FOG_IPNS_CBOR_DEPTH_MAX) {
        fog_reader_fail(r, FOG_ERR_LIMIT);
        return;
    }
    cbor_head h;
    head_read(r, &h);
    if (r->err != 0) {
        return;
    }
    fog_slice s;
    switch (h.major) {
    case MT_UINT:
    case MT_NEGINT:
        break;
    case MT_BYTES:
    case MT_TEXT:
        string_body(r, &h, &s);
        break;
    case MT_ARRAY:
    case MT_MAP:
        container_skip(r, &h, depth);
        break;
    case MT_TAG:
        if (h.arg != 42) {
            fog_reader_fail(r, FOG_ERR_PROTO);
            return;
        }
        tag_check(r);
        break;
    default:
        simple_check(r, &h);
        break;
    }
}

enum { K_TTL = 1, K_VALUE = 2, K_SEQUENCE = 4, K_VALIDITY = 8, K_VALIDITY_TYPE = 16, K_ALL = 31 };

static int key_id(fog_slice k)
{
    static const struct {
        const char *name;
        int id;
    } keys[] = {{"TTL", K_TTL},
                {"Value", K_VALUE},
                {"Sequence", K_SEQUENCE},
                {"Validity", K_VALIDITY},
                {"ValidityType", K_VALIDITY_TYPE}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strlen(keys[i].name) == k.len && memcmp(keys[i].name, k.p, k.len) == 0) {
            return keys[i].id;
        }
    }
    return 0;
}

static void uint_field(fog_reader *r, uint64_t *out)
{
    cbor_head h;
    head_read(r, &h);
    if (r->err == 0 && (h.major != MT_UINT || h.arg > (uint64_t)INT64_MAX)) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    *out = r->err == 0 ? h.arg : 0;
}

static void bytes_field(fog_reader *r, fog_slice *out)
{
    cbor_head h;
    head_read(r, &h);
    if (r->err == 0 && h.major != MT_BYTES) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    string_body(r, &h, out);
}

static void known_value(fog_reader *r, int id, fog_ipns_record *rec)
{
    switch (id) {
    case K_TTL:
        uint_field(r, &rec->ttl_ns);
        break;
    case K_VALUE:
        bytes_field(r, &rec->value);
        break;
    case K_SEQUENCE:
        uint_field(r, &rec->sequence);
        break;
    case K_VALIDITY:
        bytes_field(r, &rec->validity);
        break;
    default:
        uint_field(r, &rec->validity_type);
        break;
    }
}

int fog__ipns_data_decode(fog_ipns_record *rec)
{
    fog_reader r;
    fog_reader_init(&r, rec->data.p, rec->data.len);
    cbor_head h;
    head_read(&r, &h);
    if (r.err == 0 && (h.major != MT_MAP || h.arg > r.left)) {
        fog_reader_fail(&r, h.major != MT_MAP ? FOG_ERR_PROTO : FOG_ERR_TRUNCATED);
    }
    int seen = 0;
    fog_slice prev = {0};
    for (uint64_t i = 0; r.err == 0 && i < h.arg; i++) {
        fog_slice key;
        map_key(&r, &prev, i == 0, &key);
        int id = r.err == 0 ? key_id(key) : 0;
        if (id != 0) {
            known_value(&r, id, rec);
            seen |= id;
        } else {
            item_skip(&r, 1);
        }
    }
    if (r.err != 0) {
        return fog_errf(r.err, "IPNS record data: not a valid DAG-CBOR map");
    }
    if (r.left != 0) {
        return fog_errf(FOG_ERR_PROTO, "IPNS record data: bytes after the DAG-CBOR map");
    }
    if (seen != K_ALL) {
        return fog_errf(FOG_ERR_PROTO, "IPNS record data: a required key is missing");
    }
    if (rec->validity.len > FOG_IPNS_VALIDITY_MAX) {
        return fog_errf(FOG_ERR_PROTO, "IPNS record data: Validity is too long");
    }
    return 0;
}

/* A head in its shortest form. */
static int head_put(fog_buf *b, uint8_t major, uint64_t arg)
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

static int text_put(fog_buf *b, const char *s)
{
    size_t n = strlen(s);
    int rc = head_put(b, MT_TEXT, n);
    return rc < 0 ? rc : fog_buf_append(b, s, n);
}

static int bytes_put(fog_buf *b, const uint8_t *p, size_t n)
{
    int rc = head_put(b, MT_BYTES, n);
    return rc < 0 || n == 0 ? rc : fog_buf_append(b, p, n);
}

int fog_ipns_data_encode(fog_buf *out, const uint8_t *value, size_t value_len,
                         const uint8_t *validity, size_t validity_len, uint64_t sequence,
                         uint64_t ttl_ns)
{
    size_t start = out->len;
    /* Canonical order: TTL (3), Value (5), Sequence and Validity (8, bytewise), ValidityType. */
    int rc = head_put(out, MT_MAP, 5);
    if (rc == 0 && (rc = text_put(out, "TTL")) == 0) {
        rc = head_put(out, MT_UINT, ttl_ns);
    }
    if (rc == 0 && (rc = text_put(out, "Value")) == 0) {
        rc = bytes_put(out, value, value_len);
    }
    if (rc == 0 && (rc = text_put(out, "Sequence")) == 0) {
        rc = head_put(out, MT_UINT, sequence);
    }
    if (rc == 0 && (rc = text_put(out, "Validity")) == 0) {
        rc = bytes_put(out, validity, validity_len);
    }
    if (rc == 0 && (rc = text_put(out, "ValidityType")) == 0) {
        rc = head_put(out, MT_UINT, FOG_IPNS_VALIDITY_EOL);
    }
    if (rc < 0) {
        out->len = start;
    }
    return rc;
}
