/* diff.c: fog_diff, the changes between two UnixFS trees (fog/diff.h).
 * The walk follows only CIDs that differ. For two directories it gathers each side's entries
 * (name and CID, copied out of the lent blocks), sorts them by name and merges the two lists:
 * a name on one side only is ADDED or REMOVED, a name on both with equal CIDs is skipped unread,
 * two directories are compared one level down, anything else is CHANGED. Entries are reported
 * as the merge meets them and sub-directories are compared where they stand, so the output is
 * sorted by path, depth first.
 * HAMT shards (ipfs/specs src/unixfs.md; PROTOCOLS.md 2.3): each link name starts with its
 * bucket index in hex. When both sides are shards of the same fanout, their links are paired
 * bucket by bucket: a bucket whose links (names and CIDs) are equal on both sides holds the same
 * entries and is skipped unread; two sub-shards in the same bucket are paired again one level
 * down; any other difference expands the bucket (its sub-shards fully) into entries for the
 * merge. A changed entry in a sharded directory of N entries then costs about log256(N) shards
 * per side instead of N/256. Shards of different fanouts, or a shard against a basic directory,
 * are listed in full on both sides (the merge does not care where an entry came from).
 * Bounds: directory levels are C recursion capped at FOG_DIFF_MAX_DEPTH, shard pairing recurses
 * at most once per level of the 64 hash bits, and every copied link list and entry list counts
 * against the exporter's FOG__EXP_HELD_MAX, so hostile DAGs meet FOG_ERR_LIMIT, not the end of
 * the C stack or of memory. Blocks come through the exporter's fetch (verification, identity
 * CIDs, short digests, NOT_FOUND naming the CID); a wrapper counts the source's get calls.
 */
#include "fog/diff.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct {
    const fog_blocksource *inner;
    uint64_t gets;
} counter;

typedef struct {
    fog__exp x;
    fog_blocksource src; /* counts, then asks the caller's source */
    counter cnt;
    fog_diff_fn fn;
    void *ud;
    fog_buf path; /* the current path, NUL-terminated (the NUL not counted) */
    uint64_t compared;
} differ;

/* A fetched node: whether it is a directory and, when asked, its links (copied). */
typedef struct {
    bool is_dir;
    bool hamt;
    unsigned bits; /* HAMT: hash bits per level */
    size_t pad;    /* HAMT: hex digits of a bucket index */
    bool has_links;
    fog__exp_links links;
} dnode;

/* One directory entry: name and CID bytes at offsets in an elist's bytes. */
typedef struct {
    size_t name_off, name_len, cid_off, cid_len;
    const uint8_t *name; /* set by elist_sort, once the bytes no longer move */
} ent;

typedef struct {
    fog_buf bytes;
    ent *v;
    size_t n, cap;
    size_t held; /* what this list added to x.held */
} elist;

static int count_get(void *ctx, const fog_cid *c, fog_slice *out)
{
    counter *k = ctx;
    k->gets++;
    return k->inner->get(k->inner->ctx, c, out);
}

/* The same block: codec and multihash equal (CIDv0 and its CIDv1 form are one block). */
static bool cid_same(const fog_cid *a, const fog_cid *b)
{
    return a->codec == b->codec && fog_slice_eq(fog_cid_mh(a), fog_cid_mh(b));
}

static void dnode_free(differ *d, dnode *n)
{
    if (n->has_links) {
        fog__exp_links_free(&d->x, &n->links);
        n->has_links = false;
    }
}

/* Learns whether c is a directory, fetching it only when it is dag-pb; with want_links, the
 * links of a directory are copied into n. */
static int probe(differ *d, const fog_cid *c, bool want_links, dnode *n)
{
    memset(n, 0, sizeof *n);
    if (c->codec != FOG_MC_DAG_PB) {
        return 0; /* raw leaves are files; other codecs are never UnixFS directories */
    }
    fog__exp_node node;
    int rc = fog__exp_load(&d->x, c, &node);
    if (rc == 0 && !node.raw) {
        n->is_dir = node.kind == FOG_UNIXFS_DIRECTORY || node.kind == FOG_UNIXFS_HAMT;
        n->hamt = node.kind == FOG_UNIXFS_HAMT;
    }
    if (rc == 0 && n->hamt) {
        rc = fog__hamt_params(&node, &n->bits, &n->pad);
    }
    if (rc == 0 && n->is_dir && want_links) {
        rc = fog__exp_links_copy(&d->x, &node, 0, node.pb.n_links, 0, &n->links);
        n->has_links = rc == 0;
    }
    fog__exp_node_clear(&node);
    return rc;
}

