/* records.c: the DHT's value records (PUT_VALUE / GET_VALUE, libp2p/specs kad-dht/README.md
 * "Value storage and retrieval") in the "records" sub-database (store.h, "Value records"). As
 * go-libp2p-kad-dht keeps one datastore entry per record key holding the record and the time it
 * was received: key -> the received time as 8 bytes big-endian Unix milliseconds, then the value.
 * The DHT validates values before it writes them and judges their age when it reads them.
 */
#include "internal.h"

#include <string.h>

#define REC_HDR 8 /* received time */

/* The batch's transaction when the records table exists; NULL with *err set otherwise. */
static MDB_txn *rec_txn(fog_store_batch *b, int *err)
{
    return fog__store_batch_table_txn(b, fog__store_batch_store(b)->has_records, "value records",
                                      "records", err);
}

int fog_store_batch_record_put(fog_store_batch *b, fog_slice key, uint64_t received_ms,
                               fog_slice value)
{
    if (key.len == 0 || key.len > FOG_STORE_REC_KEY_MAX || value.len > FOG_STORE_REC_VALUE_MAX) {
        return fog_errf(FOG_ERR_INVALID, "value record: key or value length out of range");
    }
    int err = 0;
    MDB_txn *txn = rec_txn(b, &err);
    if (txn == NULL) {
        return err;
    }
    fog_store *s = fog__store_batch_store(b);
    MDB_val mk = {key.len, (void *)key.p}, mv = {REC_HDR + value.len, NULL};
    int rc = mdb_put(txn, s->records, &mk, &mv, MDB_RESERVE);
    if (rc != 0) {
        return fog__store_mdb_err(s, rc, "writing a value record");
    }
    fog__store_put_be64(mv.mv_data, received_ms);
    if (value.len > 0) {
        memcpy((uint8_t *)mv.mv_data + REC_HDR, value.p, value.len);
    }
    return 0;
}

int fog_store_batch_record_del(fog_store_batch *b, fog_slice key)
{
    if (key.len == 0 || key.len > FOG_STORE_REC_KEY_MAX) {
        return fog_errf(FOG_ERR_INVALID, "value record: key length out of range");
    }
    int err = 0;
    MDB_txn *txn = rec_txn(b, &err);
    if (txn == NULL) {
        return err;
    }
    fog_store *s = fog__store_batch_store(b);
    MDB_val mk = {key.len, (void *)key.p};
    int rc = mdb_del(txn, s->records, &mk, NULL);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : fog__store_mdb_err(s, rc, "deleting a record");
}

int fog_store_record_get(fog_store *s, fog_slice key, uint64_t *received_ms, fog_buf *value_out)
{
    if (key.len == 0 || key.len > FOG_STORE_REC_KEY_MAX) {
        return fog_errf(FOG_ERR_INVALID, "value record: key length out of range");
    }
    if (!s->has_records) {
        return FOG_ERR_NOT_FOUND;
    }
    MDB_txn *txn = NULL;
    int rc = fog__store_read_begin(s, &txn);
    if (rc < 0) {
        return rc;
    }
    MDB_val mk = {key.len, (void *)key.p}, mv;
    int mrc = mdb_get(txn, s->records, &mk, &mv);
    if (mrc == MDB_NOTFOUND || (mrc == 0 && mv.mv_size < REC_HDR)) {
        rc = FOG_ERR_NOT_FOUND;
    } else if (mrc != 0) {
        rc = fog__store_mdb_err(s, mrc, "reading a value record");
    } else {
        *received_ms = fog__store_get_be64(mv.mv_data);
        rc = fog_buf_append(value_out, (const uint8_t *)mv.mv_data + REC_HDR,
                            mv.mv_size - REC_HDR);
    }
    mdb_txn_abort(txn);
    return rc;
}
