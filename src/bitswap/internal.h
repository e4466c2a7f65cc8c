/* internal.h: what the files of src/bitswap share: a chained hash over byte keys (CIDs, peer
 * IDs), the server engine (engine.c: per-peer ledgers and the fair queue of responses) and the
 * client session core (session.c: which peer is asked for which block, and when). Both cores are
 * sans-I/O: no libuv, no clock (time comes in as an argument), no stream; bswap.c wires them to
 * fog_node, the store and the writer.
 */
#ifndef FOG_BITSWAP_INTERNAL_H
#define FOG_BITSWAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/bitswap.h"
#include "fog/mf.h"
#include "fog/util.h"

/* ---- hash table (htab.c) -------------------------------------------------------------------
 * Intrusive: a record embeds a bs_hnode whose key points into the record itself. Chained, grown
 * to keep the load under 1, so find, add and del are O(1) on average. */
typedef struct bs_hnode {
    struct bs_hnode *next;
    uint64_t hash;
    const uint8_t *key; /* lent by the record that embeds the node */
    size_t key_len;
} bs_hnode;

typedef struct {
    bs_hnode **slots;
    size_t cap; /* a power of two, or 0 */
    size_t count;
} bs_htab;

bs_hnode *fog__bs_htab_find(const bs_htab *t, const uint8_t *key, size_t len);
/* Adds n under key (lent: it must live as long as n is in t). 0 or FOG_ERR_NOMEM. The caller
 * makes sure the key is not present. */
FOG_NODISCARD int fog__bs_htab_add(bs_htab *t, bs_hnode *n, const uint8_t *key, size_t len);
void fog__bs_htab_del(bs_htab *t, bs_hnode *n);
void fog__bs_htab_clear(bs_htab *t); /* frees the slots, not the records */

/* ---- server engine (engine.c) --------------------------------------------------------------
 * One ledger per peer: the peer's wantlist (entries keyed by CID) and a FIFO of entries still to
 * answer. Ledgers with something to answer and not blocked (their stream is full) form a ring;
 * fog__bs_engine_next takes the ring's head and fog__bs_engine_pull writes one message of at
 * most task_bytes of blocks for it, then the ledger goes to the back of the ring when it still
 * has work: a round-robin of bounded turns. */
typedef struct bs_engine bs_engine;
typedef struct bs_ledger bs_ledger;

/* Looks c up in the store: 1 with *data_out lent until the pull returns, 0 when absent, or a
 * negative error (treated as absent). */
typedef int (*bs_lookup_fn)(void *ud, const fog_cid *c, fog_slice *data_out);

typedef struct {
    size_t task_bytes;   /* block bytes per message (clamped to 1 KiB..2 MiB) */
    size_t ledger_max;   /* entries per ledger */
    size_t small_block;  /* a want-have of a block at most this long gets the block (boxo 1024) */
    bs_lookup_fn lookup;
    void *lookup_ud;
} bs_engine_config;

typedef struct {
    uint64_t blocks_sent, block_bytes_sent, haves_sent, dont_haves_sent;
    uint64_t blocks_substituted; /* sent in place of a block sent before (super-seeding) */
} bs_engine_stats;

FOG_NODISCARD int fog__bs_engine_new(bs_engine **out, const bs_engine_config *cfg);
void fog__bs_engine_free(bs_engine *e);
/* The ledger of peer id (copied when created); NULL when absent and !create, or out of memory. */
bs_ledger *fog__bs_engine_ledger(bs_engine *e, const uint8_t *id, size_t len, bool create);
void fog__bs_engine_drop(bs_engine *e, bs_ledger *l);
void *fog__bs_ledger_ud(const bs_ledger *l);
void fog__bs_ledger_set_ud(bs_ledger *l, void *ud);
fog_slice fog__bs_ledger_peer(const bs_ledger *l);
size_t fog__bs_ledger_size(const bs_ledger *l);
/* Applies m's wantlist (full replaces, else delta). 0 or FOG_ERR_NOMEM. */
FOG_NODISCARD int fog__bs_engine_recv(bs_engine *e, bs_ledger *l, const fog_bitswap_msg *m);
/* c is now stored: every ledger holding a want of it queues that entry again. */
void fog__bs_engine_stored(bs_engine *e, const fog_cid *c);
void fog__bs_engine_set_blocked(bs_engine *e, bs_ledger *l, bool blocked);
/* The next ledger to serve (round-robin), or NULL when none is ready. */
bs_ledger *fog__bs_engine_next(bs_engine *e);
/* Appends one message for l to out (1), or nothing when l had nothing to send after all (0), or
 * an error (FOG_ERR_NOMEM, or an encode error). */
