/* builtin.c: the protocols every fog node serves: ping (/ipfs/ping/1.0.0, answering and
 * fog_node_ping) and the interop test protocols of tests/interop/js-peer (/fog/echo/1.0.0:
 * echo every byte, close after the peer's FIN; /fog/bench/1.0.0: count until FIN, answer the
 * count as 8 bytes big-endian). Identify lives in identify_node.c. PROTOCOLS.md 3.6.
 * The echo handler never copies in the common case: it writes what it is lent in 64 KiB pieces
 * and keeps (and holds against the peer's window) only what the stream's output queue refused,
 * retrying in on_writable. A ping answer is an echo: the 32-byte blocks come back as they came.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/crypto.h"
#include "fog/ping.h"
#include "internal.h"

#define ECHO_CHUNK (64u * 1024u)

/* ---- echo (also the ping answer) ---- */

typedef struct {
    fog_buf pending; /* bytes the output refused, all held against the window */
    bool fin;
} echo_st;

static void echo_open(fog_stream *s)
{
    echo_st *e = calloc(1, sizeof *e);
    if (e == NULL) {
        fog_stream_reset(s);
        return;
    }
    fog_stream_set_ud(s, e);
}

static void echo_fail(fog_stream *s, echo_st *e)
{
    fog_stream_reset(s); /* no on_close follows: free the state here */
    fog_buf_clear(&e->pending);
    free(e);
    fog_stream_set_ud(s, NULL);
}

/* Writes as much of p[0..len) as the stream takes; returns how much, or SIZE_MAX after a
 * failure (the stream is reset and e freed). */
static size_t echo_push(fog_stream *s, echo_st *e, const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t k = len - off < ECHO_CHUNK ? len - off : ECHO_CHUNK;
        int rc = fog_stream_write(s, p + off, k);
        if (rc == FOG_ERR_LIMIT) {
            break;
        }
        if (rc < 0) {
            echo_fail(s, e);
            return SIZE_MAX;
        }
        off += k;
    }
    return off;
}

static void echo_maybe_close(fog_stream *s, echo_st *e)
{
    if (e->fin && e->pending.len == 0) {
        node_ignore(fog_stream_close(s));
    }
}

static size_t echo_data(fog_stream *s, const uint8_t *data, size_t len)
{
    echo_st *e = fog_stream_ud(s);
    if (e == NULL) {
        return 0;
    }
    size_t off = e->pending.len > 0 ? 0 : echo_push(s, e, data, len);
    if (off == SIZE_MAX) {
        return 0;
    }
    if (off < len && fog_buf_append(&e->pending, data + off, len - off) < 0) {
        echo_fail(s, e);
        return 0;
    }
    return len - off;
}

static void echo_writable(fog_stream *s)
{
    echo_st *e = fog_stream_ud(s);
    if (e == NULL || e->pending.len == 0) {
        return;
    }
    size_t done = echo_push(s, e, e->pending.p, e->pending.len);
    if (done == SIZE_MAX) {
        return;
    }
    if (done > 0) {
        memmove(e->pending.p, e->pending.p + done, e->pending.len - done);
        e->pending.len -= done;
        fog_stream_release(s, done);
    }
    echo_maybe_close(s, e);
}

static void echo_fin(fog_stream *s)
{
    echo_st *e = fog_stream_ud(s);
    if (e != NULL) {
        e->fin = true;
        echo_maybe_close(s, e);
    }
}

static void echo_close(fog_stream *s, int err)
{
    (void)err;
    echo_st *e = fog_stream_ud(s);
    if (e != NULL) {
        fog_buf_clear(&e->pending);
        free(e);
        fog_stream_set_ud(s, NULL);
    }
}

static const fog_stream_handler echo_handler = {echo_open, echo_data, echo_fin, echo_writable,
                                                echo_close};

/* ---- bench ---- */

static void bench_open(fog_stream *s)
{
    uint64_t *count = calloc(1, sizeof *count);
    if (count == NULL) {
        fog_stream_reset(s);
        return;
    }
    fog_stream_set_ud(s, count);
}

static size_t bench_data(fog_stream *s, const uint8_t *data, size_t len)
{
    (void)data;
    uint64_t *count = fog_stream_ud(s);
    if (count != NULL) {
        *count += len;
    }
    return 0;
}

static void bench_fin(fog_stream *s)
{
    uint64_t *count = fog_stream_ud(s);
    if (count == NULL) {
        return;
    }
    uint8_t be[8];
    for (int i = 0; i < 8; i++) {
        be[i] = (uint8_t)(*count >> (56 - 8 * i));
    }
    if (fog_stream_write(s, be, sizeof be) < 0 || fog_stream_close(s) < 0) {
        fog_stream_reset(s);
        free(count);
        fog_stream_set_ud(s, NULL);
    }
}

