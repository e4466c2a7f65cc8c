/* test_yamux.c: the yamux core (src/net/yamux.c) between two sessions over an in-memory pipe.
 * A test drives a dialer session and a listener session with a fake clock: it pulls each side's
 * output and feeds it to the other (whole, or one byte at a time) until nothing moves, and
 * collects the events of each side. Expected frames are written out from the spec (12-byte
 * big-endian header: version, type, flags, stream ID, length); malformed input is built by hand.
 */
#include "testlib.h"

#include "fog/yamux.h"

#define MAXS 256

typedef struct {
    fog_yamux *y;
    bool auto_consume; /* consume every EV_DATA at once */
    fog_buf rx[MAXS];  /* data received, by stream ID */
    int opened[MAXS], fin[MAXS], closed[MAXS], reset[MAXS];
    int goaway, pongs;
    uint32_t goaway_code;
    fog_ms rtt;
    size_t n_opened;
    uint32_t last_opened;
} side;

static fog_ms now;

static void side_init(side *s, bool initiator, const fog_yamux_config *base)
{
    memset(s, 0, sizeof *s);
    fog_yamux_config cfg;
    if (base != NULL) {
        cfg = *base;
    } else {
        fog_yamux_config_default(&cfg);
    }
    cfg.is_initiator = initiator;
    assert_int_equal(fog_yamux_new(&s->y, &cfg), 0);
    s->auto_consume = true;
}

static void side_free(side *s)
{
    fog_yamux_free(s->y);
    for (size_t i = 0; i < MAXS; i++) {
        fog_buf_clear(&s->rx[i]);
    }
}

static void drain(side *s)
{
    fog_yamux_event ev;
    while (fog_yamux_poll_event(s->y, &ev)) {
        uint32_t id = ev.stream_id;
        assert_true(id < MAXS);
        switch (ev.kind) {
        case FOG_YAMUX_EV_OPENED:
            s->opened[id]++;
            s->n_opened++;
            s->last_opened = id;
            break;
        case FOG_YAMUX_EV_DATA:
            assert_true(ev.data.len > 0);
            assert_int_equal(fog_buf_append(&s->rx[id], ev.data.p, ev.data.len), 0);
            if (s->auto_consume) {
                assert_int_equal(fog_yamux_consume(s->y, id, ev.data.len), 0);
            }
            break;
        case FOG_YAMUX_EV_FIN:
            s->fin[id]++;
            break;
        case FOG_YAMUX_EV_CLOSED:
            s->closed[id]++;
            break;
        case FOG_YAMUX_EV_RESET:
            s->reset[id]++;
            break;
        case FOG_YAMUX_EV_GOAWAY:
            s->goaway++;
            s->goaway_code = ev.code;
            break;
        case FOG_YAMUX_EV_PONG:
            s->pongs++;
            s->rtt = ev.rtt_ms;
            break;
        }
    }
}

/* Moves a's output to b (in pieces of at most frag bytes); returns the bytes moved. */
static size_t move(side *a, side *b, size_t frag)
{
    uint8_t buf[7000];
    size_t total = 0, n;
    do {
        assert_int_equal(fog_yamux_pull(a->y, buf, sizeof buf, &n, now), 0);
        for (size_t off = 0; off < n; off += frag) {
            size_t k = n - off < frag ? n - off : frag;
            assert_int_equal(fog_yamux_feed(b->y, buf + off, k, now), 0);
            drain(b);
        }
        total += n;
    } while (n > 0);
    return total;
}

static void pump_frag(side *a, side *b, size_t frag)
{
    drain(a);
    drain(b);
    while (move(a, b, frag) + move(b, a, frag) > 0) {
        drain(a);
        drain(b);
    }
}

static void pump(side *a, side *b)
{
    pump_frag(a, b, SIZE_MAX);
}

/* All pending output of s. */
static size_t pull_all(side *s, uint8_t *out, size_t cap)
{
    size_t n;
    assert_int_equal(fog_yamux_pull(s->y, out, cap, &n, now), 0);
    return n;
}

static void frame(uint8_t *b, uint8_t ver, uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
    b[0] = ver;
    b[1] = type;
    b[2] = (uint8_t)(flags >> 8);
    b[3] = (uint8_t)flags;
    b[4] = (uint8_t)(id >> 24);
    b[5] = (uint8_t)(id >> 16);
    b[6] = (uint8_t)(id >> 8);
    b[7] = (uint8_t)id;
    b[8] = (uint8_t)(len >> 24);
    b[9] = (uint8_t)(len >> 16);
    b[10] = (uint8_t)(len >> 8);
    b[11] = (uint8_t)len;
}

