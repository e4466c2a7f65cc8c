/* store.h: the repository: one directory with an identity, a config file and an LMDB environment.
 * Layout of a repository DIR:
 *   DIR/config      JSON (jansson): Identity {PeerID, PrivKey (standard base64 with padding, as
 *                   kubo writes it, of the libp2p PrivateKey pb 08 01 12 40 seed||pub)},
 *                   Datastore {Type "lmdb", MapSizeBytes}, Import {CidProfile}, Version;
 *                   mode 0600, replaced atomically (tmp file, fsync, rename, fsync DIR)
 *   DIR/repo.lock   flock(2) target: shared for readers and writers, exclusive for gc and init
 *   DIR/blocks/     the LMDB environment (data.mdb, lock.mdb)
 * LMDB sub-databases: "blocks" (multihash bytes -> block bytes), "pins" (CID bytes -> kind),
 * "meta" ("version" of the key layout, "content_bytes" kept in the same transactions as blocks).
 * Blocks are keyed by multihash, not CID, so a block asked for by its v0 and its v1 name is one
 * entry (PROTOCOLS.md 1.4). Crash safety comes from LMDB transactions: a put or pin is
 * acknowledged (its call returns 0) only after the transaction that holds it committed durably.
 * Threads: a fog_store may be used from one thread at a time, except that views (read
 * transactions, MDB_NOTLS) may be used and ended on other threads meanwhile. Between processes,
 * readers and writers share the repository (a daemon keeps it open for writing while `fog add`
 * writes beside it): LMDB serialises write transactions, so a write waits while another
 * process's transaction is open. Garbage collection needs the repository to itself
 * (FOG_STORE_EXCLUSIVE).
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

/* Creates a repository at dir (created with its parents if missing, mode 0700): a new Ed25519
 * identity, the LMDB environment, then the config file last (its presence marks a complete
 * repository, so an init killed half-way can simply be run again). FOG_ERR_EXISTS if dir
 * already holds a config, FOG_ERR_LOCKED if another process holds repo.lock, FOG_ERR_STORE for
 * LMDB failures, FOG_ERR_IO otherwise (detail line set). peer_id_out (may be NULL, at least 64
 * bytes) receives the peer ID text. */
FOG_NODISCARD int fog_repo_init(const char *dir, char *peer_id_out, size_t peer_id_cap);

enum {
    FOG_STORE_READ = 0,      /* shared lock, read-only */
    FOG_STORE_WRITE = 1,     /* shared lock, reads and writes; other processes may read and
                                write beside it (LMDB serialises the write transactions) */
    FOG_STORE_EXCLUSIVE = 2, /* exclusive lock: the only process with the repository open
                                (needed by fog_store_gc) */
};
/* Replaces dir/config with text (the whole file) atomically and durably: dir/config.tmp with
 * mode 0600, fsync, rename, fsync of dir; a crash leaves the old file or the new one. For
 * commands that edit the config (e.g. fog bootstrap); the text holds the private key, so the
 * caller wipes it afterwards. FOG_ERR_IO with a detail line naming the file. */
FOG_NODISCARD int fog_repo_config_replace(const char *dir, const char *text);

/* Opens the repository at dir. FOG_ERR_NO_REPO when dir holds none, FOG_ERR_LOCKED when another
 * process holds a conflicting lock (never waits), FOG_ERR_STORE for LMDB failures or a damaged
 * config (e.g. a PeerID that is not the key's), FOG_ERR_UNSUPPORTED for a newer store version;
 * each sets a detail line naming dir. *out is given to the caller: fog_store_close frees it.
 * A second open of the same repository in one process conflicts like another process would
 * (flock belongs to the open file description); keep one handle per repository and process
 * (LMDB's own caveat, too). A FOG_STORE_WRITE open also fixes glibc's M_MMAP_THRESHOLD (4 MiB)
 * and M_TRIM_THRESHOLD (32 MiB) for the process: LMDB mallocs and frees a write transaction's
 * pages, and heap trimming after every batch commit halved import throughput (repo.c). */
