/* nconn.c: one TCP connection of the node around one fog_conn core (include/fog/conn.h).
 * The socket pump follows the core's shape: each read is fed whole, then nconn_process drains
 * the core's events (dispatching them to streams and observers), then pulls output into one
 * 256 KiB buffer and writes it, one uv_write in flight; a completed write pulls again, so the
 * core's own queues (yamux flow control) hold the backlog, not this file. One uv_timer_t per
 * connection is armed at fog_conn_deadline (uv_now is the clock). A connection that dies is
 * marked dying and torn down at the end of the dispatch: streams get on_close, observers and
 * the dial callback hear of it, the last output (a GoAway) is flushed for at most
 * NODE_CLOSE_FLUSH_MS, then both handles close and the last close callback frees it.
 * The kernel holds at most SEND_LOWAT bytes not sent yet per socket (TCP_NOTSENT_LOWAT; bytes
 * in flight on the wire are not counted), so the backlog stays in the core's queues, where the
 * streams' writers see it (fog_stream_can_write): a bitswap server that hands out one message at
 * a time learns when it has really gone, instead of when a 4 MiB socket buffer took it.
 */
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "fog/crypto.h"
#include "internal.h"

static const char *const MOD = "node";

#define SEND_LOWAT (128 * 1024)

static void rng_fill(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    fog_random_bytes(out, len);
}

static void nconn_free(nconn *c)
{
    for (fog_stream *s = c->streams; s != NULL; s = s->next) {
        s->dead = true;
    }
    stream_sweep(c);
    fog_conn_free(c->core);
    fog_identify_parsed_clear(&c->ident);
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}

static void handle_closed(uv_handle_t *h)
{
    nconn *c = h->data;
    fog_node *n = c->n;
    if (--c->handles == 0) {
        nconn_free(c);
    }
    node_handle_closed(n);
}

static void close_handles(nconn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) {
        uv_close((uv_handle_t *)&c->tcp, handle_closed);
    }
    if (!uv_is_closing((uv_handle_t *)&c->timer)) {
        uv_close((uv_handle_t *)&c->timer, handle_closed);
    }
}

int nconn_new(fog_node *n, bool inbound, nconn **out)
{
    nconn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return FOG_ERR_NOMEM;
    }
    c->rbuf = malloc(NODE_READ_BUF);
    c->wbuf = malloc(NODE_WRITE_BUF);
    if (c->rbuf == NULL || c->wbuf == NULL) {
        free(c->rbuf);
        free(c->wbuf);
        free(c);
        return FOG_ERR_NOMEM;
    }
    c->n = n;
    c->inbound = inbound;
    uv_tcp_init(n->loop, &c->tcp);
    uv_timer_init(n->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    n->handles += 2;
    c->prev = n->conns_tail;
    if (n->conns_tail != NULL) {
        n->conns_tail->next = c;
    } else {
        n->conns = c;
    }
    n->conns_tail = c;
    n->n_conns++;
    *out = c;
    return 0;
}

static void unlink_conn(nconn *c)
{
    fog_node *n = c->n;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        n->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    } else {
        n->conns_tail = c->prev;
    }
    c->next = c->prev = NULL;
    n->n_conns--;
}

void nconn_fail(nconn *c, int err, const char *detail)
{
    if (c->dying) {
        return;
    }
    c->dying = true;
    c->err = err;
    snprintf(c->detail, sizeof c->detail, "%s", detail != NULL ? detail : "");
    if (!c->in_process) {
        node_kick(c->n, c);
    }
}

void nconn_close(nconn *c, int err, const char *detail)
{
    if (c->dying) {
        return;
    }
    if (c->core != NULL && c->muxed) {
        node_ignore(fog_conn_go_away(c->core));
    }
    nconn_fail(c, err, detail);
}

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    nconn *c = h->data;
    buf->base = (char *)c->rbuf;
    buf->len = NODE_READ_BUF;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    nconn *c = s->data;
    if (c->torn || c->dying) {
        return;
    }
    if (nread < 0) {
        if (nread == UV_EOF || c->goaway_recv) {
            nconn_fail(c, 0, "closed by the peer");
        } else {
            char d[96];
            snprintf(d, sizeof d, "read: %s", uv_strerror((int)nread));
            nconn_fail(c, FOG_ERR_IO, d);
        }
        nconn_process(c);
        return;
    }
    if (nread == 0) {
        return;
    }
    c->bytes_in += (uint64_t)nread;
    c->n->stats.bytes_in += (uint64_t)nread;
    /* A failure queues CLOSED, which the dispatch below reads. */
    node_ignore(fog_conn_feed(c->core, c->rbuf, (size_t)nread, uv_now(c->n->loop)));
    nconn_process(c);
}