static void bench_close(fog_stream *s, int err)
{
    (void)err;
    free(fog_stream_ud(s));
    fog_stream_set_ud(s, NULL);
}

static const fog_stream_handler bench_handler = {bench_open, bench_data, bench_fin, NULL,
                                                 bench_close};

/* ---- ping, asking ---- */

typedef struct {
    fog_node *n;
    nconn *c;
    fog_stream *s;
    uv_timer_t timer;
    fog_node_ping_cb cb;
    void *ud;
    uint64_t t0;
    uint8_t sent[FOG_PING_SIZE], got[FOG_PING_SIZE];
    size_t n_got;
    bool done;
    int refs; /* the stream and the timer */
} ping_st;

static void ping_unref(ping_st *p)
{
    if (--p->refs == 0) {
        free(p);
    }
}

static void ping_timer_closed(uv_handle_t *h)
{
    ping_st *p = h->data;
    fog_node *n = p->n;
    ping_unref(p);
    node_handle_closed(n);
}

static void ping_finish(ping_st *p, int err, uint64_t rtt_us)
{
    if (p->done) {
        return;
    }
    p->done = true;
    uv_close((uv_handle_t *)&p->timer, ping_timer_closed);
    p->cb(p->ud, err, rtt_us);
}

static void ping_timeout(uv_timer_t *t)
{
    ping_st *p = t->data;
    fog_stream *s = p->s;
    if (s != NULL) {
        p->s = NULL;
        fog_stream_reset(s);
        ping_unref(p); /* no on_close follows a reset */
    }
    ping_finish(p, fog_errf(FOG_ERR_TIMEOUT, "no ping echo in 10 s"), 0);
}

static size_t ping_data(fog_stream *s, const uint8_t *data, size_t len)
{
    ping_st *p = fog_stream_ud(s);
    if (p->done || len > FOG_PING_SIZE - p->n_got) {
        fog_stream_reset(s);
        p->s = NULL;
        ping_finish(p, fog_errf(FOG_ERR_PROTO, "ping: unexpected bytes"), 0);
        ping_unref(p);
        return 0;
    }
    memcpy(p->got + p->n_got, data, len);
    p->n_got += len;
    if (p->n_got < FOG_PING_SIZE) {
        return 0;
    }
    if (memcmp(p->got, p->sent, FOG_PING_SIZE) != 0) {
        fog_stream_reset(s);
        p->s = NULL;
        ping_finish(p, fog_errf(FOG_ERR_PROTO, "ping: wrong echo"), 0);
        ping_unref(p);
        return 0;
    }
    uint64_t rtt = (uv_hrtime() - p->t0) / 1000u;
    p->c->latency_us = rtt > 0 ? rtt : 1;
    node_ignore(fog_stream_close(s));
    ping_finish(p, 0, p->c->latency_us);
    return 0;
}

static void ping_close(fog_stream *s, int err)
{
    ping_st *p = fog_stream_ud(s);
    p->s = NULL;
    if (err == 0) {
        err = fog_errf(FOG_ERR_CANCELLED, "ping stream closed without an echo");
    } else if (err != FOG_ERR_UNSUPPORTED) {
        err = FOG_ERR_CANCELLED;
    }
    ping_finish(p, err, 0);
    ping_unref(p);
}

static const fog_stream_handler ping_handler = {NULL, ping_data, NULL, NULL, ping_close};

int ping_start(fog_node *n, nconn *c, fog_node_ping_cb cb, void *ud)
{
    ping_st *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return FOG_ERR_NOMEM;
    }
    p->n = n;
    p->c = c;
    p->cb = cb;
    p->ud = ud;
    fog_random_bytes(p->sent, sizeof p->sent);
    int rc = stream_open(c, FOG_PING_PROTOCOL_ID, &ping_handler, p, &p->s);
    rc = rc < 0 ? rc : fog_stream_write(p->s, p->sent, sizeof p->sent);
    if (rc < 0) {
        if (p->s != NULL) {
            fog_stream_reset(p->s);
        }
        free(p);
        return rc;
    }
    p->t0 = uv_hrtime();
    p->refs = 2;
    uv_timer_init(n->loop, &p->timer);
    p->timer.data = p;
    n->handles++;
    uv_timer_start(&p->timer, ping_timeout, NODE_PING_TIMEOUT_MS, 0);
    return 0;
}

/* ---- registration ---- */

int builtin_register(fog_node *n)
{
    int rc = fog_node_handle(n, FOG_PING_PROTOCOL_ID, &echo_handler, n);
    rc = rc < 0 ? rc : identify_register(n);
    if (rc == 0 && n->cfg.test_protocols) {
        rc = fog_node_handle(n, FOG_ECHO_PROTO, &echo_handler, n);
        rc = rc < 0 ? rc : fog_node_handle(n, FOG_BENCH_PROTO, &bench_handler, n);
    }
    return rc;
}
