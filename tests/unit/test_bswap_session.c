/* test_bswap_session.c: the bitswap client session core (src/bitswap/session.c), sans-I/O.
 * The tests play the peers: they feed presences, blocks, peer arrivals and departures and the
 * time, and check the actions the core queues against the behaviour bswap.h promises (want-have
 * to everyone when no peer is known, want-block to a peer that has the block, the next peer on
 * DONT_HAVE or timeout, a provider search after provider_delay_ms, at most `inflight` active
 * wants served in FIFO order, blocks accepted from any peer).
 */
#include "testlib.h"

#include "../../src/bitswap/internal.h"
#include "fog/crypto.h"
#include "fog/mf.h"

#define P "peerP"
#define Q "peerQ"
#define R "peerR"

static fog_cid cids[8];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(fog_crypto_init(), 0);
    for (size_t i = 0; i < 8; i++) {
        uint8_t b = (uint8_t)i;
        assert_int_equal(fog_cid_of(&cids[i], 1, FOG_MC_RAW, FOG_MC_SHA2_256, &b, 1), 0);
    }
    return 0;
}

static bs_sess *sess(size_t inflight)
{
    bs_sess_config cfg = {inflight, 1000, 300};
    bs_sess *s = NULL;
    assert_int_equal(fog__bs_sess_new(&s, &cfg), 0);
    return s;
}

/* Expects exactly one queued action and checks it. peer NULL: a broadcast. */
static void expect(bs_sess *s, bs_act_kind kind, const char *peer, size_t cid)
{
    bs_act a;
    assert_true(fog__bs_sess_poll(s, &a));
    assert_int_equal(a.kind, kind);
    if (peer == NULL) {
        assert_int_equal(a.peer_len, 0);
    } else {
        assert_int_equal(a.peer_len, strlen(peer));
        assert_memory_equal(a.peer, peer, a.peer_len);
    }
    assert_true(fog_cid_eq(&a.cid, &cids[cid]));
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

static bs_want *block(bs_sess *s, const char *p, size_t i)
{
    return fog__bs_sess_block(s, (const uint8_t *)p, strlen(p), &cids[i], 10);
}

static void test_bswap_session_broadcast_then_block(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    assert_non_null(fog__bs_sess_want(s, &cids[0], 0));
    expect_none(s); /* nothing goes out before activation */
    fog__bs_sess_activate(s, 0);
    expect(s, BS_ACT_WANT_HAVE, NULL, 0);
    expect_none(s);
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
    expect(s, BS_ACT_CANCEL, NULL, 0); /* the broadcast want-have is withdrawn */
    expect_none(s);                    /* P sent it: no cancel to P */
    assert_null(block(s, P, 0));       /* twice: a duplicate */
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
    expect(s, BS_ACT_WANT_BLOCK, P, 0);
    expect(s, BS_ACT_WANT_BLOCK, P, 1);
    expect_none(s);
    fog__bs_sess_release(s, block(s, P, 1)); /* out of order is fine */
    fog__bs_sess_activate(s, 1);
    expect(s, BS_ACT_WANT_BLOCK, P, 2);
    expect_none(s);
    /* a block from a peer outside the session is taken, and P is told to cancel */
    fog__bs_sess_release(s, block(s, R, 0));
    expect(s, BS_ACT_CANCEL, P, 0);
    fog__bs_sess_activate(s, 2);
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
    assert_non_null(fog__bs_sess_want(s, &cids[0], 0));
    assert_non_null(fog__bs_sess_want(s, &cids[1], 0));
    fog__bs_sess_activate(s, 0);
    /* spread by fewest outstanding: one want-block each */
    bs_act a1, a2;
    assert_true(fog__bs_sess_poll(s, &a1));
    assert_true(fog__bs_sess_poll(s, &a2));
    expect_none(s);
    assert_int_equal(a1.kind, BS_ACT_WANT_BLOCK);
    assert_int_equal(a2.kind, BS_ACT_WANT_BLOCK);
    assert_memory_not_equal(a1.peer, a2.peer, 5);
    const char *first = memcmp(a1.peer, P, 5) == 0 ? P : Q;
    const char *other = strcmp(first, P) == 0 ? Q : P;
    presence(s, first, 0, FOG_BITSWAP_DONT_HAVE, 5);
    expect(s, BS_ACT_WANT_BLOCK, other, 0);
    presence(s, other, 0, FOG_BITSWAP_DONT_HAVE, 6);
    expect(s, BS_ACT_WANT_HAVE, NULL, 0); /* nobody left: ask everyone */
    expect_none(s);
    presence(s, R, 0, FOG_BITSWAP_HAVE, 7); /* a stranger has it: it joins */
    expect(s, BS_ACT_WANT_BLOCK, R, 0);
    expect_none(s);
    fog__bs_sess_free(s);
}

static void test_bswap_session_timeout_and_providers(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    add_peer(s, P, 0);
    assert_non_null(fog__bs_sess_want(s, &cids[0], 0));
    fog__bs_sess_activate(s, 0);
    expect(s, BS_ACT_WANT_BLOCK, P, 0);
    fog__bs_sess_tick(s, 999);
    expect_none(s); /* not yet: the timeout is 1000 ms */
    add_peer(s, Q, 999);
    expect_none(s); /* the want is asked already */
    fog__bs_sess_tick(s, 1000);
    expect(s, BS_ACT_WANT_BLOCK, Q, 0);
    expect_none(s);
    fog__bs_sess_tick(s, 2000);
    expect(s, BS_ACT_WANT_HAVE, NULL, 0);
    expect(s, BS_ACT_PROVIDERS, NULL, 0); /* active 2000 ms >= 300 ms, nobody has it */
    expect_none(s);
    fog__bs_sess_tick(s, 2500);
    expect_none(s); /* providers are asked once */
    fog__bs_sess_tick(s, 3000);
    /* everyone failed it a timeout ago: the want starts over with the session's peers */
    bs_act a;
    assert_true(fog__bs_sess_poll(s, &a));
    assert_int_equal(a.kind, BS_ACT_WANT_BLOCK);
    expect_none(s);
    fog__bs_sess_free(s);
}

static void test_bswap_session_peer_gone(void **state)
{
    (void)state;
    bs_sess *s = sess(8);
    add_peer(s, P, 0);
    assert_non_null(fog__bs_sess_want(s, &cids[0], 0));
    fog__bs_sess_activate(s, 0);
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
    expect(s, BS_ACT_WANT_HAVE, NULL, 0);
    /* dropping the want withdraws the broadcast */
    fog__bs_sess_drop(s, fog__bs_sess_find(s, &cids[0]));
    expect(s, BS_ACT_CANCEL, NULL, 0);
    expect_none(s);
    fog__bs_sess_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bswap_session_broadcast_then_block),
        cmocka_unit_test(test_bswap_session_inflight_fifo),
        cmocka_unit_test(test_bswap_session_dont_have_moves_on),
        cmocka_unit_test(test_bswap_session_timeout_and_providers),
        cmocka_unit_test(test_bswap_session_peer_gone),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
