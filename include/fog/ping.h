/* ping.h: the libp2p ping protocol on one stream, sans-I/O (/ipfs/ping/1.0.0; libp2p/specs
 * ping/ping.md; PROTOCOLS.md 3.6).
 * The dialer writes 32 random bytes and waits for the same 32 bytes back; the round trip is the
 * time from fog_ping_send to the feed that completes the echo. It may repeat on the same stream,
 * one ping at a time (go-libp2p's Ping loop does the same). The listener echoes every 32-byte
 * block it receives, whatever the split of its input.
 * Timers: a dialer's ping fails when no echo arrives within echo_timeout_ms; a listener fails
 * when no block arrives within idle_timeout_ms (go-libp2p's PingHandler resets the stream after
 * 60 s without a ping). The caller arms one timer at fog_ping_deadline and calls
 * fog_ping_on_timeout. Both failures and a wrong echo queue FOG_PING_EV_FAILED and end the core:
 * the caller resets the stream.
 */
#ifndef FOG_PING_H
#define FOG_PING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/util.h"

#define FOG_PING_PROTOCOL_ID "/ipfs/ping/1.0.0"
#define FOG_PING_SIZE 32 /* bytes per ping (spec) */

typedef struct fog_ping fog_ping;

typedef struct {
    bool is_dialer;
    fog_rng rng;              /* dialer: the ping payloads; must be set for a dialer */
    fog_ms initial_ms;        /* the time of fog_ping_new, like ngtcp2's initial_ts */
    fog_ms echo_timeout_ms;   /* dialer: wait for an echo this long (default 10 s) */
    fog_ms idle_timeout_ms;   /* listener: fail after this long without a block (default 60 s,
                                 go-libp2p's pingTimeout); 0: never */
    size_t max_queued_bytes;  /* listener: echo output not yet pulled; more is FOG_ERR_LIMIT
                                 (default 1 KiB = 32 pings) */
    fog_log_sink log;
} fog_ping_config;

typedef enum {
    FOG_PING_EV_PONG = 1, /* dialer: the echo matched */
    FOG_PING_EV_FAILED    /* wrong echo, or a timeout; the core is finished */
} fog_ping_ev_kind;

typedef struct {
    fog_ping_ev_kind kind;
    fog_ms rtt_ms; /* EV_PONG: from fog_ping_send to the feed that completed the echo */
    uint64_t seq;  /* EV_PONG: 1 for the first ping on this stream, then 2, ... */
    int err;       /* EV_FAILED: FOG_ERR_PROTO (wrong or unsolicited bytes), FOG_ERR_TIMEOUT
                      (no echo / no ping in time) or FOG_ERR_LIMIT (queue cap) */
} fog_ping_event;

/* Defaults above; is_dialer false, rng unset, initial_ms 0, log discards. */
void fog_ping_config_default(fog_ping_config *cfg);

/* Errors: FOG_ERR_INVALID (a dialer without rng.fill), FOG_ERR_NOMEM. cfg is copied. *out is
 * given: fog_ping_free. */
FOG_NODISCARD int fog_ping_new(fog_ping **out, const fog_ping_config *cfg);
void fog_ping_free(fog_ping *p); /* NULL is a no-op */

/* Dialer: draws 32 bytes from the rng and queues them; the echo is due by now +
 * echo_timeout_ms. Errors: FOG_ERR_INVALID (a listener, or a ping already in flight),
 * FOG_ERR_LIMIT (4 PONGs not yet polled), or the failure's code once FAILED is queued. */
FOG_NODISCARD int fog_ping_send(fog_ping *p, fog_ms now);

/* Consumes all of in (borrowed). Dialer: bytes are the echo; a byte that differs, or any byte
 * while no ping is in flight, is FOG_ERR_PROTO. Listener: each complete block is queued for
 * output; FOG_ERR_LIMIT when the queue would pass max_queued_bytes. Every error also queues
 * FAILED with the same code. Once FAILED is queued (error or timeout) only poll_event and free
 * are valid; feed, send and pull then return the failure's code again. */
FOG_NODISCARD int fog_ping_feed(fog_ping *p, const uint8_t *in, size_t in_len, fog_ms now);

/* Takes the next queued event; false when none is queued. At most 4 are queued: fog_ping_send
 * fails with FOG_ERR_LIMIT while 4 PONGs wait to be polled. */
bool fog_ping_poll_event(fog_ping *p, fog_ping_event *ev_out);

/* Copies up to cap pending output bytes to dst and sets *len_out. Returns 0, or the failure's
 * code once FAILED is queued (nothing more should be written: the stream is to be reset). */
FOG_NODISCARD int fog_ping_pull(fog_ping *p, uint8_t *dst, size_t cap, size_t *len_out,
                                fog_ms now);

/* When to call fog_ping_on_timeout, or FOG_NEVER. */
fog_ms fog_ping_deadline(const fog_ping *p);
/* Queues FAILED (err FOG_ERR_TIMEOUT) when the deadline has passed (now >= deadline); otherwise
 * nothing. Returns 0. */
FOG_NODISCARD int fog_ping_on_timeout(fog_ping *p, fog_ms now);

#endif
