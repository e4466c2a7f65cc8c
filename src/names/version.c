/* version.c: version nodes (fog/version.h), the history behind a name: their one canonical
 * DAG-CBOR encoding, a strict decoder, and walks along the prev links.
 * The node is a map of at most seven keys whose canonical order (ipld/ipld specs/codecs/
 * dag-cbor/spec.md: shorter keys first, then bytewise) is n, v, msg, prev, root, size, time, so
 * the decoder reads the keys in turn (fog__cbor_key_read refuses any unsorted or repeated key)
 * and the encoder writes them in that order. Decode accepts only what encode writes: a node's
 * CID then stands for its fields, and `decode(b)` re-encodes to b (fuzz/fuzz_version.c).
 * Walks fetch through the exporter's fetch (dag/internal.h): identity CIDs are read from the
 * CID, blocks from an untrusted source are hashed before use, a missing block is
 * FOG_ERR_NOT_FOUND naming it. A chain must step its n down by exactly one per link, so a walk
 * ends after at most head's n steps whatever the blocks say; a cycle cannot keep n stepping.
 */
#include "fog/version.h"

#include <stdio.h>
#include <string.h>

#include "dag/cbor.h"
#include "dag/internal.h"

enum { K_N, K_V, K_MSG, K_PREV, K_ROOT, K_SIZE, K_TIME, K_COUNT };

/* In canonical order: the index is the key's id. */
static const char *const key_names[K_COUNT] = {"n", "v", "msg", "prev", "root", "size", "time"};

/* A message is optional text: at most FOG_VERSION_MSG_MAX bytes of UTF-8 without NUL. */
static const char *msg_problem(fog_slice m)
{
    if (m.len > FOG_VERSION_MSG_MAX) {
        return "message longer than 1024 bytes";
    }
    if (m.len > 0 && memchr(m.p, 0, m.len) != NULL) {
        return "message holds a NUL byte";
    }
    if (!fog__utf8_valid(m)) {
        return "message is not valid UTF-8";
    }
    return NULL;
}

static int key_put(fog_buf *b, int id)
{
    return fog__cbor_text_put(b, key_names[id], strlen(key_names[id]));
}

static int key_uint(fog_buf *b, int id, uint64_t v)
{
    int rc = key_put(b, id);
    return rc < 0 ? rc : fog__cbor_head_put(b, FOG__CBOR_UINT, v);
}

static int key_link(fog_buf *b, int id, const fog_cid *c)
{
    int rc = key_put(b, id);
    return rc < 0 ? rc : fog__cbor_link_put(b, c);
}

static int fields_put(const fog_version *v, fog_buf *out)
{
    uint64_t keys = 5u + (v->msg.len > 0 ? 1u : 0u) + (v->has_prev ? 1u : 0u);
    int rc = fog__cbor_head_put(out, FOG__CBOR_MAP, keys);
    if (rc == 0) {
        rc = key_uint(out, K_N, v->n);
    }
    if (rc == 0) {
        rc = key_uint(out, K_V, FOG_VERSION_FORMAT);
    }
    if (rc == 0 && v->msg.len > 0 && (rc = key_put(out, K_MSG)) == 0) {
        rc = fog__cbor_text_put(out, (const char *)v->msg.p, v->msg.len);
    }
    if (rc == 0 && v->has_prev) {
        rc = key_link(out, K_PREV, &v->prev);
    }
    if (rc == 0) {
        rc = key_link(out, K_ROOT, &v->root);
    }
    if (rc == 0) {
        rc = key_uint(out, K_SIZE, v->size);
    }
    if (rc == 0) {
        rc = key_uint(out, K_TIME, v->time);
    }
    return rc;
}

int fog_version_encode(const fog_version *v, fog_buf *out)
{
    if (v->n == 0) {
        return fog_errf(FOG_ERR_INVALID, "version node: n must be at least 1");
    }
    if (v->has_prev != (v->n > 1)) {
        return fog_errf(FOG_ERR_INVALID, "version node: prev must be present exactly when n > 1");
    }
    const char *why = msg_problem(v->msg);
    if (why != NULL) {
        return fog_errf(FOG_ERR_INVALID, "version node: %s", why);
    }
    size_t start = out->len;
    int rc = fields_put(v, out);
    if (rc < 0) {
        out->len = start;
    }
    return rc;
}

static int key_id(fog_slice k)
{
    for (int i = 0; i < K_COUNT; i++) {
        if (strlen(key_names[i]) == k.len && memcmp(key_names[i], k.p, k.len) == 0) {
            return i;
        }
    }
    return -1;
}

static void uint_value(fog_reader *r, uint64_t *out)
{
    fog__cbor_head h;
    fog__cbor_head_read(r, &h);
    if (r->err == 0 && h.major != FOG__CBOR_UINT) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    *out = r->err == 0 ? h.arg : 0;
}

