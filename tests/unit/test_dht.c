/* test_dht.c: the DHT wired onto fog_node (src/dht/dht*.c, include/fog/dht.h).
 * One uv loop runs NODES fog_nodes on loopback TCP (port 0) with seeded Ed25519 identities,
 * each with a fog_dht in server mode, all bootstrapped from node 0 alone; every wait runs the
 * loop under a watchdog. Expectations come from independent reasoning: a peer ID is
 * fog_peer_id_ed25519 of its seeded key, the k closest peers to a key are computed here by
 * sorting every node's SHA-256(peer ID) by XOR distance, and the raw requests and answers are
 * built and read with the kad codec (fog/kad.h), not with the code under test.
 */
#include "testlib.h"

#include <uv.h>

#include "fog/crypto.h"
#include "fog/dht.h"
#include "fog/kad.h"
#include "fog/mf.h"
#include "fog/node.h"
#include "uvtest.h"
#include "fog/rtable.h"

#define NODES 24


typedef struct {
    fog_node *n;
    fog_dht *dht;
    uint8_t secret[64];
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    uint8_t key[FOG_KAD_KEY_LEN];
    fog_multiaddr addr; /* listen address with /p2p */
    bool closed;
} tnode;

static tnode nodes[NODES];
/* Nodes outside the bootstrapped network, made by single tests; teardown closes those a failed
 * test left open. extra[0] is the probe of test_dht_find_peer_after_bootstrap. */
#define EXTRA 4
static tnode extra[EXTRA];
static size_t next_k; /* the k of the next node_make's DHT; 0: the default */

/* ---- loop helpers ---- */

static void log_line(void *ctx, int level, const char *module, const char *msg)
{
    (void)ctx;
    print_message("  [%d %s] %s\n", level, module, msg);
}

/* ---- nodes ---- */

static void node_make(tnode *t, uint8_t tag, bool with_dht)
{
    memset(t, 0, sizeof *t);
    uint8_t seed[32], pub[32];
    memset(seed, tag, sizeof seed);
    seed[0] = 0xd7;
    fog_ed25519_from_seed(seed, pub, t->secret);
    fog_peer_id_ed25519(pub, t->id);
    fog_sha256(t->id, sizeof t->id, t->key);
    fog_node_config cfg;
    fog_node_config_default(&cfg);
    cfg.identity_secret = t->secret;
    fog_log_sink log = {0};
    if (getenv("FOG_TEST_LOG") != NULL) {
        log.fn = log_line;
        log.level = atoi(getenv("FOG_TEST_LOG"));
    }
    cfg.log = log;
    assert_int_equal(fog_multiaddr_parse(&cfg.listen[0], "/ip4/127.0.0.1/tcp/0"), 0);
    cfg.n_listen = 1;
    assert_int_equal(fog_node_new(&t->n, &loop, &cfg), 0);
    if (!with_dht) {
        assert_int_equal(fog_node_start(t->n), 0);
        return;
    }
    fog_dht_config dc;
    fog_dht_config_default(&dc);
    dc.loop = &loop;
    dc.request_timeout_ms = 5000;
    if (next_k > 0) {
        dc.k = next_k;
    }
    dc.log = log;
    assert_int_equal(fog_dht_new(&t->dht, t->n, &dc), 0);
    assert_int_equal(fog_node_start(t->n), 0);
    assert_int_equal(fog_node_listen_addrs(t->n, &t->addr, 1), 1);
    assert_int_equal(fog_multiaddr_push(&t->addr, FOG_MA_P2P, t->id, sizeof t->id), 0);
    /* Server mode announces the protocol. */
    const char *const *protos;
    size_t np = fog_node_protocols(t->n, &protos);
    bool has = false;
    for (size_t i = 0; i < np; i++) {
        has |= strcmp(protos[i], FOG_KAD_PROTOCOL) == 0;
    }
    assert_true(has);
}

static void node_done(void *ud)
{
    ((tnode *)ud)->closed = true;
}

typedef struct {
    bool done;
    int err;
    size_t connected, table;
} boot_res;

static void boot_cb(void *ud, int err, size_t connected, size_t table)
{
    boot_res *r = ud;
    assert_false(r->done);
    r->done = true;
    r->err = err;
    r->connected = connected;
    r->table = table;
}

