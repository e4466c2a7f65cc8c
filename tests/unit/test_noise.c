/* test_noise.c: the Noise secure channel.
 * (1) The raw Noise_XX_25519_ChaChaPoly_SHA256 layer against the cacophony test vectors (non-empty
 * prologue): every handshake ciphertext, the handshake hash and the transport ciphertexts after
 * Split. (2) Two libp2p cores over an in-memory pipe: handshake and the peer IDs each side sees
 * (checked against the identity multihash built by hand: 00 24 08 01 12 20 || key), inlined muxer
 * agreement, 1-byte fragmented feeding, transport data both ways including a 1 MiB write split
 * into 17 frames, and failures: a tampered byte, an oversized frame, a frame shorter than its tag,
 * a wrong expected peer ID, a bad identity signature and an unsupported key type (the last two
 * from a fake responder driven through the raw layer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "fog/crypto.h"
#include "fog/mf.h"
#include "fog/noise.h"
#include "net/noise_internal.h"
#include "proto/keys.pb-c.h"
#include "proto/noise.pb-c.h"
#include "testlib.h"

static const char *const yamux[] = {"/yamux/1.0.0"};

/* ---- raw layer against the vectors ---- */

static size_t hexfield(json_t *o, const char *key, uint8_t *out, size_t cap)
{
    json_t *v = json_object_get(o, key);
    assert_non_null(v);
    return tl_unhex(json_string_value(v), out, cap);
}

static void vec_handshake(json_t *v, fog__noise_hs *ini, fog__noise_hs *res)
{
    uint8_t pro[256], s[32], e[32];
    size_t pl = hexfield(v, "init_prologue", pro, sizeof pro);
    hexfield(v, "init_static", s, 32);
    hexfield(v, "init_ephemeral", e, 32);
    fog__noise_hs_init(ini, true, pro, pl, s, e);
    pl = hexfield(v, "resp_prologue", pro, sizeof pro);
    hexfield(v, "resp_static", s, 32);
    hexfield(v, "resp_ephemeral", e, 32);
    fog__noise_hs_init(res, false, pro, pl, s, e);
}

static void vec_message(json_t *m, size_t i, fog__noise_hs *hs[2], fog__noise_cipher *tx[2],
                        fog__noise_cipher *rx[2])
{
    static uint8_t pt[1024], ct[1024], got[1024], back[1024];
    size_t pt_len = hexfield(m, "payload", pt, sizeof pt);
    size_t ct_len = hexfield(m, "ciphertext", ct, sizeof ct);
    size_t w = i % 2, r = 1 - w, got_len = 0, back_len = 0;
    if (i < 3) {
        assert_int_equal(fog__noise_hs_write(hs[w], pt, pt_len, got, sizeof got, &got_len), 0);
        assert_int_equal(fog__noise_hs_read(hs[r], got, got_len, back, &back_len), 0);
    } else {
        got_len = pt_len + FOG__NOISE_TAG_LEN;
        back_len = pt_len;
        assert_int_equal(fog__noise_encrypt(tx[w], NULL, 0, pt, pt_len, got), 0);
        assert_int_equal(fog__noise_decrypt(rx[r], NULL, 0, got, got_len, back), 0);
    }
    assert_int_equal(got_len, ct_len);
    assert_memory_equal(got, ct, ct_len);
    assert_int_equal(back_len, pt_len);
    assert_memory_equal(back, pt, pt_len);
}

static void test_noise_vectors(void **state)
{
    (void)state;
    char path[1024];
    const char *rel = "haskell-cryptography-cacophony/noise_xx_25519_chachapoly_sha256.json";
    if (!tl_vec_path(path, sizeof path, rel)) {
        return;
    }
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    json_t *vecs = json_object_get(root, "vectors");
    size_t vi, count = 0;
    json_t *v;
    json_array_foreach(vecs, vi, v)
    {
        fog__noise_hs ini, res;
        fog__noise_cipher itx, irx, rtx, rrx;
        fog__noise_hs *hs[2] = {&ini, &res};
        fog__noise_cipher *tx[2] = {&itx, &rtx}, *rx[2] = {&irx, &rrx};
        vec_handshake(v, &ini, &res);
        json_t *msgs = json_object_get(v, "messages"), *m;
        size_t i;
        json_array_foreach(msgs, i, m)
        {
            if (i == 3) {
                uint8_t hh[32];
                hexfield(v, "handshake_hash", hh, 32);
                assert_memory_equal(ini.h, hh, 32);
                assert_memory_equal(res.h, hh, 32);
                fog__noise_hs_split(&ini, &itx, &irx);
                fog__noise_hs_split(&res, &rtx, &rrx);
            }
            vec_message(m, i, hs, tx, rx);
        }
        assert_true(json_array_size(msgs) > 3);
        count++;
    }
    assert_true(count > 0);
    json_decref(root);
}