/* ---- writing ---- */

static void write_cb(uv_write_t *req, int status)
{
    nconn *c = req->data;
    c->write_busy = false;
    if (status < 0) {
        if (!c->torn) {
            char d[96];
            snprintf(d, sizeof d, "write: %s", uv_strerror(status));
            nconn_fail(c, FOG_ERR_IO, d);
            nconn_process(c);
        }
        return;
    }
    c->bytes_out += c->wlen;
    c->n->stats.bytes_out += c->wlen;
    if (c->torn) {
        if (c->close_after_write) {
            close_handles(c);
        }
        return;
    }
    c->write_done = true;
    nconn_process(c);
}

/* Pulls output and starts a write; returns whether one is in flight. */
static bool flush(nconn *c)
{
    if (c->write_busy || c->core == NULL || !c->tcp_up) {
        return c->write_busy;
    }
    size_t len = 0;
    node_ignore(fog_conn_pull(c->core, c->wbuf, NODE_WRITE_BUF, &len, uv_now(c->n->loop)));
    if (len == 0) {
        return false;
    }
    c->wlen = len;
    uv_buf_t b = uv_buf_init((char *)c->wbuf, (unsigned)len);
    c->wreq.data = c;
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
    if (rc < 0) {
        if (!c->torn) {
            nconn_fail(c, FOG_ERR_IO, uv_strerror(rc));
        }
        return false;
    }
    c->write_busy = true;
    return true;
}

/* ---- events ---- */

/* Of two connections to one peer both sides keep the same one: the one the smaller peer ID
 * (bytewise) dialled; of two dialled by the same side, the older. So a simultaneous dial leaves
 * one connection instead of none, and a peer that dials again because it lost the old
 * connection (half-open on our side) replaces it. */
static bool keep_newer(const nconn *old, const nconn *c)
{
    if (old->inbound == c->inbound) {
        return false;
    }
    const uint8_t *self = c->n->peer_id;
    size_t self_len = sizeof c->n->peer_id, min = self_len < c->peer_len ? self_len : c->peer_len;
    int cmp = memcmp(self, c->peer, min);
    bool self_smaller = cmp < 0 || (cmp == 0 && self_len < c->peer_len);
    return self_smaller ? !c->inbound : c->inbound;
}

