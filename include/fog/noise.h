/* noise.h: the libp2p Noise secure channel (`/noise`), sans-I/O.
 * Noise_XX_25519_ChaChaPoly_SHA256 (Noise framework rev 34) with the libp2p handshake payload
 * (libp2p/specs noise/README.md): three handshake messages -> e; <- e, ee, s, es + payload;
 * -> s, se + payload, each Noise message behind a 2-byte big-endian length, empty prologue. The
 * payload carries the sender's Ed25519 identity key and its signature over
 * "noise-libp2p-static-key:" || X25519 static key, and the inlined stream-muxer list
 * (libp2p/specs connections/inlined-muxer-negotiation.md). After the handshake every frame is one
 * ChaChaPoly ciphertext of at most 65535 bytes (65519 of plaintext).
 *
 * The core owns no socket and no clock: the caller feeds received bytes, drains events with
 * fog_noise_poll_event and copies output out with fog_noise_pull. The X25519 static and ephemeral
 * keys are drawn from the config's fog_rng when the core is made. The initiator's message 1 is
 * queued by fog_noise_new, so the dialer pulls right after creating it. Noise has no timers: a
 * handshake deadline is the caller's business. Only Ed25519 identity keys are supported for now:
 * a remote with another key type fails with FOG_ERR_UNSUPPORTED.
 *
 * Errors from feed and from fog_noise_write's cipher are fatal: afterwards every call returns the
 * same code and only fog_noise_free is useful.
 */
#ifndef FOG_NOISE_H
#define FOG_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/util.h"

#define FOG_NOISE_PROTOCOL_ID "/noise"
#define FOG_NOISE_MSG_MAX 65535         /* one Noise message (libp2p: 2-byte length) */
#define FOG_NOISE_PLAINTEXT_MAX 65519   /* 65535 - 16-byte Poly1305 tag */
#define FOG_NOISE_PEER_ID_MAX 64        /* longest expected peer ID accepted in the config */
#define FOG_NOISE_MUXERS_MAX 16         /* muxers a config may offer */
#define FOG_NOISE_MUXER_NAME_MAX 128    /* bytes in one muxer protocol ID */

typedef struct fog_noise fog_noise; /* opaque */

typedef struct {
    bool is_initiator; /* the dialer: sends message 1 */
    /* The Ed25519 identity secret (seed || public, include/fog/crypto.h). Borrowed during
     * fog_noise_new, which copies it (and wipes its copy at free). Required. */
    const uint8_t *identity_secret;
    /* The peer ID (binary multihash) the remote must have, or NULL for any. Borrowed during
     * fog_noise_new (copied). A remote whose identity key gives another ID fails with
     * FOG_ERR_AUTH. At most FOG_NOISE_PEER_ID_MAX bytes. */
    const uint8_t *expected_peer_id;
    size_t expected_peer_id_len;
    /* Stream muxers offered in NoiseExtensions, most preferred first ("/yamux/1.0.0"). Borrowed
     * during fog_noise_new (copied). 0 muxers: none offered, the caller falls back to
     * multistream-select. */
    const char *const *muxers;
    size_t muxer_count;
    size_t max_queued_bytes;   /* output not yet pulled; fog_noise_write past it: FOG_ERR_LIMIT */
    size_t max_buffered_bytes; /* plaintext not yet delivered + the frame being received; a peer
                                  that pushes past it gets FOG_ERR_LIMIT (>= 65537) */
    fog_rng rng;               /* required: draws the X25519 static and ephemeral keys */
    fog_log_sink log;
} fog_noise_config;

typedef enum {
    FOG_NOISE_EV_HANDSHAKE_DONE = 1, /* once, before any DATA */
    FOG_NOISE_EV_DATA                /* decrypted transport bytes (a stream: frame edges lost) */
} fog_noise_ev_kind;

typedef struct {
    fog_noise_ev_kind kind;
    /* HANDSHAKE_DONE: the remote's peer ID (binary multihash) and the muxer both sides agreed on
     * inside Noise, or NULL when either side offered none (then negotiate one with
     * multistream-select). Both lent until fog_noise_free. */
    fog_slice peer_id;
    const char *muxer;
    /* DATA: every byte decrypted since the last DATA event; lent until the next fog_noise_feed
     * or fog_noise_poll_event on this fog_noise. */
    fog_slice data;
} fog_noise_event;

/* Defaults: responder, no muxers, 2 MiB output cap, 1 MiB input cap, no rng, no log. */
void fog_noise_config_default(fog_noise_config *cfg);

/* Makes a core and, for the initiator, queues message 1. Errors: FOG_ERR_INVALID (no identity
 * secret or rng, a cap too small, too many or too long muxer names, expected peer ID too long),
 * FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_noise_new(fog_noise **out, const fog_noise_config *cfg);
void fog_noise_free(fog_noise *n); /* NULL is a no-op; wipes keys */

/* Consumes all of in (borrowed during the call; no pointer kept) or fails. Handshake messages
 * are answered by queuing output; transport frames are decrypted and queued as DATA. Fatal
 * errors: FOG_ERR_AUTH (a frame fails its tag, a bad identity signature, a peer ID other than
 * the expected one), FOG_ERR_PROTO (malformed message or payload, a frame too short for its tag,
 * no common stream muxer), FOG_ERR_UNSUPPORTED (identity key not Ed25519), FOG_ERR_LIMIT (input
 * cap, nonce exhausted), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_noise_feed(fog_noise *n, const uint8_t *in, size_t in_len, fog_ms now);

/* The next queued event into *ev_out; false when there is none. */
bool fog_noise_poll_event(fog_noise *n, fog_noise_event *ev_out);

/* Copies up to cap queued output bytes into dst and sets *len_out (0 when nothing is queued).
 * Returns 0, or the fatal error the core died of. */
FOG_NODISCARD int fog_noise_pull(fog_noise *n, uint8_t *dst, size_t cap, size_t *len_out,
                                 fog_ms now);

/* Bytes queued for pull. */
size_t fog_noise_queued(const fog_noise *n);

/* True once the handshake has completed (HANDSHAKE_DONE queued). */
bool fog_noise_is_done(const fog_noise *n);

/* Encrypts len bytes of data (borrowed during the call) into frames of at most
 * FOG_NOISE_PLAINTEXT_MAX plaintext bytes each, queued for pull. Errors: FOG_ERR_INVALID before
 * the handshake is done, FOG_ERR_LIMIT when the frames would take the output past
 * max_queued_bytes (nothing queued, not fatal: pull and retry), FOG_ERR_NOMEM; fatal:
 * FOG_ERR_LIMIT for an exhausted nonce counter. */
FOG_NODISCARD int fog_noise_write(fog_noise *n, const uint8_t *data, size_t len);

/* The zero-copy form of fog_noise_write for one message, used when nothing is queued: the caller
 * put pt_len (1..FOG_NOISE_PLAINTEXT_MAX) plaintext bytes at frame + 2 and has room for
 * pt_len + 18 bytes at frame; this writes the 2-byte length, encrypts in place and appends the
 * tag. The message goes to the socket ahead of anything queued later, so it is refused
 * (FOG_ERR_INVALID, not fatal) while fog_noise_queued is not 0 or before the handshake is
 * done. Fatal: FOG_ERR_LIMIT for an exhausted nonce counter. */
FOG_NODISCARD int fog_noise_seal_frame(fog_noise *n, uint8_t *frame, size_t pt_len);

#endif
