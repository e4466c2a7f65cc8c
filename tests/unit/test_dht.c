/* test_dht.c: the DHT wired onto fog_node (src/dht/dht*.c, include/fog/dht.h).
 * One uv loop runs NODES fog_nodes on loopback TCP (port 0) with seeded Ed25519 identities,
 * each with a fog_dht in server mode, all bootstrapped from node 0 alone; every wait runs the
 * loop under a watchdog. Expectations come from independent reasoning: a peer ID is
 * fog_peer_id_ed25519 of its seeded key, the k closest peers to a key are computed here by
 * sorting every node's SHA-256(peer ID) by XOR distance, and the raw requests and answers are
 * built and read with the kad codec (fog/kad.h), not with the code under test.
 */
#include "testlib.h"

#include <time.h>

#include <uv.h>

#include "fog/crypto.h"
#include "fog/dht.h"
#include "fog/kad.h"
#include "fog/mf.h"
#include "fog/node.h"
#include "uvtest.h"
#include "fog/rtable.h"
#include "fog/store.h"
#include "fog/storew.h"

#define NODES 24


typedef struct {
    fog_node *n;
    fog_dht *dht;
    uint8_t secret[64];
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    uint8_t key[FOG_KAD_KEY_LEN];
    fog_multiaddr addr; /* listen address with /p2p */
    bool closed;
    char dir[256];      /* its repository (nodes[] only) */
    fog_store *store;
    fog_store_writer *w;
    bool wclosed;
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

/* A toy record validator for "/ipns/" keys: a value is "rec" and a version digit; the higher
 * version wins, the first on a tie (go-libp2p-record's Select contract). */
static int toy_validate(void *ud, fog_slice key, fog_slice value, uint64_t now_ms)
{
    (void)ud;
    (void)key;
    (void)now_ms;
    return value.len == 4 && memcmp(value.p, "rec", 3) == 0 ? 0 : FOG_ERR_INVALID;
}

static size_t toy_select(void *ud, fog_slice key, const fog_slice *values, size_t n)
{
    (void)ud;
    (void)key;
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        if (values[i].p[3] > values[best].p[3]) {
            best = i;
        }
    }
    return best;
}

