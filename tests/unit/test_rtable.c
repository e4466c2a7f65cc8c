/* test_rtable.c: the Kademlia routing table (src/dht/rtable.c).
 * Peers are real Ed25519 peer IDs made from counter seeds, so their keys spread over the key
 * space as on the network. Expected values come from models written here: a per-bucket count of
 * the generated peers (a bucket holds min(count, k) of them), a brute-force sort of every entry
 * by XOR distance for closest(), and a bit-by-bit common-prefix count for bucket placement.
 */
#include "fog/rtable.h"

#include "testlib.h"

#include "fog/crypto.h"
#include "fog/mf.h"

#define ID_LEN FOG_PEER_ID_ED25519_LEN

typedef struct {
    uint8_t id[ID_LEN];
} pid;

static void make_id(uint32_t n, pid *out)
{
    uint8_t seed[FOG_ED25519_SEED_LEN] = {0};
    uint8_t pub[FOG_ED25519_PUB_LEN];
    uint8_t sec[FOG_ED25519_SECRET_LEN];
    seed[0] = (uint8_t)n;
    seed[1] = (uint8_t)(n >> 8);
    seed[2] = (uint8_t)(n >> 16);
    seed[3] = (uint8_t)(n >> 24);
    seed[31] = 0xa5;
    fog_ed25519_from_seed(seed, pub, sec);
    fog_peer_id_ed25519(pub, out->id);
}

/* The common-prefix length by single bits, independent of the table's byte/clz version. */
static size_t slow_cpl(const uint8_t *a, const uint8_t *b)
{
    for (size_t bit = 0; bit < 256; bit++) {
        unsigned x = (unsigned)(a[bit / 8] >> (7 - bit % 8)) & 1u;
        unsigned y = (unsigned)(b[bit / 8] >> (7 - bit % 8)) & 1u;
        if (x != y) {
            return bit;
        }
    }
    return 256;
}

static size_t bucket_of_id(const uint8_t *local_key, const pid *p)
{
    uint8_t key[32];
    fog_sha256(p->id, ID_LEN, key);
    return slow_cpl(key, local_key);
}

/* xorshift64*: deterministic randomness for targets and the rng parameter. */
static uint64_t xs_state = 0x9e3779b97f4a7c15u;
static uint64_t xs(void)
{
    xs_state ^= xs_state >> 12;
    xs_state ^= xs_state << 25;
    xs_state ^= xs_state >> 27;
    return xs_state * 2685821657736338717u;
}
static void xs_fill(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++) {
        out[i] = (uint8_t)(xs() >> 56);
    }
}

static fog_rtable *new_table(uint32_t local_seed, size_t k, size_t r, pid *local)
{
    make_id(local_seed, local);
    fog_rtable_config cfg;
    fog_rtable_config_default(&cfg);
    cfg.bucket_size = k;
    cfg.replacement_size = r;
    fog_rtable *t = NULL;
    assert_int_equal(fog_rtable_new(&t, local->id, ID_LEN, &cfg), 0);
    return t;
}

/* Generates peers from seed `from` on until `want` of them fall in bucket b. */
static uint32_t peers_in_bucket(const fog_rtable *t, size_t b, size_t want, uint32_t from,
                                pid *out)
{
    size_t got = 0;
    uint32_t n = from;
    while (got < want) {
        make_id(n++, &out[got]);
        if (bucket_of_id(fog_rtable_local_key(t), &out[got]) == b) {
            got++;
        }
    }
    return n;
}

static int seen(fog_rtable *t, const pid *p, fog_ms now)
{
    return fog_rtable_seen(t, p->id, ID_LEN, now, true);
}

