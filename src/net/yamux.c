/* yamux.c: the yamux stream multiplexer (hashicorp/yamux spec.md, libp2p/specs yamux), sans-I/O.
 * One fog_yamux carries many streams over one secured connection: 12-byte frame headers, per-stream
 * flow-control windows granted by the receiver. No socket or clock here: the caller feeds bytes and
 * the time, drains events and output, and arms one timer at fog_yamux_deadline(). Every queue is
 * capped: a peer that pushes past a cap gets an error, the queue never grows.
 *
 * Input runs a two-state machine (IN_HEADER collects 12 bytes, IN_BODY passes a Data payload to
 * its stream or discards it), so any fragmentation of the input gives the same result. A header
 * is parsed and checked in full before any state changes. Received bytes wait in the stream's
 * rbuf until poll_event hands them out as one EV_DATA (at most one such event per stream is
 * queued; later bytes join it), so the event queue holds at most a few entries per stream.
 *
 * Flow control, per stream and direction, as invariants:
 *   recv_window + (bytes of the frame being read) + rbuf.len + unconsumed + credit == window_bytes
 * recv_window is what the peer may still send; unconsumed was lent to the caller; credit was
 * consumed and will go back to the peer in one WindowUpdate once it reaches half the window
 * (go-yamux batches the same way). A Data frame longer than recv_window is a protocol error
 * (go-yamux closes the session for it too).
 *
 * Stream IDs: ours come from next_id (odd for the initiator); a peer's SYN must have the other
 * parity and must not name an ID it used before. go-yamux opens streams from several goroutines,
 * so its SYNs may arrive slightly out of order: instead of demanding increasing IDs, a 64-entry
 * window below the highest ID seen remembers which IDs were opened (like IPsec's anti-replay
 * window). A frame without SYN for an unknown ID is dropped when the ID was used before (it races
 * with our RST or close, and go-yamux drops these too) and is a protocol error when it never was.
 *
 * Output: control frames (ACK, RST, window updates, pings, GoAway) are appended to `out` at once;
 * Data frames are cut from the streams' send queues round-robin, only when `out` is empty, at
 * most FOG_YAMUX_DATA_FRAME_MAX bytes each and never past the peer's window.
 */
#include "fog/yamux.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_DATA = 0, T_WINDOW = 1, T_PING = 2, T_GOAWAY = 3 };
enum { F_SYN = 1, F_ACK = 2, F_FIN = 4, F_RST = 8 };
enum { IN_HEADER, IN_BODY };

/* Control bytes the peer can make us queue without reading them (ping answers, RSTs for refused
 * streams): past this it is a flood and the session ends with FOG_ERR_LIMIT. */
#define CTRL_MAX (64u * 1024u)
/* The SYN replay window, in stream IDs of the peer's parity. */
#define SYN_WINDOW 64u

typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t flags;
    uint32_t id;
    uint32_t length;
} yhdr;

typedef struct {
    uint32_t id;
    bool inbound;       /* opened by the peer */
    bool reset;         /* reset (by the peer or for a cap); EV_RESET queued, frames dropped */
    bool fin_queued;    /* fog_yamux_close called */
    bool fin_sent;      /* our FIN is in `out` */
    bool remote_fin;    /* the peer's FIN arrived */
    bool data_ev;       /* an EV_DATA for this stream is queued */
    uint32_t send_window; /* bytes the peer lets us send */
    uint32_t recv_window; /* bytes the peer may still send us */
    uint32_t unconsumed;  /* lent to the caller by EV_DATA, not yet consumed */
    uint32_t credit;      /* consumed, not yet granted back */
    fog_buf rbuf;         /* received, not yet handed out */
    fog_buf sbuf;         /* written, not yet sent: a ring of sbuf.len bytes from soff (sring_*) */
    size_t soff;
} ystream;

struct fog_yamux {
    fog_yamux_config cfg;
    int fatal; /* 0, or the fatal error: only pull (flushing) and free remain */
    /* input */
    int in_state;
    uint8_t hdr[FOG_YAMUX_HEADER_LEN];
    size_t hdr_len;
    uint32_t body_id; /* IN_BODY: the stream fed, 0 to discard */
    uint32_t body_left;
    uint16_t body_flags;
    /* streams, sorted by id */
    ystream **st;
    size_t n_st, cap_st;
    size_t rr; /* round-robin position for Data frames */
    uint32_t n_in, n_out;
    uint64_t next_id;
    uint32_t peer_hi;   /* highest ID the peer opened, 0 none */
    uint64_t peer_seen; /* bit i: the peer opened peer_hi - 2i */
    bool local_goaway, remote_goaway;
    size_t queued;   /* sum of the send queues */
    size_t buffered; /* sum of rbuf.len + unconsumed */
    /* output */
    fog_buf out;
    size_t out_off;
    /* events */
    fog_yamux_event *evq;
    size_t ev_head, ev_len, ev_cap, ev_max;
    fog_buf hold; /* the bytes of the last EV_DATA, lent to the caller */
    /* time */
    bool clock;
    fog_ms now, last_rx;
    bool ping_out;
    uint32_t ping_val, ping_ctr;
    fog_ms ping_sent;
};

