/* test_conn.c: the libp2p connection core (src/net/conn.c, conn_stream.c).
 * Two fog_conn, a dialer and a listener with different Ed25519 identities (seeded keys, a
 * splitmix64 fog_rng), talk through an in-memory pipe with a fake clock (STYLE.md 12). The
 * pipe can cut every transfer into pieces of one byte. Each side runs a tiny application: the
 * test echo protocol echoes what it reads and closes after the peer's FIN; the dialer side
 * writes a known pattern on its streams and checks what comes back. Expected peer IDs come from
 * fog_peer_id_ed25519 over the seeded public keys, independent of the code under test.
 */
#include "testlib.h"

#include "fog/conn.h"
#include "fog/crypto.h"
#include "fog/mf.h"

#define ECHO "/test/echo/1.0.0"
#define MAX_ST 64

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
    uint32_t id;
    bool inbound, opened, fin, ended, closed_by_us, failed;
    int fail_err;
    char proto[64];
    fog_buf got;      /* everything received */
    fog_buf out;      /* to write (echo: what came in; sender: the pattern) */
    size_t out_off;   /* written so far */
    bool close_after; /* close once out is written (sender: at once; echo: after FIN) */
    bool lazy;        /* write before STREAM_OPENED (a single proposal) */
} tstream;

typedef struct {
    fog_conn *c;
    fog_conn_config cfg;
    uint64_t seed;
    uint8_t pub[32], secret[64], pid[FOG_PEER_ID_ED25519_LEN];
    bool connected, closed;
    size_t early; /* open an echo stream of this many bytes as soon as CONNECTED arrives */
    int close_err, feed_err;
    uint8_t peer[64];
    size_t peer_len;
    tstream st[MAX_ST];
    size_t n_st;
} side;

static const char *const echo_protos[] = {ECHO, "/ipfs/ping/1.0.0"};
static fog_ms now_ms;

static void side_init(side *s, bool dialer, uint8_t tag)
{
    memset(s, 0, sizeof *s);
    uint8_t seed[32];
    memset(seed, tag, sizeof seed);
    fog_ed25519_from_seed(seed, s->pub, s->secret);
    fog_peer_id_ed25519(s->pub, s->pid);
    s->seed = tag;
    fog_conn_config_default(&s->cfg);
    s->cfg.is_dialer = dialer;
    s->cfg.identity_secret = s->secret;
    s->cfg.rng.fill = rng_fill;
    s->cfg.rng.ctx = &s->seed;
    s->cfg.protocols = echo_protos;
    s->cfg.n_protocols = 2;
}

static void side_start(side *s)
{
    assert_int_equal(fog_conn_new(&s->c, &s->cfg), 0);
}

static void side_free(side *s)
{
    fog_conn_free(s->c);
    for (size_t i = 0; i < s->n_st; i++) {
        fog_buf_clear(&s->st[i].got);
        fog_buf_clear(&s->st[i].out);
    }
}

static tstream *st_get(side *s, uint32_t id, bool create)
{
    for (size_t i = 0; i < s->n_st; i++) {
        if (s->st[i].id == id && !s->st[i].ended) {
            return &s->st[i];
        }
    }
    assert_true(create);
    assert_true(s->n_st < MAX_ST);
    tstream *t = &s->st[s->n_st++];
    memset(t, 0, sizeof *t);
    t->id = id;
    return t;
}

static void fill_pattern(fog_buf *b, size_t n, uint32_t key)
{
    uint64_t st = key;
    assert_int_equal(fog_buf_reserve(b, n), 0);
    b->len = n;
    rng_fill(&st, b->p, n);
}

/* Opens an echo stream that sends size bytes of a pattern and then closes. */
static tstream *open_echo(side *s, size_t size)
{
    static const char *const prop[] = {ECHO};
    uint32_t id;
    assert_int_equal(fog_conn_open_stream(s->c, prop, 1, &id), 0);
    tstream *t = st_get(s, id, true);
    fill_pattern(&t->out, size, id * 7919u + 1);
    t->close_after = true;
    return t;
}