static void test_rtable_fill_respects_buckets(void **state)
{
    (void)state;
    pid local;
    fog_rtable *t = new_table(1, 20, 20, &local);
    size_t count[257] = {0};
    enum { N = 3000 };
    for (uint32_t n = 0; n < N; n++) {
        pid p;
        make_id(1000 + n, &p);
        count[bucket_of_id(fog_rtable_local_key(t), &p)]++;
        int rc = seen(t, &p, 10 + n);
        assert_true(rc == FOG_RTABLE_ADDED || rc == FOG_RTABLE_CACHED);
    }
    size_t total = 0;
    for (size_t i = 0; i < FOG_RTABLE_BUCKETS; i++) {
        size_t len = fog_rtable_bucket_len(t, i);
        assert_int_equal(len, count[i] < 20 ? count[i] : 20);
        size_t over = count[i] > 20 ? count[i] - 20 : 0;
        assert_int_equal(fog_rtable_bucket_cached(t, i), over < 20 ? over : 20);
        for (size_t j = 0; j < len; j++) {
            fog_rtable_peer p;
            fog_rtable_bucket_peer(t, i, j, &p);
            uint8_t key[32];
            fog_sha256(p.id, p.id_len, key);
            assert_memory_equal(key, p.key, 32);
            assert_int_equal(slow_cpl(key, fog_rtable_local_key(t)), i);
            assert_true(fog_rtable_find(t, p.id, p.id_len, NULL));
        }
        total += len;
    }
    assert_int_equal(fog_rtable_size(t), total);
    assert_true(count[0] > 20 && count[1] > 20); /* the test really filled buckets */
    fog_rtable_free(t);
}

static const uint8_t *g_target;
static int by_distance(const void *a, const void *b)
{
    const fog_rtable_peer *x = a;
    const fog_rtable_peer *y = b;
    for (size_t i = 0; i < 32; i++) {
        int dx = x->key[i] ^ g_target[i];
        int dy = y->key[i] ^ g_target[i];
        if (dx != dy) {
            return dx - dy;
        }
    }
    return 0;
}

static void check_closest(const fog_rtable *t, const fog_rtable_peer *all, size_t all_n,
                          fog_rtable_peer *sorted, const uint8_t *target, size_t n)
{
    memcpy(sorted, all, all_n * sizeof *all);
    g_target = target;
    qsort(sorted, all_n, sizeof *sorted, by_distance);
    fog_rtable_peer *got = calloc(n + 1, sizeof *got);
    assert_non_null(got);
    size_t cnt = 99999;
    fog_rtable_closest(t, target, n, got, &cnt);
    assert_int_equal(cnt, n < all_n ? n : all_n);
    for (size_t i = 0; i < cnt; i++) {
        assert_memory_equal(got[i].id, sorted[i].id, ID_LEN);
    }
    free(got);
}

static void test_rtable_closest_matches_brute_force(void **state)
{
    (void)state;
    pid local;
    fog_rtable *t = new_table(2, 20, 0, &local);
    for (uint32_t n = 0; n < 1500; n++) {
        pid p;
        make_id(50000 + n, &p);
        assert_true(seen(t, &p, 1) >= 0);
    }
    size_t all_n = fog_rtable_size(t);
    fog_rtable_peer *all = calloc(all_n, sizeof *all);
    fog_rtable_peer *sorted = calloc(all_n, sizeof *sorted);
    assert_true(all != NULL && sorted != NULL);
    size_t k = 0;
    for (size_t i = 0; i < FOG_RTABLE_BUCKETS; i++) {
        for (size_t j = 0; j < fog_rtable_bucket_len(t, i); j++) {
            fog_rtable_bucket_peer(t, i, j, &all[k++]);
        }
    }
    assert_int_equal(k, all_n);
    static const size_t ns[] = {1, 3, 20, 64, 100000};
    fog_rng rng = {xs_fill, NULL};
    for (int round = 0; round < 300; round++) {
        uint8_t target[32];
        if (round % 3 == 0) {
            xs_fill(NULL, target, 32);
        } else if (round % 3 == 1) {
            fog_rtable_bucket_random_key(t, (size_t)round % 24, rng, target); /* near us */
        } else {
            memcpy(target, all[xs() % all_n].key, 32); /* a member's own key */
        }
        check_closest(t, all, all_n, sorted, target, ns[round % 5]);
    }
    check_closest(t, all, all_n, sorted, fog_rtable_local_key(t), 20);
    size_t cnt = 7;
    fog_rtable_closest(t, fog_rtable_local_key(t), 0, NULL, &cnt);
    assert_int_equal(cnt, 0);
    free(all);
    free(sorted);
    fog_rtable_free(t);
}

