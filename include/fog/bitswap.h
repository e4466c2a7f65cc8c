/* bitswap.h: bitswap 1.2.0 (ipfs/specs src/bitswap-protocol.md; PROTOCOLS.md 3.8), the message
 * codec. Schema in proto/bitswap.proto, field for field as boxo bitswap/message/pb/message.proto.
 * Each message on a stream is a uvarint length then a protobuf body of at most
 * FOG_BITSWAP_MSG_MAX bytes. fog_bitswap_framer cuts a byte stream into bodies,
 * fog_bitswap_parse decodes one body into a fog_bitswap_parsed that owns all its memory, and
 * fog_bitswap_encode writes one length-prefixed message.
 * A block never leaves the decoder with a CID taken on trust: the CID is rebuilt from the
 * payload's prefix (version, codec, hash function, digest length) by hashing the data, as boxo
 * does (cid.Prefix.Sum). So a block is verified by construction; the caller only checks that the
 * rebuilt CID is one it wanted (fog_bitswap_block_matches). Bitswap 1.0.0 "blocks" are raw bytes,
 * hashed as CIDv0 (dag-pb, sha2-256).
 * Pure codec: no allocation except the one block a parse result owns, no I/O, no clock.
 */
#ifndef FOG_BITSWAP_H
#define FOG_BITSWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/mf.h"
#include "fog/util.h"

#define FOG_BITSWAP_PROTO_120 "/ipfs/bitswap/1.2.0" /* speak this */
#define FOG_BITSWAP_PROTO_110 "/ipfs/bitswap/1.1.0"
#define FOG_BITSWAP_PROTO_100 "/ipfs/bitswap/1.0.0"
#define FOG_BITSWAP_PROTO_LEGACY "/ipfs/bitswap"

#define FOG_BITSWAP_MSG_MAX (4u << 20)   /* spec: a message MUST be at most 4 MiB (the body) */
#define FOG_BITSWAP_BLOCK_MAX (2u << 20) /* spec: blocks SHOULD be <= 2 MiB; fog refuses more */
/* Most wantlist entries, blocks, or block presences in one message (each list separately).
 * Not a spec number: boxo's client sends wants in messages of at most 2 MiB and its server keeps
 * at most 1024 queued entries per peer (MaxQueuedWantlistEntriesPerPeer), so 8192 leaves room
 * while bounding what one message can make fog allocate (about 4.5 MiB of structs at most). */
#define FOG_BITSWAP_MAX_ENTRIES 8192

typedef enum {
    FOG_BITSWAP_WANT_BLOCK = 0, /* send the block (Wantlist.WantType.Block) */
    FOG_BITSWAP_WANT_HAVE = 1,  /* say HAVE (Wantlist.WantType.Have) */
} fog_bitswap_want_type;

typedef enum {
    FOG_BITSWAP_HAVE = 0,      /* BlockPresenceType.Have */
    FOG_BITSWAP_DONT_HAVE = 1, /* BlockPresenceType.DontHave */
} fog_bitswap_presence_type;

/* One wantlist entry. */
typedef struct {
    fog_cid cid;
    int32_t priority; /* higher first; boxo writes 1..2^31-1, negative values pass through */
    bool cancel;      /* revokes an earlier want of cid */
    fog_bitswap_want_type want_type;
    bool send_dont_have; /* the peer wants DONT_HAVE when the block is missing */
} fog_bitswap_entry;

/* One block. Parsed: cid was rebuilt from data, so data hashes to cid. To encode: the caller
 * vouches that it does (the prefix written is cid's, the receiver rehashes data). */
typedef struct {
    fog_cid cid;
    fog_slice data; /* at most FOG_BITSWAP_BLOCK_MAX bytes */
} fog_bitswap_block;

typedef struct {
    fog_cid cid;
    fog_bitswap_presence_type type;
} fog_bitswap_presence;

/* A message. To encode, every pointer is borrowed for the call; in a fog_bitswap_parsed, every
 * pointer points into memory the fog_bitswap_parsed owns. Lists keep wire order; duplicates are
 * kept as sent (boxo merges them per CID; that is the engine's business). */
typedef struct {
    bool full; /* the wantlist replaces the peer's whole wantlist (else a delta) */
    const fog_bitswap_entry *entries;
    size_t n_entries;
    const fog_bitswap_block *blocks; /* payload (1.1.0+) and 1.0.0 blocks, in wire order */
    size_t n_blocks;
    const fog_bitswap_presence *presences;
    size_t n_presences;
    int32_t pending_bytes; /* bytes the sender still has queued for us (a hint) */
} fog_bitswap_msg;

/* What one body held. */
typedef struct {
    fog_bitswap_msg msg;
    /* Payload blocks fog could not rebuild a CID for, left out of msg.blocks: a hash function fog
     * does not compute (it computes sha2-256, sha2-512, blake2b-256 and identity), or a prefix
     * digest length other than that function's full output (truncated digests), or an identity
     * block longer than FOG_IDENTITY_MAX. boxo would fail the whole message; fog keeps the
     * wants and presences next to such a block. */
    size_t blocks_skipped;
    void *mem; /* one block holding every array and every block's data */
} fog_bitswap_parsed;

