/* test_bswap.c: bitswap wired on real fog_nodes (src/bitswap/bswap.c, include/fog/bswap.h).
 * Two nodes on one libuv loop over loopback TCP, each with its own repository (fog_repo_init in
 * a temporary folder, opened FOG_STORE_WRITE) and its own store writer. The serving node's
 * blocks are written before its writer exists; their bytes come from a seeded generator that the
 * checks run again, so a block is compared with bytes computed independently of the code under
 * test. Every wait runs the loop under the watchdog of uvtest.h.
 */
#include "testlib.h"

#include <uv.h>

#include "fog/bswap.h"
#include "fog/crypto.h"
#include "fog/mf.h"
#include "fog/node.h"
#include "fog/store.h"
#include "fog/storew.h"
#include "uvtest.h"
#include "nettest.h"


/* ---- block contents ---- */

/* xorshift64, eight bytes a step (the 64 MiB check must not dwarf the transfer) */
static void fill(uint8_t *p, size_t len, uint32_t seed)
{
    uint64_t x = 0x9e3779b97f4a7c15u ^ seed;
    for (size_t i = 0; i < len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = len - i < 8 ? len - i : 8;
        memcpy(p + i, &x, n);
    }
}

static void make_block(fog_cid *c, uint8_t *buf, size_t len, uint32_t seed)
{
    fill(buf, len, seed);
    assert_int_equal(fog_cid_of(c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, buf, len), 0);
}

/* Stores blocks seed0..seed0+n-1 of len bytes in t's store (before its writer exists). */
static void put_blocks(tnode *t, uint32_t seed0, size_t n, size_t len, fog_cid *cids)
{
    uint8_t *buf = malloc(len);
    fog_store_batch *batch = NULL;
    assert_int_equal(fog_store_batch_begin(t->store, &batch), 0);
    for (size_t i = 0; i < n; i++) {
        make_block(&cids[i], buf, len, seed0 + (uint32_t)i);
        assert_int_equal(fog_store_batch_put(batch, &cids[i], buf, len), 0);
    }
    assert_int_equal(fog_store_batch_commit(batch), 0);
    free(buf);
}



/* ---- wants ---- */

typedef struct {
    fog_cid cid;
    uint32_t seed;
    size_t len;
    int calls, err;
    bool ok;
} want_res;

typedef struct {
    size_t n, done, good;
} want_count;

static want_count counts;

static void block_cb(void *ud, int err, const fog_cid *c, const uint8_t *data, size_t len)
{
    want_res *r = ud;
    r->calls++;
    r->err = err;
    counts.done++;
    if (err != 0) {
        return;
    }
    assert_true(fog_cid_eq(c, &r->cid));
    uint8_t *want = malloc(r->len);
    fill(want, r->len, r->seed);
    r->ok = len == r->len && memcmp(data, want, len) == 0;
    counts.good += r->ok;
    free(want);
}

static bool all_done(void *arg)
{
    (void)arg;
    return counts.done >= counts.n;
}

/* Every received block committed: bitswap queues them as whole-message jobs (its own count),
 * other puts show in the writer's. */
static bool writer_idle(void *arg)
{
    tnode *t = arg;
    fog_bswap_stats st;
    fog_bswap_get_stats(t->b, &st);
    return st.store_pending_bytes == 0 && fog_store_writer_pending_bytes(t->w) == 0;
}

/* A few blocks, found through the broadcast (no peer named), one wanted twice, one small; then
 * one already local (its callback deferred), and one nobody has (no callback after free). */
static void test_bswap_fetch_small(void **state)
{
    (void)state;
    tnode a, b;
    repo_make(&a, "bswap");
    repo_make(&b, "bswap");
    size_t lens[3] = {100, 256u * 1024u, 5000};
    fog_cid cids[3];
    for (size_t i = 0; i < 3; i++) {
        put_blocks(&a, 10 + (uint32_t)i, 1, lens[i], &cids[i]);
    }
    fog_cid local, missing;
    put_blocks(&b, 20, 1, 77, &local);
    uint8_t tmp[8];
    make_block(&missing, tmp, sizeof tmp, 99);
    node_start(&a);
    node_start(&b);
    connect_pair(&b, &a);
    fog_bswap_session *s = NULL;
    assert_int_equal(fog_bswap_session_new(b.b, &s), 0);
    want_res r[5];
    memset(r, 0, sizeof r);
    memset(&counts, 0, sizeof counts);
    for (size_t i = 0; i < 4; i++) {
        size_t k = i < 3 ? i : 1; /* block 1 twice */
        r[i].cid = cids[k];
        r[i].seed = 10 + (uint32_t)k;
        r[i].len = lens[k];
        assert_int_equal(fog_bswap_session_want(s, &cids[k], block_cb, &r[i]), 0);
    }
    r[4].cid = local;
    r[4].seed = 20;
    r[4].len = 77;
    assert_int_equal(fog_bswap_session_want(s, &local, block_cb, &r[4]), 0);
    assert_int_equal(r[4].calls, 0); /* deferred, even from the store */
    want_res rm = {.cid = missing};
    assert_int_equal(fog_bswap_session_want(s, &missing, block_cb, &rm), 0);
    counts.n = 5;
    assert_true(wait_for(all_done, NULL));
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(r[i].calls, 1);
        assert_int_equal(r[i].err, 0);
        assert_true(r[i].ok);
    }
    fog_bswap_session_stats st;
    fog_bswap_session_get_stats(s, &st);
    assert_int_equal(st.wants, 6);
    assert_int_equal(st.blocks_in, 3);
    assert_int_equal(st.peers, 1); /* a joined by answering HAVE */
    assert_true(wait_for(writer_idle, &b));
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fog_store_has(b.store, &cids[i]), 1);
    }
    fog_bswap_session_free(s);
    assert_int_equal(rm.calls, 0);
    fog_bswap_stats as;
    fog_bswap_get_stats(a.b, &as);
    assert_int_equal(as.blocks_sent, 3);
    node_stop(&b);
    node_stop(&a);
}

