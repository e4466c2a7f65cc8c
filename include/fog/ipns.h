/* ipns.h: IPNS records (ipfs/specs src/ipns/ipns-record.md; PROTOCOLS.md section 4), sans-I/O.
 * An IPNS record is a protobuf IpnsEntry of at most 10 KiB whose signed part is `data`, a
 * DAG-CBOR map {TTL, Value, Sequence, Validity, ValidityType} (plus any keys a publisher adds,
 * which are checked for DAG-CBOR form and otherwise ignored). signatureV2 signs
 * "ipns-signature:" + data with the key of the name: the record's pubKey field, or the key
 * inlined in the name's identity multihash. The legacy V1 fields (value, validity, ...) are never
 * trusted; when present they must equal the signed values. This layer parses, validates, selects
 * and creates records; it has no clock (the caller passes the wall-clock time) and no I/O.
 * Behaviour follows boxo ipns/ (record.go, validation.go) where the spec is silent.
 *
 * Names: an IPNS name here is the binary peer ID multihash (38 bytes for Ed25519). The DHT key of
 * a name is "/ipns/" + those bytes.
 *
 * Key types: Ed25519 (libsodium), RSA (PKCS#1 v1.5 over SHA-256, 2048..8192 bits), ECDSA and
 * secp256k1 (DER signatures over SHA-256) through OpenSSL. Creation signs with Ed25519 only.
 */
#ifndef FOG_IPNS_H
#define FOG_IPNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/dht.h"
#include "fog/util.h"

#define FOG_IPNS_RECORD_MAX     10240             /* spec: "Record Size Limit", 10 KiB */
#define FOG_IPNS_SIG_PREFIX     "ipns-signature:" /* signed: prefix + data bytes */
#define FOG_IPNS_KEY_PREFIX     "/ipns/"          /* DHT key: prefix + peer ID multihash */
#define FOG_IPNS_LIFETIME_NS    172800000000000LL /* boxo DefaultRecordLifetime, 48 h */
#define FOG_IPNS_TTL_NS         300000000000ULL   /* boxo DefaultRecordTTL, 5 min */
#define FOG_IPNS_VALIDITY_EOL   0                 /* the only validity type */
#define FOG_IPNS_VALIDITY_MAX   64                /* longest Validity string accepted */
#define FOG_IPNS_CBOR_DEPTH_MAX 32                /* nesting of extra keys' values in data */
#define FOG_IPNS_TIME_STR_MAX   40                /* buffer for fog_ipns_time_format */
/* fog's extensible-data key (spec "Extensible Data"): the binary CID of the newest version node
 * of the name's history (fog/version.h), as a byte string. Readers that do not know it ignore it;
 * Value still names the content, so every IPFS client reaches the latest version directly. A
 * tag-42 link would be the IPLD way, but helia's ipns decodes `data` with cborg and no tag
 * decoders and refuses such records ("tag not supported (42)"): a byte string is what the
 * network accepts. */
#define FOG_IPNS_VERSION_KEY    "FogVersion"

/* A UTC instant: seconds since 1970-01-01T00:00:00Z (negative before) and nanoseconds. Validity
 * strings cover the years 0000..9999, beyond what int64 nanoseconds can hold. */
typedef struct {
    int64_t sec;
    uint32_t nsec; /* 0..999999999 */
} fog_ipns_time;

/* A parsed record. Every slice borrows the input given to fog_ipns_parse and is valid as long as
 * those bytes are. Protobuf fields a record does not carry are empty slices and has_* false. */