/* ---- two libp2p cores over an in-memory pipe ---- */

static void rng_fill(void *ctx, uint8_t *out, size_t len)
{
    uint64_t *s = ctx; /* splitmix64 */
    for (size_t i = 0; i < len; i++) {
        uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        out[i] = (uint8_t)(z ^ (z >> 31));
    }
}

typedef struct {
    fog_noise *n;
    uint64_t seed;
    uint8_t pub[32], secret[64];
    bool done;
    uint8_t peer_id[64];
    size_t peer_id_len;
    char muxer[64]; /* "" when none */
    fog_buf data;
    int err;
} peer;

static void peer_key(peer *p, uint8_t tag)
{
    uint8_t seed[32];
    memset(seed, tag, sizeof seed);
    fog_ed25519_from_seed(seed, p->pub, p->secret);
}

static void peer_cfg(peer *p, fog_noise_config *cfg, bool initiator, uint8_t tag)
{
    memset(p, 0, sizeof *p);
    peer_key(p, tag);
    p->seed = tag;
    fog_noise_config_default(cfg);
    cfg->is_initiator = initiator;
    cfg->identity_secret = p->secret;
    cfg->rng.fill = rng_fill;
    cfg->rng.ctx = &p->seed;
}

static void peer_start(peer *p, const fog_noise_config *cfg)
{
    assert_int_equal(fog_noise_new(&p->n, cfg), 0);
}

static void peer_drain(peer *p)
{
    fog_noise_event ev;
    while (fog_noise_poll_event(p->n, &ev)) {
        if (ev.kind == FOG_NOISE_EV_HANDSHAKE_DONE) {
            assert_false(p->done);
            p->done = true;
            assert_true(ev.peer_id.len <= sizeof p->peer_id);
            memcpy(p->peer_id, ev.peer_id.p, ev.peer_id.len);
            p->peer_id_len = ev.peer_id.len;
            snprintf(p->muxer, sizeof p->muxer, "%s", ev.muxer ? ev.muxer : "");
        } else {
            assert_int_equal(ev.kind, FOG_NOISE_EV_DATA);
            assert_true(p->done);
            assert_int_equal(fog_buf_append(&p->data, ev.data.p, ev.data.len), 0);
        }
    }
}

/* Moves what a has queued to b, fed in pieces of at most chunk bytes; false when nothing moved
 * or b failed (its code in b->err). */
static bool pipe_once(peer *a, peer *b, size_t chunk)
{
    static uint8_t buf[65536];
    bool moved = false;
    size_t len = 1;
    while (b->err == 0 && len > 0) {
        size_t cap = chunk < sizeof buf ? chunk : sizeof buf;
        assert_int_equal(fog_noise_pull(a->n, buf, cap, &len, 0), 0);
        if (len > 0) {
            moved = true;
            b->err = fog_noise_feed(b->n, buf, len, 0);
            if (b->err == 0) {
                peer_drain(b);
            }
        }
    }
    return moved && b->err == 0;
}

static void pump(peer *a, peer *b, size_t chunk)
{
    bool m1 = true, m2 = true;
    while ((m1 || m2) && a->err == 0 && b->err == 0) {
        m1 = pipe_once(a, b, chunk);
        m2 = pipe_once(b, a, chunk);
    }
}

static void peer_free(peer *p)
{
    fog_noise_free(p->n);
    fog_buf_clear(&p->data);
}