/* A want of a block the server lacks stays in its ledger: once the block is stored there (and
 * bitswap told), the session gets it. The server's disconnection drops it from the session. */
static void test_bswap_notify_stored(void **state)
{
    (void)state;
    tnode a, b;
    repo_make(&a, "bswap");
    repo_make(&b, "bswap");
    node_start(&a);
    node_start(&b);
    connect_pair(&b, &a);
    fog_bswap_session *s = NULL;
    assert_int_equal(fog_bswap_session_new(b.b, &s), 0);
    uint8_t data[3000];
    want_res r = {.seed = 31, .len = sizeof data};
    make_block(&r.cid, data, sizeof data, 31);
    memset(&counts, 0, sizeof counts);
    counts.n = 1;
    assert_int_equal(fog_bswap_session_want(s, &r.cid, block_cb, &r), 0);
    fog_bswap_stats as;
    memset(&as, 0, sizeof as);
    for (int i = 0; i < 1000 && as.dont_haves_sent == 0; i++) {
        uv_run(&loop, UV_RUN_ONCE);
        fog_bswap_get_stats(a.b, &as);
    }
    assert_int_equal(as.dont_haves_sent, 1); /* a answered the broadcast want-have */
    assert_int_equal(r.calls, 0);
    assert_int_equal(fog_store_writer_put(a.w, &r.cid, data, sizeof data, NULL, NULL), 0);
    assert_true(wait_for(writer_idle, &a));
    fog_bswap_notify_stored(a.b, &r.cid);
    assert_true(wait_for(all_done, NULL));
    assert_int_equal(r.err, 0);
    assert_true(r.ok);
    fog_bswap_get_stats(a.b, &as);
    assert_int_equal(as.haves_sent, 1); /* then HAVE (3000 bytes: not small), then the block */
    assert_int_equal(as.blocks_sent, 1);
    fog_bswap_session_stats st;
    fog_bswap_session_get_stats(s, &st);
    assert_int_equal(st.peers, 1);
    assert_int_equal(fog_node_disconnect(b.n, a.id, a.id_len), 0);
    for (int i = 0; i < 200 && st.peers > 0; i++) {
        uv_run(&loop, UV_RUN_ONCE);
        fog_bswap_session_get_stats(s, &st);
    }
    assert_int_equal(st.peers, 0);
    fog_bswap_session_free(s);
    node_stop(&b);
    node_stop(&a);
}

#define BIG_BLOCK (256u * 1024u)
#define BIG_N 256 /* 64 MiB */

/* 64 MiB in 256 KiB blocks from a named peer: every block arrives once and matches. */
static void test_bswap_fetch_64mib(void **state)
{
    (void)state;
    tnode a, b;
    repo_make(&a, "bswap");
    repo_make(&b, "bswap");
    fog_cid *cids = calloc(BIG_N, sizeof *cids);
    put_blocks(&a, 1000, BIG_N, BIG_BLOCK, cids);
    node_start(&a);
    node_start(&b);
    connect_pair(&b, &a);
    fog_bswap_session *s = NULL;
    assert_int_equal(fog_bswap_session_new(b.b, &s), 0);
    fog_bswap_session_add_peer(s, a.id, a.id_len);
    want_res *r = calloc(BIG_N, sizeof *r);
    memset(&counts, 0, sizeof counts);
    counts.n = BIG_N;
    uint64_t t0 = uv_hrtime();
    for (size_t i = 0; i < BIG_N; i++) {
        r[i].cid = cids[i];
        r[i].seed = 1000 + (uint32_t)i;
        r[i].len = BIG_BLOCK;
        assert_int_equal(fog_bswap_session_want(s, &cids[i], block_cb, &r[i]), 0);
    }
    assert_true(wait_for(all_done, NULL));
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    print_message("  bitswap: 64 MiB in %.3f s, %.0f MB/s (both nodes on one loop thread)\n",
                  secs, (double)BIG_N * BIG_BLOCK / 1e6 / secs);
    assert_int_equal(counts.good, BIG_N);
    for (size_t i = 0; i < BIG_N; i++) {
        assert_int_equal(r[i].calls, 1);
    }
    fog_bswap_session_stats st;
    fog_bswap_session_get_stats(s, &st);
    assert_int_equal(st.blocks_in, BIG_N);
    assert_int_equal(st.dup_blocks_in, 0);
    assert_true(wait_for(writer_idle, &b));
    fog_repo_stat rs;
    assert_int_equal(fog_store_stat(b.store, &rs), 0);
    assert_int_equal(rs.blocks, BIG_N);
    fog_bswap_session_free(s);
    free(r);
    free(cids);
    node_stop(&b);
    node_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bswap_fetch_small),
        cmocka_unit_test(test_bswap_notify_stored),
        cmocka_unit_test(test_bswap_fetch_64mib),
    };
    return cmocka_run_group_tests(tests, nt_setup, nt_teardown);
}
