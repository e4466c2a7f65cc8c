/* conn.c: one libp2p connection, sans-I/O: the upgrade chain, output, timers and events.
 * PROTOCOLS.md 3 intro; libp2p/specs connections/README.md ("Protocol negotiation", "Upgrading
 * connections") and connections/inlined-muxer-negotiation.md.
 * The stages run one after another, each stage one core: mss_sec (plain TCP) -> noise ->
 * mss_mux (inside Noise; skipped when Noise's extensions agreed on yamux) -> yamux. Input goes
 * to the stage in charge; when a core finishes, the bytes it kept after its last message
 * (fog_mss_leftover, or Noise DATA) are fed to the next core at once, before later input.
 * Output is pulled in the same order: the plain mss first (its last message, the listener's
 * echo, must precede Noise message 2), then Noise; the encrypted mss and yamux write their
 * output through fog_noise_write, the mss first, only while Noise's queue is short (so yamux's
 * flow control, not this file, holds the bulk of unsent data).
 * Events are queued in evq, each owning its bytes; poll_event moves them to `lent`. Streams
 * live in conn_stream.c.
 */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "fog/crypto.h"

#define MUX_ID FOG_YAMUX_PROTOCOL_ID
/* Plaintext moved from yamux into Noise per pull while Noise holds less than this. */
#define NOISE_LOW_WATER (256u * 1024u)

static const char *const default_muxers[] = {MUX_ID};
static const char *const sec_ids[] = {FOG_NOISE_PROTOCOL_ID};
static const char *const mux_ids[] = {MUX_ID};

void fog_conn_config_default(fog_conn_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    fog_yamux_config y;
    fog_yamux_config_default(&y);
    cfg->muxers = default_muxers;
    cfg->muxer_count = 1;
    cfg->handshake_timeout_ms = 10000;
    cfg->max_streams = y.max_streams;
    cfg->window_bytes = y.window_bytes;
    cfg->keepalive_ms = y.keepalive_ms;
    cfg->max_queued_bytes = y.max_queued_bytes;
    cfg->max_buffered_bytes = y.max_buffered_bytes;
    cfg->max_events = 8192;
}

/* ---- events ---- */

int conn_push(fog_conn *c, fog_conn_ev_kind kind, uint32_t id, int error, const void *data,
              size_t len)
{
    if (kind == FOG_CONN_EV_STREAM_DATA && c->ev_len > c->ev_head) {
        cevent *t = &c->evq[c->ev_len - 1];
        if (t->kind == kind && t->stream_id == id) {
            return fog_buf_append(&t->data, data, len);
        }
    }
    if (c->ev_head > 0 && c->ev_head == c->ev_len) {
        c->ev_head = c->ev_len = 0;
    }
    /* CLOSED always finds room: it is the last event. */
    if (c->ev_len - c->ev_head >= c->cfg.max_events && kind != FOG_CONN_EV_CLOSED) {
        return fog_errf(FOG_ERR_LIMIT, "conn: more than %zu events queued", c->cfg.max_events);
    }
    if (c->ev_len == c->ev_cap) {
        size_t cap = c->ev_cap == 0 ? 16 : c->ev_cap * 2;
        cevent *q = realloc(c->evq, cap * sizeof *q);
        if (q == NULL) {
            return FOG_ERR_NOMEM;
        }
        c->evq = q;
        c->ev_cap = cap;
    }
    cevent *e = &c->evq[c->ev_len];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->stream_id = id;
    e->error = error;
    fog_buf_init(&e->data);
    int rc = 0;
    if (kind == FOG_CONN_EV_STREAM_DATA) {
        rc = fog_buf_append(&e->data, data, len);
    } else if (data != NULL) {
        rc = fog_buf_append(&e->data, data, len);
        rc = rc < 0 ? rc : fog_buf_u8(&e->data, 0); /* NUL-terminated text */
    }
    if (rc < 0) {
        fog_buf_clear(&e->data);
        return rc;
    }
    c->ev_len++;
    return 0;
}