typedef struct {
    /* protobuf IpnsEntry as received */
    fog_slice pb_value;        /* 1: legacy V1 copy of data[Value] */
    fog_slice sig_v1;          /* 2: legacy, never verified */
    bool has_pb_validity_type; /* 3 */
    uint64_t pb_validity_type;
    bool has_pb_validity; /* 4 */
    fog_slice pb_validity;
    bool has_pb_sequence; /* 5 */
    uint64_t pb_sequence;
    bool has_pb_ttl; /* 6 */
    uint64_t pb_ttl;
    fog_slice pub_key; /* 7: a libp2p PublicKey protobuf, or empty */
    bool has_sig_v2;   /* 8 was present (boxo's selection prefers such records) */
    fog_slice sig_v2;
    fog_slice data; /* 9: the signed DAG-CBOR bytes, never empty after a successful parse */
    /* decoded from data (all five keys are required) */
    fog_slice value;        /* data[Value]: a content path such as "/ipfs/bafy..." */
    fog_slice validity;     /* data[Validity]: RFC 3339 text, at most FOG_IPNS_VALIDITY_MAX */
    uint64_t validity_type; /* data[ValidityType] */
    uint64_t sequence;      /* data[Sequence], <= INT64_MAX */
    uint64_t ttl_ns;        /* data[TTL], <= INT64_MAX */
    fog_ipns_time eol;      /* Validity parsed, when validity_type is EOL; else zero */
    bool has_version;       /* data[FogVersion] held a binary CID: */
    fog_cid version;        /* the newest version node of the name's history */
} fog_ipns_record;

/* Parses a serialized IpnsEntry: the size is checked first (FOG_ERR_LIMIT past
 * FOG_IPNS_RECORD_MAX), then the protobuf (fields 1..9 at most once each with their wire types;
 * unknown fields skipped), then `data`, which must be present and decode as a strict DAG-CBOR map
 * (definite lengths, minimal integers and lengths, string keys in canonical order without
 * duplicates, no trailing bytes) holding Value and Validity as byte strings and ValidityType,
 * Sequence and TTL as unsigned integers up to INT64_MAX; an EOL Validity must be RFC 3339.
 * Returns 0 or FOG_ERR_LIMIT, FOG_ERR_PROTO, FOG_ERR_TRUNCATED, each with a detail line. No
 * signature is checked here: see fog_ipns_validate. in is borrowed by *out (no copy). */
FOG_NODISCARD int fog_ipns_parse(fog_ipns_record *out, const uint8_t *in, size_t len);

/* Validates a parsed record for the name (binary peer ID multihash) at wall-clock time now, in
 * the spec's order: signatureV2 present and not empty (else FOG_ERR_AUTH); the public key from
 * pub_key, whose peer ID must equal name (FOG_ERR_WRONG_KEY when not), or else inlined in the name's
 * identity multihash (FOG_ERR_NOT_FOUND when the name is a sha2-256 hash and the record carries
 * no key); signatureV2 verified over "ipns-signature:" + data (FOG_ERR_AUTH); when signatureV1
 * or the V1 value is present, all five V1 fields (absent ones read as empty or 0, as boxo reads
 * them) must equal the signed ones (FOG_ERR_AUTH); validity type EOL (FOG_ERR_UNSUPPORTED
 * otherwise); now not after the EOL (FOG_ERR_EXPIRED). Also
 * FOG_ERR_PROTO for a malformed name or key and FOG_ERR_UNSUPPORTED for a key type fog cannot
 * verify. Every error sets a detail line. Needs fog_crypto_init. */
FOG_NODISCARD int fog_ipns_validate(const fog_ipns_record *rec, const uint8_t *name,
                                    size_t name_len, fog_ipns_time now);

/* The wall-clock time of a Unix time in nanoseconds (what clock_gettime(CLOCK_REALTIME) gives as
 * tv_sec * 1e9 + tv_nsec). */
fog_ipns_time fog_ipns_time_from_ns(int64_t unix_ns);
/* -1, 0 or 1 as a is before, equal to or after b. */
int fog_ipns_time_cmp(fog_ipns_time a, fog_ipns_time b);
/* Parses Go's time.RFC3339Nano form as boxo reads it: "YYYY-MM-DDTHH:MM:SS", optionally "." and
 * 1..9 digits, then "Z" or "+HH:MM" / "-HH:MM" (converted to UTC). Fields are range-checked (day
 * within its month). 0 or FOG_ERR_PROTO. */
FOG_NODISCARD int fog_ipns_time_parse(const uint8_t *s, size_t len, fog_ipns_time *out);
/* Writes t the way Go's t.UTC().Format(time.RFC3339Nano) does (the fraction without trailing
 * zeros, none when zero; "Z"); out holds FOG_IPNS_TIME_STR_MAX bytes and is NUL-terminated.
 * Returns the length, or FOG_ERR_INVALID for a year outside 0..9999. */
