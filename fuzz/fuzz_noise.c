/* fuzz_noise.c: libFuzzer target for the Noise core and the libp2p handshake payload.
 * The first byte picks the mode: the rest is fed as the remote's bytes (2-byte-length framed
 * handshake messages) to a responder (message 1, then whatever follows), to an initiator after
 * it sent message 1 (message 2: the payload decryption and the payload checks behind it), or
 * straight to the payload checker with a fixed static key (the protobuf decoder, key and
 * signature checks and the muxer choice, which the AEAD otherwise hides from the fuzzer). The
 * input goes in two pieces to exercise the framing across feeds. Properties: a failed feed stays
 * failed with the same code; the core never produces more output than its cap.
 */
#include <string.h>

#include "fog/crypto.h"
#include "fog/noise.h"
#include "fuzzlib.h"
#include "net/noise_internal.h"

static void rng(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++) {
        out[i] = (uint8_t)(i * 13 + 7);
    }
}

static void run_core(bool initiator, const uint8_t *data, size_t size)
{
    static const char *const muxers[] = {"/yamux/1.0.0", "/mplex/6.7.0"};
    uint8_t seed[32] = {9}, pub[32], secret[64];
    fog_ed25519_from_seed(seed, pub, secret);
    fog_noise_config cfg;
    fog_noise_config_default(&cfg);
    cfg.is_initiator = initiator;
    cfg.identity_secret = secret;
    cfg.rng.fill = rng;
    cfg.muxers = muxers;
    cfg.muxer_count = 2;
    fog_noise *n = NULL;
    CHECK(fog_noise_new(&n, &cfg) == 0);
    uint8_t out[4096];
    size_t len = 0;
    CHECK(fog_noise_pull(n, out, sizeof out, &len, 0) == 0);
    CHECK(len == (initiator ? 34u : 0u));
    size_t half = size / 2;
    int rc = fog_noise_feed(n, data, half, 0);
    if (rc == 0) {
        rc = fog_noise_feed(n, data + half, size - half, 0);
    }
    fog_noise_event ev;
    while (rc == 0 && fog_noise_poll_event(n, &ev)) {
        CHECK(ev.kind == FOG_NOISE_EV_HANDSHAKE_DONE || ev.kind == FOG_NOISE_EV_DATA);
    }
    if (rc < 0) {
        CHECK(fog_noise_feed(n, data, size, 0) == rc);
    }
    CHECK(fog_noise_queued(n) <= cfg.max_queued_bytes);
    fog_noise_free(n);
}

static void run_payload(const uint8_t *data, size_t size)
{
    static const char *const ours[] = {"/yamux/1.0.0"};
    uint8_t rs[32];
    memset(rs, 0x21, sizeof rs);
    fog__noise_remote rem;
    if (fog__noise_payload_check(data, size, rs, &rem) == 0) {
        CHECK(rem.peer_id_len == 38);
        size_t idx = 0;
        int rc = fog__noise_muxer_choose(true, ours, 1, rem.muxers, rem.muxer_count, &idx);
        CHECK(rc == 0 || rc == FOG_ERR_PROTO || (rc == 1 && idx == 0));
        fog__noise_remote_clear(&rem);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        CHECK(fog_crypto_init() == 0);
        init = true;
    }
    if (size == 0) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        run_core(false, data + 1, size - 1);
        break;
    case 1:
        run_core(true, data + 1, size - 1);
        break;
    default:
        run_payload(data + 1, size - 1);
        break;
    }
    return 0;
}
