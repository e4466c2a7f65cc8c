/* blocks.c: blocks in the "blocks" sub-database: single puts and gets, read views, write batches.
 * Keys are multihash bytes (PROTOCOLS.md 1.4: the same block is asked for under v0 and v1
 * names), values the block bytes. A CID with the identity multihash carries its data in its
 * digest: nothing is stored for it and reads answer from the CID without touching LMDB.
 * The "content_bytes" counter in "meta" changes in the same transaction as the blocks, so it can
 * never disagree with them after a crash.
 * Batches bound memory: LMDB keeps a write transaction's dirty pages in malloc'd memory until
 * commit, so a batch commits every FOG_STORE_BATCH_BYTES with MDB_NOMETASYNC (data fdatasync'd,
 * the meta page written but not synced: the database stays intact on power loss and at worst
 * loses that last transaction) and carries on in a new transaction. Its final commit is fully
 * durable; the fdatasync of that commit also flushes the earlier meta pages. Pins given to a
 * batch wait in memory until that final commit, so an interrupted import leaves only unpinned
 * blocks, which gc removes.
 * Values go in with a plain mdb_put: 1 MiB blocks land in overflow pages, 257 pages of 4 KiB
 * for 1 MiB plus the 16-byte page header. MDB_RESERVE would save no copy here, because the key
 * (the hash) is known only after the bytes exist in the caller's buffer.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fog/mf.h"

static bool is_identity(const fog_cid *c)
{
    return c->mh_code == FOG_MC_IDENTITY;
}

static MDB_val mh_key(const fog_cid *c)
{
    fog_slice mh = fog_cid_mh(c);
    MDB_val k = {mh.len, (void *)(uintptr_t)mh.p};
    return k;
}

static int not_found(const fog_cid *c)
{
    return fog_errf(FOG_ERR_NOT_FOUND, "block %s is not in the repository", fog_cid_str(c));
}

int fog__store_block_put(fog_store *s, MDB_txn *txn, const fog_cid *c, const uint8_t *data,
                         size_t len, int *added_out)
{
    MDB_val k = mh_key(c);
    MDB_val v = {len, (void *)(uintptr_t)data};
    *added_out = 0;
    int rc = mdb_put(txn, s->blocks, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST) {
        return 0;
    }
    if (rc != 0) {
        return fog__store_mdb_err(s, rc, "storing a block");
    }
    *added_out = 1;
    return 0;
}

int fog_store_put(fog_store *s, const fog_cid *c, const uint8_t *data, size_t len)
{
    int rc = fog_cid_verify(c, data, len);
    if (rc < 0) {
        return rc == FOG_ERR_HASH_MISMATCH
                   ? fog_errf(rc, "block data does not match %s", fog_cid_str(c))
                   : rc;
    }
    if (is_identity(c)) {
        return 0;
    }
    MDB_txn *txn = NULL;
    int added = 0;
    if ((rc = fog__store_write_begin(s, &txn)) < 0) {
        return rc;
    }
    if ((rc = fog__store_block_put(s, txn, c, data, len, &added)) < 0 ||
        (added && (rc = fog__store_content_add(s, txn, (int64_t)len)) < 0)) {
        mdb_txn_abort(txn);
        return rc;
    }
    return fog__store_commit(s, txn, true);
}

/* Looks c up in txn: 0 with *v set, or FOG_ERR_NOT_FOUND (no detail line) or another error. */
static int block_lookup(fog_store *s, MDB_txn *txn, const fog_cid *c, MDB_val *v)
{
    MDB_val k = mh_key(c);
    int rc = mdb_get(txn, s->blocks, &k, v);
    if (rc == MDB_NOTFOUND) {
        return FOG_ERR_NOT_FOUND;
    }
    return rc != 0 ? fog__store_mdb_err(s, rc, "reading a block") : 0;
}

int fog_store_get(fog_store *s, const fog_cid *c, fog_buf *out)
{
    if (is_identity(c)) {
        fog_slice d = fog_cid_digest(c);
        return fog_buf_append(out, d.p, d.len);
    }
    MDB_txn *txn = NULL;
    MDB_val v;
    int rc = fog__store_read_begin(s, &txn);
    if (rc < 0) {
        return rc;
    }
    rc = block_lookup(s, txn, c, &v);
    if (rc == 0) {
        rc = fog_buf_append(out, v.mv_data, v.mv_size);
    }
    mdb_txn_abort(txn);
    return rc == FOG_ERR_NOT_FOUND ? not_found(c) : rc;
}

/* The size of c's block: 0, FOG_ERR_NOT_FOUND without a detail line, or another error. */
static int block_size(fog_store *s, const fog_cid *c, size_t *size_out)
{
    if (is_identity(c)) {
        *size_out = c->digest_len;
        return 0;
    }
    MDB_txn *txn = NULL;
    MDB_val v;
    int rc = fog__store_read_begin(s, &txn);
    if (rc < 0) {
        return rc;
    }
    rc = block_lookup(s, txn, c, &v);
    if (rc == 0) {
        *size_out = v.mv_size;
    }
    mdb_txn_abort(txn);
    return rc;
}

