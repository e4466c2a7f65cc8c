/* yamux.h: the yamux stream multiplexer (/yamux/1.0.0), sans-I/O.
 * Spec: libp2p/specs yamux/README.md (from hashicorp/yamux spec.md); PROTOCOLS.md 3.4.
 * One fog_yamux carries many streams over one secured connection. Every frame starts with a
 * 12-byte big-endian header: version (0), type (0 Data, 1 WindowUpdate, 2 Ping, 3 GoAway), flags
 * (SYN 1, ACK 2, FIN 4, RST 8), stream ID, length. The connection initiator opens odd stream
 * IDs, the responder even ones. Each direction of each stream starts with a 256 KiB window of
 * Data payload bytes; the receiver grants more with WindowUpdate deltas.
 *
 * The caller owns the socket and the clock: it feeds what it read (fog_yamux_feed), drains
 * events (fog_yamux_poll_event), pulls bytes to write (fog_yamux_pull) and arms one timer at
 * fog_yamux_deadline(). Events are queued, never called back.
 *
 * Accepting: a peer's SYN is ACKed by the core at once and gives FOG_YAMUX_EV_OPENED (unless
 * max_streams is reached or we sent GoAway: then the core answers RST and the caller sees
 * nothing). Reading: FOG_YAMUX_EV_DATA lends the bytes received; the receive window is
 * credited back to the peer only when the caller reports, with fog_yamux_consume, that the
 * application drained them. So a slow reader back-pressures its peer instead of making the core
 * buffer without bound, and the core never holds more than one window per stream. Window
 * updates are batched as in go-yamux: one is sent once at least half the window was consumed.
 * Windows do not grow past config.window_bytes (go-yamux's auto-tuning up to 16 MiB is not done).
 *
 * Closing: fog_yamux_close sends FIN after the queued data (half-close: reading goes on);
 * fog_yamux_reset sends RST and forgets the stream at once. A peer's FIN gives EV_FIN; when both
 * directions are finished the stream gives EV_CLOSED and its ID is forgotten. A peer's RST (or a
 * refusal of a stream we opened) gives EV_RESET, after which the ID is forgotten.
 *
 * Errors: a peer breaking the protocol (bad version or type, wrong stream-ID parity, a SYN on an
 * open or reused ID, a frame for a stream never opened, more Data than the window allows, data
 * after FIN, a window overflowing 2^32-1) makes feed fail with FOG_ERR_PROTO and a detail line
 * (fog_err_detail); the core queues GoAway(1) for the caller to flush. That error, like
 * FOG_ERR_NOMEM and FOG_ERR_LIMIT from feed or on_timeout, is fatal: afterwards only fog_yamux_pull
 * (to flush the GoAway) and fog_yamux_free are valid; other calls return the same error.
 */
#ifndef FOG_YAMUX_H
#define FOG_YAMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/util.h"

#define FOG_YAMUX_PROTOCOL_ID "/yamux/1.0.0"
#define FOG_YAMUX_HEADER_LEN 12
/* The initial window of every stream in each direction, fixed by the spec. */
#define FOG_YAMUX_INITIAL_WINDOW (256u * 1024u)
/* Largest window_bytes accepted (go-yamux maxStreamWindow). */
#define FOG_YAMUX_WINDOW_MAX (16u * 1024u * 1024u)
/* Largest Data payload the core writes in one frame (fairness between streams). */
#define FOG_YAMUX_DATA_FRAME_MAX (16u * 1024u)

/* GoAway codes. */
enum { FOG_YAMUX_GOAWAY_NORMAL = 0, FOG_YAMUX_GOAWAY_PROTO = 1, FOG_YAMUX_GOAWAY_INTERNAL = 2 };

typedef struct fog_yamux fog_yamux; /* opaque */

