/* test_multiaddr.c: multiaddr binary and text forms, and peer ID text parsing.
 * Expected bytes are worked out by hand from the multiaddr README (code varint, then the value:
 * "/ip4/127.0.0.1/udp/1234" is 04 7f000001 9102 04d2, the README's own example) and the
 * multicodec table. Peer ID texts come from libp2p/specs peer-ids.md (the "bafzbeie5..." and
 * "QmYyQSo1..." examples name the same key) and from $FOG_VECTORS/libp2p-specs (the PublicKey
 * protobufs, with the derived peer IDs that the vectors README lists); vector tests skip with a
 * printed line when the folder is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fog/crypto.h"
#include "fog/mf.h"
#include "fog/multiaddr.h"
#include "testlib.h"

#define QM_EXAMPLE "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
#define BAFZ_EXAMPLE "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe"

/* Parses text, checks its binary form against hex, and that it formats back to canon. */
static void check_text(const char *text, const char *hex, const char *canon)
{
    fog_multiaddr ma;
    int rc = fog_multiaddr_parse(&ma, text);
    if (rc != 0) {
        print_message("%s: %s\n", text, fog_err_detail(rc));
    }
    assert_int_equal(rc, 0);
    uint8_t want[FOG_MULTIADDR_MAX];
    size_t n = tl_unhex(hex, want, sizeof want);
    assert_int_equal(ma.len, n);
    assert_memory_equal(ma.bytes, want, n);
    char out[FOG_MULTIADDR_STR_MAX];
    rc = fog_multiaddr_format(&ma, out, sizeof out);
    assert_int_equal(rc, (int)strlen(canon));
    assert_string_equal(out, canon);
    assert_string_equal(fog_multiaddr_str(&ma), canon);
    fog_multiaddr back;
    assert_int_equal(fog_multiaddr_from_bytes(&back, want, n), 0);
    assert_true(fog_multiaddr_eq(&back, &ma));
}

static void test_multiaddr_text_to_binary(void **state)
{
    (void)state;
    /* the README example; udp = 0x0111 -> varint 91 02; 1234 = 0x04d2 */
    check_text("/ip4/127.0.0.1/udp/1234", "047f000001910204d2", "/ip4/127.0.0.1/udp/1234");
    check_text("/ip4/1.2.3.4/tcp/4001", "0401020304060fa1", "/ip4/1.2.3.4/tcp/4001");
    /* ip6 = 0x29, 16 bytes; 80 = 0x0050 */
    check_text("/ip6/::1/tcp/80", "29" "000000000000000000000000000000" "01" "060050",
               "/ip6/::1/tcp/80");
    check_text("/ip6/2001:db8::ff00:42:8329/udp/0",
               "29" "20010db8000000000000ff0000428329" "91020000",
               "/ip6/2001:db8::ff00:42:8329/udp/0");
    check_text("/ip6/0:0:0:0:0:0:0:1/tcp/80", "29" "000000000000000000000000000000" "01" "060050",
               "/ip6/::1/tcp/80");
    /* dns4 = 0x36, LP name; 443 = 0x01bb */
    check_text("/dns4/example.com/tcp/443", "360b6578616d706c652e636f6d0601bb",
               "/dns4/example.com/tcp/443");
    check_text("/dnsaddr/bootstrap.libp2p.io", "3813626f6f7473747261702e6c69627032702e696f",
               "/dnsaddr/bootstrap.libp2p.io");
    check_text("/dns/a/tcp/0", "350161" "060000", "/dns/a/tcp/0");
    check_text("/dns6/h/udp/65535", "370168" "9102ffff", "/dns6/h/udp/65535");
    /* quic-v1 = 0x01cd -> cd 03; ws = 0x01dd -> dd 03; no values */
    check_text("/ip4/1.2.3.4/udp/4001/quic-v1", "04010203049102" "0fa1" "cd03",
               "/ip4/1.2.3.4/udp/4001/quic-v1");
    check_text("/ip4/1.2.3.4/tcp/1/ws", "040102030406" "0001" "dd03", "/ip4/1.2.3.4/tcp/1/ws");
    /* trailing slashes are ignored, like go-multiaddr */
    check_text("/ip4/1.2.3.4/tcp/1//", "04010203040600" "01", "/ip4/1.2.3.4/tcp/1");
}

