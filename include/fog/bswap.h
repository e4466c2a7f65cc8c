/* bswap.h: bitswap 1.2.0 on a fog_node: the server engine that answers peers' wants from the
 * store, and client sessions that fetch blocks from many peers at once. Spec: ipfs/specs
 * src/bitswap-protocol.md, PROTOCOLS.md 3.8; the message codec is fog/bitswap.h.
 *
 * Wire: fog serves /ipfs/bitswap/1.2.0, 1.1.0, 1.0.0 and /ipfs/bitswap. An inbound stream may
 * carry any number of length-prefixed messages. To send, fog keeps one outbound stream per
 * connected peer (opened on first use, reopened after it fails) and writes whole messages on it;
 * js (helia) and go (boxo) peers read several messages per stream as fog does.
 *
 * Server: a per-peer ledger holds the peer's wantlist (full replaces, deltas add and cancel,
 * at most FOG_BSWAP_LEDGER_MAX entries per peer; more are dropped). Answers, as boxo's engine
 * gives them: want-block -> the block; want-have -> HAVE, or the block itself when it is at most
 * 1024 bytes (boxo DefaultWantHaveReplaceSize); a block we lack -> DONT_HAVE when the peer set
 * send_dont_have, else nothing. A want answered with a block leaves the ledger; a want-have
 * answered HAVE stays (the peer wants the block until it cancels); a want (either type) of a
 * block we lack stays until cancelled, so that the peer gets its HAVE or block when the block
 * is stored later (fetched by a session of ours, or fog_bswap_notify_stored).
 * Order: the block sent least often goes first, and a want-block of a block sent before is
 * answered first with a block the peer wants that was never sent (super-seeding: a node many
 * fetch from hands out each block once while unsent ones remain). Responses go out by a
 * round-robin over peers with at most server_task_bytes of blocks per message and turn, read
 * from the store's file into the peer's queue, one message at a time over all peers: the next
 * starts once the previous left the node's queue (fog_stream_drained), so requests wait in the
 * engine (where cancels reach them) and each peer gets its message at the full uplink rate. A
 * peer costs at most the node's max_queued_bytes plus one message, and one greedy peer cannot
 * starve the others.
 *
 * Client: a session keeps its wants in order; the first session_inflight of them are active.
 * A want going active is announced as a want-have (send_dont_have) to every connected peer (and
 * to peers connecting later), so each peer says HAVE as soon as it stores the block; a peer
 * answering HAVE joins the session. Each peer gets a budget of want-blocks that follows what it
 * delivered in the last 100 ms (at least one or two blocks, growing each round trip while it
 * keeps up: dozens over loopback, the floor at an origin shared by many fetchers), and a peer
 * with budget free is asked for the rarest block it has that is not asked anywhere yet, ties
 * broken at random, so that fetchers of the same file pull different blocks from the origin and
 * then from each other. A holder with budget free and nothing better takes over an ask that
 * waited at another peer (work stealing, outside the endgame; src/bitswap/session.c has the
 * details, including the endgame's duplicates and each peer's pace, which says when an ask is
 * late). A DONT_HAVE, or no block at all from the peer within want_timeout_ms (or three times
 * its pace), moves the want on; once everyone failed it, it starts over a timeout later (a want
 * never fails by itself). An active want that no peer has
 * after provider_delay_ms makes the session ask the DHT for providers (fog_dht_find_providers;
 * once per want, at most 4 searches per session at a time, a want that finds 4 running asks
 * none) and dial them; they join the session. Blocks are accepted from any peer (in
 * the session or not; counted there), checked against their CID (the codec rebuilds the CID from
 * the bytes; fog_bitswap_block_matches), handed to every session that wants them, and queued to
 * the store through the writer (one job per message, written from the parsed message's own
 * memory: no copy). Back-pressure: while more than 8 MiB of received blocks wait for the store,
 * sessions activate no new wants and inbound streams are held (their bytes are used but not
 * given back to the peer's yamux window until the writer caught up), so a fast peer cannot
 * fill our memory with blocks the disk has not taken yet. When a peer disconnects, its ledger
 * is dropped and the want-blocks outstanding at it move to other peers. A block nobody wants
 * is dropped and counted.
 *
 * Everything runs on the loop thread; callbacks are deferred to the loop (never called from
 * inside the call that registered them).
 */
#ifndef FOG_BSWAP_H
#define FOG_BSWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "fog/bitswap.h"
#include "fog/mf.h"
#include "fog/node.h"
#include "fog/store.h"
#include "fog/storew.h"
#include "fog/util.h"

#define FOG_BSWAP_LEDGER_MAX 4096 /* wantlist entries kept per peer; more are dropped */

struct fog_dht;
typedef struct fog_bswap fog_bswap;
typedef struct fog_bswap_session fog_bswap_session;