static void on_connected(nconn *c, const fog_conn_event *ev)
{
    fog_node *n = c->n;
    char text[64];
    size_t len = ev->peer_id.len <= sizeof c->peer ? ev->peer_id.len : 0;
    memcpy(c->peer, ev->peer_id.p, len);
    c->peer_len = len;
    node_peer_text(c->peer, c->peer_len, text, sizeof text);
    if (c->peer_len == sizeof n->peer_id && memcmp(c->peer, n->peer_id, c->peer_len) == 0) {
        /* Our own listener, reached through some address of ours: never a peer. */
        fog_node_dial_cb self_cb = c->dial_cb;
        c->dial_cb = NULL;
        if (self_cb != NULL) {
            self_cb(c->dial_ud, FOG_ERR_INVALID, "dial to self attempted", fog_slice_make(NULL, 0));
        }
        nconn_close(c, FOG_ERR_INVALID, "connection to self");
        return;
    }
    nconn *old = node_find_peer(n, c->peer, c->peer_len);
    c->muxed = true;
    c->connected_ms = uv_now(n->loop);
    fog_node_dial_cb cb = c->dial_cb;
    c->dial_cb = NULL;
    if (old != NULL && keep_newer(old, c)) {
        old->duplicate = true; /* the peer stays connected: no disconnected observer call */
        fog_logf(&n->cfg.log, FOG_LOG_INFO, MOD, "older connection to %s replaced", text);
        nconn_close(old, 0, "replaced by a newer connection");
        old = NULL;
    }
    if (old != NULL) {
        c->duplicate = true;
        fog_logf(&n->cfg.log, FOG_LOG_INFO, MOD, "second connection to %s closed (%s)", text,
                 c->inbound ? "inbound" : "outbound");
        if (cb != NULL) {
            cb(c->dial_ud, 0, NULL, fog_slice_make(c->peer, c->peer_len));
        }
        nconn_close(c, 0, "duplicate connection");
        return;
    }
    fog_logf(&n->cfg.log, FOG_LOG_INFO, MOD, "connected to %s (%s %s)", text,
             c->inbound ? "inbound from" : "outbound to", fog_multiaddr_str(&c->remote));
    if (n->obs.connected != NULL) {
        fog_peer_info info;
        node_fill_info(c, &info);
        n->obs.connected(n->obs.ud, &info);
    }
    if (cb != NULL && !c->dying) {
        cb(c->dial_ud, 0, NULL, fog_slice_make(c->peer, c->peer_len));
    } else if (cb != NULL) {
        cb(c->dial_ud, c->err < 0 ? c->err : FOG_ERR_CANCELLED, c->detail, fog_slice_make(NULL, 0));
    }
    if (!c->dying) {
        identify_ask(c);
    }
}

static void on_closed_event(nconn *c, const fog_conn_event *ev)
{
    if (c->dying) {
        return;
    }
    int err = ev->error;
    if (c->muxed && (err == FOG_ERR_LIMIT || err == FOG_ERR_PROTO || err == FOG_ERR_NOMEM)) {
        char text[64];
        node_peer_text(c->peer, c->peer_len, text, sizeof text);
        fog_logf(&c->n->cfg.log, FOG_LOG_WARN, MOD, "dropping peer %s: %s", text, ev->detail);
        if (err == FOG_ERR_LIMIT) {
            c->n->stats.conns_dropped++;
        }
    }
    nconn_fail(c, err, ev->detail);
}

static size_t drain(nconn *c)
{
    size_t k = 0;
    fog_conn_event ev;
    while (c->core != NULL && fog_conn_poll_event(c->core, &ev)) {
        k++;
        switch (ev.kind) {
        case FOG_CONN_EV_CONNECTED:
            on_connected(c, &ev);
            break;
        case FOG_CONN_EV_GOAWAY:
            c->goaway_recv = true;
            break;
        case FOG_CONN_EV_CLOSED:
            on_closed_event(c, &ev);
            break;
        default:
            stream_dispatch(c, &ev);
            break;
        }
    }
    return k;
}

/* ---- teardown ---- */

static void flush_timeout_cb(uv_timer_t *t)
{
    close_handles(t->data);
}

/* Takes c off the node's kick list: it may be freed before the idle handle runs. */
static void unkick(nconn *c)
{
    if (!c->kicked) {
        return;
    }
    for (nconn **pp = &c->n->kick; *pp != NULL; pp = &(*pp)->kick_next) {
        if (*pp == c) {
            *pp = c->kick_next;
            break;
        }
    }
    c->kicked = false;
}

