/* test_bswap_session.c: the bitswap client session core (src/bitswap/session.c), sans-I/O.
 * The tests play the peers: they feed presences, blocks, peer arrivals and departures and the
 * time, and check the actions the core queues against the policy session.c states: a want-have
 * to everyone when a want goes active, want-blocks only within a peer's budget (2 for a new
 * peer, then what it delivered in the last window, at least 2 (1 of 1 MiB blocks), at most
 * inflight), the rarest
 * block a peer has first with seedable random tie-breaks, blind asks only at members, endgame
 * duplicates only when nothing else is left and cancelled when one copy arrives, the next peer
 * on DONT_HAVE or timeout, a provider search after provider_delay_ms, a start-over, at most
 * `inflight` active wants in FIFO order, blocks accepted from any peer.
 */
#include "testlib.h"

#include "../../src/bitswap/internal.h"
#include "fog/crypto.h"
#include "fog/mf.h"

#define P "peerP"
#define Q "peerQ"
#define R "peerR"
#define T "peerT"
#define NCIDS 64

static fog_cid cids[NCIDS];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(fog_crypto_init(), 0);
    for (size_t i = 0; i < NCIDS; i++) {
        uint8_t b = (uint8_t)i;
        assert_int_equal(fog_cid_of(&cids[i], 1, FOG_MC_RAW, FOG_MC_SHA2_256, &b, 1), 0);
    }
    return 0;
}

static bs_sess *sess_seeded(size_t inflight, uint64_t seed)
{
    bs_sess_config cfg = {inflight, 1000, 300, 100, NULL, NULL, seed};
    bs_sess *s = NULL;
    assert_int_equal(fog__bs_sess_new(&s, &cfg), 0);
    return s;
}

static bs_sess *sess(size_t inflight)
{
    return sess_seeded(inflight, 42);
}

static size_t cid_index(const fog_cid *c)
{
    for (size_t i = 0; i < NCIDS; i++) {
        if (fog_cid_eq(c, &cids[i])) {
            return i;
        }
    }
    fail_msg("an action for a CID the test never wanted");
    return NCIDS;
}

static bool is_peer(const bs_act *a, const char *peer)
{
    return a->peer_len == strlen(peer) && memcmp(a->peer, peer, a->peer_len) == 0;
}

/* Expects one queued action and checks it. peer NULL: a broadcast. cid NCIDS: any CID (the
 * index is returned). */
static size_t expect(bs_sess *s, bs_act_kind kind, const char *peer, size_t cid)
{
    bs_act a;
    assert_true(fog__bs_sess_poll(s, &a));
    assert_int_equal(a.kind, kind);
    if (peer == NULL) {
        assert_int_equal(a.peer_len, 0);
    } else {
        assert_true(is_peer(&a, peer));
    }
    size_t i = cid_index(&a.cid);
    if (cid != NCIDS) {
        assert_int_equal(i, cid);
    }
    return i;
}

static void expect_none(bs_sess *s)
{
    bs_act a;
    assert_false(fog__bs_sess_poll(s, &a));
}

static void add_peer(bs_sess *s, const char *p, fog_ms now)
{
    assert_int_equal(fog__bs_sess_add_peer(s, (const uint8_t *)p, strlen(p), now), 0);
}

static void presence(bs_sess *s, const char *p, size_t i, fog_bitswap_presence_type t,
                     fog_ms now)
{
    assert_int_equal(fog__bs_sess_presence(s, (const uint8_t *)p, strlen(p), &cids[i], t, now),
                     0);
}

static bs_want *block_len(bs_sess *s, const char *p, size_t i, size_t len)
{
    return fog__bs_sess_block(s, (const uint8_t *)p, strlen(p), &cids[i], len, 0);
}

static bs_want *block(bs_sess *s, const char *p, size_t i)
{
    return block_len(s, p, i, 10);
}

static size_t budget_of(bs_sess *s, const char *p)
{
    return fog__bs_sess_budget(s, (const uint8_t *)p, strlen(p));
}

static size_t asked(bs_sess *s)
{
    bs_sess_stats st;
    fog__bs_sess_get_stats(s, &st);
    return st.asked;
}

