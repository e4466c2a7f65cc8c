/* rtable.h: the Kademlia routing table of one local peer, sans-I/O (libp2p/specs kad-dht/README.md
 * "Kademlia routing table"; ipfs/specs src/routing/kad-dht.md; PROTOCOLS.md 3.7).
 * The table belongs to one local peer ID. A peer's key is SHA-256 of its peer ID bytes; the
 * distance between two keys is their XOR read as a 256-bit big-endian number. Bucket i holds
 * the peers whose key shares exactly i leading bits with the local key (0 <= i < 256), at most
 * bucket_size (k = 20) of them, most recently seen first. Each bucket also keeps a bounded
 * replacement cache of DHT servers seen while it was full.
 * Admission follows go-libp2p-kbucket and the Kademlia paper: only peers that speak the DHT as
 * servers (identify lists /ipfs/kad/1.0.0) enter; a known peer moves to the front; a newcomer
 * takes a free slot, or, when the bucket is full, waits in the replacement cache while the
 * bucket's least recently seen entry is queued for a liveness check (FOG_RTABLE_EV_CHECK). The
 * caller pings it and reports with fog_rtable_check_result: alive keeps it (moved to the front),
 * dead evicts it and promotes the most recently seen replacement. One check per bucket is
 * pending at a time; it stays pending until the caller reports (the caller owns the timeout).
 * No clock and no randomness here: times and the rng come in as arguments. Memory: a bucket's
 * slots (bucket_size + replacement_size entries) are allocated the first time a peer falls in
 * it, so the whole table is bounded by 256 * (k + replacements) entries; admitting, moving and
 * evicting peers never allocates.
 * Thread safety: none; one loop thread uses a table.
 */
#ifndef FOG_RTABLE_H
#define FOG_RTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/mf.h"
#include "fog/util.h"

#define FOG_RTABLE_KEY_LEN   32   /* SHA-256 of the peer ID bytes */
#define FOG_RTABLE_BUCKETS   256  /* one per common-prefix length 0..255 */
#define FOG_RTABLE_K         20   /* default bucket size (spec k) */
#define FOG_RTABLE_SLOTS_MAX 1024 /* upper bound on bucket_size and replacement_size */

typedef struct fog_rtable fog_rtable;

typedef struct {
    size_t bucket_size;      /* k: live entries per bucket, 1..FOG_RTABLE_SLOTS_MAX (20) */
    size_t replacement_size; /* candidates kept per full bucket, 0..FOG_RTABLE_SLOTS_MAX (20) */
    size_t refresh_cpl_max;  /* fog_rtable_stale_buckets looks at buckets 0..this at most (15,
                                go-libp2p-kbucket maxCplForRefresh); < FOG_RTABLE_BUCKETS */
    fog_log_sink log;
} fog_rtable_config;

/* One entry, copied out to the caller (the table keeps its own). Times are the caller's
 * monotonic milliseconds as passed in. */
typedef struct {
    uint8_t id[FOG_PEER_ID_MAX]; /* the binary peer ID (a multihash), id_len bytes */
    size_t id_len;
    uint8_t key[FOG_RTABLE_KEY_LEN]; /* SHA-256(id) */
    fog_ms added_ms;       /* when it entered the bucket (or the replacement cache) */
    fog_ms last_seen_ms;   /* last fog_rtable_seen or alive check result */
    fog_ms last_useful_ms; /* last fog_rtable_useful; 0: never */
    bool check_pending;    /* a liveness check is queued or in flight for it */
} fog_rtable_peer;

typedef enum {
    FOG_RTABLE_EV_CHECK = 1 /* ping peer and report with fog_rtable_check_result */
} fog_rtable_ev_kind;

typedef struct {
    fog_rtable_ev_kind kind;
    size_t bucket;        /* the bucket index of peer */
    fog_rtable_peer peer; /* a copy */
} fog_rtable_event;

/* What fog_rtable_seen did (returned as a non-negative int). */
typedef enum {
    FOG_RTABLE_REFUSED = 0, /* not a DHT server (and removed if it was known), or our own ID */
    FOG_RTABLE_UPDATED,     /* already in its bucket: last seen now, moved to the front */
    FOG_RTABLE_ADDED,       /* took a free slot in its bucket */
    FOG_RTABLE_CACHED       /* its bucket is full: kept (or refreshed) in the replacement cache */
} fog_rtable_outcome;

/* Defaults: bucket_size 20, replacement_size 20, refresh_cpl_max 15, log discards. */
void fog_rtable_config_default(fog_rtable_config *cfg);

/* A table for the local peer local_id[0..local_id_len) (copied; must pass fog_peer_id_check).
 * Errors: FOG_ERR_INVALID (a config value out of range), FOG_ERR_PROTO / FOG_ERR_UNSUPPORTED
 * (local_id is not a peer ID), FOG_ERR_NOMEM. cfg is copied. *out is given: fog_rtable_free. */
FOG_NODISCARD int fog_rtable_new(fog_rtable **out, const uint8_t *local_id, size_t local_id_len,
                                 const fog_rtable_config *cfg);
void fog_rtable_free(fog_rtable *t); /* NULL is a no-op */

/* The local key (SHA-256 of the local peer ID), lent until fog_rtable_free. */
const uint8_t *fog_rtable_local_key(const fog_rtable *t);

/* The bucket a key falls in: its common-prefix length with the local key, 0..255, or
 * FOG_RTABLE_BUCKETS (256) for the local key itself. */
size_t fog_rtable_bucket_of(const fog_rtable *t, const uint8_t key[FOG_RTABLE_KEY_LEN]);