#define ylog(y, level, ...) fog_logf(&(y)->cfg.log, level, "yamux", __VA_ARGS__)

void fog_yamux_config_default(fog_yamux_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->is_initiator = false;
    cfg->max_streams = 1000;
    cfg->window_bytes = FOG_YAMUX_INITIAL_WINDOW;
    cfg->keepalive_ms = 30000;
    cfg->ping_timeout_ms = 10000;
    cfg->max_queued_bytes = 4u * 1024u * 1024u;
    cfg->max_buffered_bytes = 32u * 1024u * 1024u;
    cfg->log.level = FOG_LOG_WARN;
}

/* ---- the stream table ---- */

static size_t st_index(const fog_yamux *y, uint32_t id, bool *found)
{
    size_t lo = 0, hi = y->n_st;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (y->st[mid]->id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < y->n_st && y->st[lo]->id == id;
    return lo;
}

static ystream *st_find(const fog_yamux *y, uint32_t id)
{
    bool found;
    size_t i = st_index(y, id, &found);
    return found ? y->st[i] : NULL;
}

static int st_add(fog_yamux *y, uint32_t id, bool inbound, ystream **out)
{
    if (y->n_st == y->cap_st) {
        size_t cap = y->cap_st != 0 ? y->cap_st * 2 : 16;
        ystream **p = realloc(y->st, cap * sizeof *p);
        if (p == NULL) {
            return FOG_ERR_NOMEM;
        }
        y->st = p;
        y->cap_st = cap;
    }
    ystream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return FOG_ERR_NOMEM;
    }
    s->id = id;
    s->inbound = inbound;
    s->send_window = FOG_YAMUX_INITIAL_WINDOW;
    s->recv_window = y->cfg.window_bytes;
    bool found;
    size_t i = st_index(y, id, &found);
    memmove(&y->st[i + 1], &y->st[i], (y->n_st - i) * sizeof *y->st);
    y->st[i] = s;
    y->n_st++;
    if (inbound) {
        y->n_in++;
    } else {
        y->n_out++;
    }
    *out = s;
    return 0;
}

static void ev_purge(fog_yamux *y, uint32_t id);

/* Forgets a stream: its memory, its counters and any events still queued for it. */
static void st_remove(fog_yamux *y, uint32_t id)
{
    bool found;
    size_t i = st_index(y, id, &found);
    if (!found) {
        return;
    }
    ystream *s = y->st[i];
    y->buffered -= s->rbuf.len + s->unconsumed;
    y->queued -= s->sbuf.len;
    if (s->inbound) {
        y->n_in--;
    } else {
        y->n_out--;
    }
    fog_buf_clear(&s->rbuf);
    fog_buf_clear(&s->sbuf);
    free(s);
    memmove(&y->st[i], &y->st[i + 1], (y->n_st - i - 1) * sizeof *y->st);
    y->n_st--;
    if (y->rr > i) {
        y->rr--;
    }
    ev_purge(y, id);
}

/* ---- events ---- */

static int ev_push(fog_yamux *y, fog_yamux_ev_kind kind, uint32_t id, uint32_t code, fog_ms rtt)
{
    if (y->ev_head == y->ev_len) {
        y->ev_head = y->ev_len = 0;
    }
    if (y->ev_len - y->ev_head >= y->ev_max) {
        return fog_errf(FOG_ERR_LIMIT, "yamux: more than %zu events queued", y->ev_max);
    }
    if (y->ev_len == y->ev_cap) {
        if (y->ev_head > 0) {
            memmove(y->evq, &y->evq[y->ev_head], (y->ev_len - y->ev_head) * sizeof *y->evq);
            y->ev_len -= y->ev_head;
            y->ev_head = 0;
        } else {
            size_t cap = y->ev_cap != 0 ? y->ev_cap * 2 : 32;
            fog_yamux_event *p = realloc(y->evq, cap * sizeof *p);
            if (p == NULL) {
                return FOG_ERR_NOMEM;
            }
            y->evq = p;
            y->ev_cap = cap;
        }
    }
    fog_yamux_event *e = &y->evq[y->ev_len++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->stream_id = id;
    e->code = code;
    e->rtt_ms = rtt;
    return 0;
}

static void ev_purge(fog_yamux *y, uint32_t id)
{
    size_t w = y->ev_head;
    for (size_t r = y->ev_head; r < y->ev_len; r++) {
        if (y->evq[r].stream_id != id) { /* GOAWAY and PONG have id 0, no stream has */
            y->evq[w++] = y->evq[r];
        }
    }
    y->ev_len = w;
}

/* ---- output ---- */

static void hdr_put(uint8_t *b, uint8_t type, uint16_t flags, uint32_t id, uint32_t length)
{
    b[0] = 0;
    b[1] = type;
    b[2] = (uint8_t)(flags >> 8);
    b[3] = (uint8_t)flags;
    for (int i = 0; i < 4; i++) {
        b[4 + i] = (uint8_t)(id >> (24 - 8 * i));
        b[8 + i] = (uint8_t)(length >> (24 - 8 * i));
    }
}

/* Queues a control frame. force: the GoAway of a dying session, past the cap. */
static int ctrl_frame(fog_yamux *y, uint8_t type, uint16_t flags, uint32_t id, uint32_t length,
                      bool force)
{
    size_t pending = y->out.len - y->out_off;
    if (!force && pending + FOG_YAMUX_HEADER_LEN > CTRL_MAX + FOG_YAMUX_DATA_FRAME_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "yamux: peer does not read; %zu bytes of frames queued",
                        pending);
    }
    if (y->out_off >= 4096) {
        memmove(y->out.p, y->out.p + y->out_off, pending);
        y->out.len = pending;
        y->out_off = 0;
    }
    uint8_t b[FOG_YAMUX_HEADER_LEN];
    hdr_put(b, type, flags, id, length);
    return fog_buf_append(&y->out, b, sizeof b);
}