/* Wants 0..n-1, activated at now: the n broadcast want-haves are checked and consumed. */
static void want_n(bs_sess *s, size_t n, fog_ms now)
{
    for (size_t i = 0; i < n; i++) {
        assert_non_null(fog__bs_sess_want(s, &cids[i], now));
    }
    fog__bs_sess_activate(s, now);
    for (size_t i = 0; i < n; i++) {
        expect(s, BS_ACT_WANT_HAVE, NULL, i);
    }
}

static void test_bswap_session_broadcast_then_block(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    assert_non_null(fog__bs_sess_want(s, &cids[0], 0));
    expect_none(s); /* nothing goes out before activation */
    fog__bs_sess_activate(s, 0);
    expect(s, BS_ACT_WANT_HAVE, NULL, 0);
    expect_none(s); /* no member yet: nobody to ask for the block */
    presence(s, P, 0, FOG_BITSWAP_HAVE, 10);
    expect(s, BS_ACT_WANT_BLOCK, P, 0);
    expect_none(s);
    bs_sess_stats st;
    fog__bs_sess_get_stats(s, &st);
    assert_int_equal(st.peers, 1);
    assert_int_equal(st.asked, 1);
    bs_want *w = block(s, P, 0);
    assert_non_null(w);
    assert_true(fog_cid_eq(&w->cid, &cids[0]));
    fog__bs_sess_release(s, w);
    expect(s, BS_ACT_CANCEL, NULL, 0); /* withdrawn everywhere */
    expect_none(s);
    assert_null(block(s, P, 0)); /* twice: a duplicate */
    fog__bs_sess_get_stats(s, &st);
    assert_int_equal(st.blocks_in, 1);
    assert_int_equal(st.dup_blocks_in, 1);
    assert_int_equal(st.bytes_in, 10);
    assert_int_equal(st.asked, 0);
    assert_int_equal(st.wants, 0);
    fog__bs_sess_free(s);
}

static void test_bswap_session_inflight_fifo(void **state)
{
    (void)state;
    bs_sess *s = sess(2);
    add_peer(s, P, 0);
    for (size_t i = 0; i < 4; i++) {
        assert_non_null(fog__bs_sess_want(s, &cids[i], 0));
    }
    fog__bs_sess_activate(s, 0);
    expect(s, BS_ACT_WANT_HAVE, NULL, 0); /* only the first two go active */
    expect(s, BS_ACT_WANT_HAVE, NULL, 1);
    size_t a = expect(s, BS_ACT_WANT_BLOCK, P, NCIDS); /* P was added: asked blind */
    size_t b = expect(s, BS_ACT_WANT_BLOCK, P, NCIDS);
    assert_int_equal(a + b, 1);
    expect_none(s);
    fog__bs_sess_release(s, block(s, P, 1)); /* out of order is fine */
    expect(s, BS_ACT_CANCEL, NULL, 1);
    expect_none(s);
    fog__bs_sess_activate(s, 1);
    expect(s, BS_ACT_WANT_HAVE, NULL, 2);
    expect(s, BS_ACT_WANT_BLOCK, P, 2);
    expect_none(s);
    /* a block from a peer outside the session is taken, and cancelled everywhere */
    fog__bs_sess_release(s, block(s, R, 0));
    expect(s, BS_ACT_CANCEL, NULL, 0);
    expect_none(s);
    fog__bs_sess_activate(s, 2);
    expect(s, BS_ACT_WANT_HAVE, NULL, 3);
    expect(s, BS_ACT_WANT_BLOCK, P, 3);
    expect_none(s);
    fog__bs_sess_free(s);
}

