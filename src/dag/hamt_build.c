/* hamt_build.c: a HAMT-sharded UnixFS directory built from the full list of a folder's entries.
 * As boxo (ipld/unixfs/hamt) and js (hamt-sharding, dir-sharded.ts) build it (ipfs/specs
 * unixfs.md "HAMTDirectory", PROTOCOLS.md 2.3): each name is hashed with murmur3-x64-64; the
 * bucket at level L is bits [L*w, L*w + w) of the 8-byte big-endian hash, most significant
 * first, w = log2(fanout). A bucket holding one entry links to it under the name
 * HEX(bucket) + name; a bucket holding more becomes a sub-shard one level down, linked under
 * HEX(bucket) alone (uppercase hex, zero-padded to the width of fanout - 1). Entries only ever
 * get added during an import, so this shape (a sub-shard exactly where names collide) is what
 * the incremental builders end with, whatever the insertion order.
 * The entries are sorted by hash once: every bucket at every level is then a contiguous run.
 * Shard Data: UnixFS {Type = HAMTShard, Data = bitfield, hashType = 0x22, fanout}; the
 * bitfield is the big-endian integer with bit i set for each used bucket i, leading zero bytes
 * dropped (go-bitfield Bytes, js reversed bitField). Links come in bucket order, which is also
 * their name order. Sub-shards are put before the shard that links them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HASH_BITS 64

typedef struct {
    fog__imp *im;
    unsigned bits; /* per level */
    unsigned pad;  /* hex digits of a bucket label */
} hamt;

static unsigned bucket_at(const hamt *h, const fog__dirent *e, unsigned level)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | e->hash[i];
    }
    unsigned shift = HASH_BITS - (level + 1) * h->bits;
    return (unsigned)(v >> shift) & ((1u << h->bits) - 1);
}

static int cmp_hash(const void *a, const void *b)
{
    const fog__dirent *x = a, *y = b;
    int c = memcmp(x->hash, y->hash, sizeof x->hash);
    return c != 0 ? c : strcmp(x->name, y->name);
}

/* The bitfield of used buckets as a big-endian integer without leading zero bytes. */
static fog_slice bitfield(const uint8_t *used, unsigned fanout, uint8_t out[128])
{
    size_t nbytes = fanout / 8;
    memset(out, 0, nbytes);
    for (unsigned i = 0; i < fanout; i++) {
        if (used[i]) {
            out[nbytes - 1 - i / 8] |= (uint8_t)(1u << (i % 8));
        }
    }
    size_t lead = 0;
    while (lead + 1 < nbytes && out[lead] == 0) {
        lead++;
    }
    return fog_slice_make(out + lead, nbytes - lead);
}

typedef struct {
    fog_pblink *links;
    size_t *name_off; /* into names; slices are made once the buffer stops moving */
    fog_buf names;
    uint8_t used[1024];
} shard_scratch;

static int shard(hamt *h, fog__dirent *e, size_t n, unsigned level, fog__ref *out);

/* Adds the link for bucket b holding e[0..run). */
static int add_bucket(hamt *h, shard_scratch *s, size_t k, fog__dirent *e, size_t run,
                      unsigned level, unsigned b)
{
    char label[8];
    int len = snprintf(label, sizeof label, "%0*X", (int)h->pad, b);
    s->name_off[k] = s->names.len;
    int rc = fog_buf_append(&s->names, label, (size_t)len);
    fog_pblink *l = &s->links[k];
    l->has_name = true;
    l->has_tsize = true;
    if (rc == 0 && run == 1) {
        l->tsize = e->tsize;
        if ((rc = fog_buf_append(&s->names, e->name, e->name_len)) == 0) {
            rc = fog_cid_from_bytes(&l->cid, e->cid, e->cid_len);
        }
    } else if (rc == 0) {
        fog__ref sub;
        if ((rc = shard(h, e, run, level + 1, &sub)) == 0) {
            l->cid = sub.cid;
            l->tsize = sub.tsize;
        }
    }
    l->name.len = s->names.len - s->name_off[k];
    s->used[b] = 1;
    return rc;
}

static int shard_links(hamt *h, shard_scratch *s, fog__dirent *e, size_t n, unsigned level,
                       size_t *n_links)
{
    if ((level + 1) * h->bits > HASH_BITS) {
        return fog_errf(FOG_ERR_LIMIT, "names \"%s\" and \"%s\" have the same HAMT hash", e[0].name,
                        e[1].name);
    }
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned b = bucket_at(h, &e[i], level);
        size_t j = i + 1;
        while (j < n && bucket_at(h, &e[j], level) == b) {
            j++;
        }
        int rc = add_bucket(h, s, k++, &e[i], j - i, level, b);
        if (rc < 0) {
            return rc;
        }
        i = j;
    }
    for (size_t i = 0; i < k; i++) {
        s->links[i].name.p = s->names.p + s->name_off[i];
    }
    *n_links = k;
    return 0;
}

static int shard(hamt *h, fog__dirent *e, size_t n, unsigned level, fog__ref *out)
{
    unsigned fanout = h->im->o.hamt_fanout;
    size_t max = n < fanout ? n : fanout;
    shard_scratch *s = calloc(1, sizeof *s);
    int rc = FOG_ERR_NOMEM;
    if (s != NULL && (s->links = calloc(max, sizeof *s->links)) != NULL &&
        (s->name_off = calloc(max, sizeof *s->name_off)) != NULL) {
        size_t n_links = 0;
        rc = shard_links(h, s, e, n, level, &n_links);
        uint8_t bits[128];
        fog_unixfs u = {.type = FOG_UNIXFS_HAMT,
                        .has_data = true,
                        .data = bitfield(s->used, fanout, bits),
                        .has_hashtype = true,
                        .hashtype = FOG_MC_MURMUR3_X64_64,
                        .has_fanout = true,
                        .fanout = fanout};
        if (rc == 0) {
            rc = fog__imp_emit(h->im, &u, s->links, n_links, out);
        }
    }
    if (s != NULL) {
        free(s->links);
        free(s->name_off);
        fog_buf_clear(&s->names);
    }
    free(s);
    return rc;
}

int fog__hamt_build(fog__imp *im, fog__dirent *ents, size_t n, fog__ref *out)
{
    hamt h = {.im = im};
    while ((1u << h.bits) < im->o.hamt_fanout) {
        h.bits++;
    }
    for (unsigned v = im->o.hamt_fanout - 1; v > 0; v >>= 4) {
        h.pad++;
    }
    for (size_t i = 0; i < n; i++) {
        fog__murmur3_x64_64((const uint8_t *)ents[i].name, ents[i].name_len, ents[i].hash);
    }
    qsort(ents, n, sizeof *ents, cmp_hash);
    return shard(&h, ents, n, 0, out);
}