bool fog_conn_poll_event(fog_conn *c, fog_conn_event *ev_out)
{
    fog_buf_clear(&c->lent);
    /* yamux also queues events while it writes (a stream ends once our FIN is out). */
    int rc = c->stage == CS_MUXED ? conn_drain_yamux(c) : 0;
    if (rc < 0) {
        (void)conn_fail(c, rc);
    }
    if (c->ev_head >= c->ev_len) {
        return false;
    }
    cevent *e = &c->evq[c->ev_head++];
    c->lent = e->data;
    fog_buf_init(&e->data);
    memset(ev_out, 0, sizeof *ev_out);
    ev_out->kind = e->kind;
    ev_out->stream_id = e->stream_id;
    ev_out->inbound = e->inbound;
    ev_out->error = e->error;
    const char *text = c->lent.len > 0 ? (const char *)c->lent.p : "";
    switch (e->kind) {
    case FOG_CONN_EV_CONNECTED:
        ev_out->protocol = MUX_ID;
        ev_out->peer_id = fog_slice_make(c->peer_id, c->peer_id_len);
        break;
    case FOG_CONN_EV_STREAM_OPENED:
        ev_out->protocol = text;
        break;
    case FOG_CONN_EV_STREAM_DATA:
        ev_out->data = fog_slice_make(c->lent.p, c->lent.len);
        break;
    case FOG_CONN_EV_CLOSED:
        ev_out->detail = text;
        break;
    default:
        break;
    }
    return true;
}

/* Makes the connection dead with rc (a negative fog_err) and queues CLOSED; returns rc. */
int conn_fail(fog_conn *c, int rc)
{
    if (c->stage == CS_DEAD) {
        return c->err;
    }
    const char *d = fog_err_detail(rc);
    char detail[256];
    size_t n = strlen(d);
    n = n < sizeof detail - 1 ? n : sizeof detail - 1;
    memcpy(detail, d, n);
    detail[n] = 0;
    c->flush_ok = c->yamux != NULL && c->noise != NULL && fog_noise_is_done(c->noise);
    c->stage = CS_DEAD;
    c->err = rc;
    if (conn_push(c, FOG_CONN_EV_CLOSED, 0, rc, detail, n) < 0) {
        c->flush_ok = false; /* no memory for the event: the caller still gets rc */
    }
    return rc;
}

/* ---- life cycle ---- */

static int check_cfg(const fog_conn_config *cfg)
{
    if (cfg->identity_secret == NULL || cfg->rng.fill == NULL || cfg->max_events == 0) {
        return fog_errf(FOG_ERR_INVALID, "conn: identity, rng and max_events are required");
    }
    if (cfg->expected_peer_id_len > FOG_NOISE_PEER_ID_MAX ||
        (cfg->expected_peer_id == NULL && cfg->expected_peer_id_len > 0)) {
        return fog_errf(FOG_ERR_INVALID, "conn: expected peer ID too long");
    }
    if (cfg->muxer_count > 0 && cfg->muxers == NULL) {
        return fog_errf(FOG_ERR_INVALID, "conn: muxer list missing");
    }
    for (size_t i = 0; i < cfg->muxer_count; i++) {
        if (cfg->muxers[i] == NULL || strcmp(cfg->muxers[i], MUX_ID) != 0) {
            return fog_errf(FOG_ERR_INVALID, "conn: only %s is supported as muxer", MUX_ID);
        }
    }
    if (cfg->n_protocols > FOG_MSS_PROTOCOLS_MAX ||
        (cfg->n_protocols > 0 && cfg->protocols == NULL)) {
        return fog_errf(FOG_ERR_INVALID, "conn: bad protocol list");
    }
    for (size_t i = 0; i < cfg->n_protocols; i++) {
        if (cfg->protocols[i] == NULL) {
            return fog_errf(FOG_ERR_INVALID, "conn: NULL protocol ID");
        }
    }
    return 0;
}

