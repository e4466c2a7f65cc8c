/* test_bswap_engine.c: the bitswap server engine (src/bitswap/engine.c), sans-I/O.
 * Ledgers are fed wantlists built here; the store is an in-memory table of blocks whose CIDs are
 * computed with fog_cid_of; every message the engine writes is parsed back with the codec
 * (fog_bitswap_parse, which rehashes every block) and compared with what the spec asks for
 * (ipfs/specs bitswap-protocol.md: want-block -> block, want-have -> HAVE, DONT_HAVE only when
 * send_dont_have), plus boxo's small-block rule and the fair queue's round-robin.
 */
#include "testlib.h"

#include "../../src/bitswap/internal.h"
#include "fog/bitswap.h"
#include "fog/crypto.h"
#include "fog/mf.h"

#define NB 8

typedef struct {
    fog_cid cid[NB];
    uint8_t *data[NB];
    size_t len[NB];
    bool present[NB];
} mstore;

static mstore ms;

static int ms_lookup(void *ud, const fog_cid *c, fog_slice *out)
{
    mstore *m = ud;
    for (size_t i = 0; i < NB; i++) {
        if (m->present[i] && fog_cid_eq(&m->cid[i], c)) {
            *out = fog_slice_make(m->data[i], m->len[i]);
            return 1;
        }
    }
    return 0;
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(fog_crypto_init(), 0);
    for (size_t i = 0; i < NB; i++) {
        ms.len[i] = i == 1 ? 100 : 600u * 1024u; /* block 1 is small */
        ms.data[i] = malloc(ms.len[i]);
        memset(ms.data[i], (int)('a' + i), ms.len[i]);
        assert_int_equal(fog_cid_of(&ms.cid[i], 1, FOG_MC_RAW, FOG_MC_SHA2_256, ms.data[i],
                                    ms.len[i]), 0);
        ms.present[i] = true;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < NB; i++) {
        free(ms.data[i]);
    }
    return 0;
}

static bs_engine *engine(size_t task_bytes, size_t ledger_max)
{
    bs_engine_config cfg = {task_bytes, ledger_max, 1024, ms_lookup, &ms};
    bs_engine *e = NULL;
    assert_int_equal(fog__bs_engine_new(&e, &cfg), 0);
    return e;
}

static fog_bitswap_entry want(size_t i, fog_bitswap_want_type t, bool sdh, bool cancel)
{
    fog_bitswap_entry e;
    memset(&e, 0, sizeof e);
    e.cid = ms.cid[i];
    e.priority = 1;
    e.want_type = t;
    e.send_dont_have = sdh;
    e.cancel = cancel;
    return e;
}

static void recv_list(bs_engine *e, bs_ledger *l, const fog_bitswap_entry *en, size_t n,
                      bool full)
{
    fog_bitswap_msg m = {0};
    m.entries = en;
    m.n_entries = n;
    m.full = full;
    assert_int_equal(fog__bs_engine_recv(e, l, &m), 0);
}

/* Pulls one message for l and parses it into pm (1), or 0 when nothing was written. */
static int pull(bs_engine *e, bs_ledger *l, fog_bitswap_parsed *pm)
{
    fog_buf out = {0};
    int rc = fog__bs_engine_pull(e, l, &out);
    assert_true(rc >= 0);
    if (rc == 1) {
        fog_slice body;
        size_t used;
        assert_int_equal(fog_bitswap_frame(out.p, out.len, &body, &used), 1);
        assert_int_equal(used, out.len);
        assert_true(body.len <= FOG_BITSWAP_MSG_MAX);
        assert_int_equal(fog_bitswap_parse(pm, body.p, body.len), 0);
    }
    fog_buf_clear(&out);
    return rc;
}

static bool has_presence(const fog_bitswap_parsed *pm, size_t i, fog_bitswap_presence_type t)
{
    for (size_t k = 0; k < pm->msg.n_presences; k++) {
        if (fog_cid_eq(&pm->msg.presences[k].cid, &ms.cid[i]) && pm->msg.presences[k].type == t) {
            return true;
        }
    }
    return false;
}

static bool has_block(const fog_bitswap_parsed *pm, size_t i)
{
    for (size_t k = 0; k < pm->msg.n_blocks; k++) {
        if (fog_bitswap_block_matches(&ms.cid[i], &pm->msg.blocks[k])) {
            return true;
        }
    }
    return false;
}

