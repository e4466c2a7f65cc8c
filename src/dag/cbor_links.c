/* cbor_links.c: a validating walk over one DAG-CBOR block that reports every CID link.
 * DAG-CBOR (ipld/ipld specs/codecs/dag-cbor/spec.md, PROTOCOLS.md 2.4) is CBOR (RFC 8949)
 * restricted to definite lengths, string map keys, the simple values false/true/null, 64-bit
 * floats that are neither NaN nor infinite, and one tag: 42, a CID link carried as a byte string
 * of 0x00 followed by the binary CID. The walker is a recursive descent with a depth cap; it
 * is the skeleton the full decoder will grow from (item() dispatches on the major type, and each
 * kind of item has its own function that a decoder can turn into a builder).
 * Two modes. Lenient (what fog_dag_links uses) accepts what go-ipld-prime and @ipld/dag-cbor
 * accept when decoding old data: non-minimal integers and lengths, unsorted map keys, 16- and
 * 32-bit floats, a tag 42 head in a longer form. Strict additionally demands the canonical form
 * (shortest heads, keys sorted length-first then bytewise, only 64-bit floats, tag 42 written
 * d8 2a, valid UTF-8 text). Both refuse indefinite lengths, undefined, other simple values and
 * tags, NaN and infinities, non-string and duplicate map keys (negative fixture
 * duplicate-keys.json), a link that is not 0x00 + a valid CID, and trailing bytes.
 * Duplicate keys are found cheaply: while keys arrive in canonical order each is compared with
 * the one before; when a map turns out unsorted its keys (kept on a stack shared by the open
 * maps) are sorted once at the end of the map and neighbours compared, so a hostile 2 MiB map
 * costs O(n log n), not O(n^2).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "dag/cbor.h"

enum { MT_UINT = 0, MT_NINT, MT_BYTES, MT_TEXT, MT_ARRAY, MT_MAP, MT_TAG, MT_SIMPLE };

#define CBOR_TAG_CID 42

typedef struct {
    fog_reader r;
    size_t len; /* whole block, to report offsets */
    bool strict;
    fog_cid_fn emit;
    void *emit_ctx;
    fog_slice *keys; /* keys of every open map, innermost last */
    size_t n_keys;
    size_t cap_keys;
} walker;

static int fail(const walker *w, const char *what)
{
    int rc = w->r.err != 0 ? w->r.err : FOG_ERR_PROTO;
    return fog_errf(rc, "dag-cbor: %s at byte %zu", what, w->len - w->r.left);
}

/* The head of an item: major type, additional information and its argument. Floats keep their
 * bits in arg. Reserved (28-30) and indefinite (31) forms are refused here. */
static int head(walker *w, unsigned *major, unsigned *info, uint64_t *arg)
{
    uint8_t b = 0;
    fog_reader_u8(&w->r, &b);
    *major = b >> 5;
    *info = b & 31u;
    if (w->r.err != 0) {
        return fail(w, "item cut short");
    }
    uint8_t v8 = 0;
    uint16_t v16 = 0;
    uint32_t v32 = 0;
    uint64_t min = 0; /* the smallest argument this width may carry in canonical form */
    if (*info < 24) {
        *arg = *info;
    } else if (*info == 24) {
        fog_reader_u8(&w->r, &v8);
        *arg = v8;
        min = 24;
    } else if (*info == 25) {
        fog_reader_be16(&w->r, &v16);
        *arg = v16;
        min = 0x100;
    } else if (*info == 26) {
        fog_reader_be32(&w->r, &v32);
        *arg = v32;
        min = 0x10000;
    } else if (*info == 27) {
        fog_reader_be64(&w->r, arg);
        min = 0x100000000ull;
    } else {
        return fail(w, *info == 31 ? "indefinite length or break" : "reserved additional info");
    }
    if (w->r.err != 0) {
        return fail(w, "item head cut short");
    }
    if (w->strict && *major != MT_SIMPLE && *arg < min) {
        return fail(w, "integer or length not in its shortest form");
    }
    return 0;
}


/* The bytes of a byte or text string whose length is arg. */
static int string_body(walker *w, unsigned major, uint64_t arg, fog_slice *out)
{
    if (arg > w->r.left) {
        fog_reader_fail(&w->r, FOG_ERR_TRUNCATED);
        return fail(w, "string longer than the block");
    }
    fog_reader_bytes(&w->r, (size_t)arg, out);
    if (w->strict && major == MT_TEXT && !fog__utf8_valid(*out)) {
        return fail(w, "text string is not valid UTF-8");
    }
    return 0;
}

/* Tag 42: a byte string holding 0x00 then a binary CID. */
static int link_item(walker *w, unsigned info)
{
    if (w->strict && info != 24) {
        return fail(w, "tag 42 not written as d8 2a");
    }
    unsigned major, sinfo;
    uint64_t arg;
    fog_slice body;
    int rc = head(w, &major, &sinfo, &arg);
    if (rc < 0) {
        return rc;
    }
    if (major != MT_BYTES) {
        return fail(w, "tag 42 does not hold a byte string");
    }
    if ((rc = string_body(w, major, arg, &body)) < 0) {
        return rc;
    }
    fog_cid c;
    if (body.len < 2 || body.p[0] != 0x00 || fog_cid_from_bytes(&c, body.p + 1, body.len - 1) < 0) {
        return fail(w, "tag 42 does not hold 0x00 and a valid CID");
    }
    if (w->emit != NULL) {
        return w->emit(w->emit_ctx, &c);
    }
    return 0;
}