static int feed_frame(side *s, uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
    uint8_t b[12];
    frame(b, 0, type, flags, id, len);
    return fog_yamux_feed(s->y, b, sizeof b, now);
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)((i * 31u + seed * 7u + (i >> 8)) & 0xff);
    }
}

static void test_yamux_open_accept_data_close(void **state)
{
    (void)state;
    side a, b;
    now = 0;
    side_init(&a, true, NULL);
    side_init(&b, false, NULL);
    uint32_t id;
    assert_int_equal(fog_yamux_open(a.y, &id), 0);
    assert_int_equal(id, 1); /* the initiator opens odd IDs */
    /* The SYN: a WindowUpdate (type 1) with flag SYN on stream 1, delta 0. */
    uint8_t out[64];
    uint8_t want[12];
    frame(want, 0, 1, 1, 1, 0);
    assert_int_equal(pull_all(&a, out, sizeof out), 12);
    assert_memory_equal(out, want, 12);
    assert_int_equal(fog_yamux_feed(b.y, out, 12, now), 0);
    drain(&b);
    assert_int_equal(b.opened[1], 1);
    /* The ACK: WindowUpdate, flag ACK, stream 1, delta 0. */
    frame(want, 0, 1, 2, 1, 0);
    assert_int_equal(pull_all(&b, out, sizeof out), 12);
    assert_memory_equal(out, want, 12);
    assert_int_equal(fog_yamux_feed(a.y, out, 12, now), 0);

    assert_int_equal(fog_yamux_write(a.y, 1, (const uint8_t *)"hello", 5), 0);
    assert_int_equal(fog_yamux_close(a.y, 1), 0);
    /* A Data frame with the 5 bytes, then FIN alone on an empty Data frame (js-yamux drops
     * the payload of a Data frame that carries FIN). */
    uint8_t want2[29];
    frame(want2, 0, 0, 0, 1, 5);
    memcpy(want2 + 12, "hello", 5);
    frame(want2 + 17, 0, 0, 4, 1, 0);
    assert_int_equal(pull_all(&a, out, sizeof out), 29);
    assert_memory_equal(out, want2, 29);
    assert_int_equal(fog_yamux_feed(b.y, out, 29, now), 0);
    drain(&b);
    assert_int_equal(b.rx[1].len, 5);
    assert_memory_equal(b.rx[1].p, "hello", 5);
    assert_int_equal(b.fin[1], 1);
    assert_int_equal(b.closed[1], 0);

    assert_int_equal(fog_yamux_write(b.y, 1, (const uint8_t *)"world!", 6), 0);
    pump(&a, &b);
    assert_int_equal(fog_yamux_close(b.y, 1), 0);
    /* A FIN with no data: a Data frame of length 0. */
    frame(want, 0, 0, 4, 1, 0);
    assert_int_equal(pull_all(&b, out, sizeof out), 12);
    assert_memory_equal(out, want, 12);
    assert_int_equal(fog_yamux_feed(a.y, out, 12, now), 0);
    drain(&a);
    drain(&b);
    assert_int_equal(a.rx[1].len, 6);
    assert_memory_equal(a.rx[1].p, "world!", 6);
    assert_int_equal(a.fin[1], 1);
    assert_int_equal(a.closed[1], 1);
    assert_int_equal(b.closed[1], 1);
    assert_int_equal(fog_yamux_stream_count(a.y), 0);
    assert_int_equal(fog_yamux_stream_count(b.y), 0);
    assert_int_equal(fog_yamux_write(a.y, 1, (const uint8_t *)"x", 1), FOG_ERR_NOT_FOUND);
    side_free(&a);
    side_free(&b);
}

