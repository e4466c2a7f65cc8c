/* store.h: the repository: one directory with an identity, a config file and an LMDB environment.
 * Layout of a repository DIR:
 *   DIR/config      JSON (jansson): Identity {PeerID, PrivKey (base64 libp2p PrivateKey pb)},
 *                   Datastore {MapSizeBytes}, Import {CidProfile}; mode 0600
 *   DIR/repo.lock   flock(2) target: shared for readers, exclusive for writers
 *   DIR/blocks/     the LMDB environment (data.mdb, lock.mdb)
 * LMDB sub-databases: "blocks" (multihash bytes -> block bytes), "pins" (CID bytes -> kind),
 * "meta" (small counters and versions).
 * Blocks are keyed by multihash, not CID, so a block asked for by its v0 and its v1 name is one
 * entry (PROTOCOLS.md 1.4). Crash safety comes from LMDB transactions: a put or pin is
 * acknowledged (its call returns 0) only after the transaction that holds it committed durably.
 * Threads: a fog_store may be used from one thread at a time; readers of one process share the
 * environment. Between processes, writers exclude each other through repo.lock.
 */
#ifndef FOG_STORE_H
#define FOG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/mf.h"
#include "fog/util.h"

typedef struct fog_store fog_store;

/* Default repository path: $FOG_PATH, else $HOME/.fog. Returns a static string or NULL. */
const char *fog_repo_default_path(void);

/* Creates a repository at dir (created if missing, must be empty of fog files): a new Ed25519
 * identity, the config file, the LMDB environment. FOG_ERR_EXISTS if dir already holds a
 * repository, FOG_ERR_IO otherwise (detail line set). peer_id_out (may be NULL, at least 64
 * bytes) receives the peer ID text. */
FOG_NODISCARD int fog_repo_init(const char *dir, char *peer_id_out, size_t peer_id_cap);

enum {
    FOG_STORE_READ = 0,  /* shared lock: other readers may run beside it */
    FOG_STORE_WRITE = 1, /* exclusive lock: the only process with the repository open */
};
/* Opens the repository at dir. FOG_ERR_NO_REPO when dir holds none, FOG_ERR_LOCKED when another
 * process holds a conflicting lock (never waits), FOG_ERR_STORE for LMDB failures; each sets a
 * detail line naming dir. *out is given to the caller: fog_store_close frees it. */
FOG_NODISCARD int fog_store_open(fog_store **out, const char *dir, int mode);
void fog_store_close(fog_store *s); /* NULL is a no-op */
const char *fog_store_path(const fog_store *s);

/* Peer ID text of the repository's identity (borrowed, valid until close). */
const char *fog_store_peer_id(const fog_store *s);

/* Single-block operations, each its own transaction. put stores data under c's multihash after
 * checking that data hashes to it (FOG_ERR_HASH_MISMATCH); a block already present is left as
 * is. get copies the bytes into out (appended). has returns 1 or 0 (or an error). delete returns
 * FOG_ERR_NOT_FOUND if absent. size_out receives the block's length. */
FOG_NODISCARD int fog_store_put(fog_store *s, const fog_cid *c, const uint8_t *data, size_t len);
FOG_NODISCARD int fog_store_get(fog_store *s, const fog_cid *c, fog_buf *out);
FOG_NODISCARD int fog_store_has(fog_store *s, const fog_cid *c);
FOG_NODISCARD int fog_store_delete(fog_store *s, const fog_cid *c);
FOG_NODISCARD int fog_store_size(fog_store *s, const fog_cid *c, size_t *size_out);

/* A read view: a consistent snapshot; blocks are lent straight from the memory map, valid until
 * fog_store_view_end. One view per thread at a time. */
typedef struct fog_store_view fog_store_view;
FOG_NODISCARD int fog_store_view_begin(fog_store *s, fog_store_view **out);
/* FOG_ERR_NOT_FOUND (with a detail line naming the CID) when the block is absent. */
FOG_NODISCARD int fog_store_view_get(fog_store_view *v, const fog_cid *c, fog_slice *out);
void fog_store_view_end(fog_store_view *v); /* NULL is a no-op */

