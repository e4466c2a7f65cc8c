/* fuzz_lookup.c: the Kademlia lookup core driven by an arbitrary script (libFuzzer).
 * The first bytes choose alpha, k, max_peers and the deadline; each following byte is an
 * operation (seed, next, answer with up to 40 closer peers, fail, timeout, clock step, stop)
 * with its operands from the next bytes. Peers have one-byte IDs and a key derived from that
 * byte, so the input controls collisions, duplicates and order. After every operation the target
 * checks the invariants: never more than alpha in flight; the result is sorted closest first,
 * at most k long, without duplicates, and without a peer reported failed unless the cap evicted
 * some; a converged lookup has k results; a finished one hands out nothing; a peer is never
 * asked twice unless the cap evicted some.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fog/lookup.h"
#include "fuzzlib.h"

typedef struct {
    const uint8_t *p;
    size_t left;
} script;

static uint8_t take(script *s)
{
    if (s->left == 0) {
        return 0;
    }
    s->left--;
    return *s->p++;
}

static void key_of(uint8_t b, uint8_t key[FOG_LOOKUP_KEY_LEN])
{
    memset(key, 0, FOG_LOOKUP_KEY_LEN);
    key[0] = (uint8_t)(b & 0xf0);
    key[31] = (uint8_t)(b * 37u);
}

static void check(const fog_lookup *l, const fog_lookup_config *cfg, const bool *failed)
{
    CHECK(fog_lookup_inflight(l) <= cfg->alpha);
    fog_lookup_peer r[16];
    size_t n = fog_lookup_result(l, r, 16);
    CHECK(n <= cfg->k);
    fog_lookup_stats st;
    fog_lookup_get_stats(l, &st);
    for (size_t i = 0; i < n; i++) {
        /* A failed peer evicted by the cap is forgotten: heard again, it may be asked again and
         * answer. Without evictions it never comes back. */
        CHECK(r[i].id_len == 1 && (!failed[r[i].id[0]] || st.dropped > 0));
        uint8_t key[FOG_LOOKUP_KEY_LEN];
        key_of(r[i].id[0], key);
        CHECK(memcmp(key, r[i].key, sizeof key) == 0);
        CHECK(i == 0 || fog_lookup_cmp_dist(cfg->target, r[i - 1].key, r[i].key) < 0);
    }
    if (fog_lookup_outcome_of(l) == FOG_LOOKUP_CONVERGED) {
        CHECK(n == cfg->k);
    }
    if (fog_lookup_done(l)) {
        CHECK(fog_lookup_deadline(l) == FOG_NEVER);
    }
}

static void answer(fog_lookup *l, script *s, fog_ms now)
{
    uint8_t who = take(s);
    size_t m = take(s) % 41;
    uint8_t ids[40], keys[40][FOG_LOOKUP_KEY_LEN];
    fog_lookup_contact c[40];
    for (size_t i = 0; i < m; i++) {
        ids[i] = take(s);
        key_of(ids[i], keys[i]);
        c[i].id = &ids[i];
        c[i].id_len = ids[i] == 0xee ? 0 : 1; /* an empty ID now and then */
        c[i].key = keys[i];
    }
    int rc = fog_lookup_response(l, &who, 1, c, m, now);
    CHECK(rc >= 0 || rc == FOG_ERR_NOT_FOUND);
}

static void step(fog_lookup *l, script *s, fog_ms *now, bool *failed, bool *asked)
{
    uint8_t op = take(s) % 8;
    uint8_t b;
    uint8_t key[FOG_LOOKUP_KEY_LEN];
    fog_lookup_peer p;
    fog_lookup_stats st;
    switch (op) {
    case 0:
        b = take(s);
        key_of(b, key);
        CHECK(fog_lookup_add_seed(l, &b, 1, key) >= 0);
        break;
    case 1:
    case 2:
        while (fog_lookup_next(l, *now, &p) == 1) {
            CHECK(!fog_lookup_done(l) && p.id_len == 1);
            fog_lookup_get_stats(l, &st);
            CHECK(!asked[p.id[0]] || st.dropped > 0);
            asked[p.id[0]] = true;
        }
        break;
    case 3:
        answer(l, s, *now);
        break;
    case 4:
        b = take(s);
        if (fog_lookup_failed(l, &b, 1, *now) == 0 && !fog_lookup_done(l)) {
            failed[b] = true;
        }
        break;
    case 5:
        (void)fog_lookup_on_timeout(l, *now); /* the count is not checked here */
        break;
    case 6:
        *now += (fog_ms)take(s) * 40;
        break;
    default:
        if (take(s) == 0xff) {
            fog_lookup_stop(l);
        }
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    script s = {data, size};
    fog_lookup_config cfg;
    fog_lookup_config_default(&cfg);
    cfg.alpha = 1 + take(&s) % 4;
    cfg.k = 1 + take(&s) % 8;
    cfg.max_peers = cfg.k + cfg.alpha + take(&s) % 300;
    cfg.request_timeout_ms = 1000;
    uint8_t d = take(&s);
    cfg.deadline = d == 0 ? FOG_NEVER : (fog_ms)d * 100;
    key_of(take(&s), cfg.target);
    uint8_t self = take(&s);
    cfg.has_self = self & 1;
    key_of(self, cfg.self_key);
    fog_lookup *l = NULL;
    CHECK(fog_lookup_new(&l, &cfg) == 0);
    bool failed[256] = {false}, asked[256] = {false};
    fog_ms now = 0;
    while (s.left > 0) {
        step(l, &s, &now, failed, asked);
        check(l, &cfg, failed);
    }
    fog_lookup_free(l);
    return 0;
}
