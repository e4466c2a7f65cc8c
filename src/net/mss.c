/* mss.c: multistream-select 1.0, sans-I/O (libp2p/specs connections/README.md,
 * multiformats/multistream-select README.md; PROTOCOLS.md 3.2).
 * Input is framed into messages in a fixed buffer of 2 + FOG_MSS_MSG_MAX bytes: the length
 * varint is read a byte at a time (a third varint byte already means a length over 16383, so
 * it is refused without waiting), then the body is copied in bulk. Each complete message goes
 * to the handler of the current state. States:
 *   dialer:   D_HEADER (wait for the listener's header) -> D_REPLY (wait for echo or "na")
 *   listener: L_HEADER (wait for the dialer's header)   -> L_PROPOSAL (answer each proposal)
 *   both:     DONE (outcome queued; later bytes go to the leftover), DEAD (after a fatal error)
 * The output queue stays small without a separate cap: a dialer writes the header and at most
 * one line per configured ID, a listener the header, at most max_rejects "na" lines and one echo.
 * The leftover is the one buffer a peer can grow, so it has its own cap.
 */
#include "fog/mss.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_LEN (sizeof FOG_MSS_PROTOCOL_ID - 1)
#define RX_MAX (2 + FOG_MSS_MSG_MAX) /* a 2-byte varint holds every length up to 16383 */

typedef enum { D_HEADER, D_REPLY, L_HEADER, L_PROPOSAL, DONE, DEAD } mss_state;

struct fog_mss {
    fog_mss_config cfg; /* cfg.protocols is not used after new: ids holds the copies */
    char **ids;         /* n_ids NUL-terminated copies of cfg.protocols */
    size_t *id_lens;
    size_t n_ids;
    mss_state state;
    int err;          /* DEAD: the error feed returned */
    size_t cur;       /* dialer: index of the outstanding proposal */
    uint32_t rejects; /* listener: "na" answers sent */
    uint8_t rx[RX_MAX];
    size_t rx_have;   /* bytes of the current message in rx */
    size_t rx_need;   /* its full size (varint + body) once the varint is known, else 0 */
    fog_buf tx;       /* pending output from tx_off to tx.len */
    size_t tx_off;
    fog_buf left;     /* bytes after the final message */
    bool ev_ready;
    fog_mss_event ev;
};

void fog_mss_config_default(fog_mss_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->pipeline = true;
    cfg->max_rejects = 16;
    cfg->max_leftover_bytes = 256 * 1024;
}

#define mss_log(m, level, ...) fog_logf(&(m)->cfg.log, level, "mss", __VA_ARGS__)

static bool id_valid(const char *s)
{
    if (s == NULL) {
        return false;
    }
    size_t n = strnlen(s, FOG_MSS_MSG_MAX);
    /* "na" as an ID would make a refusal look like an acceptance. */
    return n > 0 && n < FOG_MSS_MSG_MAX && memchr(s, '\n', n) == NULL && strcmp(s, "na") != 0;
}

static int config_check(const fog_mss_config *cfg)
{
    if (cfg->n_protocols > FOG_MSS_PROTOCOLS_MAX || (cfg->is_dialer && cfg->n_protocols == 0) ||
        (cfg->n_protocols > 0 && cfg->protocols == NULL)) {
        return fog_errf(FOG_ERR_INVALID, "multistream: %zu protocol IDs (dialer 1..%d, listener "
                        "0..%d)", cfg->n_protocols, FOG_MSS_PROTOCOLS_MAX, FOG_MSS_PROTOCOLS_MAX);
    }
    for (size_t i = 0; i < cfg->n_protocols; i++) {
        if (!id_valid(cfg->protocols[i])) {
            return fog_errf(FOG_ERR_INVALID, "multistream: protocol ID %zu is empty, \"na\", "
                            "has a newline or is over %d bytes", i, FOG_MSS_MSG_MAX - 1);
        }
    }
    return 0;
}

static int ids_copy(fog_mss *m, const fog_mss_config *cfg)
{
    if (cfg->n_protocols == 0) {
        return 0;
    }
    m->ids = calloc(cfg->n_protocols, sizeof *m->ids);
    m->id_lens = calloc(cfg->n_protocols, sizeof *m->id_lens);
    if (m->ids == NULL || m->id_lens == NULL) {
        return FOG_ERR_NOMEM;
    }
    for (size_t i = 0; i < cfg->n_protocols; i++) {
        size_t n = strlen(cfg->protocols[i]);
        m->ids[i] = malloc(n + 1);
        if (m->ids[i] == NULL) {
            return FOG_ERR_NOMEM;
        }
        memcpy(m->ids[i], cfg->protocols[i], n + 1);
        m->id_lens[i] = n;
        m->n_ids = i + 1;
    }
    return 0;
}