static void assert_order(const fog_rtable *t, size_t b, const pid *const *want, size_t n)
{
    assert_int_equal(fog_rtable_bucket_len(t, b), n);
    for (size_t j = 0; j < n; j++) {
        fog_rtable_peer p;
        fog_rtable_bucket_peer(t, b, j, &p);
        assert_memory_equal(p.id, want[j]->id, ID_LEN);
    }
}

static void test_rtable_lru_order(void **state)
{
    (void)state;
    pid local;
    pid p[4];
    fog_rtable *t = new_table(3, 4, 4, &local);
    peers_in_bucket(t, 0, 4, 100, p);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(seen(t, &p[i], (fog_ms)(10 + i)), FOG_RTABLE_ADDED);
    }
    const pid *o1[] = {&p[3], &p[2], &p[1], &p[0]};
    assert_order(t, 0, o1, 4);
    assert_int_equal(seen(t, &p[1], 20), FOG_RTABLE_UPDATED);
    const pid *o2[] = {&p[1], &p[3], &p[2], &p[0]};
    assert_order(t, 0, o2, 4);
    fog_rtable_peer got;
    assert_true(fog_rtable_find(t, p[1].id, ID_LEN, &got));
    assert_int_equal(got.last_seen_ms, 20);
    assert_int_equal(got.added_ms, 11);
    assert_int_equal(got.last_useful_ms, 0);
    assert_int_equal(fog_rtable_useful(t, p[2].id, ID_LEN, 33), 0);
    assert_true(fog_rtable_find(t, p[2].id, ID_LEN, &got));
    assert_int_equal(got.last_useful_ms, 33);
    assert_order(t, 0, o2, 4); /* usefulness does not reorder */
    fog_rtable_event ev;
    assert_false(fog_rtable_poll_event(t, &ev)); /* no bucket was full */
    fog_rtable_free(t);
}

static void test_rtable_full_bucket_dead_check_promotes(void **state)
{
    (void)state;
    pid local;
    pid p[7];
    fog_rtable *t = new_table(4, 4, 2, &local);
    peers_in_bucket(t, 1, 7, 200, p);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(seen(t, &p[i], (fog_ms)(10 + i)), FOG_RTABLE_ADDED);
    }
    assert_int_equal(seen(t, &p[4], 20), FOG_RTABLE_CACHED);
    fog_rtable_event ev;
    assert_true(fog_rtable_poll_event(t, &ev));
    assert_int_equal(ev.kind, FOG_RTABLE_EV_CHECK);
    assert_int_equal(ev.bucket, 1);
    assert_memory_equal(ev.peer.id, p[0].id, ID_LEN); /* the least recently seen */
    assert_true(ev.peer.check_pending);
    assert_false(fog_rtable_poll_event(t, &ev)); /* handed out once */
    assert_int_equal(seen(t, &p[5], 21), FOG_RTABLE_CACHED);
    assert_int_equal(seen(t, &p[6], 22), FOG_RTABLE_CACHED);
    assert_false(fog_rtable_poll_event(t, &ev)); /* one check per bucket */
    assert_int_equal(fog_rtable_bucket_cached(t, 1), 2); /* p[4] fell off */
    fog_rtable_peer promoted;
    assert_int_equal(fog_rtable_check_result(t, p[0].id, ID_LEN, false, 30, &promoted), 1);
    assert_memory_equal(promoted.id, p[6].id, ID_LEN); /* the freshest replacement */
    assert_false(fog_rtable_find(t, p[0].id, ID_LEN, NULL));
    assert_true(fog_rtable_find(t, p[6].id, ID_LEN, NULL));
    assert_int_equal(fog_rtable_size(t), 4);
    assert_int_equal(fog_rtable_bucket_cached(t, 1), 1);
    const pid *o[] = {&p[6], &p[3], &p[2], &p[1]};
    assert_order(t, 1, o, 4);
    /* The check is over, so the next newcomer queues a check of the new LRU entry. */
    assert_int_equal(seen(t, &p[4], 40), FOG_RTABLE_CACHED);
    assert_true(fog_rtable_poll_event(t, &ev));
    assert_memory_equal(ev.peer.id, p[1].id, ID_LEN);
    assert_int_equal(fog_rtable_check_result(t, p[0].id, ID_LEN, false, 41, NULL),
                     FOG_ERR_NOT_FOUND);
    fog_rtable_free(t);
}