static int copy_protocols(fog_conn *c, const fog_conn_config *cfg)
{
    if (cfg->n_protocols == 0) {
        return 0;
    }
    c->protocols = calloc(cfg->n_protocols, sizeof *c->protocols);
    if (c->protocols == NULL) {
        return FOG_ERR_NOMEM;
    }
    for (size_t i = 0; i < cfg->n_protocols; i++) {
        size_t n = strlen(cfg->protocols[i]);
        if (n == 0 || n >= FOG_MSS_MSG_MAX || memchr(cfg->protocols[i], '\n', n) != NULL) {
            return fog_errf(FOG_ERR_INVALID, "conn: bad protocol ID");
        }
        c->protocols[i] = malloc(n + 1);
        if (c->protocols[i] == NULL) {
            return FOG_ERR_NOMEM;
        }
        memcpy(c->protocols[i], cfg->protocols[i], n + 1);
    }
    c->cfg.protocols = (const char *const *)c->protocols;
    return 0;
}

static int start_mss_sec(fog_conn *c)
{
    fog_mss_config mc;
    fog_mss_config_default(&mc);
    mc.is_dialer = c->cfg.is_dialer;
    mc.protocols = sec_ids;
    mc.n_protocols = 1;
    mc.log = c->cfg.log;
    c->stage = CS_MSS_SEC;
    return fog_mss_new(&c->mss_sec, &mc);
}

