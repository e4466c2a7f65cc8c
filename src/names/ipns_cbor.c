/* ipns_cbor.c: the DAG-CBOR `data` map of an IPNS record, read strictly and written canonically.
 * DAG-CBOR (ipld/ipld specs/codecs/dag-cbor/spec.md; PROTOCOLS.md 2.4) is CBOR (RFC 8949) with
 * integers and lengths in their shortest form, no indefinite lengths, string map keys sorted
 * length-first then bytewise (RFC 7049 canonical order) without duplicates, only 64-bit floats
 * (not NaN or infinities), only the simple values false/true/null, and only tag 42 (a CID after
 * a 0x00 byte). The map must hold the five keys the spec requires (TTL, Value, Sequence,
 * Validity, ValidityType); other keys are the spec's "extensible data": their values are walked
 * to check their form, to a depth of FOG_IPNS_CBOR_DEPTH_MAX, and otherwise ignored, except
 * fog's own "FogVersion" (the binary CID of the name's newest version node, fog/version.h, in a
 * byte string), which is read when it holds a CID (another publisher's value of that key is
 * ignored like the rest). Not a tag-42 link: the npm ipns package (helia) decodes `data` with
 * cborg and no tag decoders, and refuses a record carrying any tag.
 * Why strict: the signature covers these bytes, so accepting a looser form buys nothing, and
 * helia (@ipld/dag-cbor decodes with cborg's strict mode) rejects the same forms.
 * Integers are unsigned and at most INT64_MAX: boxo reads them as int64 (go-ipld-prime AsInt).
 */
#include "names/internal.h"

#include <string.h>

#include "dag/cbor.h"
#include "fog/mf.h"

enum {
    MT_UINT = FOG__CBOR_UINT,
    MT_NEGINT = FOG__CBOR_NEGINT,
    MT_BYTES = FOG__CBOR_BYTES,
    MT_TEXT = FOG__CBOR_TEXT,
    MT_ARRAY = FOG__CBOR_ARRAY,
    MT_MAP = FOG__CBOR_MAP,
    MT_TAG = FOG__CBOR_TAG,
};
typedef fog__cbor_head cbor_head;

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
            fog__cbor_key_read(r, &prev, i == 0, &key);
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
    fog_reader at = *r; /* a link is read from its tag head */
    cbor_head h;
    fog__cbor_head_read(r, &h);
    if (r->err != 0) {
        return;
    }
    fog_slice s;
    fog_cid cid;
    switch (h.major) {
    case MT_UINT:
    case MT_NEGINT:
        break;
    case MT_BYTES:
    case MT_TEXT:
        fog__cbor_string(r, &h, &s);
        break;
    case MT_ARRAY:
    case MT_MAP:
        container_skip(r, &h, depth);
        break;
    case MT_TAG:
        *r = at;
        fog__cbor_link_read(r, &cid);
        break;
    default:
        simple_check(r, &h);
        break;
    }
}

enum {
    K_TTL = 1,
    K_VALUE = 2,
    K_SEQUENCE = 4,
    K_VALIDITY = 8,
    K_VALIDITY_TYPE = 16,
    K_ALL = 31,
    K_FOG_VERSION = 32, /* optional */
};

static int key_id(fog_slice k)
{
    static const struct {
        const char *name;
        int id;
    } keys[] = {{"TTL", K_TTL},
                {"Value", K_VALUE},
                {"Sequence", K_SEQUENCE},
                {"Validity", K_VALIDITY},
                {"ValidityType", K_VALIDITY_TYPE},
                {FOG_IPNS_VERSION_KEY, K_FOG_VERSION}};
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
    fog__cbor_head_read(r, &h);
    if (r->err == 0 && (h.major != MT_UINT || h.arg > (uint64_t)INT64_MAX)) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    *out = r->err == 0 ? h.arg : 0;
}

static void bytes_field(fog_reader *r, fog_slice *out)
{
    cbor_head h;
    fog__cbor_head_read(r, &h);
    if (r->err == 0 && h.major != MT_BYTES) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    fog__cbor_string(r, &h, out);
}

/* FogVersion: a byte string holding a binary CID is taken; any other well-formed value is
 * skipped. */
static void version_value(fog_reader *r, fog_ipns_record *rec)
{
    fog_reader peek = *r;
    cbor_head h;
    fog_slice b = {0};
    fog__cbor_head_read(&peek, &h);
    if (peek.err == 0 && h.major == MT_BYTES) {
        fog__cbor_string(&peek, &h, &b);
    }
    if (peek.err != 0 || h.major != MT_BYTES || fog_cid_from_bytes(&rec->version, b.p, b.len) < 0) {
        item_skip(r, 1);
        return;
    }
    *r = peek;
    rec->has_version = true;
}

static void known_value(fog_reader *r, int id, fog_ipns_record *rec)
{
    switch (id) {
    case K_FOG_VERSION:
        version_value(r, rec);
        break;
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
    fog__cbor_head_read(&r, &h);
    if (r.err == 0 && (h.major != MT_MAP || h.arg > r.left)) {
        fog_reader_fail(&r, h.major != MT_MAP ? FOG_ERR_PROTO : FOG_ERR_TRUNCATED);
    }
    int seen = 0;
    fog_slice prev = {0};
    for (uint64_t i = 0; r.err == 0 && i < h.arg; i++) {
        fog_slice key;
        fog__cbor_key_read(&r, &prev, i == 0, &key);
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
    if ((seen & K_ALL) != K_ALL) {
        return fog_errf(FOG_ERR_PROTO, "IPNS record data: a required key is missing");
    }
    if (rec->validity.len > FOG_IPNS_VALIDITY_MAX) {
        return fog_errf(FOG_ERR_PROTO, "IPNS record data: Validity is too long");
    }
    return 0;
}

static int text_put(fog_buf *b, const char *s)
{
    return fog__cbor_text_put(b, s, strlen(s));
}

int fog_ipns_data_encode(fog_buf *out, const uint8_t *value, size_t value_len,
                         const uint8_t *validity, size_t validity_len, uint64_t sequence,
                         uint64_t ttl_ns, const fog_cid *version)
{
    size_t start = out->len;
    /* Canonical order: TTL (3), Value (5), Sequence and Validity (8, bytewise), FogVersion (10),
     * ValidityType (12). */
    int rc = fog__cbor_head_put(out, MT_MAP, version != NULL ? 6 : 5);
    if (rc == 0 && (rc = text_put(out, "TTL")) == 0) {
        rc = fog__cbor_head_put(out, MT_UINT, ttl_ns);
    }
    if (rc == 0 && (rc = text_put(out, "Value")) == 0) {
        rc = fog__cbor_bytes_put(out, value, value_len);
    }
    if (rc == 0 && (rc = text_put(out, "Sequence")) == 0) {
        rc = fog__cbor_head_put(out, MT_UINT, sequence);
    }
    if (rc == 0 && (rc = text_put(out, "Validity")) == 0) {
        rc = fog__cbor_bytes_put(out, validity, validity_len);
    }
    if (rc == 0 && version != NULL && (rc = text_put(out, FOG_IPNS_VERSION_KEY)) == 0) {
        rc = fog__cbor_bytes_put(out, version->bytes, version->len);
    }
    if (rc == 0 && (rc = text_put(out, "ValidityType")) == 0) {
        rc = fog__cbor_head_put(out, MT_UINT, FOG_IPNS_VALIDITY_EOL);
    }
    if (rc < 0) {
        out->len = start;
    }
    return rc;
}
