/* test_ipns.c: IPNS records (src/names): parse, validate, select and create.
 * Expected verdicts come from the ipfs/specs test vectors (the gateway-conformance
 * ipns_records fixtures, with the verdicts listed in shared/vectors/README.md) and from the other
 * real records the conformance suite serves (one signed with RSA). Records fog creates are read
 * back by protobuf-c's decoder generated from proto/ipns.proto, not only by fog's own reader.
 * The DAG-CBOR strictness cases are hand-assembled CBOR with the rule each one breaks; times are
 * checked against values computed by hand or by Python's datetime.
 */
#include "testlib.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fog/crypto.h"
#include "fog/ipns.h"
#include "fog/mf.h"
#include "names/internal.h"
#include "proto/ipns.pb-c.h"

#define DIR "ipfs-gateway-conformance/fixtures/"
#define NOW_2025 1735689600LL /* 2025-01-01T00:00:00Z */
#define NOW_2200 7258118400LL /* 2200-01-01T00:00:00Z */

static fog_ipns_time at(int64_t sec)
{
    fog_ipns_time t = {sec, 0};
    return t;
}

/* Reads $FOG_VECTORS/DIR/rel into a malloc'd buffer and the name in its file name (text before
 * '_' or ".ipns-record") into name; NULL after the skip line when the vectors are missing. */
static uint8_t *load(const char *rel, size_t *len, uint8_t name[FOG_PEER_ID_MAX], size_t *nlen)
{
    char path[1024];
    char full[512];
    snprintf(full, sizeof full, DIR "%s", rel);
    if (!tl_vec_path(path, sizeof path, full)) {
        return NULL;
    }
    uint8_t *data = tl_slurp(path, len);
    assert_non_null(data);
    const char *base = strrchr(rel, '/') + 1;
    char text[128];
    size_t n = strcspn(base, "_.");
    assert_true(n < sizeof text);
    memcpy(text, base, n);
    text[n] = '\0';
    int rc = fog_peer_id_parse(text, name);
    assert_true(rc > 0);
    *nlen = (size_t)rc;
    return data;
}

/* Parse then validate: the first failure's code, or 0. */
static int verdict(const uint8_t *data, size_t len, const uint8_t *name, size_t nlen,
                   fog_ipns_time now, fog_ipns_record *rec)
{
    int rc = fog_ipns_parse(rec, data, len);
    return rc < 0 ? rc : fog_ipns_validate(rec, name, nlen, now);
}

static const struct {
    const char *file;
    int expect; /* 0: valid; else the error */
    const char *value;
} spec_vectors[] = {
    {"k51qzi5uqu5dm4tm0wt8srkg9h9suud4wuiwjimndrkydqm81cqtlb5ak6p7ku_v1", FOG_ERR_PROTO, NULL},
    {"k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2", 0,
     "/ipfs/bafkqaddwgevxmmraojswg33smq"},
    {"k51qzi5uqu5dlmit2tuwdvnx4sbnyqgmvbxftl0eo3f33wwtb9gr7yozae9kpw_v1-v2-broken-v1-value",
     FOG_ERR_AUTH, NULL},
    {"k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c_v1-v2-broken-signature-v2",
     FOG_ERR_AUTH, NULL},
    {"k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y_v1-v2-broken-signature-v1", 0,
     "/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi"},
    {"k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2", 0,
     "/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi"},
};

/* The record of spec_vectors[i] and its name; NULL (skip line printed) without the vectors. */
static uint8_t *load_spec(size_t i, size_t *len, uint8_t *name, size_t *nlen)
{
    char rel[256];
    snprintf(rel, sizeof rel, "ipns_records/%s.ipns-record", spec_vectors[i].file);
    return load(rel, len, name, nlen);
}

static void test_ipns_spec_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof spec_vectors / sizeof spec_vectors[0]; i++) {
        size_t len, nlen;
        uint8_t name[FOG_PEER_ID_MAX];
        uint8_t *data = load_spec(i, &len, name, &nlen);
        if (data == NULL) {
            return;
        }
        fog_ipns_record rec;
        int rc = verdict(data, len, name, nlen, at(NOW_2025), &rec);
        print_message("%s: %s\n", spec_vectors[i].file, rc == 0 ? "valid" : fog_err_name(rc));
        assert_int_equal(rc, spec_vectors[i].expect);
        if (rc == 0) {
            const char *v = spec_vectors[i].value;
            assert_true(fog_slice_eq(rec.value, fog_slice_make(v, strlen(v))));
            /* The records are valid for 100 years (README), so not in 2200. */
            assert_int_equal(fog_ipns_validate(&rec, name, nlen, at(NOW_2200)), FOG_ERR_EXPIRED);
            /* The same through the DHT validator shape. */
            uint8_t key[64];
            memcpy(key, "/ipns/", 6);
            memcpy(key + 6, name, nlen);
            assert_int_equal(fog_ipns_dht_validate(key, 6 + nlen, data, len, at(NOW_2025)), 0);
            assert_int_equal(fog_ipns_dht_validate(key, 5 + nlen, data, len, at(NOW_2025)),
                             FOG_ERR_PROTO);
        }
        free(data);
    }
}