/* Ends the session: records rc (its detail line was set where it arose) and queues a GoAway
 * telling the peer why, for the caller to flush with pull before it closes the connection. */
static int fail(fog_yamux *y, int rc)
{
    if (y->fatal != 0) {
        return y->fatal;
    }
    y->fatal = rc;
    ylog(y, FOG_LOG_WARN, "session failed: %s", fog_err_detail(rc));
    if (rc == FOG_ERR_PROTO || rc == FOG_ERR_LIMIT || rc == FOG_ERR_NOMEM) {
        uint32_t code = rc == FOG_ERR_PROTO ? FOG_YAMUX_GOAWAY_PROTO : FOG_YAMUX_GOAWAY_INTERNAL;
        (void)ctrl_frame(y, T_GOAWAY, 0, 0, code, true); /* best effort: we are failing anyway */
    }
    return rc;
}

/* ---- stream state changes ---- */

static int maybe_closed(fog_yamux *y, ystream *s)
{
    if (s->remote_fin && s->fin_sent && !s->reset) {
        return ev_push(y, FOG_YAMUX_EV_CLOSED, s->id, 0, 0);
    }
    return 0;
}

/* Marks s reset (by the peer, or by us with send_rst) and queues EV_RESET; the stream is
 * forgotten when the caller polls that event. Unsent data is dropped. */
static int st_kill(fog_yamux *y, ystream *s, bool send_rst)
{
    int rc = 0;
    if (send_rst && (rc = ctrl_frame(y, T_WINDOW, F_RST, s->id, 0, false)) < 0) {
        return rc;
    }
    s->reset = true;
    y->queued -= s->sbuf.len;
    fog_buf_clear(&s->sbuf);
    s->soff = 0;
    return ev_push(y, FOG_YAMUX_EV_RESET, s->id, 0, 0);
}

/* FIN and RST of a frame, applied after its payload. */
static int end_flags(fog_yamux *y, uint32_t id, uint16_t flags)
{
    ystream *s = st_find(y, id);
    if (s == NULL || s->reset) {
        return 0;
    }
    if ((flags & F_RST) != 0) {
        return st_kill(y, s, false);
    }
    if ((flags & F_FIN) != 0 && !s->remote_fin) {
        s->remote_fin = true;
        int rc = ev_push(y, FOG_YAMUX_EV_FIN, id, 0, 0);
        return rc < 0 ? rc : maybe_closed(y, s);
    }
    return 0;
}

/* ---- input: frame checks ---- */

static bool peer_parity(const fog_yamux *y, uint32_t id)
{
    return (id & 1u) == (y->cfg.is_initiator ? 0u : 1u);
}

/* Records a peer's SYN for id in the replay window; FOG_ERR_PROTO when id was opened before. */
static int syn_mark(fog_yamux *y, uint32_t id)
{
    if (id > y->peer_hi) {
        uint32_t steps = (id - y->peer_hi) / 2;
        y->peer_seen = steps >= SYN_WINDOW ? 0 : y->peer_seen << steps;
        y->peer_seen |= 1;
        y->peer_hi = id;
        return 0;
    }
    uint32_t back = (y->peer_hi - id) / 2;
    if (back >= SYN_WINDOW) {
        return fog_errf(FOG_ERR_PROTO, "yamux: SYN for stream %u, far below stream %u: reused ID",
                        id, y->peer_hi);
    }
    if ((y->peer_seen & ((uint64_t)1 << back)) != 0) {
        return fog_errf(FOG_ERR_PROTO, "yamux: SYN reuses stream ID %u", id);
    }
    y->peer_seen |= (uint64_t)1 << back;
    return 0;
}

/* A frame without SYN for an ID not in the table: 0 when the ID was used before (the frame is
 * dropped), FOG_ERR_PROTO when it never was. */
static int unknown_stream(const fog_yamux *y, uint32_t id)
{
    bool opened;
    if (!peer_parity(y, id)) {
        opened = id < y->next_id;
    } else if (id > y->peer_hi) {
        opened = false;
    } else {
        uint32_t back = (y->peer_hi - id) / 2;
        opened = back >= SYN_WINDOW || (y->peer_seen & ((uint64_t)1 << back)) != 0;
    }
    if (!opened) {
        return fog_errf(FOG_ERR_PROTO, "yamux: frame for stream %u, which was never opened", id);
    }
    return 0;
}

