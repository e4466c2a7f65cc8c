/* test_ping.c: the libp2p ping core (src/net/ping.c).
 * A dialer and a listener talk through an in-memory pipe with a fake clock. The dialer's rng is
 * a counter, so the expected payload is known without running the code: ping k carries the
 * bytes 32(k-1), 32(k-1)+1, ... (mod 256). Round trips are the differences of the fake times.
 */
#include "testlib.h"

#include "fog/ping.h"

static void counter_fill(void *ctx, uint8_t *out, size_t len)
{
    uint8_t *next = ctx;
    for (size_t i = 0; i < len; i++) {
        out[i] = (*next)++;
    }
}

static fog_ping *mk_dialer(uint8_t *counter, fog_ms initial)
{
    fog_ping_config cfg;
    fog_ping_config_default(&cfg);
    cfg.is_dialer = true;
    cfg.rng.fill = counter_fill;
    cfg.rng.ctx = counter;
    cfg.initial_ms = initial;
    fog_ping *p = NULL;
    assert_int_equal(fog_ping_new(&p, &cfg), 0);
    return p;
}

static fog_ping *mk_listener(fog_ms initial, size_t max_queued)
{
    fog_ping_config cfg;
    fog_ping_config_default(&cfg);
    cfg.initial_ms = initial;
    if (max_queued > 0) {
        cfg.max_queued_bytes = max_queued;
    }
    fog_ping *p = NULL;
    assert_int_equal(fog_ping_new(&p, &cfg), 0);
    return p;
}

/* Pulls all pending output of p into out[cap]; returns the byte count. */
static size_t drain(fog_ping *p, uint8_t *out, size_t cap, fog_ms now)
{
    size_t total = 0, n;
    do {
        assert_int_equal(fog_ping_pull(p, out + total, 5 < cap - total ? 5 : cap - total, &n,
                                       now), 0);
        total += n;
    } while (n > 0 && total < cap);
    return total;
}

static int feed_frag(fog_ping *p, const uint8_t *in, size_t len, size_t frag, fog_ms now)
{
    for (size_t off = 0; off < len;) {
        size_t n = frag == 0 || len - off < frag ? len - off : frag;
        int rc = fog_ping_feed(p, in + off, n, now);
        if (rc < 0) {
            return rc;
        }
        off += n;
    }
    return 0;
}

static void expect_pong(fog_ping *p, fog_ms rtt, uint64_t seq)
{
    fog_ping_event ev;
    assert_true(fog_ping_poll_event(p, &ev));
    assert_int_equal(ev.kind, FOG_PING_EV_PONG);
    assert_int_equal(ev.rtt_ms, rtt);
    assert_int_equal(ev.seq, seq);
    assert_false(fog_ping_poll_event(p, &ev));
}

static void expect_failed(fog_ping *p, int err)
{
    fog_ping_event ev;
    assert_true(fog_ping_poll_event(p, &ev));
    assert_int_equal(ev.kind, FOG_PING_EV_FAILED);
    assert_int_equal(ev.err, err);
    assert_false(fog_ping_poll_event(p, &ev));
}

/* One ping k (1-based) from d through l and back, fed in pieces of frag bytes. */
static void one_ping(fog_ping *d, fog_ping *l, uint64_t k, size_t frag, fog_ms t0)
{
    uint8_t want[FOG_PING_SIZE];
    for (size_t i = 0; i < FOG_PING_SIZE; i++) {
        want[i] = (uint8_t)(32 * (k - 1) + i);
    }
    assert_int_equal(fog_ping_send(d, t0), 0);
    assert_int_equal(fog_ping_deadline(d), t0 + 10000);
    uint8_t buf[64];
    assert_int_equal(drain(d, buf, sizeof buf, t0), FOG_PING_SIZE);
    assert_memory_equal(buf, want, FOG_PING_SIZE);
    assert_int_equal(feed_frag(l, buf, FOG_PING_SIZE, frag, t0 + 10), 0);
    assert_int_equal(drain(l, buf, sizeof buf, t0 + 10), FOG_PING_SIZE);
    assert_memory_equal(buf, want, FOG_PING_SIZE);
    assert_int_equal(fog_ping_deadline(l), t0 + 10 + 60000);
    assert_int_equal(feed_frag(d, buf, FOG_PING_SIZE, frag, t0 + 37), 0);
    expect_pong(d, 37, k);
    assert_int_equal(fog_ping_deadline(d), FOG_NEVER);
}