/* Queues one message: uvarint(len + 1), text, '\n'. */
static int send_msg(fog_mss *m, const char *text, size_t len)
{
    int rc = fog_buf_uvarint(&m->tx, (uint64_t)len + 1);
    if (rc == 0) {
        rc = fog_buf_append(&m->tx, text, len);
    }
    if (rc == 0) {
        rc = fog_buf_u8(&m->tx, '\n');
    }
    return rc;
}

static int send_proposal(fog_mss *m)
{
    mss_log(m, FOG_LOG_DEBUG, "propose %s", m->ids[m->cur]);
    return send_msg(m, m->ids[m->cur], m->id_lens[m->cur]);
}

int fog_mss_new(fog_mss **out, const fog_mss_config *cfg)
{
    *out = NULL;
    int rc = config_check(cfg);
    if (rc < 0) {
        return rc;
    }
    fog_mss *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return FOG_ERR_NOMEM;
    }
    m->cfg = *cfg;
    m->cfg.protocols = NULL;
    fog_buf_init(&m->tx);
    fog_buf_init(&m->left);
    m->state = cfg->is_dialer ? D_HEADER : L_HEADER;
    if ((rc = ids_copy(m, cfg)) < 0 || (rc = send_msg(m, FOG_MSS_PROTOCOL_ID, HEADER_LEN)) < 0) {
        goto fail;
    }
    if (cfg->is_dialer && cfg->pipeline && (rc = send_proposal(m)) < 0) {
        goto fail;
    }
    *out = m;
    return 0;
fail:
    fog_mss_free(m);
    return rc;
}

void fog_mss_free(fog_mss *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->n_ids; i++) {
        free(m->ids[i]);
    }
    free(m->ids);
    free(m->id_lens);
    fog_buf_clear(&m->tx);
    fog_buf_clear(&m->left);
    free(m);
}

static bool text_is(fog_slice text, const char *s, size_t len)
{
    return text.len == len && memcmp(text.p, s, len) == 0;
}

static void finish(fog_mss *m, fog_mss_ev_kind kind, size_t index)
{
    m->state = DONE;
    m->ev_ready = true;
    m->ev.kind = kind;
    m->ev.index = 0;
    m->ev.protocol = NULL;
    m->ev.protocol_len = 0;
    if (kind == FOG_MSS_EV_NEGOTIATED) {
        m->ev.index = index;
        m->ev.protocol = m->ids[index];
        m->ev.protocol_len = m->id_lens[index];
        mss_log(m, FOG_LOG_DEBUG, "negotiated %s", m->ids[index]);
    } else {
        mss_log(m, FOG_LOG_DEBUG, "no common protocol");
    }
}

static int on_header(fog_mss *m, fog_slice text)
{
    if (!text_is(text, FOG_MSS_PROTOCOL_ID, HEADER_LEN)) {
        return fog_errf(FOG_ERR_PROTO, "multistream: peer did not send %s", FOG_MSS_PROTOCOL_ID);
    }
    if (m->state == L_HEADER) {
        m->state = L_PROPOSAL;
        return 0;
    }
    m->state = D_REPLY;
    return m->cfg.pipeline ? 0 : send_proposal(m);
}

static int on_reply(fog_mss *m, fog_slice text)
{
    if (text_is(text, m->ids[m->cur], m->id_lens[m->cur])) {
        finish(m, FOG_MSS_EV_NEGOTIATED, m->cur);
        return 0;
    }
    if (!text_is(text, "na", 2)) {
        return fog_errf(FOG_ERR_PROTO, "multistream: reply to %s is neither an echo nor na",
                        m->ids[m->cur]);
    }
    m->cur++;
    if (m->cur == m->n_ids) {
        finish(m, FOG_MSS_EV_FAILED, 0);
        return 0;
    }
    return send_proposal(m);
}

static int on_proposal(fog_mss *m, fog_slice text)
{
    for (size_t i = 0; i < m->n_ids; i++) {
        if (text_is(text, m->ids[i], m->id_lens[i])) {
            int rc = send_msg(m, m->ids[i], m->id_lens[i]);
            if (rc == 0) {
                finish(m, FOG_MSS_EV_NEGOTIATED, i);
            }
            return rc;
        }
    }
    if (m->rejects >= m->cfg.max_rejects) {
        return fog_errf(FOG_ERR_LIMIT, "multistream: more than %u refused proposals",
                        m->cfg.max_rejects);
    }
    m->rejects++;
    return send_msg(m, "na", 2);
}

static int on_message(fog_mss *m, fog_slice text)
{
    switch (m->state) {
    case D_HEADER:
    case L_HEADER:
        return on_header(m, text);
    case D_REPLY:
        return on_reply(m, text);
    case L_PROPOSAL:
        return on_proposal(m, text);
    case DONE:
    case DEAD:
        break;
    }
    return FOG_ERR_INVALID; /* unreachable: feed routes DONE bytes to the leftover */
}