static void test_bswap_session_dont_have_moves_on(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    add_peer(s, P, 0);
    add_peer(s, Q, 0);
    want_n(s, 2, 0);
    /* blind asks spread: one want-block each */
    bs_act a1, a2;
    assert_true(fog__bs_sess_poll(s, &a1));
    assert_true(fog__bs_sess_poll(s, &a2));
    expect_none(s);
    assert_int_equal(a1.kind, BS_ACT_WANT_BLOCK);
    assert_int_equal(a2.kind, BS_ACT_WANT_BLOCK);
    assert_memory_not_equal(a1.peer, a2.peer, 5);
    assert_false(fog_cid_eq(&a1.cid, &a2.cid));
    const char *first = fog_cid_eq(&a1.cid, &cids[0]) ? (is_peer(&a1, P) ? P : Q)
                                                      : (is_peer(&a2, P) ? P : Q);
    const char *other = strcmp(first, P) == 0 ? Q : P;
    presence(s, first, 0, FOG_BITSWAP_DONT_HAVE, 5);
    /* the blind want-block becomes a want-have there; the other member is asked */
    expect(s, BS_ACT_CANCEL, first, 0);
    expect(s, BS_ACT_WANT_HAVE, first, 0);
    expect(s, BS_ACT_WANT_BLOCK, other, 0);
    expect_none(s);
    presence(s, other, 0, FOG_BITSWAP_DONT_HAVE, 6);
    expect(s, BS_ACT_CANCEL, other, 0);
    expect(s, BS_ACT_WANT_HAVE, other, 0);
    expect_none(s); /* nobody left: the want-have broadcast is out already */
    presence(s, R, 0, FOG_BITSWAP_HAVE, 7); /* a stranger has it: it joins */
    expect(s, BS_ACT_WANT_BLOCK, R, 0);
    expect_none(s);
    bs_sess_stats st;
    fog__bs_sess_get_stats(s, &st);
    assert_int_equal(st.peers, 3);
    fog__bs_sess_free(s);
}

static void test_bswap_session_stranger_dont_have_kept(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    want_n(s, 2, 0);
    presence(s, R, 0, FOG_BITSWAP_DONT_HAVE, 1); /* not a member: remembered, nothing sent */
    expect_none(s);
    bs_sess_stats st;
    fog__bs_sess_get_stats(s, &st);
    assert_int_equal(st.peers, 0);
    presence(s, R, 1, FOG_BITSWAP_HAVE, 2); /* joins: asked for 1, not blind for 0 */
    expect(s, BS_ACT_WANT_BLOCK, R, 1);
    expect_none(s);
    fog__bs_sess_free(s);
}

static void test_bswap_session_timeout_and_providers(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    add_peer(s, P, 0);
    want_n(s, 1, 0);
    expect(s, BS_ACT_WANT_BLOCK, P, 0);
    fog__bs_sess_tick(s, 999);
    expect_none(s); /* not yet: the timeout is 1000 ms */
    add_peer(s, Q, 999);
    expect_none(s); /* the want is asked already and Q did not say it has it */
    fog__bs_sess_tick(s, 1000);
    expect(s, BS_ACT_CANCEL, P, 0);
    expect(s, BS_ACT_WANT_BLOCK, Q, 0);
    expect_none(s);
    fog__bs_sess_tick(s, 2000);
    expect(s, BS_ACT_CANCEL, Q, 0);
    expect(s, BS_ACT_PROVIDERS, NULL, 0); /* active 2000 ms >= 300 ms, nobody has it */
    expect_none(s);
    fog__bs_sess_tick(s, 2500);
    expect_none(s); /* providers are asked once */
    fog__bs_sess_tick(s, 3000);
    /* everyone failed it a timeout ago: the want starts over (a new want-have to everyone, Q,
     * the newest member, asked blind again; P is not asked twice without saying HAVE) */
    expect(s, BS_ACT_WANT_HAVE, NULL, 0);
    expect(s, BS_ACT_WANT_BLOCK, Q, 0);
    expect_none(s);
    fog__bs_sess_free(s);
}

static void test_bswap_session_peer_gone(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    add_peer(s, P, 0);
    want_n(s, 1, 0);
    expect(s, BS_ACT_WANT_BLOCK, P, 0);
    fog__bs_sess_peer_up(s, (const uint8_t *)P, strlen(P)); /* P (re)connected: ask again */
    expect(s, BS_ACT_WANT_BLOCK, P, 0);
    fog__bs_sess_peer_up(s, (const uint8_t *)R, strlen(R)); /* not a session peer: nothing */
    expect_none(s);
    add_peer(s, Q, 1);
    expect_none(s);
    fog__bs_sess_peer_gone(s, (const uint8_t *)P, 1, 2); /* not a known peer: nothing */
    expect_none(s);
    fog__bs_sess_peer_gone(s, (const uint8_t *)P, strlen(P), 2);
    expect(s, BS_ACT_WANT_BLOCK, Q, 0);
    expect_none(s);
    bs_sess_stats st;
    fog__bs_sess_get_stats(s, &st);
    assert_int_equal(st.peers, 1);
    assert_int_equal(st.asked, 1);
    fog__bs_sess_peer_gone(s, (const uint8_t *)Q, strlen(Q), 3);
    expect_none(s); /* nobody left; the want-have went to everyone on activation */
    fog__bs_sess_get_stats(s, &st);
    assert_int_equal(st.peers, 0);
    assert_int_equal(st.asked, 0);
    /* dropping the want withdraws the broadcast */
    fog__bs_sess_drop(s, fog__bs_sess_find(s, &cids[0]));
    expect(s, BS_ACT_CANCEL, NULL, 0);
    expect_none(s);
    fog__bs_sess_free(s);
}