/* ---- entry lists ---- */

static int bad_name(const differ *d, const char *name, size_t len, const char *why)
{
    char ex[72];
    fog__exp_excerpt(name, len, ex);
    const char *dir = d->path.len > 0 ? (const char *)d->path.p : "the root";
    return fog_errf(FOG_ERR_PROTO, "directory %s: entry name \"%s\" %s", dir, ex, why);
}

static int name_check(const differ *d, const char *name, size_t len)
{
    if (len == 0 || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.')) {
        return bad_name(d, name, len, "is unsafe");
    }
    if (memchr(name, '/', len) != NULL || memchr(name, 0, len) != NULL) {
        return bad_name(d, name, len, "holds '/' or NUL");
    }
    return 0;
}

static int elist_add(differ *d, elist *el, const char *name, size_t name_len, const uint8_t *cid,
                     size_t cid_len)
{
    int rc = name_check(d, name, name_len);
    if (rc < 0) {
        return rc;
    }
    size_t need = sizeof(ent) + name_len + cid_len;
    if (need > FOG__EXP_HELD_MAX - d->x.held) {
        return fog_errf(FOG_ERR_LIMIT, "directories too large: more than %u bytes of entries held",
                        (unsigned)FOG__EXP_HELD_MAX);
    }
    if (el->n == el->cap) {
        size_t cap = el->cap ? el->cap * 2 : 16;
        ent *v = realloc(el->v, cap * sizeof *v); /* cap * sizeof(ent) <= 2 * FOG__EXP_HELD_MAX */
        if (v == NULL) {
            return FOG_ERR_NOMEM;
        }
        el->v = v;
        el->cap = cap;
    }
    ent *e = &el->v[el->n];
    e->cid_off = el->bytes.len;
    e->cid_len = cid_len;
    e->name_off = e->cid_off + cid_len;
    e->name_len = name_len;
    e->name = NULL;
    if ((rc = fog_buf_append(&el->bytes, cid, cid_len)) < 0 ||
        (rc = fog_buf_append(&el->bytes, name, name_len)) < 0) {
        return rc;
    }
    el->n++;
    el->held += need;
    d->x.held += need;
    return 0;
}

static void elist_free(differ *d, elist *el)
{
    d->x.held -= el->held;
    fog_buf_clear(&el->bytes);
    free(el->v);
    memset(el, 0, sizeof *el);
}

static int name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return (alen > blen) - (alen < blen);
}

static int ent_cmp(const void *pa, const void *pb)
{
    const ent *a = pa, *b = pb;
    return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

/* Sorts by name and refuses a name that appears twice. */
static int elist_sort(const differ *d, elist *el)
{
    for (size_t i = 0; i < el->n; i++) {
        el->v[i].name = el->bytes.p + el->v[i].name_off;
    }
    if (el->n > 1) {
        qsort(el->v, el->n, sizeof *el->v, ent_cmp);
    }
    for (size_t i = 1; i < el->n; i++) {
        if (ent_cmp(&el->v[i - 1], &el->v[i]) == 0) {
            return bad_name(d, (const char *)el->v[i].name, el->v[i].name_len, "appears twice");
        }
    }
    return 0;
}

static int ent_cid(const elist *el, size_t i, fog_cid *out)
{
    return fog_cid_from_bytes(out, el->bytes.p + el->v[i].cid_off, el->v[i].cid_len);
}

/* ---- gathering a directory's entries ---- */

typedef struct {
    differ *d;
    elist *el;
} gather_ctx;

static int gather_cb(fog__exp *x, void *arg, const char *name, size_t name_len, const fog_cid *c,
                     const fog__exp_link *l)
{
    (void)x;
    (void)l;
    gather_ctx *g = arg;
    return elist_add(g->d, g->el, name, name_len, c->bytes, c->len);
}

/* Every entry below the sub-shard c. */
static int shard_expand(differ *d, const fog_cid *c, elist *el)
{
    fog__exp_node n;
    int rc = fog__exp_load(&d->x, c, &n);
    if (rc == 0 && (n.raw || n.kind != FOG_UNIXFS_HAMT)) {
        rc = fog_errf(FOG_ERR_PROTO, "block %s: a HAMT sub-shard link to a non-shard",
                      fog_cid_str(c));
    }
    if (rc == 0) {
        gather_ctx g = {d, el};
        rc = fog__exp_dir_each(&d->x, &n, gather_cb, &g);
    }
    fog__exp_node_clear(&n);
    return rc;
}

/* Link i of a directory node: an entry of a basic directory, or of a shard (prefix + name), or
 * a sub-shard (name = prefix) whose entries are all listed. */
static int link_expand(differ *d, const dnode *n, size_t i, elist *el)
{
    const fog__exp_link *l = &n->links.v[i];
    const char *name = fog__exp_links_name(&n->links, i);
    const uint8_t *cid = n->links.bytes.p + l->cid_off;
    if (!n->hamt) {
        return elist_add(d, el, name, l->name_len, cid, l->cid_len);
    }
    if (l->name_len < n->pad) {
        return fog_errf(FOG_ERR_PROTO, "HAMT shard link name shorter than its bucket prefix");
    }
    if (l->name_len > n->pad) {
        return elist_add(d, el, name + n->pad, l->name_len - n->pad, cid, l->cid_len);
    }
    fog_cid c;
    int rc = fog__exp_links_cid(&n->links, i, &c);
    return rc < 0 ? rc : shard_expand(d, &c, el);
}

static int node_expand(differ *d, const dnode *n, elist *el)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n->links.n; i++) {
        rc = link_expand(d, n, i, el);
    }
    return rc;
}