/* The multihash of the spec's RSA example peer ID, decoded from its base58btc text. */
static size_t qm_example(uint8_t *out, size_t cap)
{
    int n = fog_base_decode(FOG_BASE58BTC, QM_EXAMPLE, strlen(QM_EXAMPLE), out, cap);
    assert_int_equal(n, 34);
    assert_int_equal(out[0], 0x12); /* sha2-256 */
    assert_int_equal(out[1], 0x20);
    return (size_t)n;
}

static void test_multiaddr_p2p_forms(void **state)
{
    (void)state;
    uint8_t mh[64];
    size_t mh_len = qm_example(mh, sizeof mh);
    /* p2p = 0x01a5 -> a5 03, then uvarint 34 (0x22) and the multihash */
    uint8_t want[64] = {0x04, 1, 2, 3, 4, 0x06, 0x0f, 0xa1, 0xa5, 0x03, 0x22};
    memcpy(want + 11, mh, mh_len);
    const char *forms[] = {
        "/ip4/1.2.3.4/tcp/4001/p2p/" QM_EXAMPLE,
        "/ip4/1.2.3.4/tcp/4001/ipfs/" QM_EXAMPLE, /* legacy name */
        "/ip4/1.2.3.4/tcp/4001/p2p/" BAFZ_EXAMPLE, /* CIDv1 libp2p-key */
    };
    for (size_t i = 0; i < 3; i++) {
        fog_multiaddr ma;
        assert_int_equal(fog_multiaddr_parse(&ma, forms[i]), 0);
        assert_int_equal(ma.len, 11 + mh_len);
        assert_memory_equal(ma.bytes, want, 11 + mh_len);
        assert_string_equal(fog_multiaddr_str(&ma), forms[0]);
        fog_slice id;
        assert_int_equal(fog_multiaddr_peer_id(&ma, &id), 0);
        assert_int_equal(id.len, mh_len);
        assert_memory_equal(id.p, mh, mh_len);
    }
}

static void expect_text_error(const char *text, int code)
{
    fog_multiaddr ma = {0};
    ma.len = 7;
    int rc = fog_multiaddr_parse(&ma, text);
    if (rc != code) {
        print_message("\"%s\": got %s\n", text, fog_err_name(rc));
    }
    assert_int_equal(rc, code);
    assert_int_equal(ma.len, 7); /* unchanged */
    assert_non_null(strstr(fog_err_detail(rc), "invalid multiaddr"));
}

