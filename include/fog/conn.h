/* conn.h: one libp2p connection over TCP, sans-I/O: the upgrade and the streams on top of it.
 * PROTOCOLS.md 3 (intro, 3.2-3.4); libp2p/specs connections/README.md and
 * connections/inlined-muxer-negotiation.md. A fog_conn chains the protocol cores:
 *   multistream-select "/noise"  (the TCP dialer proposes; include/fog/mss.h)
 *   -> Noise XX handshake         (identity, expected peer ID, inlined muxers; fog/noise.h)
 *   -> multistream-select "/yamux/1.0.0" inside the encrypted channel, skipped when Noise's
 *      inlined negotiation already chose yamux
 *   -> yamux session              (fog/yamux.h)
 * Bytes that arrive after one stage's last message go to the next stage before anything read
 * later (go-libp2p and js-libp2p pipeline). Once the muxer is up FOG_CONN_EV_CONNECTED names
 * the remote peer. Streams: fog_conn_open_stream opens a yamux stream and proposes protocols on
 * it with a pipelining multistream-select dialer; a stream the peer opens runs a listener
 * multistream-select against config.protocols. Only negotiated streams reach the caller
 * (STREAM_OPENED); a peer's stream that fails negotiation is reset silently, one of ours gives
 * STREAM_FAILED. Application bytes follow yamux's credit-on-consume flow control: STREAM_DATA
 * lends bytes, fog_conn_stream_consume grants the window back.
 *
 * Same shape as every fog core (STYLE.md 3): feed what the socket read, drain events, pull what
 * to write, arm one timer at fog_conn_deadline. Events are queued, never called back. The clock
 * starts at the first feed, pull or on_timeout: call pull right after fog_conn_new (the dialer
 * has bytes to send at once) so that the handshake deadline is armed.
 *
 * A fatal error (a peer breaking a protocol, a failed authentication, a timeout, a cap passed by
 * the peer, no memory) queues FOG_CONN_EV_CLOSED with the code and a detail line; the call that
 * hit it returns the code. Afterwards only poll_event (to drain), pull (which may still flush a
 * yamux GoAway and then returns the code) and free are useful; other calls return the code.
 * Not done yet: per-stream negotiation timeouts, yamux (not mplex) is the only muxer, and the
 * security protocol is Noise only.
 */
#ifndef FOG_CONN_H
#define FOG_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/util.h"

typedef struct fog_conn fog_conn; /* opaque */

typedef struct {
    bool is_dialer; /* the TCP dialer: proposes /noise, is the Noise initiator and yamux client */
    /* Ed25519 identity secret (seed || public, 64 bytes); copied by fog_conn_new. Required. */
    const uint8_t *identity_secret;
    /* Dialer: the peer ID (binary multihash) the remote must prove, or NULL for any; copied.
     * Another one ends the connection with FOG_ERR_AUTH. At most 64 bytes. */
    const uint8_t *expected_peer_id;
    size_t expected_peer_id_len;
    /* Muxers offered inside Noise (default {"/yamux/1.0.0"}); copied. Only "/yamux/1.0.0" may
     * be listed. 0: offer none, so the muxer is negotiated with multistream-select. */
    const char *const *muxers;
    size_t muxer_count;
    /* Protocol IDs served on streams the peer opens (e.g. "/ipfs/id/1.0.0"); copied. 0..
     * FOG_MSS_PROTOCOLS_MAX; with none, every inbound stream is refused. */
    const char *const *protocols;
    size_t n_protocols;
    fog_ms handshake_timeout_ms; /* until CONNECTED (default 10 s); 0: no deadline */
    /* Passed to yamux (include/fog/yamux.h has the meaning and the defaults). */
    uint32_t max_streams;
    uint32_t window_bytes;
    fog_ms keepalive_ms;
    size_t max_queued_bytes;   /* stream bytes written and not yet pulled */
    size_t max_buffered_bytes; /* stream bytes received and not yet consumed */
    /* Events queued and not yet polled (STREAM_DATA of one stream coalesce); a peer that makes
     * more is a fatal FOG_ERR_LIMIT. Default 8192. */
    size_t max_events;
    fog_rng rng; /* required: Noise keys, yamux ping values */
    fog_log_sink log;
} fog_conn_config;

typedef enum {
    FOG_CONN_EV_CONNECTED = 1, /* the muxer is up: peer_id, protocol (the muxer) */
    FOG_CONN_EV_STREAM_OPENED, /* stream_id negotiated protocol; inbound tells who opened it */
    FOG_CONN_EV_STREAM_DATA,   /* data on stream_id; consume it with fog_conn_stream_consume */
    FOG_CONN_EV_STREAM_FIN,    /* the peer half-closed stream_id */
    FOG_CONN_EV_STREAM_CLOSED, /* both directions of stream_id finished; its ID is forgotten */
    FOG_CONN_EV_STREAM_RESET,  /* the peer reset stream_id; its ID is forgotten */
    FOG_CONN_EV_STREAM_FAILED, /* our stream_id failed negotiation (error says why); it is reset */
    FOG_CONN_EV_GOAWAY,        /* the peer sent yamux GoAway(error): open no more streams */
    FOG_CONN_EV_CLOSED         /* fatal: error and detail; the connection is dead */
} fog_conn_ev_kind;