/* The identity-multihash peer ID of an Ed25519 key, by hand: multihash(identity 0x00, 36 bytes)
 * of the PublicKey pb {Type = 1 (08 01), Data = 32 bytes (12 20 ...)}. */
static void expect_peer_id(const peer *seen_by, const peer *of)
{
    uint8_t want[38] = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
    memcpy(want + 6, of->pub, 32);
    assert_int_equal(seen_by->peer_id_len, sizeof want);
    assert_memory_equal(seen_by->peer_id, want, sizeof want);
}

/* Handshake with the given muxer lists; returns the pair ready (or failed: see err). */
static void pair(peer *i, peer *r, const char *const *im, size_t in, const char *const *rm,
                 size_t rn, size_t chunk)
{
    fog_noise_config ic, rc;
    peer_cfg(i, &ic, true, 1);
    peer_cfg(r, &rc, false, 2);
    ic.muxers = im;
    ic.muxer_count = in;
    rc.muxers = rm;
    rc.muxer_count = rn;
    peer_start(i, &ic);
    peer_start(r, &rc);
    pump(i, r, chunk);
}

static void test_noise_handshake_yamux(void **state)
{
    (void)state;
    peer i, r;
    pair(&i, &r, yamux, 1, yamux, 1, 65536);
    assert_int_equal(i.err, 0);
    assert_int_equal(r.err, 0);
    assert_true(i.done && r.done);
    assert_true(fog_noise_is_done(i.n) && fog_noise_is_done(r.n));
    expect_peer_id(&i, &r);
    expect_peer_id(&r, &i);
    assert_string_equal(i.muxer, "/yamux/1.0.0");
    assert_string_equal(r.muxer, "/yamux/1.0.0");
    peer_free(&i);
    peer_free(&r);
}

static void test_noise_muxer_initiator_preference(void **state)
{
    (void)state;
    const char *const im[] = {"/mplex/6.7.0", "/yamux/1.0.0"};
    const char *const rm[] = {"/yamux/1.0.0", "/mplex/6.7.0"};
    peer i, r;
    pair(&i, &r, im, 2, rm, 2, 65536);
    assert_true(i.done && r.done);
    assert_string_equal(i.muxer, "/mplex/6.7.0");
    assert_string_equal(r.muxer, "/mplex/6.7.0");
    peer_free(&i);
    peer_free(&r);
}

static void test_noise_muxer_no_overlap_fails(void **state)
{
    (void)state;
    const char *const rm[] = {"/mplex/6.7.0"};
    peer i, r;
    pair(&i, &r, yamux, 1, rm, 1, 65536);
    assert_int_equal(i.err, FOG_ERR_PROTO);
    assert_false(i.done);
    assert_false(r.done);
    /* After a fatal error every call reports it. */
    size_t len = 0;
    uint8_t b[4];
    assert_int_equal(fog_noise_pull(i.n, b, sizeof b, &len, 0), FOG_ERR_PROTO);
    assert_int_equal(fog_noise_write(i.n, b, 1), FOG_ERR_PROTO);
    peer_free(&i);
    peer_free(&r);
}

static void test_noise_muxer_one_side_none(void **state)
{
    (void)state;
    peer i, r;
    pair(&i, &r, yamux, 1, NULL, 0, 65536);
    assert_true(i.done && r.done);
    assert_string_equal(i.muxer, "");
    assert_string_equal(r.muxer, "");
    peer_free(&i);
    peer_free(&r);
    pair(&i, &r, NULL, 0, yamux, 1, 65536);
    assert_true(i.done && r.done);
    assert_string_equal(i.muxer, "");
    assert_string_equal(r.muxer, "");
    peer_free(&i);
    peer_free(&r);
}

static void test_noise_fragmented_feeding(void **state)
{
    (void)state;
    peer i, r;
    pair(&i, &r, yamux, 1, yamux, 1, 1);
    assert_true(i.done && r.done);
    expect_peer_id(&i, &r);
    expect_peer_id(&r, &i);
    const uint8_t msg[] = "hello over noise";
    assert_int_equal(fog_noise_write(i.n, msg, sizeof msg), 0);
    assert_int_equal(fog_noise_write(r.n, msg, 5), 0);
    pump(&i, &r, 1);
    assert_int_equal(r.data.len, sizeof msg);
    assert_memory_equal(r.data.p, msg, sizeof msg);
    assert_int_equal(i.data.len, 5);
    assert_memory_equal(i.data.p, msg, 5);
    peer_free(&i);
    peer_free(&r);
}

