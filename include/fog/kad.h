/* kad.h: the Kademlia DHT wire messages (/ipfs/kad/1.0.0) and the DHT's key space.
 * Specs: libp2p/specs kad-dht/README.md, ipfs/specs src/routing/kad-dht.md; PROTOCOLS.md 3.7;
 * schema in proto/kad.proto (field numbers of go-libp2p-kad-dht pb/dht.proto and
 * go-libp2p-record pb/record.proto).
 * This is a codec, not a stateful core. A stream carries request/response pairs, each message a
 * uvarint length prefix and at most FOG_KAD_MSG_MAX bytes of protobuf: fog_kad_frame_next splits
 * received bytes into messages, fog_kad_parse decodes one, fog_kad_check_request says whether a
 * request holds what its type needs, fog_kad_encode writes one with its prefix.
 * Keys: the DHT places everything in a 256-bit XOR space at SHA-256 of its key bytes (a peer ID's
 * multihash, a content multihash (not the CID), or a record key such as "/ipns/<peer ID>").
 */
#ifndef FOG_KAD_H
#define FOG_KAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/multiaddr.h"
#include "fog/util.h"

#define FOG_KAD_PROTOCOL "/ipfs/kad/1.0.0"
#define FOG_KAD_K 20                 /* bucket size and replication (spec k) */
#define FOG_KAD_MSG_MAX (4u << 20)   /* one message body (go-libp2p network.MessageSizeMax) */
#define FOG_KAD_KEY_LEN 32           /* a position in the XOR space: SHA-256 */
#define FOG_KAD_KEY_MAX 256          /* message and record keys; /ipns/ and /pk/ keys are < 64 */
#define FOG_KAD_PROVIDER_KEY_MAX 80  /* GET_PROVIDERS / ADD_PROVIDER key (go handlers.go) */
#define FOG_KAD_TIME_MAX 128         /* Record.timeReceived; go writes RFC 3339 with ns (~35) */
/* closerPeers entries in one message. A server answers with k = 20; 64 leaves room for a peer
 * that adds the target (go's FIND_NODE prepends it) or uses a larger bucket size. More is an
 * error: no honest server sends them. */
#define FOG_KAD_PEERS_MAX 64
/* providerPeers entries kept from one message. go-libp2p-kad-dht puts every provider it has into
 * a GET_PROVIDERS answer, up to 4 MiB, so past this cap entries are dropped and counted rather
 * than failing the answer. */
#define FOG_KAD_PROVIDERS_MAX 256
/* Addresses kept per peer. go trims a peer record to 8 KiB (pb MaxPeerRecordSize) by dropping
 * trailing addresses; fog keeps the first 32 (kubo nodes announce 5 to 20) and counts the rest. */
#define FOG_KAD_ADDRS_MAX 32

typedef enum {
    FOG_KAD_PUT_VALUE = 0,
    FOG_KAD_GET_VALUE = 1,
    FOG_KAD_ADD_PROVIDER = 2,
    FOG_KAD_GET_PROVIDERS = 3,
    FOG_KAD_FIND_NODE = 4,
    FOG_KAD_PING = 5, /* deprecated; go still echoes it */
} fog_kad_type;

typedef enum {
    FOG_KAD_NOT_CONNECTED = 0,
    FOG_KAD_CONNECTED = 1,
    FOG_KAD_CAN_CONNECT = 2,
    FOG_KAD_CANNOT_CONNECT = 3,
} fog_kad_conn;

/* A peer in closerPeers or providerPeers. */
typedef struct {
    fog_slice id;                /* binary peer ID; parsed ones pass fog_peer_id_check */
    const fog_multiaddr *addrs;  /* n_addrs of them, 0..FOG_KAD_ADDRS_MAX */
    size_t n_addrs;
    fog_kad_conn connection;     /* a value outside the enum reads as NOT_CONNECTED (as go) */
} fog_kad_peer;

/* A value record (go-libp2p-record Record). Empty slices are absent fields. */
typedef struct {
    fog_slice key;            /* 0..FOG_KAD_KEY_MAX bytes */
    fog_slice value;
    fog_slice time_received;  /* RFC 3339 text, UTF-8 (not checked further), no NUL byte */
} fog_kad_record;

/* A message to write (every pointer borrowed for the call) or one parsed (every pointer into
 * the owning fog_kad_parsed). */
typedef struct {
    fog_kad_type type;
    int32_t cluster_level_raw;  /* unused by the protocol; go writes 1 and echoes it back */
    fog_slice key;              /* 0..FOG_KAD_KEY_MAX bytes; empty = absent */
    bool has_record;
    fog_kad_record record;      /* meaningful when has_record */
    const fog_kad_peer *closer; /* n_closer of them, 0..FOG_KAD_PEERS_MAX */
    size_t n_closer;
    const fog_kad_peer *providers; /* n_providers of them, 0..FOG_KAD_PROVIDERS_MAX */
    size_t n_providers;
} fog_kad_msg;

/* A parsed message and what was left out of it. */
typedef struct {
    fog_kad_msg msg;
    size_t peers_bad;        /* peers dropped because their ID failed fog_peer_id_check */
    size_t peers_dropped;    /* providerPeers entries past FOG_KAD_PROVIDERS_MAX */
    size_t addrs_skipped;    /* addresses fog_multiaddr_from_bytes refused (kept peers only) */
    size_t addrs_dropped;    /* addresses past FOG_KAD_ADDRS_MAX on one peer */
    void *mem;               /* one block holding everything msg points to */
} fog_kad_parsed;

