/* fuzz_rtable.c: the routing table under arbitrary sequences of operations (libFuzzer).
 * The table is not a parser, but it is a core fed by peer behaviour: who connects, who answers.
 * Each input is a script of 2-byte operations over 48 fixed Ed25519 peer IDs (a small k = 3 and
 * 2 replacements, so buckets 0..2 fill and evict constantly): seen as server or client, useful,
 * check results alive or dead (for the peer of the last polled check or any peer), remove, poll,
 * closest and refresh bookkeeping. After every operation the invariants are checked: bucket
 * bounds, candidates only in full buckets, one pending check per bucket, no peer twice, the size
 * count, every entry in the bucket of its key, and closest() equal to a brute-force XOR sort.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/crypto.h"
#include "fog/mf.h"
#include "fog/rtable.h"
#include "fuzzlib.h"

#define NPEERS 48
#define K 3
#define R 2

static uint8_t ids[NPEERS + 1][FOG_PEER_ID_ED25519_LEN]; /* ids[NPEERS] is the local peer */
static bool ready;

static void setup(void)
{
    CHECK(fog_crypto_init() == 0);
    for (size_t n = 0; n <= NPEERS; n++) {
        uint8_t seed[FOG_ED25519_SEED_LEN] = {(uint8_t)n, 0x5a};
        uint8_t pub[FOG_ED25519_PUB_LEN];
        uint8_t sec[FOG_ED25519_SECRET_LEN];
        fog_ed25519_from_seed(seed, pub, sec);
        fog_peer_id_ed25519(pub, ids[n]);
    }
    ready = true;
}

static int dcmp(const uint8_t *a, const uint8_t *b, const uint8_t *target)
{
    for (size_t i = 0; i < FOG_RTABLE_KEY_LEN; i++) {
        int da = a[i] ^ target[i];
        int db = b[i] ^ target[i];
        if (da != db) {
            return da - db;
        }
    }
    return 0;
}

/* Collects every live entry into all[] (room for NPEERS) and checks the structural rules. */
static size_t check_invariants(const fog_rtable *t, fog_rtable_peer *all)
{
    size_t n = 0;
    bool in_table[NPEERS + 1] = {false};
    for (size_t i = 0; i < FOG_RTABLE_BUCKETS; i++) {
        size_t len = fog_rtable_bucket_len(t, i);
        size_t cached = fog_rtable_bucket_cached(t, i);
        CHECK(len <= K && cached <= R);
        CHECK(cached == 0 || len == K);
        size_t pending = 0;
        for (size_t j = 0; j < len + cached; j++) {
            fog_rtable_peer p;
            if (j < len) {
                fog_rtable_bucket_peer(t, i, j, &p);
                pending += p.check_pending ? 1 : 0;
                CHECK(j == 0 || all[n - 1].last_seen_ms >= p.last_seen_ms);
                all[n++] = p;
            } else {
                fog_rtable_bucket_cached_peer(t, i, j - len, &p);
            }
            CHECK(p.id_len == FOG_PEER_ID_ED25519_LEN);
            CHECK(fog_rtable_bucket_of(t, p.key) == i);
            for (size_t m = 0; m <= NPEERS; m++) {
                if (memcmp(ids[m], p.id, FOG_PEER_ID_ED25519_LEN) == 0) {
                    CHECK(m < NPEERS && !in_table[m]);
                    in_table[m] = true;
                }
            }
        }
        CHECK(pending <= 1);
    }
    CHECK(n == fog_rtable_size(t));
    return n;
}

