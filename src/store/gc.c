/* gc.c: garbage collection: mark every block reachable from a pin, sweep the rest.
 * All in one LMDB write transaction, committed durably: a crash before the commit deletes
 * nothing, and no other writer can add a block or pin between the mark and the sweep.
 * Mark: first every recursive pin is walked depth-first (an explicit stack, so deep DAGs cannot
 * overflow the C stack), following links through the caller's links_fn; then every direct pin
 * marks its block only. Two in-memory hash sets: "visited" holds CIDv1 bytes (a block is walked
 * once per codec, since the same bytes read as raw and as dag-pb have different links), "keep"
 * holds multihash bytes, the blocks' keys. Raw blocks (codec 0x55) have no links by definition,
 * so they are marked without reading their bytes: a walk over a 1 GiB file touches only its
 * dag-pb nodes. Identity CIDs are walked from their digest (an inlined dag-pb node may link to
 * stored blocks) and are never stored. A block missing under a recursive pin is skipped, not an
 * error (store.h); a block that links_fn cannot read stops gc, because deleting on a partial
 * mark could lose pinned data.
 * Sweep: one cursor pass over "blocks" deleting keys not in "keep"; the "content_bytes" counter
 * drops in the same transaction.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fog/mf.h"

/* An open-addressing hash set of byte strings up to 255 bytes (linear probing, load <= 1/2).
 * Keys are kept in one buffer as (length byte, bytes); a slot holds offset + 1, 0 when empty. */
typedef struct {
    size_t *slots;
    size_t cap; /* a power of two, or 0 before the first add */
    size_t count;
    fog_buf keys;
} keyset;

static uint64_t key_hash(const uint8_t *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a 64 */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 0x100000001b3u;
    }
    return h ^ (h >> 29);
}

static bool slot_matches(const keyset *ks, size_t slot, const uint8_t *p, size_t len)
{
    size_t off = ks->slots[slot] - 1;
    return ks->keys.p[off] == len && memcmp(&ks->keys.p[off + 1], p, len) == 0;
}

/* The slot holding p, or the empty slot where it would go. */
static size_t keyset_slot(const keyset *ks, const uint8_t *p, size_t len)
{
    size_t mask = ks->cap - 1;
    size_t i = (size_t)key_hash(p, len) & mask;
    while (ks->slots[i] != 0 && !slot_matches(ks, i, p, len)) {
        i = (i + 1) & mask;
    }
    return i;
}

static bool keyset_has(const keyset *ks, const uint8_t *p, size_t len)
{
    return ks->cap > 0 && ks->slots[keyset_slot(ks, p, len)] != 0;
}

static int keyset_grow(keyset *ks)
{
    size_t cap = ks->cap == 0 ? 1024 : ks->cap * 2;
    size_t bytes;
    if (cap < ks->cap || fog_mul_size(cap, sizeof(size_t), &bytes) < 0) {
        return FOG_ERR_NOMEM;
    }
    size_t *old = ks->slots;
    size_t old_cap = ks->cap;
    if ((ks->slots = calloc(cap, sizeof(size_t))) == NULL) {
        ks->slots = old;
        return FOG_ERR_NOMEM;
    }
    ks->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i] != 0) {
            size_t off = old[i] - 1;
            ks->slots[keyset_slot(ks, &ks->keys.p[off + 1], ks->keys.p[off])] = old[i];
        }
    }
    free(old);
    return 0;
}

/* 1 when p was added, 0 when it was there already, or FOG_ERR_NOMEM / FOG_ERR_LIMIT. */
static int keyset_add(keyset *ks, const uint8_t *p, size_t len)
{
    if (len > UINT8_MAX) {
        return FOG_ERR_LIMIT;
    }
    int rc;
    if (ks->count + 1 > ks->cap / 2 && (rc = keyset_grow(ks)) < 0) {
        return rc;
    }
    size_t slot = keyset_slot(ks, p, len);
    if (ks->slots[slot] != 0) {
        return 0;
    }
    size_t off = ks->keys.len;
    if ((rc = fog_buf_u8(&ks->keys, (uint8_t)len)) < 0 ||
        (rc = fog_buf_append(&ks->keys, p, len)) < 0) {
        ks->keys.len = off;
        return rc;
    }
    ks->slots[slot] = off + 1;
    ks->count++;
    return 1;
}

static void keyset_clear(keyset *ks)
{
    free(ks->slots);
    fog_buf_clear(&ks->keys);
}

typedef struct {
    fog_store *s;
    MDB_txn *txn;
    fog_links_fn links_fn;
    keyset visited; /* CIDv1 bytes of walked blocks */
    keyset keep;    /* multihash bytes of blocks to keep */
    fog_buf stack;  /* fog_cid values still to walk */
    int pass;       /* the pin kind the current pass over the pins handles */
} gc_state;