int fog_ipns_time_format(fog_ipns_time t, char out[FOG_IPNS_TIME_STR_MAX]);

/* Orders two parsed records the way boxo's compare does: one with signatureV2 beats one without,
 * then the higher sequence, then the later EOL. Returns 1 when a is better, -1 when b is, 0 when
 * these rules do not order them (the caller then compares the serialized bytes). Validity is not
 * checked: compare only validated records. */
int fog_ipns_compare(const fog_ipns_record *a, const fog_ipns_record *b);

/* The DAG-CBOR `data` map of a new record, keys in canonical order (TTL, Value, Sequence,
 * Validity, FogVersion when version is not NULL, ValidityType), appended to out. validity is the
 * RFC 3339 text (copied). 0 or FOG_ERR_NOMEM / FOG_ERR_LIMIT (out unchanged on failure). */
FOG_NODISCARD int fog_ipns_data_encode(fog_buf *out, const uint8_t *value, size_t value_len,
                                       const uint8_t *validity, size_t validity_len,
                                       uint64_t sequence, uint64_t ttl_ns,
                                       const fog_cid *version);

/* Creates and signs a record as boxo's NewRecord does by default (V1 compatibility on): protobuf
 * fields value, signatureV1 (over value + validity + "EOL"), validityType, validity, sequence,
 * ttl, signatureV2, data, in field order; no pubKey (an Ed25519 key is inlined in its name).
 * secret is the 64-byte Ed25519 secret (seed || public; borrowed); value is the content path
 * (borrowed); eol_unix_ns the expiry (e.g. now + FOG_IPNS_LIFETIME_NS). sequence and ttl_ns must
 * be <= INT64_MAX (FOG_ERR_INVALID). The record is appended to out; FOG_ERR_LIMIT when it would
 * exceed FOG_IPNS_RECORD_MAX, FOG_ERR_NOMEM; out unchanged on failure. Needs fog_crypto_init. */
FOG_NODISCARD int fog_ipns_create(fog_buf *out, const uint8_t secret[64], const uint8_t *value,
                                  size_t value_len, uint64_t sequence, int64_t eol_unix_ns,
                                  uint64_t ttl_ns);
/* The same with fog's history link (FOG_IPNS_VERSION_KEY) in the signed data when version is
 * not NULL (the V1 fields cannot carry it; older readers see the rest). */
FOG_NODISCARD int fog_ipns_create_ext(fog_buf *out, const uint8_t secret[64],
                                      const uint8_t *value, size_t value_len, uint64_t sequence,
                                      int64_t eol_unix_ns, uint64_t ttl_ns,
                                      const fog_cid *version);

/* The DHT record validator (go-libp2p-record Validator, boxo ipns.Validator), for GET_VALUE and
 * PUT_VALUE: key is "/ipns/" + binary peer ID multihash (FOG_ERR_PROTO otherwise), value the
 * serialized record. Parses and validates as above; 0 when the record may be stored or used.
 * Both buffers are borrowed for the call. */
FOG_NODISCARD int fog_ipns_dht_validate(const uint8_t *key, size_t key_len, const uint8_t *value,
                                        size_t value_len, fog_ipns_time now);
/* The best of n records for key (boxo ipns.Validator.Select): by fog_ipns_compare, ties broken by
 * the bytewise-greater serialized record, the first kept on equality. The values are expected to
 * have passed fog_ipns_dht_validate; one that does not parse makes the whole call fail (as in
 * boxo). Writes the index to *index_out and returns 0, or FOG_ERR_INVALID when n is 0,
 * FOG_ERR_PROTO for a bad key, a parse error otherwise. values are borrowed for the call. */
FOG_NODISCARD int fog_ipns_dht_select(const uint8_t *key, size_t key_len, const fog_slice *values,
                                      size_t n, size_t *index_out);

/* Both of the above as the DHT's validator of the "ipns" namespace (fog_dht_config.validators),
 * validating against the wall clock (src/names/ipns_dht.c). */
fog_dht_validator fog_ipns_dht_validator(void);

#endif