/* Major type 7: false, true, null and non-finite-free floats. */
static int simple_item(walker *w, unsigned info, uint64_t bits)
{
    if (info >= 20 && info <= 22) {
        return 0;
    }
    bool finite;
    if (info == 25) {
        finite = ((bits >> 10) & 0x1f) != 0x1f;
    } else if (info == 26) {
        finite = ((bits >> 23) & 0xff) != 0xff;
    } else if (info == 27) {
        finite = ((bits >> 52) & 0x7ff) != 0x7ff;
    } else {
        return fail(w, info == 23 ? "undefined is not allowed" : "simple value not allowed");
    }
    if (!finite) {
        return fail(w, "NaN or infinity is not allowed");
    }
    if (w->strict && info != 27) {
        return fail(w, "float not encoded in 64 bits");
    }
    return 0;
}

static int item(walker *w, unsigned depth);

static int array_items(walker *w, uint64_t n, unsigned depth)
{
    if (n > w->r.left) {
        fog_reader_fail(&w->r, FOG_ERR_TRUNCATED);
        return fail(w, "array longer than the block");
    }
    for (uint64_t i = 0; i < n; i++) {
        int rc = item(w, depth + 1);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* DAG-CBOR key order: shorter first, then bytewise (RFC 7049 canonical). */
static int key_cmp(const fog_slice *a, const fog_slice *b)
{
    if (a->len != b->len) {
        return a->len < b->len ? -1 : 1;
    }
    return a->len == 0 ? 0 : memcmp(a->p, b->p, a->len);
}

static int key_cmp_q(const void *a, const void *b)
{
    return key_cmp(a, b);
}

static int key_push(walker *w, fog_slice key)
{
    if (w->n_keys == w->cap_keys) {
        size_t cap = w->cap_keys ? w->cap_keys * 2 : 32;
        size_t bytes;
        fog_slice *p = NULL;
        if (fog_mul_size(cap, sizeof *p, &bytes) < 0 || (p = realloc(w->keys, bytes)) == NULL) {
            return fog_errf(FOG_ERR_NOMEM, "dag-cbor: no memory for map keys");
        }
        w->keys = p;
        w->cap_keys = cap;
    }
    w->keys[w->n_keys++] = key;
    return 0;
}

/* Reads one key, pushes it, and compares it with the previous key of the same map. */
static int map_key(walker *w, size_t base, bool *sorted)
{
    unsigned major, info;
    uint64_t arg;
    fog_slice key;
    int rc = head(w, &major, &info, &arg);
    if (rc < 0) {
        return rc;
    }
    if (major != MT_TEXT) {
        return fail(w, "map key is not a string");
    }
    if ((rc = string_body(w, major, arg, &key)) < 0 || (rc = key_push(w, key)) < 0) {
        return rc;
    }
    if (w->n_keys - base < 2) {
        return 0;
    }
    int cmp = key_cmp(&w->keys[w->n_keys - 2], &w->keys[w->n_keys - 1]);
    if (cmp == 0) {
        return fail(w, "duplicate map key");
    }
    if (cmp > 0 && w->strict) {
        return fail(w, "map keys not in canonical order");
    }
    *sorted = *sorted && cmp < 0;
    return 0;
}

static int map_items(walker *w, uint64_t n, unsigned depth)
{
    if (n > w->r.left / 2) {
        fog_reader_fail(&w->r, FOG_ERR_TRUNCATED);
        return fail(w, "map longer than the block");
    }
    size_t base = w->n_keys;
    bool sorted = true;
    int rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        rc = map_key(w, base, &sorted);
        if (rc == 0) {
            rc = item(w, depth + 1);
        }
    }
    if (rc == 0 && !sorted) {
        fog_slice *k = w->keys + base;
        size_t cnt = w->n_keys - base;
        qsort(k, cnt, sizeof *k, key_cmp_q);
        for (size_t i = 1; i < cnt && rc == 0; i++) {
            if (key_cmp(&k[i - 1], &k[i]) == 0) {
                rc = fail(w, "duplicate map key");
            }
        }
    }
    w->n_keys = base;
    return rc;
}

static int item(walker *w, unsigned depth)
{
    if (depth > FOG__CBOR_MAX_DEPTH) {
        return fog_errf(FOG_ERR_LIMIT, "dag-cbor: nesting deeper than %d", FOG__CBOR_MAX_DEPTH);
    }
    unsigned major, info;
    uint64_t arg;
    fog_slice s;
    int rc = head(w, &major, &info, &arg);
    if (rc < 0) {
        return rc;
    }
    switch (major) {
    case MT_UINT:
    case MT_NINT:
        return 0;
    case MT_BYTES:
    case MT_TEXT:
        return string_body(w, major, arg, &s);
    case MT_ARRAY:
        return array_items(w, arg, depth);
    case MT_MAP:
        return map_items(w, arg, depth);
    case MT_TAG:
        if (arg != CBOR_TAG_CID) {
            return fail(w, "tag other than 42");
        }
        return link_item(w, info);
    default:
        return simple_item(w, info, arg);
    }
}

int fog__cbor_walk(const uint8_t *p, size_t len, bool strict, fog_cid_fn emit, void *emit_ctx)
{
    walker w;
    memset(&w, 0, sizeof w);
    fog_reader_init(&w.r, p, len);
    w.len = len;
    w.strict = strict;
    w.emit = emit;
    w.emit_ctx = emit_ctx;
    int rc = item(&w, 0);
    if (rc == 0 && w.r.left != 0) {
        rc = fail(&w, "trailing bytes after the top-level item");
    }
    free(w.keys);
    return rc;
}