/* fog's data encoder rebuilds boxo's signed bytes exactly from the decoded fields. */
static void test_ipns_data_encoder_matches_vectors(void **state)
{
    (void)state;
    for (size_t i = 1; i < sizeof spec_vectors / sizeof spec_vectors[0]; i++) {
        size_t len, nlen;
        uint8_t name[FOG_PEER_ID_MAX];
        uint8_t *data = load_spec(i, &len, name, &nlen);
        if (data == NULL) {
            return;
        }
        fog_ipns_record rec;
        assert_int_equal(fog_ipns_parse(&rec, data, len), 0);
        fog_buf enc = {0};
        assert_int_equal(fog_ipns_data_encode(&enc, rec.value.p, rec.value.len, rec.validity.p,
                                              rec.validity.len, rec.sequence, rec.ttl_ns,
                                              NULL),
                         0);
        assert_true(fog_slice_eq(fog_slice_make(enc.p, enc.len), rec.data));
        fog_buf_clear(&enc);
        free(data);
    }
}

/* The V1 signature of the _v1-v2 vector covers value + validity + "EOL" (Go prints the enum's
 * name), which is what fog_ipns_create writes. The key is inlined in the name: identity
 * multihash (0x00 0x24) of a PublicKey {Type 1 (08 01), Data 32 bytes (12 20)}. */
static void test_ipns_v1_signature_form(void **state)
{
    (void)state;
    size_t len, nlen;
    uint8_t name[FOG_PEER_ID_MAX];
    uint8_t *data = load("ipns_records/" "k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5"
                         "i9fi8mk9w_v1-v2.ipns-record", &len, name, &nlen);
    if (data == NULL) {
        return;
    }
    fog_ipns_record rec;
    assert_int_equal(fog_ipns_parse(&rec, data, len), 0);
    assert_int_equal(nlen, 38);
    assert_memory_equal(name, "\x00\x24\x08\x01\x12\x20", 6);
    fog_buf msg = {0};
    assert_int_equal(fog_buf_append(&msg, rec.pb_value.p, rec.pb_value.len), 0);
    assert_int_equal(fog_buf_append(&msg, rec.pb_validity.p, rec.pb_validity.len), 0);
    assert_int_equal(fog_buf_append(&msg, "EOL", 3), 0);
    assert_int_equal(rec.sig_v1.len, 64);
    assert_int_equal(fog_ed25519_verify(name + 6, msg.p, msg.len, rec.sig_v1.p), 0);
    fog_buf_clear(&msg);
    free(data);
}

/* Real records served by the conformance suite, one with an RSA key in pubKey. */
static void test_ipns_real_records(void **state)
{
    (void)state;
    static const char *files[] = {
        "gateway-cache/k51qzi5uqu5djokp3m1keo36hoxtd6u3a1d2rg1camf6al7p3huy63dojlm57c",
        "gateway-cache/k51qzi5uqu5dlxdsdu5fpuu7h69wu4ohp32iwm9pdt9nq3y5rpn3ln9j12zfhe",
        "subdomain_gateway/12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d",
        "subdomain_gateway/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3",
        "path_gateway_dag/k51qzi5uqu5dghjous0agrwavl8vzl64xckoqzwqeqwudfr74kfd11zcyk3b7l",
        "path_gateway_dag/k51qzi5uqu5dhjghbwdvbo6mi40htrq6e2z4pwgp15pgv3ho1azvidttzh8yy2",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "%s.ipns-record", files[i]);
        size_t len, nlen;
        uint8_t name[FOG_PEER_ID_MAX];
        uint8_t *data = load(rel, &len, name, &nlen);
        if (data == NULL) {
            return;
        }
        fog_ipns_record rec;
        int rc = verdict(data, len, name, nlen, at(NOW_2025), &rec);
        print_message("%s: %s %s\n", files[i], rc == 0 ? "valid" : fog_err_detail(rc),
                      rec.pub_key.len > 0 ? "(key in record)" : "");
        assert_int_equal(rc, 0);
        if (strstr(files[i], "/Qm") != NULL) {
            assert_true(rec.pub_key.len > 200); /* an RSA key, not inlinable */
            /* The same record under another name: its key is not that name's (a wrong key, told
             * apart from a bad signature, FOG_ERR_AUTH). */
            uint8_t other[FOG_PEER_ID_MAX];
            int on =
                fog_peer_id_parse("12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d", other);
            assert_true(on > 0);
            assert_int_equal(fog_ipns_validate(&rec, other, (size_t)on, at(NOW_2025)),
                             FOG_ERR_WRONG_KEY);
            /* Without its pubKey nothing can verify a record of a hashed name. */
            fog_ipns_record nokey = rec;
            nokey.pub_key = fog_slice_make(NULL, 0);
            assert_int_equal(fog_ipns_validate(&nokey, name, nlen, at(NOW_2025)),
                             FOG_ERR_NOT_FOUND);
        }
        free(data);
    }
}

static void seeded_key(uint8_t fill, uint8_t pub[32], uint8_t secret[64])
{
    uint8_t seed[32];
    memset(seed, fill, sizeof seed);
    fog_ed25519_from_seed(seed, pub, secret);
}

#define EOL_NS 1700000000123000000LL /* 2023-11-14T22:13:20.123Z */
#define VALUE "/ipfs/bafkqaaa"