/* Checks the framing of a 1 MiB write by hand: 16 full frames of 65519 + 16 bytes, then the 16
 * remaining bytes in a 32-byte frame. */
static void check_frames(peer *a, size_t total, fog_buf *out_)
{
    fog_buf out = *out_;
    uint8_t buf[4096];
    size_t len = 1;
    while (len > 0) {
        assert_int_equal(fog_noise_pull(a->n, buf, sizeof buf, &len, 0), 0);
        assert_int_equal(fog_buf_append(&out, buf, len), 0);
    }
    size_t off = 0, frames = 0, plain = 0;
    while (off < out.len) {
        size_t flen = (size_t)out.p[off] << 8 | out.p[off + 1];
        assert_true(flen <= 65535);
        assert_true(flen > 16);
        plain += flen - 16;
        off += 2 + flen;
        frames++;
    }
    assert_int_equal(off, out.len);
    assert_int_equal(plain, total);
    assert_int_equal(frames, 17);
    assert_int_equal(out.len, total + 17 * 18);
    *out_ = out;
}

static void test_noise_transport_1mib(void **state)
{
    (void)state;
    peer i, r;
    pair(&i, &r, yamux, 1, yamux, 1, 65536);
    size_t total = 1u << 20;
    uint8_t *big = malloc(total);
    assert_non_null(big);
    for (size_t k = 0; k < total; k++) {
        big[k] = (uint8_t)(k * 31 + (k >> 12));
    }
    assert_int_equal(fog_noise_write(r.n, big, total), 0);
    fog_buf wire;
    fog_buf_init(&wire);
    check_frames(&r, total, &wire);
    for (size_t off = 0; off < wire.len; off += 10000) {
        size_t n = wire.len - off < 10000 ? wire.len - off : 10000;
        assert_int_equal(fog_noise_feed(i.n, wire.p + off, n, 0), 0);
        peer_drain(&i);
    }
    fog_buf_clear(&wire);
    assert_int_equal(i.data.len, total);
    assert_memory_equal(i.data.p, big, total);
    fog_buf_reset(&i.data);
    assert_int_equal(fog_noise_write(r.n, big, total), 0);
    assert_int_equal(fog_noise_write(i.n, big, total), 0);
    pump(&i, &r, 16384);
    assert_int_equal(i.err, 0);
    assert_int_equal(r.err, 0);
    assert_int_equal(i.data.len, total);
    assert_memory_equal(i.data.p, big, total);
    assert_int_equal(r.data.len, total);
    assert_memory_equal(r.data.p, big, total);
    free(big);
    peer_free(&i);
    peer_free(&r);
}

static void test_noise_write_limits(void **state)
{
    (void)state;
    fog_noise_config cfg;
    peer i, r;
    peer_cfg(&i, &cfg, true, 1);
    peer_start(&i, &cfg);
    uint8_t b[1] = {0};
    assert_int_equal(fog_noise_write(i.n, b, 1), FOG_ERR_INVALID);
    peer_free(&i);
    pair(&i, &r, NULL, 0, NULL, 0, 65536);
    size_t big = 3u << 20; /* past the 2 MiB default output cap */
    uint8_t *p = calloc(1, big);
    assert_non_null(p);
    assert_int_equal(fog_noise_write(i.n, p, big), FOG_ERR_LIMIT);
    assert_int_equal(fog_noise_queued(i.n), 0);
    assert_int_equal(fog_noise_write(i.n, p, 100), 0); /* not fatal */
    pump(&i, &r, 65536);
    assert_int_equal(r.data.len, 100);
    free(p);
    peer_free(&i);
    peer_free(&r);
}

/* Pulls everything a has queued into out. */
static size_t pull_all(peer *a, uint8_t *out, size_t cap)
{
    size_t len = 0;
    assert_int_equal(fog_noise_pull(a->n, out, cap, &len, 0), 0);
    assert_int_equal(fog_noise_queued(a->n), 0);
    return len;
}