static void on_event(side *s, const fog_conn_event *ev)
{
    tstream *t = NULL;
    switch (ev->kind) {
    case FOG_CONN_EV_CONNECTED:
        assert_false(s->connected);
        s->connected = true;
        assert_string_equal(ev->protocol, "/yamux/1.0.0");
        assert_true(ev->peer_id.len <= sizeof s->peer);
        memcpy(s->peer, ev->peer_id.p, ev->peer_id.len);
        s->peer_len = ev->peer_id.len;
        if (s->early > 0) {
            open_echo(s, s->early);
        }
        break;
    case FOG_CONN_EV_STREAM_OPENED:
        t = st_get(s, ev->stream_id, ev->inbound);
        assert_false(t->opened);
        t->opened = true;
        t->inbound = ev->inbound;
        snprintf(t->proto, sizeof t->proto, "%s", ev->protocol);
        break;
    case FOG_CONN_EV_STREAM_DATA: {
        t = st_get(s, ev->stream_id, false);
        assert_true(t->opened && ev->data.len > 0);
        assert_int_equal(fog_buf_append(&t->got, ev->data.p, ev->data.len), 0);
        if (t->inbound) {
            assert_int_equal(fog_buf_append(&t->out, ev->data.p, ev->data.len), 0);
        }
        /* NOT_FOUND: the stream's CLOSED is queued behind this event (yamux forgot it). */
        int rc = fog_conn_stream_consume(s->c, ev->stream_id, ev->data.len);
        assert_true(rc == 0 || rc == FOG_ERR_NOT_FOUND);
        break;
    }
    case FOG_CONN_EV_STREAM_FIN:
        t = st_get(s, ev->stream_id, false);
        t->fin = true;
        t->close_after = t->close_after || t->inbound;
        break;
    case FOG_CONN_EV_STREAM_CLOSED:
    case FOG_CONN_EV_STREAM_RESET:
    case FOG_CONN_EV_STREAM_FAILED:
        t = st_get(s, ev->stream_id, false);
        t->ended = true;
        t->failed = ev->kind != FOG_CONN_EV_STREAM_CLOSED;
        t->fail_err = ev->error;
        break;
    case FOG_CONN_EV_CLOSED:
        assert_false(s->closed);
        s->closed = true;
        s->close_err = ev->error;
        assert_non_null(ev->detail);
        break;
    default:
        break;
    }
}

static bool drain(side *s)
{
    bool any = false;
    fog_conn_event ev;
    while (fog_conn_poll_event(s->c, &ev)) {
        on_event(s, &ev);
        any = true;
    }
    return any;
}

/* Writes what the application has for each open stream, as far as the core accepts. */
static bool app_write(side *s)
{
    bool progress = false;
    for (size_t i = 0; i < s->n_st && !s->closed; i++) {
        tstream *t = &s->st[i];
        if ((!t->opened && !t->lazy) || t->ended || t->closed_by_us) {
            continue;
        }
        while (t->out_off < t->out.len) {
            size_t k = t->out.len - t->out_off;
            k = k > 65536 ? 65536 : k;
            int rc = fog_conn_stream_write(s->c, t->id, t->out.p + t->out_off, k);
            if (rc == FOG_ERR_LIMIT) {
                break;
            }
            assert_int_equal(rc, 0);
            t->out_off += k;
            progress = true;
        }
        if (t->close_after && t->out_off == t->out.len && t->opened) {
            assert_int_equal(fog_conn_stream_close(s->c, t->id), 0);
            t->closed_by_us = true;
            progress = true;
        }
    }
    return progress;
}

/* Moves a's output to b in pieces of at most chunk bytes; true when anything moved. */
static bool pipe_once(side *a, side *b, size_t chunk)
{
    static uint8_t buf[65536];
    bool moved = false;
    size_t len = 1;
    while (len > 0 && b->feed_err == 0 && !a->closed) {
        size_t cap = chunk < sizeof buf ? chunk : sizeof buf;
        assert_int_equal(fog_conn_pull(a->c, buf, cap, &len, now_ms), 0);
        if (len > 0) {
            moved = true;
            b->feed_err = fog_conn_feed(b->c, buf, len, now_ms);
            (void)drain(b);
        }
    }
    return moved;
}

