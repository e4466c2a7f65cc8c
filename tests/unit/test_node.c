/* test_node.c: the libp2p host on libuv (src/node, include/fog/node.h).
 * Real loopback TCP on port 0, one uv loop running two or three nodes with seeded Ed25519
 * identities. Every wait runs the loop until a condition holds, under a watchdog: a hang fails
 * the test after WATCHDOG_MS instead of blocking. Expected peer IDs come from
 * fog_peer_id_ed25519 over the seeded keys; echo payloads are a pattern the test makes and
 * checks itself; the bench count is the number of bytes the test wrote. After each test every
 * node is closed and the loop must close cleanly (no handle left open).
 */
#include "testlib.h"

#include <uv.h>

#include "fog/crypto.h"
#include "fog/mf.h"
#include "fog/node.h"
#include "uvtest.h"

#define CHUNK (64u * 1024u)


typedef struct {
    fog_node *n;
    uint8_t secret[64];
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    fog_multiaddr addr; /* listen address with /p2p */
    int connected, identified, disconnected;
    int last_disc_err;
    fog_peer_info last_ident; /* peer_id and identify are not kept: copy what is needed */
    bool ident_has_echo;
    uint16_t ident_listen_port;
    fog_multiaddr ident_observed;
    bool closed;
} tnode;

/* ---- loop helpers ---- */

typedef struct {
    int *p;
    int v;
} int_wait;

static bool int_reached(void *arg)
{
    int_wait *w = arg;
    return *w->p >= w->v;
}

static bool wait_int(int *p, int v)
{
    int_wait w = {p, v};
    return wait_for(int_reached, &w);
}

/* ---- nodes ---- */

static void obs_connected(void *ud, const fog_peer_info *p)
{
    (void)p;
    ((tnode *)ud)->connected++;
}

static void obs_identified(void *ud, const fog_peer_info *p)
{
    tnode *t = ud;
    t->identified++;
    const fog_identify_msg *m = &p->identify->msg;
    t->ident_has_echo = false;
    for (size_t i = 0; i < m->n_protocols; i++) {
        t->ident_has_echo |= strcmp(m->protocols[i], FOG_ECHO_PROTO) == 0;
    }
    t->ident_listen_port = 0;
    if (m->n_listen_addrs > 0) {
        assert_int_equal(fog_multiaddr_port(&m->listen_addrs[0], FOG_MA_TCP,
                                            &t->ident_listen_port), 0);
    }
    memset(&t->ident_observed, 0, sizeof t->ident_observed);
    if (m->observed_addr != NULL) {
        t->ident_observed = *m->observed_addr;
    }
}

static void obs_disconnected(void *ud, fog_slice peer, int err, const char *detail)
{
    (void)peer;
    (void)detail;
    tnode *t = ud;
    t->disconnected++;
    t->last_disc_err = err;
}

static void log_line(void *ctx, int level, const char *module, const char *msg)
{
    (void)ctx;
    print_message("  [%d %s] %s\n", level, module, msg);
}

static uint32_t next_window; /* 0: the default */

static void node_make(tnode *t, uint8_t tag, uint32_t max_conns)
{
    memset(t, 0, sizeof *t);
    uint8_t seed[32], pub[32];
    memset(seed, tag, sizeof seed);
    fog_ed25519_from_seed(seed, pub, t->secret);
    fog_peer_id_ed25519(pub, t->id);
    fog_node_config cfg;
    fog_node_config_default(&cfg);
    cfg.identity_secret = t->secret;
    cfg.test_protocols = true;
    if (getenv("FOG_TEST_LOG") != NULL) {
        cfg.log.fn = log_line;
        cfg.log.level = atoi(getenv("FOG_TEST_LOG"));
    }
    if (max_conns > 0) {
        cfg.max_connections = max_conns;
    }
    if (next_window > 0) {
        cfg.window_bytes = next_window;
    }
    assert_int_equal(fog_multiaddr_parse(&cfg.listen[0], "/ip4/127.0.0.1/tcp/0"), 0);
    cfg.n_listen = 1;
    assert_int_equal(fog_node_new(&t->n, &loop, &cfg), 0);
    fog_node_observer o = {obs_connected, obs_identified, obs_disconnected, t};
    fog_node_set_observer(t->n, &o);
    assert_int_equal(fog_node_start(t->n), 0);
    assert_int_equal(fog_node_listen_addrs(t->n, &t->addr, 1), 1);
    assert_int_equal(fog_multiaddr_push(&t->addr, FOG_MA_P2P, t->id, sizeof t->id), 0);
    fog_slice me = fog_node_peer_id(t->n);
    assert_memory_equal(me.p, t->id, sizeof t->id);
}

