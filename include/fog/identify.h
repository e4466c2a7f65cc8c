/* identify.h: the libp2p identify message (/ipfs/id/1.0.0 and /ipfs/id/push/1.0.0).
 * Spec: libp2p/specs identify/README.md; PROTOCOLS.md 3.5; schema in proto/identify.proto.
 * Identify is one message per stream, so this is a codec, not a stateful core: the responder (or
 * pusher) writes fog_identify_encode's bytes and closes its side; the reader collects the stream
 * up to FOG_IDENTIFY_STREAM_MAX bytes until the remote closes, then calls fog_identify_parse.
 * Each message carries a uvarint length prefix (go, js and rust all write one; the spec text
 * omits it). Like go-libp2p, a stream may hold up to FOG_IDENTIFY_MAX_MESSAGES messages of at most
 * FOG_IDENTIFY_MSG_MAX bytes each, merged as protobuf merges them: repeated fields are
 * concatenated, a later singular field replaces an earlier one.
 */
#ifndef FOG_IDENTIFY_H
#define FOG_IDENTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/multiaddr.h"
#include "fog/util.h"

#define FOG_IDENTIFY_PROTO "/ipfs/id/1.0.0"
#define FOG_IDENTIFY_PUSH_PROTO "/ipfs/id/push/1.0.0"
#define FOG_IDENTIFY_PROTOCOL_VERSION "ipfs/0.1.0" /* spec: the current protocol family */
#ifdef FOG_VERSION
#define FOG_IDENTIFY_AGENT "fog/" FOG_VERSION
#else
#define FOG_IDENTIFY_AGENT "fog"
#endif

#define FOG_IDENTIFY_MSG_MAX 8192   /* one message body read (go-libp2p signedIDSize) */
#define FOG_IDENTIFY_OWN_MAX 4096   /* one message body fog writes (go maxOwnIdentifyMsgSize;
                                     * rust-libp2p reads at most 4 KiB) */
#define FOG_IDENTIFY_SPLIT_SIZE 2048 /* past this, a signed peer record goes in a second message
                                      * (go-libp2p legacyIDSize) */
#define FOG_IDENTIFY_MAX_MESSAGES 10 /* go-libp2p maxMessages; more is an error */
/* Bytes a whole identify stream may hold: each message with its 2-byte length prefix. */
#define FOG_IDENTIFY_STREAM_MAX (FOG_IDENTIFY_MAX_MESSAGES * (FOG_IDENTIFY_MSG_MAX + 2))
#define FOG_IDENTIFY_MAX_ADDRS 256     /* listen addresses kept over all messages */
#define FOG_IDENTIFY_MAX_PROTOCOLS 256 /* protocol IDs over all messages */
#define FOG_IDENTIFY_STR_MAX 1024      /* a protocol ID or version string (multistream: 1 KiB) */

/* A message to write (every pointer borrowed for the call) or one parsed (every pointer into
 * the owning fog_identify_parsed). Absent singular fields are NULL / len 0. */
typedef struct {
    fog_slice public_key;                /* a serialized libp2p PublicKey protobuf */
    const fog_multiaddr *listen_addrs;   /* n_listen_addrs of them */
    size_t n_listen_addrs;
    const char *const *protocols;        /* n_protocols NUL-terminated protocol IDs */
    size_t n_protocols;
    const fog_multiaddr *observed_addr;  /* the address the remote is seen from */
    const char *protocol_version;        /* FOG_IDENTIFY_PROTOCOL_VERSION when fog writes */
    const char *agent_version;           /* FOG_IDENTIFY_AGENT when fog writes */
    fog_slice signed_peer_record;        /* a signed envelope, passed through unchecked */
} fog_identify_msg;

/* Appends the length-prefixed message to out, fields in field-number order. When the body with
 * the signed peer record would pass FOG_IDENTIFY_SPLIT_SIZE, the record goes alone in a second
 * length-prefixed message (as go-libp2p does). Errors: FOG_ERR_LIMIT (a message body would pass
 * FOG_IDENTIFY_OWN_MAX, or a string FOG_IDENTIFY_STR_MAX), FOG_ERR_NOMEM; out holds what it held
 * before on failure. m is borrowed for the call. */
FOG_NODISCARD int fog_identify_encode(const fog_identify_msg *m, fog_buf *out);

/* What a stream held, merged. msg's pointers point into memory this struct owns: valid until
 * fog_identify_parsed_clear. */
typedef struct {
    fog_identify_msg msg;
    size_t n_messages;     /* length-prefixed messages read, 0..FOG_IDENTIFY_MAX_MESSAGES */
    size_t addrs_skipped;  /* listen addresses dropped: not parsable by fog_multiaddr_from_bytes */
    bool observed_skipped; /* an observedAddr was sent but could not be parsed */
    void *mem;             /* one block holding every field above */
} fog_identify_parsed;

/* Parses every length-prefixed message in in[0..len) (a whole stream, as read until the remote
 * closed) and merges them into out. A listen address or observed address fog cannot parse is
 * skipped and counted, as go-libp2p skips them; every other rule is strict. Errors:
 * FOG_ERR_TRUNCATED (a message cut short), FOG_ERR_PROTO (bad protobuf wire format, a string
 * with a NUL byte or invalid UTF-8, a wrong wire type for a known field), FOG_ERR_LIMIT (len past
 * FOG_IDENTIFY_STREAM_MAX, a message past FOG_IDENTIFY_MSG_MAX, more than
 * FOG_IDENTIFY_MAX_MESSAGES messages, more than FOG_IDENTIFY_MAX_ADDRS addresses or
 * FOG_IDENTIFY_MAX_PROTOCOLS protocols, a string past FOG_IDENTIFY_STR_MAX), FOG_ERR_NOMEM.
 * Each error sets a detail line. Zero bytes is a valid, empty result. in is borrowed; out is
 * zeroed on failure (clearing it then is harmless). */
FOG_NODISCARD int fog_identify_parse(fog_identify_parsed *out, const uint8_t *in, size_t len);
void fog_identify_parsed_clear(fog_identify_parsed *p); /* NULL-safe; leaves *p zeroed */

#endif
