/* export_dir.c: walking UnixFS directories, basic and HAMT-sharded, and fog_unixfs_ls.
 * A basic directory is one dag-pb node whose links are its entries (Name = entry name). A HAMT
 * shard (PROTOCOLS.md 2.3, ipfs/specs src/unixfs.md) has fanout buckets; each link name starts
 * with the bucket index as upper-case hex padded to the digits of fanout-1 (boxo's maxpadlen: 2
 * for 256); a link named exactly that prefix is a sub-shard, a longer one is prefix + entry
 * name. Listing follows the links in block order and descends into sub-shards where they stand,
 * which is "shard order". Shard parameters are checked as boxo does on read: hashType must be
 * murmur3-x64-64, fanout a power of two, at most 1024 (CVE-2023-23625) and here at least 2, and
 * a shard may not sit deeper than the 64 hash bits can address.
 * ls reports, as kubo's `ipfs ls` does (coreapi processLink): raw children are files whose size
 * is the link's Tsize, without fetching them (only a raw child without Tsize is fetched for its
 * length); dag-pb children are fetched to learn their UnixFS type, and files report their
 * filesize; directories, symlinks and children of other codecs report the link's Tsize.
 */
#include <string.h>

#include "internal.h"

int fog__hamt_params(const fog__exp_node *n, unsigned *bits_out, size_t *pad_out)
{
    const char *cid = fog_cid_str(&n->cid);
    if (!n->fs.has_hashtype || n->fs.hashtype != FOG_MC_MURMUR3_X64_64) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "HAMT shard %s: hash type is not murmur3-x64-64", cid);
    }
    uint64_t f = n->fs.fanout;
    if (!n->fs.has_fanout || f < 2 || f > FOG__HAMT_MAX_FANOUT || (f & (f - 1)) != 0) {
        return fog_errf(FOG_ERR_PROTO, "HAMT shard %s: fanout %llu not a power of two in 2..%d",
                        cid, (unsigned long long)f, FOG__HAMT_MAX_FANOUT);
    }
    unsigned bits = (unsigned)__builtin_ctzll(f);
    *bits_out = bits;
    *pad_out = (bits + 3) / 4; /* hex digits of fanout - 1 */
    return 0;
}

static int basic_each(fog__exp *x, fog__exp_node *n, fog__exp_entry_fn fn, void *arg)
{
    fog__exp_links links;
    int rc = fog__exp_links_copy(x, n, 0, n->pb.n_links, 0, &links);
    if (rc < 0) {
        return rc;
    }
    fog__exp_node_clear(n);
    for (size_t i = 0; rc == 0 && i < links.n; i++) {
        fog_cid c;
        rc = fog__exp_links_cid(&links, i, &c);
        if (rc == 0) {
            rc = fn(x, arg, fog__exp_links_name(&links, i), links.v[i].name_len, &c, &links.v[i]);
        }
    }
    fog__exp_links_free(x, &links);
    return rc;
}

static int hamt_each(fog__exp *x, fog__exp_node *n, fog__exp_entry_fn fn, void *arg,
                     unsigned consumed);

/* Loads a sub-shard and lists it. */
static int hamt_sub(fog__exp *x, const fog_cid *c, fog__exp_entry_fn fn, void *arg,
                    unsigned consumed)
{
    fog__exp_node sub;
    int rc = fog__exp_load(x, c, &sub);
    if (rc == 0 && (sub.raw || sub.kind != FOG_UNIXFS_HAMT)) {
        rc = fog_errf(FOG_ERR_PROTO, "block %s: a HAMT sub-shard link to a non-shard",
                      fog_cid_str(c));
    }
    if (rc == 0) {
        rc = hamt_each(x, &sub, fn, arg, consumed);
    }
    fog__exp_node_clear(&sub);
    return rc;
}

