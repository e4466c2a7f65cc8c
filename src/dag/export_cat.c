/* export_cat.c: streaming a byte range of a UnixFS file (fog_unixfs_cat).
 * A file is a raw block, or a dag-pb File (or legacy Raw) node whose content is its own Data
 * followed by the content of each child in link order; blocksizes[i] is the content length of
 * child i (ipfs/specs src/unixfs.md, "sister-lists"). The walk is depth first. At each node the
 * offsets of the children follow from Data's length and the running sum of blocksizes, so
 * children wholly outside [lo, hi) are never fetched (a range read touches only the blocks on
 * its path, as the gateway conformance fixture with a missing middle block requires), and the
 * walk stops at the first child starting at or after hi.
 * Checks (the spec's MUSTs): as many blocksizes as links; filesize, when present, equal to Data
 * plus the blocksizes; every child that is read holds exactly the bytes its parent announced;
 * links of a file carry no non-empty Name; children are raw or dag-pb File/Raw nodes. Bytes go to
 * the writer straight from the lent block, so memory stays at one copied link list per level.
 */
#include <string.h>

#include "internal.h"

#define SIZE_UNKNOWN UINT64_MAX

typedef struct {
    fog__exp *x;
    uint64_t lo, hi; /* the requested range of the whole file */
    fog_write_fn fn;
    void *ctx;
} cat_ctx;

/* Writes the part of s (the file's bytes from offset start) that lies in [lo, hi). */
static int emit(const cat_ctx *k, uint64_t start, fog_slice s)
{
    uint64_t end = start + s.len; /* within the root's size, which fits 64 bits */
    uint64_t a = start > k->lo ? start : k->lo;
    uint64_t b = end < k->hi ? end : k->hi;
    if (a >= b) {
        return 0;
    }
    return k->fn(k->ctx, s.p + (a - start), (size_t)(b - a));
}

/* The sister-list and size rules of a File node; total_out = Data + sum of blocksizes. */
static int file_check(const fog__exp_node *n, uint64_t expect, uint64_t *total_out)
{
    const char *cid = fog_cid_str(&n->cid);
    if (n->pb.n_links != n->fs.n_blocksizes) {
        return fog_errf(FOG_ERR_PROTO, "block %s: %zu links but %zu blocksizes", cid, n->pb.n_links,
                        n->fs.n_blocksizes);
    }
    uint64_t total = n->fs.has_data ? n->fs.data.len : 0;
    for (size_t i = 0; i < n->fs.n_blocksizes; i++) {
        if (__builtin_add_overflow(total, n->fs.blocksizes[i], &total)) {
            return fog_errf(FOG_ERR_PROTO, "block %s: blocksizes overflow 64 bits", cid);
        }
    }
    if (n->fs.has_filesize && n->fs.filesize != total) {
        return fog_errf(FOG_ERR_PROTO, "block %s: filesize %llu but content of %llu bytes", cid,
                        (unsigned long long)n->fs.filesize, (unsigned long long)total);
    }
    if (expect != SIZE_UNKNOWN && total != expect) {
        return fog_errf(FOG_ERR_PROTO, "block %s: holds %llu bytes, its parent says %llu", cid,
                        (unsigned long long)total, (unsigned long long)expect);
    }
    fog__pb_links it;
    fog__pb_links_init(&it, &n->pb);
    fog_pblink l;
    while (fog__pb_links_next(&it, &l)) {
        if (l.has_name && l.name.len > 0) {
            return fog_errf(FOG_ERR_PROTO, "block %s: a file's link has a name", cid);
        }
    }
    *total_out = total;
    return 0;
}

/* The indexes [from, to) of the children of n that overlap [lo, hi). */
static void child_range(const cat_ctx *k, const fog__exp_node *n, uint64_t start, size_t *from,
                        size_t *to)
{
    uint64_t pos = start + (n->fs.has_data ? n->fs.data.len : 0);
    *from = 0;
    *to = 0;
    for (size_t i = 0; i < n->fs.n_blocksizes && pos < k->hi; i++) {
        uint64_t end = pos + n->fs.blocksizes[i];
        if (end <= k->lo) {
            *from = i + 1;
        }
        *to = i + 1;
        pos = end;
    }
    if (*to < *from) {
        *to = *from;
    }
}