/* A write batch for imports: puts accumulate in one LMDB write transaction that is committed
 * whenever it holds more than FOG_STORE_BATCH_BYTES (to bound memory; those commits sync data but
 * are not an acknowledgement), and durably by fog_store_batch_commit, which is the
 * acknowledgement. Puts from an aborted or interrupted batch may remain as unpinned blocks that
 * gc removes. Pins made in the batch are committed only by fog_store_batch_commit. Blocks put
 * through a batch are trusted to match their CID (the importer computed the CID from the bytes);
 * blocks from outside go through fog_store_put or are verified by the caller first. */
#define FOG_STORE_BATCH_BYTES (8u << 20)
typedef struct fog_store_batch fog_store_batch;
FOG_NODISCARD int fog_store_batch_begin(fog_store *s, fog_store_batch **out);
FOG_NODISCARD int fog_store_batch_put(fog_store_batch *b, const fog_cid *c, const uint8_t *data,
                                      size_t len);
FOG_NODISCARD int fog_store_batch_pin(fog_store_batch *b, const fog_cid *c, int kind);
/* Commits durably and frees b (also on failure). */
FOG_NODISCARD int fog_store_batch_commit(fog_store_batch *b);
void fog_store_batch_abort(fog_store_batch *b); /* NULL is a no-op; frees b */

/* Pins. A recursive pin keeps a root and everything it links to; a direct pin only the block.
 * Pins are keyed by the CID as given, except that a v0 CID is stored as its v1 form, so
 * `pin rm` of either text form finds it. */
enum { FOG_PIN_DIRECT = 1, FOG_PIN_RECURSIVE = 2 };
FOG_NODISCARD int fog_store_pin_add(fog_store *s, const fog_cid *c, int kind);
/* FOG_ERR_NOT_FOUND if c is not pinned. */
FOG_NODISCARD int fog_store_pin_rm(fog_store *s, const fog_cid *c);
/* kind_out receives FOG_PIN_DIRECT, FOG_PIN_RECURSIVE or 0 (not pinned). */
FOG_NODISCARD int fog_store_pin_get(fog_store *s, const fog_cid *c, int *kind_out);
/* Calls fn for every pin (in key order); a non-zero return from fn stops and is returned. */
typedef int (*fog_pin_fn)(void *ctx, const fog_cid *c, int kind);
FOG_NODISCARD int fog_store_pin_list(fog_store *s, fog_pin_fn fn, void *ctx);

/* Calls fn for every stored block (multihash key, block bytes lent for the call only). */
typedef int (*fog_block_fn)(void *ctx, fog_slice mh, fog_slice data);
FOG_NODISCARD int fog_store_each_block(fog_store *s, fog_block_fn fn, void *ctx);

/* Garbage collection: marks every block reachable from a pin (following links through
 * links_fn, which calls emit for each CID a block links to; the dag layer supplies
 * fog_dag_links) and deletes every unmarked block, in one write transaction. A missing block
 * under a recursive pin is not an error for gc (repo verify reports it). */
typedef int (*fog_cid_fn)(void *ctx, const fog_cid *c);
typedef int (*fog_links_fn)(const fog_cid *c, fog_slice data, fog_cid_fn emit, void *emit_ctx);
typedef struct {
    uint64_t blocks_removed;
    uint64_t bytes_removed;
    uint64_t blocks_kept;
} fog_gc_stats;
FOG_NODISCARD int fog_store_gc(fog_store *s, fog_links_fn links_fn, fog_gc_stats *stats_out);

typedef struct {
    uint64_t blocks;        /* number of stored blocks */
    uint64_t content_bytes; /* sum of their lengths */
    uint64_t repo_bytes;    /* bytes the repository takes on disk (files under DIR) */
    uint64_t pins;
} fog_repo_stat;
FOG_NODISCARD int fog_store_stat(fog_store *s, fog_repo_stat *out);

#endif