static int hamt_each(fog__exp *x, fog__exp_node *n, fog__exp_entry_fn fn, void *arg,
                     unsigned consumed)
{
    unsigned bits;
    size_t pad;
    int rc = fog__hamt_params(n, &bits, &pad);
    if (rc == 0 && consumed + bits > 64) {
        rc = fog_errf(FOG_ERR_PROTO, "HAMT shard %s: deeper than the 64-bit hash allows",
                      fog_cid_str(&n->cid));
    }
    fog__exp_links links;
    if (rc < 0 || (rc = fog__exp_links_copy(x, n, 0, n->pb.n_links, 0, &links)) < 0) {
        return rc;
    }
    fog_cid shard = n->cid;
    fog__exp_node_clear(n);
    for (size_t i = 0; rc == 0 && i < links.n; i++) {
        const fog__exp_link *l = &links.v[i];
        const char *name = fog__exp_links_name(&links, i);
        fog_cid c;
        if ((rc = fog__exp_links_cid(&links, i, &c)) < 0) {
            break;
        }
        if (l->name_len < pad) {
            rc = fog_errf(FOG_ERR_PROTO, "HAMT shard %s: link name shorter than its prefix",
                          fog_cid_str(&shard));
        } else if (l->name_len == pad) {
            rc = hamt_sub(x, &c, fn, arg, consumed + bits);
        } else {
            rc = fn(x, arg, name + pad, l->name_len - pad, &c, l);
        }
    }
    fog__exp_links_free(x, &links);
    return rc;
}

int fog__exp_dir_each(fog__exp *x, fog__exp_node *n, fog__exp_entry_fn fn, void *arg)
{
    if (!n->raw && n->kind == FOG_UNIXFS_DIRECTORY) {
        return basic_each(x, n, fn, arg);
    }
    if (!n->raw && n->kind == FOG_UNIXFS_HAMT) {
        return hamt_each(x, n, fn, arg, 0);
    }
    return fog_errf(FOG_ERR_INVALID, "%s is not a directory", fog_cid_str(&n->cid));
}

/* ---- ls ---- */

typedef struct {
    int (*fn)(void *ctx, const fog_unixfs_entry *e);
    void *ctx;
    fog_buf name; /* the current entry's name, NUL-terminated */
} ls_ctx;

/* Type and size of one entry, fetching the child only when its link cannot tell. */
static int entry_stat(fog__exp *x, const fog_cid *c, const fog__exp_link *l, uint64_t *type,
                      uint64_t *size)
{
    *size = l->has_tsize ? l->tsize : 0;
    if (c->codec != FOG_MC_RAW && c->codec != FOG_MC_DAG_PB) {
        *type = FOG_UNIXFS_ENTRY_OTHER;
        return 0;
    }
    *type = FOG_UNIXFS_FILE;
    if (c->codec == FOG_MC_RAW && l->has_tsize && c->mh_code != FOG_MC_IDENTITY) {
        return 0;
    }
    fog__exp_node child;
    int rc = fog__exp_load(x, c, &child);
    if (rc == 0 && (child.raw || child.kind == FOG_UNIXFS_FILE || child.kind == FOG_UNIXFS_RAW)) {
        rc = fog__exp_file_size(&child, size);
    } else if (rc == 0) {
        *type = child.kind;
    }
    fog__exp_node_clear(&child);
    return rc;
}

static int ls_entry(fog__exp *x, void *arg, const char *name, size_t name_len, const fog_cid *c,
                    const fog__exp_link *l)
{
    ls_ctx *k = arg;
    if (name_len > 0 && memchr(name, 0, name_len) != NULL) {
        return fog_errf(FOG_ERR_PROTO, "directory entry %s has a NUL byte in its name",
                        fog_cid_str(c));
    }
    fog_buf_reset(&k->name);
    int rc = fog_buf_append(&k->name, name, name_len);
    if (rc < 0 || (rc = fog_buf_u8(&k->name, 0)) < 0) {
        return rc;
    }
    fog_unixfs_entry e;
    memset(&e, 0, sizeof e);
    e.name = (const char *)k->name.p;
    e.cid = *c;
    if ((rc = entry_stat(x, c, l, &e.type, &e.size)) < 0) {
        return rc;
    }
    return k->fn(k->ctx, &e);
}

int fog__exp_ls(fog__exp *x, const fog_cid *c, int (*fn)(void *ctx, const fog_unixfs_entry *e),
                void *ctx)
{
    fog__exp_node n;
    int rc = fog__exp_load(x, c, &n);
    if (rc == 0) {
        ls_ctx k = {fn, ctx, {0}};
        rc = fog__exp_dir_each(x, &n, ls_entry, &k);
        fog_buf_clear(&k.name);
    }
    fog__exp_node_clear(&n);
    return rc;
}

int fog_unixfs_ls(const fog_blocksource *src, const fog_cid *c,
                  int (*fn)(void *ctx, const fog_unixfs_entry *e), void *ctx)
{
    fog__exp x;
    fog__exp_init(&x, src);
    return fog__exp_ls(&x, c, fn, ctx);
}