static void test_ipns_create_roundtrip(void **state)
{
    (void)state;
    uint8_t pub[32], secret[64], name[FOG_PEER_ID_ED25519_LEN];
    seeded_key(7, pub, secret);
    fog_peer_id_ed25519(pub, name);
    fog_buf rec_bytes = {0};
    assert_int_equal(fog_ipns_create(&rec_bytes, secret, (const uint8_t *)VALUE, strlen(VALUE), 42,
                                     EOL_NS, FOG_IPNS_TTL_NS),
                     0);
    fog_ipns_record rec;
    assert_int_equal(fog_ipns_parse(&rec, rec_bytes.p, rec_bytes.len), 0);
    assert_int_equal(fog_ipns_validate(&rec, name, sizeof name, at(1700000000)), 0);
    /* Exactly at the EOL still valid (boxo: expired when now is after it); 1 ns later not. */
    fog_ipns_time eol = {1700000000, 123000000};
    assert_int_equal(fog_ipns_validate(&rec, name, sizeof name, eol), 0);
    eol.nsec++;
    assert_int_equal(fog_ipns_validate(&rec, name, sizeof name, eol), FOG_ERR_EXPIRED);
    assert_int_equal(rec.sequence, 42);
    assert_int_equal(rec.ttl_ns, 300000000000ULL);
    const char *validity = "2023-11-14T22:13:20.123Z";
    assert_true(fog_slice_eq(rec.validity, fog_slice_make(validity, strlen(validity))));
    assert_int_equal(rec.pub_key.len, 0); /* Ed25519: the key is inlined in the name */

    /* protobuf-c reads the same fields. */
    IpnsPb__IpnsEntry *pb = ipns_pb__ipns_entry__unpack(NULL, rec_bytes.len, rec_bytes.p);
    assert_non_null(pb);
    assert_true(pb->has_value && pb->value.len == strlen(VALUE));
    assert_memory_equal(pb->value.data, VALUE, strlen(VALUE));
    assert_true(pb->has_validitytype &&
                pb->validitytype == IPNS_PB__IPNS_ENTRY__VALIDITY_TYPE__EOL);
    assert_true(pb->has_validity && pb->validity.len == strlen(validity));
    assert_true(pb->has_sequence && pb->sequence == 42);
    assert_true(pb->has_ttl && pb->ttl == FOG_IPNS_TTL_NS);
    assert_true(pb->has_signaturev1 && pb->signaturev1.len == 64);
    assert_true(pb->has_signaturev2 && pb->signaturev2.len == 64);
    assert_false(pb->has_pubkey);
    assert_true(pb->has_data && pb->data.len == rec.data.len);
    /* The V1 signature covers value + validity + "EOL" (see test_ipns_v1_signature_form). */
    char v1[128];
    int n = snprintf(v1, sizeof v1, "%s%sEOL", VALUE, validity);
    assert_int_equal(fog_ed25519_verify(pub, (const uint8_t *)v1, (size_t)n, pb->signaturev1.data),
                     0);
    /* protobuf-c writes the same bytes back: fog writes fields in number order. */
    size_t packed = ipns_pb__ipns_entry__get_packed_size(pb);
    assert_int_equal(packed, rec_bytes.len);
    uint8_t *again = malloc(packed);
    ipns_pb__ipns_entry__pack(pb, again);
    assert_memory_equal(again, rec_bytes.p, packed);
    free(again);
    ipns_pb__ipns_entry__free_unpacked(pb, NULL);

    /* Another key's name is refused. */
    uint8_t pub2[32], secret2[64], name2[FOG_PEER_ID_ED25519_LEN];
    seeded_key(8, pub2, secret2);
    fog_peer_id_ed25519(pub2, name2);
    assert_int_equal(fog_ipns_validate(&rec, name2, sizeof name2, at(1700000000)), FOG_ERR_AUTH);
    fog_buf_clear(&rec_bytes);
}

/* The DAG-CBOR of data, written out by hand: map(5), "TTL" 1, "Value" h'2f61', "Sequence" 2,
 * "Validity" "1970-01-01T00:00:00Z" as bytes, "ValidityType" 0. */
static void test_ipns_data_encode_bytes(void **state)
{
    (void)state;
    static const char hex[] = "a5"
                              "63" "54544c" "01"
                              "65" "56616c7565" "42" "2f61"
                              "68" "53657175656e6365" "02"
                              "68" "56616c6964697479" "54" "313937302d30312d30315430303a30303a"
                                                           "30305a"
                              "6c" "56616c69646974795479706500";
    uint8_t want[128];
    size_t wn = tl_unhex(hex, want, sizeof want);
    fog_buf enc = {0};
    const char *validity = "1970-01-01T00:00:00Z";
    assert_int_equal(fog_ipns_data_encode(&enc, (const uint8_t *)"/a", 2,
                                          (const uint8_t *)validity, strlen(validity), 2, 1,
                                          NULL),
                     0);
    assert_int_equal(enc.len, wn);
    assert_memory_equal(enc.p, want, wn);
    fog_buf_clear(&enc);
}

/* fog's history link: map(6) with "FogVersion" (10 bytes, so after the 8-byte keys and before
 * "ValidityType") holding a byte string of the binary CID (no tag 42: helia refuses tags). The
 * CID here is a raw-codec identity CID of "hi": 01 55 00 02 68 69. The record made with it
 * parses back the link and validates; a FogVersion that is not a CID is ignored. */