/* Parses one message body (without its length prefix) into out. Limits are checked before
 * anything is allocated. Strict, following boxo's newMessageFromProto, which fails the whole
 * message on any bad CID: a wantlist entry or presence whose CID is absent or does not parse
 * (fog_cid_from_bytes) fails the whole message with FOG_ERR_PROTO, as does a payload prefix that
 * does not parse (four minimal uvarints and nothing else; version 0 only as 0, 0x70, 0x12, 32;
 * version 1 otherwise). A block whose CID fog cannot rebuild is skipped and counted (see
 * blocks_skipped). Unknown fields are skipped as protobuf requires; a known field with the wrong
 * wire type, or an enum value other than the two defined, is FOG_ERR_PROTO.
 * Errors: FOG_ERR_LIMIT (len past FOG_BITSWAP_MSG_MAX, a block past FOG_BITSWAP_BLOCK_MAX, more
 * than FOG_BITSWAP_MAX_ENTRIES entries, blocks or presences), FOG_ERR_PROTO, FOG_ERR_TRUNCATED
 * (a field cut short), FOG_ERR_NOMEM; each sets a detail line. On failure out is zeroed (and
 * fog_bitswap_parsed_clear on it is a no-op). in is borrowed for the call: nothing in out points
 * into it. Needs fog_crypto_init. */
FOG_NODISCARD int fog_bitswap_parse(fog_bitswap_parsed *out, const uint8_t *in, size_t len);
/* Frees what out owns and zeroes it; NULL is a no-op. */
void fog_bitswap_parsed_clear(fog_bitswap_parsed *p);

/* Appends m as one bitswap 1.1.0/1.2.0 message (uvarint length, then the body) to out: fields in
 * field-number order, zero values left out as proto3 writers do, blocks in payload with each
 * prefix written from its CID (CIDv0: 0x00 0x70 0x12 0x20). The wantlist is written when it has
 * entries or full is set. Errors: FOG_ERR_LIMIT (a block past FOG_BITSWAP_BLOCK_MAX, a list past
 * FOG_BITSWAP_MAX_ENTRIES, a body past FOG_BITSWAP_MSG_MAX: whatever fog writes, fog reads),
 * FOG_ERR_INVALID (an enum value out of range), FOG_ERR_NOMEM; out holds what it held before on
 * failure. m is borrowed for the call. */
FOG_NODISCARD int fog_bitswap_encode(const fog_bitswap_msg *m, fog_buf *out);

/* The same message in pieces, for a gather write that copies each block once (bitswap server:
 * from the store's map straight into the stream's send queue). Appends to head every byte of
 * fog_bitswap_encode's output except the blocks' data, and sets ins[i] (one per block, m->n_blocks
 * of them) to block i's data and the offset in head where it belongs: the message is head's new
 * bytes with each ins[i].data inserted at ins[i].at, in order (ins[i].at grows with i). Same
 * errors; on failure head holds what it held before. */
typedef struct {
    size_t at;      /* offset in head (counted from head's start, not from its old length) */
    fog_slice data; /* lent from m's block */
} fog_bitswap_insert;
FOG_NODISCARD int fog_bitswap_encode_gather(const fog_bitswap_msg *m, fog_buf *head,
                                            fog_bitswap_insert *ins);

/* True when the block is the one wanted: its CID (rebuilt from its data when parsed) equals
 * want byte for byte. A CIDv0 want is not answered by a CIDv1 block of the same multihash: boxo
 * keys wants by the whole CID and answers with the CID that was asked for. */
bool fog_bitswap_block_matches(const fog_cid *want, const fog_bitswap_block *b);

/* Framing over bytes the caller buffered. Looks at in[0..len) for one length-prefixed message:
 * returns 1 and sets *body_out (borrowing in) and *consumed_out (prefix plus body) when a whole
 * one is there; 0 when more bytes are needed (*consumed_out = 0); FOG_ERR_LIMIT as soon as a
 * complete length prefix announces more than FOG_BITSWAP_MSG_MAX, before the body is read;
 * FOG_ERR_PROTO for a non-minimal or over-long length varint. */
FOG_NODISCARD int fog_bitswap_frame(const uint8_t *in, size_t len, fog_slice *body_out,
                                    size_t *consumed_out);

/* A reassembler for a stream that arrives in pieces: feed copies bytes in, next hands out one
 * body at a time. It holds at most one partial message plus what the last feed brought, so a
 * caller that drains next() after each feed never buffers much more than FOG_BITSWAP_MSG_MAX.
 * Zeroed (or fog_bitswap_framer_init) is empty; fog_bitswap_framer_clear frees. After an error
 * the stream is broken: only clear is valid. */
typedef struct {
    fog_buf buf;
    size_t off; /* bytes of buf already handed out */
    int err;    /* sticky first error */
} fog_bitswap_framer;

void fog_bitswap_framer_init(fog_bitswap_framer *f);
void fog_bitswap_framer_clear(fog_bitswap_framer *f);
/* Copies in[0..len) in. 0, FOG_ERR_NOMEM, or the sticky error. Invalidates a body that next
 * handed out. */
FOG_NODISCARD int fog_bitswap_framer_feed(fog_bitswap_framer *f, const uint8_t *in, size_t len);
/* 1 with *body_out set (lent: valid until the next feed, next or clear), 0 when more bytes are
 * needed, or the error of fog_bitswap_frame (then sticky). */
FOG_NODISCARD int fog_bitswap_framer_next(fog_bitswap_framer *f, fog_slice *body_out);

#endif
