/* mss.h: multistream-select 1.0, sans-I/O (libp2p/specs connections/README.md,
 * multiformats/multistream-select README.md; PROTOCOLS.md 3.2).
 * One fog_mss negotiates one protocol on one byte stream (a TCP connection before Noise, a
 * secured connection before the muxer, or one yamux stream). Every message is
 *   uvarint(len) text '\n'          len counts the '\n'; at most FOG_MSS_MSG_MAX
 * Both sides first send "/multistream/1.0.0". The dialer then proposes the protocol IDs of its
 * config in order; the listener echoes the first proposal it supports (its own config list) or
 * answers "na". `ls` is not supported: the listener answers it with "na" like any unknown ID.
 *
 * The caller feeds what it read, pulls what to write and drains events: FOG_MSS_EV_NEGOTIATED
 * (the agreed ID) or, on the dialer, FOG_MSS_EV_FAILED (the listener refused every proposal).
 * Bytes that arrived after the last negotiation message belong to the next protocol (Noise and
 * yamux bytes follow at once, because go-libp2p and js-libp2p pipeline): fog_mss_leftover hands
 * them out exactly, and the caller feeds them to the next layer before anything read later.
 *
 * Interop: go-libp2p's dialer writes the header and its proposal in one write and may send
 * protocol data before it reads the echo; the listener here accepts any split of its input.
 * The dialer here also pipelines its header and first proposal unless config.pipeline is false.
 * No timers: negotiation timeouts belong to the caller's connection or stream.
 */
#ifndef FOG_MSS_H
#define FOG_MSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/util.h"

#define FOG_MSS_PROTOCOL_ID "/multistream/1.0.0"
/* Largest message length (the varint's value, text plus '\n'). go-multistream's lpReadBuf
 * rejects a length over 1024 with ErrTooLarge ("incoming message was too large"), so a longer
 * message could never reach a go peer; accepting no more keeps the receive buffer a fixed 1 KiB
 * and lets a varint of more than 2 bytes be refused at once. A protocol ID is therefore at most
 * FOG_MSS_MSG_MAX - 1 bytes. */
#define FOG_MSS_MSG_MAX 1024
/* Most protocol IDs a config may list (dialer proposals or listener supported IDs). */
#define FOG_MSS_PROTOCOLS_MAX 64

typedef struct fog_mss fog_mss;

typedef struct {
    bool is_dialer; /* true: propose (initiator); false: answer (listener) */
    /* Protocol IDs, borrowed during fog_mss_new (which copies them): the dialer's proposals in
     * order of preference, or the IDs the listener supports. 1..FOG_MSS_PROTOCOLS_MAX for a
     * dialer, 0..FOG_MSS_PROTOCOLS_MAX for a listener; each non-empty, at most
     * FOG_MSS_MSG_MAX - 1 bytes and without '\n'. */
    const char *const *protocols;
    size_t n_protocols;
    /* Dialer: send the first proposal together with the header, as go-libp2p does (default
     * true). false: wait for the listener's header first. */
    bool pipeline;
    /* Listener: how many proposals it answers with "na" before it gives up with FOG_ERR_LIMIT
     * (default 16; go-libp2p proposes at most two security and two muxer IDs). */
    uint32_t max_rejects;
    /* Bytes kept after the final message for fog_mss_leftover; more is FOG_ERR_LIMIT (default
     * 256 KiB: one yamux window, and more than a caller's single read). */
    size_t max_leftover_bytes;
    fog_log_sink log;
} fog_mss_config;

typedef enum {
    FOG_MSS_EV_NEGOTIATED = 1, /* protocol agreed; fog_mss_leftover holds what followed */
    FOG_MSS_EV_FAILED          /* dialer: every proposal refused ("na") */
} fog_mss_ev_kind;

typedef struct {
    fog_mss_ev_kind kind;
    /* EV_NEGOTIATED: the agreed ID, NUL-terminated, lent until fog_mss_free, its length, and its
     * position in config.protocols. EV_FAILED: NULL, 0, 0. */
    const char *protocol;
    size_t protocol_len;
    size_t index;
} fog_mss_event;

/* Defaults above; protocols NULL, is_dialer false, log discards. */
void fog_mss_config_default(fog_mss_config *cfg);

/* Creates a negotiation; the header (and, for a pipelining dialer, the first proposal) is
 * ready to pull at once. cfg and its strings are copied. Errors: FOG_ERR_INVALID (a protocol
 * list or ID out of the ranges above), FOG_ERR_NOMEM. *out is given: fog_mss_free. */
FOG_NODISCARD int fog_mss_new(fog_mss **out, const fog_mss_config *cfg);
void fog_mss_free(fog_mss *m); /* NULL is a no-op */

/* Consumes all of in (borrowed; no pointer is kept). Bytes after the final message are copied
 * to the leftover. Errors, fatal (only fog_mss_free is valid afterwards): FOG_ERR_PROTO (bad
 * varint, zero length, no trailing '\n', a header other than /multistream/1.0.0, a dialer
 * receiving a reply that is neither its proposal nor "na"), FOG_ERR_LIMIT (a message over
 * FOG_MSS_MSG_MAX, more than max_rejects refusals, leftover over max_leftover_bytes),
 * FOG_ERR_NOMEM. Once negotiation has ended (NEGOTIATED or FAILED queued), further bytes are
 * appended to the leftover within the same cap. */
FOG_NODISCARD int fog_mss_feed(fog_mss *m, const uint8_t *in, size_t in_len, fog_ms now);

/* Takes the next queued event into *ev_out; false when none is queued. */
bool fog_mss_poll_event(fog_mss *m, fog_mss_event *ev_out);

/* Copies up to cap bytes of pending output to dst and sets *len_out (0 when nothing is
 * pending). Never fails today; returns 0. Valid after negotiation ends: the listener's echo and
 * the dialer's last proposal must still be written. */
FOG_NODISCARD int fog_mss_pull(fog_mss *m, uint8_t *dst, size_t cap, size_t *len_out, fog_ms now);

/* True while output is pending. */
bool fog_mss_want_write(const fog_mss *m);
/* True once NEGOTIATED or FAILED has been queued. */
bool fog_mss_done(const fog_mss *m);

/* The bytes that followed the final negotiation message, lent until the next fog_mss_feed,
 * fog_mss_leftover_clear or fog_mss_free. Empty before negotiation ends. */
fog_slice fog_mss_leftover(const fog_mss *m);
/* Forgets the leftover once the caller has handed it on. */
void fog_mss_leftover_clear(fog_mss *m);

#endif
