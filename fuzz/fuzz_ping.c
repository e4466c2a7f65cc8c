/* fuzz_ping.c: the ping core on arbitrary peer input (libFuzzer).
 * A listener is fed the input in pieces whose sizes come from the input's first byte, pulling
 * after each piece: its output must be exactly the input cut down to whole 32-byte blocks. A
 * dialer with a fixed payload is fed the same input: it must report PONG exactly when the input
 * starts with that payload, and FAILED with FOG_ERR_PROTO otherwise (unless the input is a
 * strict prefix of the payload, which leaves it waiting).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/ping.h"
#include "fuzzlib.h"

static void fill_ab(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    memset(out, 0xab, len);
}

static void listener(const uint8_t *data, size_t size, size_t frag)
{
    fog_ping_config cfg;
    fog_ping_config_default(&cfg);
    cfg.max_queued_bytes = 64 * 1024;
    fog_ping *p = NULL;
    CHECK(fog_ping_new(&p, &cfg) == 0);
    uint8_t *out = malloc(size + 1);
    CHECK(out != NULL);
    size_t out_len = 0;
    for (size_t off = 0; off < size;) {
        size_t n = size - off < frag ? size - off : frag;
        CHECK(fog_ping_feed(p, data + off, n, off) == 0);
        off += n;
        size_t got;
        CHECK(fog_ping_pull(p, out + out_len, size + 1 - out_len, &got, off) == 0);
        out_len += got;
    }
    CHECK(out_len == size / FOG_PING_SIZE * FOG_PING_SIZE);
    CHECK(out_len == 0 || memcmp(out, data, out_len) == 0);
    free(out);
    fog_ping_free(p);
}

static void dialer(const uint8_t *data, size_t size, size_t frag)
{
    fog_ping_config cfg;
    fog_ping_config_default(&cfg);
    cfg.is_dialer = true;
    cfg.rng.fill = fill_ab;
    fog_ping *p = NULL;
    CHECK(fog_ping_new(&p, &cfg) == 0);
    CHECK(fog_ping_send(p, 0) == 0);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0;) {
        size_t n = size - off < frag ? size - off : frag;
        rc = fog_ping_feed(p, data + off, n, 7);
        off += n;
    }
    size_t match = 0;
    while (match < size && match < FOG_PING_SIZE && data[match] == 0xab) {
        match++;
    }
    fog_ping_event ev;
    bool has = fog_ping_poll_event(p, &ev);
    if (match == FOG_PING_SIZE) {
        CHECK(has && ev.kind == FOG_PING_EV_PONG && ev.rtt_ms == 7);
        has = fog_ping_poll_event(p, &ev);
    }
    if (match < size) {
        CHECK(rc == FOG_ERR_PROTO && has && ev.kind == FOG_PING_EV_FAILED);
    } else {
        CHECK(rc == 0 && !has);
    }
    fog_ping_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t frag = (size_t)(data[0] % 40) + 1;
    listener(data + 1, size - 1, frag);
    dialer(data + 1, size - 1, frag);
    return 0;
}
