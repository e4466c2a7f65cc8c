/* node.h: the libp2p host on one libuv loop: TCP listeners and dials, one fog_conn core per
 * connection, a connection manager with limits, and streams handed to protocol handlers.
 * DESIGN.md (net, node; one loop thread); PROTOCOLS.md 3. The cores (fog/conn.h and below) do
 * the protocols; this layer owns sockets, the clock, timers and randomness, and feeds them.
 *
 * Built in: identify (/ipfs/id/1.0.0, answering and asking on every new connection, and
 * /ipfs/id/push/1.0.0 received), ping (/ipfs/ping/1.0.0, answering; fog_node_ping asks), and,
 * when config.test_protocols is set, the interop test protocols of tests/interop/js-peer:
 * /fog/echo/1.0.0 (echo every byte, close after the peer closed) and /fog/bench/1.0.0 (count
 * bytes until the peer closes, answer the count as 8 bytes big-endian, close).
 *
 * Everything runs on the loop thread: every function here must be called on it, every callback
 * runs on it and none is called from inside the function that registered it (callbacks are
 * deferred to the loop) except where a comment says so. A peer is known by its binary peer ID
 * (a multihash, at most FOG_PEER_ID_MAX bytes); fog keeps at most one live connection per peer.
 * When a second one comes up, both ends keep the same one: the connection the smaller peer ID
 * (bytewise) dialled, or of two dialled by the same side the older; the other is closed (its
 * streams end with FOG_ERR_CANCELLED; the peer stays connected, so no disconnected call, and
 * `connected` may be called again for the connection that replaced an older one).
 *
 * Limits: a peer that passes one (connections, streams per connection, bytes buffered per
 * stream, message sizes) is dropped, logged at WARN with the peer and the reason.
 */
#ifndef FOG_NODE_H
#define FOG_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "fog/identify.h"
#include "fog/mf.h"
#include "fog/multiaddr.h"
#include "fog/util.h"

#define FOG_NODE_LISTEN_MAX 8 /* listen multiaddrs in a config */
#define FOG_ECHO_PROTO "/fog/echo/1.0.0"
#define FOG_BENCH_PROTO "/fog/bench/1.0.0"

typedef struct fog_node fog_node;
typedef struct fog_stream fog_stream;

typedef struct {
    /* Ed25519 identity (seed || public, 64 bytes); copied. Required. */
    const uint8_t *identity_secret;
    /* Listen multiaddrs: /ip4|/ip6 + /tcp (port 0 = any free port); copied. 0 of them: dial
     * only. */
    fog_multiaddr listen[FOG_NODE_LISTEN_MAX];
    size_t n_listen;
    const char *agent_version;   /* identify agent (default FOG_IDENTIFY_AGENT); copied */
    bool test_protocols;         /* serve /fog/echo/1.0.0 and /fog/bench/1.0.0 */
    uint32_t max_connections;    /* live + handshaking; more inbound are closed at accept
                                    (default 1024) */
    uint32_t max_streams;        /* per connection and direction (default 256) */
    uint32_t window_bytes;       /* yamux receive window per stream (default 1 MiB) */
    /* Per connection, over all its streams: bytes received and not yet consumed (held by
     * handlers); a stream whose data would pass it is reset. Default (0): window_bytes *
     * max_streams, so that peers that keep to the windows never hit it. */
    size_t max_buffered_bytes;
    /* Per connection, over all its streams: bytes written and not yet sent; a write past it
     * fails with FOG_ERR_LIMIT (retry in on_writable). Default 4 MiB. */
    size_t max_queued_bytes;
    fog_ms dial_timeout_ms;      /* TCP connect + handshake (default 10 s) */
    fog_ms handshake_timeout_ms; /* inbound: Noise + muxer (default 10 s) */
    fog_log_sink log;
} fog_node_config;

/* Defaults above; no identity, no listen addresses, test protocols off, log discards. */
void fog_node_config_default(fog_node_config *cfg);

