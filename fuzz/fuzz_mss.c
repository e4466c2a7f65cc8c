/* fuzz_mss.c: multistream-select cores on arbitrary peer input (libFuzzer).
 * The input is fed to a listener and to a pipelining dialer, each twice: in one call and one
 * byte per call. Framing must not depend on how reads split the stream, so both runs must end
 * alike: the same error, the same event, the same output and the same leftover. After a
 * successful run, the leftover is exactly the input's tail after the last negotiation message.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fog/mss.h"
#include "fuzzlib.h"

typedef struct {
    int rc;
    bool has_ev;
    fog_mss_event ev;
    uint8_t out[4096];
    size_t out_len;
    uint8_t left[256];
    size_t left_len; /* the full length; at most sizeof left bytes kept */
} outcome;

static void run(bool dialer, const uint8_t *data, size_t size, bool bytewise, outcome *o)
{
    static const char *const dial_ids[] = {"/tls/1.0.0", "/noise"};
    static const char *const listen_ids[] = {"/noise", "/yamux/1.0.0", "/ipfs/ping/1.0.0"};
    fog_mss_config cfg;
    fog_mss_config_default(&cfg);
    cfg.is_dialer = dialer;
    cfg.protocols = dialer ? dial_ids : listen_ids;
    cfg.n_protocols = dialer ? 2 : 3;
    cfg.max_rejects = 8;
    cfg.max_leftover_bytes = 4096;
    fog_mss *m = NULL;
    CHECK(fog_mss_new(&m, &cfg) == 0);
    memset(o, 0, sizeof *o);
    size_t off = 0;
    do {
        size_t got;
        CHECK(fog_mss_pull(m, o->out + o->out_len, sizeof o->out - o->out_len, &got, 0) == 0);
        o->out_len += got;
        if (off == size || o->rc < 0) {
            break;
        }
        size_t n = bytewise ? 1 : size - off;
        o->rc = fog_mss_feed(m, data + off, n, off);
        off += n;
    } while (true);
    CHECK(!fog_mss_want_write(m)); /* output is bounded well under 4 KiB */
    o->has_ev = fog_mss_poll_event(m, &o->ev);
    CHECK(o->has_ev == fog_mss_done(m));
    fog_slice rest = fog_mss_leftover(m);
    CHECK(rest.len <= size);
    if (o->rc == 0) {
        CHECK(rest.len == 0 || memcmp(rest.p, data + (size - rest.len), rest.len) == 0);
    }
    o->left_len = rest.len;
    if (rest.len > 0) {
        memcpy(o->left, rest.p, rest.len < sizeof o->left ? rest.len : sizeof o->left);
    }
    if (o->has_ev && o->ev.kind == FOG_MSS_EV_NEGOTIATED) {
        CHECK(o->ev.index < cfg.n_protocols);
        CHECK(strcmp(o->ev.protocol, cfg.protocols[o->ev.index]) == 0);
    }
    fog_mss_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static outcome whole, bytes;
    for (int dialer = 0; dialer <= 1; dialer++) {
        run(dialer != 0, data, size, false, &whole);
        run(dialer != 0, data, size, true, &bytes);
        CHECK(whole.rc == bytes.rc && whole.has_ev == bytes.has_ev);
        CHECK(!whole.has_ev || whole.ev.kind == bytes.ev.kind);
        CHECK(!whole.has_ev || whole.ev.index == bytes.ev.index);
        CHECK(whole.out_len == bytes.out_len && memcmp(whole.out, bytes.out, whole.out_len) == 0);
        if (whole.rc == 0) { /* a failed run keeps what came before the failure */
            CHECK(whole.left_len == bytes.left_len);
            CHECK(memcmp(whole.left, bytes.left, sizeof whole.left) == 0);
        }
    }
    return 0;
}
