/* conn_stream.c: the streams of a fog_conn: yamux streams, each negotiated with its own
 * multistream-select (libp2p/specs connections/README.md: the stream opener is the initiator).
 * A stream is NEGOTIATING while its fog_mss runs: yamux data goes to the mss, whose output is
 * written back on the stream; once it agrees, the stream is OPEN, STREAM_OPENED is queued, the
 * mss's leftover becomes the first STREAM_DATA and the negotiation bytes are consumed from
 * yamux on the application's behalf (the leftover is consumed by the application, like all
 * later data). Negotiation output that yamux's write queue refuses waits in the stream's `pend`
 * and is retried before each pull; application writes wait behind it. A stream of ours with a
 * single proposal takes writes at once: they follow the proposal, as go-libp2p's lazy dialer
 * does, and the listener finds them in its mss leftover.
 * A peer's stream that fails negotiation is reset without an event (the application never saw
 * it); one of ours gives STREAM_FAILED. The table is a plain array searched linearly: yamux
 * caps the streams at config.max_streams per direction.
 */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"

static cstream *st_find(const fog_conn *c, uint32_t id, size_t *idx)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        if (c->streams[i]->id == id) {
            if (idx != NULL) {
                *idx = i;
            }
            return c->streams[i];
        }
    }
    return NULL;
}

static void st_free(cstream *s)
{
    fog_mss_free(s->mss);
    fog_buf_clear(&s->pend);
    free(s);
}

static void st_remove(fog_conn *c, uint32_t id)
{
    size_t i;
    cstream *s = st_find(c, id, &i);
    if (s != NULL) {
        st_free(s);
        c->streams[i] = c->streams[c->n_streams - 1];
        c->n_streams--;
    }
}

void conn_streams_free(fog_conn *c)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        st_free(c->streams[i]);
    }
    free(c->streams);
    c->streams = NULL;
    c->n_streams = c->cap_streams = 0;
}

/* Makes a stream record with a negotiation running (dialer when protocols are ours). */
static int st_add(fog_conn *c, uint32_t id, bool inbound, const char *const *protocols,
                  size_t n, cstream **out)
{
    if (c->n_streams == c->cap_streams) {
        size_t cap = c->cap_streams == 0 ? 16 : c->cap_streams * 2;
        cstream **t = realloc(c->streams, cap * sizeof *t);
        if (t == NULL) {
            return FOG_ERR_NOMEM;
        }
        c->streams = t;
        c->cap_streams = cap;
    }
    cstream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return FOG_ERR_NOMEM;
    }
    s->id = id;
    s->inbound = inbound;
    s->state = SS_NEGOTIATING;
    fog_buf_init(&s->pend);
    fog_mss_config mc;
    fog_mss_config_default(&mc);
    mc.is_dialer = !inbound;
    mc.protocols = protocols;
    mc.n_protocols = n;
    mc.max_leftover_bytes = c->cfg.window_bytes;
    mc.log = c->cfg.log;
    int rc = fog_mss_new(&s->mss, &mc);
    if (rc < 0) {
        free(s);
        return rc;
    }
    c->streams[c->n_streams++] = s;
    *out = s;
    return 0;
}

/* Writes s's pending negotiation output to yamux; LIMIT (queue full) leaves it pending. */
static int st_flush(fog_conn *c, cstream *s)
{
    if (s->mss != NULL) {
        uint8_t buf[512];
        size_t n = 0;
        do {
            int rc = fog_mss_pull(s->mss, buf, sizeof buf, &n, 0);
            rc = rc < 0 ? rc : fog_buf_append(&s->pend, buf, n);
            if (rc < 0) {
                return rc;
            }
        } while (n > 0);
    }
    if (s->pend.len == 0) {
        return 0;
    }
    int rc = fog_yamux_write(c->yamux, s->id, s->pend.p, s->pend.len);
    if (rc == FOG_ERR_LIMIT) {
        c->any_pend = true;
        return 0;
    }
    fog_buf_reset(&s->pend);
    /* Other refusals mean the stream is closing; its end event will come from yamux. */
    return rc == FOG_ERR_NOMEM ? rc : 0;
}

int conn_flush_pending(fog_conn *c)
{
    c->any_pend = false;
    for (size_t i = 0; i < c->n_streams; i++) {
        if (c->streams[i]->pend.len > 0) {
            int rc = st_flush(c, c->streams[i]);
            if (rc < 0) {
                return rc;
            }
        }
    }
    return 0;
}

