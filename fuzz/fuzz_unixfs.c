/* fuzz_unixfs.c: the UnixFS Data decoder and the exporter on arbitrary input (libFuzzer).
 * 1. The input as a UnixFS Data message: whatever decodes re-encodes (fog_unixfs_encode) to
 *    bytes that decode to the same fields, and encoding is stable.
 * 2. The input as the root block of a UnixFS DAG held by a one-block source: the exporter lists
 *    it, reads it as a file and resolves a name in it. Children the fuzzer writes as identity
 *    CIDs are read from the CIDs themselves, so nested DAGs (files over inline leaves, sub-shards)
 *    are reachable without finding a SHA-256 preimage. A DAG of diamonds can ask for far more
 *    blocks than it holds, so the walk's fetches and output are capped; the exporter must fail
 *    cleanly (or succeed) and keep the memory it holds bounded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dag/internal.h"
#include "fuzzlib.h"

static void same_fields(const fog_unixfs *a, const fog_unixfs *b)
{
    CHECK(a->type == b->type && a->has_data == b->has_data);
    CHECK(!a->has_data || fog_slice_eq(a->data, b->data));
    CHECK(a->has_filesize == b->has_filesize && (!a->has_filesize || a->filesize == b->filesize));
    CHECK(a->n_blocksizes == b->n_blocksizes);
    CHECK(a->n_blocksizes == 0 ||
          memcmp(a->blocksizes, b->blocksizes, a->n_blocksizes * sizeof(uint64_t)) == 0);
    CHECK(a->has_hashtype == b->has_hashtype && (!a->has_hashtype || a->hashtype == b->hashtype));
    CHECK(a->has_fanout == b->has_fanout && (!a->has_fanout || a->fanout == b->fanout));
    CHECK(a->has_mode == b->has_mode && (!a->has_mode || a->mode == b->mode));
    CHECK(a->has_mtime == b->has_mtime && (!a->has_mtime || a->mtime_sec == b->mtime_sec));
    CHECK(a->has_mtime_nsec == b->has_mtime_nsec &&
          (!a->has_mtime_nsec || a->mtime_nsec == b->mtime_nsec));
}

static void data_roundtrip(const uint8_t *data, size_t size)
{
    fog_unixfs u, back;
    if (fog_unixfs_decode(&u, data, size) < 0) {
        CHECK(u.blocksizes == NULL);
        return;
    }
    fog_buf out, again;
    fog_buf_init(&out);
    fog_buf_init(&again);
    CHECK(fog_unixfs_encode(&u, &out) == 0);
    CHECK(fog_unixfs_decode(&back, out.p, out.len) == 0);
    same_fields(&u, &back);
    CHECK(fog_unixfs_encode(&back, &again) == 0);
    CHECK(again.len == out.len && (out.len == 0 || memcmp(again.p, out.p, out.len) == 0));
    fog_unixfs_clear(&u);
    fog_unixfs_clear(&back);
    fog_buf_clear(&out);
    fog_buf_clear(&again);
}

typedef struct {
    fog_cid cid;
    fog_slice block;
} one_block;

static int one_get(void *ctx, const fog_cid *c, fog_slice *out)
{
    one_block *b = ctx;
    if (!fog_cid_eq(c, &b->cid)) {
        return fog_errf(FOG_ERR_NOT_FOUND, "block %s not found", fog_cid_str(c));
    }
    *out = b->block;
    return 0;
}

#define OUT_CAP (1u << 20)

static int sink(void *ctx, const uint8_t *p, size_t len)
{
    (void)p;
    size_t *total = ctx;
    *total += len;
    return *total > OUT_CAP ? FOG_ERR_CANCELLED : 0;
}

static int entry(void *ctx, const fog_unixfs_entry *e)
{
    size_t *n = ctx;
    CHECK(e->name != NULL);
    return ++*n > 100000 ? FOG_ERR_CANCELLED : 0;
}

static void exporter(const uint8_t *data, size_t size)
{
    one_block b;
    CHECK(fog_cid_of(&b.cid, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, data, size) == 0);
    b.block = fog_slice_make(data, size);
    fog_blocksource src = {one_get, &b, false};
    fog__exp x;
    fog__exp_init(&x, &src);
    x.max_fetches = 5000;
    size_t entries = 0;
    (void)fog__exp_ls(&x, &b.cid, entry, &entries); /* any outcome but a crash is fine */
    CHECK(x.held == 0);
    fog__exp_init(&x, &src);
    x.max_fetches = 5000;
    fog__exp_node n;
    size_t total = 0;
    if (fog__exp_load(&x, &b.cid, &n) == 0) {
        (void)fog__exp_cat(&x, &n, 3, UINT64_MAX, sink, &total);
    }
    fog__exp_node_clear(&n);
    CHECK(x.held == 0);
    char path[FOG_CID_STR_MAX + 16];
    snprintf(path, sizeof path, "%s/470.txt", fog_cid_str(&b.cid));
    fog_cid got;
    (void)fog_unixfs_resolve(&src, path, &got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    data_roundtrip(data, size);
    exporter(data, size);
    return 0;
}