static void text_value(fog_reader *r, fog_slice *out)
{
    fog__cbor_head h;
    fog__cbor_head_read(r, &h);
    if (r->err == 0 && h.major != FOG__CBOR_TEXT) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    fog__cbor_string(r, &h, out);
}

/* The value of key id into out (format into *format). */
static void value_read(fog_reader *r, int id, fog_version *out, uint64_t *format)
{
    switch (id) {
    case K_N:
        uint_value(r, &out->n);
        break;
    case K_V:
        uint_value(r, format);
        break;
    case K_MSG:
        text_value(r, &out->msg);
        break;
    case K_PREV:
        fog__cbor_link_read(r, &out->prev);
        out->has_prev = r->err == 0;
        break;
    case K_ROOT:
        fog__cbor_link_read(r, &out->root);
        break;
    case K_SIZE:
        uint_value(r, &out->size);
        break;
    default:
        uint_value(r, &out->time);
        break;
    }
}

/* The rules between fields, once the map has been read. */
static int fields_check(const fog_version *v, unsigned seen)
{
    unsigned required = 1u << K_N | 1u << K_V | 1u << K_ROOT | 1u << K_SIZE | 1u << K_TIME;
    if ((seen & required) != required) {
        return fog_errf(FOG_ERR_PROTO, "version node: a required key is missing");
    }
    if (v->n == 0) {
        return fog_errf(FOG_ERR_PROTO, "version node: n is 0");
    }
    if (v->has_prev != (v->n > 1)) {
        return fog_errf(FOG_ERR_PROTO, "version node: prev must be present exactly when n > 1");
    }
    if ((seen & 1u << K_MSG) != 0 && v->msg.len == 0) {
        return fog_errf(FOG_ERR_PROTO, "version node: msg is empty (it is left out instead)");
    }
    const char *why = msg_problem(v->msg);
    return why != NULL ? fog_errf(FOG_ERR_PROTO, "version node: %s", why) : 0;
}