/* A peer's SYN: opens the stream (*out) and ACKs it, or refuses it with RST (*out NULL). */
static int on_syn(fog_yamux *y, const yhdr *h, ystream **out)
{
    *out = NULL;
    if (!peer_parity(y, h->id)) {
        return fog_errf(FOG_ERR_PROTO, "yamux: peer opened stream %u, which has our parity",
                        h->id);
    }
    if (st_find(y, h->id) != NULL) {
        return fog_errf(FOG_ERR_PROTO, "yamux: SYN on stream %u, which is open", h->id);
    }
    int rc = syn_mark(y, h->id);
    if (rc < 0) {
        return rc;
    }
    if (y->local_goaway || y->n_in >= y->cfg.max_streams) {
        ylog(y, FOG_LOG_DEBUG, "refusing stream %u (%u open, go-away %d)", h->id, y->n_in,
             y->local_goaway);
        return ctrl_frame(y, T_WINDOW, F_RST, h->id, 0, false);
    }
    ystream *s;
    if ((rc = st_add(y, h->id, true, &s)) < 0 ||
        (rc = ctrl_frame(y, T_WINDOW, F_ACK, h->id,
                         y->cfg.window_bytes - FOG_YAMUX_INITIAL_WINDOW, false)) < 0 ||
        (rc = ev_push(y, FOG_YAMUX_EV_OPENED, h->id, 0, 0)) < 0) {
        return rc;
    }
    *out = s;
    return 0;
}

/* A Data frame's header for stream s (NULL: dropped): checks the window, then sets up IN_BODY. */
static int on_data(fog_yamux *y, const yhdr *h, ystream *s)
{
    if (s != NULL && s->reset) {
        s = NULL;
    }
    if (s == NULL && h->length > y->cfg.window_bytes) {
        return fog_errf(FOG_ERR_PROTO, "yamux: %u-byte data frame exceeds any window (%u)",
                        h->length, y->cfg.window_bytes);
    }
    if (s != NULL && s->remote_fin && h->length > 0) {
        return fog_errf(FOG_ERR_PROTO, "yamux: data on stream %u after its FIN", h->id);
    }
    if (s != NULL && h->length > s->recv_window) {
        return fog_errf(FOG_ERR_PROTO, "yamux: stream %u: %u-byte data frame exceeds the window "
                        "of %u bytes", h->id, h->length, s->recv_window);
    }
    if (s != NULL && h->length > y->cfg.max_buffered_bytes - y->buffered) {
        ylog(y, FOG_LOG_WARN, "stream %u reset: %zu bytes buffered", h->id, y->buffered);
        int rc = st_kill(y, s, true);
        if (rc < 0) {
            return rc;
        }
        s = NULL;
    }
    if (s != NULL) {
        s->recv_window -= h->length;
    }
    if (h->length == 0) {
        return s != NULL ? end_flags(y, s->id, h->flags) : 0;
    }
    y->in_state = IN_BODY;
    y->body_id = s != NULL ? s->id : 0;
    y->body_left = h->length;
    y->body_flags = h->flags;
    return 0;
}

static int on_stream_frame(fog_yamux *y, const yhdr *h)
{
    if (h->id == 0) {
        return fog_errf(FOG_ERR_PROTO, "yamux: %s frame on stream 0",
                        h->type == T_DATA ? "data" : "window update");
    }
    ystream *s = st_find(y, h->id);
    int rc = 0;
    if ((h->flags & F_SYN) != 0) {
        rc = on_syn(y, h, &s);
    } else if (s == NULL) {
        rc = unknown_stream(y, h->id);
    }
    if (rc < 0) {
        return rc;
    }
    if (h->type == T_DATA) {
        return on_data(y, h, s);
    }
    if (s == NULL || s->reset) {
        return 0;
    }
    if (h->length > UINT32_MAX - s->send_window) {
        return fog_errf(FOG_ERR_PROTO, "yamux: stream %u: window update of %u overflows the "
                        "window of %u", h->id, h->length, s->send_window);
    }
    s->send_window += h->length;
    return end_flags(y, h->id, h->flags);
}

static int on_ping(fog_yamux *y, const yhdr *h)
{
    if (h->id != 0) {
        return fog_errf(FOG_ERR_PROTO, "yamux: ping on stream %u (must be 0)", h->id);
    }
    if ((h->flags & F_SYN) != 0) {
        return ctrl_frame(y, T_PING, F_ACK, 0, h->length, false);
    }
    if ((h->flags & F_ACK) != 0 && y->ping_out && h->length == y->ping_val) {
        y->ping_out = false;
        return ev_push(y, FOG_YAMUX_EV_PONG, 0, 0, y->now - y->ping_sent);
    }
    return 0; /* an answer to no ping of ours: ignored, as go-yamux does */
}

static int on_goaway(fog_yamux *y, const yhdr *h)
{
    if (h->id != 0) {
        return fog_errf(FOG_ERR_PROTO, "yamux: go-away on stream %u (must be 0)", h->id);
    }
    if (y->remote_goaway) {
        return 0;
    }
    y->remote_goaway = true;
    ylog(y, FOG_LOG_INFO, "peer sent go-away, code %u", h->length);
    return ev_push(y, FOG_YAMUX_EV_GOAWAY, 0, h->length, 0);
}