static void test_rtable_full_bucket_alive_check_keeps(void **state)
{
    (void)state;
    pid local;
    pid p[6];
    fog_rtable *t = new_table(5, 4, 2, &local);
    peers_in_bucket(t, 0, 6, 300, p);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(seen(t, &p[i], (fog_ms)(10 + i)), FOG_RTABLE_ADDED);
    }
    assert_int_equal(seen(t, &p[4], 20), FOG_RTABLE_CACHED);
    fog_rtable_event ev;
    assert_true(fog_rtable_poll_event(t, &ev));
    assert_memory_equal(ev.peer.id, p[0].id, ID_LEN);
    assert_int_equal(fog_rtable_check_result(t, p[0].id, ID_LEN, true, 25, NULL), 0);
    const pid *o[] = {&p[0], &p[3], &p[2], &p[1]};
    assert_order(t, 0, o, 4);
    fog_rtable_peer got;
    assert_true(fog_rtable_find(t, p[0].id, ID_LEN, &got));
    assert_false(got.check_pending);
    assert_int_equal(got.last_seen_ms, 25);
    assert_false(fog_rtable_find(t, p[4].id, ID_LEN, NULL)); /* still only a candidate */
    assert_int_equal(fog_rtable_bucket_cached(t, 0), 1);
    assert_int_equal(seen(t, &p[5], 30), FOG_RTABLE_CACHED);
    assert_true(fog_rtable_poll_event(t, &ev));
    assert_memory_equal(ev.peer.id, p[1].id, ID_LEN);
    fog_rtable_free(t);
}

static void test_rtable_non_server_refused(void **state)
{
    (void)state;
    pid local;
    pid p;
    fog_rtable *t = new_table(6, 20, 20, &local);
    make_id(77, &p);
    assert_int_equal(fog_rtable_seen(t, p.id, ID_LEN, 1, false), FOG_RTABLE_REFUSED);
    assert_int_equal(fog_rtable_size(t), 0);
    assert_int_equal(fog_rtable_seen(t, p.id, ID_LEN, 2, true), FOG_RTABLE_ADDED);
    assert_int_equal(fog_rtable_size(t), 1);
    /* It switched to client mode: identify no longer lists the protocol. */
    assert_int_equal(fog_rtable_seen(t, p.id, ID_LEN, 3, false), FOG_RTABLE_REFUSED);
    assert_int_equal(fog_rtable_size(t), 0);
    assert_false(fog_rtable_find(t, p.id, ID_LEN, NULL));
    fog_rtable_free(t);
}

static void test_rtable_own_id_never_admitted(void **state)
{
    (void)state;
    pid local;
    fog_rtable *t = new_table(7, 20, 20, &local);
    assert_int_equal(fog_rtable_seen(t, local.id, ID_LEN, 1, true), FOG_RTABLE_REFUSED);
    assert_int_equal(fog_rtable_size(t), 0);
    assert_int_equal(fog_rtable_bucket_of(t, fog_rtable_local_key(t)), FOG_RTABLE_BUCKETS);
    assert_int_equal(fog_rtable_remove(t, local.id, ID_LEN, NULL), FOG_ERR_NOT_FOUND);
    fog_rtable_free(t);
}