static void test_ping_round_trip(void **state)
{
    (void)state;
    uint8_t counter = 0;
    fog_ping *d = mk_dialer(&counter, 50);
    fog_ping *l = mk_listener(50, 0);
    assert_int_equal(fog_ping_deadline(d), FOG_NEVER);
    assert_int_equal(fog_ping_deadline(l), 50 + 60000);
    one_ping(d, l, 1, 0, 100);
    one_ping(d, l, 2, 0, 500);
    fog_ping_free(d);
    fog_ping_free(l);
}

static void test_ping_one_byte_fragments(void **state)
{
    (void)state;
    uint8_t counter = 0;
    fog_ping *d = mk_dialer(&counter, 0);
    fog_ping *l = mk_listener(0, 0);
    for (uint64_t k = 1; k <= 3; k++) {
        one_ping(d, l, k, 1, 1000 * k);
    }
    one_ping(d, l, 4, 7, 9000);
    fog_ping_free(d);
    fog_ping_free(l);
}

static void test_ping_wrong_echo(void **state)
{
    (void)state;
    uint8_t counter = 0;
    fog_ping *d = mk_dialer(&counter, 0);
    assert_int_equal(fog_ping_send(d, 10), 0);
    uint8_t buf[FOG_PING_SIZE];
    assert_int_equal(drain(d, buf, sizeof buf, 10), FOG_PING_SIZE);
    buf[31] ^= 1;
    assert_int_equal(fog_ping_feed(d, buf, 31, 20), 0); /* the first 31 bytes still match */
    assert_int_equal(fog_ping_feed(d, buf + 31, 1, 20), FOG_ERR_PROTO);
    expect_failed(d, FOG_ERR_PROTO);
    assert_int_equal(fog_ping_feed(d, buf, 1, 30), FOG_ERR_PROTO);
    assert_int_equal(fog_ping_send(d, 30), FOG_ERR_PROTO);
    assert_int_equal(fog_ping_deadline(d), FOG_NEVER);
    fog_ping_free(d);
}

static void test_ping_extra_and_unsolicited_bytes(void **state)
{
    (void)state;
    uint8_t counter = 0;
    fog_ping *d = mk_dialer(&counter, 0);
    assert_int_equal(fog_ping_feed(d, (const uint8_t *)"x", 1, 0), FOG_ERR_PROTO);
    expect_failed(d, FOG_ERR_PROTO);
    fog_ping_free(d);

    /* The echo plus one byte more, in one read. */
    d = mk_dialer(&counter, 0);
    assert_int_equal(fog_ping_send(d, 0), 0);
    uint8_t buf[FOG_PING_SIZE + 1];
    assert_int_equal(drain(d, buf, FOG_PING_SIZE, 0), FOG_PING_SIZE);
    buf[FOG_PING_SIZE] = 0;
    assert_int_equal(fog_ping_feed(d, buf, sizeof buf, 4), FOG_ERR_PROTO);
    fog_ping_event ev;
    assert_true(fog_ping_poll_event(d, &ev)); /* queued before the extra byte was seen */
    assert_int_equal(ev.kind, FOG_PING_EV_PONG);
    assert_int_equal(ev.rtt_ms, 4);
    expect_failed(d, FOG_ERR_PROTO);
    fog_ping_free(d);
}

static void test_ping_echo_timeout(void **state)
{
    (void)state;
    uint8_t counter = 0;
    fog_ping *d = mk_dialer(&counter, 0);
    assert_int_equal(fog_ping_send(d, 1000), 0);
    assert_int_equal(fog_ping_deadline(d), 11000);
    assert_int_equal(fog_ping_on_timeout(d, 10999), 0);
    fog_ping_event ev;
    assert_false(fog_ping_poll_event(d, &ev));
    assert_int_equal(fog_ping_on_timeout(d, 11000), 0);
    expect_failed(d, FOG_ERR_TIMEOUT);
    assert_int_equal(fog_ping_deadline(d), FOG_NEVER);
    uint8_t b = 0;
    assert_int_equal(fog_ping_feed(d, &b, 1, 11001), FOG_ERR_TIMEOUT);
    fog_ping_free(d);
}