static int hdr_parse(const uint8_t *b, yhdr *h)
{
    fog_reader r;
    fog_reader_init(&r, b, FOG_YAMUX_HEADER_LEN);
    fog_reader_u8(&r, &h->version);
    fog_reader_u8(&r, &h->type);
    fog_reader_be16(&r, &h->flags);
    fog_reader_be32(&r, &h->id);
    fog_reader_be32(&r, &h->length);
    if (r.err < 0) {
        return r.err;
    }
    if (h->version != 0) {
        return fog_errf(FOG_ERR_PROTO, "yamux: frame version %u (only 0 exists)", h->version);
    }
    if (h->type > T_GOAWAY) {
        return fog_errf(FOG_ERR_PROTO, "yamux: unknown frame type %u", h->type);
    }
    return 0;
}

/* ---- input: the two states ---- */

static int in_header(fog_yamux *y, fog_reader *r)
{
    size_t want = FOG_YAMUX_HEADER_LEN - y->hdr_len;
    fog_slice part;
    fog_reader_bytes(r, want < r->left ? want : r->left, &part);
    if (r->err < 0) {
        return r->err;
    }
    memcpy(y->hdr + y->hdr_len, part.p, part.len);
    y->hdr_len += part.len;
    if (y->hdr_len < FOG_YAMUX_HEADER_LEN) {
        return 0;
    }
    y->hdr_len = 0;
    yhdr h;
    int rc = hdr_parse(y->hdr, &h);
    if (rc < 0) {
        return rc;
    }
    switch (h.type) {
    case T_PING:
        return on_ping(y, &h);
    case T_GOAWAY:
        return on_goaway(y, &h);
    default:
        return on_stream_frame(y, &h);
    }
}

static int in_body(fog_yamux *y, fog_reader *r)
{
    fog_slice part;
    fog_reader_bytes(r, y->body_left < r->left ? y->body_left : r->left, &part);
    if (r->err < 0) {
        return r->err;
    }
    y->body_left -= (uint32_t)part.len; /* part.len <= body_left */
    ystream *s = y->body_id != 0 ? st_find(y, y->body_id) : NULL;
    if (s != NULL && !s->reset) {
        int rc = fog_buf_append(&s->rbuf, part.p, part.len);
        if (rc < 0) {
            return rc;
        }
        y->buffered += part.len;
        if (!s->data_ev) {
            if ((rc = ev_push(y, FOG_YAMUX_EV_DATA, s->id, 0, 0)) < 0) {
                return rc;
            }
            s->data_ev = true;
        }
    }
    if (y->body_left > 0) {
        return 0;
    }
    y->in_state = IN_HEADER;
    return y->body_id != 0 ? end_flags(y, y->body_id, y->body_flags) : 0;
}

static void clock_at(fog_yamux *y, fog_ms now)
{
    if (!y->clock) {
        y->clock = true;
        y->last_rx = now;
    }
    y->now = now;
}

int fog_yamux_feed(fog_yamux *y, const uint8_t *in, size_t in_len, fog_ms now)
{
    if (y->fatal != 0) {
        return y->fatal;
    }
    clock_at(y, now);
    if (in_len > 0) {
        y->last_rx = now;
    }
    fog_reader r;
    fog_reader_init(&r, in, in_len);
    while (r.left > 0) {
        int rc;
        switch (y->in_state) {
        case IN_HEADER:
            rc = in_header(y, &r);
            break;
        default:
            rc = in_body(y, &r);
            break;
        }
        if (rc < 0) {
            return fail(y, rc);
        }
    }
    return 0;
}

/* ---- events out ---- */

/* Hands out a stream's received bytes: they move to y->hold and count as lent. */
static void take_data(fog_yamux *y, ystream *s, fog_yamux_event *ev)
{
    fog_buf tmp = y->hold;
    y->hold = s->rbuf;
    s->rbuf = tmp;
    fog_buf_reset(&s->rbuf);
    s->unconsumed += (uint32_t)y->hold.len; /* at most window_bytes */
    s->data_ev = false;
    ev->data = fog_slice_make(y->hold.p, y->hold.len);
}

bool fog_yamux_poll_event(fog_yamux *y, fog_yamux_event *ev_out)
{
    while (y->fatal == 0 && y->ev_head < y->ev_len) {
        *ev_out = y->evq[y->ev_head++];
        switch (ev_out->kind) {
        case FOG_YAMUX_EV_DATA:
            /* A stream's events are purged when it is removed, so the stream exists. */
            take_data(y, st_find(y, ev_out->stream_id), ev_out);
            break;
        case FOG_YAMUX_EV_CLOSED:
        case FOG_YAMUX_EV_RESET:
            st_remove(y, ev_out->stream_id); /* the last event of a stream: nothing is purged */
            break;
        default:
            break;
        }
        return true;
    }
    return false;
}

/* ---- output: Data frames ---- */