static void node_done(void *ud)
{
    ((tnode *)ud)->closed = true;
}

static void node_close(tnode *t)
{
    fog_node_close(t->n, node_done, t);
    assert_true(wait_for(is_true, &t->closed));
    fog_node_free(t->n);
    t->n = NULL;
}

static uint16_t port_of(const fog_multiaddr *ma)
{
    uint16_t port = 0;
    assert_int_equal(fog_multiaddr_port(ma, FOG_MA_TCP, &port), 0);
    return port;
}

/* ---- dialling ---- */

typedef struct {
    bool done;
    int err;
    uint8_t peer[FOG_PEER_ID_MAX];
    size_t peer_len;
} dial_res;

static void dial_cb(void *ud, int err, const char *detail, fog_slice peer)
{
    dial_res *r = ud;
    assert_false(r->done);
    r->done = true;
    r->err = err;
    if (err < 0) {
        assert_non_null(detail);
    } else {
        assert_true(peer.len <= sizeof r->peer);
        memcpy(r->peer, peer.p, peer.len);
        r->peer_len = peer.len;
    }
}

static int dial(tnode *from, const fog_multiaddr *ma, dial_res *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(fog_node_dial(from->n, ma, dial_cb, r), 0);
    assert_false(r->done); /* never called from inside fog_node_dial */
    assert_true(wait_for(is_true, &r->done));
    return r->err;
}

static void connect_pair(tnode *a, tnode *b)
{
    dial_res r;
    assert_int_equal(dial(a, &b->addr, &r), 0);
    assert_int_equal(r.peer_len, sizeof b->id);
    assert_memory_equal(r.peer, b->id, sizeof b->id);
    assert_true(wait_int(&b->connected, 1));
}

static void setup_loop(void)
{
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &wd);
}