FOG_NODISCARD int fog_store_open(fog_store **out, const char *dir, int mode);
void fog_store_close(fog_store *s); /* NULL is a no-op */
const char *fog_store_path(const fog_store *s);

/* Peer ID text of the repository's identity (borrowed, valid until close). */
const char *fog_store_peer_id(const fog_store *s);
/* Copies the identity's Ed25519 secret (seed || public, 64 bytes) into secret_out; the caller
 * wipes it with fog_memzero when done. */
void fog_store_identity_secret(const fog_store *s, uint8_t secret_out[64]);

/* Single-block operations, each its own transaction. put stores data under c's multihash after
 * checking that data hashes to it (FOG_ERR_HASH_MISMATCH; FOG_ERR_UNSUPPORTED for a hash fog
 * cannot compute); a block already present is left as is; it returns after a durable commit.
 * get copies the bytes into out (appended). has returns 1 or 0 (or an error). delete returns
 * FOG_ERR_NOT_FOUND if absent. size_out receives the block's length. get and size return
 * FOG_ERR_NOT_FOUND (detail line naming the CID) when absent.
 * A CID with the identity multihash holds its data in its digest: put only verifies, nothing is
 * stored, get/size/has answer from the CID, delete is a no-op returning 0.
 * Writes on a FOG_STORE_READ handle, or while a batch is open on s, return FOG_ERR_INVALID.
 * LMDB failures: FOG_ERR_STORE_FULL (map or disk full), FOG_ERR_STORE, FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_store_put(fog_store *s, const fog_cid *c, const uint8_t *data, size_t len);
FOG_NODISCARD int fog_store_get(fog_store *s, const fog_cid *c, fog_buf *out);
FOG_NODISCARD int fog_store_has(fog_store *s, const fog_cid *c);
FOG_NODISCARD int fog_store_delete(fog_store *s, const fog_cid *c);
FOG_NODISCARD int fog_store_size(fog_store *s, const fog_cid *c, size_t *size_out);

/* A read view: a consistent snapshot; blocks are lent straight from the memory map, valid until
 * fog_store_view_end (for an identity CID the slice points into c itself, valid as long as c).
 * One view per thread at a time; a view may be ended on another thread than the one that began
 * it (MDB_NOTLS). A long-lived view keeps the pages it sees from being reused. */
typedef struct fog_store_view fog_store_view;
FOG_NODISCARD int fog_store_view_begin(fog_store *s, fog_store_view **out);
/* FOG_ERR_NOT_FOUND (with a detail line naming the CID) when the block is absent. */
FOG_NODISCARD int fog_store_view_get(fog_store_view *v, const fog_cid *c, fog_slice *out);
void fog_store_view_end(fog_store_view *v); /* NULL is a no-op */
/* Gives back the memory pages of a block the view lent (data from fog_store_view_get) once the
 * caller has copied what it needs: the whole pages inside data leave the process's resident set
 * (madvise MADV_DONTNEED on LMDB's read-only file map; the bytes stay in the page cache and read
 * back unchanged if touched again, by this view or any other). Reading a large block touches
 * its pages, and each touched page counts in the process's RSS until the map is unmapped: a
 * server streaming a 256 MiB file would otherwise grow by 256 MiB. Slices that are not inside
 * the map (identity CIDs, copies) are left alone; partial pages at either end are kept. */
void fog_store_view_release(fog_store_view *v, fog_slice data);
/* Copies data, a slice that a view of s still open lent (or any part of one), to dst (data.len
 * bytes) without touching the map: bytes inside the map are read with pread(2) from the data
 * file at their offset (the open view's snapshot keeps those pages from being rewritten), so no
 * map page is faulted in and nothing needs fog_store_view_release; other slices (identity
 * digests, copies) are memcpy'd. On the VMs fog is measured on, mapping a page in and dropping
 * it again costs more than copying it (blocks.c). Any thread. 0, or FOG_ERR_IO (detail line). */