/* Makes a node on loop (borrowed; it must outlive the node). Errors: FOG_ERR_INVALID (no
 * identity, a listen address that is not /ip4|/ip6 + /tcp), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_node_new(fog_node **out, uv_loop_t *loop, const fog_node_config *cfg);

/* Binds and listens on every configured address. Errors: FOG_ERR_IO with a detail line naming
 * the address (in use, not permitted, ...); nothing stays bound on failure. */
FOG_NODISCARD int fog_node_start(fog_node *n);

/* Closes every listener and connection (yamux GoAway, then the socket); done(ud) runs once all
 * handles are closed, after which fog_node_free is valid. Streams get on_close(FOG_ERR_CANCELLED).
 * Calling it twice is a no-op the second time. */
void fog_node_close(fog_node *n, void (*done)(void *ud), void *ud);
/* Frees a node that was never started or whose close completed. NULL is a no-op. */
void fog_node_free(fog_node *n);

/* Our binary peer ID (lent, lives as long as the node). */
fog_slice fog_node_peer_id(const fog_node *n);
/* Our serialized libp2p PublicKey protobuf (lent). */
fog_slice fog_node_public_key(const fog_node *n);
/* The bound listen addresses with their actual ports (0.0.0.0 / :: stay as configured), without
 * /p2p. Returns how many there are (at most cap are copied to out). */
size_t fog_node_listen_addrs(const fog_node *n, fog_multiaddr *out, size_t cap);

/* The addresses peers can dial us at, as identify announces them: the bound listen addresses,
 * with an unspecified IP (0.0.0.0, ::) replaced by the interfaces' addresses of its family
 * (IPv6 link-local ones left out: they need a zone). Returns how many (at most
 * FOG_NODE_ANNOUNCE_MAX). */
#define FOG_NODE_ANNOUNCE_MAX 32
size_t fog_node_announce_addrs(const fog_node *n, fog_multiaddr out[FOG_NODE_ANNOUNCE_MAX]);

/* The protocol IDs served (built-ins and fog_node_handle's), in identify's order: *out is lent
 * for as long as the node lives. Returns how many. */
size_t fog_node_protocols(const fog_node *n, const char *const **out);

/* --- Peers --------------------------------------------------------------------------------- */

typedef struct {
    fog_slice peer_id;             /* binary */
    fog_multiaddr remote_addr;     /* /ip4|6/../tcp/.. of the socket's other end */
    bool inbound;                  /* the peer dialled us */
    const char *muxer;             /* "/yamux/1.0.0" */
    fog_ms connected_ms;           /* loop time (uv_now) when the connection came up */
    fog_ms latency_us;             /* last ping round trip in microseconds; 0 if none yet */
    uint64_t open_streams;         /* streams open now, both directions */
    uint64_t bytes_in, bytes_out;  /* TCP bytes on this connection */
    /* The peer's identify (merged messages), or NULL until its answer arrived. Lent: valid
     * until control returns to the loop. */
    const fog_identify_parsed *identify;
} fog_peer_info;

/* Calls fn for every live (muxed) connection, in connection order, until fn returns false.
 * info is lent for the call. Adding or closing connections inside fn is not allowed. */
void fog_node_each_peer(fog_node *n, bool (*fn)(void *ud, const fog_peer_info *info), void *ud);
/* Info about one connected peer; false when not connected. Lent like each_peer's. */
bool fog_node_peer(fog_node *n, const uint8_t *peer_id, size_t len, fog_peer_info *out);
size_t fog_node_peer_count(const fog_node *n);

/* Observers (optional, set before fog_node_start; NULL members are skipped). Called on the
 * loop, directly from the node's event processing: they may call any fog_node function. */
