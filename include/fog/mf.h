/* mf.h: multiformats: multicodec constants, multihash, multibase and CIDs (v0 and v1).
 * Specs: multiformats/{unsigned-varint,multihash,multibase,cid} (PROTOCOLS.md section 1).
 * A fog_cid is a fixed-size value (no allocation) holding the binary CID and its parsed fields,
 * so it can be copied, compared with memcmp of bytes[0..len) and used as a key. Parsers are
 * strict: minimal varints, no trailing bytes, digest lengths that match, identity digests of at
 * most FOG_IDENTITY_MAX bytes.
 */
#ifndef FOG_MF_H
#define FOG_MF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/util.h"

/* multicodec codes (multiformats/multicodec table.csv) */
enum {
    FOG_MC_IDENTITY = 0x00,
    FOG_MC_SHA1 = 0x11,
    FOG_MC_SHA2_256 = 0x12,
    FOG_MC_SHA2_512 = 0x13,
    FOG_MC_SHA3_512 = 0x14,
    FOG_MC_MURMUR3_X64_64 = 0x22,
    FOG_MC_RAW = 0x55,
    FOG_MC_DAG_PB = 0x70,
    FOG_MC_DAG_CBOR = 0x71,
    FOG_MC_LIBP2P_KEY = 0x72,
    FOG_MC_DAG_JSON = 0x0129,
    FOG_MC_BLAKE2B_256 = 0xb220,
};

/* The name of a codec or hash code ("dag-pb", "sha2-256"), or NULL when fog does not know it. */
const char *fog_mc_name(uint64_t code);

#define FOG_IDENTITY_MAX 128 /* longest identity digest accepted (boxo verifcid) */
#define FOG_DIGEST_MAX 128   /* longest digest of any hash */
#define FOG_DIGEST_MIN 20    /* shortest non-identity digest fog verifies (boxo verifcid) */
/* version + codec + hash code + length varints + digest */
#define FOG_CID_MAX (1 + 9 + 9 + 9 + FOG_DIGEST_MAX)

/* A parsed multihash inside some buffer (borrowed). */
typedef struct {
    uint64_t code;
    fog_slice digest;
} fog_mh;

/* Reads one multihash from r (code, length, digest); the digest borrows r's input.
 * Errors on r->err: FOG_ERR_TRUNCATED, FOG_ERR_PROTO (non-minimal varint), FOG_ERR_LIMIT
 * (digest longer than FOG_DIGEST_MAX, or an identity digest longer than FOG_IDENTITY_MAX). */
void fog_mh_read(fog_reader *r, fog_mh *out);

/* Multibase. Supported prefixes: 'b' base32 lower, 'B' base32 upper, 'z' base58btc,
 * 'f' base16 lower, 'F' base16 upper, 'k' base36 lower, 'K' base36 upper, 'm' base64,
 * 'u' base64url. Base32/64 are unpadded RFC 4648; decoders reject padding, a dangling final
 * character and non-zero leftover bits (FOG_ERR_PROTO). Base16, base32 and base36 decode either
 * case whatever the prefix's case; base58btc and base64 are case-sensitive. */
enum {
    FOG_BASE32 = 'b',
    FOG_BASE32_UPPER = 'B',
    FOG_BASE58BTC = 'z',
    FOG_BASE16 = 'f',
    FOG_BASE16_UPPER = 'F',
    FOG_BASE36 = 'k',
    FOG_BASE36_UPPER = 'K',
    FOG_BASE64 = 'm',
    FOG_BASE64URL = 'u',
};
/* Base58btc and base36 are big-number conversions, O(n^2): they refuse more than this many
 * significant bytes (after leading zero bytes) to encode, and more than twice as many
 * significant characters to decode, with FOG_ERR_LIMIT. CIDs and peer IDs are far smaller. */
#define FOG_BASEX_MAX 4096
/* Encodes data with the prefix character first, into out (NUL-terminated). Returns the string
 * length, FOG_ERR_LIMIT if cap is too small (or see FOG_BASEX_MAX), FOG_ERR_UNSUPPORTED for an
 * unknown base. data is borrowed for the call. */