/* Splits a received byte stream: when in[0..len) starts with a whole length-prefixed message,
 * sets *msg_out to its body (borrowed from in), *used_out to the bytes it takes with its prefix,
 * and returns 1. Returns 0 (outputs untouched) when more bytes are needed. Errors, on which the
 * stream must be reset: FOG_ERR_LIMIT (the prefix announces more than FOG_KAD_MSG_MAX; known as
 * soon as the prefix is, before any of the body has arrived), FOG_ERR_PROTO (a non-minimal
 * prefix). Each error sets a detail line. A zero-length body is a valid (empty) message. */
FOG_NODISCARD int fog_kad_frame_next(const uint8_t *in, size_t len, fog_slice *msg_out,
                                     size_t *used_out);

/* Decodes one message body (without its prefix) into out. Strict protobuf: a known field with
 * the wrong wire type, a singular field given twice, a field number 0, groups, a message type
 * outside the enum, a clusterLevelRaw outside int32 or a timeReceived that is not UTF-8 without
 * NUL are errors; unknown fields are skipped. Leniency where go is lenient: a peer whose ID does
 * not pass fog_peer_id_check is dropped (peers_bad), an address fog cannot parse is skipped
 * (addrs_skipped), addresses past FOG_KAD_ADDRS_MAX and providers past FOG_KAD_PROVIDERS_MAX are
 * dropped and counted. Errors: FOG_ERR_TRUNCATED (a field cut short), FOG_ERR_PROTO,
 * FOG_ERR_LIMIT (len past FOG_KAD_MSG_MAX, a key past FOG_KAD_KEY_MAX, a timeReceived past
 * FOG_KAD_TIME_MAX, more than FOG_KAD_PEERS_MAX closerPeers), FOG_ERR_NOMEM; each sets a detail
 * line. Every limit is checked before anything is allocated. in is borrowed; out is zeroed on
 * failure (clearing it then is harmless). */
FOG_NODISCARD int fog_kad_parse(fog_kad_parsed *out, const uint8_t *in, size_t len);
void fog_kad_parsed_clear(fog_kad_parsed *p); /* NULL-safe; leaves *p zeroed */

/* Says whether a request (a message a server received) holds what its type needs, after
 * go-libp2p-kad-dht handlers.go and the IPFS record validators:
 *  FIND_NODE: a non-empty key (any bytes: go does not check it is a peer ID).
 *  GET_PROVIDERS, ADD_PROVIDER: a key of 1..FOG_KAD_PROVIDER_KEY_MAX bytes that is exactly one
 *    multihash (go checks only the length); ADD_PROVIDER also at least one providerPeers entry
 *    (the caller keeps only the one whose ID is the sender's, with addresses).
 *  GET_VALUE, PUT_VALUE: a key "/ipns/<peer ID>" or "/pk/<peer ID>" (the rest passing
 *    fog_peer_id_check); PUT_VALUE also a record whose key equals the message key.
 *  PING: anything.
 * Errors: FOG_ERR_PROTO (a key missing or malformed, no provider, no record, a record key that
 * differs), FOG_ERR_LIMIT (a provider key longer than 80 bytes), FOG_ERR_UNSUPPORTED (a record
 * namespace other than /ipns/ and /pk/, or a type outside the enum); each sets a detail line. */
FOG_NODISCARD int fog_kad_check_request(const fog_kad_msg *m);

/* Appends uvarint(body length) and the body to out. Fields in field-number order; as go's proto3
 * writer does, zero values are left out (type PUT_VALUE, an empty key, connection
 * NOT_CONNECTED, clusterLevelRaw 0, empty record fields); a record with has_record is always
 * written, even empty. Errors: FOG_ERR_LIMIT (a key past FOG_KAD_KEY_MAX, a timeReceived past
 * FOG_KAD_TIME_MAX, more than FOG_KAD_PEERS_MAX closer peers, FOG_KAD_PROVIDERS_MAX providers or
 * FOG_KAD_ADDRS_MAX addresses on a peer, a body past FOG_KAD_MSG_MAX), FOG_ERR_INVALID (a type or
 * connection outside its enum), FOG_ERR_NOMEM; out holds what it held before on failure. m is
 * borrowed for the call; peer IDs and addresses are written as given. */
FOG_NODISCARD int fog_kad_encode(const fog_kad_msg *m, fog_buf *out);

/* The name of a type ("FIND_NODE"), or "UNKNOWN". */
const char *fog_kad_type_name(fog_kad_type t);

/* Keys in the XOR space: SHA-256 of the bytes. For a peer, its binary peer ID; for content, the
 * multihash of its CID; for a value record, the record key. Inputs are borrowed. */
void fog_kad_key(const uint8_t *p, size_t len, uint8_t out[FOG_KAD_KEY_LEN]);
void fog_kad_key_for_peer(const uint8_t *id, size_t len, uint8_t out[FOG_KAD_KEY_LEN]);
void fog_kad_key_for_mh(const uint8_t *mh, size_t len, uint8_t out[FOG_KAD_KEY_LEN]);
/* out = a XOR b. */
void fog_kad_distance(const uint8_t a[FOG_KAD_KEY_LEN], const uint8_t b[FOG_KAD_KEY_LEN],
                      uint8_t out[FOG_KAD_KEY_LEN]);
/* -1 when a is closer to target than b, 1 when farther, 0 when a and b are equal: the distances
 * compared as 256-bit big-endian numbers. */
int fog_kad_cmp_distance(const uint8_t target[FOG_KAD_KEY_LEN], const uint8_t a[FOG_KAD_KEY_LEN],
                         const uint8_t b[FOG_KAD_KEY_LEN]);
/* The number of leading bits a and b share, 0..256 (256 when equal): the routing table bucket
 * of b seen from a. */
unsigned fog_kad_common_prefix_len(const uint8_t a[FOG_KAD_KEY_LEN],
                                   const uint8_t b[FOG_KAD_KEY_LEN]);

#endif