static void run(side *a, side *b, size_t chunk)
{
    for (int rounds = 0; rounds < 100000; rounds++) {
        bool p = app_write(a) | app_write(b);
        p |= pipe_once(a, b, chunk);
        p |= pipe_once(b, a, chunk);
        p |= drain(a) | drain(b); /* events queued while pulling (a stream ends) */
        if (!p || a->feed_err != 0 || b->feed_err != 0) {
            return;
        }
    }
    fail_msg("the pipe did not settle");
}

static void pair(side *d, side *l, bool d_mux, bool l_mux, size_t chunk)
{
    side_init(d, true, 1);
    side_init(l, false, 2);
    d->cfg.expected_peer_id = l->pid;
    d->cfg.expected_peer_id_len = sizeof l->pid;
    d->cfg.muxer_count = d_mux ? 1 : 0;
    l->cfg.muxer_count = l_mux ? 1 : 0;
    side_start(d);
    side_start(l);
    run(d, l, chunk);
    assert_int_equal(d->feed_err, 0);
    assert_int_equal(l->feed_err, 0);
    assert_true(d->connected && l->connected);
    assert_true(fog_conn_is_connected(d->c) && fog_conn_is_connected(l->c));
    assert_int_equal(d->peer_len, sizeof l->pid);
    assert_memory_equal(d->peer, l->pid, sizeof l->pid);
    assert_int_equal(l->peer_len, sizeof d->pid);
    assert_memory_equal(l->peer, d->pid, sizeof d->pid);
}

/* Checks that every stream a opened echoed size bytes back intact. */
static void check_echoed(side *a, size_t first, size_t n, size_t size)
{
    for (size_t i = first; i < first + n; i++) {
        tstream *t = &a->st[i];
        assert_true(t->opened && !t->inbound && t->fin && t->ended && !t->failed);
        assert_string_equal(t->proto, ECHO);
        assert_int_equal(t->got.len, size);
        assert_memory_equal(t->got.p, t->out.p, size);
    }
}

/* Opens n echo streams from a, each sending size bytes, runs, checks every echo. */
static void echo_streams(side *a, side *b, size_t n, size_t size, size_t chunk)
{
    size_t first = a->n_st;
    for (size_t i = 0; i < n; i++) {
        (void)open_echo(a, size);
    }
    run(a, b, chunk);
    assert_int_equal(a->feed_err, 0);
    assert_int_equal(b->feed_err, 0);
    check_echoed(a, first, n, size);
    size_t seen = 0;
    for (size_t i = 0; i < b->n_st; i++) {
        tstream *t = &b->st[i];
        if (t->inbound && t->opened && t->got.len == size) {
            assert_true(t->ended && !t->failed);
            assert_string_equal(t->proto, ECHO);
            seen++;
        }
    }
    assert_true(seen >= n);
}

static void test_conn_upgrade_inlined_muxer(void **state)
{
    (void)state;
    side d, l;
    pair(&d, &l, true, true, 65536);
    echo_streams(&d, &l, 1, 1000, 65536);
    side_free(&d);
    side_free(&l);
}

static void test_conn_upgrade_muxer_by_mss(void **state)
{
    (void)state;
    for (int who = 0; who < 2; who++) {
        side d, l;
        pair(&d, &l, who == 0, who == 1, 65536);
        echo_streams(&d, &l, 2, 5000, 65536);
        side_free(&d);
        side_free(&l);
    }
}

/* Streams opened the moment CONNECTED arrives: their first frames travel with the last
 * handshake message (inlined muxer) or right behind the muxer echo (multistream-select). */
static void test_conn_stream_on_connect(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        for (size_t chunk = 1; chunk <= 65536; chunk *= 65536) {
            side d, l;
            side_init(&d, true, 1);
            side_init(&l, false, 2);
            l.cfg.muxer_count = mode == 0 ? 1 : 0;
            d.early = 2000;
            l.early = 3000;
            side_start(&d);
            side_start(&l);
            run(&d, &l, chunk);
            assert_true(d.connected && l.connected);
            check_echoed(&d, 0, 1, 2000);
            size_t i = l.st[0].inbound ? 1 : 0;
            check_echoed(&l, i, 1, 3000);
            side_free(&d);
            side_free(&l);
        }
    }
}