/* P played as a peer that has every block: out holds the want-blocks asked of it. */
typedef struct {
    size_t out[NCIDS];
    size_t n;
} player;

/* Takes the queued actions: want-blocks (only to P) join pl->out, the rest is dropped. */
static void collect(bs_sess *s, player *pl)
{
    bs_act a;
    while (fog__bs_sess_poll(s, &a)) {
        if (a.kind == BS_ACT_WANT_BLOCK) {
            assert_true(is_peer(&a, P));
            assert_true(pl->n < NCIDS);
            pl->out[pl->n++] = cid_index(&a.cid);
        }
    }
}

/* One round trip of P: at now it delivers every block asked of it (len bytes each); each is
 * wanted again at once (so P never runs out of work), P says it has it, and the session
 * activates as the caller's kick makes it. */
static void round_trip(bs_sess *s, player *pl, fog_ms now, size_t len)
{
    collect(s, pl);
    size_t k = pl->n;
    size_t out[NCIDS];
    memcpy(out, pl->out, k * sizeof *out);
    pl->n = 0;
    for (size_t i = 0; i < k; i++) {
        bs_want *w = block_len(s, P, out[i], len);
        assert_non_null(w);
        fog__bs_sess_release(s, w);
        assert_non_null(fog__bs_sess_want(s, &cids[out[i]], now));
    }
    fog__bs_sess_activate(s, now);
    for (size_t i = 0; i < k; i++) {
        presence(s, P, out[i], FOG_BITSWAP_HAVE, now);
    }
    collect(s, pl);
}

/* A session of 48 wants that P says it has, at time 0; P's first asks are in pl. */
static bs_sess *budget_sess(player *pl, fog_ms timeout)
{
    bs_sess_config cfg = {48, timeout, timeout, 100, NULL, NULL, 1};
    bs_sess *s = NULL;
    assert_int_equal(fog__bs_sess_new(&s, &cfg), 0);
    want_n(s, 48, 0);
    assert_int_equal(budget_of(s, P), 0); /* unknown */
    for (size_t i = 0; i < 48; i++) {
        presence(s, P, i, FOG_BITSWAP_HAVE, 0);
    }
    pl->n = 0;
    collect(s, pl);
    return s;
}

static void test_bswap_session_budget_grows(void **state)
{
    (void)state;
    player pl;
    bs_sess *s = budget_sess(&pl, 1000);
    assert_int_equal(budget_of(s, P), 2); /* a new peer starts at 2 */
    assert_int_equal(asked(s), 2);
    /* a 1 ms round trip in a 100 ms window: the budget is twice the blocks delivered in the
     * window (at least 2), so it triples per round trip: each block frees one slot and adds
     * two; inflight (48) caps it */
    static const size_t want[] = {4, 12, 36, 48, 48};
    for (size_t r = 0; r < sizeof want / sizeof want[0]; r++) {
        round_trip(s, &pl, (fog_ms)r + 1, 1000);
        assert_int_equal(asked(s), want[r]);
        assert_int_equal(pl.n, want[r]);
    }
    assert_int_equal(budget_of(s, P), 48);
    fog__bs_sess_free(s);
}

static void test_bswap_session_budget_shrinks(void **state)
{
    (void)state;
    player pl;
    bs_sess *s = budget_sess(&pl, 60000);
    fog_ms now = 0;
    for (size_t r = 0; r < 5; r++) {
        round_trip(s, &pl, ++now, 1000);
    }
    assert_int_equal(asked(s), 48);
    /* then nothing for two windows: it delivered nothing lately, the budget is the minimum */
    now += 200;
    fog__bs_sess_tick(s, now);
    assert_int_equal(budget_of(s, P), 2);
    expect_none(s);
    /* a trickle, one block per 110 ms (one in a window: a budget of 2): the 48 asked drain and
     * no new want-block goes out until fewer than 2 are outstanding */
    for (size_t i = 0; i < 48; i++) {
        now += 110;
        fog__bs_sess_tick(s, now);
        collect(s, &pl);
        assert_true(pl.n > 0);
        size_t idx = pl.out[0];
        memmove(pl.out, pl.out + 1, --pl.n * sizeof *pl.out);
        fog__bs_sess_release(s, block_len(s, P, idx, 1000));
        assert_int_equal(budget_of(s, P), 2);
        assert_non_null(fog__bs_sess_want(s, &cids[idx], now));
        fog__bs_sess_activate(s, now);
        presence(s, P, idx, FOG_BITSWAP_HAVE, now);
        collect(s, &pl);
        assert_int_equal(asked(s), pl.n);
        assert_int_equal(asked(s), 47 - i > 2 ? 47 - i : 2);
    }
    fog__bs_sess_free(s);
}