typedef struct {
    bool is_initiator;    /* dialer of the connection: opens odd stream IDs */
    uint32_t max_streams; /* open streams per direction; a peer's SYN beyond it gets RST */
    /* Receive window per stream, announced to the peer in SYN/ACK frames as a delta over the
     * spec's 256 KiB. FOG_YAMUX_INITIAL_WINDOW..FOG_YAMUX_WINDOW_MAX. It also bounds the length
     * of any Data frame accepted. */
    uint32_t window_bytes;
    fog_ms keepalive_ms;    /* ping after this long without input; 0: never ping */
    fog_ms ping_timeout_ms; /* an unanswered ping older than this is fatal (FOG_ERR_TIMEOUT) */
    /* Cap on bytes written with fog_yamux_write and not yet pulled, over all streams; a write
     * past it fails with FOG_ERR_LIMIT (not fatal: write less, pull, retry). */
    size_t max_queued_bytes;
    /* Cap on received bytes held for the caller (not yet consumed), over all streams. A Data
     * frame that would pass it resets its stream (RST, EV_RESET) rather than growing memory. */
    size_t max_buffered_bytes;
    fog_rng rng; /* ping opaque values; fill NULL: a counter */
    fog_log_sink log;
} fog_yamux_config;

typedef enum {
    FOG_YAMUX_EV_OPENED = 1, /* the peer opened stream_id (already ACKed) */
    FOG_YAMUX_EV_DATA,       /* data received on stream_id; see fog_yamux_consume */
    FOG_YAMUX_EV_FIN,        /* the peer half-closed stream_id: no more data will come */
    FOG_YAMUX_EV_CLOSED,     /* both directions finished; stream_id is forgotten */
    FOG_YAMUX_EV_RESET,      /* the peer reset or refused stream_id, or the core reset it
                                (max_buffered_bytes); stream_id is forgotten */
    FOG_YAMUX_EV_GOAWAY,     /* the peer sent GoAway(code): no new streams may be opened */
    FOG_YAMUX_EV_PONG        /* a ping of ours was answered after rtt_ms */
} fog_yamux_ev_kind;

typedef struct {
    fog_yamux_ev_kind kind;
    uint32_t stream_id; /* 0 for GOAWAY and PONG */
    /* EV_DATA: the bytes, lent until the next call on this fog_yamux (copy them). */
    fog_slice data;
    uint32_t code;  /* EV_GOAWAY: the peer's code */
    fog_ms rtt_ms;  /* EV_PONG: round-trip time */
} fog_yamux_event;

/* Responder, max_streams 1000 (go-yamux), window 256 KiB, keepalive 30 s (go-yamux), ping
 * timeout 10 s, max_queued_bytes 4 MiB, max_buffered_bytes 32 MiB, rng NULL, log discards. */
void fog_yamux_config_default(fog_yamux_config *cfg);

/* Creates a session; cfg is copied. Errors: FOG_ERR_INVALID (window_bytes out of range,
 * max_streams 0, a zero cap), FOG_ERR_NOMEM. *out is given: fog_yamux_free. */
FOG_NODISCARD int fog_yamux_new(fog_yamux **out, const fog_yamux_config *cfg);
void fog_yamux_free(fog_yamux *y); /* NULL is a no-op */

/* Consumes all of in (borrowed; no pointer is kept), in any fragmentation. Errors, fatal:
 * FOG_ERR_PROTO (see the top of this file), FOG_ERR_LIMIT (the peer makes us queue more than
 * 64 KiB of control frames without reading them), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_yamux_feed(fog_yamux *y, const uint8_t *in, size_t in_len, fog_ms now);

/* Takes the next queued event into *ev_out; false when none is queued (or after a fatal error).
 * An EV_DATA's bytes are lent until the next call on y. */
bool fog_yamux_poll_event(fog_yamux *y, fog_yamux_event *ev_out);

/* Copies up to cap bytes of output to dst and sets *len_out (0 when nothing can be sent now:
 * nothing queued, or every stream with data has an empty send window). Frames may be split
 * across calls. Returns 0, FOG_ERR_NOMEM (fatal) or, after a fatal error, that error once the
 * GoAway has been flushed. */