static void test_ipns_version_link(void **state)
{
    (void)state;
    static const char hex[] = "a6"
                              "63" "54544c" "01"
                              "65" "56616c7565" "42" "2f61"
                              "68" "53657175656e6365" "02"
                              "68" "56616c6964697479" "54" "313937302d30312d30315430303a30303a"
                                                           "30305a"
                              "6a" "466f6756657273696f6e" "46" "015500026869"
                              "6c" "56616c69646974795479706500";
    uint8_t want[160];
    size_t wn = tl_unhex(hex, want, sizeof want);
    fog_cid link;
    static const uint8_t cid_bytes[] = {0x01, 0x55, 0x00, 0x02, 0x68, 0x69};
    assert_int_equal(fog_cid_from_bytes(&link, cid_bytes, sizeof cid_bytes), 0);
    fog_buf enc = {0};
    const char *validity = "1970-01-01T00:00:00Z";
    assert_int_equal(fog_ipns_data_encode(&enc, (const uint8_t *)"/a", 2,
                                          (const uint8_t *)validity, strlen(validity), 2, 1,
                                          &link),
                     0);
    assert_int_equal(enc.len, wn);
    assert_memory_equal(enc.p, want, wn);
    fog_buf_clear(&enc);

    uint8_t pub[32], secret[64], name[FOG_PEER_ID_ED25519_LEN];
    seeded_key(11, pub, secret);
    fog_peer_id_ed25519(pub, name);
    fog_buf b = {0};
    assert_int_equal(fog_ipns_create_ext(&b, secret, (const uint8_t *)VALUE, strlen(VALUE), 3,
                                         EOL_NS, FOG_IPNS_TTL_NS, &link),
                     0);
    fog_ipns_record rec;
    assert_int_equal(fog_ipns_parse(&rec, b.p, b.len), 0);
    assert_int_equal(fog_ipns_validate(&rec, name, sizeof name, at(1700000000)), 0);
    assert_true(rec.has_version);
    assert_int_equal(rec.version.len, sizeof cid_bytes);
    assert_memory_equal(rec.version.bytes, cid_bytes, sizeof cid_bytes);
    fog_buf_clear(&b);

    /* "FogVersion": 7 from another publisher: valid data, no link taken. */
    fog_buf other = {0};
    static const char hex2[] = "a6"
                               "63" "54544c" "01"
                               "65" "56616c7565" "42" "2f61"
                               "68" "53657175656e6365" "02"
                               "68" "56616c6964697479" "54" "313937302d30312d30315430303a30303a"
                                                            "30305a"
                               "6a" "466f6756657273696f6e" "07"
                               "6c" "56616c69646974795479706500";
    uint8_t d2[160];
    size_t n2 = tl_unhex(hex2, d2, sizeof d2);
    assert_int_equal(fog_buf_append(&other, d2, n2), 0);
    memset(&rec, 0, sizeof rec);
    rec.data = fog_slice_make(other.p, other.len);
    assert_int_equal(fog__ipns_data_decode(&rec), 0);
    assert_false(rec.has_version);
    fog_buf_clear(&other);
}

/* The ways a record is refused, side by side, each with its own error: expired
 * (FOG_ERR_EXPIRED), embedding another key than the name's (FOG_ERR_WRONG_KEY), a bad signature
 * (FOG_ERR_AUTH), too large (FOG_ERR_LIMIT); a lower sequence loses the selection (the DHT then
 * refuses to replace the stored record with it: FOG_ERR_EXISTS, test_dht). */
static void test_ipns_rejections_distinct(void **state)
{
    (void)state;
    uint8_t pub_a[32], sec_a[64], name_a[FOG_PEER_ID_ED25519_LEN];
    uint8_t pub_b[32], sec_b[64];
    seeded_key(21, pub_a, sec_a);
    seeded_key(22, pub_b, sec_b);
    fog_peer_id_ed25519(pub_a, name_a);
    fog_ipns_time now = at(1700000000);
    fog_ipns_record rec;

    fog_buf old = {0};
    assert_int_equal(fog_ipns_create(&old, sec_a, (const uint8_t *)VALUE, strlen(VALUE), 1,
                                     1600000000LL * 1000000000LL, FOG_IPNS_TTL_NS),
                     0);
    assert_int_equal(fog_ipns_parse(&rec, old.p, old.len), 0);
    assert_int_equal(fog_ipns_validate(&rec, name_a, sizeof name_a, now), FOG_ERR_EXPIRED);

    /* B's record with B's key embedded (field 7: PublicKey {Type 1, Data 32 bytes}). */
    fog_buf wrong = {0};
    assert_int_equal(fog_ipns_create(&wrong, sec_b, (const uint8_t *)VALUE, strlen(VALUE), 1,
                                     EOL_NS, FOG_IPNS_TTL_NS),
                     0);
    const uint8_t pk_head[] = {0x3a, 36, 0x08, 0x01, 0x12, 32};
    assert_int_equal(fog_buf_append(&wrong, pk_head, sizeof pk_head), 0);
    assert_int_equal(fog_buf_append(&wrong, pub_b, sizeof pub_b), 0);
    assert_int_equal(fog_ipns_parse(&rec, wrong.p, wrong.len), 0);
    assert_int_equal(fog_ipns_validate(&rec, name_a, sizeof name_a, now), FOG_ERR_WRONG_KEY);

    fog_buf good = {0};
    assert_int_equal(fog_ipns_create(&good, sec_a, (const uint8_t *)VALUE, strlen(VALUE), 5,
                                     EOL_NS, FOG_IPNS_TTL_NS),
                     0);
    assert_int_equal(fog_ipns_parse(&rec, good.p, good.len), 0);
    assert_int_equal(fog_ipns_validate(&rec, name_a, sizeof name_a, now), 0);
    fog_ipns_record bad = rec;
    uint8_t sig[64];
    memcpy(sig, rec.sig_v2.p, sizeof sig);
    sig[10] ^= 0x40;
    bad.sig_v2 = fog_slice_make(sig, sizeof sig);
    assert_int_equal(fog_ipns_validate(&bad, name_a, sizeof name_a, now), FOG_ERR_AUTH);

    uint8_t *big = calloc(1, FOG_IPNS_RECORD_MAX + 1);
    assert_non_null(big);
    memcpy(big, good.p, good.len);
    assert_int_equal(fog_ipns_parse(&rec, big, FOG_IPNS_RECORD_MAX + 1), FOG_ERR_LIMIT);
    free(big);

    fog_buf lower = {0};
    assert_int_equal(fog_ipns_create(&lower, sec_a, (const uint8_t *)VALUE, strlen(VALUE), 4,
                                     EOL_NS, FOG_IPNS_TTL_NS),
                     0);
    uint8_t key[64];
    size_t klen = 0;
    memcpy(key, FOG_IPNS_KEY_PREFIX, 6);
    memcpy(key + 6, name_a, sizeof name_a);
    klen = 6 + sizeof name_a;
    fog_slice both[2] = {fog_slice_make(lower.p, lower.len), fog_slice_make(good.p, good.len)};
    size_t best = 9;
    assert_int_equal(fog_ipns_dht_select(key, klen, both, 2, &best), 0);
    assert_int_equal(best, 1);
    fog_buf_clear(&old);
    fog_buf_clear(&wrong);
    fog_buf_clear(&good);
    fog_buf_clear(&lower);
}