/* Both sides open streams at once: responder IDs are even. */
static void test_yamux_hundred_streams(void **state)
{
    (void)state;
    side a, b;
    now = 0;
    side_init(&a, true, NULL);
    side_init(&b, false, NULL);
    enum { N = 50, LEN = 20000 };
    uint8_t *data = malloc(LEN);
    assert_non_null(data);
    uint32_t ids[2 * N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(fog_yamux_open(a.y, &ids[i]), 0);
        assert_int_equal(ids[i], (uint32_t)(2 * i + 1));
        assert_int_equal(fog_yamux_open(b.y, &ids[N + i]), 0);
        assert_int_equal(ids[N + i], (uint32_t)(2 * i + 2));
    }
    for (int i = 0; i < 2 * N; i++) {
        side *w = i < N ? &a : &b;
        fill_pattern(data, LEN, ids[i]);
        assert_int_equal(fog_yamux_write(w->y, ids[i], data, LEN), 0);
        assert_int_equal(fog_yamux_close(w->y, ids[i]), 0);
    }
    pump(&a, &b);
    assert_int_equal(a.n_opened, N);
    assert_int_equal(b.n_opened, N);
    for (int i = 0; i < 2 * N; i++) {
        side *r = i < N ? &b : &a;
        fill_pattern(data, LEN, ids[i]);
        assert_int_equal(r->rx[ids[i]].len, LEN);
        assert_memory_equal(r->rx[ids[i]].p, data, LEN);
        assert_int_equal(r->fin[ids[i]], 1);
        /* The reader has not closed its side yet. */
        assert_int_equal(r->closed[ids[i]], 0);
        assert_int_equal(fog_yamux_close(r->y, ids[i]), 0);
    }
    pump(&a, &b);
    for (int i = 0; i < 2 * N; i++) {
        assert_int_equal(a.closed[ids[i]], 1);
        assert_int_equal(b.closed[ids[i]], 1);
    }
    assert_int_equal(fog_yamux_stream_count(a.y), 0);
    assert_int_equal(fog_yamux_stream_count(b.y), 0);
    free(data);
    side_free(&a);
    side_free(&b);
}

static void test_yamux_window_exhausted_and_refilled(void **state)
{
    (void)state;
    side a, b;
    now = 0;
    side_init(&a, true, NULL);
    side_init(&b, false, NULL);
    b.auto_consume = false;
    enum { W = 256 * 1024, LEN = W + 50000 };
    uint8_t *data = malloc(LEN);
    assert_non_null(data);
    fill_pattern(data, LEN, 9);
    uint32_t id;
    assert_int_equal(fog_yamux_open(a.y, &id), 0);
    assert_int_equal(fog_yamux_write(a.y, id, data, LEN), 0);
    pump(&a, &b);
    /* The sender stopped at the window: the rest waits in its queue. */
    assert_int_equal(b.rx[id].len, W);
    assert_int_equal(fog_yamux_send_window(a.y, id), 0);
    assert_int_equal(fog_yamux_queued_bytes(a.y), LEN - W);
    assert_false(fog_yamux_want_write(a.y));
    /* Consuming less than half the window sends no update (batching). */
    assert_int_equal(fog_yamux_consume(b.y, id, W / 2 - 1), 0);
    assert_false(fog_yamux_want_write(b.y));
    pump(&a, &b);
    assert_int_equal(b.rx[id].len, W);
    /* Half the window consumed: one update of W/2, and the sender resumes. */
    assert_int_equal(fog_yamux_consume(b.y, id, 1), 0);
    uint8_t out[64], want[12];
    frame(want, 0, 1, 0, id, W / 2);
    assert_int_equal(pull_all(&b, out, sizeof out), 12);
    assert_memory_equal(out, want, 12);
    assert_int_equal(fog_yamux_feed(a.y, out, 12, now), 0);
    assert_int_equal(fog_yamux_send_window(a.y, id), W / 2);
    pump(&a, &b);
    assert_int_equal(b.rx[id].len, LEN);
    assert_memory_equal(b.rx[id].p, data, LEN);
    assert_int_equal(fog_yamux_queued_bytes(a.y), 0);
    assert_int_equal(fog_yamux_send_window(a.y, id), W / 2 - (LEN - W));
    /* Consuming more than was delivered is the caller's error. */
    assert_int_equal(fog_yamux_consume(b.y, id, LEN - W / 2 + 1), FOG_ERR_INVALID);
    free(data);
    side_free(&a);
    side_free(&b);
}

