/* noise.c: the libp2p Noise secure channel core (libp2p/specs noise/README.md), sans-I/O.
 * Framing: every Noise message, handshake or transport, travels behind a 2-byte big-endian length
 * (so at most 65535 bytes). The receive side collects one frame at a time into a fixed 64 KiB
 * buffer, one byte of the length at a time if need be, so input arriving in any fragments is
 * handled and nothing grows except the plaintext not yet handed out, which max_buffered_bytes
 * caps. Handshake: the initiator queues message 1 (e, empty payload: the spec forbids a payload
 * there) at fog_noise_new; the responder answers message 1 with message 2 and its payload; the
 * initiator checks that payload (noise_payload.c), picks the muxer and answers with message 3;
 * the responder checks message 3. Each side then splits into one cipher per direction and queues
 * HANDSHAKE_DONE. A payload in message 1 is ignored, as go-libp2p does. Transport: each frame is
 * one ChaChaPoly ciphertext with empty associated data; decrypted bytes are appended to one
 * plaintext buffer that the next DATA event lends out whole (the channel is a byte stream, so
 * frame edges carry no meaning). States: HANDSHAKE, TRANSPORT, DEAD; after DEAD every call
 * returns the fatal code.
 */
#include "fog/noise.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fog/crypto.h"
#include "fog/mf.h"
#include "net/noise_internal.h"

#define FRAME_OVERHEAD (2 + FOG__NOISE_TAG_LEN)

typedef enum { ST_HANDSHAKE, ST_TRANSPORT, ST_DEAD } noise_state;

struct fog_noise {
    fog_noise_config cfg; /* borrowed pointers cleared: the copies live below */
    noise_state st;
    int err; /* the fatal code once st == ST_DEAD */
    uint8_t secret[FOG_ED25519_SECRET_LEN];
    uint8_t expected[FOG_NOISE_PEER_ID_MAX];
    size_t expected_len; /* 0: any remote */
    char mux_names[FOG_NOISE_MUXERS_MAX][FOG_NOISE_MUXER_NAME_MAX + 1];
    const char *muxers[FOG_NOISE_MUXERS_MAX]; /* point into mux_names */
    const char *chosen;                       /* into mux_names, or NULL */
    fog__noise_hs hs;                         /* wiped after the split */
    fog_buf payload;                          /* our handshake payload */
    fog__noise_cipher tx, rx;
    uint8_t peer_id[FOG_NOISE_PEER_ID_MAX];
    size_t peer_id_len;
    bool done_pending; /* HANDSHAKE_DONE not yet polled */
    uint8_t hdr[2];
    size_t hdr_have;   /* bytes of the length prefix received (0..2) */
    size_t frame_len;  /* once hdr_have == 2: the frame's length */
    size_t frame_have; /* bytes of the frame received, <= frame_len */
    uint8_t frame[FOG_NOISE_MSG_MAX];
    uint8_t scratch[FOG_NOISE_MSG_MAX]; /* a handshake payload, decrypted */
    fog_buf plain;                      /* decrypted transport bytes not yet released */
    bool plain_lent;                    /* plain was handed out by a DATA event */
    fog_buf out;                        /* output; bytes before out_off are pulled */
    size_t out_off;
};

#define nlog(n, level, ...) fog_logf(&(n)->cfg.log, level, "noise", __VA_ARGS__)

static int die(fog_noise *n, int rc)
{
    n->st = ST_DEAD;
    n->err = rc;
    nlog(n, FOG_LOG_WARN, "%s: %s", n->cfg.is_initiator ? "initiator" : "responder",
         fog_err_detail(rc));
    return rc;
}

void fog_noise_config_default(fog_noise_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_queued_bytes = 2u << 20;
    cfg->max_buffered_bytes = 1u << 20;
    cfg->log.level = FOG_LOG_INFO;
}

static int config_check(const fog_noise_config *cfg)
{
    if (cfg->identity_secret == NULL || cfg->rng.fill == NULL) {
        return fog_errf(FOG_ERR_INVALID, "noise: config needs an identity secret and an rng");
    }
    if (cfg->max_buffered_bytes < FOG_NOISE_MSG_MAX ||
        cfg->max_queued_bytes < FOG_NOISE_MSG_MAX + 2) {
        return fog_errf(FOG_ERR_INVALID, "noise: caps must hold one 65535-byte frame");
    }
    if (cfg->expected_peer_id_len > FOG_NOISE_PEER_ID_MAX ||
        (cfg->expected_peer_id_len > 0 && cfg->expected_peer_id == NULL)) {
        return fog_errf(FOG_ERR_INVALID, "noise: expected peer ID too long");
    }
    if (cfg->muxer_count > FOG_NOISE_MUXERS_MAX) {
        return fog_errf(FOG_ERR_INVALID, "noise: more than %d muxers", FOG_NOISE_MUXERS_MAX);
    }
    for (size_t i = 0; i < cfg->muxer_count; i++) {
        size_t len = strlen(cfg->muxers[i]);
        if (len == 0 || len > FOG_NOISE_MUXER_NAME_MAX) {
            return fog_errf(FOG_ERR_INVALID, "noise: muxer name of %zu bytes", len);
        }
    }
    return 0;
}