static void test_noise_tampered_byte(void **state)
{
    (void)state;
    peer i, r;
    pair(&i, &r, yamux, 1, yamux, 1, 65536);
    uint8_t wire[256];
    assert_int_equal(fog_noise_write(i.n, (const uint8_t *)"secret", 6), 0);
    size_t len = pull_all(&i, wire, sizeof wire);
    assert_int_equal(len, 2 + 6 + 16);
    wire[5] ^= 0x01;
    assert_int_equal(fog_noise_feed(r.n, wire, len, 0), FOG_ERR_AUTH);
    assert_int_equal(fog_noise_feed(r.n, wire, 1, 0), FOG_ERR_AUTH);
    fog_noise_event ev;
    assert_false(fog_noise_poll_event(r.n, &ev));
    peer_free(&i);
    peer_free(&r);
}

/* fog_noise_seal_frame gives the same wire bytes as fog_noise_write, only in place, and is
 * refused while output is queued (it would overtake it). */
static void test_noise_seal_frame(void **state)
{
    (void)state;
    peer i, r;
    pair(&i, &r, yamux, 1, yamux, 1, 65536);
    static uint8_t frame[2 + FOG_NOISE_MSG_MAX];
    assert_int_equal(fog_noise_write(i.n, (const uint8_t *)"first", 5), 0);
    memcpy(frame + 2, "second", 6);
    assert_int_equal(fog_noise_seal_frame(i.n, frame, 6), FOG_ERR_INVALID);
    uint8_t wire[64];
    size_t len = pull_all(&i, wire, sizeof wire);
    assert_int_equal(fog_noise_feed(r.n, wire, len, 0), 0);
    memcpy(frame + 2, "second", 6);
    assert_int_equal(fog_noise_seal_frame(i.n, frame, 6), 0);
    assert_int_equal(frame[0], 0);
    assert_int_equal(frame[1], 6 + 16);
    assert_int_equal(fog_noise_feed(r.n, frame, 2 + 6 + 16, 0), 0);
    for (size_t k = 0; k < FOG_NOISE_PLAINTEXT_MAX; k++) {
        frame[2 + k] = (uint8_t)k;
    }
    assert_int_equal(fog_noise_seal_frame(i.n, frame, FOG_NOISE_PLAINTEXT_MAX), 0);
    assert_int_equal(fog_noise_feed(r.n, frame, sizeof frame, 0), 0);
    assert_int_equal(fog_noise_seal_frame(i.n, frame, FOG_NOISE_PLAINTEXT_MAX + 1),
                     FOG_ERR_INVALID);
    assert_int_equal(fog_noise_seal_frame(i.n, frame, 0), FOG_ERR_INVALID);
    peer_drain(&r);
    assert_int_equal(r.data.len, 5 + 6 + FOG_NOISE_PLAINTEXT_MAX);
    assert_memory_equal(r.data.p, "firstsecond", 11);
    for (size_t k = 0; k < FOG_NOISE_PLAINTEXT_MAX; k++) {
        assert_int_equal(r.data.p[11 + k], (uint8_t)k);
    }
    peer_free(&i);
    peer_free(&r);
}

static void test_noise_tampered_handshake(void **state)
{
    (void)state;
    fog_noise_config ic, rc;
    peer i, r;
    peer_cfg(&i, &ic, true, 1);
    peer_cfg(&r, &rc, false, 2);
    peer_start(&i, &ic);
    peer_start(&r, &rc);
    uint8_t wire[1024];
    size_t len = pull_all(&i, wire, sizeof wire);
    assert_int_equal(len, 2 + 32); /* message 1: e only, no payload */
    assert_int_equal(fog_noise_feed(r.n, wire, len, 0), 0);
    len = pull_all(&r, wire, sizeof wire);
    wire[len - 1] ^= 0x80; /* in the payload's tag */
    assert_int_equal(fog_noise_feed(i.n, wire, len, 0), FOG_ERR_AUTH);
    peer_free(&i);
    peer_free(&r);
}