static void test_multiaddr_text_rejects(void **state)
{
    (void)state;
    expect_text_error("", FOG_ERR_PROTO);
    expect_text_error("/", FOG_ERR_PROTO);
    expect_text_error("ip4/1.2.3.4", FOG_ERR_PROTO);
    expect_text_error("/ip4", FOG_ERR_PROTO);
    expect_text_error("/ip4/", FOG_ERR_PROTO);
    expect_text_error("/ip4/256.0.0.1", FOG_ERR_PROTO);
    expect_text_error("/ip4/1.2.3", FOG_ERR_PROTO);
    expect_text_error("/ip4/::1", FOG_ERR_PROTO);
    expect_text_error("/ip6/1.2.3.4", FOG_ERR_PROTO);
    expect_text_error("/ip6/::g", FOG_ERR_PROTO);
    expect_text_error("/ip4/1.2.3.4/tcp/65536", FOG_ERR_PROTO);
    expect_text_error("/ip4/1.2.3.4/tcp/-1", FOG_ERR_PROTO);
    expect_text_error("/ip4/1.2.3.4/tcp/80x", FOG_ERR_PROTO);
    expect_text_error("/ip4/1.2.3.4/tcp/1000000", FOG_ERR_PROTO);
    expect_text_error("/ip4/1.2.3.4//tcp/1", FOG_ERR_PROTO);
    expect_text_error("/ip4/1.2.3.4/tcp/1/garbage", FOG_ERR_UNSUPPORTED);
    expect_text_error("/unix/tmp", FOG_ERR_UNSUPPORTED);
    expect_text_error("/p2p/notapeerid", FOG_ERR_PROTO);
    expect_text_error("/p2p/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                      FOG_ERR_PROTO); /* a dag-pb CID, not libp2p-key */
    expect_text_error("/quic-v1/1", FOG_ERR_UNSUPPORTED); /* "1" read as a protocol name */
    char big[FOG_MULTIADDR_STR_MAX + 8];
    memset(big, 'a', sizeof big - 1);
    big[0] = '/';
    big[sizeof big - 1] = '\0';
    expect_text_error(big, FOG_ERR_LIMIT);
    /* a DNS name longer than FOG_MULTIADDR_NAME_MAX */
    char name[300] = "/dns/";
    memset(name + 5, 'x', 260);
    name[265] = '\0';
    expect_text_error(name, FOG_ERR_PROTO);
    /* 30 names of 9 bytes: 30 * 11 bytes passes FOG_MULTIADDR_MAX */
    char many[512] = "";
    for (int i = 0; i < 30; i++) {
        strcat(many, "/sni/aaaaaaaaa");
    }
    expect_text_error(many, FOG_ERR_LIMIT);
}

static void expect_bin_error(const char *hex, int code)
{
    uint8_t b[FOG_MULTIADDR_MAX + 16];
    size_t n = tl_unhex(hex, b, sizeof b);
    fog_multiaddr ma = {0};
    int rc = fog_multiaddr_from_bytes(&ma, b, n);
    if (rc != code) {
        print_message("%s: got %s\n", hex, fog_err_name(rc));
    }
    assert_int_equal(rc, code);
    assert_int_equal(ma.len, 0);
}

static void test_multiaddr_binary_rejects(void **state)
{
    (void)state;
    expect_bin_error("", FOG_ERR_PROTO);
    expect_bin_error("047f00", FOG_ERR_TRUNCATED);                 /* ip4 cut short */
    expect_bin_error("047f0000010600", FOG_ERR_TRUNCATED);         /* port cut short */
    expect_bin_error("047f00000106", FOG_ERR_TRUNCATED);           /* port missing */
    expect_bin_error("2a0165", FOG_ERR_UNSUPPORTED);               /* ip6zone: not supported */
    expect_bin_error("ffffffff0f", FOG_ERR_UNSUPPORTED);           /* unknown code */
    expect_bin_error("8400" "7f000001", FOG_ERR_PROTO);            /* non-minimal varint */
    expect_bin_error("3505616263", FOG_ERR_TRUNCATED);             /* name length past end */
    expect_bin_error("3500", FOG_ERR_PROTO);                       /* empty name */
    expect_bin_error("3503612f62", FOG_ERR_PROTO);                 /* "a/b" */
    expect_bin_error("350361000a", FOG_ERR_PROTO);                 /* NUL in a name */
    expect_bin_error("a503031201aa", FOG_ERR_PROTO);               /* sha2-256 of 1 byte */
    expect_bin_error("a503041201aabb", FOG_ERR_PROTO);             /* trailing byte in value */
    expect_bin_error("a50300", FOG_ERR_PROTO);                     /* empty peer ID */
    expect_bin_error("d2030412010000", FOG_ERR_PROTO);             /* certhash: trailing byte */
}

/* The rejects that need computed input. */
static void test_multiaddr_binary_rejects_built(void **state)
{
    (void)state;
    fog_multiaddr ma;
    uint8_t b[FOG_MULTIADDR_MAX + 2];
    /* identity peer ID with a 43-byte key: longer than any inlined key (spec: 42) */
    size_t n = 0;
    b[n++] = 0xa5;
    b[n++] = 0x03;
    b[n++] = 45;
    b[n++] = 0x00;
    b[n++] = 43;
    memset(b + n, 7, 43);
    n += 43;
    assert_int_equal(fog_multiaddr_from_bytes(&ma, b, n), FOG_ERR_PROTO);
    b[2] = 44;
    b[4] = 42;
    assert_int_equal(fog_multiaddr_from_bytes(&ma, b, n - 1), 0);
    /* sha2-512 peer IDs are not produced by any key: unsupported */
    uint8_t sha512[] = {0xa5, 0x03, 0x03, 0x13, 0x01, 0xaa};
    assert_int_equal(fog_multiaddr_from_bytes(&ma, sha512, sizeof sha512), FOG_ERR_UNSUPPORTED);
    /* more than FOG_MULTIADDR_MAX bytes */
    for (size_t i = 0; i + 2 <= sizeof b; i += 2) {
        b[i] = 0xdd; /* ws, ws, ws... */
        b[i + 1] = 0x03;
    }
    assert_int_equal(fog_multiaddr_from_bytes(&ma, b, FOG_MULTIADDR_MAX), 0);
    assert_int_equal(fog_multiaddr_from_bytes(&ma, b, FOG_MULTIADDR_MAX + 2), FOG_ERR_LIMIT);
    /* the longest text: 128 components of "/webtransport" fit FOG_MULTIADDR_STR_MAX */
    for (size_t i = 0; i + 2 <= FOG_MULTIADDR_MAX; i += 2) {
        b[i] = 0xd1;
        b[i + 1] = 0x03;
    }
    assert_int_equal(fog_multiaddr_from_bytes(&ma, b, FOG_MULTIADDR_MAX), 0);
    char text[FOG_MULTIADDR_STR_MAX];
    assert_int_equal(fog_multiaddr_format(&ma, text, sizeof text), 128 * 13);
    fog_multiaddr back;
    assert_int_equal(fog_multiaddr_parse(&back, text), 0);
    assert_true(fog_multiaddr_eq(&back, &ma));
    /* no room for the NUL */
    assert_int_equal(fog_multiaddr_format(&ma, text, 128 * 13), FOG_ERR_LIMIT);
    assert_string_equal(text, "");
}

static void test_multiaddr_accessors(void **state)
{
    (void)state;
    fog_multiaddr ma;
    const char *circuit = "/ip6/fe80::1/udp/4001/quic-v1/p2p/" QM_EXAMPLE
                          "/p2p-circuit/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
    assert_int_equal(fog_multiaddr_parse(&ma, circuit), 0);
    assert_string_equal(fog_multiaddr_str(&ma), circuit);
    int family = 0;
    uint8_t ip[16];
    assert_int_equal(fog_multiaddr_ip(&ma, &family, ip), 0);
    assert_int_equal(family, 6);
    assert_int_equal(ip[0], 0xfe);
    assert_int_equal(ip[1], 0x80);
    assert_int_equal(ip[15], 0x01);
    uint16_t port = 0;
    assert_int_equal(fog_multiaddr_port(&ma, FOG_MA_UDP, &port), 0);
    assert_int_equal(port, 4001);
    assert_int_equal(fog_multiaddr_port(&ma, FOG_MA_TCP, &port), FOG_ERR_NOT_FOUND);
    /* the last /p2p names the peer behind the relay: an Ed25519 identity multihash */
    fog_slice id;
    assert_int_equal(fog_multiaddr_peer_id(&ma, &id), 0);
    assert_int_equal(id.len, FOG_PEER_ID_ED25519_LEN);
    assert_int_equal(id.p[0], 0x00);
    assert_int_equal(id.p[1], 36);
    uint64_t codes[8];
    size_t n = 0, off = 0;
    fog_ma_component c;
    while (n < 8 && fog_multiaddr_next(&ma, &off, &c) == 1) {
        codes[n++] = c.code;
    }
    assert_int_equal(n, 6);
    assert_int_equal(codes[0], FOG_MA_IP6);
    assert_int_equal(codes[2], FOG_MA_QUIC_V1);
    assert_int_equal(codes[4], FOG_MA_P2P_CIRCUIT);
    assert_int_equal(codes[5], FOG_MA_P2P);
    assert_false(fog_multiaddr_find(&ma, FOG_MA_TCP, &id));
    assert_string_equal(fog_multiaddr_proto_name(FOG_MA_DNSADDR), "dnsaddr");
    assert_null(fog_multiaddr_proto_name(0x2a));
    /* no IP at all */
    assert_int_equal(fog_multiaddr_parse(&ma, "/dns4/example.com/tcp/1"), 0);
    assert_int_equal(fog_multiaddr_ip(&ma, &family, ip), FOG_ERR_NOT_FOUND);
    assert_int_equal(fog_multiaddr_peer_id(&ma, &id), FOG_ERR_NOT_FOUND);
}

static void test_multiaddr_build(void **state)
{
    (void)state;
    fog_multiaddr ma;
    uint8_t v4[4] = {10, 0, 0, 1};
    assert_int_equal(fog_multiaddr_ip_tcp(&ma, 4, v4, 4001), 0);
    assert_string_equal(fog_multiaddr_str(&ma), "/ip4/10.0.0.1/tcp/4001");
    uint8_t v6[16] = {0};
    v6[15] = 1;
    assert_int_equal(fog_multiaddr_ip_tcp(&ma, 6, v6, 1), 0);
    assert_string_equal(fog_multiaddr_str(&ma), "/ip6/::1/tcp/1");
    assert_int_equal(fog_multiaddr_ip_tcp(&ma, 5, v6, 1), FOG_ERR_INVALID);
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    uint8_t pub[32] = {0};
    fog_peer_id_ed25519(pub, id);
    assert_int_equal(fog_multiaddr_push(&ma, FOG_MA_P2P, id, sizeof id), 0);
    fog_slice got;
    assert_int_equal(fog_multiaddr_peer_id(&ma, &got), 0);
    assert_memory_equal(got.p, id, sizeof id);
    size_t before = ma.len;
    assert_int_equal(fog_multiaddr_push(&ma, FOG_MA_TCP, id, 3), FOG_ERR_PROTO);
    assert_int_equal(fog_multiaddr_push(&ma, FOG_MA_WS, id, 1), FOG_ERR_PROTO);
    assert_int_equal(fog_multiaddr_push(&ma, 0x2a, NULL, 0), FOG_ERR_UNSUPPORTED);
    assert_int_equal(fog_multiaddr_push(&ma, FOG_MA_P2P, id, 5), FOG_ERR_PROTO);
    assert_int_equal(ma.len, before);
    /* certhash: a multihash, written as base64url multibase */
    fog_multiaddr w = {0};
    uint8_t ch[] = {0x12, 0x02, 0xab, 0xcd};
    assert_int_equal(fog_multiaddr_push(&w, FOG_MA_CERTHASH, ch, sizeof ch), 0);
    assert_string_equal(fog_multiaddr_str(&w), "/certhash/uEgKrzQ"); /* base64url of 1202abcd */
    fog_multiaddr back;
    assert_int_equal(fog_multiaddr_parse(&back, "/certhash/f1202abcd"), 0);
    assert_true(fog_multiaddr_eq(&back, &w));
}

/* ---- peer IDs ---- */

static void test_multiaddr_peer_id_spec_examples(void **state)
{
    (void)state;
    uint8_t a[FOG_PEER_ID_MAX], b[FOG_PEER_ID_MAX], mh[64];
    size_t mh_len = qm_example(mh, sizeof mh);
    int na = fog_peer_id_parse(QM_EXAMPLE, a);
    int nb = fog_peer_id_parse(BAFZ_EXAMPLE, b);
    assert_int_equal(na, (int)mh_len);
    assert_int_equal(nb, (int)mh_len);
    assert_memory_equal(a, mh, mh_len);
    assert_memory_equal(b, mh, mh_len);
    /* upper-case base32 and the base36 form name the same key */
    char text[FOG_CID_STR_MAX];
    assert_true(fog_peer_id_format_cid(a, mh_len, 'b', text, sizeof text) > 0);
    assert_string_equal(text, BAFZ_EXAMPLE);
    assert_true(fog_peer_id_format_cid(a, mh_len, 'B', text, sizeof text) > 0);
    assert_int_equal(fog_peer_id_parse(text, b), (int)mh_len);
    assert_memory_equal(b, mh, mh_len);
    assert_true(fog_peer_id_format_cid(a, mh_len, 0, text, sizeof text) > 0);
    assert_int_equal(text[0], 'k');
    assert_int_equal(fog_peer_id_parse(text, b), (int)mh_len);
    assert_memory_equal(b, mh, mh_len);
    /* Ed25519 identity IDs in base36 are the familiar IPNS names "k51qzi5uqu5d..." */
    uint8_t pub[32], id[FOG_PEER_ID_ED25519_LEN];
    memset(pub, 0x5a, sizeof pub);
    fog_peer_id_ed25519(pub, id);
    assert_true(fog_peer_id_format_cid(id, sizeof id, 0, text, sizeof text) > 0);
    assert_memory_equal(text, "k51qzi5uqu5d", 12);
    assert_int_equal(fog_peer_id_parse(text, b), (int)sizeof id);
    assert_memory_equal(b, id, sizeof id);
}

static void test_multiaddr_peer_id_vectors(void **state)
{
    (void)state;
    /* The derived peer IDs listed in $FOG_VECTORS/README.md for the public keys of
     * peer-id-key-vectors.csv, in the order of the csv's public-key lines. */
    static const struct {
        const char *key;
        const char *text;
    } want[] = {
        {"ECDSA public key", "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk"},
        {"ED25519 public key", "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"},
        {"RSA public key", "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG"},
        {"Secp256k1 public key", "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY"},
    };
    char path[1024];
    FILE *f = tl_vec_fopen("libp2p-specs/peer-id-key-vectors.csv", path, sizeof path);
    if (f == NULL) {
        return;
    }
    char line[4096];
    size_t seen = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char *comma = strchr(line, ',');
        if (comma == NULL) {
            continue;
        }
        *comma = '\0';
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            if (strcasecmp(line, want[i].key) != 0) {
                continue;
            }
            char *hex = comma + 1;
            hex[strcspn(hex, "\r\n")] = '\0';
            uint8_t pb[1024], id[FOG_PEER_ID_MAX], got[FOG_PEER_ID_MAX];
            size_t pb_len = tl_unhex(hex, pb, sizeof pb);
            size_t id_len;
            if (pb_len <= 42) { /* spec: inline keys of at most 42 bytes */
                id[0] = 0x00;
                id[1] = (uint8_t)pb_len;
                memcpy(id + 2, pb, pb_len);
                id_len = pb_len + 2;
            } else {
                id[0] = 0x12;
                id[1] = 0x20;
                fog_sha256(pb, pb_len, id + 2);
                id_len = 34;
            }
            assert_int_equal(fog_peer_id_parse(want[i].text, got), (int)id_len);
            assert_memory_equal(got, id, id_len);
            char text[FOG_CID_STR_MAX];
            assert_true(fog_peer_id_format(id, id_len, text, sizeof text) > 0);
            assert_string_equal(text, want[i].text);
            seen++;
        }
    }
    fclose(f);
    assert_int_equal(seen, 4);
}