static void check_closest(const fog_rtable *t, const fog_rtable_peer *all, size_t n_all,
                          const uint8_t *target, size_t want)
{
    fog_rtable_peer got[NPEERS + 1];
    size_t cnt;
    fog_rtable_closest(t, target, want, got, &cnt);
    CHECK(cnt == (want < n_all ? want : n_all));
    for (size_t i = 0; i < cnt; i++) {
        /* got[i] is closer than got[i+1], and nothing outside the answer beats got[cnt-1]. */
        CHECK(i + 1 == cnt || dcmp(got[i].key, got[i + 1].key, target) < 0);
    }
    for (size_t m = 0; m < n_all && cnt > 0; m++) {
        bool inside = false;
        for (size_t i = 0; i < cnt; i++) {
            inside = inside || memcmp(got[i].key, all[m].key, FOG_RTABLE_KEY_LEN) == 0;
        }
        CHECK(inside || dcmp(all[m].key, got[cnt - 1].key, target) > 0);
    }
}

static void fill_byte(void *ctx, uint8_t *out, size_t len)
{
    memset(out, *(const uint8_t *)ctx, len);
}

static void run_op(fog_rtable *t, uint8_t op, uint8_t arg, fog_ms now, size_t *last_check)
{
    const uint8_t *id = ids[arg % (NPEERS + 1)]; /* includes the local ID */
    size_t len = FOG_PEER_ID_ED25519_LEN;
    fog_rtable_event ev;
    int rc = 0;
    switch (op % 9) {
    case 0:
    case 1:
        rc = fog_rtable_seen(t, id, len, now, true);
        break;
    case 2:
        rc = fog_rtable_seen(t, id, len, now, (arg & 0x80) != 0);
        break;
    case 3:
        if (fog_rtable_poll_event(t, &ev)) {
            CHECK(ev.kind == FOG_RTABLE_EV_CHECK && ev.peer.check_pending);
            for (size_t m = 0; m < NPEERS; m++) {
                *last_check = memcmp(ids[m], ev.peer.id, len) == 0 ? m : *last_check;
            }
        }
        break;
    case 4:
        rc = fog_rtable_check_result(t, ids[*last_check], len, (arg & 1) != 0, now, NULL);
        break;
    case 5:
        rc = fog_rtable_check_result(t, id, len, (arg & 1) != 0, now, NULL);
        break;
    case 6:
        rc = fog_rtable_remove(t, id, len, NULL);
        break;
    case 7:
        rc = fog_rtable_useful(t, id, len, now);
        break;
    default: {
        uint8_t key[FOG_RTABLE_KEY_LEN];
        size_t idx[FOG_RTABLE_BUCKETS];
        fog_rtable_bucket_random_key(t, arg, (fog_rng){fill_byte, &op}, key);
        CHECK(fog_rtable_bucket_of(t, key) == arg);
        fog_rtable_lookup_done(t, key, now);
        size_t ns = fog_rtable_stale_buckets(t, now, 50, idx);
        for (size_t i = 0; i < ns; i++) {
            CHECK(idx[i] != arg && idx[i] <= 15);
        }
        break;
    }
    }
    CHECK(rc >= 0 || rc == FOG_ERR_NOT_FOUND);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        setup();
    }
    fog_rtable_config cfg;
    fog_rtable_config_default(&cfg);
    cfg.bucket_size = K;
    cfg.replacement_size = R;
    fog_rtable *t = NULL;
    CHECK(fog_rtable_new(&t, ids[NPEERS], FOG_PEER_ID_ED25519_LEN, &cfg) == 0);
    fog_rtable_peer all[NPEERS];
    size_t last_check = 0;
    for (size_t off = 0; off + 1 < size; off += 2) {
        fog_ms now = 100 + off;
        run_op(t, data[off], data[off + 1], now, &last_check);
        size_t n_all = check_invariants(t, all);
        uint8_t target[FOG_RTABLE_KEY_LEN];
        memcpy(target, n_all > 0 ? all[0].key : fog_rtable_local_key(t), sizeof target);
        target[data[off + 1] % FOG_RTABLE_KEY_LEN] ^= data[off]; /* near a member, or us */
        check_closest(t, all, n_all, target, (size_t)(data[off] % 8) + 1);
    }
    fog_rtable_free(t);
    return 0;
}