int fog_version_decode(fog_version *out, const uint8_t *p, size_t len)
{
    memset(out, 0, sizeof *out);
    fog_reader r;
    fog_reader_init(&r, p, len);
    fog__cbor_head h;
    fog__cbor_head_read(&r, &h);
    if (r.err == 0 && (h.major != FOG__CBOR_MAP || h.arg < 5 || h.arg > K_COUNT)) {
        return fog_errf(FOG_ERR_PROTO, "version node: not a map of 5 to 7 keys");
    }
    unsigned seen = 0;
    fog_slice prev = {0};
    for (uint64_t i = 0; r.err == 0 && i < h.arg; i++) {
        fog_slice key;
        fog__cbor_key_read(&r, &prev, i == 0, &key);
        int id = r.err == 0 ? key_id(key) : 0;
        if (id < 0) {
            return fog_errf(FOG_ERR_PROTO, "version node: unknown key");
        }
        uint64_t format = FOG_VERSION_FORMAT;
        value_read(&r, id, out, &format);
        if (r.err == 0 && format != FOG_VERSION_FORMAT) {
            memset(out, 0, sizeof *out);
            return fog_errf(FOG_ERR_UNSUPPORTED, "version node format %llu is not supported",
                            (unsigned long long)format);
        }
        seen |= 1u << id;
    }
    int rc = r.err;
    if (rc == 0 && r.left != 0) {
        rc = fog_errf(FOG_ERR_PROTO, "version node: bytes after the map");
    } else if (rc != 0) {
        rc = fog_errf(rc, "version node: not canonical DAG-CBOR at byte %zu", len - r.left);
    } else {
        rc = fields_check(out, seen);
    }
    if (rc < 0) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

int fog_version_cid(const uint8_t *block, size_t len, fog_cid *out)
{
    return fog_cid_of(out, 1, FOG_MC_DAG_CBOR, FOG_MC_SHA2_256, block, len);
}

int fog_version_dag_size(const fog_blocksource *src, const fog_cid *root, uint64_t *out)
{
    if (root->mh_code == FOG_MC_IDENTITY) {
        *out = root->digest_len;
        return 0;
    }
    fog__exp x;
    fog__exp_init(&x, src);
    fog_slice blk;
    int rc = fog__exp_fetch(&x, root, &blk);
    if (rc < 0) {
        return rc;
    }
    uint64_t sum = blk.len;
    if (root->codec == FOG_MC_DAG_PB) {
        fog__pb_info info;
        if ((rc = fog__pb_scan(&info, blk.p, blk.len)) < 0) {
            return rc;
        }
        fog__pb_links it;
        fog__pb_links_init(&it, &info);
        fog_pblink l;
        while (fog__pb_links_next(&it, &l)) {
            if (l.has_tsize && __builtin_add_overflow(sum, l.tsize, &sum)) {
                return fog_errf(FOG_ERR_PROTO, "block %s: link sizes overflow 64 bits",
                                fog_cid_str(root));
            }
        }
    }
    *out = sum;
    return 0;
}

/* ---- walking the chain ---- */

/* One step of a walk: c, its decoded node v and its block, all lent for the call. */
typedef int (*step_fn)(void *ud, const fog_cid *c, const fog_version *v, fog_slice block);

static int chain_broken(const fog_cid *head, const fog_cid *at, const char *why)
{
    char h[FOG_CID_STR_MAX], a[FOG_CID_STR_MAX];
    if (fog_cid_format(head, 0, h, sizeof h) < 0 || fog_cid_format(at, 0, a, sizeof a) < 0) {
        snprintf(h, sizeof h, "?");
        snprintf(a, sizeof a, "?");
    }
    return fog_errf(FOG_ERR_PROTO, "version chain of %s is broken at %s: %s", h, a, why);
}

/* Fetches and decodes the node c of head's chain. */
static int node_load(fog__exp *x, const fog_cid *head, const fog_cid *c, fog_slice *blk,
                     fog_version *v)
{
    if (c->codec != FOG_MC_DAG_CBOR) {
        return chain_broken(head, c, "not a dag-cbor block");
    }
    int rc = fog__exp_fetch(x, c, blk);
    if (rc == 0 && (rc = fog_version_decode(v, blk->p, blk->len)) < 0) {
        char detail[200];
        snprintf(detail, sizeof detail, "%s", fog_err_detail(rc));
        rc = fog_errf(rc, "%s (%s)", detail, fog_cid_str(c));
    }
    return rc;
}

static int chain_walk(const fog_blocksource *src, const fog_cid *head, step_fn fn, void *ud)
{
    fog__exp x;
    fog__exp_init(&x, src);
    fog_cid c = *head;
    uint64_t want = 0; /* the n the next node must have; 0 for the head */
    for (;;) {
        fog_slice blk;
        fog_version v;
        int rc = node_load(&x, head, &c, &blk, &v);
        if (rc < 0) {
            return rc;
        }
        if (want != 0 && v.n != want) {
            char why[64];
            snprintf(why, sizeof why, "version %llu where %llu was due", (unsigned long long)v.n,
                     (unsigned long long)want);
            return chain_broken(head, &c, why);
        }
        if ((rc = fn(ud, &c, &v, blk)) != 0 || !v.has_prev) {
            return rc;
        }
        want = v.n - 1;
        c = v.prev;
    }
}

typedef struct {
    fog_version_fn fn;
    void *ud;
} log_ctx;

static int log_step(void *ud, const fog_cid *c, const fog_version *v, fog_slice block)
{
    (void)block;
    const log_ctx *k = ud;
    return k->fn(k->ud, c, v);
}

int fog_version_log(const fog_blocksource *src, const fog_cid *head, fog_version_fn fn, void *ud)
{
    log_ctx k = {fn, ud};
    return chain_walk(src, head, log_step, &k);
}

typedef struct {
    uint64_t n;
    bool at_head;
    fog_version *out;
    fog_cid *c_out;
    fog_buf *hold;
} find_ctx;

enum { FOUND = 1 };

static int find_step(void *ud, const fog_cid *c, const fog_version *v, fog_slice block)
{
    find_ctx *k = ud;
    if (k->at_head && (k->n == 0 || k->n > v->n)) {
        return fog_errf(FOG_ERR_NOT_FOUND, "version %llu not found: the latest is %llu",
                        (unsigned long long)k->n, (unsigned long long)v->n);
    }
    k->at_head = false;
    if (v->n != k->n) {
        return 0;
    }
    fog_buf_reset(k->hold);
    int rc = fog_buf_append(k->hold, block.p, block.len);
    if (rc == 0 && (rc = fog_version_decode(k->out, k->hold->p, k->hold->len)) == 0) {
        if (k->c_out != NULL) {
            *k->c_out = *c;
        }
        rc = FOUND;
    }
    return rc;
}

int fog_version_find(const fog_blocksource *src, const fog_cid *head, uint64_t n, fog_version *out,
                     fog_cid *c_out, fog_buf *hold)
{
    find_ctx k = {n, true, out, c_out, hold};
    int rc = chain_walk(src, head, find_step, &k);
    if (rc == FOUND) {
        return 0;
    }
    /* A chain steps down by one to 1, so every n in range is met; this is for safety only. */
    return rc < 0 ? rc
                  : fog_errf(FOG_ERR_NOT_FOUND, "version %llu not found", (unsigned long long)n);
}