/* Flipping any bit outside signatureV1 (never verified, as the spec says) invalidates the
 * record; so does cutting it short anywhere. */
static void test_ipns_tampered_refused(void **state)
{
    (void)state;
    uint8_t pub[32], secret[64], name[FOG_PEER_ID_ED25519_LEN];
    seeded_key(9, pub, secret);
    fog_peer_id_ed25519(pub, name);
    fog_buf b = {0};
    assert_int_equal(fog_ipns_create(&b, secret, (const uint8_t *)VALUE, strlen(VALUE), 1, EOL_NS,
                                     FOG_IPNS_TTL_NS),
                     0);
    /* Layout: 0a <len> value, then 12 40 <64 bytes>: signatureV1 from 2 + len(value). */
    size_t sig1_at = 2 + strlen(VALUE), sig1_end = sig1_at + 2 + 64;
    assert_int_equal(b.p[sig1_at], 0x12);
    fog_ipns_record rec;
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            b.p[i] ^= (uint8_t)(1u << bit);
            int rc = verdict(b.p, b.len, name, sizeof name, at(1700000000), &rec);
            if (i >= sig1_at + 2 && i < sig1_end) {
                assert_int_equal(rc, 0);
            } else if (rc == 0) {
                fail_msg("flipping bit %d of byte %zu left the record valid", bit, i);
            }
            b.p[i] ^= (uint8_t)(1u << bit);
        }
    }
    for (size_t n = 0; n < b.len; n++) {
        assert_true(verdict(b.p, n, name, sizeof name, at(1700000000), &rec) < 0);
    }
    assert_int_equal(verdict(b.p, b.len, name, sizeof name, at(1700000000), &rec), 0);
    fog_buf_clear(&b);
}

static void test_ipns_size_limit(void **state)
{
    (void)state;
    uint8_t *big = calloc(1, FOG_IPNS_RECORD_MAX + 1);
    fog_ipns_record rec;
    assert_int_equal(fog_ipns_parse(&rec, big, FOG_IPNS_RECORD_MAX + 1), FOG_ERR_LIMIT);
    uint8_t pub[32], secret[64];
    seeded_key(1, pub, secret);
    fog_buf b = {0};
    /* The value is written twice (V1 and data): 6000 bytes cannot fit in 10 KiB. */
    memset(big, 'a', 6000);
    assert_int_equal(fog_ipns_create(&b, secret, big, 6000, 1, EOL_NS, 0), FOG_ERR_LIMIT);
    assert_int_equal(b.len, 0);
    assert_int_equal(fog_ipns_create(&b, secret, big, 4000, 1, EOL_NS, 0), 0);
    assert_true(b.len <= FOG_IPNS_RECORD_MAX);
    assert_int_equal(fog_ipns_create(&b, secret, big, 4, (uint64_t)INT64_MAX + 1, EOL_NS, 0),
                     FOG_ERR_INVALID);
    fog_buf_clear(&b);
    free(big);
}

/* A record protobuf holding only data (field 9) = the given CBOR, hex. */
static int parse_data_hex(const char *hex)
{
    uint8_t cbor[512], pb[520];
    size_t n = tl_unhex(hex, cbor, sizeof cbor);
    assert_true(n < 128);
    pb[0] = 0x4a;
    pb[1] = (uint8_t)n;
    memcpy(pb + 2, cbor, n);
    fog_ipns_record rec;
    return fog_ipns_parse(&rec, pb, n + 2);
}

/* Map entries in canonical order, as hex, for building maps in the strictness test. */
#define E_TTL "63" "54544c" "00"
#define E_VALUE "65" "56616c7565" "41" "2f"
#define E_SEQ "68" "53657175656e6365" "00"
#define E_VALIDITY "68" "56616c6964697479" "54" "313937302d30312d30315430303a30303a30305a"
#define E_VTYPE "6c" "56616c6964697479547970" "6500"