/* 1 MiB blocks: the floors count bytes (512 KiB), so a peer that delivered nothing lately
 * keeps one block in flight. */
static void test_bswap_session_budget_large_blocks(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    want_n(s, 4, 0);
    presence(s, P, 0, FOG_BITSWAP_HAVE, 0);
    presence(s, P, 1, FOG_BITSWAP_HAVE, 0);
    expect(s, BS_ACT_WANT_BLOCK, P, 0);
    expect(s, BS_ACT_WANT_BLOCK, P, 1);
    expect_none(s);
    fog__bs_sess_release(s, block_len(s, P, 0, 1u << 20));
    expect(s, BS_ACT_CANCEL, NULL, 0);
    assert_int_equal(budget_of(s, P), 2); /* twice the one block of the window */
    fog__bs_sess_tick(s, 299); /* (before the provider searches: 300 ms) */
    assert_int_equal(budget_of(s, P), 1);
    presence(s, P, 2, FOG_BITSWAP_HAVE, 299);
    expect_none(s); /* 1 outstanding already */
    fog__bs_sess_release(s, block_len(s, P, 1, 1u << 20));
    expect(s, BS_ACT_CANCEL, NULL, 1);
    expect(s, BS_ACT_WANT_BLOCK, P, 2);
    expect_none(s);
    fog__bs_sess_free(s);
}

static void test_bswap_session_rarest_first(void **state)
{
    (void)state;
    bs_sess *s = sess(16);
    want_n(s, 16, 0);
    /* fill every peer's budget (2): Q with 4 and 5, R with 6 and 7, P with 8 and 9 */
    const char *peers[3] = {Q, R, P};
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 4 + 2 * k; i < 6 + 2 * k; i++) {
            presence(s, peers[k], i, FOG_BITSWAP_HAVE, 1);
            expect(s, BS_ACT_WANT_BLOCK, peers[k], i);
        }
    }
    expect_none(s);
    /* then the HAVEs are only recorded: 0 held by P Q R, 1 by P Q, 2 by P */
    presence(s, P, 0, FOG_BITSWAP_HAVE, 2);
    presence(s, P, 1, FOG_BITSWAP_HAVE, 2);
    presence(s, P, 2, FOG_BITSWAP_HAVE, 2);
    presence(s, Q, 0, FOG_BITSWAP_HAVE, 2);
    presence(s, Q, 1, FOG_BITSWAP_HAVE, 2);
    presence(s, R, 0, FOG_BITSWAP_HAVE, 2);
    expect_none(s);
    /* one slot frees at each in turn: each takes the rarest of what it has and nobody is
     * asked for */
    fog__bs_sess_release(s, block(s, P, 8));
    expect(s, BS_ACT_CANCEL, NULL, 8);
    expect(s, BS_ACT_WANT_BLOCK, P, 2); /* 1 holder, before 1 (2) and 0 (3) */
    expect_none(s);
    fog__bs_sess_release(s, block(s, Q, 4));
    expect(s, BS_ACT_CANCEL, NULL, 4);
    expect(s, BS_ACT_WANT_BLOCK, Q, 1); /* 2 holders, before 0 (3) */
    expect_none(s);
    fog__bs_sess_release(s, block(s, R, 6));
    expect(s, BS_ACT_CANCEL, NULL, 6);
    expect(s, BS_ACT_WANT_BLOCK, R, 0);
    expect_none(s);
    fog__bs_sess_free(s);
}