/* Data written before the echo (lazy, as go-libp2p does) reaches the listener as its
 * multistream leftover; with a refused proposal it is dropped with the stream. */
static void test_conn_lazy_stream_data(void **state)
{
    (void)state;
    for (size_t chunk = 1; chunk <= 65536; chunk *= 65536) {
        side d, l;
        pair(&d, &l, true, true, chunk);
        tstream *t = open_echo(&d, chunk == 1 ? 3000 : 300000);
        t->lazy = true;
        static const char *const unknown[] = {"/no/such/1.0.0"};
        uint32_t id;
        assert_int_equal(fog_conn_open_stream(d.c, unknown, 1, &id), 0);
        tstream *u = st_get(&d, id, true);
        fill_pattern(&u->out, 100, 5);
        u->lazy = true;
        run(&d, &l, chunk);
        check_echoed(&d, 0, 1, t->out.len);
        assert_true(u->ended && u->failed && !u->opened);
        /* The listener reads our data as a bad second proposal and resets the stream, which
         * may overtake its "na". */
        assert_true(u->fail_err == FOG_ERR_UNSUPPORTED || u->fail_err == FOG_ERR_CANCELLED);
        for (size_t i = 0; i < l.n_st; i++) {
            assert_int_equal(l.st[i].id, t->id);
        }
        side_free(&d);
        side_free(&l);
    }
}

/* The dialer's Noise message 1 arrives in the same read as its multistream proposal: the
 * listener hands the bytes after "/noise\n" to Noise. */
static void test_conn_noise_after_mss_in_one_read(void **state)
{
    (void)state;
    side d, l;
    side_init(&d, true, 1);
    side_init(&l, false, 2);
    side_start(&d);
    side_start(&l);
    uint8_t buf[1024];
    size_t a, b;
    assert_int_equal(fog_conn_pull(d.c, buf, sizeof buf, &a, 0), 0);
    static const uint8_t echo[] = "\x13/multistream/1.0.0\n\x07/noise\n";
    assert_int_equal(fog_conn_feed(d.c, echo, sizeof echo - 1, 0), 0);
    assert_int_equal(fog_conn_pull(d.c, buf + a, sizeof buf - a, &b, 0), 0);
    assert_int_equal(b, 2 + 32); /* Noise message 1: length, then e */
    assert_int_equal(fog_conn_feed(l.c, buf, a + b, 0), 0);
    /* The listener answers with its echo, and message 2 right behind it. */
    assert_int_equal(fog_conn_pull(l.c, buf, sizeof buf, &a, 0), 0);
    assert_true(a > sizeof echo - 1 + 2 + 32);
    assert_memory_equal(buf, echo, sizeof echo - 1);
    assert_int_equal(fog_conn_feed(d.c, buf + sizeof echo - 1, a - (sizeof echo - 1), 0), 0);
    run(&d, &l, 65536);
    assert_true(d.connected && l.connected);
    side_free(&d);
    side_free(&l);
}

static void test_conn_wrong_peer_id(void **state)
{
    (void)state;
    side d, l, other;
    side_init(&d, true, 1);
    side_init(&l, false, 2);
    side_init(&other, false, 3);
    d.cfg.expected_peer_id = other.pid;
    d.cfg.expected_peer_id_len = sizeof other.pid;
    side_start(&d);
    side_start(&l);
    run(&d, &l, 65536);
    assert_int_equal(d.feed_err, FOG_ERR_AUTH);
    assert_true(d.closed);
    assert_int_equal(d.close_err, FOG_ERR_AUTH);
    assert_false(d.connected || l.connected);
    /* Dead: every call but free returns the code. */
    uint8_t b[16];
    size_t n;
    assert_int_equal(fog_conn_feed(d.c, b, 1, 0), FOG_ERR_AUTH);
    assert_int_equal(fog_conn_pull(d.c, b, sizeof b, &n, 0), FOG_ERR_AUTH);
    assert_int_equal(n, 0);
    assert_int_equal(fog_conn_deadline(d.c), FOG_NEVER);
    side_free(&d);
    side_free(&l);
    side_free(&other);
}