static void test_rtable_remove(void **state)
{
    (void)state;
    pid local;
    pid p[6];
    fog_rtable *t = new_table(8, 4, 2, &local);
    peers_in_bucket(t, 0, 6, 400, p);
    for (int i = 0; i < 6; i++) {
        assert_true(seen(t, &p[i], (fog_ms)(10 + i)) > 0);
    }
    fog_rtable_event ev;
    assert_true(fog_rtable_poll_event(t, &ev)); /* p[0] pending */
    /* Removing a candidate promotes nothing. */
    assert_int_equal(fog_rtable_remove(t, p[4].id, ID_LEN, NULL), 0);
    assert_int_equal(fog_rtable_bucket_cached(t, 0), 1);
    /* Removing the pending entry ends its check and promotes p[5]. */
    fog_rtable_peer promoted;
    assert_int_equal(fog_rtable_remove(t, p[0].id, ID_LEN, &promoted), 1);
    assert_memory_equal(promoted.id, p[5].id, ID_LEN);
    assert_int_equal(fog_rtable_size(t), 4);
    assert_int_equal(fog_rtable_remove(t, p[0].id, ID_LEN, NULL), FOG_ERR_NOT_FOUND);
    /* A bucket with no candidates just shrinks. */
    assert_int_equal(fog_rtable_remove(t, p[1].id, ID_LEN, NULL), 0);
    assert_int_equal(fog_rtable_size(t), 3);
    assert_int_equal(fog_rtable_bucket_cached(t, 0), 0);
    assert_int_equal(seen(t, &p[4], 50), FOG_RTABLE_ADDED);
    assert_false(fog_rtable_poll_event(t, &ev));
    fog_rtable_free(t);
}

static void test_rtable_unpolled_check_dropped_with_its_peer(void **state)
{
    (void)state;
    pid local;
    pid p[3];
    fog_rtable *t = new_table(9, 2, 1, &local);
    peers_in_bucket(t, 0, 3, 500, p);
    for (int i = 0; i < 3; i++) {
        assert_true(seen(t, &p[i], (fog_ms)(10 + i)) > 0);
    }
    assert_int_equal(fog_rtable_remove(t, p[0].id, ID_LEN, NULL), 1);
    fog_rtable_event ev;
    assert_false(fog_rtable_poll_event(t, &ev)); /* the queued check went with p[0] */
    fog_rtable_free(t);
}

static void test_rtable_stale_buckets(void **state)
{
    (void)state;
    pid local;
    fog_rtable *t = new_table(10, 20, 0, &local);
    size_t idx[FOG_RTABLE_BUCKETS];
    assert_int_equal(fog_rtable_stale_buckets(t, 0, 600000, idx), 1); /* empty: bucket 0 */
    assert_int_equal(idx[0], 0);
    size_t deepest = 0;
    for (uint32_t n = 0; n < 400; n++) {
        pid p;
        make_id(9000 + n, &p);
        size_t b = bucket_of_id(fog_rtable_local_key(t), &p);
        deepest = b > deepest ? b : deepest;
        assert_true(seen(t, &p, 5) >= 0);
    }
    assert_true(deepest >= 3 && deepest < 15);
    const fog_ms iv = 600000; /* go: 10 min */
    fog_ms now = 1000000;
    assert_int_equal(fog_rtable_stale_buckets(t, now, iv, idx), deepest + 1);
    fog_rng rng = {xs_fill, NULL};
    for (size_t i = 0; i <= deepest; i++) {
        assert_int_equal(idx[i], i);
        uint8_t key[32];
        fog_rtable_bucket_random_key(t, i, rng, key);
        fog_rtable_lookup_done(t, key, now);
    }
    assert_int_equal(fog_rtable_stale_buckets(t, now + iv, iv, idx), 0);
    uint8_t key[32];
    fog_rtable_bucket_random_key(t, 2, rng, key);
    fog_rtable_lookup_done(t, key, now + 10);
    assert_int_equal(fog_rtable_stale_buckets(t, now + iv + 1, iv, idx), deepest);
    for (size_t i = 0; i < deepest; i++) {
        assert_int_not_equal(idx[i], 2);
    }
    fog_rtable_lookup_done(t, fog_rtable_local_key(t), now + 20); /* marks nothing */
    assert_int_equal(fog_rtable_stale_buckets(t, now + iv + 11, iv, idx), deepest + 1);
    fog_rtable_free(t);
}