/* The first 2 blind asks of 16 equal wants at one added peer: ties broken at random. */
static void first_asks(uint64_t seed, bs_rand_fn fn, void *ud, size_t out[2])
{
    bs_sess_config cfg = {16, 1000, 300, 100, fn, ud, seed};
    bs_sess *s = NULL;
    assert_int_equal(fog__bs_sess_new(&s, &cfg), 0);
    add_peer(s, P, 0);
    want_n(s, 16, 0);
    for (size_t i = 0; i < 2; i++) {
        out[i] = expect(s, BS_ACT_WANT_BLOCK, P, NCIDS);
    }
    expect_none(s);
    fog__bs_sess_free(s);
}

static uint64_t count_rand(void *ud)
{
    uint64_t *n = ud;
    return (*n)++;
}

static void test_bswap_session_tie_break_seedable(void **state)
{
    (void)state;
    size_t a[2], b[2], c[2];
    first_asks(7, NULL, NULL, a);
    first_asks(7, NULL, NULL, b);
    assert_memory_equal(a, b, sizeof a); /* the same seed, the same choices */
    bool differs = false;
    for (uint64_t seed = 8; seed < 24 && !differs; seed++) {
        first_asks(seed, NULL, NULL, c);
        differs = memcmp(a, c, sizeof a) != 0;
    }
    assert_true(differs); /* (all 16 seeds picking the same 2 of 16 in order: ~1e-36) */
    uint64_t calls = 0;
    first_asks(0, count_rand, &calls, c);
    assert_true(calls > 0); /* the caller's randomness is what is used */
    fog__bs_sess_free(NULL);
}

static bs_want *block_at(bs_sess *s, const char *p, size_t i, fog_ms now)
{
    return fog__bs_sess_block(s, (const uint8_t *)p, strlen(p), &cids[i], 10, now);
}

/* A peer that keeps delivering is slow, not gone: an ask there times out only after a whole
 * timeout (1000 ms here), or three times the peer's pace if longer, without any block from it. */
static void test_bswap_session_progress_keeps_asks(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    want_n(s, 3, 0);
    for (size_t i = 0; i < 3; i++) {
        presence(s, P, i, FOG_BITSWAP_HAVE, 0);
    }
    size_t a = expect(s, BS_ACT_WANT_BLOCK, P, NCIDS);
    size_t b = expect(s, BS_ACT_WANT_BLOCK, P, NCIDS);
    expect_none(s);
    fog__bs_sess_release(s, block_at(s, P, a, 900));
    expect(s, BS_ACT_CANCEL, NULL, a);
    size_t c = expect(s, BS_ACT_WANT_BLOCK, P, NCIDS);
    assert_true(c != a && c != b);
    fog__bs_sess_tick(s, 1500); /* b is 1500 ms old, but P sent a block 600 ms ago */
    expect_none(s);
    assert_int_equal(asked(s), 2);
    /* P's pace is 900 ms a block: the limit is 3 x 900 ms without a block from it */
    fog__bs_sess_tick(s, 3599);
    expect_none(s);
    fog__bs_sess_tick(s, 3600);
    expect(s, BS_ACT_CANCEL, P, NCIDS);
    expect(s, BS_ACT_CANCEL, P, NCIDS);
    bs_sess_stats st;
    fog__bs_sess_get_stats(s, &st);
    assert_int_equal(st.timeouts, 2);
    fog__bs_sess_free(s);
}

/* Wants 0..n-1; P has 0 and 1 and is asked both; one of them arrives at t (P's pace: t ms a
 * block). Returns the other, still asked at P. */
static size_t paced_p(bs_sess *s, size_t n, fog_ms t)
{
    want_n(s, n, 0);
    presence(s, P, 0, FOG_BITSWAP_HAVE, 0);
    presence(s, P, 1, FOG_BITSWAP_HAVE, 0);
    size_t a = expect(s, BS_ACT_WANT_BLOCK, P, NCIDS);
    size_t b = expect(s, BS_ACT_WANT_BLOCK, P, NCIDS);
    expect_none(s);
    fog__bs_sess_release(s, block_at(s, P, a, t));
    expect(s, BS_ACT_CANCEL, NULL, a);
    expect_none(s);
    return b;
}

/* An ask at a peer whose pace is known is late only after twice the wait that pace predicts:
 * no duplicate at a quarter of the timeout while the peer is merely busy. */
