/* multiaddr.h: self-describing network addresses (multiformats/multiaddr README; PROTOCOLS.md 1.5).
 * Binary form: a sequence of components, each a uvarint protocol code (multicodec table.csv)
 * followed by its value: fixed size (ip4 4 bytes, ip6 16, tcp/udp a 2-byte big-endian port),
 * length-prefixed (dns names, /p2p peer ID multihashes, /sni, /certhash) or empty (/quic-v1,
 * /ws, /p2p-circuit...). Text form: "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooW...".
 * A fog_multiaddr is a fixed-size value (no allocation) holding the validated binary form, so it
 * can be copied, compared with fog_multiaddr_eq and kept in tables. Parsers are strict: every
 * component must be one fog knows (FOG_ERR_UNSUPPORTED otherwise), values must have their exact
 * size and valid content, and nothing may follow the last component.
 */
#ifndef FOG_MULTIADDR_H
#define FOG_MULTIADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/util.h"

/* Protocol codes fog understands (multicodec table.csv, tag "multiaddr"). */
enum {
    FOG_MA_IP4 = 0x04,
    FOG_MA_TCP = 0x06,
    FOG_MA_IP6 = 0x29,
    FOG_MA_DNS = 0x35,
    FOG_MA_DNS4 = 0x36,
    FOG_MA_DNS6 = 0x37,
    FOG_MA_DNSADDR = 0x38,
    FOG_MA_UDP = 0x0111,
    FOG_MA_WEBRTC_DIRECT = 0x0118,
    FOG_MA_WEBRTC = 0x0119,
    FOG_MA_P2P_CIRCUIT = 0x0122,
    FOG_MA_P2P = 0x01a5, /* text name "p2p"; "ipfs" is accepted on input (legacy) */
    FOG_MA_HTTPS = 0x01bb,
    FOG_MA_TLS = 0x01c0,
    FOG_MA_SNI = 0x01c1,
    FOG_MA_NOISE = 0x01c6,
    FOG_MA_QUIC = 0x01cc,
    FOG_MA_QUIC_V1 = 0x01cd,
    FOG_MA_WEBTRANSPORT = 0x01d1,
    FOG_MA_CERTHASH = 0x01d2, /* a multihash; text: multibase (fog writes base64url 'u') */
    FOG_MA_WS = 0x01dd,
    FOG_MA_WSS = 0x01de,
    FOG_MA_HTTP = 0x01e0,
};

#define FOG_MULTIADDR_MAX 256      /* bytes of binary form fog holds (go-libp2p addrs are ~50) */
#define FOG_MULTIADDR_NAME_MAX 255 /* longest /dns*, /sni value (a DNS name is at most 253) */
#define FOG_MULTIADDR_STR_MAX 2048 /* longest text fog reads or writes, with the NUL */

typedef struct {
    size_t len; /* bytes in use, 1..FOG_MULTIADDR_MAX once parsed; 0 = empty (never parsed) */
    uint8_t bytes[FOG_MULTIADDR_MAX];
} fog_multiaddr;

/* One component: code and value, the value borrowed from the fog_multiaddr it was read from. */
typedef struct {
    uint64_t code;
    fog_slice value;
} fog_ma_component;

/* Validates exactly len bytes as a binary multiaddr and copies them into out. Errors:
 * FOG_ERR_PROTO (empty input, non-minimal varint, a value that breaks its protocol's rules: a
 * '/' in a DNS name, a bad /p2p multihash), FOG_ERR_TRUNCATED (a value cut short),
 * FOG_ERR_UNSUPPORTED (a protocol code fog does not know), FOG_ERR_LIMIT (more than
 * FOG_MULTIADDR_MAX bytes). out is unchanged on failure. p is borrowed. Sets no detail line: this
 * runs on every address a peer sends. */