static void teardown(nconn *c)
{
    fog_node *n = c->n;
    c->torn = true;
    unkick(c);
    unlink_conn(c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    char text[64];
    node_peer_text(c->peer, c->peer_len, text, sizeof text);
    int serr = c->err == 0 || c->err == FOG_ERR_IO ? FOG_ERR_CANCELLED : c->err;
    if (c->muxed && !c->duplicate) {
        fog_logf(&n->cfg.log, FOG_LOG_INFO, MOD, "disconnected from %s: %s", text,
                 c->detail[0] != 0 ? c->detail : "closed");
    } else if (!c->muxed) {
        n->stats.conns_failed++;
        fog_logf(&n->cfg.log, FOG_LOG_INFO, MOD, "%s connection %s failed: %s",
                 c->inbound ? "inbound" : "outbound", fog_multiaddr_str(&c->remote), c->detail);
    }
    stream_kill_all(c, serr);
    if (c->dial_cb != NULL) {
        fog_node_dial_cb cb = c->dial_cb;
        c->dial_cb = NULL;
        cb(c->dial_ud, c->err < 0 ? c->err : FOG_ERR_IO, c->detail, fog_slice_make(NULL, 0));
    }
    if (c->muxed && !c->duplicate && n->obs.disconnected != NULL) {
        n->obs.disconnected(n->obs.ud, fog_slice_make(c->peer, c->peer_len), c->err, c->detail);
    }
    uv_timer_stop(&c->timer);
    if (c->tcp_up && (c->write_busy || flush(c))) {
        c->close_after_write = true;
        uv_timer_start(&c->timer, flush_timeout_cb, NODE_CLOSE_FLUSH_MS, 0);
        return;
    }
    close_handles(c);
}

/* ---- the pump ---- */

static void timer_cb(uv_timer_t *t)
{
    nconn *c = t->data;
    if (c->torn) {
        return;
    }
    if (c->core == NULL) {
        nconn_fail(c, FOG_ERR_TIMEOUT, "dial timed out");
    } else {
        /* A failure queues CLOSED. */
        node_ignore(fog_conn_on_timeout(c->core, uv_now(c->n->loop)));
    }
    nconn_process(c);
}

static void arm_timer(nconn *c)
{
    fog_ms dl = c->core != NULL ? fog_conn_deadline(c->core)
                                : (c->tcp_up ? FOG_NEVER : c->dial_deadline);
    if (dl == FOG_NEVER || dl == 0) {
        uv_timer_stop(&c->timer);
        return;
    }
    fog_ms now = uv_now(c->n->loop);
    uv_timer_start(&c->timer, timer_cb, dl > now ? dl - now : 0, 0);
}

void nconn_process(nconn *c)
{
    if (c->torn) {
        return;
    }
    if (c->in_process) {
        c->again = true;
        return;
    }
    c->in_process = true;
    (void)drain(c);
    for (int round = 0;; round++) {
        c->again = false;
        if (c->write_done && !c->dying) {
            c->write_done = false;
            stream_writable(c);
            (void)drain(c);
        }
        if (!c->dying) {
            (void)flush(c);
        }
        size_t k = drain(c);
        if ((k == 0 && !c->again) || c->dying) {
            break;
        }
        if (round >= 64) {
            node_kick(c->n, c); /* let the loop breathe */
            break;
        }
    }
    c->in_process = false;
    stream_sweep(c);
    if (c->dying) {
        teardown(c);
        return;
    }
    arm_timer(c);
}

int nconn_start_core(nconn *c, const uint8_t *expect, size_t expect_len)
{
    fog_node *n = c->n;
    fog_conn_config cfg;
    fog_conn_config_default(&cfg);
    cfg.is_dialer = !c->inbound;
    cfg.identity_secret = n->secret;
    cfg.expected_peer_id = expect_len > 0 ? expect : NULL;
    cfg.expected_peer_id_len = expect_len;
    cfg.protocols = n->proto_ids;
    cfg.n_protocols = n->n_protos;
    cfg.handshake_timeout_ms = c->inbound ? n->cfg.handshake_timeout_ms : n->cfg.dial_timeout_ms;
    cfg.max_streams = n->cfg.max_streams;
    cfg.window_bytes = n->cfg.window_bytes;
    cfg.max_queued_bytes = n->cfg.max_queued_bytes;
    cfg.max_buffered_bytes = n->cfg.max_buffered_bytes;
    cfg.rng.fill = rng_fill;
    cfg.log = n->cfg.log;
    int rc = fog_conn_new(&c->core, &cfg);
    if (rc < 0) {
        return rc;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 0, 0);
    uv_os_fd_t fd;
    if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) == 0) {
        int lowat = SEND_LOWAT; /* best effort: older kernels lack it */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
    }
    rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (rc < 0) {
        return fog_errf(FOG_ERR_IO, "read: %s", uv_strerror(rc));
    }
    c->reading = true;
    nconn_process(c);
    return 0;
}
