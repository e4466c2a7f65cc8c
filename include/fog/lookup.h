/* lookup.h: the iterative Kademlia lookup, sans-I/O (libp2p/specs kad-dht/README.md "Peer
 * routing"; go-libp2p-kad-dht query.go and qpeerset; PROTOCOLS.md 3.7).
 * One fog_lookup walks towards a 32-byte target key: it starts from seed peers (the closest the
 * routing table knows), keeps every peer it has heard of sorted by XOR distance to the target,
 * hands out the closest peer not yet asked while fewer than alpha requests are in flight, and
 * folds each answer's closer peers back into the set. It ends when the k closest peers that are
 * not unreachable have all answered (converged), when nothing is left to ask and nothing is in
 * flight (starved: a small network), when the caller stops it (a value or enough providers were
 * found), or at the overall deadline. The result is the k closest peers that answered.
 * No I/O, no clock, no hashing: the caller sends the FIND_NODE / GET_PROVIDERS / GET_VALUE
 * requests, passes `now`, and computes every key (SHA-256 of the peer ID bytes, or of the
 * content multihash for the target). A peer that fails or misses its per-request timeout is
 * unreachable: it is never asked again in this lookup and never part of the result.
 */
#ifndef FOG_LOOKUP_H
#define FOG_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/util.h"

#define FOG_LOOKUP_KEY_LEN   32    /* bytes of a Kademlia key: SHA-256 */
#define FOG_LOOKUP_ID_MAX    64    /* longest peer ID kept; IDs are multihashes of at most 44
                                      bytes (identity of a <= 42-byte public key, else sha2-256) */
#define FOG_LOOKUP_PEERS_MAX 65536 /* largest max_peers accepted */

typedef struct fog_lookup fog_lookup;

typedef struct {
    uint8_t target[FOG_LOOKUP_KEY_LEN]; /* the key looked up (already hashed by the caller) */
    size_t alpha;                /* requests in flight at most (default 10, go's DefaultConcurrency;
                                    the original Kademlia paper and older docs use 3); >= 1 */
    size_t k;                    /* result size and termination width (default 20); >= 1 */
    fog_ms request_timeout_ms;   /* a request not answered by then is failed (default 10 s) */
    fog_ms deadline;             /* absolute time at which the whole lookup ends (default
                                    FOG_NEVER) */
    size_t max_peers;            /* cap on the candidate set (default 512, >= k + alpha). When full,
                                    a new peer evicts the farthest candidate that is not in
                                    flight if it is closer than that one; otherwise it is dropped */
    size_t max_closer;           /* closer peers taken from one answer (default 4 * k when 0);
                                    the first ones are taken, the rest ignored */
    bool has_self;               /* self_key is set: that key is never a candidate */
    uint8_t self_key[FOG_LOOKUP_KEY_LEN]; /* SHA-256 of our own peer ID */
    fog_log_sink log;
} fog_lookup_config;

/* A peer handed in: borrowed for the duration of the call. key points to FOG_LOOKUP_KEY_LEN
 * bytes that the caller computed from id (SHA-256 of the peer ID bytes). */
typedef struct {
    const uint8_t *id;
    size_t id_len;
    const uint8_t *key;
} fog_lookup_contact;

/* A peer handed out: a copy the caller owns. */
typedef struct {
    uint8_t id[FOG_LOOKUP_ID_MAX];
    size_t id_len;
    uint8_t key[FOG_LOOKUP_KEY_LEN];
} fog_lookup_peer;

typedef enum {
    FOG_LOOKUP_RUNNING = 0,
    FOG_LOOKUP_CONVERGED, /* the k closest reachable candidates have all answered */
    FOG_LOOKUP_STARVED,   /* nothing left to ask and nothing in flight (fewer than k found) */
    FOG_LOOKUP_STOPPED,   /* fog_lookup_stop */
    FOG_LOOKUP_DEADLINE   /* the overall deadline passed */
} fog_lookup_outcome;

typedef struct {
    uint64_t requests;  /* peers handed out by fog_lookup_next */
    uint64_t responses; /* answers accepted */
    uint64_t failures;  /* fog_lookup_failed on a peer in flight */
    uint64_t timeouts;  /* requests failed by their per-request timeout */
    uint64_t dropped;   /* candidates dropped or evicted by the max_peers cap */
    uint64_t ignored;   /* answers from peers not in flight, and closer peers past max_closer */
} fog_lookup_stats;

/* alpha 10, k 20, request_timeout_ms 10 s, deadline FOG_NEVER, max_peers 512, max_closer 0
 * (4 * k), no self key, target zero, log discards. */