static void expect_peer_error(const char *text, int code)
{
    uint8_t out[FOG_PEER_ID_MAX];
    int rc = fog_peer_id_parse(text, out);
    if (rc != code) {
        print_message("\"%s\": got %s\n", text, fog_err_name(rc));
    }
    assert_int_equal(rc, code);
    assert_non_null(strstr(fog_err_detail(rc), "invalid peer ID"));
}

static void test_multiaddr_peer_id_rejects(void **state)
{
    (void)state;
    expect_peer_error("", FOG_ERR_PROTO);
    expect_peer_error("Qm0000", FOG_ERR_PROTO);   /* '0' is not base58 */
    uint8_t tmp[FOG_PEER_ID_MAX];
    /* one character short: some other number, not a peer ID multihash */
    assert_true(fog_peer_id_parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5", tmp) < 0);
    expect_peer_error("12D3KooW", FOG_ERR_TRUNCATED); /* 00 24 ...: a 36-byte key cut short */
    /* a CIDv1 with codec dag-pb, and a CIDv0 in multibase: not CIDv1 libp2p-key */
    expect_peer_error("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", FOG_ERR_PROTO);
    char v0[80] = "f1220";
    memset(v0 + 5, '0', 64);
    v0[69] = '\0';
    expect_peer_error(v0, FOG_ERR_PROTO);
    expect_peer_error("x123", FOG_ERR_UNSUPPORTED); /* unknown multibase */
    /* CIDv1 libp2p-key over sha2-512 (f 01 72 13 01 aa): no key makes one */
    expect_peer_error("f01721301aa", FOG_ERR_UNSUPPORTED);
    /* CIDv1 libp2p-key over sha2-256 with a 1-byte digest */
    expect_peer_error("f01721201aa", FOG_ERR_PROTO);
    char big[FOG_PEER_ID_TEXT_MAX + 2];
    memset(big, 'Q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_peer_error(big, FOG_ERR_LIMIT);
    /* an identity multihash of 43 bytes, written as base58btc: b58("00 2b" + 43 bytes) */
    uint8_t id[45] = {0x00, 43};
    memset(id + 2, 1, 43);
    char text[128];
    assert_true(fog_peer_id_format(id, sizeof id, text, sizeof text) > 0);
    assert_int_equal(text[0], '1'); /* a leading zero byte is '1' in base58btc */
    expect_peer_error(text, FOG_ERR_PROTO);
    assert_int_equal(fog_peer_id_check(id, 44), FOG_ERR_TRUNCATED); /* says 43, 42 follow */
    id[1] = 42;
    assert_int_equal(fog_peer_id_check(id, 44), 0);
    assert_int_equal(fog_peer_id_check(id, 45), FOG_ERR_PROTO); /* trailing byte */
    char out[FOG_CID_STR_MAX];
    assert_int_equal(fog_peer_id_format_cid(id, 45, 0, out, sizeof out), FOG_ERR_PROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multiaddr_text_to_binary),
        cmocka_unit_test(test_multiaddr_p2p_forms),
        cmocka_unit_test(test_multiaddr_text_rejects),
        cmocka_unit_test(test_multiaddr_binary_rejects),
        cmocka_unit_test(test_multiaddr_binary_rejects_built),
        cmocka_unit_test(test_multiaddr_accessors),
        cmocka_unit_test(test_multiaddr_build),
        cmocka_unit_test(test_multiaddr_peer_id_spec_examples),
        cmocka_unit_test(test_multiaddr_peer_id_vectors),
        cmocka_unit_test(test_multiaddr_peer_id_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