int fog_multibase_encode(int base, const uint8_t *data, size_t len, char *out, size_t cap);
/* The same without the prefix character (a CIDv0 or peer ID is bare base58btc). */
int fog_base_encode(int base, const uint8_t *data, size_t len, char *out, size_t cap);
/* Decodes a multibase string (prefix first) into out. Returns the byte count; FOG_ERR_PROTO on a
 * bad character or an empty string, FOG_ERR_UNSUPPORTED for an unknown prefix, FOG_ERR_LIMIT when
 * out is too small (or see FOG_BASEX_MAX). base_out (may be NULL) receives the prefix on success.
 * Base16, base32 and base36 accept either case. out's content is unspecified after an error. */
int fog_multibase_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, int *base_out);
int fog_base_decode(int base, const char *in, size_t in_len, uint8_t *out, size_t cap);

typedef struct {
    uint64_t version; /* 0 or 1 */
    uint64_t codec;   /* FOG_MC_DAG_PB for v0 */
    uint64_t mh_code;
    size_t mh_off;    /* the multihash starts at bytes[mh_off] (0 for v0) */
    size_t digest_off;
    size_t digest_len;
    size_t len;       /* bytes in use */
    uint8_t bytes[FOG_CID_MAX];
} fog_cid;

/* Longest text form fog writes (base16 of FOG_CID_MAX bytes, with prefix and NUL: 314). */
#define FOG_CID_STR_MAX 320

/* Parses exactly len bytes as a binary CID (v0 when it is a 34-byte sha2-256 multihash starting
 * 0x12 0x20). FOG_ERR_PROTO (bad form, unknown version, trailing bytes), FOG_ERR_TRUNCATED,
 * FOG_ERR_LIMIT (digest too long). */
FOG_NODISCARD int fog_cid_from_bytes(fog_cid *out, const uint8_t *p, size_t len);
/* Reads one binary CID from a stream of bytes (a CAR section, a dag-pb link), leaving r after it.
 * Errors on r->err; out is unchanged on failure. A stream starting 0x12 0x20 is read as a CIDv0
 * (34 bytes). fog_cid_from_bytes sets a detail line; fog_cid_read does not. */
void fog_cid_read(fog_reader *r, fog_cid *out);
/* Parses a text CID: 46 characters starting "Qm" is v0 base58btc; otherwise a multibase
 * string of a CIDv1. Like go-cid and js-multiformats, a multibase string whose bytes are a CIDv0
 * ("f1220...") parses as that CIDv0 (fog_cid_format then writes it as "Qm..."). Strings longer
 * than FOG_CID_STR_MAX are FOG_ERR_LIMIT. Errors as fog_cid_from_bytes plus FOG_ERR_UNSUPPORTED
 * (unknown base); every error sets a detail line `invalid CID "<input>": <reason>`. */
FOG_NODISCARD int fog_cid_parse(fog_cid *out, const char *s);
/* Text form: v0 as bare base58btc, v1 with the given multibase (0 means base32 lower). Writes
 * into out (cap at least FOG_CID_STR_MAX is always enough) and returns the length;
 * FOG_ERR_INVALID for a v0 with a base other than 0 or 'z', FOG_ERR_LIMIT, FOG_ERR_UNSUPPORTED. */
int fog_cid_format(const fog_cid *c, int base, char *out, size_t cap);
/* Convenience for logs and messages: a static per-thread buffer, valid until the next call. */
const char *fog_cid_str(const fog_cid *c);

/* Builds a CID from its parts. v0 requires codec dag-pb and a 32-byte sha2-256 digest
 * (FOG_ERR_INVALID otherwise). */
FOG_NODISCARD int fog_cid_make(fog_cid *out, uint64_t version, uint64_t codec, uint64_t mh_code,
                               const uint8_t *digest, size_t digest_len);
/* The CID of a block: mh_code FOG_MC_SHA2_256, FOG_MC_SHA2_512 or FOG_MC_IDENTITY (which copies
 * data: FOG_ERR_LIMIT past FOG_IDENTITY_MAX); FOG_ERR_UNSUPPORTED for other hashes. */
FOG_NODISCARD int fog_cid_of(fog_cid *out, uint64_t version, uint64_t codec, uint64_t mh_code,
                             const uint8_t *data, size_t len);
/* 0 when data hashes to c's multihash (a truncated digest is compared with the same-length prefix
 * of the hash); FOG_ERR_HASH_MISMATCH when not; FOG_ERR_UNSUPPORTED when fog cannot compute c's
 * hash function (it computes sha2-256, sha2-512 and identity). Both set a detail line. */
FOG_NODISCARD int fog_cid_verify(const fog_cid *c, const uint8_t *data, size_t len);

