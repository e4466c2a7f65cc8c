/* internal.h: what the files of src/node share: the node, its connections and streams.
 * node.c owns the node (config, listeners, dials, peers, the deferred-work idle handle);
 * nconn.c runs one TCP connection around one fog_conn core (read, write, timer, events);
 * stream.c is the stream API handed to protocol handlers; builtin.c holds identify, ping and
 * the test protocols; identify_node.c asks and answers identify.
 * Re-entrancy rule: a connection's events are dispatched only by nconn_process, which never
 * nests for one connection (a call from inside a callback only marks work to do); streams and
 * connections that die are freed at the end of a dispatch or from a uv close callback, never
 * while a callback up the stack may still use them.
 */
#ifndef FOG_NODE_INTERNAL_H
#define FOG_NODE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "fog/conn.h"
#include "fog/node.h"

#define NODE_READ_BUF (256u * 1024u)
/* Four whole Noise messages (2-byte length + 65535 bytes): fog_conn_pull seals yamux frames in
 * place in this buffer only when a whole message fits. */
#define NODE_WRITE_BUF (4u * (2u + 65535u))
#define NODE_PROTOCOLS_MAX 64 /* FOG_MSS_PROTOCOLS_MAX */
#define NODE_CLOSE_FLUSH_MS 200
#define NODE_PING_TIMEOUT_MS 10000
#define NODE_PROTO_ID_MAX 1024

typedef struct nconn nconn;

/* Stream payload bytes of one protocol ID (stream.c); the table lives in the node. */
#define NODE_PSTATS_MAX 64
#define NODE_PSTAT_ID_MAX 128 /* longer IDs are counted under "other" */
typedef struct {
    char id[NODE_PSTAT_ID_MAX];
    uint64_t in, out;
} node_pstat;

/* For results deliberately dropped (GCC ignores a (void) cast on warn_unused_result). */
static inline void node_ignore(int rc)
{
    (void)rc;
}

typedef struct {
    char *id;
    fog_stream_handler h;
    void *ud;
} node_proto;

struct fog_stream {
    nconn *c;
    fog_stream *next, *prev;
    uint32_t id;
    bool inbound;
    bool opened;        /* on_open delivered (negotiated) */
    bool closed_by_us;  /* fog_stream_close called */
    bool dead;          /* no more callbacks; freed by the next sweep */
    bool want_writable; /* a write failed with FOG_ERR_LIMIT */
    bool lazy_written;  /* outbound: the one write allowed before on_open was used */
    char *protocol;     /* owned */
    node_pstat *pstat;  /* its protocol's byte counters (in the node's table) */
    fog_stream_handler h;
    void *ud;
};

/* A deferred callback (dial results known at once, ...), run from the node's idle handle. */
typedef struct node_defer {
    struct node_defer *next;
    fog_node_dial_cb cb;
    void *ud;
    int err;
    char detail[128];
    uint8_t peer[FOG_PEER_ID_MAX];
    size_t peer_len;
} node_defer;

struct nconn {
    fog_node *n;
    nconn *next, *prev; /* the node's list, in creation order */
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    uv_connect_t creq;
    fog_conn *core;
    int handles;       /* uv handles of ours not yet closed */
    bool inbound;
    bool tcp_up;       /* connected socket (inbound: accepted) */
    bool muxed;        /* CONNECTED seen */
    bool duplicate;    /* a newer connection to an already-connected peer: being closed */
    bool goaway_recv;
    bool dying;        /* to be torn down at the end of the dispatch */
    bool torn;         /* teardown done, handles closing */
    bool in_process;
    bool again;        /* process was asked for while it ran */
    bool kicked;       /* on the node's kick list */
    bool write_busy;
    bool write_done;   /* a write completed since the last on_writable round */
    bool close_after_write;
    bool reading;
    int err;           /* why it died (0: closed normally) */
    char detail[256];
    uint8_t *rbuf, *wbuf;
    size_t wlen;
    uint8_t peer[FOG_PEER_ID_MAX];
    size_t peer_len;
    fog_multiaddr remote;
    fog_ms connected_ms;
    uint64_t latency_us;
    uint64_t bytes_in, bytes_out;
    uint64_t n_streams;
    fog_stream *streams; /* live and dead-not-swept */
    fog_identify_parsed ident;
    bool have_ident;
    fog_ms dial_deadline; /* outbound, before the core exists */
    fog_node_dial_cb dial_cb;
    void *dial_ud;
    nconn *kick_next;
};

typedef struct {
    uv_tcp_t tcp;
    fog_node *n; /* NULL once the node no longer counts it */
    fog_multiaddr addr;
} node_listener;

struct fog_node {
    uv_loop_t *loop;
    fog_node_config cfg;
    uint8_t secret[64];
    uint8_t peer_id[FOG_PEER_ID_ED25519_LEN];
    char peer_text[64];
    char *agent;
    node_proto protos[NODE_PROTOCOLS_MAX];
    size_t n_protos;
    const char *proto_ids[NODE_PROTOCOLS_MAX];
    node_listener *listeners[FOG_NODE_LISTEN_MAX];
    size_t n_listeners;
    fog_node_observer obs;
    nconn *conns, *conns_tail;
    size_t n_conns; /* in the list: handshaking + live */
    nconn *kick;    /* connections with work to do */
    node_defer *defers, *defers_tail;
    uv_idle_t idle;
    bool idle_init, idle_on;
    bool started, closing;
    int handles; /* uv handles open: idle, listeners, connection handles, ping timers */
    void (*done)(void *);
    void *done_ud;
    fog_node_stats stats;
    node_pstat pstats[NODE_PSTATS_MAX];
    size_t n_pstats;
};

/* node.c */
void node_kick(fog_node *n, nconn *c);
void node_defer_dial(fog_node *n, fog_node_dial_cb cb, void *ud, int err, const char *detail,
                     const uint8_t *peer, size_t peer_len);
void node_handle_closed(fog_node *n);
nconn *node_find_peer(fog_node *n, const uint8_t *peer, size_t len);
const node_proto *node_find_proto(const fog_node *n, const char *id);
void node_peer_text(const uint8_t *id, size_t len, char *out, size_t cap);
void node_fill_info(const nconn *c, fog_peer_info *out);
FOG_NODISCARD int node_sockaddr_ma(const struct sockaddr *sa, fog_multiaddr *out);

/* nconn.c */
FOG_NODISCARD int nconn_new(fog_node *n, bool inbound, nconn **out);
FOG_NODISCARD int nconn_start_core(nconn *c, const uint8_t *expect, size_t expect_len);
void nconn_process(nconn *c);
void nconn_fail(nconn *c, int err, const char *detail);
void nconn_close(nconn *c, int err, const char *detail); /* GoAway, flush, close */

/* stream.c */
FOG_NODISCARD int stream_new(nconn *c, uint32_t id, bool inbound, const char *protocol,
                             const fog_stream_handler *h, void *ud, fog_stream **out);
void stream_dispatch(nconn *c, const fog_conn_event *ev);
void stream_sweep(nconn *c);
void stream_writable(nconn *c);
void stream_kill_all(nconn *c, int err);
FOG_NODISCARD int stream_open(nconn *c, const char *protocol, const fog_stream_handler *h,
                              void *ud, fog_stream **out);

/* builtin.c */
FOG_NODISCARD int builtin_register(fog_node *n);

/* identify_node.c */
FOG_NODISCARD int identify_register(fog_node *n);
void identify_ask(nconn *c);
FOG_NODISCARD int ping_start(fog_node *n, nconn *c, fog_node_ping_cb cb, void *ud);

#endif