static int keep_add(gc_state *g, const fog_cid *c)
{
    if (c->mh_code == FOG_MC_IDENTITY) {
        return 0;
    }
    fog_slice mh = fog_cid_mh(c);
    int rc = keyset_add(&g->keep, mh.p, mh.len);
    return rc < 0 ? rc : 0;
}

/* links_fn's emit: queues a linked CID unless it was walked already. */
static int emit(void *ctx, const fog_cid *c)
{
    gc_state *g = ctx;
    fog_cid key;
    int rc = fog__store_pin_key(c, &key);
    if (rc < 0) {
        return rc;
    }
    if (keyset_has(&g->visited, key.bytes, key.len)) {
        return 0;
    }
    return fog_buf_append(&g->stack, &key, sizeof key);
}

static int links_failed(const fog_cid *c, int rc)
{
    char why[256];
    snprintf(why, sizeof why, "%s", fog_err_detail(rc));
    return fog_errf(rc, "gc stopped, nothing deleted: cannot read the links of %s: %s",
                    fog_cid_str(c), why);
}

/* Marks c (a CIDv1) and queues its links. */
static int visit(gc_state *g, const fog_cid *c)
{
    int rc = keyset_add(&g->visited, c->bytes, c->len);
    if (rc <= 0 || (rc = keep_add(g, c)) < 0 || c->codec == FOG_MC_RAW) {
        return rc;
    }
    fog_slice data = fog_cid_digest(c);
    if (c->mh_code != FOG_MC_IDENTITY) {
        fog_slice mh = fog_cid_mh(c);
        MDB_val k = {mh.len, (void *)(uintptr_t)mh.p};
        MDB_val v;
        rc = mdb_get(g->txn, g->s->blocks, &k, &v);
        if (rc == MDB_NOTFOUND) {
            return 0; /* missing under a pin: kept as far as it goes */
        }
        if (rc != 0) {
            return fog__store_mdb_err(g->s, rc, "gc reading a block");
        }
        data = fog_slice_make(v.mv_data, v.mv_size);
    }
    rc = g->links_fn(c, data, emit, g);
    return rc < 0 ? links_failed(c, rc) : 0;
}

static int walk(gc_state *g, const fog_cid *root)
{
    int rc = emit(g, root);
    while (rc == 0 && g->stack.len >= sizeof(fog_cid)) {
        fog_cid c;
        g->stack.len -= sizeof c;
        memcpy(&c, &g->stack.p[g->stack.len], sizeof c);
        rc = visit(g, &c);
    }
    return rc;
}

static int pin_mark(void *ctx, const fog_cid *c, int kind)
{
    gc_state *g = ctx;
    if (kind != g->pass) {
        return 0;
    }
    return kind == FOG_PIN_RECURSIVE ? walk(g, c) : keep_add(g, c);
}

static int sweep(gc_state *g, fog_gc_stats *st)
{
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(g->txn, g->s->blocks, &cur);
    if (rc != 0) {
        return fog__store_mdb_err(g->s, rc, "gc sweep");
    }
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        if (keyset_has(&g->keep, k.mv_data, k.mv_size)) {
            st->blocks_kept++;
        } else {
            st->blocks_removed++;
            st->bytes_removed += v.mv_size;
            if ((rc = mdb_cursor_del(cur, 0)) != 0) {
                break;
            }
        }
        /* After a delete the cursor already sits on the next entry; MDB_NEXT knows (C_DEL). */
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) {
        return fog__store_mdb_err(g->s, rc, "gc sweep");
    }
    return fog__store_content_add(g->s, g->txn, -(int64_t)st->bytes_removed);
}

int fog_store_gc(fog_store *s, fog_links_fn links_fn, fog_gc_stats *stats_out)
{
    gc_state g = {.s = s, .links_fn = links_fn};
    fog_gc_stats st = {0};
    if (s->mode != FOG_STORE_EXCLUSIVE) {
        return fog_errf(FOG_ERR_INVALID, "repository %s: gc needs it to itself (open exclusive)",
                        s->dir);
    }
    int rc = fog__store_write_begin(s, &g.txn);
    if (rc < 0) {
        return rc;
    }
    g.pass = FOG_PIN_RECURSIVE;
    if ((rc = fog__store_pin_each(s, g.txn, pin_mark, &g)) == 0) {
        g.pass = FOG_PIN_DIRECT;
        rc = fog__store_pin_each(s, g.txn, pin_mark, &g);
    }
    if (rc == FOG_ERR_NOMEM) {
        rc = fog_errf(rc, "gc: out of memory marking %zu blocks", g.keep.count);
    }
    if (rc == 0) {
        rc = sweep(&g, &st);
    }
    keyset_clear(&g.visited);
    keyset_clear(&g.keep);
    fog_buf_clear(&g.stack);
    if (rc < 0) {
        mdb_txn_abort(g.txn);
        return rc;
    }
    if ((rc = fog__store_commit(s, g.txn, true)) < 0) {
        return rc;
    }
    if (stats_out != NULL) {
        *stats_out = st;
    }
    return 0;
}