typedef struct {
    fog_conn_ev_kind kind;
    uint32_t stream_id; /* STREAM_*: the yamux stream ID */
    bool inbound;       /* STREAM_OPENED: the peer opened the stream */
    /* STREAM_OPENED: the negotiated protocol ID, lent until the next call on this fog_conn.
     * CONNECTED: the muxer ID (static). NULL otherwise. */
    const char *protocol;
    fog_slice peer_id; /* CONNECTED: the remote's binary peer ID, lent until fog_conn_free */
    fog_slice data;    /* STREAM_DATA: the bytes, lent until the next call on this fog_conn */
    /* CLOSED: the fog_err code; STREAM_FAILED: why (FOG_ERR_UNSUPPORTED: every proposal refused,
     * FOG_ERR_CANCELLED: reset or closed by the peer, FOG_ERR_PROTO / FOG_ERR_LIMIT: broken
     * negotiation); GOAWAY: the peer's GoAway code. */
    int error;
    const char *detail; /* CLOSED: one line, lent until the next call on this fog_conn */
} fog_conn_event;

/* Listener; identity, expected peer ID and protocols none; muxers {"/yamux/1.0.0"}; handshake
 * timeout 10 s; yamux defaults for the yamux fields; max_events 8192; no rng; log discards. */
void fog_conn_config_default(fog_conn_config *cfg);

/* Makes a connection core; cfg and everything it points to are copied. Errors: FOG_ERR_INVALID
 * (no identity or rng, a muxer other than yamux, a protocol list or ID out of range, a zero
 * cap), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_conn_new(fog_conn **out, const fog_conn_config *cfg);
void fog_conn_free(fog_conn *c); /* NULL is a no-op; wipes keys */

/* Consumes all of in (borrowed; no pointer kept) in any fragmentation, or fails fatally with
 * the error of the core that refused it (see the top of this file and the cores' headers). */
FOG_NODISCARD int fog_conn_feed(fog_conn *c, const uint8_t *in, size_t in_len, fog_ms now);

/* The next queued event into *ev_out; false when none. Lent fields live until the next call. */
bool fog_conn_poll_event(fog_conn *c, fog_conn_event *ev_out);

/* Copies up to cap bytes to write to the socket into dst and sets *len_out (0: nothing now).
 * Returns 0, or the fatal error (after flushing what can still be flushed). */
FOG_NODISCARD int fog_conn_pull(fog_conn *c, uint8_t *dst, size_t cap, size_t *len_out,
                                fog_ms now);

/* When to call fog_conn_on_timeout (the handshake deadline until CONNECTED, then yamux's
 * keepalive), or FOG_NEVER. */
fog_ms fog_conn_deadline(const fog_conn *c);
/* Fatal FOG_ERR_TIMEOUT when the handshake is not done by its deadline or a keepalive ping went
 * unanswered; otherwise sends a due keepalive ping. */
FOG_NODISCARD int fog_conn_on_timeout(fog_conn *c, fog_ms now);

/* Stream bytes written and not yet pulled, over all streams, plus the ciphertext waiting in
 * Noise: what fog_conn_pull has still to hand out (0 before the muxer is up). */
size_t fog_conn_queued_bytes(const fog_conn *c);
/* True once CONNECTED has been queued (and the connection is not dead). */
bool fog_conn_is_connected(const fog_conn *c);

/* Opens a stream and proposes protocols (1..FOG_MSS_PROTOCOLS_MAX IDs, borrowed during the
 * call) in order; the header and the first proposal go out at once. STREAM_OPENED or
 * STREAM_FAILED follows. Errors: FOG_ERR_INVALID (not connected, bad protocol list),
 * FOG_ERR_LIMIT (max_streams of ours open), FOG_ERR_CANCELLED (the peer sent GoAway), fatal
 * FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_conn_open_stream(fog_conn *c, const char *const *protocols, size_t n,
                                       uint32_t *id_out);

/* Queues len bytes (copied) on a negotiated stream, or on one of ours opened with a single
 * proposal before its echo arrives (the bytes follow the proposal, as go-libp2p's lazy dialer
 * sends them; if the proposal is refused they are lost with the stream). Errors:
 * FOG_ERR_NOT_FOUND, FOG_ERR_INVALID (not negotiated yet, or closed by us), FOG_ERR_CANCELLED
 * (reset by the peer), FOG_ERR_LIMIT (past max_queued_bytes, or negotiation output still
 * waiting: nothing queued; pull and retry), fatal FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_conn_stream_write(fog_conn *c, uint32_t id, const uint8_t *data,
                                        size_t len);
/* Half-closes a negotiated stream (FIN after its queued data). Errors: FOG_ERR_NOT_FOUND,
 * FOG_ERR_INVALID (not negotiated, or closed twice). */
FOG_NODISCARD int fog_conn_stream_close(fog_conn *c, uint32_t id);
/* Resets a stream in any state; its ID is forgotten at once (no event). Errors:
 * FOG_ERR_NOT_FOUND; fatal FOG_ERR_LIMIT / FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_conn_stream_reset(fog_conn *c, uint32_t id);
/* The application drained n bytes of what STREAM_DATA delivered on id: the window goes back
 * to the peer. Errors: FOG_ERR_NOT_FOUND (stream gone: ignore after CLOSED/RESET),
 * FOG_ERR_INVALID (more than delivered); fatal FOG_ERR_LIMIT / FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_conn_stream_consume(fog_conn *c, uint32_t id, size_t n);

/* Sends yamux GoAway(0): the peer may open no more streams; ours go on. Errors:
 * FOG_ERR_INVALID (not connected, or sent already); fatal FOG_ERR_LIMIT / FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_conn_go_away(fog_conn *c);

#endif