/* A link of a shard and its bucket, for pairing. */
typedef struct {
    size_t bucket;
    size_t i;
} blink;

static int blink_cmp(const void *pa, const void *pb)
{
    const blink *a = pa, *b = pb;
    if (a->bucket != b->bucket) {
        return a->bucket < b->bucket ? -1 : 1;
    }
    return (a->i > b->i) - (a->i < b->i);
}

/* The shard's links ordered by bucket (the hex prefix of their names). *out is malloc'd. */
static int buckets_of(const dnode *n, blink **out)
{
    *out = NULL;
    if (n->links.n == 0) {
        return 0;
    }
    blink *v = calloc(n->links.n, sizeof *v); /* no more than the links already held */
    if (v == NULL) {
        return FOG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n->links.n; i++) {
        const char *name = fog__exp_links_name(&n->links, i);
        size_t b = 0;
        for (size_t k = 0; k < n->pad; k++) {
            int h = k < n->links.v[i].name_len ? fog_hex_digit((unsigned char)name[k]) : -1;
            if (h < 0) {
                free(v);
                return fog_errf(FOG_ERR_PROTO, "HAMT shard link name without a bucket prefix");
            }
            b = b << 4 | (size_t)h;
        }
        if (b >> n->bits != 0) {
            free(v);
            return fog_errf(FOG_ERR_PROTO, "HAMT shard link names bucket %zu of %u", b,
                            1u << n->bits);
        }
        v[i].bucket = b;
        v[i].i = i;
    }
    qsort(v, n->links.n, sizeof *v, blink_cmp);
    *out = v;
    return 0;
}

/* ---- pairing two shards bucket by bucket ---- */

/* The links of one bucket on one side: v[lo, hi) of the shard n. */
typedef struct {
    const dnode *n;
    const blink *v;
    size_t lo, hi;
    elist *el;
} bucket;

static bool link_same(const bucket *a, size_t ka, const bucket *b, size_t kb)
{
    const fog__exp_link *la = &a->n->links.v[a->v[ka].i];
    const fog__exp_link *lb = &b->n->links.v[b->v[kb].i];
    const uint8_t *pa = a->n->links.bytes.p, *pb = b->n->links.bytes.p;
    /* CID and name are back to back in the copied bytes. */
    return la->cid_len == lb->cid_len && la->name_len == lb->name_len &&
           memcmp(pa + la->cid_off, pb + lb->cid_off, la->cid_len + la->name_len) == 0;
}

static bool bucket_same(const bucket *a, const bucket *b)
{
    if (a->hi - a->lo != b->hi - b->lo) {
        return false;
    }
    for (size_t k = 0; k < a->hi - a->lo; k++) {
        if (!link_same(a, a->lo + k, b, b->lo + k)) {
            return false;
        }
    }
    return true;
}

/* The single sub-shard link of a bucket, or SIZE_MAX. */
static size_t bucket_subshard(const bucket *b)
{
    if (b->hi - b->lo != 1) {
        return SIZE_MAX;
    }
    size_t i = b->v[b->lo].i;
    return b->n->links.v[i].name_len == b->n->pad ? i : SIZE_MAX;
}

static int bucket_expand(differ *d, const bucket *b)
{
    int rc = 0;
    for (size_t k = b->lo; rc == 0 && k < b->hi; k++) {
        rc = link_expand(d, b->n, b->v[k].i, b->el);
    }
    return rc;
}

