/* export.c: what the UnixFS exporter's operations share: fetching blocks safely, decoding a
 * node as UnixFS, and copying a node's links before its block goes away.
 * The fog_blocksource contract lends a block only until the next get, so every walk (cat, ls,
 * get, resolve) copies what it needs from a parent (CID bytes, names, Tsize, blocksizes) into a
 * fog__exp_links before fetching a child. Those copies are the only memory that grows with the
 * DAG, and their sum is capped (FOG__EXP_HELD_MAX): memory is bounded by depth times node size,
 * never by file size.
 * Trust: blocks from a source not marked trusted are hashed against their CID before any byte
 * is read (fog_cid_verify); the store source is trusted because nothing unverified enters the
 * store (DESIGN.md). Independently of the source, a CID whose digest is shorter than 20 bytes is
 * refused, as boxo's verifcid does, since such a "hash" would match almost anything; identity
 * CIDs are answered from the CID itself without asking the source.
 * UnixFS node rules checked here (ipfs/specs src/unixfs.md): a dag-pb node must carry Data that
 * decodes as UnixFS with a known Type; the rest is checked by the operation that reads it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void fog__exp_init(fog__exp *x, const fog_blocksource *src)
{
    memset(x, 0, sizeof *x);
    x->src = src;
}

void fog__exp_excerpt(const char *name, size_t len, char out[72])
{
    size_t n = len < 64 ? len : 64;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    memcpy(out + n, len > 64 ? "...\0" : "\0", len > 64 ? 4 : 1);
}

/* Puts "CID: " in front of the current detail line of rc. */
static int with_cid(int rc, const fog_cid *c)
{
    char detail[256];
    snprintf(detail, sizeof detail, "%s", fog_err_detail(rc));
    return fog_errf(rc, "block %s: %s", fog_cid_str(c), detail);
}

int fog__exp_fetch(fog__exp *x, const fog_cid *c, fog_slice *out)
{
    *out = fog_slice_make(NULL, 0);
    if (x->max_fetches != 0 && ++x->fetches > x->max_fetches) {
        return fog_errf(FOG_ERR_LIMIT, "more than %llu blocks fetched",
                        (unsigned long long)x->max_fetches);
    }
    if (c->mh_code == FOG_MC_IDENTITY) {
        x->id_cid = *c;
        *out = fog_cid_digest(&x->id_cid);
        return 0;
    }
    if (c->digest_len < FOG__EXP_MIN_DIGEST) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "CID %s has a %zu-byte digest: too short to trust",
                        fog_cid_str(c), c->digest_len);
    }
    int rc = x->src->get(x->src->ctx, c, out);
    if (rc == FOG_ERR_NOT_FOUND) {
        const char *s = fog_cid_str(c);
        if (strstr(fog_err_detail(rc), s) == NULL) {
            rc = fog_errf(FOG_ERR_NOT_FOUND, "block %s not found", s);
        }
        return rc;
    }
    if (rc < 0) {
        return rc;
    }
    if (!x->src->trusted && (rc = fog_cid_verify(c, out->p, out->len)) < 0) {
        *out = fog_slice_make(NULL, 0);
        return rc;
    }
    return 0;
}

int fog__exp_load(fog__exp *x, const fog_cid *c, fog__exp_node *n)
{
    memset(n, 0, sizeof *n);
    n->cid = *c;
    if (c->codec != FOG_MC_RAW && c->codec != FOG_MC_DAG_PB) {
        const char *name = fog_mc_name(c->codec);
        return fog_errf(FOG_ERR_UNSUPPORTED, "%s is a %s block, not UnixFS", fog_cid_str(c),
                        name != NULL ? name : "non-UnixFS");
    }
    int rc = fog__exp_fetch(x, c, &n->block);
    if (rc < 0) {
        return rc;
    }
    if (c->codec == FOG_MC_RAW) {
        n->raw = true;
        n->kind = FOG_UNIXFS_FILE;
        return 0;
    }
    if ((rc = fog__pb_scan(&n->pb, n->block.p, n->block.len)) < 0) {
        return with_cid(rc, c);
    }
    if (!n->pb.has_data) {
        return fog_errf(FOG_ERR_PROTO, "block %s: dag-pb node without UnixFS Data", fog_cid_str(c));
    }
    if ((rc = fog_unixfs_decode(&n->fs, n->pb.data.p, n->pb.data.len)) < 0) {
        return with_cid(rc, c);
    }
    n->kind = n->fs.type;
    if (n->kind > FOG_UNIXFS_HAMT) {
        fog_unixfs_clear(&n->fs);
        return fog_errf(FOG_ERR_PROTO, "block %s: unknown UnixFS type %llu", fog_cid_str(c),
                        (unsigned long long)n->kind);
    }
    return 0;
}