/* A bigger configured window is announced in the SYN and used by the peer. */
static void test_yamux_large_window_announced(void **state)
{
    (void)state;
    side a, b;
    now = 0;
    fog_yamux_config cfg;
    fog_yamux_config_default(&cfg);
    cfg.window_bytes = 1024 * 1024;
    side_init(&a, true, NULL);
    side_init(&b, false, &cfg);
    b.auto_consume = false;
    uint32_t id;
    assert_int_equal(fog_yamux_open(b.y, &id), 0);
    uint8_t out[64], want[12];
    frame(want, 0, 1, 1, 2, 1024 * 1024 - 256 * 1024); /* SYN with the extra window as delta */
    assert_int_equal(pull_all(&b, out, sizeof out), 12);
    assert_memory_equal(out, want, 12);
    assert_int_equal(fog_yamux_feed(a.y, out, 12, now), 0);
    drain(&a);
    assert_int_equal(fog_yamux_send_window(a.y, id), 1024 * 1024);
    uint8_t *data = calloc(1, 1100 * 1024);
    assert_non_null(data);
    assert_int_equal(fog_yamux_write(a.y, id, data, 1100 * 1024), 0);
    pump(&a, &b);
    assert_int_equal(b.rx[id].len, 1024 * 1024);
    free(data);
    side_free(&a);
    side_free(&b);
}

static void expect_goaway_proto(side *s)
{
    uint8_t out[64], want[12];
    frame(want, 0, 3, 0, 0, 1);
    size_t n;
    assert_int_equal(fog_yamux_pull(s->y, out, sizeof out, &n, now), 0);
    assert_true(n >= 12);
    assert_memory_equal(out + n - 12, want, 12);
    /* Fatal: afterwards every call fails the same way. */
    assert_int_equal(fog_yamux_pull(s->y, out, sizeof out, &n, now), FOG_ERR_PROTO);
    assert_int_equal(n, 0);
    uint32_t id;
    assert_int_equal(fog_yamux_open(s->y, &id), FOG_ERR_PROTO);
    assert_int_equal(fog_yamux_feed(s->y, out, 1, now), FOG_ERR_PROTO);
}

static void test_yamux_peer_exceeds_window(void **state)
{
    (void)state;
    side b;
    now = 0;
    side_init(&b, false, NULL);
    assert_int_equal(feed_frame(&b, 1, 1, 1, 0), 0); /* SYN on stream 1 */
    uint8_t *data = calloc(1, 200000);
    assert_non_null(data);
    assert_int_equal(feed_frame(&b, 0, 0, 1, 200000), 0);
    assert_int_equal(fog_yamux_feed(b.y, data, 200000, now), 0);
    /* 200000 + 62145 > 262144 */
    assert_int_equal(feed_frame(&b, 0, 0, 1, 62145), FOG_ERR_PROTO);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_PROTO), "exceeds the window"));
    expect_goaway_proto(&b);
    free(data);
    side_free(&b);
}

static void test_yamux_stream_reset(void **state)
{
    (void)state;
    side a, b;
    now = 0;
    side_init(&a, true, NULL);
    side_init(&b, false, NULL);
    uint32_t id;
    assert_int_equal(fog_yamux_open(a.y, &id), 0);
    assert_int_equal(fog_yamux_write(a.y, id, (const uint8_t *)"abc", 3), 0);
    pump(&a, &b);
    assert_int_equal(b.rx[id].len, 3);
    assert_int_equal(fog_yamux_reset(b.y, id), 0);
    assert_int_equal(fog_yamux_stream_count(b.y), 0);
    /* Data a sends before it sees the RST is dropped quietly by b. */
    assert_int_equal(fog_yamux_write(a.y, id, (const uint8_t *)"late", 4), 0);
    uint8_t buf[64];
    size_t n = pull_all(&a, buf, sizeof buf);
    assert_int_equal(n, 16);
    assert_int_equal(fog_yamux_feed(b.y, buf, n, now), 0);
    drain(&b);
    assert_int_equal(b.rx[id].len, 3);
    pump(&a, &b);
    assert_int_equal(a.reset[id], 1);
    assert_int_equal(fog_yamux_stream_count(a.y), 0);
    assert_int_equal(fog_yamux_write(a.y, id, (const uint8_t *)"x", 1), FOG_ERR_NOT_FOUND);
    /* The RST frame itself: WindowUpdate with flag RST. */
    uint32_t id2;
    assert_int_equal(fog_yamux_open(a.y, &id2), 0);
    pump(&a, &b);
    assert_int_equal(fog_yamux_reset(a.y, id2), 0);
    uint8_t want[12];
    frame(want, 0, 1, 8, id2, 0);
    assert_int_equal(pull_all(&a, buf, sizeof buf), 12);
    assert_memory_equal(buf, want, 12);
    assert_int_equal(fog_yamux_feed(b.y, buf, 12, now), 0);
    drain(&b);
    assert_int_equal(b.reset[id2], 1);
    side_free(&a);
    side_free(&b);
}