static void node_make(tnode *t, uint8_t tag, bool with_dht)
{
    fog_store *st = t->store;
    fog_store_writer *w = t->w;
    memset(t, 0, sizeof *t);
    t->store = st;
    t->w = w;
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
    dc.validators[0] = (fog_dht_validator){"ipns", toy_validate, toy_select, NULL};
    if (t->store != NULL) {
        dc.store = t->store;
        dc.writer = t->w;
    }
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

static void node_done_w(void *ud)
{
    ((tnode *)ud)->wclosed = true;
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
        tnode *t = &nodes[i];
        char dir[256];
        assert_true(tl_mkdtemp(dir, sizeof dir, "dht"));
        assert_int_equal(fog_repo_init(dir, NULL, 0), 0);
        fog_store *st = NULL;
        assert_int_equal(fog_store_open(&st, dir, FOG_STORE_WRITE), 0);
        fog_store_writer *w = NULL;
        assert_int_equal(fog_store_writer_new(&w, &loop, st), 0);
        t->store = st;
        t->w = w;
        node_make(t, (uint8_t)(i + 1), true); /* keeps store and w */
        memcpy(t->dir, dir, sizeof dir);
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
        if (all[i]->w != NULL) {
            fog_store_writer_close(all[i]->w, node_done_w, all[i]);
            assert_true(wait_for(is_true, &all[i]->wclosed));
            fog_store_writer_free(all[i]->w);
            fog_store_close(all[i]->store);
            assert_int_equal(tl_rm_rf(all[i]->dir), 0);
        }
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
    tnode x = {0}, *z = &extra[2], *y = &extra[3];
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

/* ---- provider records ---- */

/* A content multihash for tag: sha2-256 of the tag bytes. */
static void content_mh(unsigned tag, uint8_t mh[34])
{
    uint8_t data[4] = {(uint8_t)(tag >> 24), (uint8_t)(tag >> 16), (uint8_t)(tag >> 8),
                       (uint8_t)tag};
    mh[0] = 0x12;
    mh[1] = 0x20;
    fog_sha256(data, sizeof data, mh + 2);
}

typedef struct {
    size_t n;
    uint8_t peer[FOG_PEER_ID_MAX];
    size_t peer_len;
} rec_count;

static int count_rec(void *ctx, fog_slice peer, uint64_t expires_ms, fog_slice data)
{
    (void)expires_ms;
    (void)data;
    rec_count *c = ctx;
    if (peer.len <= FOG_PEER_ID_MAX) {
        memcpy(c->peer, peer.p, peer.len);
        c->peer_len = peer.len;
    }
    c->n++;
    return 0;
}

typedef struct {
    fog_store *s;
    const uint8_t *mh;
    size_t want;
} recs_wait;

static bool recs_in(void *arg)
{
    recs_wait *w = arg;
    rec_count c = {0};
    assert_int_equal(fog_store_providers_get(w->s, fog_slice_make(w->mh, 34), 0, count_rec, &c),
                     0);
    return c.n >= w->want;
}

/* ADD_PROVIDER keeps only the sender's own entry with addresses; GET_PROVIDERS returns it with
 * those addresses, beside the closer peers; node 0 sends no answer to ADD_PROVIDER. */
static void test_dht_add_get_providers_server(void **state)
{
    (void)state;
    tnode *prov = &nodes[5], *other = &nodes[6], *asker = &nodes[7];
    uint8_t mh[34];
    content_mh(1, mh);
    fog_kad_peer ps[2] = {
        {fog_slice_make(other->id, sizeof other->id), &other->addr, 1, FOG_KAD_CONNECTED},
        {fog_slice_make(prov->id, sizeof prov->id), &prov->addr, 1, FOG_KAD_CONNECTED}};
    fog_kad_msg m = {.type = FOG_KAD_ADD_PROVIDER, .key = fog_slice_make(mh, sizeof mh),
                     .providers = ps, .n_providers = 2};
    fog_buf q;
    fog_buf_init(&q);
    assert_int_equal(fog_kad_encode(&m, &q), 0);
    /* The same key again from `other` naming only prov: ignored (wrong peer). */
    fog_kad_msg m2 = m;
    m2.providers = &ps[1];
    m2.n_providers = 1;
    fog_buf q2;
    fog_buf_init(&q2);
    assert_int_equal(fog_kad_encode(&m2, &q2), 0);
    raw_cl c2;
    fog_stream *s2 = raw_open(other, &c2, &q2);
    raw_cl c;
    fog_stream *s = raw_open(prov, &c, &q);
    recs_wait w = {nodes[0].store, mh, 1};
    assert_true(wait_for(recs_in, &w));
    rec_count rc = {0};
    assert_int_equal(fog_store_providers_get(nodes[0].store, fog_slice_make(mh, sizeof mh), 0,
                                             count_rec, &rc), 0);
    assert_int_equal(rc.n, 1);
    assert_memory_equal(rc.peer, prov->id, sizeof prov->id);
    assert_int_equal(c.rx.len, 0);
    assert_int_equal(c2.rx.len, 0);
    fog_stream_reset(s);
    fog_stream_reset(s2);
    fog_buf_clear(&c.rx);
    fog_buf_clear(&c2.rx);
    /* GET_PROVIDERS from another node. */
    fog_buf_reset(&q);
    put_request(&q, FOG_KAD_GET_PROVIDERS, mh, sizeof mh);
    s = raw_open(asker, &c, &q);
    frames_wait fw = {&c, 1};
    assert_true(wait_for(frames_in, &fw));
    fog_kad_parsed p;
    nth_answer(&c.rx, 0, &p);
    assert_int_equal(p.msg.type, FOG_KAD_GET_PROVIDERS);
    assert_int_equal(p.msg.n_providers, 1);
    assert_true(fog_slice_eq(p.msg.providers[0].id, fog_slice_make(prov->id, sizeof prov->id)));
    assert_int_equal(p.msg.providers[0].n_addrs, 1);
    assert_int_equal(port_of(&p.msg.providers[0].addrs[0]), port_of(&prov->addr));
    assert_int_equal(p.msg.n_closer, FOG_KAD_K);
    fog_kad_parsed_clear(&p);
    fog_stream_reset(s);
    fog_buf_clear(&c.rx);
    fog_buf_clear(&q);
    fog_buf_clear(&q2);
}

typedef struct {
    bool done;
    int err;
    uint64_t now;
    size_t removed;
} sweep_job;

static int do_puts(void *ud, fog_store_batch *b)
{
    sweep_job *j = ud;
    uint8_t mh[34];
    content_mh(2, mh);
    /* Peers 1..5: 1, 3 and 5 expired at j->now, 2 and 4 alive. */
    for (uint8_t i = 1; i <= 5; i++) {
        uint8_t peer[34] = {0x12, 0x20, i};
        uint64_t exp = (i % 2 == 1) ? j->now - 1 : j->now + 60000;
        int rc = fog_store_batch_provider_put(b, fog_slice_make(mh, 34),
                                              fog_slice_make(peer, sizeof peer), exp,
                                              fog_slice_make("d", 1));
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static int do_sweep(void *ud, fog_store_batch *b)
{
    sweep_job *j = ud;
    return fog_store_batch_providers_sweep(b, j->now, &j->removed);
}

static void written(void *ud, int err)
{
    sweep_job *w = ud;
    w->done = true;
    w->err = err;
}

/* Expired records are never returned, and a sweep deletes exactly those (adjacent ones too). */
static void test_dht_provider_records_expire(void **state)
{
    (void)state;
    tnode *t = &nodes[11];
    sweep_job j = {false, 0, 1700000000000ull, 0};
    assert_int_equal(fog_store_writer_submit(t->w, do_puts, written, &j), 0);
    assert_true(wait_for(is_true, &j.done));
    assert_int_equal(j.err, 0);
    uint8_t mh[34];
    content_mh(2, mh);
    rec_count c = {0};
    assert_int_equal(fog_store_providers_get(t->store, fog_slice_make(mh, 34), j.now, count_rec,
                                             &c), 0);
    assert_int_equal(c.n, 2);
    memset(&c, 0, sizeof c);
    assert_int_equal(fog_store_providers_get(t->store, fog_slice_make(mh, 34), j.now - 2,
                                             count_rec, &c), 0);
    assert_int_equal(c.n, 5);
    j.done = false;
    assert_int_equal(fog_store_writer_submit(t->w, do_sweep, written, &j), 0);
    assert_true(wait_for(is_true, &j.done));
    assert_int_equal(j.err, 0);
    assert_int_equal(j.removed, 3);
    memset(&c, 0, sizeof c);
    assert_int_equal(fog_store_providers_get(t->store, fog_slice_make(mh, 34), 0, count_rec,
                                             &c), 0);
    assert_int_equal(c.n, 2);
}

typedef struct {
    bool done;
    int err;
    fog_dht_provide_stats st;
} prov_res;

static void provided(void *ud, int err, const fog_dht_provide_stats *st)
{
    prov_res *r = ud;
    assert_false(r->done);
    r->done = true;
    r->err = err;
    r->st = *st;
}

typedef struct {
    bool done;
    int err;
    size_t calls, n;
    bool found;
    const tnode *want;
} find_res;

static void found_cb(void *ud, int err, const fog_dht_peer *provs, size_t n, bool done)
{
    find_res *r = ud;
    assert_false(r->done);
    r->calls++;
    r->n += n;
    for (size_t i = 0; i < n; i++) {
        if (provs[i].id_len == sizeof r->want->id &&
            memcmp(provs[i].id, r->want->id, sizeof r->want->id) == 0) {
            assert_true(provs[i].n_addrs >= 1);
            assert_int_equal(port_of(&provs[i].addrs[0]), port_of(&r->want->addr));
            r->found = true;
        }
    }
    if (done) {
        r->done = true;
        r->err = err;
    }
}

#define PROVIDE_KEYS 200

/* A batch of keys is provided with fewer lookups than keys (24 servers, k 20: regions are
 * wide), k ADD_PROVIDER messages per key; then other nodes find the provider of any key. */
static void test_dht_provide_batch_then_find(void **state)
{
    (void)state;
    tnode *prov = &nodes[3];
    static uint8_t mhs[PROVIDE_KEYS][34];
    fog_slice keys[PROVIDE_KEYS];
    for (unsigned i = 0; i < PROVIDE_KEYS; i++) {
        content_mh(1000 + i, mhs[i]);
        keys[i] = fog_slice_make(mhs[i], 34);
    }
    prov_res r = {0};
    assert_int_equal(fog_dht_provide(prov->dht, keys, PROVIDE_KEYS, provided, &r), 0);
    assert_false(r.done);
    assert_true(wait_for(is_true, &r.done));
    assert_int_equal(r.err, 0);
    assert_int_equal(r.st.keys, PROVIDE_KEYS);
    assert_int_equal(r.st.peers_failed, 0);
    assert_int_equal(r.st.messages, (size_t)PROVIDE_KEYS * FOG_KAD_K);
    assert_true(r.st.lookups >= 1);
    assert_true(r.st.lookups < PROVIDE_KEYS / 4);
    print_message("  provide: %d keys, %zu lookups, %zu messages (%.2f lookups, %.1f messages "
                  "per key)\n", PROVIDE_KEYS, r.st.lookups, r.st.messages,
                  (double)r.st.lookups / PROVIDE_KEYS, (double)r.st.messages / PROVIDE_KEYS);
    /* Our own record: the provider's store has one for each key. */
    recs_wait w = {prov->store, mhs[7], 1};
    assert_true(wait_for(recs_in, &w));
    for (unsigned i = 0; i < 4; i++) {
        tnode *asker = &nodes[(10 + 3 * i) % NODES];
        find_res f = {.want = prov};
        fog_dht_op *op = NULL;
        assert_int_equal(fog_dht_find_providers(asker->dht, mhs[i * 37], 34, 1, found_cb, &f,
                                                &op), 0);
        assert_non_null(op);
        assert_int_equal(f.calls, 0); /* deferred */
        assert_true(wait_for(is_true, &f.done));
        assert_int_equal(f.err, 0);
        assert_true(f.found);
        assert_int_equal(f.n, 1); /* count 1 */
    }
    /* The provider itself never reports itself. */
    find_res self = {.want = prov};
    assert_int_equal(fog_dht_find_providers(prov->dht, mhs[0], 34, 0, found_cb, &self, NULL), 0);
    assert_true(wait_for(is_true, &self.done));
    assert_false(self.found);
    /* A key nobody provides: done with none. */
    uint8_t none[34];
    content_mh(99, none);
    find_res f0 = {.want = prov};
    assert_int_equal(fog_dht_find_providers(nodes[1].dht, none, 34, 0, found_cb, &f0, NULL), 0);
    assert_true(wait_for(is_true, &f0.done));
    assert_int_equal(f0.n, 0);
    assert_int_equal(fog_dht_find_providers(nodes[1].dht, none, 0, 0, found_cb, &f0, NULL),
                     FOG_ERR_INVALID);
}

static void never_cb(void *ud, int err, const fog_dht_peer *provs, size_t n, bool done)
{
    (void)ud;
    (void)err;
    (void)provs;
    (void)n;
    (void)done;
    fail_msg("a cancelled search called back");
}

/* A cancelled search never calls back, even after its lookup would have ended. */
static void test_dht_find_providers_cancel(void **state)
{
    (void)state;
    uint8_t mh[34];
    content_mh(1000, mh);
    fog_dht_op *op = NULL;
    assert_int_equal(fog_dht_find_providers(nodes[2].dht, mh, 34, 0, never_cb, NULL, &op), 0);
    fog_dht_cancel(op);
    look_res r = {0}; /* another lookup on the same node, to run the loop past the cancel */
    assert_int_equal(fog_dht_get_closest(nodes[2].dht, mh, 34, look_cb, &r), 0);
    assert_true(wait_for(is_true, &r.done));
}

/* ---- value records ---- */

static void ipns_key(const tnode *t, uint8_t key[6 + FOG_PEER_ID_ED25519_LEN])
{
    memcpy(key, "/ipns/", 6);
    memcpy(key + 6, t->id, sizeof t->id);
}

typedef struct {
    bool done;
    int err;
    size_t n;
    char value[8];
} val_res;

static void got_value(void *ud, int err, fog_slice value, size_t n)
{
    val_res *r = ud;
    assert_false(r->done);
    r->done = true;
    r->err = err;
    r->n = n;
    assert_true(value.len < sizeof r->value);
    if (value.len > 0) {
        memcpy(r->value, value.p, value.len);
    }
    r->value[value.len] = '\0';
}

static void put_done(void *ud, int err, size_t n)
{
    val_res *r = ud;
    assert_false(r->done);
    r->done = true;
    r->err = err;
    r->n = n;
}

typedef struct {
    fog_store *s;
    const uint8_t *key;
    const char *want;
} rec_wait;

static bool rec_is(void *arg)
{
    rec_wait *w = arg;
    fog_buf v;
    fog_buf_init(&v);
    uint64_t t = 0;
    int rc = fog_store_record_get(w->s, fog_slice_make(w->key, 6 + FOG_PEER_ID_ED25519_LEN), &t,
                                  &v);
    bool ok = rc == 0 && v.len == strlen(w->want) && memcmp(v.p, w->want, v.len) == 0;
    fog_buf_clear(&v);
    return ok;
}

static void put_value(tnode *t, const uint8_t *key, const char *value, val_res *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(fog_dht_put_value(t->dht, key, 6 + FOG_PEER_ID_ED25519_LEN,
                                       (const uint8_t *)value, strlen(value), put_done, r), 0);
    assert_false(r->done);
    assert_true(wait_for(is_true, &r->done));
}

static void get_value(tnode *t, const uint8_t *key, val_res *r)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(fog_dht_get_value(t->dht, key, 6 + FOG_PEER_ID_ED25519_LEN, got_value, r),
                     0);
    assert_false(r->done);
    assert_true(wait_for(is_true, &r->done));
}

/* The node, other than skip, whose ID is closest to key's position. */
static tnode *closest_to(const uint8_t *key, const tnode *skip)
{
    uint8_t target[FOG_KAD_KEY_LEN];
    fog_kad_key(key, 6 + FOG_PEER_ID_ED25519_LEN, target);
    tnode *best = NULL;
    for (size_t i = 0; i < NODES; i++) {
        if (&nodes[i] == skip) {
            continue;
        }
        if (best == NULL) {
            best = &nodes[i];
            continue;
        }
        for (size_t b = 0; b < FOG_KAD_KEY_LEN; b++) {
            uint8_t x = nodes[i].key[b] ^ target[b], y = best->key[b] ^ target[b];
            if (x != y) {
                best = x < y ? &nodes[i] : best;
                break;
            }
        }
    }
    return best;
}

/* A record put by one node reaches the k closest and is found from elsewhere; a better one
 * replaces it everywhere, a worse one is refused by every peer; a key nobody has is
 * FOG_ERR_NOT_FOUND; a namespace without a validator is refused at once. */
static void test_dht_put_get_value(void **state)
{
    (void)state;
    uint8_t key[6 + FOG_PEER_ID_ED25519_LEN];
    ipns_key(&nodes[3], key);
    val_res r;
    put_value(&nodes[3], key, "rec1", &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, FOG_KAD_K); /* 24 servers: the k closest all accept */
    tnode *near = closest_to(key, &nodes[3]);
    rec_wait w = {near->store, key, "rec1"};
    assert_true(wait_for(rec_is, &w));
    get_value(&nodes[10], key, &r);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.value, "rec1");
    assert_true(r.n >= 1);
    /* A better record from another node replaces it. */
    put_value(&nodes[4], key, "rec2", &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, FOG_KAD_K);
    w.want = "rec2";
    assert_true(wait_for(rec_is, &w));
    get_value(&nodes[12], key, &r);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.value, "rec2");
    /* The older one again: nodes[3] holds rec1 itself, but every peer refuses it. */
    put_value(&nodes[3], key, "rec1", &r);
    assert_int_equal(r.err, FOG_ERR_NOT_FOUND);
    assert_int_equal(r.n, 0);
    assert_int_equal(fog_dht_put_value(nodes[4].dht, key, sizeof key, (const uint8_t *)"rec1", 4,
                                       put_done, &r), FOG_ERR_EXISTS);
    assert_int_equal(fog_dht_put_value(nodes[4].dht, key, sizeof key, (const uint8_t *)"bad!", 4,
                                       put_done, &r), FOG_ERR_INVALID);
    /* Nobody has a record of nodes[20]'s name. */
    uint8_t none[sizeof key];
    ipns_key(&nodes[20], none);
    get_value(&nodes[5], none, &r);
    assert_int_equal(r.err, FOG_ERR_NOT_FOUND);
    assert_int_equal(r.n, 0);
    uint8_t pk[4 + FOG_PEER_ID_ED25519_LEN];
    memcpy(pk, "/pk/", 4);
    memcpy(pk + 4, nodes[3].id, sizeof nodes[3].id);
    assert_int_equal(fog_dht_get_value(nodes[5].dht, pk, sizeof pk, got_value, &r),
                     FOG_ERR_UNSUPPORTED);
}

static uint64_t dht_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

typedef struct {
    const uint8_t *key;
    const char *value;
    bool done;
} raw_put;

static int do_raw_put(void *ud, fog_store_batch *b)
{
    raw_put *p = ud;
    return fog_store_batch_record_put(b, fog_slice_make(p->key, 6 + FOG_PEER_ID_ED25519_LEN),
                                      dht_test_now_ms(), fog_slice_make(p->value,
                                                                        strlen(p->value)));
}

static void raw_put_done(void *ud, int err)
{
    raw_put *p = ud;
    assert_int_equal(err, 0);
    p->done = true;
}

/* A search corrects a close peer that holds an outdated record (go updatePeerValues). */
static void test_dht_get_value_corrects_peers(void **state)
{
    (void)state;
    uint8_t key[6 + FOG_PEER_ID_ED25519_LEN];
    ipns_key(&nodes[6], key);
    val_res r;
    put_value(&nodes[6], key, "rec5", &r);
    assert_int_equal(r.err, 0);
    tnode *near = closest_to(key, &nodes[6]);
    rec_wait w = {near->store, key, "rec5"};
    assert_true(wait_for(rec_is, &w));
    raw_put p = {key, "rec3", false};
    assert_int_equal(fog_store_writer_submit(near->w, do_raw_put, raw_put_done, &p), 0);
    assert_true(wait_for(is_true, &p.done));
    w.want = "rec3";
    assert_true(rec_is(&w));
    tnode *asker = near == &nodes[14] ? &nodes[15] : &nodes[14];
    get_value(asker, key, &r);
    assert_int_equal(r.err, 0);
    assert_string_equal(r.value, "rec5");
    w.want = "rec5";
    assert_true(wait_for(rec_is, &w));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dht_find_node_answer),
        cmocka_unit_test(test_dht_bad_request_resets_stream),
        cmocka_unit_test(test_dht_get_closest_exact),
        cmocka_unit_test(test_dht_find_peer_after_bootstrap),
        cmocka_unit_test(test_dht_add_get_providers_server),
        cmocka_unit_test(test_dht_provider_records_expire),
        cmocka_unit_test(test_dht_provide_batch_then_find),
        cmocka_unit_test(test_dht_find_providers_cancel),
        cmocka_unit_test(test_dht_put_get_value),
        cmocka_unit_test(test_dht_get_value_corrects_peers),
        cmocka_unit_test(test_dht_liveness_check),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