typedef struct {
    uv_loop_t *loop;                /* the node's loop; required */
    fog_store *store;               /* read through views; required */
    fog_store_writer *writer;       /* fetched blocks are written through it; required */
    struct fog_dht *dht;            /* provider search; NULL: connected peers only */
    size_t session_inflight;        /* want-blocks outstanding per session (default 512) */
    fog_ms want_timeout_ms;         /* a want-block unanswered this long moves on (default 5 s) */
    fog_ms provider_delay_ms;       /* no peer has a wanted block: ask the DHT (default 1 s) */
    size_t server_task_bytes;       /* block bytes per peer per round-robin turn (default 1 MiB) */
    size_t server_peer_bytes;       /* reserved (default 4 MiB): today the bound per peer is the
                                       node's max_queued_bytes plus one message */
    fog_log_sink log;
} fog_bswap_config;

void fog_bswap_config_default(fog_bswap_config *cfg);

/* Makes bitswap on node (borrowed; it must outlive bitswap) and registers its protocols: call
 * before fog_node_start. Connection events come through fog_bswap_observer, which the caller
 * installs (directly, or through the DHT's pass-through observer). Errors: FOG_ERR_INVALID (a
 * required member missing, node started), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_bswap_new(fog_bswap **out, fog_node *node, const fog_bswap_config *cfg);
/* The observer bitswap needs (connected, identified, disconnected); ud is bitswap. */
fog_node_observer fog_bswap_observer(fog_bswap *b);
/* Sets (or replaces) the DHT used for provider searches and peer addresses, for a daemon that
 * makes bitswap first (so that the DHT's config can chain fog_bswap_observer) and the DHT
 * second. d is borrowed: it must outlive bitswap, or be unset (NULL) before it is freed. */
void fog_bswap_set_dht(fog_bswap *b, struct fog_dht *d);
/* Frees bitswap after fog_node_close completed and before fog_node_free (and before the writer
 * is closed). Sessions still open end here: their pending want callbacks run from inside this
 * call with FOG_ERR_CANCELLED (they may only call fog_bswap_session_free then). Its two timers
 * are closed here and released by the loop's next turn. Writes still queued complete later
 * without touching bitswap. NULL is a no-op. */
void fog_bswap_free(fog_bswap *b);

/* Tells bitswap that c is now in the store (written by someone else, e.g. a `fog add` that
 * reported it through the API): peers whose ledger wants it get their HAVE or block. Blocks
 * written by bitswap's own sessions need no call. */
void fog_bswap_notify_stored(fog_bswap *b, const fog_cid *c);

/* --- Client sessions -------------------------------------------------------------------- */

/* A wanted block arrived or the want failed: err 0 with data lent for the call (verified
 * against c; its write to the store is queued: a failed write is logged and counted, not
 * reported here), FOG_ERR_CANCELLED (bitswap was freed; see fog_bswap_free), FOG_ERR_NOMEM. A
 * want does not time out by itself: the session keeps looking until it is cancelled.
 * Inside an err 0 callback the caller may call any fog_bswap_session_* function (want the
 * block's links, cancel, free this or another session). */
typedef void (*fog_bswap_block_cb)(void *ud, int err, const fog_cid *c, const uint8_t *data,
                                   size_t len);

FOG_NODISCARD int fog_bswap_session_new(fog_bswap *b, fog_bswap_session **out);
/* Wants c: from the store when it is there (cb deferred), else from peers. The same CID wanted
 * twice in a session gets both callbacks. c is copied. Errors at once: FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_bswap_session_want(fog_bswap_session *s, const fog_cid *c,
                                         fog_bswap_block_cb cb, void *ud);
/* Drops every want of c in the session (their callbacks do not run) and cancels it at peers. */
void fog_bswap_session_cancel(fog_bswap_session *s, const fog_cid *c);
/* A peer believed to have the session's blocks (e.g. the peer that gave the root): asked first.
 * Dialled by bitswap through the node if not connected (addresses from the DHT's book). */
void fog_bswap_session_add_peer(fog_bswap_session *s, const uint8_t *peer_id, size_t len);
/* Ends the session: pending wants are cancelled at peers, their callbacks do not run. NULL is a
 * no-op. */
void fog_bswap_session_free(fog_bswap_session *s);

typedef struct {
    uint64_t wants;          /* wants made */
    uint64_t blocks_in;      /* blocks received and wanted */
    uint64_t dup_blocks_in;  /* blocks received twice or unwanted */
    uint64_t bytes_in;       /* block bytes received (wanted ones) */
    size_t inflight;         /* want-blocks outstanding now */
    size_t peers;            /* peers in the session */
} fog_bswap_session_stats;
void fog_bswap_session_get_stats(const fog_bswap_session *s, fog_bswap_session_stats *out);

typedef struct {
    uint64_t msgs_in, msgs_out;
    uint64_t blocks_sent, block_bytes_sent;     /* server */
    uint64_t blocks_recv, block_bytes_recv;     /* client, wanted */
    uint64_t dup_blocks_recv, dup_bytes_recv;   /* client, unwanted or twice */
    uint64_t haves_sent, dont_haves_sent;
    size_t peers;                               /* peers with a ledger */
    size_t store_pending_bytes;                 /* received blocks queued to the store, not
                                                   committed yet */
} fog_bswap_stats;
void fog_bswap_get_stats(const fog_bswap *b, fog_bswap_stats *out);

#endif