static void config_copy(fog_noise *n, const fog_noise_config *cfg)
{
    n->cfg = *cfg;
    memcpy(n->secret, cfg->identity_secret, sizeof n->secret);
    n->expected_len = cfg->expected_peer_id_len;
    if (n->expected_len > 0) {
        memcpy(n->expected, cfg->expected_peer_id, n->expected_len);
    }
    for (size_t i = 0; i < cfg->muxer_count; i++) {
        memcpy(n->mux_names[i], cfg->muxers[i], strlen(cfg->muxers[i]) + 1);
        n->muxers[i] = n->mux_names[i];
    }
    n->cfg.identity_secret = NULL;
    n->cfg.expected_peer_id = NULL;
    n->cfg.muxers = NULL;
}

/* Queues our next handshake message: empty payload in message 1, our payload in 2 and 3. */
static int send_hs(fog_noise *n)
{
    static const uint8_t none[1];
    const uint8_t *p = n->hs.step == 0 ? none : n->payload.p;
    size_t p_len = n->hs.step == 0 ? 0 : n->payload.len;
    size_t len = fog__noise_hs_write_len(&n->hs, p_len);
    if (len > FOG_NOISE_MSG_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "noise: our handshake payload is too large");
    }
    int rc = fog_buf_reserve(&n->out, 2 + len);
    if (rc < 0) {
        return rc;
    }
    uint8_t *dst = n->out.p + n->out.len;
    size_t w = 0;
    if ((rc = fog__noise_hs_write(&n->hs, p, p_len, dst + 2, len, &w)) < 0) {
        return rc;
    }
    dst[0] = (uint8_t)(w >> 8);
    dst[1] = (uint8_t)w;
    n->out.len += 2 + w;
    return 0;
}