/* The multihash bytes of c (borrowed from c). Blocks are keyed by this in the store. */
static inline fog_slice fog_cid_mh(const fog_cid *c)
{
    return fog_slice_make(c->bytes + c->mh_off, c->len - c->mh_off);
}
static inline fog_slice fog_cid_digest(const fog_cid *c)
{
    return fog_slice_make(c->bytes + c->digest_off, c->digest_len);
}
bool fog_cid_eq(const fog_cid *a, const fog_cid *b);

/* A growable array of CIDs (a walk's stack): zero-initialised is empty. push copies c (0 or
 * FOG_ERR_NOMEM); clear frees the array. */
typedef struct {
    fog_cid *items;
    size_t n, cap;
} fog_cid_vec;
FOG_NODISCARD int fog_cid_vec_push(fog_cid_vec *v, const fog_cid *c);
void fog_cid_vec_clear(fog_cid_vec *v);
/* v0 -> v1 keeps the multihash and codec; v1 -> v0 works only for dag-pb + sha2-256/32
 * (FOG_ERR_INVALID otherwise). */
FOG_NODISCARD int fog_cid_to_v1(const fog_cid *in, fog_cid *out);
FOG_NODISCARD int fog_cid_to_v0(const fog_cid *in, fog_cid *out);

/* Peer IDs (libp2p/specs peer-ids/peer-ids.md). The peer ID of an Ed25519 key is the identity
 * multihash of its PublicKey protobuf {Type = 1 (Ed25519), Data = key}: 2 + 36 = 38 bytes, shown
 * as bare base58btc ("12D3KooW..."). */
#define FOG_PEER_ID_ED25519_LEN 38
void fog_peer_id_ed25519(const uint8_t pub[32], uint8_t out[FOG_PEER_ID_ED25519_LEN]);
/* The base58btc text of a binary peer ID into out (cap >= 64 for Ed25519 IDs); returns the
 * length or FOG_ERR_LIMIT. */
int fog_peer_id_format(const uint8_t *id, size_t len, char *out, size_t cap);

/* Peer ID text and checks (libp2p/specs peer-ids/peer-ids.md "String representation"; src/mf/
 * peerid_parse.c). A binary peer ID is a multihash: identity over a PublicKey protobuf of at most
 * FOG_PEER_ID_INLINE_MAX bytes, or sha2-256 (32-byte digest) over a longer one. */
#define FOG_PEER_ID_INLINE_MAX 42                    /* spec: keys this short are inlined */
#define FOG_PEER_ID_MAX (2 + FOG_PEER_ID_INLINE_MAX) /* identity code + length + key */
#define FOG_PEER_ID_TEXT_MAX 256                     /* longest text fog_peer_id_parse reads */
/* 0 when id[0..len) is exactly one such multihash; FOG_ERR_PROTO (bad form, trailing bytes, an
 * empty or over-long identity digest, a sha2-256 digest that is not 32 bytes),
 * FOG_ERR_TRUNCATED, FOG_ERR_UNSUPPORTED (another hash function). Sets no detail line. */
FOG_NODISCARD int fog_peer_id_check(const uint8_t *id, size_t len);
/* Parses a peer ID's text: bare base58btc of the multihash ("12D3KooW...", "Qm...", any text
 * starting '1' or "Qm"), or a CIDv1 with codec libp2p-key (0x72) in any supported multibase
 * ("bafz...", "k51..."). Writes the multihash to out and returns its length. Errors:
 * FOG_ERR_PROTO (bad characters, not a CIDv1, another codec, a bad multihash),
 * FOG_ERR_UNSUPPORTED (unknown multibase or hash), FOG_ERR_LIMIT (text longer than
 * FOG_PEER_ID_TEXT_MAX), FOG_ERR_TRUNCATED; each sets a detail line
 * `invalid peer ID "<text>": <reason>`. s is borrowed for the call. */
FOG_NODISCARD int fog_peer_id_parse(const char *s, uint8_t out[FOG_PEER_ID_MAX]);
/* The CIDv1 libp2p-key text of a peer ID in the given multibase (0 means base36 lower 'k', the
 * form IPNS names use) into out; returns the length. FOG_ERR_PROTO / FOG_ERR_UNSUPPORTED when
 * id is not a valid peer ID (fog_peer_id_check), FOG_ERR_LIMIT when cap is too small
 * (FOG_CID_STR_MAX is always enough). */
int fog_peer_id_format_cid(const uint8_t *id, size_t len, int base, char *out, size_t cap);

#endif