int fog_store_size(fog_store *s, const fog_cid *c, size_t *size_out)
{
    int rc = block_size(s, c, size_out);
    return rc == FOG_ERR_NOT_FOUND ? not_found(c) : rc;
}

int fog_store_has(fog_store *s, const fog_cid *c)
{
    size_t size;
    int rc = block_size(s, c, &size);
    if (rc == FOG_ERR_NOT_FOUND) {
        return 0;
    }
    return rc < 0 ? rc : 1;
}

int fog_store_delete(fog_store *s, const fog_cid *c)
{
    if (is_identity(c)) {
        return 0; /* nothing stored: the data lives in the CID */
    }
    MDB_txn *txn = NULL;
    MDB_val v;
    int rc = fog__store_write_begin(s, &txn);
    if (rc < 0) {
        return rc;
    }
    MDB_val k = mh_key(c);
    if ((rc = block_lookup(s, txn, c, &v)) < 0) {
        mdb_txn_abort(txn);
        return rc == FOG_ERR_NOT_FOUND ? not_found(c) : rc;
    }
    int64_t len = (int64_t)v.mv_size;
    if ((rc = mdb_del(txn, s->blocks, &k, NULL)) != 0) {
        mdb_txn_abort(txn);
        return fog__store_mdb_err(s, rc, "deleting a block");
    }
    if ((rc = fog__store_content_add(s, txn, -len)) < 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return fog__store_commit(s, txn, true);
}

struct fog_store_view {
    fog_store *s;
    MDB_txn *txn;
    uintptr_t lo, hi; /* the span of the map this view lent slices from (both 0: none) */
};

int fog_store_view_begin(fog_store *s, fog_store_view **out)
{
    fog_store_view *v = calloc(1, sizeof *v);
    *out = NULL;
    if (v == NULL) {
        return fog_errf(FOG_ERR_NOMEM, "out of memory for a read view");
    }
    v->s = s;
    int rc = fog__store_read_begin(s, &v->txn);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    return 0;
}

int fog_store_view_get(fog_store_view *v, const fog_cid *c, fog_slice *out)
{
    if (is_identity(c)) {
        *out = fog_cid_digest(c);
        return 0;
    }
    MDB_val val;
    int rc = block_lookup(v->s, v->txn, c, &val);
    if (rc < 0) {
        return rc == FOG_ERR_NOT_FOUND ? not_found(c) : rc;
    }
    *out = fog_slice_make(val.mv_data, val.mv_size);
    uintptr_t start = (uintptr_t)val.mv_data, end = start + val.mv_size;
    if (v->hi == 0 || start < v->lo) {
        v->lo = start;
    }
    if (end > v->hi) {
        v->hi = end;
    }
    return 0;
}

void fog_store_view_release(fog_store_view *v, fog_slice data)
{
    if (v == NULL || data.len == 0) {
        return;
    }
    long ps = sysconf(_SC_PAGESIZE);
    uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096u;
    uintptr_t start = (uintptr_t)data.p, end = start + data.len;
    /* LMDB's map is one contiguous mapping: inside the span of the slices this view lent from
     * it means inside the map. Anything else (identity digests, copies) is never advised. */
    if (start < v->lo || end > v->hi || end < start) {
        return;
    }
    uintptr_t first = (start + page - 1) & ~(page - 1), last = end & ~(page - 1);
    if (first < last) {
        (void)madvise((void *)first, last - first, MADV_DONTNEED); /* advice only */
    }
}

int fog_store_copy_lent(const fog_store *s, fog_slice data, uint8_t *dst)
{
    uintptr_t start = (uintptr_t)data.p, end = start + data.len;
    if (s->map_base == 0 || start < s->map_base || end < start || end - s->map_base > s->map_len) {
        if (data.len > 0) {
            memcpy(dst, data.p, data.len);
        }
        return 0;
    }
    size_t done = 0;
    while (done < data.len) {
        ssize_t n = pread(s->data_fd, dst + done, data.len - done,
                          (off_t)(start - s->map_base + done));
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return fog_errf(FOG_ERR_IO, "reading a block from repository %s: %s", s->dir,
                            n < 0 ? strerror(errno) : "unexpected end of file");
        }
        done += (size_t)n;
    }
    return 0;
}

void fog_store_view_end(fog_store_view *v)
{
    if (v == NULL) {
        return;
    }
    mdb_txn_abort(v->txn);
    free(v);
}

int fog_store_each_block(fog_store *s, fog_block_fn fn, void *ctx)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc = fog__store_read_begin(s, &txn);
    if (rc < 0) {
        return rc;
    }
    if ((rc = mdb_cursor_open(txn, s->blocks, &cur)) != 0) {
        mdb_txn_abort(txn);
        return fog__store_mdb_err(s, rc, "listing blocks");
    }
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    rc = 0;
    while (mrc == 0 && rc == 0) {
        rc = fn(ctx, fog_slice_make(k.mv_data, k.mv_size), fog_slice_make(v.mv_data, v.mv_size));
        if (rc == 0) {
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
    }
    if (rc == 0 && mrc != MDB_NOTFOUND) {
        rc = fog__store_mdb_err(s, mrc, "listing blocks");
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}