static void test_conn_echo_50_streams(void **state)
{
    (void)state;
    side d, l;
    pair(&d, &l, true, true, 65536);
    echo_streams(&d, &l, 50, 256 * 1024, 65536);
    side_free(&d);
    side_free(&l);
}

static void test_conn_fragmented_feeding(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        side d, l;
        pair(&d, &l, true, mode == 0, 1);
        echo_streams(&d, &l, 2, 700, 1);
        echo_streams(&l, &d, 1, 300, 1); /* a stream opened by the listener */
        side_free(&d);
        side_free(&l);
    }
}

static void test_conn_unknown_protocol(void **state)
{
    (void)state;
    side d, l;
    pair(&d, &l, true, true, 65536);
    static const char *const unknown[] = {"/no/such/1.0.0"};
    static const char *const second[] = {"/no/such/1.0.0", ECHO};
    uint32_t id1, id2;
    assert_int_equal(fog_conn_open_stream(d.c, unknown, 1, &id1), 0);
    assert_int_equal(fog_conn_open_stream(d.c, second, 2, &id2), 0);
    tstream *t1 = st_get(&d, id1, true);
    tstream *t2 = st_get(&d, id2, true);
    /* Not negotiated yet and more than one proposal: no application writes. */
    assert_int_equal(fog_conn_stream_write(d.c, id2, (const uint8_t *)"x", 1), FOG_ERR_INVALID);
    assert_int_equal(fog_conn_stream_close(d.c, id1), FOG_ERR_INVALID);
    run(&d, &l, 65536);
    assert_true(t1->ended && t1->failed && !t1->opened);
    assert_int_equal(t1->fail_err, FOG_ERR_UNSUPPORTED);
    assert_true(t2->opened && !t2->ended);
    assert_string_equal(t2->proto, ECHO);
    /* The listener's application saw only the negotiated stream. */
    size_t opened = 0;
    for (size_t i = 0; i < l.n_st; i++) {
        opened += l.st[i].opened ? 1 : 0;
        assert_int_equal(l.st[i].id, id2);
    }
    assert_int_equal(opened, 1);
    assert_int_equal(fog_conn_stream_write(d.c, id1, (const uint8_t *)"x", 1), FOG_ERR_NOT_FOUND);
    /* A reset stream ends on the other side with STREAM_RESET. */
    assert_int_equal(fog_conn_stream_reset(d.c, id2), 0);
    t2->ended = true;
    run(&d, &l, 65536);
    assert_true(l.st[0].ended && l.st[0].failed);
    side_free(&d);
    side_free(&l);
}

static void test_conn_handshake_timeout(void **state)
{
    (void)state;
    side d;
    side_init(&d, true, 1);
    d.cfg.handshake_timeout_ms = 10000;
    side_start(&d);
    assert_int_equal(fog_conn_deadline(d.c), FOG_NEVER); /* the clock has not started */
    uint8_t buf[256];
    size_t n;
    assert_int_equal(fog_conn_pull(d.c, buf, sizeof buf, &n, 5000), 0);
    assert_true(n > 0); /* header and "/noise" */
    assert_int_equal(fog_conn_deadline(d.c), 15000);
    assert_int_equal(fog_conn_on_timeout(d.c, 14999), 0);
    (void)drain(&d);
    assert_false(d.closed);
    assert_int_equal(fog_conn_on_timeout(d.c, 15000), FOG_ERR_TIMEOUT);
    (void)drain(&d);
    assert_true(d.closed);
    assert_int_equal(d.close_err, FOG_ERR_TIMEOUT);
    assert_int_equal(fog_conn_deadline(d.c), FOG_NEVER);
    side_free(&d);
}