FOG_NODISCARD int fog_multiaddr_from_bytes(fog_multiaddr *out, const uint8_t *p, size_t len);
/* Parses text ("/ip4/127.0.0.1/tcp/4001"). IPv4 and IPv6 as inet_pton reads them; ports are
 * decimal 0..65535; /p2p (or legacy /ipfs) takes any peer ID text fog_peer_id_parse reads
 * (base58btc or CIDv1 libp2p-key). Trailing slashes are ignored (as go-multiaddr does). Errors:
 * FOG_ERR_PROTO (no leading '/', empty, a missing or bad value), FOG_ERR_UNSUPPORTED (unknown
 * protocol name), FOG_ERR_LIMIT (text longer than FOG_MULTIADDR_STR_MAX or binary form longer
 * than FOG_MULTIADDR_MAX); each sets a detail line `invalid multiaddr "<text>": <reason>`. */
FOG_NODISCARD int fog_multiaddr_parse(fog_multiaddr *out, const char *s);
/* Canonical text into out (NUL-terminated; FOG_MULTIADDR_STR_MAX is always enough); returns the
 * length or FOG_ERR_LIMIT when cap is too small. /p2p is written as base58btc, ip6 as inet_ntop
 * writes it. ma must have been filled by a fog_multiaddr function. */
int fog_multiaddr_format(const fog_multiaddr *ma, char *out, size_t cap);
/* For logs and messages: a static per-thread buffer, valid until the next call on this thread. */
const char *fog_multiaddr_str(const fog_multiaddr *ma);

bool fog_multiaddr_eq(const fog_multiaddr *a, const fog_multiaddr *b);
/* The text name of a protocol code ("ip4", "quic-v1"), or NULL when fog does not know it. */
const char *fog_multiaddr_proto_name(uint64_t code);

/* Iterates components: *off starts at 0; returns 1 and fills c (value borrowed from ma) while
 * one remains, then 0. ma must be valid (filled by a fog_multiaddr function). */
int fog_multiaddr_next(const fog_multiaddr *ma, size_t *off, fog_ma_component *c);
/* The value of the first component with this code (borrowed from ma); false when none. */
bool fog_multiaddr_find(const fog_multiaddr *ma, uint64_t code, fog_slice *value_out);
/* The first IP component: family 4 or 6 in *family_out and 4 or 16 bytes in ip_out. Returns 0,
 * or FOG_ERR_NOT_FOUND when ma has none. */
FOG_NODISCARD int fog_multiaddr_ip(const fog_multiaddr *ma, int *family_out, uint8_t ip_out[16]);
/* The port of the first component with code (FOG_MA_TCP or FOG_MA_UDP); FOG_ERR_NOT_FOUND. */
FOG_NODISCARD int fog_multiaddr_port(const fog_multiaddr *ma, uint64_t code, uint16_t *port_out);
/* The peer ID of the last /p2p component (borrowed from ma): the one that names the peer at the
 * end of a relay path. FOG_ERR_NOT_FOUND when there is none. */
FOG_NODISCARD int fog_multiaddr_peer_id(const fog_multiaddr *ma, fog_slice *id_out);

/* Appends one component, validating value as fog_multiaddr_from_bytes would (value_len must be
 * the protocol's size, or 0 for a protocol without a value). FOG_ERR_PROTO,
 * FOG_ERR_UNSUPPORTED, FOG_ERR_LIMIT (the result would pass FOG_MULTIADDR_MAX); ma is unchanged
 * on failure. An empty fog_multiaddr (len 0) may be built up this way. value is copied. */
FOG_NODISCARD int fog_multiaddr_push(fog_multiaddr *ma, uint64_t code, const uint8_t *value,
                                     size_t value_len);
/* /ip4/<a>/tcp/<port> or /ip6/<a>/tcp/<port> (family 4 or 6; FOG_ERR_INVALID otherwise). */
FOG_NODISCARD int fog_multiaddr_ip_tcp(fog_multiaddr *out, int family, const uint8_t *ip,
                                       uint16_t port);

#endif