static void test_bswap_session_pace_delays_duplicates(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    size_t b = paced_p(s, 2, 400); /* P's pace: 400 ms a block */
    presence(s, Q, b, FOG_BITSWAP_HAVE, 401);
    fog__bs_sess_tick(s, 700); /* b is 700 ms old: late by a quarter timeout, not by P's pace */
    expect_none(s);
    fog__bs_sess_free(s);
}

/* The last wants: a late ask (twice the wait P's pace predicts) gets a duplicate at another
 * holder, the first ask kept; the copy that arrives first cancels everywhere and the other one
 * is counted as a duplicate. Timeout 1000, window 100. */
static void test_bswap_session_endgame_duplicate_cancel(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    size_t b = paced_p(s, 2, 100); /* P's pace: 100 ms a block */
    presence(s, Q, b, FOG_BITSWAP_HAVE, 101); /* b's ask is fresh: no duplicate yet */
    expect_none(s);
    fog__bs_sess_tick(s, 299); /* late after 2 x 1 x 100 + 100 ms */
    expect_none(s);
    fog__bs_sess_tick(s, 300);
    expect(s, BS_ACT_WANT_BLOCK, Q, b); /* a duplicate: P's ask stays */
    expect_none(s);
    assert_int_equal(asked(s), 2);
    presence(s, R, b, FOG_BITSWAP_HAVE, 301); /* Q's ask is fresh (Q's pace unknown) */
    expect_none(s);
    fog__bs_sess_release(s, block_at(s, Q, b, 350));
    expect(s, BS_ACT_CANCEL, NULL, b);
    expect_none(s);
    assert_int_equal(asked(s), 0);
    assert_null(block_at(s, P, b, 360)); /* the other copy: a duplicate */
    bs_sess_stats st;
    fog__bs_sess_get_stats(s, &st);
    assert_int_equal(st.dup_blocks_in, 1);
    assert_int_equal(st.blocks_in, 2);
    assert_int_equal(st.asks_dup, 1);
    fog__bs_sess_free(s);
}

/* With many wants left, a holder with budget free and nothing else to do takes over an ask that
 * waited a window (100 ms) at a busier peer: the ask moves (cancelled there), at most
 * BS_WANT_MOVES times; later only lateness moves it again. */
static void test_bswap_session_idle_holder_steals(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    size_t b = paced_p(s, 8, 50);
    presence(s, Q, b, FOG_BITSWAP_HAVE, 51);
    expect_none(s); /* the ask at P is 51 ms old */
    fog__bs_sess_tick(s, 99);
    expect_none(s);
    fog__bs_sess_tick(s, 100);
    expect(s, BS_ACT_CANCEL, P, b);
    expect(s, BS_ACT_WANT_BLOCK, Q, b);
    expect_none(s);
    presence(s, R, b, FOG_BITSWAP_HAVE, 101);
    fog__bs_sess_tick(s, 200);
    expect(s, BS_ACT_CANCEL, Q, b);
    expect(s, BS_ACT_WANT_BLOCK, R, b);
    expect_none(s);
    presence(s, T, b, FOG_BITSWAP_HAVE, 201);
    fog__bs_sess_tick(s, 299); /* moved twice: T waits until R's ask is late */
    expect_none(s);
    assert_int_equal(asked(s), 1);
    bs_sess_stats st;
    fog__bs_sess_get_stats(s, &st);
    assert_int_equal(st.asks_dup, 2);
    fog__bs_sess_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bswap_session_broadcast_then_block),
        cmocka_unit_test(test_bswap_session_inflight_fifo),
        cmocka_unit_test(test_bswap_session_dont_have_moves_on),
        cmocka_unit_test(test_bswap_session_stranger_dont_have_kept),
        cmocka_unit_test(test_bswap_session_timeout_and_providers),
        cmocka_unit_test(test_bswap_session_peer_gone),
        cmocka_unit_test(test_bswap_session_budget_grows),
        cmocka_unit_test(test_bswap_session_budget_shrinks),
        cmocka_unit_test(test_bswap_session_budget_large_blocks),
        cmocka_unit_test(test_bswap_session_rarest_first),
        cmocka_unit_test(test_bswap_session_tie_break_seedable),
        cmocka_unit_test(test_bswap_session_endgame_duplicate_cancel),
        cmocka_unit_test(test_bswap_session_progress_keeps_asks),
        cmocka_unit_test(test_bswap_session_pace_delays_duplicates),
        cmocka_unit_test(test_bswap_session_idle_holder_steals),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