int fog_conn_new(fog_conn **out, const fog_conn_config *cfg)
{
    *out = NULL;
    int rc = check_cfg(cfg);
    if (rc < 0) {
        return rc;
    }
    fog_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return FOG_ERR_NOMEM;
    }
    c->cfg = *cfg;
    c->cfg.protocols = NULL;
    c->cfg.n_protocols = 0;
    memcpy(c->secret, cfg->identity_secret, sizeof c->secret);
    c->cfg.identity_secret = c->secret;
    if (cfg->expected_peer_id_len > 0) {
        memcpy(c->expected, cfg->expected_peer_id, cfg->expected_peer_id_len);
    }
    c->cfg.expected_peer_id = cfg->expected_peer_id_len > 0 ? c->expected : NULL;
    /* Every listed muxer is MUX_ID (check_cfg): the static list stands for the copy. */
    c->cfg.muxers = cfg->muxer_count > 0 ? default_muxers : NULL;
    c->cfg.muxer_count = cfg->muxer_count > 0 ? 1 : 0;
    fog_buf_init(&c->lent);
    rc = copy_protocols(c, cfg);
    c->cfg.n_protocols = cfg->n_protocols;
    if (rc == 0) {
        c->tmp = malloc(FOG_NOISE_PLAINTEXT_MAX);
        rc = c->tmp == NULL ? FOG_ERR_NOMEM : start_mss_sec(c);
    }
    if (rc < 0) {
        fog_conn_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void fog_conn_free(fog_conn *c)
{
    if (c == NULL) {
        return;
    }
    conn_streams_free(c);
    fog_mss_free(c->mss_sec);
    fog_noise_free(c->noise);
    fog_mss_free(c->mss_mux);
    fog_yamux_free(c->yamux);
    for (size_t i = 0; c->protocols != NULL && i < c->cfg.n_protocols; i++) {
        free(c->protocols[i]);
    }
    free(c->protocols);
    for (size_t i = c->ev_head; i < c->ev_len; i++) {
        fog_buf_clear(&c->evq[i].data);
    }
    free(c->evq);
    fog_buf_clear(&c->lent);
    free(c->tmp);
    fog_memzero(c->secret, sizeof c->secret);
    free(c);
}

bool fog_conn_is_connected(const fog_conn *c)
{
    return c->stage == CS_MUXED;
}

size_t fog_conn_queued_bytes(const fog_conn *c)
{
    if (c->stage != CS_MUXED || c->yamux == NULL) {
        return 0;
    }
    return fog_yamux_queued_bytes(c->yamux) + (c->noise != NULL ? fog_noise_queued(c->noise) : 0);
}

/* ---- the upgrade, one function per stage ---- */

static int start_yamux(fog_conn *c)
{
    fog_yamux_config yc;
    fog_yamux_config_default(&yc);
    yc.is_initiator = c->cfg.is_dialer;
    yc.max_streams = c->cfg.max_streams;
    yc.window_bytes = c->cfg.window_bytes;
    yc.keepalive_ms = c->cfg.keepalive_ms;
    yc.max_queued_bytes = c->cfg.max_queued_bytes;
    yc.max_buffered_bytes = c->cfg.max_buffered_bytes;
    yc.rng = c->cfg.rng;
    yc.log = c->cfg.log;
    int rc = fog_yamux_new(&c->yamux, &yc);
    if (rc < 0) {
        return rc;
    }
    c->stage = CS_MUXED;
    return conn_push(c, FOG_CONN_EV_CONNECTED, 0, 0, NULL, 0);
}

/* Noise plaintext: to the encrypted mss, or to yamux once it runs. */
static int on_plain(fog_conn *c, const uint8_t *p, size_t len, fog_ms now)
{
    if (c->stage == CS_MUXED) {
        int rc = fog_yamux_feed(c->yamux, p, len, now);
        return rc < 0 ? rc : conn_drain_yamux(c);
    }
    if (c->stage != CS_MSS_MUX) {
        return fog_errf(FOG_ERR_PROTO, "conn: transport data before the handshake ended");
    }
    int rc = fog_mss_feed(c->mss_mux, p, len, now);
    fog_mss_event ev;
    while (rc == 0 && fog_mss_poll_event(c->mss_mux, &ev)) {
        if (ev.kind == FOG_MSS_EV_FAILED) {
            return fog_errf(FOG_ERR_UNSUPPORTED, "conn: the peer refused muxer %s", MUX_ID);
        }
        rc = start_yamux(c);
        fog_slice left = fog_mss_leftover(c->mss_mux);
        if (rc == 0 && left.len > 0) {
            rc = fog_yamux_feed(c->yamux, left.p, left.len, now);
            rc = rc < 0 ? rc : conn_drain_yamux(c);
        }
        fog_mss_leftover_clear(c->mss_mux);
    }
    return rc;
}

static int on_secured(fog_conn *c, const fog_noise_event *ev)
{
    if (ev->peer_id.len > sizeof c->peer_id) {
        return fog_errf(FOG_ERR_PROTO, "conn: peer ID too long");
    }
    memcpy(c->peer_id, ev->peer_id.p, ev->peer_id.len);
    c->peer_id_len = ev->peer_id.len;
    if (ev->muxer != NULL) {
        if (strcmp(ev->muxer, MUX_ID) != 0) {
            return fog_errf(FOG_ERR_UNSUPPORTED, "conn: muxer %s not supported", ev->muxer);
        }
        return start_yamux(c);
    }
    fog_mss_config mc;
    fog_mss_config_default(&mc);
    mc.is_dialer = c->cfg.is_dialer;
    mc.protocols = mux_ids;
    mc.n_protocols = 1;
    mc.log = c->cfg.log;
    c->stage = CS_MSS_MUX;
    return fog_mss_new(&c->mss_mux, &mc);
}

static int feed_noise(fog_conn *c, const uint8_t *in, size_t len, fog_ms now)
{
    int rc = fog_noise_feed(c->noise, in, len, now);
    fog_noise_event ev;
    while (rc == 0 && c->stage != CS_DEAD && fog_noise_poll_event(c->noise, &ev)) {
        if (ev.kind == FOG_NOISE_EV_HANDSHAKE_DONE) {
            rc = on_secured(c, &ev);
        } else {
            rc = on_plain(c, ev.data.p, ev.data.len, now);
        }
    }
    return rc;
}

static int start_noise(fog_conn *c, fog_ms now)
{
    fog_noise_config nc;
    fog_noise_config_default(&nc);
    nc.is_initiator = c->cfg.is_dialer;
    nc.identity_secret = c->secret;
    nc.expected_peer_id = c->cfg.expected_peer_id;
    nc.expected_peer_id_len = c->cfg.expected_peer_id_len;
    nc.muxers = c->cfg.muxers;
    nc.muxer_count = c->cfg.muxer_count;
    nc.rng = c->cfg.rng;
    nc.log = c->cfg.log;
    int rc = fog_noise_new(&c->noise, &nc);
    if (rc < 0) {
        return rc;
    }
    c->stage = CS_NOISE;
    fog_slice left = fog_mss_leftover(c->mss_sec);
    if (left.len > 0) {
        rc = feed_noise(c, left.p, left.len, now);
    }
    fog_mss_leftover_clear(c->mss_sec);
    return rc;
}

static int feed_mss_sec(fog_conn *c, const uint8_t *in, size_t len, fog_ms now)
{
    int rc = fog_mss_feed(c->mss_sec, in, len, now);
    fog_mss_event ev;
    while (rc == 0 && fog_mss_poll_event(c->mss_sec, &ev)) {
        if (ev.kind == FOG_MSS_EV_FAILED) {
            return fog_errf(FOG_ERR_UNSUPPORTED, "conn: the peer refused %s",
                            FOG_NOISE_PROTOCOL_ID);
        }
        rc = start_noise(c, now);
    }
    return rc;
}

static void start_clock(fog_conn *c, fog_ms now)
{
    if (c->clock_started) {
        return;
    }
    c->clock_started = true;
    fog_ms t = c->cfg.handshake_timeout_ms;
    c->hs_deadline = t == 0 || now > FOG_NEVER - t ? FOG_NEVER : now + t;
}

int fog_conn_feed(fog_conn *c, const uint8_t *in, size_t in_len, fog_ms now)
{
    if (c->stage == CS_DEAD) {
        return c->err;
    }
    start_clock(c, now);
    int rc = c->stage == CS_MSS_SEC ? feed_mss_sec(c, in, in_len, now)
                                    : feed_noise(c, in, in_len, now);
    return rc < 0 ? conn_fail(c, rc) : 0;
}

/* ---- output ---- */

/* Moves plaintext output (encrypted mss first, then yamux) into Noise. */
static int pump_plain(fog_conn *c, fog_ms now)
{
    size_t n = 0;
    int rc = 0;
    if (c->mss_mux != NULL) {
        do {
            rc = fog_mss_pull(c->mss_mux, c->tmp, FOG_NOISE_PLAINTEXT_MAX, &n, now);
            rc = rc < 0 || n == 0 ? rc : fog_noise_write(c->noise, c->tmp, n);
        } while (rc == 0 && n > 0);
        if (rc < 0 || !fog_mss_done(c->mss_mux)) {
            return rc;
        }
        fog_mss_free(c->mss_mux);
        c->mss_mux = NULL;
    }
    if (c->yamux == NULL) {
        return 0;
    }
    if (c->stage != CS_DEAD && c->any_pend) {
        rc = conn_flush_pending(c);
    }
    while (rc == 0 && fog_noise_queued(c->noise) < NOISE_LOW_WATER) {
        rc = fog_yamux_pull(c->yamux, c->tmp, FOG_NOISE_PLAINTEXT_MAX, &n, now);
        if (rc < 0 && c->stage == CS_DEAD) {
            return 0; /* yamux's GoAway is out; its error is already ours */
        }
        if (rc < 0 || n == 0) {
            break;
        }
        rc = fog_noise_write(c->noise, c->tmp, n);
    }
    return rc;
}

/* The fast path once the muxer runs and Noise has nothing queued: yamux frames are written
 * straight into dst behind room for Noise's length prefix and sealed in place, so stream bytes
 * are copied once (from yamux's stream buffer) instead of three times. */
static int pull_direct(fog_conn *c, uint8_t *dst, size_t cap, size_t *got, fog_ms now)
{
    const size_t frame_max = 2 + FOG_NOISE_MSG_MAX;
    const size_t tag = FOG_NOISE_MSG_MAX - FOG_NOISE_PLAINTEXT_MAX;
    int rc = 0;
    if (c->stage == CS_MUXED && c->any_pend) {
        rc = conn_flush_pending(c);
    }
    while (rc == 0 && c->stage == CS_MUXED && c->mss_mux == NULL &&
           fog_noise_queued(c->noise) == 0 && cap - *got >= frame_max) {
        uint8_t *frame = dst + *got;
        size_t n = 0;
        rc = fog_yamux_pull(c->yamux, frame + 2, FOG_NOISE_PLAINTEXT_MAX, &n, now);
        if (rc < 0 || n == 0) {
            break;
        }
        rc = fog_noise_seal_frame(c->noise, frame, n);
        *got += rc < 0 ? 0 : 2 + n + tag;
    }
    return rc;
}

static int pull_sec(fog_conn *c, uint8_t *dst, size_t cap, size_t *got, fog_ms now)
{
    if (c->mss_sec == NULL) {
        return 0;
    }
    int rc = fog_mss_pull(c->mss_sec, dst, cap, got, now);
    if (rc == 0 && fog_mss_done(c->mss_sec) && !fog_mss_want_write(c->mss_sec)) {
        fog_mss_free(c->mss_sec);
        c->mss_sec = NULL;
    }
    return rc;
}

int fog_conn_pull(fog_conn *c, uint8_t *dst, size_t cap, size_t *len_out, fog_ms now)
{
    *len_out = 0;
    if (c->stage == CS_DEAD && !c->flush_ok) {
        return c->err;
    }
    start_clock(c, now);
    size_t got = 0;
    int rc = c->stage == CS_DEAD ? 0 : pull_sec(c, dst, cap, &got, now);
    while (rc == 0 && c->mss_sec == NULL && c->noise != NULL && got < cap) {
        size_t n = 0;
        if (fog_noise_is_done(c->noise) && fog_noise_queued(c->noise) == 0) {
            size_t before = got;
            rc = pull_direct(c, dst, cap, &got, now);
            if (rc < 0 || got > before) {
                break; /* whole sealed frames only: dst's tail may stay unused */
            }
        }
        if (fog_noise_is_done(c->noise)) {
            rc = pump_plain(c, now);
        }
        rc = rc < 0 ? rc : fog_noise_pull(c->noise, dst + got, cap - got, &n, now);
        got += n;
        if (n == 0) {
            break;
        }
    }
    *len_out = got;
    if (rc < 0) {
        rc = conn_fail(c, rc);
        c->flush_ok = false; /* the failure was in the output path itself */
        return rc;
    }
    return c->stage == CS_DEAD && got == 0 ? c->err : 0;
}

/* ---- timers ---- */

fog_ms fog_conn_deadline(const fog_conn *c)
{
    if (c->stage == CS_DEAD) {
        return FOG_NEVER;
    }
    if (c->stage != CS_MUXED) {
        return c->clock_started ? c->hs_deadline : FOG_NEVER;
    }
    return fog_yamux_deadline(c->yamux);
}

int fog_conn_on_timeout(fog_conn *c, fog_ms now)
{
    if (c->stage == CS_DEAD) {
        return c->err;
    }
    start_clock(c, now);
    if (c->stage != CS_MUXED) {
        if (now >= c->hs_deadline) {
            return conn_fail(c, fog_errf(FOG_ERR_TIMEOUT, "conn: handshake not done after %llu ms",
                                         (unsigned long long)c->cfg.handshake_timeout_ms));
        }
        return 0;
    }
    int rc = fog_yamux_on_timeout(c->yamux, now);
    rc = rc < 0 ? rc : conn_drain_yamux(c);
    return rc < 0 ? conn_fail(c, rc) : 0;
}

int fog_conn_go_away(fog_conn *c)
{
    if (c->stage == CS_DEAD) {
        return c->err;
    }
    if (c->stage != CS_MUXED) {
        return fog_errf(FOG_ERR_INVALID, "conn: not connected");
    }
    int rc = fog_yamux_go_away(c->yamux, FOG_YAMUX_GOAWAY_NORMAL);
    return rc == FOG_ERR_INVALID ? rc : (rc < 0 ? conn_fail(c, rc) : 0);
}