/* The negotiation on s failed with why: reset it; only our own streams are reported. */
static int st_failed(fog_conn *c, cstream *s, int why)
{
    uint32_t id = s->id;
    bool ours = !s->inbound;
    int rc = fog_yamux_reset(c->yamux, id);
    st_remove(c, id);
    if (rc < 0 && rc != FOG_ERR_NOT_FOUND) {
        return rc;
    }
    return ours ? conn_push(c, FOG_CONN_EV_STREAM_FAILED, id, why, NULL, 0) : 0;
}

static int st_negotiated(fog_conn *c, cstream *s, const fog_mss_event *ev)
{
    int rc = st_flush(c, s); /* the listener's echo */
    if (rc < 0) {
        return rc;
    }
    rc = conn_push(c, FOG_CONN_EV_STREAM_OPENED, s->id, 0, ev->protocol, ev->protocol_len);
    if (rc < 0) {
        return rc;
    }
    c->evq[c->ev_len - 1].inbound = s->inbound;
    s->state = SS_OPEN;
    fog_slice left = fog_mss_leftover(s->mss);
    size_t spent = s->fed - left.len; /* the leftover is part of what was fed */
    if (left.len > 0) {
        rc = conn_push(c, FOG_CONN_EV_STREAM_DATA, s->id, 0, left.p, left.len);
    }
    fog_mss_free(s->mss);
    s->mss = NULL;
    if (rc == 0 && spent > 0) {
        rc = fog_yamux_consume(c->yamux, s->id, spent);
    }
    return rc;
}

static int on_data(fog_conn *c, uint32_t id, fog_slice data)
{
    cstream *s = st_find(c, id, NULL);
    if (s == NULL) {
        return 0;
    }
    if (s->state == SS_OPEN) {
        return conn_push(c, FOG_CONN_EV_STREAM_DATA, id, 0, data.p, data.len);
    }
    /* data is lent until the next yamux call: the mss copies it first. */
    int rc = fog_mss_feed(s->mss, data.p, data.len, 0);
    if (rc < 0) {
        return rc == FOG_ERR_NOMEM ? rc : st_failed(c, s, rc);
    }
    s->fed += data.len;
    fog_mss_event ev;
    while (fog_mss_poll_event(s->mss, &ev)) {
        if (ev.kind == FOG_MSS_EV_FAILED) {
            return st_failed(c, s, fog_errf(FOG_ERR_UNSUPPORTED, "stream %u: no protocol "
                                            "accepted", (unsigned)id));
        }
        return st_negotiated(c, s, &ev);
    }
    return st_flush(c, s);
}

static int on_opened(fog_conn *c, uint32_t id)
{
    cstream *s;
    int rc = st_add(c, id, true, c->cfg.protocols, c->cfg.n_protocols, &s);
    return rc < 0 ? rc : st_flush(c, s);
}

static int on_fin(fog_conn *c, uint32_t id)
{
    cstream *s = st_find(c, id, NULL);
    if (s == NULL) {
        return 0;
    }
    if (s->state == SS_NEGOTIATING) {
        return st_failed(c, s, fog_errf(FOG_ERR_CANCELLED, "stream %u: closed during "
                                        "negotiation", (unsigned)id));
    }
    return conn_push(c, FOG_CONN_EV_STREAM_FIN, id, 0, NULL, 0);
}

/* yamux forgot id (CLOSED or RESET). */
static int on_end(fog_conn *c, uint32_t id, fog_conn_ev_kind kind)
{
    cstream *s = st_find(c, id, NULL);
    if (s == NULL) {
        return 0;
    }
    bool open = s->state == SS_OPEN, ours = !s->inbound;
    st_remove(c, id);
    if (open) {
        return conn_push(c, kind, id, 0, NULL, 0);
    }
    return ours ? conn_push(c, FOG_CONN_EV_STREAM_FAILED, id, FOG_ERR_CANCELLED, NULL, 0) : 0;
}