static bool all_booted(void *arg)
{
    boot_res *r = arg;
    for (size_t i = 1; i < NODES; i++) {
        if (!r[i].done) {
            return false;
        }
    }
    return true;
}

static bool node0_knows_all(void *arg)
{
    (void)arg;
    return fog_rtable_size(fog_dht_table(nodes[0].dht)) == NODES - 1;
}

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &wd);
    for (size_t i = 0; i < NODES; i++) {
        node_make(&nodes[i], (uint8_t)(i + 1), true);
    }
    static boot_res br[NODES];
    memset(br, 0, sizeof br);
    for (size_t i = 1; i < NODES; i++) {
        assert_int_equal(fog_dht_bootstrap(nodes[i].dht, &nodes[0].addr, 1, boot_cb, &br[i]), 0);
        assert_false(br[i].done); /* deferred */
    }
    assert_true(wait_for(all_booted, br));
    for (size_t i = 1; i < NODES; i++) {
        assert_int_equal(br[i].err, 0);
        assert_int_equal(br[i].connected, 1);
        assert_true(br[i].table >= 1);
    }
    assert_true(wait_for(node0_knows_all, NULL));
    return 0;
}

static void count_active(uv_handle_t *h, void *arg)
{
    if (h != (uv_handle_t *)&wd && uv_is_active(h)) {
        (*(size_t *)arg)++;
    }
}

static bool loop_idle(void *arg)
{
    (void)arg;
    size_t n = 0;
    uv_walk(&loop, count_active, &n);
    return n == 0;
}

/* Closes every node (and the extra ones a failed test left open) and the loop. A handle
 * left active fails here instead of hanging. */