FOG_NODISCARD int fog__bs_engine_pull(bs_engine *e, bs_ledger *l, fog_buf *out);
/* The same message as pull, in pieces (fog_bitswap_encode_gather): head gets the bytes around
 * the blocks' data, *ins_out the blocks' data (lent by the lookup)
 * and where each goes, *n_ins_out of them (valid until the next pull). */
FOG_NODISCARD int fog__bs_engine_pull_gather(bs_engine *e, bs_ledger *l, fog_buf *head,
                                             const fog_bitswap_insert **ins_out,
                                             size_t *n_ins_out);
void fog__bs_engine_get_stats(const bs_engine *e, bs_engine_stats *out);

/* ---- session core (session.c) --------------------------------------------------------------
 * Per session: the wants (FIFO; the first `inflight` are active), the peers of the session with
 * an in-flight budget each (about window_ms of what the peer delivered lately), and per active
 * want the peers that said HAVE, the peers that failed it and the peers asked for the block.
 * Scheduling is peer-driven: a peer with budget free gets the active want it has with the
 * fewest known holders (rarest first, ties at random) that is asked nowhere yet; only when none
 * is left a want asked elsewhere (endgame). Decisions come out as actions the caller drains and
 * turns into messages. */
typedef struct bs_sess bs_sess;
typedef struct bs_speer bs_speer;

typedef enum {
    BS_ACT_WANT_BLOCK = 1, /* send want-block (send_dont_have) of cid to peer */
    BS_ACT_WANT_HAVE,      /* send want-have (send_dont_have) of cid to peer; NULL peer: every
                              connected peer */
    BS_ACT_CANCEL,         /* send cancel of cid to peer; NULL peer: every connected peer */
    BS_ACT_PROVIDERS,      /* look for providers of cid (peer NULL) */
} bs_act_kind;

typedef struct {
    bs_act_kind kind;
    uint8_t peer[FOG_PEER_ID_MAX];
    size_t peer_len; /* 0: every connected peer (broadcast) */
    fog_cid cid;
} bs_act;

/* A set of session peers (a want's holders, failures), grown on demand. */
typedef struct {
    bs_speer **p;
    size_t n, cap;
} bs_pset;

#define BS_WANT_ASKS 3 /* peers asked for one block at once at most (endgame duplicates) */
#define BS_WANT_MOVES 2 /* times an ask moves to an idle holder at most (work stealing) */

/* One want of the session (one per CID); user is the caller's (its callbacks). */
typedef struct bs_want {
    bs_hnode node;
    fog_cid cid;
    struct bs_want *prev, *next; /* the FIFO of wants */
    bool active;
    bool broadcast;   /* want-have went to every connected peer */
    bool providers;   /* providers were asked for */
    bs_speer *asked[BS_WANT_ASKS]; /* peers with our want-block outstanding */
    fog_ms asked_when[BS_WANT_ASKS];
    size_t n_asked;
    unsigned moves;               /* asks moved to an idle holder (at most BS_WANT_MOVES) */
    fog_ms asked_at, active_at; /* last ask (or start-over), activation */
    uint64_t seq;                /* activation order (1, 2, ...) */
    bs_pset have;  /* peers that said HAVE (and were not found wrong) */
    bs_pset tried; /* peers that said DONT_HAVE or timed out */
    void *user;
} bs_want;

/* Randomness for the tie-breaks, from the caller (sans-I/O): the next 64 random bits. */
typedef uint64_t (*bs_rand_fn)(void *ud);

