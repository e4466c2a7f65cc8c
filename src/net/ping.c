/* ping.c: the libp2p ping protocol on one stream, sans-I/O (libp2p/specs ping/ping.md).
 * Dialer: one 32-byte payload in flight at a time. The echo is compared as it arrives, so a
 * wrong byte fails at once instead of after 32; the round trip runs from fog_ping_send to the
 * feed that brings the last byte. Listener: input is gathered into 32-byte blocks and each full
 * block is queued for output; go-libp2p's PingHandler reads 32 bytes and writes them back the
 * same way. The output queue is capped (max_queued_bytes): a peer that sends faster than the
 * caller writes is refused, not buffered without end.
 * Any failure (wrong echo, unsolicited bytes, queue over its cap, timeout) queues one FAILED
 * event after the PONGs already queued and ends the core; the caller resets the stream.
 */
#include "fog/ping.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVQ_MAX 4

struct fog_ping {
    fog_ping_config cfg;
    int err;                      /* 0, or the failure's code once FAILED is queued */
    bool fail_pending;            /* FAILED waits behind the PONGs in evq */
    fog_ping_event evq[EVQ_MAX];  /* ring of PONGs */
    size_t ev_head;
    size_t ev_count;
    /* dialer */
    bool inflight;
    uint8_t want[FOG_PING_SIZE]; /* the payload sent */
    size_t got;                  /* echo bytes matched so far, < FOG_PING_SIZE */
    fog_ms sent_ms;
    uint64_t seq;
    /* listener */
    uint8_t blk[FOG_PING_SIZE];
    size_t blk_have;
    fog_ms idle_since_ms; /* the last completed block, or initial_ms */
    /* output */
    fog_buf tx; /* pending from tx_off to tx.len */
    size_t tx_off;
};

void fog_ping_config_default(fog_ping_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->echo_timeout_ms = 10 * 1000;
    cfg->idle_timeout_ms = 60 * 1000;
    cfg->max_queued_bytes = 32 * FOG_PING_SIZE;
}

#define ping_log(p, level, ...) fog_logf(&(p)->cfg.log, level, "ping", __VA_ARGS__)

int fog_ping_new(fog_ping **out, const fog_ping_config *cfg)
{
    *out = NULL;
    if (cfg->is_dialer && cfg->rng.fill == NULL) {
        return fog_errf(FOG_ERR_INVALID, "ping: a dialer needs an rng");
    }
    fog_ping *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return FOG_ERR_NOMEM;
    }
    p->cfg = *cfg;
    p->idle_since_ms = cfg->initial_ms;
    fog_buf_init(&p->tx);
    *out = p;
    return 0;
}

void fog_ping_free(fog_ping *p)
{
    if (p == NULL) {
        return;
    }
    fog_buf_clear(&p->tx);
    free(p);
}

/* Ends the core: FAILED is queued behind the PONGs and every later call returns rc. */
static int fail(fog_ping *p, int rc)
{
    p->err = rc;
    p->fail_pending = true;
    p->inflight = false;
    ping_log(p, FOG_LOG_DEBUG, "failed: %s", fog_err_detail(rc));
    return rc;
}

int fog_ping_send(fog_ping *p, fog_ms now)
{
    if (p->err < 0) {
        return p->err;
    }
    if (!p->cfg.is_dialer || p->inflight) {
        return FOG_ERR_INVALID;
    }
    if (p->ev_count == EVQ_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "ping: %d results not yet polled", EVQ_MAX);
    }
    p->cfg.rng.fill(p->cfg.rng.ctx, p->want, sizeof p->want);
    int rc = fog_buf_append(&p->tx, p->want, sizeof p->want);
    if (rc < 0) {
        return rc;
    }
    p->inflight = true;
    p->got = 0;
    p->sent_ms = now;
    p->seq++;
    return 0;
}

static void pong(fog_ping *p, fog_ms now)
{
    fog_ping_event *ev = &p->evq[(p->ev_head + p->ev_count) % EVQ_MAX];
    memset(ev, 0, sizeof *ev);
    ev->kind = FOG_PING_EV_PONG;
    ev->rtt_ms = now >= p->sent_ms ? now - p->sent_ms : 0;
    ev->seq = p->seq;
    p->ev_count++; /* fog_ping_send keeps one slot free for each ping in flight */
    p->inflight = false;
    ping_log(p, FOG_LOG_DEBUG, "pong %llu after %llu ms", (unsigned long long)ev->seq,
             (unsigned long long)ev->rtt_ms);
}

