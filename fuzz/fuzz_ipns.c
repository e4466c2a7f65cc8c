/* fuzz_ipns.c: the IPNS record parser, validator and RFC 3339 reader on arbitrary input.
 * Seed with shared/vectors/ipfs-gateway-conformance/fixtures/ (every .ipns-record file).
 * Whatever fog_ipns_parse accepts must be a message protobuf-c also reads with the same data
 * bytes, and its data map, when it holds only the five required keys, must be exactly what
 * fog_ipns_data_encode writes for the decoded fields (the reader accepts only canonical
 * DAG-CBOR). Validation runs against a fixed Ed25519 name and against names taken from the
 * input, through every key-type path, and must not crash. A time the RFC 3339 reader accepts,
 * written back and read again, is the same instant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/crypto.h"
#include "fog/ipns.h"
#include "fog/mf.h"
#include "fuzzlib.h"
#include "proto/ipns.pb-c.h"

static void against_protobuf_c(const fog_ipns_record *rec, const uint8_t *data, size_t size)
{
    IpnsPb__IpnsEntry *pb = ipns_pb__ipns_entry__unpack(NULL, size, data);
    CHECK(pb != NULL);
    CHECK(pb->has_data && pb->data.len == rec->data.len);
    CHECK(memcmp(pb->data.data, rec->data.p, rec->data.len) == 0);
    CHECK(pb->has_signaturev2 == rec->has_sig_v2);
    ipns_pb__ipns_entry__free_unpacked(pb, NULL);
}

static void canonical(const fog_ipns_record *rec)
{
    CHECK(rec->data.len > 0 && rec->sequence <= INT64_MAX && rec->ttl_ns <= INT64_MAX);
    if (rec->data.p[0] != (rec->has_version ? 0xa6 : 0xa5)) {
        return; /* extra keys: no single encoding to compare with */
    }
    fog_buf enc;
    fog_buf_init(&enc);
    CHECK(fog_ipns_data_encode(&enc, rec->value.p, rec->value.len, rec->validity.p,
                               rec->validity.len, rec->sequence, rec->ttl_ns,
                               rec->has_version ? &rec->version : NULL) == 0);
    /* The encoder writes ValidityType 0; a record with another type differs only there. */
    if (rec->validity_type == FOG_IPNS_VALIDITY_EOL) {
        CHECK(enc.len == rec->data.len && memcmp(enc.p, rec->data.p, enc.len) == 0);
    }
    fog_buf_clear(&enc);
}

static void validate_all(const fog_ipns_record *rec, const uint8_t *data, size_t size)
{
    static uint8_t name[FOG_PEER_ID_ED25519_LEN];
    static int ready;
    if (!ready) {
        uint8_t pub[32] = {1};
        fog_peer_id_ed25519(pub, name);
        ready = 1;
    }
    fog_ipns_time now = {0, 0};
    (void)fog_ipns_validate(rec, name, sizeof name, now); /* any verdict; no crash */
    /* The first bytes of the input as a name: identity names inline arbitrary keys. */
    size_t n = size < FOG_PEER_ID_MAX ? size : FOG_PEER_ID_MAX;
    (void)fog_ipns_validate(rec, data, n, now);
    fog_slice vals[2] = {fog_slice_make(data, size), fog_slice_make(data, size)};
    uint8_t key[6 + FOG_PEER_ID_ED25519_LEN];
    memcpy(key, "/ipns/", 6);
    memcpy(key + 6, name, sizeof name);
    size_t idx = 9;
    CHECK(fog_ipns_dht_select(key, sizeof key, vals, 2, &idx) == 0 && idx == 0);
}

static void time_roundtrip(const uint8_t *data, size_t size)
{
    fog_ipns_time t, t2;
    if (fog_ipns_time_parse(data, size, &t) != 0) {
        return;
    }
    CHECK(t.nsec <= 999999999);
    char out[FOG_IPNS_TIME_STR_MAX];
    int n = fog_ipns_time_format(t, out);
    if (n < 0) {
        return; /* an offset moved it out of 0000..9999 */
    }
    CHECK(fog_ipns_time_parse((const uint8_t *)out, (size_t)n, &t2) == 0);
    CHECK(fog_ipns_time_cmp(t, t2) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        CHECK(fog_crypto_init() == 0);
        init = 1;
    }
    time_roundtrip(data, size);
    fog_ipns_record rec;
    if (fog_ipns_parse(&rec, data, size) != 0) {
        return 0;
    }
    against_protobuf_c(&rec, data, size);
    canonical(&rec);
    validate_all(&rec, data, size);
    return 0;
}