FOG_NODISCARD int fog_yamux_pull(fog_yamux *y, uint8_t *dst, size_t cap, size_t *len_out,
                                 fog_ms now);

/* True while fog_yamux_pull would return bytes. */
bool fog_yamux_want_write(const fog_yamux *y);

/* When to call fog_yamux_on_timeout (keepalive ping, ping timeout), or FOG_NEVER. The clock
 * starts with the first feed, pull or on_timeout. */
fog_ms fog_yamux_deadline(const fog_yamux *y);
/* Sends a keepalive ping when due. Errors, fatal: FOG_ERR_TIMEOUT (a ping unanswered for
 * ping_timeout_ms), FOG_ERR_LIMIT, FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_yamux_on_timeout(fog_yamux *y, fog_ms now);

/* Opens a stream: its SYN (a WindowUpdate) is queued at once and data may be written before the
 * peer's ACK. Errors: FOG_ERR_CANCELLED (the peer sent GoAway), FOG_ERR_LIMIT (max_streams of
 * ours open, or the stream IDs are used up), FOG_ERR_NOMEM (fatal). */
FOG_NODISCARD int fog_yamux_open(fog_yamux *y, uint32_t *id_out);

/* Queues len bytes of data (copied) on stream id; they go out as the peer's window allows.
 * Errors: FOG_ERR_NOT_FOUND (no such stream), FOG_ERR_INVALID (already closed by us),
 * FOG_ERR_CANCELLED (reset by the peer), FOG_ERR_LIMIT (past max_queued_bytes; nothing queued),
 * FOG_ERR_NOMEM (fatal). */
FOG_NODISCARD int fog_yamux_write(fog_yamux *y, uint32_t id, const uint8_t *data, size_t len);

/* The application drained n more bytes of what EV_DATA delivered on stream id: their window
 * is credited back (batched). Errors: FOG_ERR_NOT_FOUND (no such stream; ignore it for a
 * stream just closed), FOG_ERR_INVALID (n more than delivered and not yet consumed),
 * FOG_ERR_LIMIT / FOG_ERR_NOMEM (fatal). */
FOG_NODISCARD int fog_yamux_consume(fog_yamux *y, uint32_t id, size_t n);

/* Half-closes stream id: FIN goes out after the data already queued. Reading goes on until
 * the peer's FIN. Errors: FOG_ERR_NOT_FOUND, FOG_ERR_INVALID (closed twice). */
FOG_NODISCARD int fog_yamux_close(fog_yamux *y, uint32_t id);

/* Resets stream id: RST is queued, unsent data dropped and the ID forgotten at once (no event).
 * Errors: FOG_ERR_NOT_FOUND, FOG_ERR_LIMIT / FOG_ERR_NOMEM (fatal). */
FOG_NODISCARD int fog_yamux_reset(fog_yamux *y, uint32_t id);

/* Sends a ping; EV_PONG follows with the round-trip time. Errors: FOG_ERR_EXISTS (a ping is
 * already outstanding), FOG_ERR_LIMIT / FOG_ERR_NOMEM (fatal). */
FOG_NODISCARD int fog_yamux_ping(fog_yamux *y, fog_ms now);

/* Sends GoAway(code): streams open now go on, new SYNs from the peer are refused with RST.
 * Errors: FOG_ERR_INVALID (code > 2, or sent already), FOG_ERR_LIMIT / FOG_ERR_NOMEM (fatal). */
FOG_NODISCARD int fog_yamux_go_away(fog_yamux *y, uint32_t code);

/* Streams currently known (either direction, not yet forgotten). */
size_t fog_yamux_stream_count(const fog_yamux *y);
/* Bytes the peer lets us send on stream id now (0 for an unknown stream). */
uint32_t fog_yamux_send_window(const fog_yamux *y, uint32_t id);
/* Bytes written with fog_yamux_write and not yet pulled, over all streams. */
size_t fog_yamux_queued_bytes(const fog_yamux *y);

#endif
