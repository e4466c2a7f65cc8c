/* internal.h: what the files of the store layer share: the handle's body, LMDB transaction
 * helpers that translate LMDB codes into fog_err codes, the content-bytes counter kept in "meta",
 * and the config file reader and writer.
 * Invariant: every state that matters lives inside LMDB transactions or in files written
 * atomically (config); a process killed at any instant leaves a repository that opens cleanly.
 */
#ifndef FOG_STORE_INTERNAL_H
#define FOG_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "fog/crypto.h"
#include "fog/store.h"

#define STORE_SCHEMA_VERSION 1            /* meta "version"; bumped when the key layout changes */
#define STORE_MAP_SIZE_DEFAULT (1ull << 40) /* 1 TiB of address space; the file grows as used */
#define STORE_PEER_ID_MAX 64

struct fog_store {
    MDB_env *env;
    MDB_dbi blocks; /* multihash bytes -> block bytes */
    MDB_dbi pins;   /* CIDv1 bytes -> kind byte */
    MDB_dbi meta;   /* "version", "content_bytes" -> u64 little-endian */
    MDB_dbi providers;  /* provider records (providers.c): key length, key, peer ID -> expiry,
                           data; valid when has_providers */
    bool has_providers;
    MDB_dbi records;    /* DHT value records (records.c): key -> received time, value; valid
                           when has_records */
    bool has_records;
    int lock_fd;    /* repo.lock, flocked for the handle's whole life; -1 when not open */
    int mode;       /* FOG_STORE_READ, FOG_STORE_WRITE or FOG_STORE_EXCLUSIVE */
    bool batch_open; /* a fog_store_batch holds the write transaction */
    uintptr_t map_base; /* where LMDB mapped the data file (0: not found; see repo.c) */
    size_t map_len;
    int data_fd;        /* LMDB's descriptor of the data file, for fog_store_view_copy */
    char *dir;      /* the repository path as given (owned) */
    char peer_id[STORE_PEER_ID_MAX];
    uint8_t secret[FOG_ED25519_SECRET_LEN]; /* wiped by close */
};

/* Translates an LMDB (or errno) code: MDB_MAP_FULL and ENOSPC -> FOG_ERR_STORE_FULL, ENOMEM ->
 * FOG_ERR_NOMEM, anything else -> FOG_ERR_STORE; the detail line names what failed, the
 * repository and mdb_strerror. rc must not be 0. */
int fog__store_mdb_err(const fog_store *s, int rc, const char *what);

/* FOG_ERR_INVALID with a detail line when s was opened FOG_STORE_READ. */
int fog__store_need_write(const fog_store *s);

/* Transactions. read_begin gives a read-only txn (end it with mdb_txn_abort). write_begin needs
 * a FOG_STORE_WRITE handle and no open batch (LMDB's writer mutex is not recursive: a second
 * write txn in the batch's thread would deadlock), else FOG_ERR_INVALID. commit ends txn in
 * every case; durable false commits with MDB_NOMETASYNC (data synced, meta page not: integrity
 * kept, the txn may be lost on power loss). */
int fog__store_read_begin(fog_store *s, MDB_txn **txn_out);
int fog__store_write_begin(fog_store *s, MDB_txn **txn_out);
int fog__store_commit(fog_store *s, MDB_txn *txn, bool durable);
/* The store writer's commit (writer.c): fog_store_batch_commit, but with the meta page written
 * and not synced (MDB_NOMETASYNC: the data pages are fdatasync'd first, so the database stays
 * intact on power loss and at worst falls back to the previous transaction). *wrote_out: the
 * file was written and fdatasync'd by this commit (or by a later one of another writer), which
 * also made the meta pages of every earlier commit durable. Frees b. */
FOG_NODISCARD int fog__store_batch_commit_lazy(fog_store_batch *b, bool *wrote_out);
/* fdatasync of the data file: makes every commit's meta page durable. */
FOG_NODISCARD int fog__store_sync(fog_store *s);

