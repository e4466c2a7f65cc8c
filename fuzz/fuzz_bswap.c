/* fuzz_bswap.c: the bitswap server engine and a client session core fed with whatever a peer may
 * send (libFuzzer). The input is split into bodies at 0xff bytes; each body that
 * fog_bitswap_parse accepts goes, as from one of two peers chosen by its first byte, to the
 * engine (its wantlist) and to a session that wants a few fixed CIDs (its presences and blocks).
 * After each message the engine is drained: every message it writes must frame and parse back,
 * stay under FOG_BITSWAP_MSG_MAX, and the ledgers never hold more than ledger_max entries. The
 * "store" holds a block for every CID whose last digest byte is even (its bytes are that byte
 * repeated; the engine never checks them). The session's counts must add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/bitswap/internal.h"
#include "fog/bitswap.h"
#include "fog/crypto.h"
#include "fog/mf.h"
#include "fuzzlib.h"

static uint8_t blockbuf[3000];

static int lookup(void *ud, const fog_cid *c, fog_slice *out)
{
    (void)ud;
    fog_slice d = fog_cid_digest(c);
    if (d.len == 0 || d.p[d.len - 1] % 2 != 0) {
        return 0;
    }
    *out = fog_slice_make(blockbuf, (size_t)d.p[d.len - 1] * 10);
    return 1;
}

static void drain_engine(bs_engine *e)
{
    bs_ledger *l;
    for (int i = 0; i < 64 && (l = fog__bs_engine_next(e)) != NULL; i++) {
        CHECK(fog__bs_ledger_size(l) <= 16);
        fog_buf out = {0};
        int rc = fog__bs_engine_pull(e, l, &out);
        CHECK(rc >= 0);
        if (rc == 1) {
            fog_slice body;
            size_t used = 0;
            CHECK(fog_bitswap_frame(out.p, out.len, &body, &used) == 1 && used == out.len);
            fog_bitswap_parsed pm;
            /* the store's fake blocks do not hash to their CIDs: parse drops nothing else */
            CHECK(fog_bitswap_parse(&pm, body.p, body.len) == 0);
            fog_bitswap_parsed_clear(&pm);
        }
        fog_buf_clear(&out);
    }
}

static void feed(bs_engine *e, bs_sess *s, const uint8_t *p, size_t len, fog_ms now)
{
    if (len == 0) {
        return;
    }
    const uint8_t *peer = (const uint8_t *)(p[0] % 2 ? "peer-one" : "peer-two");
    fog_bitswap_parsed pm;
    if (fog_bitswap_parse(&pm, p + 1, len - 1) < 0) {
        return;
    }
    bs_ledger *l = fog__bs_engine_ledger(e, peer, 8, true);
    CHECK(l != NULL);
    CHECK(fog__bs_engine_recv(e, l, &pm.msg) == 0);
    for (size_t i = 0; i < pm.msg.n_presences; i++) {
        CHECK(fog__bs_sess_presence(s, peer, 8, &pm.msg.presences[i].cid,
                                    pm.msg.presences[i].type, now) == 0);
    }
    for (size_t i = 0; i < pm.msg.n_blocks; i++) {
        bs_want *w = fog__bs_sess_block(s, peer, 8, &pm.msg.blocks[i].cid, 1, now);
        if (w != NULL) {
            fog__bs_sess_release(s, w);
        }
        fog__bs_engine_stored(e, &pm.msg.blocks[i].cid);
    }
    fog_bitswap_parsed_clear(&pm);
    drain_engine(e);
    fog__bs_sess_tick(s, now);
    fog__bs_sess_activate(s, now);
    bs_act a;
    while (fog__bs_sess_poll(s, &a)) {
        CHECK(a.kind >= BS_ACT_WANT_BLOCK && a.kind <= BS_ACT_PROVIDERS);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        CHECK(fog_crypto_init() == 0);
        init = true;
    }
    bs_engine_config ec = {4096, 16, 1024, lookup, NULL};
    bs_engine *e = NULL;
    CHECK(fog__bs_engine_new(&e, &ec) == 0);
    bs_sess_config sc = {2, 100, 50};
    bs_sess *s = NULL;
    CHECK(fog__bs_sess_new(&s, &sc) == 0);
    CHECK(fog__bs_sess_add_peer(s, (const uint8_t *)"peer-one", 8, 0) == 0);
    for (uint8_t i = 0; i < 4; i++) {
        fog_cid c;
        CHECK(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, &i, 1) == 0);
        CHECK(fog__bs_sess_want(s, &c, 0) != NULL);
    }
    size_t start = 0;
    fog_ms now = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == 0xff) {
            feed(e, s, data + start, i - start, now += 40);
            start = i + 1;
        }
    }
    bs_sess_stats st;
    fog__bs_sess_get_stats(s, &st);
    CHECK(st.wants + st.blocks_in == 4 && st.asked <= 2);
    fog__bs_sess_free(s);
    fog__bs_engine_free(e);
    return 0;
}