static int group_teardown(void **state)
{
    (void)state;
    tnode *all[NODES + EXTRA];
    size_t n = 0;
    for (size_t i = 0; i < NODES; i++) {
        all[n++] = &nodes[i];
    }
    for (size_t i = 0; i < EXTRA; i++) {
        if (extra[i].n != NULL && !extra[i].closed) {
            all[n++] = &extra[i];
        }
    }
    for (size_t i = 0; i < n; i++) {
        fog_node_close(all[i]->n, node_done, all[i]);
    }
    for (size_t i = 0; i < n; i++) {
        assert_true(wait_for(is_true, &all[i]->closed));
    }
    for (size_t i = 0; i < n; i++) {
        fog_dht_free(all[i]->dht);
        fog_node_free(all[i]->n);
    }
    assert_true(wait_for(loop_idle, NULL));
    uv_close((uv_handle_t *)&wd, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

/* ---- expectations computed here ---- */

static const uint8_t *sort_target;

static int by_distance(const void *a, const void *b)
{
    const tnode *x = *(const tnode *const *)a, *y = *(const tnode *const *)b;
    for (size_t i = 0; i < FOG_KAD_KEY_LEN; i++) {
        int dx = x->key[i] ^ sort_target[i], dy = y->key[i] ^ sort_target[i];
        if (dx != dy) {
            return dx < dy ? -1 : 1;
        }
    }
    return 0;
}

/* The nodes other than skip_a and skip_b, closest to target first; returns their count. */
static size_t closest_nodes(const uint8_t target[FOG_KAD_KEY_LEN], const tnode *skip_a,
                            const tnode *skip_b, tnode **out)
{
    size_t n = 0;
    for (size_t i = 0; i < NODES; i++) {
        if (&nodes[i] != skip_a && &nodes[i] != skip_b) {
            out[n++] = &nodes[i];
        }
    }
    sort_target = target;
    qsort(out, n, sizeof out[0], by_distance);
    return n;
}

static tnode *node_by_id(const uint8_t *id, size_t len)
{
    for (size_t i = 0; i < NODES; i++) {
        if (len == sizeof nodes[i].id && memcmp(id, nodes[i].id, len) == 0) {
            return &nodes[i];
        }
    }
    return NULL;
}

/* ---- lookups ---- */

typedef struct {
    bool done;
    int err;
    fog_dht_peer closest[FOG_KAD_K];
    size_t n;
    bool found;
    fog_dht_peer target;
} look_res;

static void look_cb(void *ud, int err, const fog_dht_peer *closest, size_t n,
                    const fog_dht_peer *target)
{
    look_res *r = ud;
    assert_false(r->done);
    r->done = true;
    r->err = err;
    assert_true(n <= FOG_KAD_K);
    memcpy(r->closest, closest, n * sizeof closest[0]);
    r->n = n;
    r->found = target != NULL;
    if (target != NULL) {
        r->target = *target;
    }
}

static bool all_looked(void *arg)
{
    look_res *r = arg;
    for (size_t i = 0; i < NODES; i++) {
        if (!r[i].done) {
            return false;
        }
    }
    return true;
}

typedef struct {
    bool done;
    int err;
    uint8_t peer[FOG_PEER_ID_MAX];
    size_t len;
} dial_res;

static void dial_cb(void *ud, int err, const char *detail, fog_slice peer)
{
    (void)detail;
    dial_res *r = ud;
    r->done = true;
    r->err = err;
    if (err == 0) {
        memcpy(r->peer, peer.p, peer.len);
        r->len = peer.len;
    }
}

static uint16_t port_of(const fog_multiaddr *ma)
{
    uint16_t port = 0;
    assert_int_equal(fog_multiaddr_port(ma, FOG_MA_TCP, &port), 0);
    return port;
}

/* A node outside the DHT dials the address a lookup reported: it must reach that peer. */
static void check_dials(fog_node *from, const fog_dht_peer *p, const tnode *want)
{
    assert_true(p->n_addrs >= 1);
    assert_int_equal(port_of(&p->addrs[0]), port_of(&want->addr));
    fog_multiaddr ma = p->addrs[0];
    assert_int_equal(fog_multiaddr_push(&ma, FOG_MA_P2P, p->id, p->id_len), 0);
    dial_res r = {0};
    assert_int_equal(fog_node_dial(from, &ma, dial_cb, &r), 0);
    assert_true(wait_for(is_true, &r.done));
    assert_int_equal(r.err, 0);
    assert_int_equal(r.len, sizeof want->id);
    assert_memory_equal(r.peer, want->id, sizeof want->id);
}

static void test_dht_find_peer_after_bootstrap(void **state)
{
    (void)state;
    static look_res res[NODES];
    memset(res, 0, sizeof res);
    size_t target[NODES];
    for (size_t i = 0; i < NODES; i++) {
        target[i] = (i + 1 + (i * 7) % (NODES - 1)) % NODES; /* never i */
        const tnode *t = &nodes[target[i]];
        assert_int_equal(fog_dht_find_peer(nodes[i].dht, t->id, sizeof t->id, look_cb, &res[i]),
                         0);
        assert_false(res[i].done);
    }
    assert_true(wait_for(all_looked, res));
    tnode *probe = &extra[0];
    node_make(probe, 200, false);
    for (size_t i = 0; i < NODES; i++) {
        const tnode *t = &nodes[target[i]];
        assert_int_equal(res[i].err, 0);
        assert_true(res[i].found);
        assert_int_equal(res[i].target.id_len, sizeof t->id);
        assert_memory_equal(res[i].target.id, t->id, sizeof t->id);
        check_dials(probe->n, &res[i].target, t);
        for (size_t j = 0; j < res[i].n; j++) {
            assert_non_null(node_by_id(res[i].closest[j].id, res[i].closest[j].id_len));
            assert_ptr_not_equal(node_by_id(res[i].closest[j].id, res[i].closest[j].id_len),
                                 &nodes[i]);
        }
    }
    fog_dht_stats st;
    fog_dht_get_stats(nodes[0].dht, &st);
    assert_true(st.requests_in > 0);
}

/* Every node is reachable, so a lookup ends with exactly the k closest other nodes. */
static void test_dht_get_closest_exact(void **state)
{
    (void)state;
    static const char key[] = "fog dht test key";
    uint8_t target[FOG_KAD_KEY_LEN];
    fog_sha256((const uint8_t *)key, sizeof key - 1, target);
    tnode *want[NODES];
    size_t nw = closest_nodes(target, &nodes[3], NULL, want);
    assert_int_equal(nw, NODES - 1);
    look_res r = {0};
    assert_int_equal(fog_dht_get_closest(nodes[3].dht, (const uint8_t *)key, sizeof key - 1,
                                         look_cb, &r), 0);
    assert_true(wait_for(is_true, &r.done));
    assert_int_equal(r.err, 0);
    assert_false(r.found);
    assert_int_equal(r.n, FOG_KAD_K);
    for (size_t i = 0; i < r.n; i++) {
        assert_int_equal(r.closest[i].id_len, sizeof want[i]->id);
        assert_memory_equal(r.closest[i].id, want[i]->id, sizeof want[i]->id);
        assert_true(r.closest[i].n_addrs >= 1);
    }
    assert_int_equal(fog_dht_get_closest(nodes[3].dht, NULL, 0, look_cb, &r), FOG_ERR_INVALID);
}

/* ---- raw requests to node 0 ---- */

typedef struct {
    fog_buf rx;
    bool closed;
    int err;
} raw_cl;

static size_t raw_data(fog_stream *s, const uint8_t *data, size_t len)
{
    raw_cl *c = fog_stream_ud(s);
    assert_int_equal(fog_buf_append(&c->rx, data, len), 0);
    return 0;
}

static void raw_close(fog_stream *s, int err)
{
    raw_cl *c = fog_stream_ud(s);
    c->closed = true;
    c->err = err;
}

static const fog_stream_handler raw_handler = {NULL, raw_data, NULL, NULL, raw_close};

/* Opens a stream from `from` to node 0 and writes req (one write). */
static fog_stream *raw_open(tnode *from, raw_cl *c, const fog_buf *req)
{
    memset(c, 0, sizeof *c);
    fog_stream *s = NULL;
    assert_int_equal(fog_node_open_stream(from->n, nodes[0].id, sizeof nodes[0].id,
                                          FOG_KAD_PROTOCOL, &raw_handler, c, &s), 0);
    assert_int_equal(fog_stream_write(s, req->p, req->len), 0);
    return s;
}

static void put_request(fog_buf *out, fog_kad_type type, const uint8_t *key, size_t len)
{
    fog_kad_msg m = {.type = type, .key = fog_slice_make(key, len)};
    assert_int_equal(fog_kad_encode(&m, out), 0);
}

typedef struct {
    raw_cl *c;
    size_t want;
} frames_wait;

static size_t count_frames(const fog_buf *b)
{
    size_t off = 0, n = 0;
    fog_slice body;
    size_t used;
    while (off < b->len && fog_kad_frame_next(b->p + off, b->len - off, &body, &used) == 1) {
        off += used;
        n++;
    }
    return n;
}

static bool frames_in(void *arg)
{
    frames_wait *w = arg;
    return count_frames(&w->c->rx) >= w->want || w->c->closed;
}

/* The i-th answer in b, parsed into p. */
static void nth_answer(const fog_buf *b, size_t i, fog_kad_parsed *p)
{
    size_t off = 0, used = 0;
    fog_slice body = {0};
    for (size_t j = 0; j <= i; j++) {
        off += used;
        assert_int_equal(fog_kad_frame_next(b->p + off, b->len - off, &body, &used), 1);
    }
    assert_int_equal(fog_kad_parse(p, body.p, body.len), 0);
}

/* The answer holds exactly the k closest peers of node 0's table (everyone but node 0), less the
 * requester, closest first, each with the address it listens on. */
static void check_answer(const fog_kad_msg *m, const tnode *key_node, const tnode *requester)
{
    tnode *want[NODES];
    size_t nw = closest_nodes(key_node->key, &nodes[0], requester, want);
    assert_int_equal(m->type, FOG_KAD_FIND_NODE);
    assert_int_equal(m->n_closer, FOG_KAD_K);
    assert_true(nw >= FOG_KAD_K);
    for (size_t i = 0; i < m->n_closer; i++) {
        const fog_kad_peer *p = &m->closer[i];
        assert_false(fog_slice_eq(p->id, fog_slice_make(requester->id, sizeof requester->id)));
        assert_int_equal(p->id.len, sizeof want[i]->id);
        assert_memory_equal(p->id.p, want[i]->id, sizeof want[i]->id);
        assert_true(p->n_addrs >= 1);
        assert_int_equal(port_of(&p->addrs[0]), port_of(&want[i]->addr));
    }
}

static void test_dht_find_node_answer(void **state)
{
    (void)state;
    tnode *req = &nodes[5], *other = &nodes[9];
    fog_buf q;
    fog_buf_init(&q);
    put_request(&q, FOG_KAD_FIND_NODE, req->id, sizeof req->id);
    put_request(&q, FOG_KAD_FIND_NODE, other->id, sizeof other->id);
    raw_cl c;
    fog_stream *s = raw_open(req, &c, &q);
    frames_wait w = {&c, 2};
    assert_true(wait_for(frames_in, &w));
    assert_false(c.closed);
    assert_int_equal(count_frames(&c.rx), 2);
    fog_kad_parsed p;
    nth_answer(&c.rx, 0, &p);
    check_answer(&p.msg, req, req); /* the requester is the closest to its own ID: left out */
    fog_kad_parsed_clear(&p);
    nth_answer(&c.rx, 1, &p);
    check_answer(&p.msg, other, req);
    assert_memory_equal(p.msg.closer[0].id.p, other->id, sizeof other->id);
    fog_kad_parsed_clear(&p);
    /* Our FIN: the server closes its side too, and the stream ends cleanly. */
    assert_int_equal(fog_stream_close(s), 0);
    assert_true(wait_for(is_true, &c.closed));
    assert_int_equal(c.err, 0);
    fog_buf_clear(&c.rx);
    fog_buf_clear(&q);
}

/* Sends req on a new stream: node 0 must reset it, keep the connection and keep serving. */
static void expect_reset(const fog_buf *req)
{
    tnode *from = &nodes[7];
    raw_cl c;
    (void)raw_open(from, &c, req);
    assert_true(wait_for(is_true, &c.closed));
    assert_int_equal(c.err, FOG_ERR_CANCELLED);
    assert_int_equal(c.rx.len, 0);
    fog_buf_clear(&c.rx);
    fog_peer_info info;
    assert_true(fog_node_peer(from->n, nodes[0].id, sizeof nodes[0].id, &info));
    fog_buf q;
    fog_buf_init(&q);
    put_request(&q, FOG_KAD_FIND_NODE, from->id, sizeof from->id);
    fog_stream *s = raw_open(from, &c, &q);
    frames_wait w = {&c, 1};
    assert_true(wait_for(frames_in, &w));
    assert_int_equal(count_frames(&c.rx), 1);
    fog_stream_reset(s);
    fog_buf_clear(&c.rx);
    fog_buf_clear(&q);
}

static void test_dht_bad_request_resets_stream(void **state)
{
    (void)state;
    fog_dht_stats before, after;
    fog_dht_get_stats(nodes[0].dht, &before);
    /* A body that is not protobuf: field 31 with wire type 7. */
    fog_buf q;
    fog_buf_init(&q);
    assert_int_equal(fog_buf_append(&q, (const uint8_t[]){0x02, 0xff, 0x01}, 3), 0);
    expect_reset(&q);
    /* A prefix announcing 5 MiB: refused before the body. */
    fog_buf_reset(&q);
    assert_int_equal(fog_buf_uvarint(&q, 5u << 20), 0);
    assert_int_equal(fog_buf_append(&q, "x", 1), 0);
    expect_reset(&q);
    /* FIND_NODE without a key. */
    fog_buf_reset(&q);
    put_request(&q, FOG_KAD_FIND_NODE, NULL, 0);
    expect_reset(&q);
    /* PUT_VALUE is not served yet. */
    fog_buf_reset(&q);
    static const char ipns[] = "/ipns/";
    uint8_t key[sizeof ipns - 1 + FOG_PEER_ID_ED25519_LEN];
    memcpy(key, ipns, sizeof ipns - 1);
    memcpy(key + sizeof ipns - 1, nodes[7].id, sizeof nodes[7].id);
    fog_kad_msg m = {.type = FOG_KAD_PUT_VALUE, .key = fog_slice_make(key, sizeof key),
                     .has_record = true,
                     .record = {.key = fog_slice_make(key, sizeof key),
                                .value = fog_slice_make("v", 1)}};
    assert_int_equal(fog_kad_encode(&m, &q), 0);
    expect_reset(&q);
    fog_buf_clear(&q);
    fog_dht_get_stats(nodes[0].dht, &after);
    assert_int_equal(after.streams_reset_in, before.streams_reset_in + 4);
}

/* ---- liveness checks ---- */

/* The Kademlia key of the node node_make(tag) would make. */
static void tag_key(uint8_t tag, uint8_t key[FOG_KAD_KEY_LEN])
{
    uint8_t seed[32], pub[32], secret[64], id[FOG_PEER_ID_ED25519_LEN];
    memset(seed, tag, sizeof seed);
    seed[0] = 0xd7;
    fog_ed25519_from_seed(seed, pub, secret);
    fog_peer_id_ed25519(pub, id);
    fog_sha256(id, sizeof id, key);
}

typedef struct {
    const fog_rtable *t;
    const tnode *in, *out; /* in the table, or NULL; not in it, or NULL */
} table_wait;

static bool table_has(void *arg)
{
    table_wait *w = arg;
    return (w->in == NULL || fog_rtable_find(w->t, w->in->id, sizeof w->in->id, NULL)) &&
           (w->out == NULL || !fog_rtable_find(w->t, w->out->id, sizeof w->out->id, NULL));
}

static void dial_ok(tnode *from, const tnode *to)
{
    dial_res r = {0};
    assert_int_equal(fog_node_dial(from->n, &to->addr, dial_cb, &r), 0);
    assert_true(wait_for(is_true, &r.done));
    assert_int_equal(r.err, 0);
}

/* A node with k = 1 meets three DHT servers X, Z, Y of its bucket 0 in that order. Z finds the
 * bucket full of X, which is connected: alive, Z waits as a replacement. X goes away (it stays
 * in the table while disconnected); Y finds the bucket full again, X does not answer a dial:
 * dead, and the most recently seen replacement, Y, takes its slot. */
static void test_dht_liveness_check(void **state)
{
    (void)state;
    tnode *a = &extra[1];
    next_k = 1;
    node_make(a, 150, true);
    next_k = 0;
    uint8_t tags[3];
    size_t nt = 0;
    for (unsigned tag = 151; tag < 250 && nt < 3; tag++) {
        uint8_t key[FOG_KAD_KEY_LEN];
        tag_key((uint8_t)tag, key);
        if (((key[0] ^ a->key[0]) & 0x80) != 0) { /* no common prefix: bucket 0 */
            tags[nt++] = (uint8_t)tag;
        }
    }
    assert_int_equal(nt, 3);
    tnode x, *z = &extra[2], *y = &extra[3];
    node_make(&x, tags[0], true);
    node_make(z, tags[1], true);
    node_make(y, tags[2], true);
    const fog_rtable *t = fog_dht_table(a->dht);
    dial_ok(a, &x);
    table_wait w = {t, &x, NULL};
    assert_true(wait_for(table_has, &w));
    dial_ok(a, z);
    assert_true(wait_for(table_has, &w));
    for (int i = 0; i < 50 && fog_rtable_bucket_cached(t, 0) == 0; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(fog_rtable_bucket_len(t, 0), 1);
    assert_int_equal(fog_rtable_bucket_cached(t, 0), 1);
    assert_false(fog_rtable_find(t, z->id, sizeof z->id, NULL));
    fog_node_close(x.n, node_done, &x);
    assert_true(wait_for(is_true, &x.closed));
    fog_dht_free(x.dht);
    fog_node_free(x.n);
    assert_true(fog_rtable_find(t, x.id, sizeof x.id, NULL)); /* kept while disconnected */
    dial_ok(a, y);
    table_wait w2 = {t, y, &x};
    assert_true(wait_for(table_has, &w2));
    assert_int_equal(fog_rtable_bucket_len(t, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dht_find_node_answer),
        cmocka_unit_test(test_dht_bad_request_resets_stream),
        cmocka_unit_test(test_dht_get_closest_exact),
        cmocka_unit_test(test_dht_find_peer_after_bootstrap),
        cmocka_unit_test(test_dht_liveness_check),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