static int shards_pair(differ *d, const dnode *a, const dnode *b, unsigned consumed, elist *ea,
                       elist *eb);

/* Loads the sub-shards of one bucket on both sides and pairs them one level down. */
static int subshards_pair(differ *d, const bucket *a, size_t ia, const bucket *b, size_t ib,
                          unsigned consumed)
{
    fog_cid ca, cb;
    dnode sa = {0}, sb = {0};
    int rc = fog__exp_links_cid(&a->n->links, ia, &ca);
    if (rc == 0) {
        rc = fog__exp_links_cid(&b->n->links, ib, &cb);
    }
    if (rc == 0 && (rc = probe(d, &ca, true, &sa)) == 0 && !sa.hamt) {
        rc = fog_errf(FOG_ERR_PROTO, "block %s: a HAMT sub-shard link to a non-shard",
                      fog_cid_str(&ca));
    }
    if (rc == 0 && (rc = probe(d, &cb, true, &sb)) == 0 && !sb.hamt) {
        rc = fog_errf(FOG_ERR_PROTO, "block %s: a HAMT sub-shard link to a non-shard",
                      fog_cid_str(&cb));
    }
    if (rc == 0 && sa.bits == sb.bits) {
        rc = shards_pair(d, &sa, &sb, consumed, a->el, b->el);
    } else if (rc == 0) {
        rc = node_expand(d, &sa, a->el);
        rc = rc == 0 ? node_expand(d, &sb, b->el) : rc;
    }
    dnode_free(d, &sa);
    dnode_free(d, &sb);
    return rc;
}

static int bucket_diff(differ *d, const bucket *a, const bucket *b, unsigned consumed)
{
    if (bucket_same(a, b)) {
        return 0; /* the same links: the same entries below */
    }
    size_t ia = bucket_subshard(a), ib = bucket_subshard(b);
    if (ia != SIZE_MAX && ib != SIZE_MAX) {
        return subshards_pair(d, a, ia, b, ib, consumed + a->n->bits);
    }
    int rc = bucket_expand(d, a);
    return rc == 0 ? bucket_expand(d, b) : rc;
}

/* Gathers the entries of the buckets that differ between shards a and b (same fanout), which sit
 * consumed hash bits below the directory's root shard. */
static int shards_pair(differ *d, const dnode *a, const dnode *b, unsigned consumed, elist *ea,
                       elist *eb)
{
    if (consumed + a->bits > 64) {
        return fog_errf(FOG_ERR_PROTO, "HAMT shards nested deeper than the 64-bit hash allows");
    }
    blink *va = NULL, *vb = NULL;
    int rc = buckets_of(a, &va);
    if (rc == 0) {
        rc = buckets_of(b, &vb);
    }
    bucket ba = {a, va, 0, 0, ea}, bb = {b, vb, 0, 0, eb};
    size_t na = a->links.n, nb = b->links.n;
    while (rc == 0 && (ba.lo < na || bb.lo < nb)) {
        size_t ka = ba.lo < na ? va[ba.lo].bucket : SIZE_MAX;
        size_t kb = bb.lo < nb ? vb[bb.lo].bucket : SIZE_MAX;
        size_t k = ka < kb ? ka : kb;
        for (ba.hi = ba.lo; ba.hi < na && va[ba.hi].bucket == k; ba.hi++) {
        }
        for (bb.hi = bb.lo; bb.hi < nb && vb[bb.hi].bucket == k; bb.hi++) {
        }
        rc = bucket_diff(d, &ba, &bb, consumed);
        ba.lo = ba.hi;
        bb.lo = bb.hi;
    }
    free(va);
    free(vb);
    return rc;
}

/* ---- comparing and reporting ---- */

static const char *path_str(const differ *d)
{
    return d->path.len > 0 ? (const char *)d->path.p : "";
}

static int path_push(differ *d, const uint8_t *name, size_t len)
{
    int rc = d->path.len > 0 ? fog_buf_u8(&d->path, '/') : 0;
    if (rc == 0) {
        rc = fog_buf_append(&d->path, name, len);
    }
    if (rc == 0 && (rc = fog_buf_u8(&d->path, 0)) == 0) {
        d->path.len--;
    }
    return rc;
}

static void path_pop(differ *d, size_t saved)
{
    d->path.len = saved;
    if (d->path.p != NULL) {
        d->path.p[saved] = 0;
    }
}

static int dirs_diff(differ *d, dnode *a, dnode *b, unsigned depth);