static int feed_dialer(fog_ping *p, fog_reader *r, fog_ms now)
{
    while (r->left > 0) {
        if (!p->inflight) {
            return fog_errf(FOG_ERR_PROTO, "ping: %zu bytes while no ping is in flight", r->left);
        }
        size_t want = FOG_PING_SIZE - p->got;
        size_t n = want < r->left ? want : r->left;
        fog_slice s;
        fog_reader_bytes(r, n, &s);
        if (r->err < 0) {
            return r->err;
        }
        if (memcmp(p->want + p->got, s.p, n) != 0) {
            return fog_errf(FOG_ERR_PROTO, "ping: the echo differs from the payload sent");
        }
        p->got += n;
        if (p->got == FOG_PING_SIZE) {
            pong(p, now);
        }
    }
    return 0;
}

static int feed_listener(fog_ping *p, fog_reader *r, fog_ms now)
{
    while (r->left > 0) {
        size_t want = FOG_PING_SIZE - p->blk_have;
        size_t n = want < r->left ? want : r->left;
        fog_slice s;
        fog_reader_bytes(r, n, &s);
        if (r->err < 0) {
            return r->err;
        }
        memcpy(p->blk + p->blk_have, s.p, n);
        p->blk_have += n;
        if (p->blk_have < FOG_PING_SIZE) {
            break;
        }
        p->blk_have = 0;
        size_t pending = p->tx.len - p->tx_off;
        if (FOG_PING_SIZE > p->cfg.max_queued_bytes ||
            pending > p->cfg.max_queued_bytes - FOG_PING_SIZE) {
            return fog_errf(FOG_ERR_LIMIT, "ping: over %zu echo bytes not yet written",
                            p->cfg.max_queued_bytes);
        }
        int rc = fog_buf_append(&p->tx, p->blk, sizeof p->blk);
        if (rc < 0) {
            return rc;
        }
        p->idle_since_ms = now;
    }
    return 0;
}

int fog_ping_feed(fog_ping *p, const uint8_t *in, size_t in_len, fog_ms now)
{
    if (p->err < 0) {
        return p->err;
    }
    fog_reader r;
    fog_reader_init(&r, in, in_len);
    int rc = p->cfg.is_dialer ? feed_dialer(p, &r, now) : feed_listener(p, &r, now);
    return rc < 0 ? fail(p, rc) : 0;
}

bool fog_ping_poll_event(fog_ping *p, fog_ping_event *ev_out)
{
    if (p->ev_count > 0) {
        *ev_out = p->evq[p->ev_head];
        p->ev_head = (p->ev_head + 1) % EVQ_MAX;
        p->ev_count--;
        return true;
    }
    if (p->fail_pending) {
        memset(ev_out, 0, sizeof *ev_out);
        ev_out->kind = FOG_PING_EV_FAILED;
        ev_out->err = p->err;
        p->fail_pending = false;
        return true;
    }
    return false;
}

int fog_ping_pull(fog_ping *p, uint8_t *dst, size_t cap, size_t *len_out, fog_ms now)
{
    (void)now;
    *len_out = 0;
    if (p->err < 0) {
        return p->err;
    }
    size_t pending = p->tx.len - p->tx_off;
    size_t n = pending < cap ? pending : cap;
    if (n > 0) {
        memcpy(dst, p->tx.p + p->tx_off, n);
    }
    p->tx_off += n;
    if (p->tx_off == p->tx.len) {
        fog_buf_reset(&p->tx);
        p->tx_off = 0;
    }
    *len_out = n;
    return 0;
}

static fog_ms add_ms(fog_ms a, fog_ms b)
{
    return b > FOG_NEVER - a ? FOG_NEVER : a + b;
}

fog_ms fog_ping_deadline(const fog_ping *p)
{
    if (p->err < 0) {
        return FOG_NEVER;
    }
    if (p->cfg.is_dialer) {
        return p->inflight ? add_ms(p->sent_ms, p->cfg.echo_timeout_ms) : FOG_NEVER;
    }
    if (p->cfg.idle_timeout_ms == 0) {
        return FOG_NEVER;
    }
    return add_ms(p->idle_since_ms, p->cfg.idle_timeout_ms);
}

int fog_ping_on_timeout(fog_ping *p, fog_ms now)
{
    fog_ms due = fog_ping_deadline(p);
    if (due == FOG_NEVER || now < due) {
        return 0;
    }
    if (p->cfg.is_dialer) {
        (void)fail(p, fog_errf(FOG_ERR_TIMEOUT, "ping: no echo within %llu ms",
                               (unsigned long long)p->cfg.echo_timeout_ms));
    } else {
        (void)fail(p, fog_errf(FOG_ERR_TIMEOUT, "ping: no ping within %llu ms",
                               (unsigned long long)p->cfg.idle_timeout_ms));
    }
    return 0; /* the failure is reported by the FAILED event, not to the timer's caller */
}