typedef struct {
    void (*connected)(void *ud, const fog_peer_info *p);
    void (*identified)(void *ud, const fog_peer_info *p); /* the peer's identify arrived */
    void (*disconnected)(void *ud, fog_slice peer_id, int err, const char *detail);
    void *ud;
} fog_node_observer;
void fog_node_set_observer(fog_node *n, const fog_node_observer *o);

/* Dials ma: /ip4|/ip6 + /tcp, with or without /p2p/<id> (with it, the Noise handshake must prove
 * that peer, else FOG_ERR_AUTH). If the peer is already connected (ma has /p2p and it matches a
 * live connection) cb gets that connection without a new dial. cb(ud, 0, peer_id) once the
 * muxer is up; cb(ud, err, detail) on failure: FOG_ERR_INVALID (not a TCP multiaddr; /dns is
 * not resolved yet), FOG_ERR_IO (connection refused or reset, detail says which),
 * FOG_ERR_TIMEOUT, FOG_ERR_AUTH (wrong peer or bad handshake signature), FOG_ERR_PROTO (the
 * peer broke multistream/Noise/yamux), FOG_ERR_LIMIT (max_connections), FOG_ERR_CANCELLED (the
 * node is closing). peer_id and detail are lent for the call. Returns 0 or FOG_ERR_INVALID /
 * FOG_ERR_NOMEM at once (then cb never runs). */
typedef void (*fog_node_dial_cb)(void *ud, int err, const char *detail, fog_slice peer_id);
FOG_NODISCARD int fog_node_dial(fog_node *n, const fog_multiaddr *ma, fog_node_dial_cb cb,
                                void *ud);

/* Closes the connection to a peer (GoAway, then the socket). FOG_ERR_NOT_FOUND when none. */
FOG_NODISCARD int fog_node_disconnect(fog_node *n, const uint8_t *peer_id, size_t len);

/* Pings a connected peer once on a new /ipfs/ping/1.0.0 stream (one stream per ping, as
 * js-libp2p does). cb(ud, 0, rtt_us) on the echo; cb(ud, err, 0) on failure: FOG_ERR_NOT_FOUND
 * (not connected), FOG_ERR_UNSUPPORTED (the peer refused the protocol), FOG_ERR_TIMEOUT (no
 * echo in 10 s), FOG_ERR_PROTO (a wrong echo), FOG_ERR_CANCELLED (connection or node closed).
 * Returns 0, or FOG_ERR_NOT_FOUND / FOG_ERR_LIMIT / FOG_ERR_NOMEM at once (cb never runs). */
typedef void (*fog_node_ping_cb)(void *ud, int err, uint64_t rtt_us);
FOG_NODISCARD int fog_node_ping(fog_node *n, const uint8_t *peer_id, size_t len,
                                fog_node_ping_cb cb, void *ud);

/* --- Streams ------------------------------------------------------------------------------- */

/* What a protocol handler does with a stream. Every member may be NULL. The stream pointer is
 * valid from the call that hands it over (handle's open, or fog_node_open_stream) until
 * on_close returns; after on_close the node frees it.
 *   on_open   outbound: negotiation succeeded (write before it: see fog_stream_write); inbound:
 *             the peer opened a stream for the handler's protocol.
 *   on_data   bytes arrived, lent for the call. The handler returns how many of them it still
 *             holds unprocessed (copied into its own memory); 0 means all were used. Held bytes
 *             keep the peer's flow-control window closed until fog_stream_release(s, n).
 *   on_fin    the peer half-closed: no more on_data.
 *   on_writable  a write that failed with FOG_ERR_LIMIT may be retried now.
 *   on_close  the stream is gone: err 0 (both sides closed), FOG_ERR_CANCELLED (reset by the
 *             peer, or the connection or node closed), FOG_ERR_UNSUPPORTED (outbound: the peer
 *             refused the protocol), other codes (the connection failed). Not called after the
 *             handler itself called fog_stream_reset. */