static void test_noise_oversized_frame(void **state)
{
    (void)state;
    fog_noise_config ic, rc;
    peer i, r;
    peer_cfg(&i, &ic, true, 1);
    peer_cfg(&r, &rc, false, 2);
    rc.max_buffered_bytes = 65535;
    peer_start(&i, &ic);
    peer_start(&r, &rc);
    pump(&i, &r, 65536);
    assert_true(r.done);
    static uint8_t data[60000], wire[2 * 60018];
    assert_int_equal(fog_noise_write(i.n, data, sizeof data), 0);
    assert_int_equal(fog_noise_write(i.n, data, sizeof data), 0);
    size_t len = pull_all(&i, wire, sizeof wire);
    assert_int_equal(len, sizeof wire);
    /* The first frame is taken in; the second's length would pass the cap while the first's
     * plaintext is not yet delivered (nobody polled). */
    assert_int_equal(fog_noise_feed(r.n, wire, 60018, 0), 0);
    assert_int_equal(fog_noise_feed(r.n, wire + 60018, 2, 0), FOG_ERR_LIMIT);
    peer_free(&i);
    peer_free(&r);
}

static void test_noise_short_frame(void **state)
{
    (void)state;
    peer i, r;
    pair(&i, &r, NULL, 0, NULL, 0, 65536);
    const uint8_t frame[] = {0x00, 0x0f, 1, 2, 3};
    assert_int_equal(fog_noise_feed(r.n, frame, sizeof frame, 0), FOG_ERR_PROTO);
    peer_free(&i);
    peer_free(&r);
    /* Message 1 shorter than an ephemeral key. */
    fog_noise_config rc;
    peer_cfg(&r, &rc, false, 2);
    peer_start(&r, &rc);
    const uint8_t m1[] = {0x00, 0x03, 1, 2, 3};
    assert_int_equal(fog_noise_feed(r.n, m1, sizeof m1, 0), FOG_ERR_TRUNCATED);
    peer_free(&r);
}

static void test_noise_wrong_expected_peer(void **state)
{
    (void)state;
    fog_noise_config ic, rc;
    peer i, r, other;
    peer_cfg(&i, &ic, true, 1);
    peer_cfg(&r, &rc, false, 2);
    peer_key(&other, 3);
    uint8_t want[FOG_PEER_ID_ED25519_LEN];
    fog_peer_id_ed25519(other.pub, want);
    ic.expected_peer_id = want;
    ic.expected_peer_id_len = sizeof want;
    peer_start(&i, &ic);
    peer_start(&r, &rc);
    pump(&i, &r, 65536);
    assert_int_equal(i.err, FOG_ERR_AUTH);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_AUTH), "expected"));
    assert_false(i.done);
    assert_false(r.done);
    peer_free(&i);
    peer_free(&r);
    /* The right expected ID passes. */
    peer_cfg(&i, &ic, true, 1);
    peer_cfg(&r, &rc, false, 2);
    fog_peer_id_ed25519(r.pub, want);
    ic.expected_peer_id = want;
    ic.expected_peer_id_len = sizeof want;
    peer_start(&i, &ic);
    peer_start(&r, &rc);
    pump(&i, &r, 65536);
    assert_true(i.done && r.done);
    peer_free(&i);
    peer_free(&r);
}

/* A fake responder through the raw layer: reads the initiator's message 1 and answers with
 * message 2 carrying the given payload. Returns what the initiator's feed says. */
static int fake_responder(peer *i, const uint8_t *payload, size_t payload_len,
                          const uint8_t s_priv[32])
{
    uint8_t wire[4096], pl[64];
    size_t len = pull_all(i, wire, sizeof wire), pl_len = 0;
    assert_int_equal(len, 34);
    fog__noise_hs hs;
    uint8_t e[32];
    memset(e, 0x55, sizeof e);
    static const uint8_t empty[1];
    fog__noise_hs_init(&hs, false, empty, 0, s_priv, e);
    assert_int_equal(fog__noise_hs_read(&hs, wire + 2, 32, pl, &pl_len), 0);
    assert_int_equal(fog__noise_hs_write(&hs, payload, payload_len, wire + 2, sizeof wire - 2,
                                         &len), 0);
    wire[0] = (uint8_t)(len >> 8);
    wire[1] = (uint8_t)len;
    return fog_noise_feed(i->n, wire, len + 2, 0);
}

