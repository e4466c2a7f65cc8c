/* batch.c: write batches for imports (store.h, fog_store_batch_*).
 * One LMDB write transaction at a time. When the transaction has taken more than
 * FOG_STORE_BATCH_BYTES of new block bytes it is committed with MDB_NOMETASYNC and a new one
 * begins: LMDB holds a write transaction's dirty pages in heap memory until commit, so this
 * keeps a 1 GiB import at a few times FOG_STORE_BATCH_BYTES of RSS. Those commits are not an
 * acknowledgement; fog_store_batch_commit is (fully durable, and its fdatasync also covers the
 * data and meta pages of the earlier ones).
 * Pins wait in memory (kind byte, CID length byte, CIDv1 bytes) and are written only in the
 * final transaction. After the first failure the batch is dead: every later call returns that
 * error and commit frees it.
 * Each put is counted as new or already stored from mdb_put's own answer (MDB_NOOVERWRITE gives
 * MDB_KEYEXIST for a key that is there), so `fog add` can show what dedup saved without a second
 * lookup per block.
 */
#include "internal.h"

#include <stdlib.h>

#include "fog/mf.h"

struct fog_store_batch {
    fog_store *s;
    MDB_txn *txn;       /* NULL after a failure */
    size_t txn_bytes;   /* new block bytes in txn since it began */
    int64_t txn_added;  /* content bytes txn adds to the "content_bytes" counter */
    fog_buf pins;       /* records: kind, CID length, CIDv1 bytes */
    fog_store_batch_stats stats; /* every put so far, new or already stored */
    int err;            /* 0 or the first failure */
};

int fog_store_batch_begin(fog_store *s, fog_store_batch **out)
{
    *out = NULL;
    fog_store_batch *b = calloc(1, sizeof *b);
    if (b == NULL) {
        return fog_errf(FOG_ERR_NOMEM, "out of memory for a write batch");
    }
    b->s = s;
    int rc = fog__store_write_begin(s, &b->txn);
    if (rc < 0) {
        free(b);
        return rc;
    }
    s->batch_open = true;
    *out = b;
    return 0;
}

static int batch_fail(fog_store_batch *b, int rc)
{
    if (b->txn != NULL) {
        mdb_txn_abort(b->txn);
        b->txn = NULL;
    }
    b->err = rc;
    return rc;
}

/* Commits the current transaction without meta sync and opens the next one. */
static int batch_flush(fog_store_batch *b)
{
    int rc = fog__store_content_add(b->s, b->txn, b->txn_added);
    if (rc < 0) {
        return batch_fail(b, rc);
    }
    MDB_txn *txn = b->txn;
    b->txn = NULL;
    if ((rc = fog__store_commit(b->s, txn, false)) < 0) {
        return batch_fail(b, rc);
    }
    b->txn_bytes = 0;
    b->txn_added = 0;
    /* Not fog__store_write_begin: the batch itself owns the writer slot. */
    if ((rc = mdb_txn_begin(b->s->env, NULL, 0, &b->txn)) != 0) {
        b->txn = NULL;
        return batch_fail(b, fog__store_mdb_err(b->s, rc, "write transaction"));
    }
    return 0;
}

int fog_store_batch_put(fog_store_batch *b, const fog_cid *c, const uint8_t *data, size_t len)
{
    if (b->err < 0) {
        return b->err;
    }
    if (c->mh_code == FOG_MC_IDENTITY) {
        return 0; /* the data lives in the CID */
    }
    int added = 0;
    int rc = fog__store_block_put(b->s, b->txn, c, data, len, &added);
    if (rc < 0) {
        return batch_fail(b, rc);
    }
    if (!added) {
        b->stats.old_blocks++;
        b->stats.old_bytes += len;
        return 0;
    }
    b->stats.new_blocks++;
    b->stats.new_bytes += len;
    b->txn_added += (int64_t)len;
    b->txn_bytes += len;
    return b->txn_bytes > FOG_STORE_BATCH_BYTES ? batch_flush(b) : 0;
}

void fog_store_batch_get_stats(const fog_store_batch *b, fog_store_batch_stats *out)
{
    *out = b->stats;
}