static void test_rtable_random_key_prefix(void **state)
{
    (void)state;
    pid local;
    fog_rtable *t = new_table(11, 20, 0, &local);
    fog_rng rng = {xs_fill, NULL};
    const uint8_t *lk = fog_rtable_local_key(t);
    for (size_t i = 0; i < FOG_RTABLE_BUCKETS; i++) {
        size_t differ_after = 0;
        for (int round = 0; round < 8; round++) {
            uint8_t key[32];
            fog_rtable_bucket_random_key(t, i, rng, key);
            assert_int_equal(slow_cpl(key, lk), i);
            assert_int_equal(fog_rtable_bucket_of(t, key), i);
            /* Bits after i come from the rng: over 8 draws some differ from the local key. */
            for (size_t bit = i + 1; bit < 256; bit++) {
                unsigned x = (unsigned)(key[bit / 8] ^ lk[bit / 8]);
                differ_after += (x >> (7 - bit % 8)) & 1u;
            }
        }
        assert_true(i >= 250 || differ_after > 0);
    }
    fog_rtable_free(t);
}

static void test_rtable_bad_input(void **state)
{
    (void)state;
    pid local;
    fog_rtable *t = new_table(12, 20, 20, &local);
    uint8_t bad[ID_LEN];
    memcpy(bad, local.id, ID_LEN);
    bad[0] = 0x55; /* not identity or sha2-256 */
    assert_true(fog_rtable_seen(t, bad, ID_LEN, 1, true) < 0);
    assert_true(fog_rtable_seen(t, local.id, ID_LEN - 1, 1, true) < 0); /* truncated */
    assert_int_equal(fog_rtable_size(t), 0);
    fog_rtable_free(t);
    fog_rtable_config cfg;
    fog_rtable_config_default(&cfg);
    assert_int_equal(cfg.bucket_size, 20);
    cfg.bucket_size = 0;
    fog_rtable *t2 = NULL;
    assert_int_equal(fog_rtable_new(&t2, local.id, ID_LEN, &cfg), FOG_ERR_INVALID);
    assert_null(t2);
    fog_rtable_config_default(&cfg);
    assert_true(fog_rtable_new(&t2, bad, ID_LEN, &cfg) < 0);
    assert_null(t2);
    fog_rtable_free(NULL);
}

int main(void)
{
    assert_int_equal(fog_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtable_fill_respects_buckets),
        cmocka_unit_test(test_rtable_closest_matches_brute_force),
        cmocka_unit_test(test_rtable_lru_order),
        cmocka_unit_test(test_rtable_full_bucket_dead_check_promotes),
        cmocka_unit_test(test_rtable_full_bucket_alive_check_keeps),
        cmocka_unit_test(test_rtable_non_server_refused),
        cmocka_unit_test(test_rtable_own_id_never_admitted),
        cmocka_unit_test(test_rtable_remove),
        cmocka_unit_test(test_rtable_unpolled_check_dropped_with_its_peer),
        cmocka_unit_test(test_rtable_stale_buckets),
        cmocka_unit_test(test_rtable_random_key_prefix),
        cmocka_unit_test(test_rtable_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