static void test_noise_bad_signature(void **state)
{
    (void)state;
    fog_noise_config ic;
    peer i, r;
    peer_cfg(&i, &ic, true, 1);
    peer_key(&r, 2);
    peer_start(&i, &ic);
    uint8_t s_priv[32], s_pub[32], wrong[32];
    memset(s_priv, 0x33, sizeof s_priv);
    crypto_scalarmult_base(s_pub, s_priv);
    memcpy(wrong, s_pub, 32);
    wrong[0] ^= 1; /* signed over another static key */
    fog_buf p;
    fog_buf_init(&p);
    assert_int_equal(fog__noise_payload_make(r.secret, wrong, NULL, 0, &p), 0);
    assert_int_equal(fake_responder(&i, p.p, p.len, s_priv), FOG_ERR_AUTH);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_AUTH), "signature"));
    fog_buf_clear(&p);
    fog_noise_free(i.n);
    /* The same fake with the right static key passes: the test above fails for the reason
     * it claims. */
    peer_cfg(&i, &ic, true, 1);
    peer_start(&i, &ic);
    assert_int_equal(fog__noise_payload_make(r.secret, s_pub, NULL, 0, &p), 0);
    assert_int_equal(fake_responder(&i, p.p, p.len, s_priv), 0);
    assert_true(fog_noise_is_done(i.n));
    fog_buf_clear(&p);
    fog_noise_free(i.n);
}

static void test_noise_unsupported_key(void **state)
{
    (void)state;
    fog_noise_config ic;
    peer i;
    peer_cfg(&i, &ic, true, 1);
    peer_start(&i, &ic);
    uint8_t key_data[32] = {1}, key[64], sig[64] = {0}, s_priv[32];
    memset(s_priv, 0x44, sizeof s_priv);
    PublicKey pk = PUBLIC_KEY__INIT;
    pk.type = KEY_TYPE__Secp256k1;
    pk.data.data = key_data;
    pk.data.len = sizeof key_data;
    NoiseHandshakePayload m = NOISE_HANDSHAKE_PAYLOAD__INIT;
    m.has_identity_key = 1;
    m.identity_key.data = key;
    m.identity_key.len = public_key__pack(&pk, key);
    m.has_identity_sig = 1;
    m.identity_sig.data = sig;
    m.identity_sig.len = sizeof sig;
    uint8_t buf[256];
    size_t len = noise_handshake_payload__pack(&m, buf);
    assert_int_equal(fake_responder(&i, buf, len, s_priv), FOG_ERR_UNSUPPORTED);
    fog_noise_free(i.n);
}

static void test_noise_config_invalid(void **state)
{
    (void)state;
    fog_noise_config cfg;
    fog_noise *n = NULL;
    fog_noise_config_default(&cfg);
    assert_int_equal(fog_noise_new(&n, &cfg), FOG_ERR_INVALID); /* no secret, no rng */
    peer p;
    peer_cfg(&p, &cfg, true, 1);
    cfg.max_buffered_bytes = 1000;
    assert_int_equal(fog_noise_new(&n, &cfg), FOG_ERR_INVALID);
}

int main(void)
{
    assert_int_equal(fog_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noise_vectors),
        cmocka_unit_test(test_noise_handshake_yamux),
        cmocka_unit_test(test_noise_muxer_initiator_preference),
        cmocka_unit_test(test_noise_muxer_no_overlap_fails),
        cmocka_unit_test(test_noise_muxer_one_side_none),
        cmocka_unit_test(test_noise_fragmented_feeding),
        cmocka_unit_test(test_noise_transport_1mib),
        cmocka_unit_test(test_noise_write_limits),
        cmocka_unit_test(test_noise_tampered_byte),
        cmocka_unit_test(test_noise_seal_frame),
        cmocka_unit_test(test_noise_tampered_handshake),
        cmocka_unit_test(test_noise_oversized_frame),
        cmocka_unit_test(test_noise_short_frame),
        cmocka_unit_test(test_noise_wrong_expected_peer),
        cmocka_unit_test(test_noise_bad_signature),
        cmocka_unit_test(test_noise_unsupported_key),
        cmocka_unit_test(test_noise_config_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