typedef struct {
    void (*on_open)(fog_stream *s);
    size_t (*on_data)(fog_stream *s, const uint8_t *data, size_t len);
    void (*on_fin)(fog_stream *s);
    void (*on_writable)(fog_stream *s);
    void (*on_close)(fog_stream *s, int err);
} fog_stream_handler;

/* Serves protocol (copied) on streams peers open: each gets handler h, with fog_stream_ud ==
 * ud. Register before fog_node_start (identify announces the list). Errors: FOG_ERR_INVALID
 * (empty or too long an ID, or after start), FOG_ERR_EXISTS (registered already),
 * FOG_ERR_LIMIT (too many protocols), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_node_handle(fog_node *n, const char *protocol, const fog_stream_handler *h,
                                  void *ud);

/* Opens a stream to a connected peer proposing protocol; on_open or on_close follows. *out gets
 * the stream at once (e.g. to write before negotiation ends). Errors: FOG_ERR_NOT_FOUND (not
 * connected), FOG_ERR_LIMIT (max_streams of ours open), FOG_ERR_CANCELLED (GoAway received),
 * FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_node_open_stream(fog_node *n, const uint8_t *peer_id, size_t len,
                                       const char *protocol, const fog_stream_handler *h,
                                       void *ud, fog_stream **out);

void *fog_stream_ud(const fog_stream *s);
void fog_stream_set_ud(fog_stream *s, void *ud);
fog_slice fog_stream_peer_id(const fog_stream *s); /* lent, valid as long as the stream */
const char *fog_stream_protocol(const fog_stream *s);
bool fog_stream_inbound(const fog_stream *s);

/* Queues len bytes (copied). Errors: FOG_ERR_LIMIT (past max_queued_bytes: nothing queued;
 * retry in on_writable), FOG_ERR_INVALID (closed by us), FOG_ERR_CANCELLED (reset or the
 * connection died), FOG_ERR_NOMEM. Before on_open of an outbound stream only one write fits
 * (it follows the protocol proposal). */
FOG_NODISCARD int fog_stream_write(fog_stream *s, const uint8_t *data, size_t len);
/* True when nothing written to s's connection (any of its streams) waits in fog's queues: all
 * went to the socket, where the kernel keeps at most 128 KiB unsent (TCP_NOTSENT_LOWAT).
 * Otherwise on_writable is armed, as after a refused write: it follows the next socket write, and
 * the writer asks again. For a writer that hands out one message at a time. */
bool fog_stream_drained(fog_stream *s);
/* Half-closes (FIN after the queued bytes). Errors: FOG_ERR_INVALID (twice, or not negotiated
 * yet), FOG_ERR_CANCELLED. */
FOG_NODISCARD int fog_stream_close(fog_stream *s);
/* Resets the stream; the node frees it after the current callback (no on_close follows). */
void fog_stream_reset(fog_stream *s);
/* Gives back n held bytes (see on_data) to the peer's window. */
void fog_stream_release(fog_stream *s, size_t n);

/* --- Counters ------------------------------------------------------------------------------ */

typedef struct {
    uint64_t bytes_in, bytes_out;     /* TCP bytes, all connections, since start */
    uint64_t conns_accepted, conns_dialled, conns_failed, conns_dropped; /* dropped: limits */
    uint64_t streams_opened;
} fog_node_stats;
void fog_node_get_stats(const fog_node *n, fog_node_stats *out);

/* Stream payload bytes per protocol ID since start (in: handed to handlers; out: accepted by
 * fog_stream_write), for every protocol a stream was opened with, in first-use order; past 63
 * protocols (or an ID of 128 bytes or more) the rest count under "other". Fills
 * out[0..min(max, count)) and returns the count; protocol strings are the node's, valid as
 * long as it. */
typedef struct {
    const char *protocol;
    uint64_t bytes_in, bytes_out;
} fog_proto_bytes;
size_t fog_node_proto_bytes(const fog_node *n, fog_proto_bytes *out, size_t max);

#endif