/* Peer id (borrowed) was seen at now: connected, or identified, or it answered. is_dht_server
 * says whether identify lists /ipfs/kad/1.0.0 for it. Returns a fog_rtable_outcome; a
 * non-server that was in the table or a replacement cache is removed from it (go-libp2p-kad-dht
 * drops peers that stop speaking the protocol). CACHED may queue a check of the bucket's least
 * recently seen entry (see fog_rtable_poll_event). Errors, with the table unchanged:
 * FOG_ERR_PROTO / FOG_ERR_UNSUPPORTED (id is not a peer ID), FOG_ERR_NOMEM (the bucket's slots
 * could not be allocated). */
FOG_NODISCARD int fog_rtable_seen(fog_rtable *t, const uint8_t *id, size_t id_len, fog_ms now,
                                  bool is_dht_server);

/* Peer id gave a useful answer to a query at now (go-libp2p-kbucket UpdateLastUsefulAt). Returns
 * 0, or FOG_ERR_NOT_FOUND when it is not in a bucket. */
FOG_NODISCARD int fog_rtable_useful(fog_rtable *t, const uint8_t *id, size_t id_len, fog_ms now);

/* Takes the next liveness check to run; false when none is waiting. A check is handed out once;
 * it stays pending (no new check in that bucket) until fog_rtable_check_result or the peer's
 * removal. There are at most 256 waiting at a time (one per bucket): nothing is ever dropped. */
bool fog_rtable_poll_event(fog_rtable *t, fog_rtable_event *ev_out);

/* The result of a liveness check on a peer in the table (normally one from EV_CHECK, but any
 * entry is accepted). alive: last seen now, moved to the front, no longer pending. Dead: evicted,
 * and the most recently seen replacement of its bucket, if any, takes the free slot; it is
 * copied to *promoted_out when that is not NULL. Returns 1 when a replacement was promoted,
 * else 0; FOG_ERR_NOT_FOUND when id is not in a bucket (already removed). */
FOG_NODISCARD int fog_rtable_check_result(fog_rtable *t, const uint8_t *id, size_t id_len,
                                          bool alive, fog_ms now, fog_rtable_peer *promoted_out);

/* Removes id from its bucket (it disconnected, or failed too many requests) and from its
 * bucket's replacement cache. When a bucket slot was freed, the most recently seen replacement
 * takes it and is copied to *promoted_out (when not NULL). Returns 1 when one was promoted, 0
 * when id was removed with no promotion or was only a replacement, FOG_ERR_NOT_FOUND when id
 * was in neither, FOG_ERR_PROTO / FOG_ERR_UNSUPPORTED when id is not a peer ID. */
FOG_NODISCARD int fog_rtable_remove(fog_rtable *t, const uint8_t *id, size_t id_len,
                                    fog_rtable_peer *promoted_out);

/* Copies the entry of id into *out (when not NULL); false when id is not in a bucket
 * (replacements are not entries). */
bool fog_rtable_find(const fog_rtable *t, const uint8_t *id, size_t id_len, fog_rtable_peer *out);

/* The n entries closest to target by XOR distance, closest first, copied to out[0..*count_out)
 * (out has room for n). Exact: it takes target's own bucket, then, while short of n, all
 * deeper buckets together (they are one distance class), then shallower buckets one at a time,
 * each strictly farther than the last, and keeps the n best. Replacements are not returned. */
void fog_rtable_closest(const fog_rtable *t, const uint8_t target[FOG_RTABLE_KEY_LEN], size_t n,
                        fog_rtable_peer *out, size_t *count_out);

/* Entries in the whole table (replacements not counted). */
size_t fog_rtable_size(const fog_rtable *t);
/* Iteration: entries in bucket i (< FOG_RTABLE_BUCKETS), and its j-th (0 = most recently seen,
 * j < fog_rtable_bucket_len) copied to *out. Any change to the table reorders entries. */
size_t fog_rtable_bucket_len(const fog_rtable *t, size_t i);
void fog_rtable_bucket_peer(const fog_rtable *t, size_t i, size_t j, fog_rtable_peer *out);
/* Replacement candidates waiting in bucket i, and the j-th (0 = most recently seen). */
size_t fog_rtable_bucket_cached(const fog_rtable *t, size_t i);
void fog_rtable_bucket_cached_peer(const fog_rtable *t, size_t i, size_t j, fog_rtable_peer *out);

/* Refresh bookkeeping (go-libp2p-kbucket table_refresh.go). A lookup for key finished at now:
 * the bucket key falls in counts as refreshed (go: ResetCplRefreshedAtForID). The local key
 * itself marks nothing. */
void fog_rtable_lookup_done(fog_rtable *t, const uint8_t key[FOG_RTABLE_KEY_LEN], fog_ms now);

/* Writes to idx_out (room for FOG_RTABLE_BUCKETS) the buckets that need a refresh lookup: those
 * among 0..min(deepest non-empty bucket, refresh_cpl_max) with no lookup done within
 * interval_ms before now (never counts as stale). Returns their count. Like go, buckets deeper
 * than any known peer are left to the caller's lookup of its own key. */
size_t fog_rtable_stale_buckets(const fog_rtable *t, fog_ms now, fog_ms interval_ms,
                                size_t *idx_out);

/* A random key in bucket i (< FOG_RTABLE_BUCKETS): the first i bits of the local key, bit i
 * flipped, the rest from rng (go: GenRandomKey). A refresh lookup in go targets a peer ID whose
 * key has that prefix; fog looks up by key directly, so no peer ID is needed. */
void fog_rtable_bucket_random_key(const fog_rtable *t, size_t i, fog_rng rng,
                                  uint8_t key_out[FOG_RTABLE_KEY_LEN]);

#endif