static void test_ipns_data_strict(void **state)
{
    (void)state;
    assert_int_equal(parse_data_hex("a5" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE), 0);
    /* Unknown keys are allowed ("_x" sorts first, being shorter), their values walked. */
    assert_int_equal(parse_data_hex("a6" "625f78" "82f5a1616101" E_TTL E_VALUE E_SEQ E_VALIDITY
                                     E_VTYPE), 0);
    assert_int_equal(parse_data_hex("a6" "625f78" "fb3ff0000000000000" E_TTL E_VALUE E_SEQ
                                    E_VALIDITY E_VTYPE), 0);
    static const char *bad[] = {
        "a5" E_VALUE E_TTL E_SEQ E_VALIDITY E_VTYPE,           /* unsorted: length first */
        "a5" E_TTL E_VALUE E_VALIDITY E_SEQ E_VTYPE,           /* unsorted: bytewise */
        "a5" E_TTL E_TTL E_SEQ E_VALIDITY E_VTYPE,             /* duplicate */
        "a4" E_TTL E_VALUE E_SEQ E_VALIDITY,                   /* ValidityType missing */
        "bf" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE "ff",      /* indefinite map */
        "a5" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE "00",      /* trailing byte */
        "b805" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE,         /* non-minimal length */
        "a5" "63" "54544c" "1800" E_VALUE E_SEQ E_VALIDITY E_VTYPE, /* non-minimal int */
        "a5" "63" "54544c" "20" E_VALUE E_SEQ E_VALIDITY E_VTYPE,   /* negative TTL */
        "a5" E_TTL E_VALUE "68" "53657175656e6365" "1b8000000000000000" E_VALIDITY E_VTYPE,
        "a5" E_TTL "65" "56616c7565" "612f" E_SEQ E_VALIDITY E_VTYPE, /* Value as text */
        "a5" E_TTL E_VALUE E_SEQ "68" "56616c6964697479" "4131" E_VTYPE, /* not RFC 3339 */
        "a6" "625f78" "f93c00" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE,   /* half float */
        "a6" "625f78" "fb7ff8000000000000" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE, /* NaN */
        "a6" "625f78" "c101" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE,     /* tag 1 */
        "a6" "625f78" "d82a4100" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE, /* tag 42, no CID */
        "a6" "625f78" "f7" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE,       /* undefined */
        "a6" "625f78" "61ff" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE,     /* bad UTF-8 */
        "a6" "01" "00" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE,           /* integer key */
        "85" E_TTL E_VALUE,                                              /* not a map */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse_data_hex(bad[i]);
        if (rc == 0) {
            fail_msg("bad data case %zu was accepted", i);
        }
        assert_true(rc == FOG_ERR_PROTO || rc == FOG_ERR_TRUNCATED || rc == FOG_ERR_LIMIT);
    }
    /* ValidityType 1 parses (its Validity is then not read as a time); validation refuses it. */
    assert_int_equal(parse_data_hex("a5" E_TTL E_VALUE E_SEQ "68" "56616c6964697479" "4131"
                                    "6c" "56616c6964697479547970" "65" "01"), 0);
}

static void test_ipns_protobuf_strict(void **state)
{
    (void)state;
    uint8_t pb[256];
    uint8_t cbor[128];
    size_t n = tl_unhex("a5" E_TTL E_VALUE E_SEQ E_VALIDITY E_VTYPE, cbor, sizeof cbor);
    fog_ipns_record rec;
    /* data twice */
    pb[0] = 0x4a;
    pb[1] = (uint8_t)n;
    memcpy(pb + 2, cbor, n);
    memcpy(pb + 2 + n, pb, n + 2);
    assert_int_equal(fog_ipns_parse(&rec, pb, 2 * (n + 2)), FOG_ERR_PROTO);
    /* an unknown field 15 (varint) is skipped */
    pb[n + 2] = 0x78;
    pb[n + 3] = 0x01;
    assert_int_equal(fog_ipns_parse(&rec, pb, n + 4), 0);
    /* sequence (5) as bytes: wrong wire type */
    pb[n + 2] = 0x2a;
    pb[n + 3] = 0x00;
    assert_int_equal(fog_ipns_parse(&rec, pb, n + 4), FOG_ERR_PROTO);
    /* no data: the spec's V1-only record */
    assert_int_equal(fog_ipns_parse(&rec, (const uint8_t *)"\x0a\x01/", 3), FOG_ERR_PROTO);
    /* no signatureV2: parses, never validates */
    assert_int_equal(fog_ipns_parse(&rec, pb, n + 2), 0);
    uint8_t name[FOG_PEER_ID_ED25519_LEN], pub[32] = {0};
    fog_peer_id_ed25519(pub, name);
    assert_int_equal(fog_ipns_validate(&rec, name, sizeof name, at(0)), FOG_ERR_AUTH);
}