/* The send queue is a ring over sbuf's memory (sbuf.len live bytes from soff, wrapping at
 * sbuf.cap), so every written byte is copied in once and out once, however writes and frames
 * interleave (a flat buffer compacted by memmove copied up to twice as much while the queue
 * stayed full). It grows (live bytes unwrapped into a doubled buffer) only when a write does not
 * fit; it never holds more than max_queued_bytes live. */
static void sring_take(ystream *s, uint8_t *dst, size_t n)
{
    size_t first = s->sbuf.cap - s->soff < n ? s->sbuf.cap - s->soff : n;
    if (n > 0) { /* a bare FIN has no payload, and sbuf.p may be NULL */
        memcpy(dst, s->sbuf.p + s->soff, first);
        memcpy(dst + first, s->sbuf.p, n - first);
    }
    s->sbuf.len -= n;
    s->soff = s->sbuf.len == 0 ? 0 : (s->soff + n) % s->sbuf.cap;
}

static int sring_grow(ystream *s, size_t need)
{
    size_t cap = s->sbuf.cap < 256 ? 256 : s->sbuf.cap;
    while (cap < need) {
        cap *= 2; /* need <= max_queued_bytes + live: no overflow */
    }
    uint8_t *p = malloc(cap);
    if (p == NULL) {
        return FOG_ERR_NOMEM;
    }
    size_t len = s->sbuf.len;
    sring_take(s, p, len);
    free(s->sbuf.p);
    s->sbuf.p = p;
    s->sbuf.cap = cap;
    s->sbuf.len = len;
    s->soff = 0;
    return 0;
}

static int sring_put(ystream *s, const uint8_t *data, size_t n)
{
    if (n > s->sbuf.cap - s->sbuf.len) {
        int rc = sring_grow(s, s->sbuf.len + n);
        if (rc < 0) {
            return rc;
        }
    }
    size_t end = (s->soff + s->sbuf.len) % s->sbuf.cap;
    size_t first = s->sbuf.cap - end < n ? s->sbuf.cap - end : n;
    memcpy(s->sbuf.p + end, data, first);
    memcpy(s->sbuf.p, data + first, n - first);
    s->sbuf.len += n;
    return 0;
}

static bool sendable(const ystream *s)
{
    if (s->reset || s->fin_sent) {
        return false;
    }
    size_t avail = s->sbuf.len;
    return (avail > 0 && s->send_window > 0) || (avail == 0 && s->fin_queued);
}

/* Cuts one frame of at most max payload bytes from stream s: into dst when it is not NULL (room
 * for the header checked by the caller), else appended to `out`. *len_out gets the frame's
 * length. */
static int data_frame(fog_yamux *y, ystream *s, uint8_t *dst, size_t max, size_t *len_out)
{
    size_t avail = s->sbuf.len;
    size_t n = avail < s->send_window ? avail : s->send_window;
    n = n < max ? n : max;
    /* FIN goes alone on an empty frame after the data, as go-yamux sends it: js-yamux applies
     * a frame's flags before its payload and drops the data of a Data frame that carries FIN. */
    uint16_t flags = s->fin_queued && avail == 0 ? F_FIN : 0;
    if (dst == NULL) {
        int rc = fog_buf_reserve(&y->out, FOG_YAMUX_HEADER_LEN + n);
        if (rc < 0) {
            return rc;
        }
        dst = y->out.p + y->out.len;
        y->out.len += FOG_YAMUX_HEADER_LEN + n;
    }
    hdr_put(dst, T_DATA, flags, s->id, (uint32_t)n); /* n <= FOG_YAMUX_DATA_FRAME_MAX */
    sring_take(s, dst + FOG_YAMUX_HEADER_LEN, n);
    *len_out = FOG_YAMUX_HEADER_LEN + n;
    s->send_window -= (uint32_t)n;
    y->queued -= n;
    if (flags != 0) {
        s->fin_sent = true;
        return maybe_closed(y, s);
    }
    return 0;
}

/* The next Data frame round-robin, written straight into dst when room holds its header and at
 * least one byte (no copy through `out`), else queued in `out`. Returns the bytes written to
 * dst (0 when queued), or 0 with *none set when no stream can send. */
static int next_data(fog_yamux *y, uint8_t *dst, size_t room, size_t *wrote, bool *none)
{
    *wrote = 0;
    *none = false;
    for (size_t k = 0; k < y->n_st; k++) {
        size_t i = (y->rr + k) % y->n_st;
        ystream *s = y->st[i];
        if (sendable(s)) {
            y->rr = i + 1;
            bool direct = room > FOG_YAMUX_HEADER_LEN;
            size_t max = direct ? room - FOG_YAMUX_HEADER_LEN : FOG_YAMUX_DATA_FRAME_MAX;
            max = max < FOG_YAMUX_DATA_FRAME_MAX ? max : FOG_YAMUX_DATA_FRAME_MAX;
            size_t len = 0;
            int rc = data_frame(y, s, direct ? dst : NULL, max, &len);
            *wrote = direct ? len : 0;
            return rc;
        }
    }
    *none = true;
    return 0;
}