static void test_yamux_go_away(void **state)
{
    (void)state;
    side a, b;
    now = 0;
    side_init(&a, true, NULL);
    side_init(&b, false, NULL);
    uint32_t s1, s2;
    assert_int_equal(fog_yamux_open(a.y, &s1), 0);
    pump(&a, &b);
    assert_int_equal(fog_yamux_go_away(b.y, FOG_YAMUX_GOAWAY_NORMAL), 0);
    assert_int_equal(fog_yamux_go_away(b.y, FOG_YAMUX_GOAWAY_NORMAL), FOG_ERR_INVALID);
    /* A SYN that crosses the GoAway is refused with RST. */
    assert_int_equal(fog_yamux_open(a.y, &s2), 0);
    pump(&a, &b);
    assert_int_equal(a.goaway, 1);
    assert_int_equal(a.goaway_code, 0);
    assert_int_equal(b.opened[s2], 0);
    assert_int_equal(a.reset[s2], 1);
    uint32_t s3;
    assert_int_equal(fog_yamux_open(a.y, &s3), FOG_ERR_CANCELLED);
    /* Streams open before go on. */
    assert_int_equal(fog_yamux_write(a.y, s1, (const uint8_t *)"still", 5), 0);
    pump(&a, &b);
    assert_int_equal(b.rx[s1].len, 5);
    side_free(&a);
    side_free(&b);
}

static void test_yamux_ping_round_trip(void **state)
{
    (void)state;
    side a, b;
    now = 1000;
    side_init(&a, true, NULL);
    side_init(&b, false, NULL);
    assert_int_equal(fog_yamux_ping(a.y, now), 0);
    assert_int_equal(fog_yamux_ping(a.y, now), FOG_ERR_EXISTS);
    uint8_t buf[64];
    size_t n = pull_all(&a, buf, sizeof buf);
    assert_int_equal(n, 12);
    assert_int_equal(buf[1], 2); /* Ping */
    assert_int_equal(buf[3], 1); /* SYN */
    assert_int_equal(fog_yamux_feed(b.y, buf, n, now), 0);
    uint8_t resp[64];
    assert_int_equal(pull_all(&b, resp, sizeof resp), 12);
    assert_int_equal(resp[1], 2);
    assert_int_equal(resp[3], 2);                       /* ACK */
    assert_memory_equal(resp + 4, buf + 4, 8);          /* same stream 0 and opaque value */
    now = 1042;
    assert_int_equal(fog_yamux_feed(a.y, resp, 12, now), 0);
    drain(&a);
    assert_int_equal(a.pongs, 1);
    assert_int_equal(a.rtt, 42);
    /* An answer to no ping is ignored. */
    assert_int_equal(fog_yamux_feed(a.y, resp, 12, now), 0);
    drain(&a);
    assert_int_equal(a.pongs, 1);
    side_free(&a);
    side_free(&b);
}

static void test_yamux_keepalive_deadline(void **state)
{
    (void)state;
    side a, b;
    fog_yamux_config cfg;
    fog_yamux_config_default(&cfg);
    cfg.keepalive_ms = 5000;
    cfg.ping_timeout_ms = 2000;
    now = 100;
    side_init(&a, true, &cfg);
    side_init(&b, false, &cfg);
    assert_int_equal(fog_yamux_deadline(a.y), FOG_NEVER); /* no time seen yet */
    pump(&a, &b);
    assert_int_equal(fog_yamux_deadline(a.y), 5100);
    now = 5099;
    assert_int_equal(fog_yamux_on_timeout(a.y, now), 0);
    assert_false(fog_yamux_want_write(a.y));
    now = 5100;
    assert_int_equal(fog_yamux_on_timeout(a.y, now), 0);
    assert_true(fog_yamux_want_write(a.y));
    assert_int_equal(fog_yamux_deadline(a.y), 7100); /* the ping's timeout */
    now = 5130;
    pump(&a, &b);
    assert_int_equal(a.pongs, 1);
    assert_int_equal(a.rtt, 30);
    assert_int_equal(fog_yamux_deadline(a.y), 10130);
    /* Now the peer goes silent: the ping times out. */
    now = 10130;
    assert_int_equal(fog_yamux_on_timeout(a.y, now), 0);
    now = 12129;
    assert_int_equal(fog_yamux_on_timeout(a.y, now), 0);
    now = 12130;
    assert_int_equal(fog_yamux_on_timeout(a.y, now), FOG_ERR_TIMEOUT);
    assert_int_equal(fog_yamux_deadline(a.y), FOG_NEVER);
    side_free(&a);
    side_free(&b);
}