int fog_store_batch_pin(fog_store_batch *b, const fog_cid *c, int kind)
{
    if (b->err < 0) {
        return b->err;
    }
    if (kind != FOG_PIN_DIRECT && kind != FOG_PIN_RECURSIVE && kind != 0) {
        return fog_errf(FOG_ERR_INVALID, "bad pin kind %d", kind);
    }
    fog_cid key;
    int rc = fog__store_pin_key(c, &key);
    if (rc < 0 || (rc = fog_buf_u8(&b->pins, (uint8_t)kind)) < 0 ||
        (rc = fog_buf_u8(&b->pins, (uint8_t)key.len)) < 0 ||
        (rc = fog_buf_append(&b->pins, key.bytes, key.len)) < 0) {
        return batch_fail(b, rc);
    }
    return 0;
}

int fog_store_batch_unpin(fog_store_batch *b, const fog_cid *c)
{
    return fog_store_batch_pin(b, c, 0); /* kind 0 in the pin list: remove */
}

/* Writes the pins kept in memory (and removals, kind 0) into the final transaction, in order. */
static int pins_apply(fog_store_batch *b)
{
    fog_reader r;
    fog_reader_init(&r, b->pins.p, b->pins.len);
    while (r.left > 0) {
        uint8_t kind = 0, len = 0;
        fog_slice cid_bytes = {0};
        fog_cid c;
        fog_reader_u8(&r, &kind);
        fog_reader_u8(&r, &len);
        fog_reader_bytes(&r, len, &cid_bytes);
        int rc = r.err < 0 ? r.err : fog_cid_from_bytes(&c, cid_bytes.p, cid_bytes.len);
        rc = rc < 0 ? rc
             : kind == 0 ? fog__store_pin_del(b->s, b->txn, &c)
                         : fog__store_pin_put(b->s, b->txn, &c, kind);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static void batch_free(fog_store_batch *b)
{
    if (b->txn != NULL) {
        mdb_txn_abort(b->txn);
    }
    b->s->batch_open = false;
    fog_buf_clear(&b->pins);
    free(b);
}

static int commit(fog_store_batch *b, bool durable, bool *wrote_out)
{
    int rc = b->err;
    if (rc == 0 && ((rc = fog__store_content_add(b->s, b->txn, b->txn_added)) < 0 ||
                    (rc = pins_apply(b)) < 0)) {
        (void)batch_fail(b, rc); /* rc is what the caller sees */
    }
    if (rc == 0) {
        MDB_txn *txn = b->txn;
        b->txn = NULL;
        size_t id = mdb_txn_id(txn);
        rc = fog__store_commit(b->s, txn, durable);
        MDB_envinfo info;
        /* a clean transaction commits without writing or syncing: the last ID stays below */
        *wrote_out = rc == 0 && mdb_env_info(b->s->env, &info) == 0 && info.me_last_txnid >= id;
    }
    batch_free(b);
    return rc;
}

int fog_store_batch_commit(fog_store_batch *b)
{
    bool wrote = false;
    return commit(b, true, &wrote);
}

int fog__store_batch_commit_lazy(fog_store_batch *b, bool *wrote_out)
{
    *wrote_out = false;
    return commit(b, false, wrote_out);
}

void fog_store_batch_abort(fog_store_batch *b)
{
    if (b != NULL) {
        batch_free(b);
    }
}

/* Provider and value records (providers.c, records.c) write in the batch's transaction. */
MDB_txn *fog__store_batch_txn(fog_store_batch *b, int *err_out)
{
    if (b->txn == NULL) {
        *err_out = b->err != 0 ? b->err : FOG_ERR_INVALID;
    }
    return b->txn;
}

fog_store *fog__store_batch_store(fog_store_batch *b)
{
    return b->s;
}

MDB_txn *fog__store_batch_table_txn(fog_store_batch *b, bool present, const char *what,
                                    const char *table, int *err_out)
{
    MDB_txn *txn = fog__store_batch_txn(b, err_out);
    if (txn != NULL && !present) {
        *err_out = fog_errf(FOG_ERR_STORE, "%s: the repository has no %s table", what, table);
        return NULL;
    }
    return txn;
}