int fog_yamux_pull(fog_yamux *y, uint8_t *dst, size_t cap, size_t *len_out, fog_ms now)
{
    *len_out = 0;
    clock_at(y, now);
    size_t n = 0;
    while (n < cap) {
        if (y->out_off == y->out.len) {
            fog_buf_reset(&y->out);
            y->out_off = 0;
            if (y->fatal != 0) {
                break;
            }
            size_t wrote = 0;
            bool none = false;
            int rc = next_data(y, dst + n, cap - n, &wrote, &none);
            if (rc < 0) {
                return fail(y, rc);
            }
            if (none) {
                break;
            }
            n += wrote;
            continue;
        }
        size_t k = y->out.len - y->out_off;
        k = k < cap - n ? k : cap - n;
        memcpy(dst + n, y->out.p + y->out_off, k);
        y->out_off += k;
        n += k;
    }
    *len_out = n;
    return n == 0 && y->fatal != 0 ? y->fatal : 0;
}

bool fog_yamux_want_write(const fog_yamux *y)
{
    if (y->out_off < y->out.len) {
        return true;
    }
    for (size_t i = 0; y->fatal == 0 && i < y->n_st; i++) {
        if (sendable(y->st[i])) {
            return true;
        }
    }
    return false;
}

/* ---- time ---- */

fog_ms fog_yamux_deadline(const fog_yamux *y)
{
    if (y->fatal != 0 || !y->clock) {
        return FOG_NEVER;
    }
    if (y->ping_out) {
        return y->ping_sent + y->cfg.ping_timeout_ms;
    }
    if (y->cfg.keepalive_ms == 0) {
        return FOG_NEVER;
    }
    return y->last_rx + y->cfg.keepalive_ms;
}

static int send_ping(fog_yamux *y, fog_ms now)
{
    uint32_t v = ++y->ping_ctr;
    if (y->cfg.rng.fill != NULL) {
        uint8_t b[4];
        y->cfg.rng.fill(y->cfg.rng.ctx, b, sizeof b);
        v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
    }
    int rc = ctrl_frame(y, T_PING, F_SYN, 0, v, false);
    if (rc < 0) {
        return rc;
    }
    y->ping_out = true;
    y->ping_val = v;
    y->ping_sent = now;
    return 0;
}

int fog_yamux_on_timeout(fog_yamux *y, fog_ms now)
{
    if (y->fatal != 0) {
        return y->fatal;
    }
    clock_at(y, now);
    if (y->ping_out) {
        if (now - y->ping_sent >= y->cfg.ping_timeout_ms) {
            return fail(y, fog_errf(FOG_ERR_TIMEOUT, "yamux: ping unanswered for %llu ms",
                                    (unsigned long long)(now - y->ping_sent)));
        }
        return 0;
    }
    if (y->cfg.keepalive_ms != 0 && now - y->last_rx >= y->cfg.keepalive_ms) {
        int rc = send_ping(y, now);
        return rc < 0 ? fail(y, rc) : 0;
    }
    return 0;
}

int fog_yamux_ping(fog_yamux *y, fog_ms now)
{
    if (y->fatal != 0) {
        return y->fatal;
    }
    clock_at(y, now);
    if (y->ping_out) {
        return fog_errf(FOG_ERR_EXISTS, "yamux: a ping is already outstanding");
    }
    int rc = send_ping(y, now);
    return rc < 0 ? fail(y, rc) : 0;
}

/* ---- the caller's stream operations ---- */

int fog_yamux_open(fog_yamux *y, uint32_t *id_out)
{
    if (y->fatal != 0) {
        return y->fatal;
    }
    if (y->remote_goaway) {
        return fog_errf(FOG_ERR_CANCELLED, "yamux: the peer sent go-away: no new streams");
    }
    if (y->n_out >= y->cfg.max_streams || y->next_id > UINT32_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "yamux: cannot open more streams (%u open)", y->n_out);
    }
    uint32_t id = (uint32_t)y->next_id; /* <= UINT32_MAX, checked above */
    ystream *s;
    int rc = st_add(y, id, false, &s);
    if (rc == 0) {
        rc = ctrl_frame(y, T_WINDOW, F_SYN, id, y->cfg.window_bytes - FOG_YAMUX_INITIAL_WINDOW,
                        false);
    }
    if (rc < 0) {
        return fail(y, rc);
    }
    y->next_id += 2;
    *id_out = id;
    return 0;
}

/* The stream id for a caller's operation, or NULL with FOG_ERR_NOT_FOUND in *rc. */
static ystream *op_stream(fog_yamux *y, uint32_t id, int *rc)
{
    ystream *s = st_find(y, id);
    *rc = s == NULL ? fog_errf(FOG_ERR_NOT_FOUND, "yamux: no stream %u", id) : 0;
    return s;
}