/* The same conversation fed one byte at a time gives the same result. */
static void test_yamux_fragmented_feeding(void **state)
{
    (void)state;
    side a, b;
    now = 0;
    side_init(&a, true, NULL);
    side_init(&b, false, NULL);
    enum { LEN = 40000 };
    uint8_t *data = malloc(LEN);
    assert_non_null(data);
    fill_pattern(data, LEN, 3);
    uint32_t x, y2;
    assert_int_equal(fog_yamux_open(a.y, &x), 0);
    assert_int_equal(fog_yamux_open(b.y, &y2), 0);
    assert_int_equal(fog_yamux_write(a.y, x, data, LEN), 0);
    assert_int_equal(fog_yamux_write(b.y, y2, data, 1000), 0);
    assert_int_equal(fog_yamux_close(a.y, x), 0);
    assert_int_equal(fog_yamux_ping(b.y, now), 0);
    pump_frag(&a, &b, 1);
    assert_int_equal(b.rx[x].len, LEN);
    assert_memory_equal(b.rx[x].p, data, LEN);
    assert_int_equal(b.fin[x], 1);
    assert_int_equal(a.rx[y2].len, 1000);
    assert_memory_equal(a.rx[y2].p, data, 1000);
    assert_int_equal(b.pongs, 1);
    free(data);
    side_free(&a);
    side_free(&b);
}

/* One malformed frame fed to a fresh listener fails with FOG_ERR_PROTO and the given detail. */
static void malformed(const uint8_t *hdr, const char *detail)
{
    side b;
    now = 0;
    side_init(&b, false, NULL);
    assert_int_equal(feed_frame(&b, 1, 1, 1, 0), 0); /* stream 1 is open */
    assert_int_equal(fog_yamux_feed(b.y, hdr, 12, now), FOG_ERR_PROTO);
    const char *d = fog_err_detail(FOG_ERR_PROTO);
    if (strstr(d, detail) == NULL) {
        fail_msg("detail \"%s\" lacks \"%s\"", d, detail);
    }
    expect_goaway_proto(&b);
    side_free(&b);
}

static void test_yamux_malformed_headers(void **state)
{
    (void)state;
    uint8_t h[12];
    frame(h, 1, 0, 0, 1, 0);
    malformed(h, "version 1");
    frame(h, 0, 4, 0, 1, 0);
    malformed(h, "unknown frame type 4");
    frame(h, 0, 1, 1, 2, 0); /* a dialer's SYN must be odd */
    malformed(h, "our parity");
    frame(h, 0, 0, 0, 5, 3); /* data on a stream never opened */
    malformed(h, "never opened");
    frame(h, 0, 1, 0, 4, 1); /* a window update on one of ours never opened */
    malformed(h, "never opened");
    frame(h, 0, 0, 0, 0, 3);
    malformed(h, "stream 0");
    frame(h, 0, 2, 1, 3, 7);
    malformed(h, "ping on stream 3");
    frame(h, 0, 3, 0, 1, 0);
    malformed(h, "go-away on stream 1");
    frame(h, 0, 1, 1, 1, 0);
    malformed(h, "which is open");
    frame(h, 0, 1, 0, 1, 0xffffffffu); /* 256 KiB + this overflows 32 bits */
    malformed(h, "overflows");
    frame(h, 0, 0, 0, 1, 262145); /* one byte more than the initial window */
    malformed(h, "exceeds the window");
    /* A truncated header is not an error: it waits for more. */
    side b;
    side_init(&b, false, NULL);
    frame(h, 0, 1, 1, 1, 0);
    assert_int_equal(fog_yamux_feed(b.y, h, 11, now), 0);
    drain(&b);
    assert_int_equal(b.n_opened, 0);
    assert_int_equal(fog_yamux_feed(b.y, h + 11, 1, now), 0);
    drain(&b);
    assert_int_equal(b.opened[1], 1);
    side_free(&b);
}