static void test_ipns_select(void **state)
{
    (void)state;
    uint8_t pub[32], secret[64], name[FOG_PEER_ID_ED25519_LEN];
    seeded_key(3, pub, secret);
    fog_peer_id_ed25519(pub, name);
    uint8_t key[6 + FOG_PEER_ID_ED25519_LEN];
    memcpy(key, "/ipns/", 6);
    memcpy(key + 6, name, sizeof name);
    fog_buf r[6] = {{0}};
    const uint8_t *v = (const uint8_t *)VALUE;
    size_t vl = strlen(VALUE);
    assert_int_equal(fog_ipns_create(&r[0], secret, v, vl, 1, EOL_NS + 1000, 0), 0);
    assert_int_equal(fog_ipns_create(&r[1], secret, v, vl, 3, EOL_NS, 0), 0);
    assert_int_equal(fog_ipns_create(&r[2], secret, v, vl, 2, EOL_NS + 5000, 0), 0);
    assert_int_equal(fog_ipns_create(&r[3], secret, v, vl, 3, EOL_NS + 1, 0), 0); /* later EOL */
    assert_int_equal(fog_ipns_create(&r[4], secret, v, vl, 3, EOL_NS + 1, 7), 0); /* other TTL */
    assert_int_equal(fog_ipns_create(&r[5], secret, v, vl, 3, EOL_NS + 1, 0), 0); /* = r[3] */
    fog_slice s[6];
    for (int i = 0; i < 6; i++) {
        s[i] = fog_slice_make(r[i].p, r[i].len);
        assert_int_equal(fog_ipns_dht_validate(key, sizeof key, r[i].p, r[i].len, at(0)), 0);
    }
    size_t idx = 99;
    assert_int_equal(fog_ipns_dht_select(key, sizeof key, s, 3, &idx), 0);
    assert_int_equal(idx, 1); /* highest sequence */
    assert_int_equal(fog_ipns_dht_select(key, sizeof key, s, 4, &idx), 0);
    assert_int_equal(idx, 3); /* same sequence, later EOL */
    /* r[3] and r[4] tie on sequence and EOL: the bytewise-greater record wins. */
    fog_slice pair[2] = {s[3], s[4]};
    size_t n = s[3].len < s[4].len ? s[3].len : s[4].len;
    int c = memcmp(s[3].p, s[4].p, n);
    size_t greater = c > 0 || (c == 0 && s[3].len > s[4].len) ? 0 : 1;
    assert_int_equal(fog_ipns_dht_select(key, sizeof key, pair, 2, &idx), 0);
    assert_int_equal(idx, greater);
    /* Ed25519 signatures are deterministic: r[5] equals r[3], and the first is kept. */
    assert_true(fog_slice_eq(s[3], s[5]));
    fog_slice same[2] = {s[5], s[3]};
    assert_int_equal(fog_ipns_dht_select(key, sizeof key, same, 2, &idx), 0);
    assert_int_equal(idx, 0);
    assert_int_equal(fog_ipns_dht_select(key, sizeof key, s, 0, &idx), FOG_ERR_INVALID);
    fog_slice junk[2] = {s[0], fog_slice_make("\x01", 1)};
    assert_true(fog_ipns_dht_select(key, sizeof key, junk, 2, &idx) < 0);

    /* A record with signatureV2 beats one without, whatever the sequence. */
    fog_ipns_record a, b;
    assert_int_equal(fog_ipns_parse(&a, s[0].p, s[0].len), 0);
    assert_int_equal(fog_ipns_parse(&b, s[1].p, s[1].len), 0);
    assert_int_equal(fog_ipns_compare(&a, &b), -1);
    b.has_sig_v2 = false;
    assert_int_equal(fog_ipns_compare(&a, &b), 1);
    assert_int_equal(fog_ipns_compare(&b, &a), -1);
    for (int i = 0; i < 6; i++) {
        fog_buf_clear(&r[i]);
    }
}

static void time_ok(const char *s, int64_t sec, uint32_t nsec)
{
    fog_ipns_time t;
    int rc = fog_ipns_time_parse((const uint8_t *)s, strlen(s), &t);
    if (rc != 0) {
        fail_msg("%s: %s", s, fog_err_name(rc));
    }
    assert_int_equal(t.sec, sec);
    assert_int_equal(t.nsec, nsec);
}

static void time_bad(const char *s)
{
    fog_ipns_time t;
    if (fog_ipns_time_parse((const uint8_t *)s, strlen(s), &t) == 0) {
        fail_msg("%s was accepted", s);
    }
}

static void time_fmt(int64_t sec, uint32_t nsec, const char *want)
{
    char out[FOG_IPNS_TIME_STR_MAX];
    fog_ipns_time t = {sec, nsec};
    assert_int_equal(fog_ipns_time_format(t, out), (int)strlen(want));
    assert_string_equal(out, want);
}

/* Seconds from Python: datetime(..., tzinfo=timezone.utc).timestamp(). */
static void test_ipns_time(void **state)
{
    (void)state;
    time_ok("1970-01-01T00:00:00.000000001Z", 0, 1);
    time_ok("2000-02-29T00:00:00Z", 951782400, 0);
    time_ok("2123-08-14T12:17:03.694052Z", 4847689023, 694052000);
    time_ok("2000-02-29T01:00:00+01:00", 951782400, 0);
    time_ok("1969-12-31T23:59:59.5Z", -1, 500000000);
    time_ok("0000-01-01T00:00:00Z", -62167219200, 0);
    time_ok("9999-12-31T23:59:59.999999999Z", 253402300799, 999999999);
    time_bad("2001-02-29T00:00:00Z");
    time_bad("2000-13-01T00:00:00Z");
    time_bad("2000-01-01T24:00:00Z");
    time_bad("2000-01-01T00:00:60Z");
    time_bad("2000-01-01T00:00:00");
    time_bad("2000-01-01T00:00:00.Z");
    time_bad("2000-01-01T00:00:00.0000000001Z");
    time_bad("2000-01-01 00:00:00Z");
    time_bad("2000-01-01T00:00:00Zx");
    time_bad("");
    time_fmt(0, 0, "1970-01-01T00:00:00Z");
    time_fmt(951782400, 500000000, "2000-02-29T00:00:00.5Z");
    time_fmt(4847689023, 694052000, "2123-08-14T12:17:03.694052Z");
    time_fmt(-1, 1, "1969-12-31T23:59:59.000000001Z");
    fog_ipns_time t = fog_ipns_time_from_ns(-1);
    assert_int_equal(t.sec, -1);
    assert_int_equal(t.nsec, 999999999);
    char out[FOG_IPNS_TIME_STR_MAX];
    fog_ipns_time far = {253402300800, 0}; /* year 10000 */
    assert_int_equal(fog_ipns_time_format(far, out), FOG_ERR_INVALID);
}

/* Protobuf bytes field, written here independently of src/names. */
static void pb_put(fog_buf *b, uint8_t field, const uint8_t *p, size_t n)
{
    assert_int_equal(fog_buf_u8(b, (uint8_t)(field << 3 | 2)), 0);
    assert_int_equal(fog_buf_uvarint(b, n), 0);
    assert_int_equal(fog_buf_append(b, p, n), 0);
}

/* The libp2p PublicKey protobuf of an OpenSSL key: DER SubjectPublicKeyInfo for RSA (0) and
 * ECDSA (3), the 33-byte compressed point for secp256k1 (2). */