static void test_bswap_engine_answers(void **state)
{
    (void)state;
    bs_engine *e = engine(4u << 20, 100);
    bs_ledger *l = fog__bs_engine_ledger(e, (const uint8_t *)"peerA", 5, true);
    assert_non_null(l);
    ms.present[3] = ms.present[4] = false;
    fog_bitswap_entry en[5] = {
        want(0, FOG_BITSWAP_WANT_BLOCK, false, false), /* present: the block */
        want(2, FOG_BITSWAP_WANT_HAVE, true, false),   /* present, big: HAVE */
        want(3, FOG_BITSWAP_WANT_HAVE, true, false),   /* missing, asked: DONT_HAVE */
        want(4, FOG_BITSWAP_WANT_BLOCK, false, false), /* missing, not asked: silence */
        want(1, FOG_BITSWAP_WANT_HAVE, false, false),  /* present, small: the block itself */
    };
    recv_list(e, l, en, 5, false);
    assert_ptr_equal(fog__bs_engine_next(e), l);
    fog_bitswap_parsed pm;
    assert_int_equal(pull(e, l, &pm), 1);
    assert_int_equal(pm.msg.n_blocks, 2);
    assert_true(has_block(&pm, 0));
    assert_true(has_block(&pm, 1));
    assert_int_equal(pm.msg.n_presences, 2);
    assert_true(has_presence(&pm, 2, FOG_BITSWAP_HAVE));
    assert_true(has_presence(&pm, 3, FOG_BITSWAP_DONT_HAVE));
    fog_bitswap_parsed_clear(&pm);
    /* answered wants left the ledger, but the want-have answered HAVE stays (held: the peer
     * wants block 2 until it cancels it); the two missing ones wait for their blocks */
    assert_int_equal(fog__bs_ledger_size(l), 3);
    assert_null(fog__bs_engine_next(e));
    ms.present[4] = true;
    fog__bs_engine_stored(e, &ms.cid[4]);
    assert_ptr_equal(fog__bs_engine_next(e), l);
    assert_int_equal(pull(e, l, &pm), 1);
    assert_int_equal(pm.msg.n_blocks, 1);
    assert_true(has_block(&pm, 4));
    assert_int_equal(pm.msg.n_presences, 0);
    fog_bitswap_parsed_clear(&pm);
    assert_int_equal(fog__bs_ledger_size(l), 2); /* 3 still missing, 2 held */
    bs_engine_stats st;
    fog__bs_engine_get_stats(e, &st);
    assert_int_equal(st.blocks_sent, 3);
    assert_int_equal(st.haves_sent, 1);
    assert_int_equal(st.dont_haves_sent, 1);
    ms.present[3] = true;
    fog__bs_engine_free(e);
}

static void test_bswap_engine_full_and_cancel(void **state)
{
    (void)state;
    bs_engine *e = engine(4u << 20, 100);
    bs_ledger *l = fog__bs_engine_ledger(e, (const uint8_t *)"peerA", 5, true);
    ms.present[5] = ms.present[6] = ms.present[7] = false;
    fog_bitswap_entry en[3] = {want(5, FOG_BITSWAP_WANT_BLOCK, false, false),
                               want(6, FOG_BITSWAP_WANT_BLOCK, false, false),
                               want(7, FOG_BITSWAP_WANT_BLOCK, false, false)};
    recv_list(e, l, en, 3, false);
    fog_bitswap_parsed pm;
    assert_int_equal(pull(e, l, &pm), 0); /* nothing stored, nothing asked: silence */
    assert_int_equal(fog__bs_ledger_size(l), 3);
    fog_bitswap_entry c = want(6, FOG_BITSWAP_WANT_BLOCK, false, true);
    recv_list(e, l, &c, 1, false);
    assert_int_equal(fog__bs_ledger_size(l), 2);
    recv_list(e, l, &en[0], 1, true); /* a full list of one replaces the three */
    assert_int_equal(fog__bs_ledger_size(l), 1);
    assert_int_equal(pull(e, l, &pm), 0); /* the re-sent want is looked at again: still none */
    ms.present[5] = ms.present[6] = ms.present[7] = true;
    fog__bs_engine_stored(e, &ms.cid[6]);
    fog__bs_engine_stored(e, &ms.cid[7]);
    assert_null(fog__bs_engine_next(e)); /* not wanted any more */
    fog__bs_engine_stored(e, &ms.cid[5]);
    assert_int_equal(pull(e, l, &pm), 1);
    assert_int_equal(pm.msg.n_blocks, 1);
    assert_true(has_block(&pm, 5));
    fog_bitswap_parsed_clear(&pm);
    fog__bs_engine_free(e);
}

