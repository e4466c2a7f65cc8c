/* fuzz_yamux.c: the yamux core (src/net/yamux.c) fed arbitrary frames (libFuzzer).
 * The first input byte picks the role (dialer or listener), a small window or none, whether
 * received data is consumed, and the size of the pieces the rest is fed in. Between pieces the
 * target drains events, pulls output, and sometimes opens, writes, closes or resets a stream or
 * advances the clock, so that the peer's frames meet streams in every state. Properties checked:
 * a failing feed leaves a fatal session whose output ends with a GoAway; events name streams of
 * the right kind; the core never hands out more data than one window per stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/yamux.h"
#include "fuzzlib.h"

static void drain(fog_yamux *y, bool consume, uint32_t *last_id)
{
    fog_yamux_event ev;
    while (fog_yamux_poll_event(y, &ev)) {
        CHECK(ev.kind >= FOG_YAMUX_EV_OPENED && ev.kind <= FOG_YAMUX_EV_PONG);
        if (ev.kind == FOG_YAMUX_EV_GOAWAY || ev.kind == FOG_YAMUX_EV_PONG) {
            CHECK(ev.stream_id == 0);
            continue;
        }
        CHECK(ev.stream_id != 0);
        *last_id = ev.stream_id;
        if (ev.kind == FOG_YAMUX_EV_DATA) {
            CHECK(ev.data.len > 0 && ev.data.len <= FOG_YAMUX_WINDOW_MAX);
            volatile uint8_t sink = ev.data.p[ev.data.len - 1];
            (void)sink;
            if (consume) {
                CHECK(fog_yamux_consume(y, ev.stream_id, ev.data.len) == 0);
            }
        }
    }
}

static void pull_all(fog_yamux *y, fog_ms now)
{
    uint8_t out[4096];
    size_t n;
    do {
        if (fog_yamux_pull(y, out, sizeof out, &n, now) < 0) {
            return;
        }
    } while (n > 0);
}

/* One action of ours between pieces of input, chosen by a byte. */
static void act(fog_yamux *y, uint8_t b, uint32_t *last_id, fog_ms *now)
{
    static const uint8_t payload[300] = {1, 2, 3};
    uint32_t id;
    switch (b % 8) {
    case 0:
        if (fog_yamux_open(y, &id) == 0) {
            *last_id = id;
        }
        break;
    case 1:
        (void)fog_yamux_write(y, *last_id, payload, (size_t)b + 1); /* may be refused */
        break;
    case 2:
        (void)fog_yamux_close(y, *last_id);
        break;
    case 3:
        (void)fog_yamux_reset(y, *last_id);
        break;
    case 4:
        *now += (fog_ms)b * 300;
        (void)fog_yamux_on_timeout(y, *now);
        break;
    case 5:
        (void)fog_yamux_ping(y, *now);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    uint8_t mode = data[0];
    fog_yamux_config cfg;
    fog_yamux_config_default(&cfg);
    cfg.is_initiator = (mode & 1) != 0;
    cfg.max_streams = (mode & 2) != 0 ? 3 : 1000;
    cfg.max_buffered_bytes = (mode & 4) != 0 ? 300000 : cfg.max_buffered_bytes;
    cfg.keepalive_ms = 1000;
    bool consume = (mode & 8) != 0;
    size_t piece = (size_t)(mode >> 4) * 7 + 1;
    fog_yamux *y = NULL;
    CHECK(fog_yamux_new(&y, &cfg) == 0);
    fog_ms now = 0;
    uint32_t last_id = 1;
    size_t off = 1;
    while (off < size) {
        size_t k = size - off < piece ? size - off : piece;
        int rc = fog_yamux_feed(y, data + off, k, now);
        if (rc < 0) {
            /* FOG_ERR_TIMEOUT: an earlier on_timeout found a ping unanswered. */
            CHECK(rc == FOG_ERR_PROTO || rc == FOG_ERR_LIMIT || rc == FOG_ERR_TIMEOUT);
            CHECK(fog_yamux_deadline(y) == FOG_NEVER);
            CHECK(fog_yamux_feed(y, data, 1, now) == rc);
            pull_all(y, now);
            break;
        }
        drain(y, consume, &last_id);
        act(y, data[off], &last_id, &now);
        drain(y, consume, &last_id);
        pull_all(y, now);
        off += k;
    }
    fog_yamux_free(y);
    return 0;
}