static int cat_node(const cat_ctx *k, fog__exp_node *n, uint64_t start, uint64_t expect,
                    unsigned depth);

static int cat_children(const cat_ctx *k, fog__exp_links *links, unsigned depth)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < links->n; i++) {
        const fog__exp_link *l = &links->v[i];
        if (l->start >= k->hi) {
            break;
        }
        if (l->bsize == 0) {
            continue; /* nothing to read: not fetched */
        }
        fog_cid c;
        fog__exp_node child;
        if ((rc = fog__exp_links_cid(links, i, &c)) < 0) {
            break;
        }
        rc = fog__exp_load(k->x, &c, &child);
        if (rc == 0) {
            rc = cat_node(k, &child, l->start, l->bsize, depth + 1);
        }
        fog__exp_node_clear(&child);
    }
    return rc;
}

static int cat_node(const cat_ctx *k, fog__exp_node *n, uint64_t start, uint64_t expect,
                    unsigned depth)
{
    if (n->raw) {
        if (expect != SIZE_UNKNOWN && n->block.len != expect) {
            return fog_errf(FOG_ERR_PROTO, "block %s: holds %zu bytes, its parent says %llu",
                            fog_cid_str(&n->cid), n->block.len, (unsigned long long)expect);
        }
        return emit(k, start, n->block);
    }
    if (n->kind != FOG_UNIXFS_FILE && n->kind != FOG_UNIXFS_RAW) {
        return fog_errf(FOG_ERR_PROTO, "block %s: part of a file but UnixFS type %llu",
                        fog_cid_str(&n->cid), (unsigned long long)n->kind);
    }
    uint64_t total = 0;
    int rc = file_check(n, expect, &total);
    if (rc < 0 || (rc = emit(k, start, n->fs.has_data ? n->fs.data : fog_slice_make(NULL, 0)))) {
        return rc;
    }
    if (n->pb.n_links == 0) {
        return 0;
    }
    if (depth >= FOG_UNIXFS_MAX_DEPTH) {
        return fog_errf(FOG_ERR_LIMIT, "file DAG deeper than %d levels at %s", FOG_UNIXFS_MAX_DEPTH,
                        fog_cid_str(&n->cid));
    }
    size_t from, to;
    child_range(k, n, start, &from, &to);
    fog__exp_links links;
    if ((rc = fog__exp_links_copy(k->x, n, from, to, start, &links)) < 0) {
        return rc;
    }
    fog__exp_node_clear(n); /* the children's fetches end the loan of n's block */
    rc = cat_children(k, &links, depth);
    fog__exp_links_free(k->x, &links);
    return rc;
}

int fog__exp_cat(fog__exp *x, fog__exp_node *n, uint64_t lo, uint64_t hi, fog_write_fn fn,
                 void *ctx)
{
    cat_ctx k = {x, lo, hi, fn, ctx};
    return cat_node(&k, n, 0, SIZE_UNKNOWN, 0);
}

int fog_unixfs_cat(const fog_blocksource *src, const fog_cid *c, uint64_t offset, uint64_t length,
                   fog_write_fn write_fn, void *ctx)
{
    fog__exp x;
    fog__exp_init(&x, src);
    fog__exp_node n;
    int rc = fog__exp_load(&x, c, &n);
    if (rc == 0 && (n.kind == FOG_UNIXFS_DIRECTORY || n.kind == FOG_UNIXFS_HAMT)) {
        rc = fog_errf(FOG_ERR_INVALID, "%s is a directory", fog_cid_str(c));
    } else if (rc == 0 && n.kind == FOG_UNIXFS_SYMLINK) {
        rc = fog_errf(FOG_ERR_INVALID, "%s is a symlink", fog_cid_str(c));
    } else if (rc == 0 && n.kind == FOG_UNIXFS_METADATA) {
        rc = fog_errf(FOG_ERR_UNSUPPORTED, "%s is a UnixFS Metadata node", fog_cid_str(c));
    }
    if (rc == 0) {
        uint64_t hi = length > UINT64_MAX - offset ? UINT64_MAX : offset + length;
        rc = fog__exp_cat(&x, &n, offset, hi, write_fn, ctx);
    }
    fog__exp_node_clear(&n);
    return rc;
}