static void test_bswap_engine_ledger_max(void **state)
{
    (void)state;
    bs_engine *e = engine(4u << 20, 2);
    bs_ledger *l = fog__bs_engine_ledger(e, (const uint8_t *)"peerA", 5, true);
    ms.present[5] = ms.present[6] = ms.present[7] = false;
    fog_bitswap_entry en[3] = {want(5, FOG_BITSWAP_WANT_BLOCK, false, false),
                               want(6, FOG_BITSWAP_WANT_BLOCK, false, false),
                               want(7, FOG_BITSWAP_WANT_BLOCK, false, false)};
    recv_list(e, l, en, 3, false);
    assert_int_equal(fog__bs_ledger_size(l), 2);
    ms.present[5] = ms.present[6] = ms.present[7] = true;
    fog__bs_engine_free(e);
}

/* Two peers each want four 600 KiB blocks with 1 MiB per turn: one block per message (the
 * second would pass the turn's budget), and the turns alternate between the peers. */
static void test_bswap_engine_round_robin(void **state)
{
    (void)state;
    bs_engine *e = engine(1u << 20, 100);
    bs_ledger *a = fog__bs_engine_ledger(e, (const uint8_t *)"peerA", 5, true);
    bs_ledger *b = fog__bs_engine_ledger(e, (const uint8_t *)"peerB", 5, true);
    fog_bitswap_entry en[4] = {want(4, FOG_BITSWAP_WANT_BLOCK, false, false),
                               want(5, FOG_BITSWAP_WANT_BLOCK, false, false),
                               want(6, FOG_BITSWAP_WANT_BLOCK, false, false),
                               want(7, FOG_BITSWAP_WANT_BLOCK, false, false)};
    recv_list(e, a, en, 4, false);
    recv_list(e, b, en, 4, false);
    bs_ledger *order[8];
    size_t got[2][NB] = {{0}};
    for (size_t i = 0; i < 8; i++) {
        order[i] = fog__bs_engine_next(e);
        assert_non_null(order[i]);
        fog_bitswap_parsed pm;
        assert_int_equal(pull(e, order[i], &pm), 1);
        assert_int_equal(pm.msg.n_blocks, 1);
        for (size_t k = 4; k < 8; k++) {
            got[order[i] == b][k] += has_block(&pm, k) ? 1 : 0;
        }
        fog_bitswap_parsed_clear(&pm);
    }
    for (size_t i = 0; i < 8; i++) {
        assert_ptr_equal(order[i], i % 2 == 0 ? a : b);
    }
    for (size_t k = 4; k < 8; k++) {
        assert_int_equal(got[0][k], 1); /* each peer got each block once */
        assert_int_equal(got[1][k], 1);
    }
    assert_null(fog__bs_engine_next(e));
    /* a blocked peer is skipped until unblocked */
    recv_list(e, a, en, 1, false);
    recv_list(e, b, en, 1, false);
    fog__bs_engine_set_blocked(e, a, true);
    assert_ptr_equal(fog__bs_engine_next(e), b);
    fog_bitswap_parsed pm;
    assert_int_equal(pull(e, b, &pm), 1);
    fog_bitswap_parsed_clear(&pm);
    assert_null(fog__bs_engine_next(e));
    fog__bs_engine_set_blocked(e, a, false);
    assert_ptr_equal(fog__bs_engine_next(e), a);
    fog__bs_engine_drop(e, a);
    assert_null(fog__bs_engine_next(e));
    assert_null(fog__bs_engine_ledger(e, (const uint8_t *)"peerA", 5, false));
    fog__bs_engine_free(e);
}

/* Super-seeding order: the block sent to the fewest peers so far goes first, within a ledger and
 * among ledgers; presences (want-have answers) go before any block. */