static void test_ping_listener_idle_timeout(void **state)
{
    (void)state;
    fog_ping *l = mk_listener(1000, 0);
    assert_int_equal(fog_ping_deadline(l), 61000);
    uint8_t blk[FOG_PING_SIZE + 5] = {0};
    /* A partial block does not count as activity; a full one does. */
    assert_int_equal(fog_ping_feed(l, blk, 10, 2000), 0);
    assert_int_equal(fog_ping_deadline(l), 61000);
    assert_int_equal(fog_ping_feed(l, blk, sizeof blk, 5000), 0); /* 22 + 15 over: one block */
    assert_int_equal(fog_ping_deadline(l), 65000);
    assert_int_equal(fog_ping_on_timeout(l, 64999), 0);
    fog_ping_event ev;
    assert_false(fog_ping_poll_event(l, &ev));
    assert_int_equal(fog_ping_on_timeout(l, 70000), 0);
    expect_failed(l, FOG_ERR_TIMEOUT);
    size_t n = 1;
    uint8_t out[8];
    assert_int_equal(fog_ping_pull(l, out, sizeof out, &n, 70000), FOG_ERR_TIMEOUT);
    assert_int_equal(n, 0);
    fog_ping_free(l);
}

static void test_ping_listener_queue_cap(void **state)
{
    (void)state;
    fog_ping *l = mk_listener(0, 2 * FOG_PING_SIZE);
    uint8_t blocks[3 * FOG_PING_SIZE];
    for (size_t i = 0; i < sizeof blocks; i++) {
        blocks[i] = (uint8_t)i;
    }
    assert_int_equal(fog_ping_feed(l, blocks, 2 * FOG_PING_SIZE, 1), 0);
    assert_int_equal(fog_ping_feed(l, blocks + 64, FOG_PING_SIZE, 2), FOG_ERR_LIMIT);
    expect_failed(l, FOG_ERR_LIMIT);
    fog_ping_free(l);

    /* Pulled in time, the same three blocks pass and come back in order. */
    l = mk_listener(0, 2 * FOG_PING_SIZE);
    uint8_t out[3 * FOG_PING_SIZE];
    size_t got = 0;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fog_ping_feed(l, blocks + i * FOG_PING_SIZE, FOG_PING_SIZE, 1), 0);
        got += drain(l, out + got, sizeof out - got, 1);
    }
    assert_int_equal(got, sizeof out);
    assert_memory_equal(out, blocks, sizeof out);
    fog_ping_free(l);
}

static void test_ping_misuse(void **state)
{
    (void)state;
    fog_ping_config cfg;
    fog_ping_config_default(&cfg);
    cfg.is_dialer = true; /* no rng */
    fog_ping *p = NULL;
    assert_int_equal(fog_ping_new(&p, &cfg), FOG_ERR_INVALID);
    assert_null(p);
    fog_ping *l = mk_listener(0, 0);
    assert_int_equal(fog_ping_send(l, 0), FOG_ERR_INVALID);
    fog_ping_free(l);
    uint8_t counter = 0;
    fog_ping *d = mk_dialer(&counter, 0);
    assert_int_equal(fog_ping_send(d, 0), 0);
    assert_int_equal(fog_ping_send(d, 0), FOG_ERR_INVALID); /* one ping in flight at a time */
    fog_ping_free(d);
    fog_ping_free(NULL);
}

static void test_ping_event_queue_cap(void **state)
{
    (void)state;
    uint8_t counter = 0;
    fog_ping *d = mk_dialer(&counter, 0);
    fog_ping *l = mk_listener(0, 0);
    uint8_t buf[FOG_PING_SIZE];
    for (int k = 0; k < 4; k++) {
        assert_int_equal(fog_ping_send(d, 0), 0);
        assert_int_equal(drain(d, buf, sizeof buf, 0), FOG_PING_SIZE);
        assert_int_equal(fog_ping_feed(l, buf, sizeof buf, 0), 0);
        assert_int_equal(drain(l, buf, sizeof buf, 0), FOG_PING_SIZE);
        assert_int_equal(fog_ping_feed(d, buf, sizeof buf, (fog_ms)k), 0);
    }
    assert_int_equal(fog_ping_send(d, 0), FOG_ERR_LIMIT);
    for (uint64_t k = 1; k <= 4; k++) {
        fog_ping_event ev;
        assert_true(fog_ping_poll_event(d, &ev));
        assert_int_equal(ev.seq, k);
        assert_int_equal(ev.rtt_ms, k - 1);
    }
    assert_int_equal(fog_ping_send(d, 0), 0);
    fog_ping_free(d);
    fog_ping_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_round_trip),
        cmocka_unit_test(test_ping_one_byte_fragments),
        cmocka_unit_test(test_ping_wrong_echo),
        cmocka_unit_test(test_ping_extra_and_unsolicited_bytes),
        cmocka_unit_test(test_ping_echo_timeout),
        cmocka_unit_test(test_ping_listener_idle_timeout),
        cmocka_unit_test(test_ping_listener_queue_cap),
        cmocka_unit_test(test_ping_misuse),
        cmocka_unit_test(test_ping_event_queue_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