/* a and b differ: CHANGED, or two directories compared one level down. */
static int entry_changed(differ *d, const fog_cid *a, const fog_cid *b, unsigned depth)
{
    dnode na = {0}, nb = {0};
    int rc = probe(d, b, true, &nb);
    if (rc == 0 && nb.is_dir) {
        rc = probe(d, a, true, &na);
    }
    if (rc == 0 && na.is_dir && depth > FOG_DIFF_MAX_DEPTH) {
        rc = fog_errf(FOG_ERR_LIMIT, "directories nested deeper than %d", FOG_DIFF_MAX_DEPTH);
    }
    if (rc == 0 && na.is_dir) {
        rc = dirs_diff(d, &na, &nb, depth);
    } else if (rc == 0) {
        rc = d->fn(d->ud, FOG_DIFF_CHANGED, path_str(d), a, b, nb.is_dir);
    }
    dnode_free(d, &na);
    dnode_free(d, &nb);
    return rc;
}

/* An entry on one side only. */
static int one_side(differ *d, fog_diff_kind kind, const elist *el, size_t i)
{
    fog_cid c;
    dnode n;
    int rc = ent_cid(el, i, &c);
    if (rc == 0 && (rc = probe(d, &c, false, &n)) == 0) {
        const fog_cid *a = kind == FOG_DIFF_REMOVED ? &c : NULL;
        rc = d->fn(d->ud, kind, path_str(d), a, kind == FOG_DIFF_ADDED ? &c : NULL, n.is_dir);
    }
    return rc;
}

static int both_sides(differ *d, const elist *ea, size_t i, const elist *eb, size_t j,
                      unsigned depth)
{
    fog_cid ca, cb;
    int rc = ent_cid(ea, i, &ca);
    if (rc == 0 && (rc = ent_cid(eb, j, &cb)) == 0 && !cid_same(&ca, &cb)) {
        rc = entry_changed(d, &ca, &cb, depth);
    }
    return rc;
}

/* Walks the two sorted lists together, reporting or descending name by name. */
static int merge(differ *d, const elist *ea, const elist *eb, unsigned depth)
{
    size_t i = 0, j = 0;
    int rc = 0;
    while (rc == 0 && (i < ea->n || j < eb->n)) {
        int cmp = i == ea->n ? 1 : j == eb->n ? -1 : ent_cmp(&ea->v[i], &eb->v[j]);
        const ent *e = cmp <= 0 ? &ea->v[i] : &eb->v[j];
        size_t saved = d->path.len;
        d->compared++;
        rc = path_push(d, e->name, e->name_len);
        if (rc == 0 && cmp < 0) {
            rc = one_side(d, FOG_DIFF_REMOVED, ea, i);
        } else if (rc == 0 && cmp > 0) {
            rc = one_side(d, FOG_DIFF_ADDED, eb, j);
        } else if (rc == 0) {
            rc = both_sides(d, ea, i, eb, j, depth + 1);
        }
        path_pop(d, saved);
        i += cmp <= 0;
        j += cmp >= 0;
    }
    return rc;
}

/* Two directories at path, depth levels below the roots: their links are turned into sorted
 * entry lists (and freed before any level below is opened), then merged. */
static int dirs_diff(differ *d, dnode *a, dnode *b, unsigned depth)
{
    elist ea = {0}, eb = {0};
    int rc;
    if (a->hamt && b->hamt && a->bits == b->bits) {
        rc = shards_pair(d, a, b, 0, &ea, &eb);
    } else {
        rc = node_expand(d, a, &ea);
        rc = rc == 0 ? node_expand(d, b, &eb) : rc;
    }
    dnode_free(d, a);
    dnode_free(d, b);
    if (rc == 0 && (rc = elist_sort(d, &ea)) == 0 && (rc = elist_sort(d, &eb)) == 0) {
        rc = merge(d, &ea, &eb, depth);
    }
    elist_free(d, &ea);
    elist_free(d, &eb);
    return rc;
}

int fog_diff(const fog_blocksource *src, const fog_cid *a, const fog_cid *b, fog_diff_fn fn,
             void *ud, fog_diff_stats *stats)
{
    differ d;
    memset(&d, 0, sizeof d);
    d.cnt.inner = src;
    d.src.get = count_get;
    d.src.ctx = &d.cnt;
    d.src.trusted = src->trusted;
    fog__exp_init(&d.x, &d.src);
    d.fn = fn;
    d.ud = ud;
    int rc = cid_same(a, b) ? 0 : entry_changed(&d, a, b, 0);
    fog_buf_clear(&d.path);
    if (stats != NULL) {
        stats->blocks_read = d.cnt.gets;
        stats->entries_compared = d.compared;
    }
    return rc;
}