static void test_yamux_stream_id_reuse(void **state)
{
    (void)state;
    side b;
    now = 0;
    side_init(&b, false, NULL);
    /* Out of order SYNs (go-yamux opens from several goroutines) are fine. */
    assert_int_equal(feed_frame(&b, 1, 1, 5, 0), 0);
    assert_int_equal(feed_frame(&b, 1, 1, 3, 0), 0);
    assert_int_equal(feed_frame(&b, 1, 1, 1, 0), 0);
    drain(&b);
    assert_int_equal(b.n_opened, 3);
    /* Stream 3 closes both ways, then its ID comes back. */
    assert_int_equal(fog_yamux_close(b.y, 3), 0);
    uint8_t buf[256];
    (void)pull_all(&b, buf, sizeof buf);
    assert_int_equal(feed_frame(&b, 0, 4, 3, 0), 0);
    drain(&b);
    assert_int_equal(b.closed[3], 1);
    /* A stale frame for it is dropped quietly. */
    assert_int_equal(feed_frame(&b, 1, 0, 3, 10), 0);
    assert_int_equal(feed_frame(&b, 1, 1, 3, 0), FOG_ERR_PROTO);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_PROTO), "reuses stream ID 3"));
    side_free(&b);
}

static void test_yamux_max_streams_rst(void **state)
{
    (void)state;
    side a, b;
    now = 0;
    fog_yamux_config cfg;
    fog_yamux_config_default(&cfg);
    cfg.max_streams = 2;
    side_init(&a, true, NULL);
    side_init(&b, false, &cfg);
    uint32_t ids[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fog_yamux_open(a.y, &ids[i]), 0);
        assert_int_equal(fog_yamux_write(a.y, ids[i], (const uint8_t *)"hi", 2), 0);
    }
    uint8_t buf[256];
    size_t n = pull_all(&a, buf, sizeof buf);
    assert_int_equal(fog_yamux_feed(b.y, buf, n, now), 0);
    drain(&b);
    assert_int_equal(b.n_opened, 2);
    /* Two ACKs, then RST for stream 5. */
    uint8_t want[12];
    frame(want, 0, 1, 8, 5, 0);
    n = pull_all(&b, buf, sizeof buf);
    assert_int_equal(n, 36);
    assert_memory_equal(buf + 24, want, 12);
    assert_int_equal(fog_yamux_feed(a.y, buf, n, now), 0);
    drain(&a);
    assert_int_equal(a.reset[5], 1);
    assert_int_equal(a.reset[1] + a.reset[3], 0);
    assert_int_equal(b.rx[1].len + b.rx[3].len, 4);
    /* A stream closed frees its slot for the next one. */
    assert_int_equal(fog_yamux_reset(b.y, 1), 0);
    uint32_t id;
    assert_int_equal(fog_yamux_open(a.y, &id), 0);
    pump(&a, &b);
    assert_int_equal(b.opened[id], 1);
    side_free(&a);
    side_free(&b);
}

/* Past max_buffered_bytes the stream that pushes is reset, not the session. */
static void test_yamux_buffer_cap_resets_stream(void **state)
{
    (void)state;
    side a, b;
    now = 0;
    fog_yamux_config cfg;
    fog_yamux_config_default(&cfg);
    cfg.max_buffered_bytes = 100000;
    side_init(&a, true, NULL);
    side_init(&b, false, &cfg);
    b.auto_consume = false;
    uint32_t s1, s2;
    uint8_t *data = calloc(1, 70000);
    assert_non_null(data);
    assert_int_equal(fog_yamux_open(a.y, &s1), 0);
    assert_int_equal(fog_yamux_open(a.y, &s2), 0);
    assert_int_equal(fog_yamux_write(a.y, s1, data, 60000), 0);
    pump(&a, &b);
    assert_int_equal(fog_yamux_write(a.y, s2, data, 70000), 0);
    pump(&a, &b);
    assert_int_equal(b.rx[s1].len, 60000);
    assert_int_equal(b.reset[s2], 1);
    assert_int_equal(a.reset[s2], 1);
    assert_true(b.rx[s2].len < 40000);
    free(data);
    side_free(&a);
    side_free(&b);
}

static void test_yamux_config_checked(void **state)
{
    (void)state;
    fog_yamux_config cfg;
    fog_yamux_config_default(&cfg);
    fog_yamux *y = NULL;
    cfg.window_bytes = 1000; /* below the spec's initial window */
    assert_int_equal(fog_yamux_new(&y, &cfg), FOG_ERR_INVALID);
    cfg.window_bytes = 32u * 1024u * 1024u;
    assert_int_equal(fog_yamux_new(&y, &cfg), FOG_ERR_INVALID);
    fog_yamux_config_default(&cfg);
    cfg.max_streams = 0;
    assert_int_equal(fog_yamux_new(&y, &cfg), FOG_ERR_INVALID);
    fog_yamux_free(NULL);
}