typedef struct {
    size_t inflight;         /* active wants at most, and a peer's budget at most */
    fog_ms want_timeout_ms;  /* a want-block unanswered this long moves on */
    fog_ms provider_delay_ms;
    fog_ms window_ms;        /* a peer's budget: what it delivered in this long (0: 100) */
    bs_rand_fn rand;         /* NULL: a generator seeded with seed */
    void *rand_ud;
    uint64_t seed;           /* 0: derived from the session's address (differs per process) */
} bs_sess_config;

typedef struct {
    uint64_t blocks_in, dup_blocks_in, bytes_in;
    uint64_t asks_have, asks_blind, asks_dup; /* want-blocks sent, by rank (see pick) */
    uint64_t timeouts, blind_misses;          /* asks that timed out, blind asks lacked */
    size_t asked; /* want-blocks outstanding */
    size_t peers;
    size_t wants; /* wants held now */
} bs_sess_stats;

FOG_NODISCARD int fog__bs_sess_new(bs_sess **out, const bs_sess_config *cfg);
void fog__bs_sess_free(bs_sess *s);
/* Adds a want of c (or returns the existing one). NULL when out of memory. */
bs_want *fog__bs_sess_want(bs_sess *s, const fog_cid *c, fog_ms now);
bs_want *fog__bs_sess_find(const bs_sess *s, const fog_cid *c);
/* Drops w, queueing cancels where it was asked. */
void fog__bs_sess_drop(bs_sess *s, bs_want *w);
/* Adds a peer to the session (id copied): a member from the start, asked even for blocks it did
 * not say it has (blind asks). 0 or FOG_ERR_NOMEM. */
FOG_NODISCARD int fog__bs_sess_add_peer(bs_sess *s, const uint8_t *id, size_t len, fog_ms now);
/* The peer (a session peer or not) connected: want-blocks asked at it before (e.g. while it was
 * being dialled, when nothing could be sent) are asked again. */
void fog__bs_sess_peer_up(bs_sess *s, const uint8_t *id, size_t len);
/* The peer is gone: wants asked at it move on. */
void fog__bs_sess_peer_gone(bs_sess *s, const uint8_t *id, size_t len, fog_ms now);
/* A block of len bytes for c arrived from peer from at now (any peer, in the session or not;
 * counted in its budget and its pace): the want it satisfies (removed from the schedule
 * and cancelled where it was wanted, but not freed, though its peer sets are: the caller frees
 * it with fog__bs_sess_release, or free, after running its callbacks), or NULL (counted as a
 * duplicate). Peers with budget free get their next asks. */
bs_want *fog__bs_sess_block(bs_sess *s, const uint8_t *from, size_t from_len, const fog_cid *c,
                            size_t len, fog_ms now);
void fog__bs_sess_release(bs_sess *s, bs_want *w);
/* A presence from peer id (HAVE: it joins the session). 0 or FOG_ERR_NOMEM. */
FOG_NODISCARD int fog__bs_sess_presence(bs_sess *s, const uint8_t *id, size_t len,
                                        const fog_cid *c, fog_bitswap_presence_type t, fog_ms now);
/* Activates waiting wants (FIFO order) while fewer than inflight are active, each announced by
 * a broadcast want-have, and fills the peers' budgets. The caller holds this back while its
 * store writer is behind (back-pressure). */
void fog__bs_sess_activate(bs_sess *s, fog_ms now);
/* Timeouts and provider searches due at now (walks the active wants: call it every fraction of
 * want_timeout_ms, not per message). */
void fog__bs_sess_tick(bs_sess *s, fog_ms now);
/* The next action, or false. The action is lent until the next call on the session. */
bool fog__bs_sess_poll(bs_sess *s, bs_act *out);
void fog__bs_sess_get_stats(const bs_sess *s, bs_sess_stats *out);
/* Every want, in FIFO order, for the caller's cleanup (it must not change the session). */
bs_want *fog__bs_sess_first(const bs_sess *s);
/* The in-flight budget (want-blocks) of peer id now, 0 when it is not known (for tests). */
size_t fog__bs_sess_budget(const bs_sess *s, const uint8_t *id, size_t len);

#endif