FOG_NODISCARD int fog_store_copy_lent(const fog_store *s, fog_slice data, uint8_t *dst);

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
/* Removes c's pin at commit, after the pins queued before it (none: no error). */
FOG_NODISCARD int fog_store_batch_unpin(fog_store_batch *b, const fog_cid *c);
/* While a batch is open, other writes on s (put, delete, pins, gc, another batch) return
 * FOG_ERR_INVALID; reads and views work. After a failure the batch is dead: every call returns
 * that first error, and commit returns it and frees b. batch_pin keeps the pin in memory. */
/* What the puts of a batch did, by the store's own verdict: a put whose multihash key was absent
 * from the store when its transaction wrote it (LMDB MDB_NOOVERWRITE succeeded) is new; one
 * whose key was there already (MDB_KEYEXIST: written before, by this batch, an earlier commit
 * or another process) is left as is and counted as already stored. Write transactions are
 * serialised between processes, so the verdict holds at commit. Identity CIDs store nothing and
 * count in neither. The figures become true only when fog_store_batch_commit succeeds; read
 * them before it, since it frees b. For `fog add`'s dedup line. */
typedef struct {
    uint64_t new_blocks, new_bytes; /* puts that stored a block */
    uint64_t old_blocks, old_bytes; /* puts of a block the store already held */
} fog_store_batch_stats;
void fog_store_batch_get_stats(const fog_store_batch *b, fog_store_batch_stats *out);
/* Commits durably and frees b (also on failure). */
FOG_NODISCARD int fog_store_batch_commit(fog_store_batch *b);
void fog_store_batch_abort(fog_store_batch *b); /* NULL is a no-op; frees b */

/* Pins. A recursive pin keeps a root and everything it links to; a direct pin only the block.
 * Pins are keyed by the CID as given, except that a v0 CID is stored as its v1 form, so
 * `pin rm` of either text form finds it. */
enum { FOG_PIN_DIRECT = 1, FOG_PIN_RECURSIVE = 2 };
/* Adding a recursive pin over a direct one upgrades it; adding a direct pin over a recursive
 * one is refused with FOG_ERR_EXISTS (remove the recursive pin first, as in kubo); adding the
 * same pin again is a no-op. The block need not be present (fetching is the caller's job). */
FOG_NODISCARD int fog_store_pin_add(fog_store *s, const fog_cid *c, int kind);
/* FOG_ERR_NOT_FOUND if c is not pinned. */
FOG_NODISCARD int fog_store_pin_rm(fog_store *s, const fog_cid *c);
/* kind_out receives FOG_PIN_DIRECT, FOG_PIN_RECURSIVE or 0 (not pinned). */
FOG_NODISCARD int fog_store_pin_get(fog_store *s, const fog_cid *c, int *kind_out);
/* Calls fn for every pin (in key order; v0 pins appear in their v1 form; c is valid for the
 * call only); a non-zero return from fn stops and is returned. */
typedef int (*fog_pin_fn)(void *ctx, const fog_cid *c, int kind);
FOG_NODISCARD int fog_store_pin_list(fog_store *s, fog_pin_fn fn, void *ctx);

/* Calls fn for every stored block (multihash key, block bytes lent for the call only), in key
 * order, inside one read transaction; a non-zero return from fn stops and is returned. */
typedef int (*fog_block_fn)(void *ctx, fog_slice mh, fog_slice data);
FOG_NODISCARD int fog_store_each_block(fog_store *s, fog_block_fn fn, void *ctx);

/* Garbage collection: marks every block reachable from a pin (following links through
 * links_fn, which calls emit for each CID a block links to; the dag layer supplies
 * fog_dag_links) and deletes every unmarked block, in one write transaction, committed durably.
 * A missing block under a recursive pin is not an error for gc (repo verify reports it). gc
 * needs a FOG_STORE_EXCLUSIVE handle (FOG_ERR_INVALID otherwise): another process could be
 * between writing blocks and pinning them. Raw
 * (0x55) blocks are never read or passed to links_fn: they have no links. An error from links_fn
 * (or from emit: FOG_ERR_NOMEM) stops gc with nothing deleted and is returned with a detail
 * line naming the block. Mark memory is about 2 x (key + 17) bytes per reachable block.
 * stats_out may be NULL. */