/* The send queue is a ring: writes of odd sizes interleaved with partial pulls (the window
 * opened a little at a time) wrap around its end many times and grow it while it holds data
 * across the wrap; the receiver must get exactly the bytes written, in order. */
static void test_yamux_send_ring_wraps(void **state)
{
    (void)state;
    side a, b;
    now = 0;
    side_init(&a, true, NULL);
    side_init(&b, false, NULL);
    b.auto_consume = false;
    enum { LEN = 3 * 1024 * 1024 + 4321 };
    uint8_t *data = malloc(LEN);
    assert_non_null(data);
    fill_pattern(data, LEN, 77);
    uint32_t id;
    assert_int_equal(fog_yamux_open(a.y, &id), 0);
    size_t written = 0, consumed = 0, step = 1;
    while (consumed < LEN) {
        /* write a piece whose size changes every time (1 byte up to ~300 KiB) */
        size_t n = (step * 7919u) % 300000u + 1u;
        n = n < LEN - written ? n : LEN - written;
        if (n > 0 && fog_yamux_queued_bytes(a.y) < 600000) {
            assert_int_equal(fog_yamux_write(a.y, id, data + written, n), 0);
            written += n;
        }
        pump(&a, &b);
        /* give back an odd amount of window: the sender drains the queue part way */
        size_t held = b.rx[id].len - consumed;
        size_t k = held < (step * 104729u) % 200000u + 1u ? held : (step * 104729u) % 200000u + 1u;
        if (k > 0) {
            assert_int_equal(fog_yamux_consume(b.y, id, k), 0);
            consumed += k;
        }
        pump(&a, &b);
        step++;
        assert_true(step < 100000);
    }
    assert_int_equal(written, LEN);
    assert_int_equal(b.rx[id].len, LEN);
    assert_memory_equal(b.rx[id].p, data, LEN);
    assert_int_equal(fog_yamux_queued_bytes(a.y), 0);
    free(data);
    side_free(&a);
    side_free(&b);
}

static void test_yamux_write_queue_capped(void **state)
{
    (void)state;
    side a;
    now = 0;
    fog_yamux_config cfg;
    fog_yamux_config_default(&cfg);
    cfg.max_queued_bytes = 1000;
    side_init(&a, true, &cfg);
    uint32_t id;
    uint8_t data[1001] = {0};
    assert_int_equal(fog_yamux_open(a.y, &id), 0);
    assert_int_equal(fog_yamux_write(a.y, id, data, 1001), FOG_ERR_LIMIT);
    assert_int_equal(fog_yamux_write(a.y, id, data, 1000), 0);
    assert_int_equal(fog_yamux_write(a.y, id, data, 1), FOG_ERR_LIMIT);
    uint8_t buf[2048];
    assert_int_equal(pull_all(&a, buf, sizeof buf), 12 + 12 + 1000);
    assert_int_equal(fog_yamux_write(a.y, id, data, 1000), 0);
    assert_int_equal(fog_yamux_close(a.y, id), 0);
    assert_int_equal(fog_yamux_write(a.y, id, data, 1), FOG_ERR_INVALID);
    side_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yamux_open_accept_data_close),
        cmocka_unit_test(test_yamux_hundred_streams),
        cmocka_unit_test(test_yamux_window_exhausted_and_refilled),
        cmocka_unit_test(test_yamux_large_window_announced),
        cmocka_unit_test(test_yamux_peer_exceeds_window),
        cmocka_unit_test(test_yamux_stream_reset),
        cmocka_unit_test(test_yamux_go_away),
        cmocka_unit_test(test_yamux_ping_round_trip),
        cmocka_unit_test(test_yamux_keepalive_deadline),
        cmocka_unit_test(test_yamux_fragmented_feeding),
        cmocka_unit_test(test_yamux_malformed_headers),
        cmocka_unit_test(test_yamux_stream_id_reuse),
        cmocka_unit_test(test_yamux_max_streams_rst),
        cmocka_unit_test(test_yamux_buffer_cap_resets_stream),
        cmocka_unit_test(test_yamux_config_checked),
        cmocka_unit_test(test_yamux_write_queue_capped),
        cmocka_unit_test(test_yamux_send_ring_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
