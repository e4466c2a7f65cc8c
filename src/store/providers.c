/* providers.c: the DHT's provider records in the "providers" sub-database (store.h, "Provider
 * records"; lifetimes from ipfs/specs src/routing/kad-dht.md and go-libp2p-kad-dht
 * providers/providers_manager.go, which keeps records 48 h and sweeps expired ones hourly).
 * Key: one byte key length, the key (a multihash), the provider's peer ID: all the records of a
 * key sort together, so a lookup is one cursor range scan. Value: the expiry time as 8 bytes
 * big-endian Unix milliseconds, then the caller's data. The sweep walks the whole sub-database
 * in the batch's write transaction.
 */
#include "internal.h"

#include <string.h>

#define PROV_PEER_MAX 64 /* longest peer ID stored (identity multihash of a <= 42-byte key) */
#define PROV_HDR 8       /* expiry */

int fog_store_batch_provider_put(fog_store_batch *b, fog_slice key, fog_slice peer,
                                 uint64_t expires_ms, fog_slice data)
{
    if (key.len == 0 || key.len > FOG_STORE_PROV_KEY_MAX || peer.len == 0 ||
        peer.len > PROV_PEER_MAX || data.len > FOG_STORE_PROV_DATA_MAX) {
        return fog_errf(FOG_ERR_INVALID, "provider record: key, peer or data length out of range");
    }
    int err = 0;
    fog_store *s = fog__store_batch_store(b);
    MDB_txn *txn = fog__store_batch_table_txn(b, s->has_providers, "provider records",
                                              "providers", &err);
    if (txn == NULL) {
        return err;
    }
    uint8_t k[1 + FOG_STORE_PROV_KEY_MAX + PROV_PEER_MAX];
    uint8_t v[PROV_HDR + FOG_STORE_PROV_DATA_MAX];
    k[0] = (uint8_t)key.len;
    memcpy(k + 1, key.p, key.len);
    memcpy(k + 1 + key.len, peer.p, peer.len);
    fog__store_put_be64(v, expires_ms);
    if (data.len > 0) {
        memcpy(v + PROV_HDR, data.p, data.len);
    }
    MDB_val mk = {1 + key.len + peer.len, k}, mv = {PROV_HDR + data.len, v};
    int rc = mdb_put(txn, s->providers, &mk, &mv, 0);
    return rc != 0 ? fog__store_mdb_err(s, rc, "writing a provider record") : 0;
}

/* Calls fn for the live records of key under cursor c. */
static int scan_key(MDB_cursor *c, fog_slice key, uint64_t now_ms, fog_prov_fn fn, void *ctx)
{
    uint8_t k[1 + FOG_STORE_PROV_KEY_MAX];
    k[0] = (uint8_t)key.len;
    memcpy(k + 1, key.p, key.len);
    MDB_val mk = {1 + key.len, k}, mv;
    int rc = mdb_cursor_get(c, &mk, &mv, MDB_SET_RANGE);
    while (rc == 0) {
        const uint8_t *kp = mk.mv_data;
        if (mk.mv_size <= 1 + key.len || memcmp(kp, k, 1 + key.len) != 0) {
            return 0; /* past the key's records */
        }
        if (mv.mv_size >= PROV_HDR) {
            const uint8_t *vp = mv.mv_data;
            uint64_t exp = fog__store_get_be64(vp);
            if (exp > now_ms) {
                fog_slice peer = fog_slice_make(kp + 1 + key.len, mk.mv_size - 1 - key.len);
                int r = fn(ctx, peer, exp, fog_slice_make(vp + PROV_HDR,
                                                          mv.mv_size - PROV_HDR));
                if (r != 0) {
                    return r;
                }
            }
        }
        rc = mdb_cursor_get(c, &mk, &mv, MDB_NEXT);
    }
    return rc == MDB_NOTFOUND ? 0 : FOG_ERR_STORE;
}

int fog_store_providers_get(fog_store *s, fog_slice key, uint64_t now_ms, fog_prov_fn fn,
                            void *ctx)
{
    if (key.len == 0 || key.len > FOG_STORE_PROV_KEY_MAX) {
        return fog_errf(FOG_ERR_INVALID, "provider record: key length out of range");
    }
    if (!s->has_providers) {
        return 0;
    }
    MDB_txn *txn = NULL;
    int rc = fog__store_read_begin(s, &txn);
    if (rc < 0) {
        return rc;
    }
    MDB_cursor *c = NULL;
    int mrc = mdb_cursor_open(txn, s->providers, &c);
    if (mrc != 0) {
        mdb_txn_abort(txn);
        return fog__store_mdb_err(s, mrc, "reading provider records");
    }
    rc = scan_key(c, key, now_ms, fn, ctx);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return rc == FOG_ERR_STORE ? fog_errf(rc, "reading provider records of %s failed", s->dir)
                               : rc;
}

int fog_store_batch_providers_sweep(fog_store_batch *b, uint64_t now_ms, size_t *removed_out)
{
    size_t removed = 0;
    int err = 0;
    MDB_txn *txn = fog__store_batch_txn(b, &err);
    if (txn == NULL) {
        return err;
    }
    fog_store *s = fog__store_batch_store(b);
    MDB_cursor *c = NULL;
    int rc = s->has_providers ? mdb_cursor_open(txn, s->providers, &c) : MDB_NOTFOUND;
    MDB_val mk, mv;
    if (rc == 0) {
        rc = mdb_cursor_get(c, &mk, &mv, MDB_FIRST);
    }
    while (rc == 0) {
        if (mv.mv_size < PROV_HDR || fog__store_get_be64(mv.mv_data) <= now_ms) {
            if ((rc = mdb_cursor_del(c, 0)) != 0) {
                break;
            }
            removed++;
        }
        rc = mdb_cursor_get(c, &mk, &mv, MDB_NEXT);
    }
    if (c != NULL) {
        mdb_cursor_close(c);
    }
    if (removed_out != NULL) {
        *removed_out = removed;
    }
    return rc == MDB_NOTFOUND ? 0 : fog__store_mdb_err(s, rc, "sweeping provider records");
}