static int on_yamux_event(fog_conn *c, const fog_yamux_event *ev)
{
    switch (ev->kind) {
    case FOG_YAMUX_EV_OPENED:
        return on_opened(c, ev->stream_id);
    case FOG_YAMUX_EV_DATA:
        return on_data(c, ev->stream_id, ev->data);
    case FOG_YAMUX_EV_FIN:
        return on_fin(c, ev->stream_id);
    case FOG_YAMUX_EV_CLOSED:
        return on_end(c, ev->stream_id, FOG_CONN_EV_STREAM_CLOSED);
    case FOG_YAMUX_EV_RESET:
        return on_end(c, ev->stream_id, FOG_CONN_EV_STREAM_RESET);
    case FOG_YAMUX_EV_GOAWAY:
        return conn_push(c, FOG_CONN_EV_GOAWAY, 0, (int)(ev->code & 0x7fffffffu), NULL, 0);
    default:
        return 0; /* PONG */
    }
}

int conn_drain_yamux(fog_conn *c)
{
    fog_yamux_event ev;
    while (fog_yamux_poll_event(c->yamux, &ev)) {
        int rc = on_yamux_event(c, &ev);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- the application's calls ---- */

static int usable(fog_conn *c)
{
    if (c->stage == CS_DEAD) {
        return c->err;
    }
    return c->stage == CS_MUXED ? 0 : fog_errf(FOG_ERR_INVALID, "conn: not connected");
}

/* Non-fatal errors pass through; the others end the connection. */
static int app_rc(fog_conn *c, int rc, bool limit_fatal)
{
    if (rc == FOG_ERR_NOMEM || (limit_fatal && rc == FOG_ERR_LIMIT)) {
        return conn_fail(c, rc);
    }
    return rc;
}

int fog_conn_open_stream(fog_conn *c, const char *const *protocols, size_t n, uint32_t *id_out)
{
    int rc = usable(c);
    if (rc < 0) {
        return rc;
    }
    if (n == 0 || protocols == NULL) {
        return fog_errf(FOG_ERR_INVALID, "conn: no protocol to propose");
    }
    uint32_t id;
    rc = fog_yamux_open(c->yamux, &id);
    if (rc < 0) {
        return app_rc(c, rc, false);
    }
    cstream *s;
    rc = st_add(c, id, false, protocols, n, &s);
    if (rc < 0) {
        int r2 = fog_yamux_reset(c->yamux, id);
        return rc == FOG_ERR_NOMEM ? conn_fail(c, rc) : (r2 < 0 ? app_rc(c, r2, true) : rc);
    }
    s->lazy = n == 1;
    rc = st_flush(c, s);
    if (rc < 0) {
        return conn_fail(c, rc);
    }
    *id_out = id;
    return 0;
}

int fog_conn_stream_write(fog_conn *c, uint32_t id, const uint8_t *data, size_t len)
{
    int rc = usable(c);
    cstream *s = rc < 0 ? NULL : st_find(c, id, NULL);
    if (rc < 0 || s == NULL) {
        return rc < 0 ? rc : FOG_ERR_NOT_FOUND;
    }
    if (s->state != SS_OPEN && !s->lazy) {
        return fog_errf(FOG_ERR_INVALID, "stream %u: not negotiated yet", (unsigned)id);
    }
    if (s->pend.len > 0 && (rc = st_flush(c, s)) < 0) {
        return conn_fail(c, rc);
    }
    if (s->pend.len > 0) {
        return FOG_ERR_LIMIT;
    }
    return app_rc(c, fog_yamux_write(c->yamux, id, data, len), false);
}

int fog_conn_stream_close(fog_conn *c, uint32_t id)
{
    int rc = usable(c);
    cstream *s = rc < 0 ? NULL : st_find(c, id, NULL);
    if (rc < 0 || s == NULL) {
        return rc < 0 ? rc : FOG_ERR_NOT_FOUND;
    }
    if (s->state != SS_OPEN) {
        return fog_errf(FOG_ERR_INVALID, "stream %u: not negotiated yet", (unsigned)id);
    }
    return app_rc(c, fog_yamux_close(c->yamux, id), false);
}

int fog_conn_stream_reset(fog_conn *c, uint32_t id)
{
    int rc = usable(c);
    if (rc < 0) {
        return rc;
    }
    if (st_find(c, id, NULL) == NULL) {
        return FOG_ERR_NOT_FOUND;
    }
    st_remove(c, id);
    rc = fog_yamux_reset(c->yamux, id);
    return rc == FOG_ERR_NOT_FOUND ? 0 : app_rc(c, rc, true);
}

int fog_conn_stream_consume(fog_conn *c, uint32_t id, size_t n)
{
    int rc = usable(c);
    if (rc < 0) {
        return rc;
    }
    return app_rc(c, fog_yamux_consume(c->yamux, id, n), true);
}