/* The u64 counters in "meta" (0 when absent). */
int fog__store_meta_get(fog_store *s, MDB_txn *txn, const char *key, uint64_t *out);
int fog__store_meta_put(fog_store *s, MDB_txn *txn, const char *key, uint64_t v);
/* Adds delta (which may be negative) to "content_bytes", clamping at 0. */
int fog__store_content_add(fog_store *s, MDB_txn *txn, int64_t delta);

/* Stores one block in txn under c's multihash unless present. *added_out: 1 when it was new. */
int fog__store_block_put(fog_store *s, MDB_txn *txn, const fog_cid *c, const uint8_t *data,
                         size_t len, int *added_out);
/* The pins key of c: its v1 form. */
int fog__store_pin_key(const fog_cid *c, fog_cid *key_out);
/* Writes a pin inside txn (no downgrade of a recursive pin to direct: FOG_ERR_EXISTS). */
int fog__store_pin_put(fog_store *s, MDB_txn *txn, const fog_cid *c, int kind);
/* Removes c's pin in txn; 0 when there was none. */
int fog__store_pin_del(fog_store *s, MDB_txn *txn, const fog_cid *c);

/* The current write transaction of a live batch (batch.c), for records other than blocks
 * (providers.c, records.c); NULL with *err_out set to the batch's error when it failed. */
MDB_txn *fog__store_batch_txn(fog_store_batch *b, int *err_out);
fog_store *fog__store_batch_store(fog_store_batch *b);
/* The same for a sub-database that older repositories may lack (present: the store's has_ flag):
 * when it is missing, NULL with *err_out FOG_ERR_STORE, "WHAT: the repository has no TABLE
 * table". */
MDB_txn *fog__store_batch_table_txn(fog_store_batch *b, bool present, const char *what,
                                    const char *table, int *err_out);

/* The 8-byte big-endian numbers that head provider and value records (times in Unix ms). */
static inline void fog__store_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static inline uint64_t fog__store_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Calls fn for every pin in txn, in key order; a non-zero return stops and is returned. */
int fog__store_pin_each(fog_store *s, MDB_txn *txn, fog_pin_fn fn, void *ctx);

/* The config file. write makes DIR/config (mode 0600) atomically and durably from the identity
 * secret. read parses it, checks that PeerID matches PrivKey and fills the outputs. */
int fog__store_config_write(const char *dir, const uint8_t secret[FOG_ED25519_SECRET_LEN],
                            const char *peer_id);
int fog__store_config_read(const char *dir, uint8_t secret_out[FOG_ED25519_SECRET_LEN],
                           char peer_id_out[STORE_PEER_ID_MAX], uint64_t *map_size_out);
/* The parser behind config_read, for a config already in memory (path only names it in
 * messages): FOG_ERR_STORE with a detail line for anything malformed. */
int fog__store_config_parse(const char *path, const char *text, size_t len,
                            uint8_t secret_out[FOG_ED25519_SECRET_LEN],
                            char peer_id_out[STORE_PEER_ID_MAX], uint64_t *map_size_out);
/* A libp2p PrivateKey protobuf {Type = 1 (Ed25519), Data = seed || public} into secret, the
 * public half checked against the seed: 0 or FOG_ERR_PROTO (secret wiped). */
int fog__store_privkey_parse(const uint8_t *pb, size_t len,
                             uint8_t secret[FOG_ED25519_SECRET_LEN]);
/* The peer ID text of an Ed25519 public key into out (STORE_PEER_ID_MAX bytes). */
int fog__store_peer_id_text(const uint8_t pub[FOG_ED25519_PUB_LEN], char *out, size_t cap);
/* dir + "/" + name into out (cap bytes): FOG_ERR_LIMIT when it does not fit. */
int fog__store_path(char *out, size_t cap, const char *dir, const char *name);
/* fsync of a directory, so that a rename or create inside it survives power loss. */
int fog__store_fsync_dir(const char *dir);

#endif
