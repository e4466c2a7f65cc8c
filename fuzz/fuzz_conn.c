/* fuzz_conn.c: the libp2p connection core (src/net/conn.c, conn_stream.c) fed arbitrary bytes
 * as the remote side of a listener connection (libFuzzer).
 * The first input byte picks the piece size the rest is fed in, whether a valid dialer prefix
 * (the multistream header and "/noise", as a real fog_conn dialer writes them) comes first so
 * that the input reaches the Noise responder, and whether the listener serves protocols and
 * offers muxers in Noise. Between pieces the target drains events, pulls output and advances the
 * clock past the handshake deadline now and then. Properties checked: a failing feed queues
 * exactly one CLOSED carrying the same code and leaves the core dead (the same code again, no
 * deadline); no event but CLOSED before CONNECTED (a remote without our keys cannot finish
 * Noise).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/conn.h"
#include "fog/crypto.h"
#include "fuzzlib.h"

static void rng_fill(void *ctx, uint8_t *out, size_t len)
{
    uint64_t *s = ctx;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(*s >> 56);
    }
}

static const char *const protos[] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"};

static void make(fog_conn **c, bool dialer, uint8_t mode, uint64_t *seed, uint8_t secret[64])
{
    uint8_t sd[32], pub[32];
    memset(sd, dialer ? 1 : 2, sizeof sd);
    fog_ed25519_from_seed(sd, pub, secret);
    fog_conn_config cfg;
    fog_conn_config_default(&cfg);
    cfg.is_dialer = dialer;
    cfg.identity_secret = secret;
    cfg.rng.fill = rng_fill;
    cfg.rng.ctx = seed;
    cfg.protocols = (mode & 4) != 0 ? protos : NULL;
    cfg.n_protocols = (mode & 4) != 0 ? 2 : 0;
    cfg.muxer_count = (mode & 8) != 0 ? 0 : 1;
    CHECK(fog_conn_new(c, &cfg) == 0);
}

/* Returns the number of CLOSED events seen. */
static int drain(fog_conn *c, int *closed_err)
{
    int closed = 0;
    fog_conn_event ev;
    while (fog_conn_poll_event(c, &ev)) {
        CHECK(ev.kind == FOG_CONN_EV_CLOSED);
        CHECK(ev.error < 0 && ev.detail != NULL);
        *closed_err = ev.error;
        closed++;
    }
    return closed;
}

static void pull_all(fog_conn *c, fog_ms now)
{
    uint8_t out[4096];
    size_t n;
    do {
        if (fog_conn_pull(c, out, sizeof out, &n, now) < 0) {
            return;
        }
    } while (n > 0);
}

static int feed(fog_conn *l, const uint8_t *p, size_t n, fog_ms now)
{
    int rc = fog_conn_feed(l, p, n, now);
    int err = 0;
    int closed = drain(l, &err);
    if (rc < 0) {
        CHECK(closed == 1 && err == rc);
        CHECK(fog_conn_feed(l, p, n, now) == rc);
        CHECK(fog_conn_deadline(l) == FOG_NEVER);
    } else {
        CHECK(closed == 0);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        CHECK(fog_crypto_init() == 0);
        init = true;
    }
    if (size < 1) {
        return 0;
    }
    uint8_t mode = data[0];
    uint64_t seed = 7;
    uint8_t secret[64];
    fog_conn *l = NULL;
    make(&l, false, mode, &seed, secret);
    fog_ms now = 0;
    pull_all(l, now);
    int rc = 0;
    if ((mode & 1) != 0) { /* a real dialer's first bytes */
        fog_conn *d = NULL;
        uint64_t dseed = 9;
        uint8_t dsecret[64], buf[256];
        make(&d, true, 0, &dseed, dsecret);
        size_t n = 0;
        CHECK(fog_conn_pull(d, buf, sizeof buf, &n, now) == 0);
        rc = feed(l, buf, n, now);
        fog_conn_free(d);
    }
    size_t piece = (size_t)(mode >> 4) * 11 + 1;
    for (size_t off = 1; off < size && rc == 0;) {
        size_t k = size - off < piece ? size - off : piece;
        rc = feed(l, data + off, k, now);
        pull_all(l, now);
        if ((data[off] & 0x3f) == 0x3f && rc == 0) {
            now += 6000;
            int trc = fog_conn_on_timeout(l, now);
            int err = 0;
            CHECK(drain(l, &err) == (trc < 0 ? 1 : 0));
            rc = trc;
        }
        off += k;
    }
    fog_conn_free(l);
    return 0;
}