typedef int (*fog_cid_fn)(void *ctx, const fog_cid *c);
typedef int (*fog_links_fn)(const fog_cid *c, fog_slice data, fog_cid_fn emit, void *emit_ctx);
typedef struct {
    uint64_t blocks_removed;
    uint64_t bytes_removed;
    uint64_t blocks_kept;
} fog_gc_stats;
FOG_NODISCARD int fog_store_gc(fog_store *s, fog_links_fn links_fn, fog_gc_stats *stats_out);

/* ---- Provider records (the DHT's; src/store/providers.c) ------------------------------
 * A provider record says that peer (binary peer ID) provides the content of key (a multihash,
 * 1..FOG_STORE_PROV_KEY_MAX bytes) until expires_ms (Unix milliseconds); data is the DHT's own
 * opaque bytes (the provider's addresses), at most FOG_STORE_PROV_DATA_MAX. One record per
 * (key, peer): a put replaces it. Records live in the "providers" sub-database, keyed by
 * (key length, key, peer), so one key's records are adjacent. Expired records are never
 * returned and are deleted by a sweep. A read-only handle of a repository made before provider
 * records existed has none (get finds nothing). */
#define FOG_STORE_PROV_KEY_MAX 80
#define FOG_STORE_PROV_DATA_MAX 4096
/* Writes one record in batch b. Errors: FOG_ERR_INVALID (a length out of range), the batch's. */
FOG_NODISCARD int fog_store_batch_provider_put(fog_store_batch *b, fog_slice key, fog_slice peer,
                                               uint64_t expires_ms, fog_slice data);
/* Calls fn for each record of key that has not expired at now_ms (peer order), in one read
 * transaction (it never blocks on writers); slices are lent for the call. A non-zero return
 * from fn stops and is returned. Returns 0 when there is none. */
typedef int (*fog_prov_fn)(void *ctx, fog_slice peer, uint64_t expires_ms, fog_slice data);
FOG_NODISCARD int fog_store_providers_get(fog_store *s, fog_slice key, uint64_t now_ms,
                                          fog_prov_fn fn, void *ctx);
/* Deletes in batch b every record expired at now_ms; *removed_out (may be NULL) gets how many. */
FOG_NODISCARD int fog_store_batch_providers_sweep(fog_store_batch *b, uint64_t now_ms,
                                                  size_t *removed_out);
/* ---- end of provider records ---- */

/* ---- Value records (the DHT's PUT_VALUE / GET_VALUE; src/store/records.c) ---------------
 * One record per key (1..FOG_STORE_REC_KEY_MAX bytes, such as "/ipns/<binary peer ID>"): the
 * value (at most FOG_STORE_REC_VALUE_MAX bytes; the DHT validated it) and the Unix milliseconds
 * it was received. A put replaces the key's record. Records live in the "records"
 * sub-database; a read-only handle of a repository made before them has none. */
#define FOG_STORE_REC_KEY_MAX 256
#define FOG_STORE_REC_VALUE_MAX 65536
/* Writes key's record in batch b. Errors: FOG_ERR_INVALID (a length out of range), the batch's. */
FOG_NODISCARD int fog_store_batch_record_put(fog_store_batch *b, fog_slice key,
                                             uint64_t received_ms, fog_slice value);
/* Deletes key's record in batch b (none: 0). */
FOG_NODISCARD int fog_store_batch_record_del(fog_store_batch *b, fog_slice key);
/* Reads key's record in one read transaction: *received_ms and the value appended to value_out
 * (after what it holds). FOG_ERR_NOT_FOUND when there is none. */
FOG_NODISCARD int fog_store_record_get(fog_store *s, fog_slice key, uint64_t *received_ms,
                                       fog_buf *value_out);
/* ---- end of value records ---- */

typedef struct {
    uint64_t blocks;        /* number of stored blocks */
    uint64_t content_bytes; /* sum of their lengths */
    uint64_t repo_bytes;    /* disk usage of the files under DIR (st_blocks * 512, like du) */
    uint64_t pins;
} fog_repo_stat;
FOG_NODISCARD int fog_store_stat(fog_store *s, fog_repo_stat *out);

#endif