static void test_conn_connected_uses_keepalive(void **state)
{
    (void)state;
    side d, l;
    side_init(&d, true, 1);
    side_init(&l, false, 2);
    d.cfg.keepalive_ms = 1000;
    side_start(&d);
    side_start(&l);
    now_ms = 100;
    run(&d, &l, 65536);
    assert_true(d.connected);
    /* The handshake deadline is gone: the timer is yamux's keepalive now. */
    fog_ms dl = fog_conn_deadline(d.c);
    assert_true(dl != FOG_NEVER && dl <= 100 + 1000);
    now_ms = dl;
    assert_int_equal(fog_conn_on_timeout(d.c, now_ms), 0);
    run(&d, &l, 65536); /* the ping is answered */
    assert_int_equal(d.feed_err, 0);
    assert_false(d.closed || l.closed);
    now_ms = 0;
    side_free(&d);
    side_free(&l);
}

static void test_conn_malformed_input(void **state)
{
    (void)state;
    side l;
    side_init(&l, false, 2);
    side_start(&l);
    static const uint8_t bad[] = {0x13, '/', 'm', 'u', 'l', 't', 'i', 's', 't', 'r', 'e',
                                  'a',  'm', '/', '2', '.', '0', '.', '0', '\n'};
    assert_int_equal(fog_conn_feed(l.c, bad, sizeof bad, 0), FOG_ERR_PROTO);
    (void)drain(&l);
    assert_true(l.closed);
    assert_int_equal(l.close_err, FOG_ERR_PROTO);
    side_free(&l);
    /* Garbage in place of Noise message 1 after a good /noise negotiation. */
    side d;
    side_init(&d, true, 1);
    side_init(&l, false, 2);
    side_start(&d);
    side_start(&l);
    uint8_t buf[512];
    size_t n;
    assert_int_equal(fog_conn_pull(d.c, buf, sizeof buf, &n, 0), 0);
    buf[n] = 0x00; /* Noise length 0x0001 ... */
    buf[n + 1] = 0x01;
    buf[n + 2] = 0xff;
    int rc = fog_conn_feed(l.c, buf, n + 3, 0);
    assert_true(rc == FOG_ERR_PROTO || rc == FOG_ERR_TRUNCATED);
    (void)drain(&l);
    assert_true(l.closed);
    assert_int_equal(l.close_err, rc);
    side_free(&d);
    side_free(&l);
}

static void test_conn_config_invalid(void **state)
{
    (void)state;
    side s;
    side_init(&s, true, 1);
    fog_conn *c = NULL;
    s.cfg.identity_secret = NULL;
    assert_int_equal(fog_conn_new(&c, &s.cfg), FOG_ERR_INVALID);
    side_init(&s, true, 1);
    static const char *const mplex[] = {"/mplex/6.7.0"};
    s.cfg.muxers = mplex;
    assert_int_equal(fog_conn_new(&c, &s.cfg), FOG_ERR_INVALID);
    side_init(&s, true, 1);
    static const char *const bad[] = {"/a\nb"};
    s.cfg.protocols = bad;
    s.cfg.n_protocols = 1;
    assert_int_equal(fog_conn_new(&c, &s.cfg), FOG_ERR_INVALID);
    assert_null(c);
    side_init(&s, true, 1);
    side_start(&s);
    uint32_t id;
    assert_int_equal(fog_conn_open_stream(s.c, echo_protos, 1, &id), FOG_ERR_INVALID);
    side_free(&s);
}

int main(void)
{
    if (fog_crypto_init() != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conn_upgrade_inlined_muxer),
        cmocka_unit_test(test_conn_upgrade_muxer_by_mss),
        cmocka_unit_test(test_conn_stream_on_connect),
        cmocka_unit_test(test_conn_lazy_stream_data),
        cmocka_unit_test(test_conn_noise_after_mss_in_one_read),
        cmocka_unit_test(test_conn_wrong_peer_id),
        cmocka_unit_test(test_conn_echo_50_streams),
        cmocka_unit_test(test_conn_fragmented_feeding),
        cmocka_unit_test(test_conn_unknown_protocol),
        cmocka_unit_test(test_conn_handshake_timeout),
        cmocka_unit_test(test_conn_connected_uses_keepalive),
        cmocka_unit_test(test_conn_malformed_input),
        cmocka_unit_test(test_conn_config_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