int fog_yamux_write(fog_yamux *y, uint32_t id, const uint8_t *data, size_t len)
{
    int rc;
    ystream *s;
    if (y->fatal != 0 || (s = op_stream(y, id, &rc)) == NULL) {
        return y->fatal != 0 ? y->fatal : rc;
    }
    if (s->reset) {
        return fog_errf(FOG_ERR_CANCELLED, "yamux: stream %u was reset", id);
    }
    if (s->fin_queued) {
        return fog_errf(FOG_ERR_INVALID, "yamux: write on stream %u after close", id);
    }
    if (len == 0) {
        return 0;
    }
    if (len > y->cfg.max_queued_bytes - y->queued) {
        return fog_errf(FOG_ERR_LIMIT, "yamux: %zu bytes queued, cannot queue %zu more",
                        y->queued, len);
    }
    if ((rc = sring_put(s, data, len)) < 0) {
        return fail(y, rc);
    }
    y->queued += len;
    return 0;
}

int fog_yamux_consume(fog_yamux *y, uint32_t id, size_t n)
{
    int rc;
    ystream *s;
    if (y->fatal != 0 || (s = op_stream(y, id, &rc)) == NULL) {
        return y->fatal != 0 ? y->fatal : rc;
    }
    if (n > s->unconsumed) {
        return fog_errf(FOG_ERR_INVALID, "yamux: stream %u: consuming %zu bytes, %u delivered",
                        id, n, s->unconsumed);
    }
    s->unconsumed -= (uint32_t)n; /* n <= unconsumed */
    s->credit += (uint32_t)n;
    y->buffered -= n;
    if (s->remote_fin || s->reset || s->credit < y->cfg.window_bytes / 2) {
        return 0;
    }
    if ((rc = ctrl_frame(y, T_WINDOW, 0, id, s->credit, false)) < 0) {
        return fail(y, rc);
    }
    s->recv_window += s->credit;
    s->credit = 0;
    return 0;
}

int fog_yamux_close(fog_yamux *y, uint32_t id)
{
    int rc;
    ystream *s;
    if (y->fatal != 0 || (s = op_stream(y, id, &rc)) == NULL) {
        return y->fatal != 0 ? y->fatal : rc;
    }
    if (s->reset) {
        return fog_errf(FOG_ERR_CANCELLED, "yamux: stream %u was reset", id);
    }
    if (s->fin_queued) {
        return fog_errf(FOG_ERR_INVALID, "yamux: stream %u closed twice", id);
    }
    s->fin_queued = true;
    return 0;
}

int fog_yamux_reset(fog_yamux *y, uint32_t id)
{
    int rc;
    ystream *s;
    if (y->fatal != 0 || (s = op_stream(y, id, &rc)) == NULL) {
        return y->fatal != 0 ? y->fatal : rc;
    }
    if (!s->reset && (rc = ctrl_frame(y, T_WINDOW, F_RST, id, 0, false)) < 0) {
        return fail(y, rc);
    }
    st_remove(y, id);
    return 0;
}

int fog_yamux_go_away(fog_yamux *y, uint32_t code)
{
    if (y->fatal != 0) {
        return y->fatal;
    }
    if (code > FOG_YAMUX_GOAWAY_INTERNAL || y->local_goaway) {
        return fog_errf(FOG_ERR_INVALID, "yamux: go-away code %u, or sent twice", code);
    }
    int rc = ctrl_frame(y, T_GOAWAY, 0, 0, code, false);
    if (rc < 0) {
        return fail(y, rc);
    }
    y->local_goaway = true;
    return 0;
}

/* ---- queries, life cycle ---- */

size_t fog_yamux_stream_count(const fog_yamux *y)
{
    return y->n_st;
}

uint32_t fog_yamux_send_window(const fog_yamux *y, uint32_t id)
{
    const ystream *s = st_find(y, id);
    return s != NULL ? s->send_window : 0;
}

size_t fog_yamux_queued_bytes(const fog_yamux *y)
{
    return y->queued;
}

int fog_yamux_new(fog_yamux **out, const fog_yamux_config *cfg)
{
    if (cfg->window_bytes < FOG_YAMUX_INITIAL_WINDOW || cfg->window_bytes > FOG_YAMUX_WINDOW_MAX ||
        cfg->max_streams == 0 || cfg->max_queued_bytes == 0 || cfg->max_buffered_bytes == 0) {
        return fog_errf(FOG_ERR_INVALID, "yamux: config out of range (window %u, streams %u)",
                        cfg->window_bytes, cfg->max_streams);
    }
    fog_yamux *y = calloc(1, sizeof *y);
    if (y == NULL) {
        return FOG_ERR_NOMEM;
    }
    y->cfg = *cfg;
    y->next_id = cfg->is_initiator ? 1 : 2;
    /* Per stream at most OPENED, DATA, FIN and CLOSED or RESET are queued, for both
     * directions' streams, plus one GOAWAY and one PONG. */
    y->ev_max = 8 * (size_t)cfg->max_streams + 16;
    *out = y;
    return 0;
}

void fog_yamux_free(fog_yamux *y)
{
    if (y == NULL) {
        return;
    }
    for (size_t i = 0; i < y->n_st; i++) {
        fog_buf_clear(&y->st[i]->rbuf);
        fog_buf_clear(&y->st[i]->sbuf);
        free(y->st[i]);
    }
    free(y->st);
    free(y->evq);
    fog_buf_clear(&y->out);
    fog_buf_clear(&y->hold);
    free(y);
}