/* Reads one more varint byte into rx; sets rx_need once the length is complete. */
static int rx_varint(fog_mss *m, fog_reader *in)
{
    uint8_t b;
    fog_reader_u8(in, &b);
    if (in->err < 0) {
        return in->err;
    }
    m->rx[m->rx_have++] = b;
    fog_reader vr;
    fog_reader_init(&vr, m->rx, m->rx_have);
    uint64_t len;
    fog_reader_uvarint(&vr, &len);
    if (vr.err == FOG_ERR_TRUNCATED && m->rx_have < 2) {
        return 0;
    }
    if (vr.err == FOG_ERR_TRUNCATED) {
        return fog_errf(FOG_ERR_LIMIT, "multistream: message over %d bytes", FOG_MSS_MSG_MAX);
    }
    if (vr.err < 0) {
        return fog_errf(FOG_ERR_PROTO, "multistream: non-minimal length varint");
    }
    if (len == 0) {
        return fog_errf(FOG_ERR_PROTO, "multistream: empty message (no newline)");
    }
    if (len > FOG_MSS_MSG_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "multistream: message of %llu bytes, over %d",
                        (unsigned long long)len, FOG_MSS_MSG_MAX);
    }
    m->rx_need = m->rx_have + (size_t)len;
    return 0;
}

/* Splits the complete message in rx into its text (without '\n'); the text borrows rx. */
static int rx_message(fog_mss *m, fog_slice *text)
{
    fog_reader r;
    fog_reader_init(&r, m->rx, m->rx_need);
    uint64_t len;
    uint8_t nl;
    fog_reader_uvarint(&r, &len);
    fog_reader_bytes(&r, (size_t)len - 1, text); /* rx_varint checked 1 <= len <= MSG_MAX */
    fog_reader_u8(&r, &nl);
    m->rx_have = 0;
    m->rx_need = 0;
    if (r.err < 0) {
        return r.err;
    }
    if (nl != '\n') {
        return fog_errf(FOG_ERR_PROTO, "multistream: message does not end with a newline");
    }
    return 1;
}

/* Takes input into rx: 1 with *text set when a message is complete, 0 when more is needed. */
static int rx_step(fog_mss *m, fog_reader *in, fog_slice *text)
{
    if (m->rx_need == 0) {
        return rx_varint(m, in);
    }
    size_t want = m->rx_need - m->rx_have;
    size_t n = want < in->left ? want : in->left;
    fog_slice s;
    fog_reader_bytes(in, n, &s);
    if (in->err < 0) {
        return in->err;
    }
    memcpy(m->rx + m->rx_have, s.p, n);
    m->rx_have += n;
    return m->rx_have == m->rx_need ? rx_message(m, text) : 0;
}

static int leftover_add(fog_mss *m, fog_reader *in)
{
    fog_slice rest;
    fog_reader_bytes(in, in->left, &rest);
    if (rest.len > m->cfg.max_leftover_bytes - m->left.len) {
        return fog_errf(FOG_ERR_LIMIT, "multistream: over %zu bytes after negotiation",
                        m->cfg.max_leftover_bytes);
    }
    return fog_buf_append(&m->left, rest.p, rest.len);
}

int fog_mss_feed(fog_mss *m, const uint8_t *in, size_t in_len, fog_ms now)
{
    (void)now; /* no timers here: the caller times the negotiation */
    if (m->state == DEAD) {
        return m->err;
    }
    fog_reader r;
    fog_reader_init(&r, in, in_len);
    int rc = 0;
    while (rc >= 0 && r.left > 0) {
        if (m->state == DONE) {
            rc = leftover_add(m, &r);
            break;
        }
        fog_slice text;
        rc = rx_step(m, &r, &text);
        if (rc == 1) {
            rc = on_message(m, text);
        }
    }
    if (rc < 0) {
        m->state = DEAD;
        m->err = rc;
        mss_log(m, FOG_LOG_DEBUG, "failed: %s", fog_err_detail(rc));
        return rc;
    }
    return 0;
}

bool fog_mss_poll_event(fog_mss *m, fog_mss_event *ev_out)
{
    if (!m->ev_ready) {
        return false;
    }
    *ev_out = m->ev;
    m->ev_ready = false;
    return true;
}

int fog_mss_pull(fog_mss *m, uint8_t *dst, size_t cap, size_t *len_out, fog_ms now)
{
    (void)now;
    size_t pending = m->tx.len - m->tx_off;
    size_t n = pending < cap ? pending : cap;
    if (n > 0) {
        memcpy(dst, m->tx.p + m->tx_off, n);
    }
    m->tx_off += n;
    if (m->tx_off == m->tx.len) {
        fog_buf_reset(&m->tx);
        m->tx_off = 0;
    }
    *len_out = n;
    return 0;
}

bool fog_mss_want_write(const fog_mss *m)
{
    return m->tx.len > m->tx_off;
}

bool fog_mss_done(const fog_mss *m)
{
    return m->state == DONE;
}

fog_slice fog_mss_leftover(const fog_mss *m)
{
    return fog_slice_make(m->left.p, m->left.len);
}

void fog_mss_leftover_clear(fog_mss *m)
{
    fog_buf_reset(&m->left);
}