static void test_bswap_engine_rarest_first(void **state)
{
    (void)state;
    bs_engine *e = engine(1u << 20, 100);
    bs_ledger *a = fog__bs_engine_ledger(e, (const uint8_t *)"peerA", 5, true);
    bs_ledger *b = fog__bs_engine_ledger(e, (const uint8_t *)"peerB", 5, true);
    bs_ledger *c = fog__bs_engine_ledger(e, (const uint8_t *)"peerC", 5, true);
    fog_bitswap_entry en[3] = {want(4, FOG_BITSWAP_WANT_BLOCK, false, false),
                               want(5, FOG_BITSWAP_WANT_BLOCK, false, false),
                               want(6, FOG_BITSWAP_WANT_BLOCK, false, false)};
    fog_bitswap_parsed pm;
    recv_list(e, a, en, 1, false); /* A wants 4 */
    assert_ptr_equal(fog__bs_engine_next(e), a);
    assert_int_equal(pull(e, a, &pm), 1);
    assert_true(has_block(&pm, 4)); /* 4 went out once */
    fog_bitswap_parsed_clear(&pm);
    /* B wants 4 then 5 (arrival order), C wants 6: B gets 5 first, the block nobody has */
    recv_list(e, b, en, 2, false);
    assert_ptr_equal(fog__bs_engine_next(e), b);
    assert_int_equal(pull(e, b, &pm), 1);
    assert_int_equal(pm.msg.n_blocks, 1);
    assert_true(has_block(&pm, 5));
    fog_bitswap_parsed_clear(&pm);
    /* ring B (wants 4, sent once), then C (wants 6, never sent): C is served first */
    recv_list(e, c, &en[2], 1, false);
    fog__bs_engine_set_blocked(e, b, true);
    fog__bs_engine_set_blocked(e, b, false); /* B back at the ring's head... */
    fog__bs_engine_set_blocked(e, c, true);
    fog__bs_engine_set_blocked(e, c, false); /* ...and C behind it */
    assert_ptr_equal(fog__bs_engine_next(e), c);
    assert_int_equal(pull(e, c, &pm), 1);
    assert_true(has_block(&pm, 6));
    fog_bitswap_parsed_clear(&pm);
    /* a want-have queued after B's want-block: the HAVE goes first; then B's want-block of 4
     * (sent before) is answered with 7, which B wants too and nobody got yet (substitution),
     * and 4 stays queued for the next turn, when no such block is left */
    fog_bitswap_entry wh = want(7, FOG_BITSWAP_WANT_HAVE, true, false);
    recv_list(e, b, &wh, 1, false);
    assert_ptr_equal(fog__bs_engine_next(e), b);
    assert_int_equal(pull(e, b, &pm), 1);
    assert_true(has_presence(&pm, 7, FOG_BITSWAP_HAVE));
    assert_int_equal(pm.msg.n_blocks, 1);
    assert_true(has_block(&pm, 7));
    fog_bitswap_parsed_clear(&pm);
    assert_ptr_equal(fog__bs_engine_next(e), b);
    assert_int_equal(pull(e, b, &pm), 1);
    assert_int_equal(pm.msg.n_blocks, 1);
    assert_true(has_block(&pm, 4));
    fog_bitswap_parsed_clear(&pm);
    assert_null(fog__bs_engine_next(e));
    bs_engine_stats st;
    fog__bs_engine_get_stats(e, &st);
    assert_int_equal(st.blocks_substituted, 1);
    fog__bs_engine_free(e);
}

/* Many small blocks: a message stays within the turn's budget and the 4 MiB limit. */
static void test_bswap_engine_budget(void **state)
{
    (void)state;
    bs_engine *e = engine(1u << 20, 100);
    bs_ledger *a = fog__bs_engine_ledger(e, (const uint8_t *)"peerA", 5, true);
    fog_bitswap_entry en[NB];
    for (size_t i = 0; i < NB; i++) {
        en[i] = want(i, FOG_BITSWAP_WANT_BLOCK, false, false);
    }
    recv_list(e, a, en, NB, false);
    size_t blocks = 0, msgs = 0;
    fog_bitswap_parsed pm;
    while (fog__bs_engine_next(e) != NULL) {
        assert_int_equal(pull(e, a, &pm), 1);
        size_t bytes = 0;
        for (size_t k = 0; k < pm.msg.n_blocks; k++) {
            bytes += pm.msg.blocks[k].data.len;
        }
        assert_true(bytes <= (1u << 20));
        blocks += pm.msg.n_blocks;
        msgs++;
        fog_bitswap_parsed_clear(&pm);
    }
    assert_int_equal(blocks, NB);
    assert_int_equal(msgs, NB - 1); /* the small block 1 rides with block 0 */
    fog__bs_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bswap_engine_answers),
        cmocka_unit_test(test_bswap_engine_full_and_cancel),
        cmocka_unit_test(test_bswap_engine_ledger_max),
        cmocka_unit_test(test_bswap_engine_round_robin),
        cmocka_unit_test(test_bswap_engine_budget),
        cmocka_unit_test(test_bswap_engine_rarest_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