int fog_noise_new(fog_noise **out, const fog_noise_config *cfg)
{
    int rc = config_check(cfg);
    if (rc < 0) {
        return rc;
    }
    fog_noise *n = calloc(1, sizeof *n);
    if (n == NULL) {
        return FOG_ERR_NOMEM;
    }
    config_copy(n, cfg);
    uint8_t keys[64]; /* X25519 static then ephemeral private key */
    cfg->rng.fill(cfg->rng.ctx, keys, sizeof keys);
    static const uint8_t empty_prologue[1];
    fog__noise_hs_init(&n->hs, cfg->is_initiator, empty_prologue, 0, keys, keys + 32);
    fog_memzero(keys, sizeof keys);
    rc = fog__noise_payload_make(n->secret, n->hs.s_pub, n->muxers, cfg->muxer_count,
                                 &n->payload);
    if (rc == 0 && cfg->is_initiator) {
        rc = send_hs(n);
    }
    if (rc < 0) {
        fog_noise_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

void fog_noise_free(fog_noise *n)
{
    if (n == NULL) {
        return;
    }
    fog_buf_clear(&n->payload);
    if (n->plain.p != NULL) {
        fog_memzero(n->plain.p, n->plain.cap);
    }
    fog_buf_clear(&n->plain);
    fog_buf_clear(&n->out);
    fog_memzero(n, sizeof *n);
    free(n);
}

/* Checks the remote's identity against the config and agrees on the muxer. */
static int accept_remote(fog_noise *n, const fog__noise_remote *rem)
{
    if (n->expected_len > 0 &&
        (rem->peer_id_len != n->expected_len ||
         memcmp(rem->peer_id, n->expected, n->expected_len) != 0)) {
        char got[128], want[128];
        if (fog_peer_id_format(rem->peer_id, rem->peer_id_len, got, sizeof got) < 0 ||
            fog_peer_id_format(n->expected, n->expected_len, want, sizeof want) < 0) {
            return fog_errf(FOG_ERR_AUTH, "noise: remote is not the expected peer");
        }
        return fog_errf(FOG_ERR_AUTH, "noise: remote is peer %s, expected %s", got, want);
    }
    size_t idx = 0;
    int rc = fog__noise_muxer_choose(n->cfg.is_initiator, n->muxers, n->cfg.muxer_count,
                                     rem->muxers, rem->muxer_count, &idx);
    if (rc < 0) {
        return rc;
    }
    n->chosen = rc == 1 ? n->muxers[idx] : NULL;
    memcpy(n->peer_id, rem->peer_id, rem->peer_id_len);
    n->peer_id_len = rem->peer_id_len;
    return 0;
}

static void finish(fog_noise *n)
{
    fog__noise_hs_split(&n->hs, &n->tx, &n->rx);
    fog__noise_hs_wipe(&n->hs);
    n->st = ST_TRANSPORT;
    n->done_pending = true;
    char id[128];
    if (fog_peer_id_format(n->peer_id, n->peer_id_len, id, sizeof id) < 0) {
        id[0] = '\0';
    }
    nlog(n, FOG_LOG_INFO, "secured with %s, muxer %s", id, n->chosen ? n->chosen : "(none)");
}

static int hs_frame(fog_noise *n)
{
    size_t plen = 0;
    int rc = fog__noise_hs_read(&n->hs, n->frame, n->frame_len, n->scratch, &plen);
    if (rc < 0) {
        return rc;
    }
    if (n->hs.step == 1) {
        return send_hs(n); /* we are the responder; message 1's payload is ignored */
    }
    fog__noise_remote rem;
    if ((rc = fog__noise_payload_check(n->scratch, plen, n->hs.rs, &rem)) < 0) {
        return rc;
    }
    rc = accept_remote(n, &rem);
    fog__noise_remote_clear(&rem);
    if (rc == 0 && n->hs.step == 2) {
        rc = send_hs(n); /* we are the initiator: message 3 */
    }
    if (rc == 0) {
        finish(n);
    }
    return rc;
}

/* Decrypts the transport frame ct (frame_len bytes: n->frame, or the caller's input when the
 * whole frame arrived in one piece) onto the plaintext buffer. */
static int data_frame(fog_noise *n, const uint8_t *ct)
{
    size_t pt_len = n->frame_len - FOG__NOISE_TAG_LEN; /* frame_check: >= tag */
    int rc = fog_buf_reserve(&n->plain, pt_len + 1);
    if (rc < 0) {
        return rc;
    }
    rc = fog__noise_decrypt(&n->rx, NULL, 0, ct, n->frame_len, n->plain.p + n->plain.len);
    if (rc < 0) {
        return rc;
    }
    n->plain.len += pt_len;
    return 0;
}

/* Checks a frame's announced length before any of its body is taken in. */
static int frame_check(const fog_noise *n)
{
    if (n->st == ST_TRANSPORT && n->frame_len < FOG__NOISE_TAG_LEN) {
        return fog_errf(FOG_ERR_PROTO, "noise: transport frame of %zu bytes is shorter than "
                        "its tag", n->frame_len);
    }
    if (n->frame_len > n->cfg.max_buffered_bytes - n->plain.len) {
        return fog_errf(FOG_ERR_LIMIT, "noise: a %zu-byte frame on top of %zu undelivered bytes "
                        "exceeds the input cap of %zu", n->frame_len, n->plain.len,
                        n->cfg.max_buffered_bytes);
    }
    return 0;
}

static int feed_step(fog_noise *n, fog_reader *r)
{
    fog_slice s;
    if (n->hdr_have < 2) {
        fog_reader_bytes(r, 1, &s);
        n->hdr[n->hdr_have++] = s.p[0];
        if (n->hdr_have < 2) {
            return 0;
        }
        n->frame_len = (size_t)n->hdr[0] << 8 | n->hdr[1];
        n->frame_have = 0;
        int rc = frame_check(n);
        if (rc < 0) {
            return rc;
        }
    } else if (n->st == ST_TRANSPORT && n->frame_have == 0 && r->left >= n->frame_len) {
        /* The whole frame is in the input: decrypt it from there, without the copy. */
        fog_reader_bytes(r, n->frame_len, &s);
        n->hdr_have = 0;
        return data_frame(n, s.p);
    } else {
        size_t take = n->frame_len - n->frame_have;
        take = take < r->left ? take : r->left;
        fog_reader_bytes(r, take, &s);
        memcpy(n->frame + n->frame_have, s.p, take);
        n->frame_have += take;
    }
    if (n->frame_have < n->frame_len) {
        return 0;
    }
    n->hdr_have = 0;
    return n->st == ST_HANDSHAKE ? hs_frame(n) : data_frame(n, n->frame);
}

static void release_lent(fog_noise *n)
{
    if (n->plain_lent) {
        n->plain.len = 0;
        n->plain_lent = false;
    }
}

int fog_noise_feed(fog_noise *n, const uint8_t *in, size_t in_len, fog_ms now)
{
    (void)now; /* Noise has no timers */
    if (n->st == ST_DEAD) {
        return n->err;
    }
    release_lent(n);
    fog_reader r;
    fog_reader_init(&r, in, in_len);
    while (r.left > 0) {
        int rc = feed_step(n, &r);
        if (rc < 0) {
            return die(n, rc);
        }
    }
    return 0;
}

bool fog_noise_poll_event(fog_noise *n, fog_noise_event *ev_out)
{
    if (n->st == ST_DEAD) {
        return false;
    }
    memset(ev_out, 0, sizeof *ev_out);
    if (n->done_pending) {
        n->done_pending = false;
        ev_out->kind = FOG_NOISE_EV_HANDSHAKE_DONE;
        ev_out->peer_id = fog_slice_make(n->peer_id, n->peer_id_len);
        ev_out->muxer = n->chosen;
        return true;
    }
    release_lent(n);
    if (n->plain.len == 0) {
        return false;
    }
    ev_out->kind = FOG_NOISE_EV_DATA;
    ev_out->data = fog_slice_make(n->plain.p, n->plain.len);
    n->plain_lent = true;
    return true;
}

int fog_noise_pull(fog_noise *n, uint8_t *dst, size_t cap, size_t *len_out, fog_ms now)
{
    (void)now;
    *len_out = 0;
    if (n->st == ST_DEAD) {
        return n->err;
    }
    size_t avail = n->out.len - n->out_off;
    size_t k = cap < avail ? cap : avail;
    if (k > 0) {
        memcpy(dst, n->out.p + n->out_off, k);
    }
    n->out_off += k;
    if (n->out_off == n->out.len) {
        n->out_off = 0;
        n->out.len = 0;
    }
    *len_out = k;
    return 0;
}

size_t fog_noise_queued(const fog_noise *n)
{
    return n->st == ST_DEAD ? 0 : n->out.len - n->out_off;
}

bool fog_noise_is_done(const fog_noise *n)
{
    return n->st == ST_TRANSPORT;
}

/* Room for the frames of len plaintext bytes, or FOG_ERR_LIMIT past the output cap. */
static int out_room(fog_noise *n, size_t len)
{
    size_t frames = len / FOG_NOISE_PLAINTEXT_MAX + (len % FOG_NOISE_PLAINTEXT_MAX != 0);
    size_t total = 0, queued = n->out.len - n->out_off, over = 0;
    if (fog_mul_size(frames, FRAME_OVERHEAD, &over) < 0 || fog_add_size(len, over, &total) < 0 ||
        total > n->cfg.max_queued_bytes || queued > n->cfg.max_queued_bytes - total) {
        return fog_errf(FOG_ERR_LIMIT, "noise: writing %zu bytes would pass the output cap", len);
    }
    if (n->out_off > 0) {
        memmove(n->out.p, n->out.p + n->out_off, queued);
        n->out.len = queued;
        n->out_off = 0;
    }
    return fog_buf_reserve(&n->out, total);
}

int fog_noise_write(fog_noise *n, const uint8_t *data, size_t len)
{
    if (n->st == ST_DEAD) {
        return n->err;
    }
    if (n->st != ST_TRANSPORT) {
        return fog_errf(FOG_ERR_INVALID, "noise: write before the handshake is done");
    }
    int rc = out_room(n, len);
    if (rc < 0) {
        return rc;
    }
    for (size_t off = 0; off < len;) {
        size_t chunk = len - off < FOG_NOISE_PLAINTEXT_MAX ? len - off : FOG_NOISE_PLAINTEXT_MAX;
        size_t frame = chunk + FOG__NOISE_TAG_LEN;
        uint8_t *dst = n->out.p + n->out.len;
        dst[0] = (uint8_t)(frame >> 8);
        dst[1] = (uint8_t)frame;
        if ((rc = fog__noise_encrypt(&n->tx, NULL, 0, data + off, chunk, dst + 2)) < 0) {
            return die(n, rc);
        }
        n->out.len += 2 + frame;
        off += chunk;
    }
    return 0;
}

int fog_noise_seal_frame(fog_noise *n, uint8_t *frame, size_t pt_len)
{
    if (n->st == ST_DEAD) {
        return n->err;
    }
    if (n->st != ST_TRANSPORT || fog_noise_queued(n) != 0 || pt_len == 0 ||
        pt_len > FOG_NOISE_PLAINTEXT_MAX) {
        return fog_errf(FOG_ERR_INVALID, "noise: a sealed frame must come alone and fit");
    }
    size_t len = pt_len + FOG__NOISE_TAG_LEN;
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    int rc = fog__noise_encrypt(&n->tx, NULL, 0, frame + 2, pt_len, frame + 2);
    return rc < 0 ? die(n, rc) : 0;
}