static void libp2p_pubkey(EVP_PKEY *pkey, int type, fog_buf *out)
{
    uint8_t der[2048];
    size_t n;
    if (type == 2) {
        /* SEC 1 compression of the 04 || x || y point: 02 or 03 (y's parity) || x. */
        uint8_t pt[65];
        assert_int_equal(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                         pt, sizeof pt, &n), 1);
        assert_true(n == 65 && pt[0] == 0x04);
        der[0] = (uint8_t)(0x02 | (pt[64] & 1));
        memcpy(der + 1, pt + 1, 32);
        n = 33;
    } else {
        unsigned char *p = der;
        int len = i2d_PUBKEY(pkey, &p);
        assert_true(len > 0 && (size_t)len <= sizeof der);
        n = (size_t)len;
    }
    assert_int_equal(fog_buf_u8(out, 0x08), 0);
    assert_int_equal(fog_buf_u8(out, (uint8_t)type), 0);
    pb_put(out, 2, der, n);
}

/* A V2-only record signed by pkey over "ipns-signature:" + data (SHA-256; PKCS#1 v1.5 for RSA,
 * DER ECDSA otherwise), with the key in pubKey when embed; its name (peer ID) in name. */
static void foreign_record(EVP_PKEY *pkey, int type, bool embed, fog_buf *rec, uint8_t *name,
                           size_t *nlen)
{
    fog_buf key = {0}, data = {0}, msg = {0};
    libp2p_pubkey(pkey, type, &key);
    if (key.len <= 42) {
        name[0] = 0x00;
        name[1] = (uint8_t)key.len;
        memcpy(name + 2, key.p, key.len);
        *nlen = 2 + key.len;
    } else {
        name[0] = 0x12;
        name[1] = 0x20;
        fog_sha256(key.p, key.len, name + 2);
        *nlen = 34;
    }
    const char *validity = "2100-01-01T00:00:00Z";
    assert_int_equal(fog_ipns_data_encode(&data, (const uint8_t *)VALUE, strlen(VALUE),
                                          (const uint8_t *)validity, strlen(validity), 5, 0, NULL),
                     0);
    assert_int_equal(fog_buf_append(&msg, "ipns-signature:", 15), 0);
    assert_int_equal(fog_buf_append(&msg, data.p, data.len), 0);
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, msg.p, msg.len), 1);
    EVP_MD_CTX_free(ctx);
    if (embed) {
        pb_put(rec, 7, key.p, key.len);
    }
    pb_put(rec, 8, sig, sig_len);
    pb_put(rec, 9, data.p, data.len);
    fog_buf_clear(&key);
    fog_buf_clear(&data);
    fog_buf_clear(&msg);
}

static int foreign_verdict(EVP_PKEY *pkey, int type, bool embed)
{
    fog_buf rec = {0};
    uint8_t name[FOG_PEER_ID_MAX];
    size_t nlen;
    foreign_record(pkey, type, embed, &rec, name, &nlen);
    fog_ipns_record r;
    int rc = verdict(rec.p, rec.len, name, nlen, at(NOW_2025), &r);
    if (rc == 0) {
        /* One bit of the signature flipped: refused. */
        rec.p[rec.len - r.data.len - 3] ^= 1;
        assert_int_equal(verdict(rec.p, rec.len, name, nlen, at(NOW_2025), &r), FOG_ERR_AUTH);
    }
    fog_buf_clear(&rec);
    return rc;
}

/* ECDSA (P-256, key in the record, hashed name), secp256k1 (key inlined in the name, and also
 * embedded), and RSA keys, made and signed by OpenSSL as go-libp2p signs with them. */
static void test_ipns_other_key_types(void **state)
{
    (void)state;
    EVP_PKEY *p256 = EVP_EC_gen("P-256");
    EVP_PKEY *k1 = EVP_EC_gen("secp256k1");
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    EVP_PKEY *rsa_weak = EVP_RSA_gen(1024);
    assert_true(p256 != NULL && k1 != NULL && rsa != NULL && rsa_weak != NULL);
    assert_int_equal(foreign_verdict(p256, 3, true), 0);
    assert_int_equal(foreign_verdict(p256, 3, false), FOG_ERR_NOT_FOUND);
    assert_int_equal(foreign_verdict(k1, 2, false), 0);
    assert_int_equal(foreign_verdict(k1, 2, true), 0);
    assert_int_equal(foreign_verdict(rsa, 0, true), 0);
    /* go-libp2p refuses RSA keys under 2048 bits. */
    assert_int_equal(foreign_verdict(rsa_weak, 0, true), FOG_ERR_PROTO);
    /* A P-256 key announced as RSA: the key does not parse as the type it claims. */
    assert_int_equal(foreign_verdict(p256, 0, true), FOG_ERR_PROTO);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa_weak);
}

static int setup(void **state)
{
    (void)state;
    return fog_crypto_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipns_spec_vectors),
        cmocka_unit_test(test_ipns_data_encoder_matches_vectors),
        cmocka_unit_test(test_ipns_v1_signature_form),
        cmocka_unit_test(test_ipns_real_records),
        cmocka_unit_test(test_ipns_other_key_types),
        cmocka_unit_test(test_ipns_create_roundtrip),
        cmocka_unit_test(test_ipns_data_encode_bytes),
        cmocka_unit_test(test_ipns_version_link),
        cmocka_unit_test(test_ipns_rejections_distinct),
        cmocka_unit_test(test_ipns_tampered_refused),
        cmocka_unit_test(test_ipns_size_limit),
        cmocka_unit_test(test_ipns_data_strict),
        cmocka_unit_test(test_ipns_protobuf_strict),
        cmocka_unit_test(test_ipns_select),
        cmocka_unit_test(test_ipns_time),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