void fog_lookup_config_default(fog_lookup_config *cfg);

/* Errors: FOG_ERR_INVALID (alpha or k is 0, max_peers < k + alpha or above
 * FOG_LOOKUP_PEERS_MAX), FOG_ERR_NOMEM. cfg is copied. *out is given: fog_lookup_free. */
FOG_NODISCARD int fog_lookup_new(fog_lookup **out, const fog_lookup_config *cfg);
void fog_lookup_free(fog_lookup *l); /* NULL is a no-op */

/* Adds a starting peer (id and key copied). Returns 1 when added; 0 when it was already known,
 * is our own key, was dropped by the max_peers cap, or the lookup is done; FOG_ERR_INVALID when
 * id_len is 0 or above FOG_LOOKUP_ID_MAX. Seeds may also be added while the lookup runs. */
FOG_NODISCARD int fog_lookup_add_seed(fog_lookup *l, const uint8_t *id, size_t id_len,
                                      const uint8_t key[FOG_LOOKUP_KEY_LEN]);

/* The next peer to ask: the closest candidate never asked, when fewer than alpha requests are
 * in flight. Returns 1 and fills *peer_out (the request is then in flight, due by now +
 * request_timeout_ms), or 0 when there is none for now (alpha in flight, nothing to ask, or
 * done). Requests past their timeout are failed first, and the lookup ends here when now has
 * reached the overall deadline, or when it is converged or starved. Call it in a loop until 0
 * after every event. */
int fog_lookup_next(fog_lookup *l, fog_ms now, fog_lookup_peer *peer_out);

/* Reports the answer of a peer in flight, with the closer peers it returned (borrowed; each
 * key computed by the caller). At most max_closer of them are taken, the first ones; our own
 * key, known peers, IDs of length 0 or above FOG_LOOKUP_ID_MAX are skipped. Returns the number
 * of new candidates; FOG_ERR_NOT_FOUND, with nothing changed, when the peer is not in flight
 * (never asked, already answered, failed or timed out: a late answer is ignored); 0, with
 * nothing changed, once the lookup is done. */
FOG_NODISCARD int fog_lookup_response(fog_lookup *l, const uint8_t *id, size_t id_len,
                                      const fog_lookup_contact *closer, size_t n_closer,
                                      fog_ms now);

/* Reports that the request to a peer in flight failed (dial error, stream reset, bad answer):
 * the peer becomes unreachable. Returns 0; FOG_ERR_NOT_FOUND, with nothing changed, when the
 * peer is not in flight; 0, with nothing changed, once the lookup is done. */
FOG_NODISCARD int fog_lookup_failed(fog_lookup *l, const uint8_t *id, size_t id_len, fog_ms now);

/* When to call fog_lookup_on_timeout: the earliest per-request due time or the overall
 * deadline; FOG_NEVER once done or when nothing can expire. */
fog_ms fog_lookup_deadline(const fog_lookup *l);
/* Fails every request whose due time is <= now (they become unreachable) and ends the lookup
 * when now >= the overall deadline. Returns the number of requests failed. */
int fog_lookup_on_timeout(fog_lookup *l, fog_ms now);

/* Ends the lookup at once (outcome STOPPED), e.g. when a GET_VALUE found the record or a
 * GET_PROVIDERS found enough providers. Requests still in flight are the caller's to cancel;
 * their answers are then ignored. No-op when already done. */
void fog_lookup_stop(fog_lookup *l);

bool fog_lookup_done(const fog_lookup *l);
fog_lookup_outcome fog_lookup_outcome_of(const fog_lookup *l);
size_t fog_lookup_inflight(const fog_lookup *l); /* requests in flight, <= alpha */
void fog_lookup_get_stats(const fog_lookup *l, fog_lookup_stats *out);

/* Copies to out the min(k, cap) closest peers that answered, closest first, and returns their
 * number. Valid at any time: during the lookup or after a deadline it is the best so far. */
size_t fog_lookup_result(const fog_lookup *l, fog_lookup_peer *out, size_t cap);

/* XOR distance helpers for callers and tests: compares d(a, t) with d(b, t) as big-endian
 * 256-bit numbers: < 0 when a is closer, 0 when a == b, > 0 when b is closer. */
int fog_lookup_cmp_dist(const uint8_t t[FOG_LOOKUP_KEY_LEN], const uint8_t a[FOG_LOOKUP_KEY_LEN],
                        const uint8_t b[FOG_LOOKUP_KEY_LEN]);

#endif