void fog__exp_node_clear(fog__exp_node *n)
{
    if (n != NULL) {
        fog_unixfs_clear(&n->fs);
        n->block = fog_slice_make(NULL, 0);
    }
}

int fog__exp_file_size(const fog__exp_node *n, uint64_t *size_out)
{
    if (n->raw) {
        *size_out = n->block.len;
        return 0;
    }
    if (n->fs.has_filesize) {
        *size_out = n->fs.filesize;
        return 0;
    }
    uint64_t sum = n->fs.has_data ? n->fs.data.len : 0;
    for (size_t i = 0; i < n->fs.n_blocksizes; i++) {
        if (__builtin_add_overflow(sum, n->fs.blocksizes[i], &sum)) {
            return fog_errf(FOG_ERR_PROTO, "block %s: blocksizes overflow 64 bits",
                            fog_cid_str(&n->cid));
        }
    }
    *size_out = sum;
    return 0;
}

/* Reserves the list's arrays for count links and up to bytes of CIDs and names. */
static int links_reserve(fog__exp *x, fog__exp_links *out, size_t count, size_t bytes)
{
    size_t arr = 0, total = 0;
    if (fog_mul_size(count, sizeof *out->v, &arr) < 0 || fog_add_size(arr, bytes, &total) < 0 ||
        total > FOG__EXP_HELD_MAX - x->held) {
        return fog_errf(FOG_ERR_LIMIT, "DAG too wide or deep: more than %u bytes of links held",
                        (unsigned)FOG__EXP_HELD_MAX);
    }
    if (count > 0 && (out->v = malloc(arr)) == NULL) {
        return FOG_ERR_NOMEM;
    }
    if (fog_buf_reserve(&out->bytes, bytes) < 0) {
        return FOG_ERR_NOMEM;
    }
    out->held = total;
    x->held += total;
    return 0;
}

static int link_add(fog__exp_links *out, const fog_pblink *l, uint64_t bsize, uint64_t start)
{
    fog__exp_link *e = &out->v[out->n];
    memset(e, 0, sizeof *e);
    e->cid_off = out->bytes.len;
    e->cid_len = l->cid.len;
    e->name_off = e->cid_off + l->cid.len;
    e->name_len = l->name.len;
    e->has_name = l->has_name;
    e->has_tsize = l->has_tsize;
    e->tsize = l->tsize;
    e->bsize = bsize;
    e->start = start;
    int rc = fog_buf_append(&out->bytes, l->cid.bytes, l->cid.len);
    if (rc == 0 && l->name.len > 0) {
        rc = fog_buf_append(&out->bytes, l->name.p, l->name.len);
    }
    if (rc == 0) {
        out->n++;
    }
    return rc;
}

int fog__exp_links_copy(fog__exp *x, const fog__exp_node *n, size_t from, size_t to, uint64_t base,
                        fog__exp_links *out)
{
    memset(out, 0, sizeof *out);
    bool file = n->kind == FOG_UNIXFS_FILE || n->kind == FOG_UNIXFS_RAW;
    size_t count = to > from ? to - from : 0;
    /* Each CID (strictly parsed, so re-encoded to the same bytes) and name is a sub-range of
     * the link bytes: their sum never exceeds the Links section. */
    int rc = links_reserve(x, out, count, n->pb.links.len);
    fog__pb_links it;
    fog__pb_links_init(&it, &n->pb);
    fog_pblink l;
    uint64_t start = base + (n->fs.has_data ? n->fs.data.len : 0);
    for (size_t i = 0; rc == 0 && i < to && fog__pb_links_next(&it, &l); i++) {
        uint64_t bsize = file && i < n->fs.n_blocksizes ? n->fs.blocksizes[i] : 0;
        if (i >= from) {
            rc = link_add(out, &l, bsize, start);
        }
        start += bsize; /* the caller checked that the sum fits */
    }
    if (rc < 0) {
        fog__exp_links_free(x, out);
    }
    return rc;
}

int fog__exp_links_cid(const fog__exp_links *l, size_t i, fog_cid *out)
{
    return fog_cid_from_bytes(out, l->bytes.p + l->v[i].cid_off, l->v[i].cid_len);
}

void fog__exp_links_free(fog__exp *x, fog__exp_links *l)
{
    if (l == NULL) {
        return;
    }
    x->held -= l->held;
    free(l->v);
    fog_buf_clear(&l->bytes);
    memset(l, 0, sizeof *l);
}