static void teardown_loop(void)
{
    uv_close((uv_handle_t *)&wd, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static bool connected_both(void *arg)
{
    tnode **p = arg;
    return fog_node_peer_count(p[0]->n) == 1 && fog_node_peer_count(p[1]->n) == 1;
}

/* Most tests: a fresh loop with two nodes, a dialled to b. */
static void pair_up(tnode *a, tnode *b)
{
    setup_loop();
    node_make(a, 1, 0);
    node_make(b, 2, 0);
    connect_pair(a, b);
}

static void pair_down(tnode *a, tnode *b)
{
    node_close(a);
    node_close(b);
    teardown_loop();
}

static void test_node_dial_both_ways(void **state)
{
    (void)state;
    tnode a, b;
    pair_up(&a, &b);
    tnode *pair[2] = {&a, &b};
    assert_true(wait_for(connected_both, pair));
    fog_peer_info info;
    assert_true(fog_node_peer(a.n, b.id, sizeof b.id, &info));
    assert_false(info.inbound);
    assert_int_equal(port_of(&info.remote_addr), port_of(&b.addr));
    assert_string_equal(info.muxer, "/yamux/1.0.0");
    assert_true(fog_node_peer(b.n, a.id, sizeof a.id, &info));
    assert_true(info.inbound);
    /* A second dial to a connected peer reuses the connection. */
    dial_res r;
    assert_int_equal(dial(&a, &b.addr, &r), 0);
    assert_int_equal(fog_node_peer_count(a.n), 1);
    /* Disconnect, then dial the other way. */
    assert_int_equal(fog_node_disconnect(a.n, b.id, sizeof b.id), 0);
    assert_true(wait_int(&a.disconnected, 1));
    assert_true(wait_int(&b.disconnected, 1));
    assert_int_equal(a.disconnected, 1);
    assert_int_equal(b.disconnected, 1);
    assert_int_equal(fog_node_peer_count(a.n), 0);
    assert_int_equal(fog_node_disconnect(a.n, b.id, sizeof b.id), FOG_ERR_NOT_FOUND);
    assert_int_equal(dial(&b, &a.addr, &r), 0);
    assert_memory_equal(r.peer, a.id, sizeof a.id);
    assert_true(wait_for(connected_both, pair));
    assert_true(fog_node_peer(a.n, b.id, sizeof b.id, &info));
    assert_true(info.inbound);
    pair_down(&a, &b);
}

static void test_node_dial_errors(void **state)
{
    (void)state;
    setup_loop();
    tnode a, b, c;
    node_make(&a, 1, 0);
    node_make(&b, 2, 0);
    node_make(&c, 3, 0);
    /* B's address with C's peer ID: Noise proves B, not C. */
    fog_multiaddr wrong;
    assert_int_equal(fog_multiaddr_ip_tcp(&wrong, 4, (const uint8_t[]){127, 0, 0, 1},
                                          port_of(&b.addr)), 0);
    assert_int_equal(fog_multiaddr_push(&wrong, FOG_MA_P2P, c.id, sizeof c.id), 0);
    dial_res r;
    assert_int_equal(dial(&a, &wrong, &r), FOG_ERR_AUTH);
    assert_int_equal(fog_node_peer_count(a.n), 0);
    /* A closed port: C's, once C is gone. */
    fog_multiaddr gone = c.addr;
    node_close(&c);
    assert_int_equal(dial(&a, &gone, &r), FOG_ERR_IO);
    /* Not a TCP address, and /dns: refused at once. */
    fog_multiaddr bad;
    assert_int_equal(fog_multiaddr_parse(&bad, "/dns4/example.com/tcp/4001"), 0);
    assert_int_equal(fog_node_dial(a.n, &bad, dial_cb, &r), FOG_ERR_INVALID);
    assert_int_equal(fog_multiaddr_parse(&bad, "/ip4/127.0.0.1/udp/4001/quic-v1"), 0);
    assert_int_equal(fog_node_dial(a.n, &bad, dial_cb, &r), FOG_ERR_INVALID);
    fog_node_stats st;
    fog_node_get_stats(a.n, &st);
    assert_int_equal(st.conns_failed, 2);
    pair_down(&a, &b);
}

static void test_node_identify_both_ways(void **state)
{
    (void)state;
    tnode a, b;
    pair_up(&a, &b);
    assert_true(wait_int(&a.identified, 1));
    assert_true(wait_int(&b.identified, 1));
    assert_true(a.ident_has_echo);
    assert_true(b.ident_has_echo);
    assert_int_equal(a.ident_listen_port, port_of(&b.addr));
    assert_int_equal(b.ident_listen_port, port_of(&a.addr));
    /* What B tells A about A's address is the remote address B sees. */
    fog_peer_info info;
    assert_true(fog_node_peer(b.n, a.id, sizeof a.id, &info));
    assert_true(fog_multiaddr_eq(&a.ident_observed, &info.remote_addr));
    assert_true(fog_node_peer(a.n, b.id, sizeof b.id, &info));
    assert_true(fog_multiaddr_eq(&b.ident_observed, &info.remote_addr));
    assert_non_null(info.identify);
    assert_memory_equal(info.identify->msg.public_key.p, fog_node_public_key(b.n).p,
                        fog_node_public_key(b.n).len);
    assert_string_equal(info.identify->msg.protocol_version, FOG_IDENTIFY_PROTOCOL_VERSION);
    pair_down(&a, &b);
}

typedef struct {
    bool done;
    int err;
    uint64_t rtt;
} ping_res;

static void ping_cb(void *ud, int err, uint64_t rtt_us)
{
    ping_res *r = ud;
    r->done = true;
    r->err = err;
    r->rtt = rtt_us;
}

static void test_node_ping(void **state)
{
    (void)state;
    tnode a, b;
    pair_up(&a, &b);
    for (int i = 0; i < 3; i++) {
        ping_res r = {0};
        assert_int_equal(fog_node_ping(a.n, b.id, sizeof b.id, ping_cb, &r), 0);
        assert_false(r.done);
        assert_true(wait_for(is_true, &r.done));
        assert_int_equal(r.err, 0);
        assert_true(r.rtt > 0 && r.rtt < 10000000u);
        fog_peer_info info;
        assert_true(fog_node_peer(a.n, b.id, sizeof b.id, &info));
        assert_int_equal(info.latency_us, r.rtt);
    }
    ping_res r = {0};
    assert_int_equal(fog_node_ping(a.n, a.id, sizeof a.id, ping_cb, &r), FOG_ERR_NOT_FOUND);
    pair_down(&a, &b);
}

/* Both nodes dial each other at the same moment: each side sees two connections come up and
 * both must keep the same one, not close each other's (which would leave none). */
static void test_node_simultaneous_dial(void **state)
{
    (void)state;
    setup_loop();
    tnode a, b;
    node_make(&a, 1, 0);
    node_make(&b, 2, 0);
    dial_res ra, rb;
    memset(&ra, 0, sizeof ra);
    memset(&rb, 0, sizeof rb);
    assert_int_equal(fog_node_dial(a.n, &b.addr, dial_cb, &ra), 0);
    assert_int_equal(fog_node_dial(b.n, &a.addr, dial_cb, &rb), 0);
    assert_true(wait_for(is_true, &ra.done));
    assert_true(wait_for(is_true, &rb.done));
    assert_int_equal(ra.err, 0);
    assert_int_equal(rb.err, 0);
    /* Let the losing connection close on both sides, then check one survived. */
    ping_res r = {0};
    for (int i = 0; i < 20; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    tnode *pair[2] = {&a, &b};
    assert_true(wait_for(connected_both, pair));
    fog_peer_info ia, ib;
    assert_true(fog_node_peer(a.n, b.id, sizeof b.id, &ia));
    assert_true(fog_node_peer(b.n, a.id, sizeof a.id, &ib));
    assert_true(ia.inbound != ib.inbound); /* the same connection, seen from both ends */
    assert_int_equal(fog_node_ping(a.n, b.id, sizeof b.id, ping_cb, &r), 0);
    assert_true(wait_for(is_true, &r.done));
    assert_int_equal(r.err, 0);
    assert_int_equal(a.disconnected, 0);
    assert_int_equal(b.disconnected, 0);
    pair_down(&a, &b);
}

/* ---- stream clients ---- */

typedef struct {
    fog_stream *s;
    uint8_t *src; /* echo: the payload; bench: NULL (zero chunk repeated) */
    size_t len, sent;
    fog_buf got;
    uint64_t got_count;
    bool opened, closed_w, ended, keep_open;
    int close_err;
} cli;

static const uint8_t zero_chunk[CHUNK];

static void cli_pump(cli *k)
{
    while (k->sent < k->len) {
        size_t n = k->len - k->sent < CHUNK ? k->len - k->sent : CHUNK;
        int rc = fog_stream_write(k->s, k->src != NULL ? k->src + k->sent : zero_chunk, n);
        if (rc == FOG_ERR_LIMIT) {
            return;
        }
        assert_int_equal(rc, 0);
        k->sent += n;
    }
    if (!k->closed_w && !k->keep_open) {
        assert_int_equal(fog_stream_close(k->s), 0);
        k->closed_w = true;
    }
}

static void cli_open(fog_stream *s)
{
    cli *k = fog_stream_ud(s);
    k->opened = true;
    cli_pump(k);
}

static size_t cli_data(fog_stream *s, const uint8_t *data, size_t len)
{
    cli *k = fog_stream_ud(s);
    if (k->src != NULL) {
        assert_int_equal(fog_buf_append(&k->got, data, len), 0);
    } else {
        assert_true(k->got.len + len <= 8);
        assert_int_equal(fog_buf_append(&k->got, data, len), 0);
    }
    k->got_count += len;
    return 0;
}

static void cli_writable(fog_stream *s)
{
    cli_pump(fog_stream_ud(s));
}

static void cli_close(fog_stream *s, int err)
{
    cli *k = fog_stream_ud(s);
    k->ended = true;
    k->close_err = err;
    k->s = NULL;
}

static const fog_stream_handler cli_handler = {cli_open, cli_data, NULL, cli_writable,
                                               cli_close};

static void pattern(uint8_t *p, size_t len, uint32_t seed)
{
    uint32_t x = seed == 0 ? 1 : seed;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

typedef struct {
    cli *k;
    size_t n;
} cli_set;

static bool all_ended(void *arg)
{
    cli_set *cs = arg;
    for (size_t i = 0; i < cs->n; i++) {
        if (!cs->k[i].ended) {
            return false;
        }
    }
    return true;
}

#define ECHO_STREAMS 100
#define ECHO_BYTES (256u * 1024u)

static void echo_run(size_t n_streams, size_t bytes, uint32_t window)
{
    setup_loop();
    tnode a, b;
    next_window = window;
    node_make(&a, 1, 0);
    node_make(&b, 2, 0);
    next_window = 0;
    connect_pair(&a, &b);
    cli *k = calloc(n_streams, sizeof *k);
    assert_non_null(k);
    for (size_t i = 0; i < n_streams; i++) {
        k[i].len = bytes;
        k[i].src = malloc(bytes);
        assert_non_null(k[i].src);
        pattern(k[i].src, bytes, (uint32_t)(i + 1) * 0x9E3779B1u);
        assert_int_equal(fog_node_open_stream(a.n, b.id, sizeof b.id, FOG_ECHO_PROTO,
                                              &cli_handler, &k[i], &k[i].s), 0);
    }
    cli_set cs = {k, n_streams};
    assert_true(wait_for(all_ended, &cs));
    for (size_t i = 0; i < n_streams; i++) {
        assert_int_equal(k[i].close_err, 0);
        assert_int_equal(k[i].got.len, bytes);
        assert_memory_equal(k[i].got.p, k[i].src, bytes);
        free(k[i].src);
        fog_buf_clear(&k[i].got);
    }
    free(k);
    fog_node_stats st;
    fog_node_get_stats(b.n, &st);
    assert_true(st.bytes_in > (uint64_t)n_streams * bytes);
    pair_down(&a, &b);
}

static void test_node_echo_many_streams(void **state)
{
    (void)state;
    echo_run(ECHO_STREAMS, ECHO_BYTES, 0);
}

/* The spec's 256 KiB window (js-libp2p's): streams longer than it need window updates. */
static void test_node_echo_small_window(void **state)
{
    (void)state;
    echo_run(8, 1024u * 1024u, 256u * 1024u);
}

#define BENCH_BYTES (64u * 1024u * 1024u)

static void test_node_bench_counts(void **state)
{
    (void)state;
    tnode a, b;
    pair_up(&a, &b);
    cli k = {0};
    k.len = BENCH_BYTES;
    uint64_t t0 = uv_hrtime();
    assert_int_equal(fog_node_open_stream(a.n, b.id, sizeof b.id, FOG_BENCH_PROTO, &cli_handler,
                                          &k, &k.s), 0);
    cli_set cs = {&k, 1};
    assert_true(wait_for(all_ended, &cs));
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    print_message("bench: 64 MiB in %.3f s (%.1f MB/s)\n", secs, BENCH_BYTES / secs / 1e6);
    assert_int_equal(k.close_err, 0);
    assert_int_equal(k.got.len, 8);
    uint64_t count = 0;
    for (int i = 0; i < 8; i++) {
        count = count << 8 | k.got.p[i];
    }
    assert_int_equal(count, BENCH_BYTES);
    fog_buf_clear(&k.got);
    pair_down(&a, &b);
}

static void test_node_disconnect_closes_streams(void **state)
{
    (void)state;
    tnode a, b;
    pair_up(&a, &b);
    uint8_t msg[100];
    pattern(msg, sizeof msg, 7);
    cli k = {0};
    k.src = msg;
    k.len = sizeof msg;
    k.keep_open = true;
    assert_int_equal(fog_node_open_stream(a.n, b.id, sizeof b.id, FOG_ECHO_PROTO, &cli_handler,
                                          &k, &k.s), 0);
    assert_true(wait_for(is_true, &k.opened));
    fog_peer_info info;
    assert_true(fog_node_peer(a.n, b.id, sizeof b.id, &info));
    assert_true(info.open_streams >= 1);
    assert_int_equal(fog_node_disconnect(b.n, a.id, sizeof a.id), 0);
    assert_true(wait_for(is_true, &k.ended));
    assert_int_equal(k.close_err, FOG_ERR_CANCELLED);
    assert_true(wait_int(&a.disconnected, 1));
    assert_true(wait_int(&b.disconnected, 1));
    fog_buf_clear(&k.got);
    pair_down(&a, &b);
}

static void test_node_max_connections(void **state)
{
    (void)state;
    setup_loop();
    tnode a, b, c;
    node_make(&a, 1, 0);
    node_make(&b, 2, 1);
    node_make(&c, 3, 0);
    connect_pair(&a, &b);
    /* B is full: C's connection is closed at accept. */
    dial_res r;
    assert_true(dial(&c, &b.addr, &r) < 0);
    fog_node_stats st;
    fog_node_get_stats(b.n, &st);
    assert_int_equal(st.conns_dropped, 1);
    assert_int_equal(fog_node_peer_count(b.n), 1);
    /* B dials out: over its limit too. */
    assert_int_equal(dial(&b, &c.addr, &r), FOG_ERR_LIMIT);
    node_close(&a);
    node_close(&b);
    node_close(&c);
    teardown_loop();
}

static void test_node_close_with_live_streams(void **state)
{
    (void)state;
    tnode a, b;
    pair_up(&a, &b);
    cli k[4];
    memset(k, 0, sizeof k);
    for (size_t i = 0; i < 4; i++) {
        k[i].len = 4u * 1024u * 1024u; /* more than the window: still flowing at close */
        k[i].keep_open = true;
        assert_int_equal(fog_node_open_stream(a.n, b.id, sizeof b.id, FOG_BENCH_PROTO,
                                              &cli_handler, &k[i], &k[i].s), 0);
    }
    assert_true(wait_for(is_true, &k[3].opened));
    node_close(&a);
    for (size_t i = 0; i < 4; i++) {
        assert_true(k[i].ended);
        assert_int_equal(k[i].close_err, FOG_ERR_CANCELLED);
    }
    assert_true(wait_int(&b.disconnected, 1));
    node_close(&b);
    teardown_loop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_dial_both_ways),
        cmocka_unit_test(test_node_dial_errors),
        cmocka_unit_test(test_node_identify_both_ways),
        cmocka_unit_test(test_node_ping),
        cmocka_unit_test(test_node_simultaneous_dial),
        cmocka_unit_test(test_node_echo_many_streams),
        cmocka_unit_test(test_node_echo_small_window),
        cmocka_unit_test(test_node_bench_counts),
        cmocka_unit_test(test_node_disconnect_closes_streams),
        cmocka_unit_test(test_node_max_connections),
        cmocka_unit_test(test_node_close_with_live_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
