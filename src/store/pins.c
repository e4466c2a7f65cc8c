/* pins.c: the "pins" sub-database: CID bytes -> one kind byte (FOG_PIN_DIRECT, FOG_PIN_RECURSIVE).
 * Keys are CIDv1 bytes: a v0 CID is stored in its v1 form (same multihash, codec dag-pb), so a
 * pin made as Qm... is found again, and removed, by its bafy... name and the other way round.
 * Unlike blocks, pins keep the codec: the same bytes pinned as raw and as dag-pb are two pins,
 * because gc follows links by codec.
 * A recursive pin is never turned into a direct one by pin_add (kubo refuses that too: the
 * caller removes the recursive pin first); direct -> recursive is an upgrade and allowed.
 * The store does not check that pinned blocks are present: pinning a DAG means fetching it,
 * which is the caller's job (and gc tolerates missing blocks under a pin).
 */
#include "internal.h"

#include <string.h>

#include "fog/mf.h"

int fog__store_pin_key(const fog_cid *c, fog_cid *key_out)
{
    if (c->version == 0) {
        return fog_cid_to_v1(c, key_out);
    }
    *key_out = *c;
    return 0;
}

static MDB_val key_val(const fog_cid *key)
{
    MDB_val k = {key->len, (void *)(uintptr_t)key->bytes};
    return k;
}

/* The kind stored under key in txn: 0 when absent. */
static int pin_kind(fog_store *s, MDB_txn *txn, const fog_cid *key, int *kind_out)
{
    MDB_val k = key_val(key);
    MDB_val v;
    *kind_out = 0;
    int rc = mdb_get(txn, s->pins, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return fog__store_mdb_err(s, rc, "reading a pin");
    }
    const uint8_t *p = v.mv_data;
    if (v.mv_size != 1 || (p[0] != FOG_PIN_DIRECT && p[0] != FOG_PIN_RECURSIVE)) {
        return fog_errf(FOG_ERR_STORE, "repository %s: pin of %s has a bad value", s->dir,
                        fog_cid_str(key));
    }
    *kind_out = p[0];
    return 0;
}

int fog__store_pin_put(fog_store *s, MDB_txn *txn, const fog_cid *c, int kind)
{
    if (kind != FOG_PIN_DIRECT && kind != FOG_PIN_RECURSIVE) {
        return fog_errf(FOG_ERR_INVALID, "bad pin kind %d", kind);
    }
    fog_cid key;
    int old = 0;
    int rc = fog__store_pin_key(c, &key);
    if (rc < 0 || (rc = pin_kind(s, txn, &key, &old)) < 0) {
        return rc;
    }
    if (old == kind) {
        return 0;
    }
    if (old == FOG_PIN_RECURSIVE) {
        return fog_errf(FOG_ERR_EXISTS, "%s is already pinned recursively", fog_cid_str(c));
    }
    uint8_t byte = (uint8_t)kind;
    MDB_val k = key_val(&key);
    MDB_val v = {1, &byte};
    rc = mdb_put(txn, s->pins, &k, &v, 0);
    return rc != 0 ? fog__store_mdb_err(s, rc, "writing a pin") : 0;
}

int fog__store_pin_del(fog_store *s, MDB_txn *txn, const fog_cid *c)
{
    fog_cid key;
    int rc = fog__store_pin_key(c, &key);
    if (rc < 0) {
        return rc;
    }
    MDB_val k = key_val(&key);
    rc = mdb_del(txn, s->pins, &k, NULL);
    return rc != 0 && rc != MDB_NOTFOUND ? fog__store_mdb_err(s, rc, "removing a pin") : 0;
}

int fog_store_pin_add(fog_store *s, const fog_cid *c, int kind)
{
    MDB_txn *txn = NULL;
    int rc = fog__store_write_begin(s, &txn);
    if (rc < 0) {
        return rc;
    }
    if ((rc = fog__store_pin_put(s, txn, c, kind)) < 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return fog__store_commit(s, txn, true);
}

int fog_store_pin_rm(fog_store *s, const fog_cid *c)
{
    fog_cid key;
    MDB_txn *txn = NULL;
    int rc = fog__store_pin_key(c, &key);
    if (rc < 0 || (rc = fog__store_write_begin(s, &txn)) < 0) {
        return rc;
    }
    MDB_val k = key_val(&key);
    rc = mdb_del(txn, s->pins, &k, NULL);
    if (rc != 0) {
        mdb_txn_abort(txn);
        if (rc == MDB_NOTFOUND) {
            return fog_errf(FOG_ERR_NOT_FOUND, "%s is not pinned", fog_cid_str(c));
        }
        return fog__store_mdb_err(s, rc, "removing a pin");
    }
    return fog__store_commit(s, txn, true);
}

int fog_store_pin_get(fog_store *s, const fog_cid *c, int *kind_out)
{
    fog_cid key;
    MDB_txn *txn = NULL;
    *kind_out = 0;
    int rc = fog__store_pin_key(c, &key);
    if (rc < 0 || (rc = fog__store_read_begin(s, &txn)) < 0) {
        return rc;
    }
    rc = pin_kind(s, txn, &key, kind_out);
    mdb_txn_abort(txn);
    return rc;
}

/* Parses one pins entry. */
static int pin_entry(fog_store *s, const MDB_val *k, const MDB_val *v, fog_cid *c, int *kind)
{
    const uint8_t *p = v->mv_data;
    if (fog_cid_from_bytes(c, k->mv_data, k->mv_size) < 0 || v->mv_size != 1 ||
        (p[0] != FOG_PIN_DIRECT && p[0] != FOG_PIN_RECURSIVE)) {
        return fog_errf(FOG_ERR_STORE, "repository %s: a pin entry is damaged", s->dir);
    }
    *kind = p[0];
    return 0;
}

int fog__store_pin_each(fog_store *s, MDB_txn *txn, fog_pin_fn fn, void *ctx)
{
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, s->pins, &cur);
    if (rc != 0) {
        return fog__store_mdb_err(s, rc, "listing pins");
    }
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    rc = 0;
    while (mrc == 0 && rc == 0) {
        fog_cid c;
        int kind = 0;
        rc = pin_entry(s, &k, &v, &c, &kind);
        if (rc == 0) {
            rc = fn(ctx, &c, kind);
        }
        if (rc == 0) {
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
    }
    if (rc == 0 && mrc != MDB_NOTFOUND) {
        rc = fog__store_mdb_err(s, mrc, "listing pins");
    }
    mdb_cursor_close(cur);
    return rc;
}

int fog_store_pin_list(fog_store *s, fog_pin_fn fn, void *ctx)
{
    MDB_txn *txn = NULL;
    int rc = fog__store_read_begin(s, &txn);
    if (rc < 0) {
        return rc;
    }
    rc = fog__store_pin_each(s, txn, fn, ctx);
    mdb_txn_abort(txn);
    return rc;
}
