/* test_identify.c: the identify message codec (libp2p/specs identify/README.md; PROTOCOLS.md 3.5).
 * Expected bytes are written out by hand from the protobuf wire format: a field key is
 * (field number << 3) | wire type, so the length-delimited fields of Identify have the keys
 * 0a (publicKey = 1), 12 (listenAddrs = 2), 1a (protocols = 3), 22 (observedAddr = 4),
 * 2a (protocolVersion = 5), 32 (agentVersion = 6) and 42 (signedPeerRecord = 8). The code
 * protoc-c generates from proto/identify.proto serves as an independent encoder and decoder.
 * Merging and the limits follow go-libp2p p2p/protocol/identify/id.go (10 messages of at most
 * 8 KiB, proto.Merge, unparsable addresses skipped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fog/identify.h"
#include "fog/mf.h"
#include "fog/multiaddr.h"
#include "proto/identify.pb-c.h"
#include "testlib.h"

static fog_multiaddr ma_of(const char *text)
{
    fog_multiaddr ma;
    assert_int_equal(fog_multiaddr_parse(&ma, text), 0);
    return ma;
}

/* Appends one uvarint-prefixed message body to b. */
static void frame(fog_buf *b, const uint8_t *body, size_t len)
{
    assert_int_equal(fog_buf_uvarint(b, len), 0);
    assert_int_equal(fog_buf_append(b, body, len), 0);
}

static int parse_buf(fog_identify_parsed *p, const fog_buf *b)
{
    return fog_identify_parse(p, b->p != NULL ? b->p : (const uint8_t *)"", b->len);
}

static void test_identify_round_trip(void **state)
{
    (void)state;
    uint8_t pub[32], id[FOG_PEER_ID_ED25519_LEN];
    memset(pub, 0x42, sizeof pub);
    fog_peer_id_ed25519(pub, id);
    fog_multiaddr addrs[2] = {ma_of("/ip4/1.2.3.4/tcp/4001"), ma_of("/ip6/::1/udp/1/quic-v1")};
    fog_multiaddr obs = ma_of("/ip4/5.6.7.8/tcp/9");
    const char *protos[] = {"/ipfs/id/1.0.0", "/ipfs/kad/1.0.0", "/ipfs/bitswap/1.2.0"};
    uint8_t spr[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    fog_identify_msg m = {
        .public_key = fog_slice_make(id + 2, 36), /* the PublicKey protobuf inside the ID */
        .listen_addrs = addrs,
        .n_listen_addrs = 2,
        .protocols = protos,
        .n_protocols = 3,
        .observed_addr = &obs,
        .protocol_version = FOG_IDENTIFY_PROTOCOL_VERSION,
        .agent_version = FOG_IDENTIFY_AGENT,
        .signed_peer_record = fog_slice_make(spr, sizeof spr),
    };
    fog_buf b;
    fog_buf_init(&b);
    assert_int_equal(fog_identify_encode(&m, &b), 0);

    /* the prefix covers the rest, and protobuf-c reads the body the same way */
    fog_reader r;
    fog_reader_init(&r, b.p, b.len);
    uint64_t len;
    fog_reader_uvarint(&r, &len);
    assert_int_equal(r.err, 0);
    assert_int_equal(len, r.left);
    Identify *pb = identify__unpack(NULL, r.left, r.p);
    assert_non_null(pb);
    assert_true(pb->has_publickey);
    assert_int_equal(pb->publickey.len, 36);
    assert_memory_equal(pb->publickey.data, id + 2, 36);
    assert_int_equal(pb->n_listenaddrs, 2);
    assert_memory_equal(pb->listenaddrs[1].data, addrs[1].bytes, addrs[1].len);
    assert_int_equal(pb->n_protocols, 3);
    assert_string_equal(pb->protocols[2], "/ipfs/bitswap/1.2.0");
    assert_true(pb->has_observedaddr);
    assert_string_equal(pb->protocolversion, "ipfs/0.1.0");
    assert_memory_equal(pb->agentversion, "fog/", 4);
    assert_int_equal(pb->signedpeerrecord.len, sizeof spr);
    identify__free_unpacked(pb, NULL);

    fog_identify_parsed p;
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.n_messages, 1);
    assert_int_equal(p.addrs_skipped, 0);
    assert_false(p.observed_skipped);
    assert_int_equal(p.msg.public_key.len, 36);
    assert_memory_equal(p.msg.public_key.p, id + 2, 36);
    assert_int_equal(p.msg.n_listen_addrs, 2);
    assert_true(fog_multiaddr_eq(&p.msg.listen_addrs[0], &addrs[0]));
    assert_true(fog_multiaddr_eq(&p.msg.listen_addrs[1], &addrs[1]));
    assert_int_equal(p.msg.n_protocols, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(p.msg.protocols[i], protos[i]);
    }
    assert_non_null(p.msg.observed_addr);
    assert_true(fog_multiaddr_eq(p.msg.observed_addr, &obs));
    assert_string_equal(p.msg.protocol_version, "ipfs/0.1.0");
    assert_string_equal(p.msg.agent_version, FOG_IDENTIFY_AGENT);
    assert_int_equal(p.msg.signed_peer_record.len, sizeof spr);
    assert_memory_equal(p.msg.signed_peer_record.p, spr, sizeof spr);
    fog_identify_parsed_clear(&p);
    assert_null(p.mem);
    fog_identify_parsed_clear(&p); /* harmless twice */
    fog_identify_parsed_clear(NULL);
    fog_buf_clear(&b);
}

/* One message, written out byte by byte, with fields out of order and unknown fields. */
static void test_identify_parse_handmade(void **state)
{
    (void)state;
    static const uint8_t msg[] = {
        0x2a, 0x03, 'p', 'v', '1',                         /* protocolVersion "pv1" */
        0x0a, 0x02, 0x08, 0x01,                            /* publicKey 08 01 */
        0x12, 0x08, 0x04, 10, 0, 0, 1, 0x06, 0x0f, 0xa1,   /* /ip4/10.0.0.1/tcp/4001 */
        0x38, 0x96, 0x01,                                  /* unknown field 7, varint 150 */
        0x1a, 0x04, '/', 'a', '/', 'b',                    /* protocols "/a/b" */
        0xa2, 0x06, 0x02, 0xff, 0xfe,                      /* unknown field 100, 2 bytes */
        0x1a, 0x00,                                        /* protocols "" */
        0x22, 0x05, 0x04, 192, 168, 0, 1,                  /* observedAddr /ip4/192.168.0.1 */
        0x45, 1, 2, 3, 4,                                  /* field 8, wire type 5 (fixed32) */
    };
    /* signedPeerRecord as fixed32: a known field with the wrong wire type. */
    fog_identify_parsed p;
    uint8_t stream[sizeof msg + 1];
    stream[0] = (uint8_t)sizeof msg;
    memcpy(stream + 1, msg, sizeof msg);
    assert_int_equal(fog_identify_parse(&p, stream, sizeof stream), FOG_ERR_PROTO);
    assert_null(p.mem);
    /* without that last field the message is fine */
    size_t n = sizeof msg - 5;
    stream[0] = (uint8_t)n;
    assert_int_equal(fog_identify_parse(&p, stream, n + 1), 0);
    assert_int_equal(p.n_messages, 1);
    assert_string_equal(p.msg.protocol_version, "pv1");
    assert_null(p.msg.agent_version);
    assert_int_equal(p.msg.public_key.len, 2);
    assert_int_equal(p.msg.public_key.p[0], 0x08);
    assert_int_equal(p.msg.n_listen_addrs, 1);
    assert_string_equal(fog_multiaddr_str(&p.msg.listen_addrs[0]), "/ip4/10.0.0.1/tcp/4001");
    assert_int_equal(p.msg.n_protocols, 2);
    assert_string_equal(p.msg.protocols[0], "/a/b");
    assert_string_equal(p.msg.protocols[1], "");
    assert_string_equal(fog_multiaddr_str(p.msg.observed_addr), "/ip4/192.168.0.1");
    assert_int_equal(p.msg.signed_peer_record.len, 0);
    fog_identify_parsed_clear(&p);
    /* an empty stream and an empty message are both valid and empty */
    assert_int_equal(fog_identify_parse(&p, stream, 0), 0);
    assert_int_equal(p.n_messages, 0);
    assert_int_equal(p.msg.n_protocols, 0);
    assert_null(p.msg.observed_addr);
    assert_null(p.msg.protocol_version);
    fog_identify_parsed_clear(&p);
    static const uint8_t empty[] = {0x00};
    assert_int_equal(fog_identify_parse(&p, empty, 1), 0);
    assert_int_equal(p.n_messages, 1);
    fog_identify_parsed_clear(&p);
}

/* Two messages: repeated fields concatenate, a later singular field wins (proto.Merge). */
static void test_identify_merge(void **state)
{
    (void)state;
    static const uint8_t m1[] = {
        0x2a, 0x01, 'a',                                   /* protocolVersion "a" */
        0x32, 0x02, 'g', '1',                              /* agentVersion "g1" */
        0x1a, 0x02, '/', 'x',                              /* protocols "/x" */
        0x12, 0x07, 0x04, 1, 1, 1, 1, 0xdd, 0x03,          /* /ip4/1.1.1.1/ws */
        0x22, 0x05, 0x04, 9, 9, 9, 9,                      /* observedAddr /ip4/9.9.9.9 */
    };
    static const uint8_t m2[] = {
        0x2a, 0x01, 'b',                                   /* protocolVersion "b" */
        0x1a, 0x02, '/', 'y',                              /* protocols "/y" */
        0x12, 0x05, 0x04, 2, 2, 2, 2,                      /* /ip4/2.2.2.2 */
        0x42, 0x03, 0xaa, 0xbb, 0xcc,                      /* signedPeerRecord */
        0x2a, 0x01, 'c',                                   /* protocolVersion "c" again */
    };
    fog_buf b;
    fog_buf_init(&b);
    frame(&b, m1, sizeof m1);
    frame(&b, m2, sizeof m2);
    fog_identify_parsed p;
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.n_messages, 2);
    assert_string_equal(p.msg.protocol_version, "c");
    assert_string_equal(p.msg.agent_version, "g1");
    assert_int_equal(p.msg.n_protocols, 2);
    assert_string_equal(p.msg.protocols[0], "/x");
    assert_string_equal(p.msg.protocols[1], "/y");
    assert_int_equal(p.msg.n_listen_addrs, 2);
    assert_string_equal(fog_multiaddr_str(&p.msg.listen_addrs[0]), "/ip4/1.1.1.1/ws");
    assert_string_equal(fog_multiaddr_str(&p.msg.listen_addrs[1]), "/ip4/2.2.2.2");
    assert_string_equal(fog_multiaddr_str(p.msg.observed_addr), "/ip4/9.9.9.9");
    assert_int_equal(p.msg.signed_peer_record.len, 3);
    assert_int_equal(p.msg.signed_peer_record.p[2], 0xcc);
    fog_identify_parsed_clear(&p);
    fog_buf_clear(&b);
}

/* Addresses fog cannot parse are skipped, as go-libp2p skips them; a later unparsable
 * observedAddr replaces an earlier good one and is then dropped (go merges, then parses). */
static void test_identify_skips_bad_addrs(void **state)
{
    (void)state;
    static const uint8_t m1[] = {
        0x12, 0x03, 0x2a, 0x01, 'x',                       /* /ip6zone/x: unsupported */
        0x12, 0x03, 0x04, 1, 2,                            /* ip4 cut short */
        0x12, 0x05, 0x04, 3, 3, 3, 3,                      /* /ip4/3.3.3.3: fine */
        0x12, 0x00,                                        /* empty */
        0x22, 0x05, 0x04, 9, 9, 9, 9,                      /* observedAddr /ip4/9.9.9.9 */
    };
    static const uint8_t m2[] = {
        0x22, 0x02, 0x06, 0x00,                            /* observedAddr: tcp cut short */
    };
    fog_buf b;
    fog_buf_init(&b);
    frame(&b, m1, sizeof m1);
    fog_identify_parsed p;
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.addrs_skipped, 3);
    assert_int_equal(p.msg.n_listen_addrs, 1);
    assert_string_equal(fog_multiaddr_str(&p.msg.listen_addrs[0]), "/ip4/3.3.3.3");
    assert_non_null(p.msg.observed_addr);
    assert_false(p.observed_skipped);
    fog_identify_parsed_clear(&p);
    frame(&b, m2, sizeof m2);
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_null(p.msg.observed_addr);
    assert_true(p.observed_skipped);
    fog_identify_parsed_clear(&p);
    fog_buf_clear(&b);
}

static void expect_reject(const uint8_t *body, size_t len, int code)
{
    fog_buf b;
    fog_buf_init(&b);
    frame(&b, body, len);
    fog_identify_parsed p;
    int rc = parse_buf(&p, &b);
    if (rc != code) {
        print_message("got %s\n", fog_err_name(rc));
    }
    assert_int_equal(rc, code);
    assert_null(p.mem);
    assert_int_equal(p.msg.n_protocols, 0);
    assert_non_null(strstr(fog_err_detail(rc), "identify"));
    fog_buf_clear(&b);
}

static void test_identify_rejects_malformed(void **state)
{
    (void)state;
    static const uint8_t wrong_type[] = {0x18, 0x01};          /* protocols as a varint */
    static const uint8_t group[] = {0x5b, 0x5c};               /* field 11, start/end group */
    static const uint8_t field0[] = {0x02, 0x00};              /* field number 0 */
    static const uint8_t wt7[] = {0x0f};                       /* wire type 7 */
    static const uint8_t key6[] = {0xb8, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01}; /* 6-byte key */
    static const uint8_t len6[] = {0x1a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 'x'};
    static const uint8_t cut[] = {0x1a, 0x05, '/', 'a'};       /* length past the message */
    static const uint8_t cut_varint[] = {0x38, 0x80};          /* varint never ends */
    static const uint8_t nul[] = {0x1a, 0x03, '/', 0x00, 'a'}; /* NUL in a protocol */
    static const uint8_t overlong[] = {0x32, 0x02, 0xc0, 0x80}; /* overlong UTF-8 for NUL */
    static const uint8_t surrogate[] = {0x2a, 0x03, 0xed, 0xa0, 0x80}; /* U+D800 */
    static const uint8_t dangling[] = {0x2a, 0x02, 'a', 0xe2};  /* sequence cut short */
    expect_reject(wrong_type, sizeof wrong_type, FOG_ERR_PROTO);
    expect_reject(group, sizeof group, FOG_ERR_PROTO);
    expect_reject(field0, sizeof field0, FOG_ERR_PROTO);
    expect_reject(wt7, sizeof wt7, FOG_ERR_PROTO);
    expect_reject(key6, sizeof key6, FOG_ERR_PROTO);
    expect_reject(len6, sizeof len6, FOG_ERR_PROTO);
    /* the same, in 5 bytes: a non-minimal key and length are read (protobuf allows them) */
    static const uint8_t five[] = {0x9a, 0x80, 0x80, 0x80, 0x00, 0x81, 0x80, 0x80, 0x80, 0x00, 'x'};
    fog_buf b5;
    fog_buf_init(&b5);
    frame(&b5, five, sizeof five);
    fog_identify_parsed p5;
    assert_int_equal(parse_buf(&p5, &b5), 0);
    assert_int_equal(p5.msg.n_protocols, 1);
    assert_string_equal(p5.msg.protocols[0], "x");
    fog_identify_parsed_clear(&p5);
    fog_buf_clear(&b5);
    expect_reject(cut, sizeof cut, FOG_ERR_TRUNCATED);
    expect_reject(cut_varint, sizeof cut_varint, FOG_ERR_TRUNCATED);
    expect_reject(nul, sizeof nul, FOG_ERR_PROTO);
    expect_reject(overlong, sizeof overlong, FOG_ERR_PROTO);
    expect_reject(surrogate, sizeof surrogate, FOG_ERR_PROTO);
    expect_reject(dangling, sizeof dangling, FOG_ERR_PROTO);
    /* valid UTF-8 of every length passes */
    static const uint8_t utf8[] = {0x32, 0x0a, 'a', 0xc3, 0xa9, 0xe2, 0x82, 0xac,
                                   0xf0, 0x9f, 0x98, 0x80};
    fog_buf b;
    fog_buf_init(&b);
    frame(&b, utf8, sizeof utf8);
    fog_identify_parsed p;
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_string_equal(p.msg.agent_version, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    fog_identify_parsed_clear(&p);
    /* the stream itself: a prefix promising more than there is, a non-minimal prefix */
    static const uint8_t short_stream[] = {0x05, 0x1a, 0x00};
    assert_int_equal(fog_identify_parse(&p, short_stream, sizeof short_stream), FOG_ERR_TRUNCATED);
    static const uint8_t nonmin[] = {0x82, 0x00, 0x1a, 0x00};
    assert_int_equal(fog_identify_parse(&p, nonmin, sizeof nonmin), FOG_ERR_PROTO);
    fog_buf_clear(&b);
}

/* Appends n copies of the field (key, value) to a body. */
static void repeat_field(fog_buf *b, uint8_t key, const void *v, size_t len, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fog_buf_u8(b, key), 0);
        assert_int_equal(fog_buf_uvarint(b, len), 0);
        assert_int_equal(fog_buf_append(b, v, len), 0);
    }
}

static void test_identify_limits(void **state)
{
    (void)state;
    fog_buf body, b;
    fog_buf_init(&body);
    fog_buf_init(&b);
    fog_identify_parsed p;
    /* FOG_IDENTIFY_MAX_PROTOCOLS protocols pass, one more fails */
    repeat_field(&body, 0x1a, "/p", 2, FOG_IDENTIFY_MAX_PROTOCOLS);
    frame(&b, body.p, body.len);
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.msg.n_protocols, FOG_IDENTIFY_MAX_PROTOCOLS);
    fog_identify_parsed_clear(&p);
    repeat_field(&body, 0x1a, "/p", 2, 1);
    expect_reject(body.p, body.len, FOG_ERR_LIMIT);
    /* the same over two messages */
    fog_buf_reset(&body);
    fog_buf_reset(&b);
    repeat_field(&body, 0x1a, "/p", 2, FOG_IDENTIFY_MAX_PROTOCOLS / 2 + 1);
    frame(&b, body.p, body.len);
    frame(&b, body.p, body.len);
    assert_int_equal(parse_buf(&p, &b), FOG_ERR_LIMIT);
    /* addresses */
    fog_buf_reset(&body);
    uint8_t ip4[5] = {0x04, 1, 2, 3, 4};
    repeat_field(&body, 0x12, ip4, 5, FOG_IDENTIFY_MAX_ADDRS);
    fog_buf_reset(&b);
    frame(&b, body.p, body.len);
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.msg.n_listen_addrs, FOG_IDENTIFY_MAX_ADDRS);
    fog_identify_parsed_clear(&p);
    repeat_field(&body, 0x12, ip4, 5, 1);
    expect_reject(body.p, body.len, FOG_ERR_LIMIT);
    /* a string of FOG_IDENTIFY_STR_MAX bytes passes, one byte more fails */
    char s[FOG_IDENTIFY_STR_MAX + 1];
    memset(s, 'v', sizeof s);
    fog_buf_reset(&body);
    repeat_field(&body, 0x32, s, FOG_IDENTIFY_STR_MAX, 1);
    fog_buf_reset(&b);
    frame(&b, body.p, body.len);
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(strlen(p.msg.agent_version), FOG_IDENTIFY_STR_MAX);
    fog_identify_parsed_clear(&p);
    fog_buf_reset(&body);
    repeat_field(&body, 0x32, s, FOG_IDENTIFY_STR_MAX + 1, 1);
    expect_reject(body.p, body.len, FOG_ERR_LIMIT);
    /* a message of FOG_IDENTIFY_MSG_MAX bytes passes, one byte more fails */
    uint8_t big[FOG_IDENTIFY_MSG_MAX + 1];
    memset(big, 0, sizeof big);
    big[0] = 0x42; /* signedPeerRecord, 8189 bytes: 42 fd 3f + value */
    big[1] = 0xfd;
    big[2] = 0x3f;
    fog_buf_reset(&b);
    frame(&b, big, FOG_IDENTIFY_MSG_MAX);
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.msg.signed_peer_record.len, FOG_IDENTIFY_MSG_MAX - 3);
    fog_identify_parsed_clear(&p);
    big[1] = 0xfe;
    expect_reject(big, FOG_IDENTIFY_MSG_MAX + 1, FOG_ERR_LIMIT);
    /* FOG_IDENTIFY_MAX_MESSAGES messages pass, one more fails */
    fog_buf_reset(&b);
    static const uint8_t one[] = {0x1a, 0x01, 'x'};
    for (int i = 0; i < FOG_IDENTIFY_MAX_MESSAGES; i++) {
        frame(&b, one, sizeof one);
    }
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.n_messages, FOG_IDENTIFY_MAX_MESSAGES);
    assert_int_equal(p.msg.n_protocols, FOG_IDENTIFY_MAX_MESSAGES);
    fog_identify_parsed_clear(&p);
    frame(&b, one, sizeof one);
    assert_int_equal(parse_buf(&p, &b), FOG_ERR_LIMIT);
    /* a stream longer than FOG_IDENTIFY_STREAM_MAX is refused before it is read */
    uint8_t *huge = calloc(1, FOG_IDENTIFY_STREAM_MAX + 1);
    assert_non_null(huge);
    assert_int_equal(fog_identify_parse(&p, huge, FOG_IDENTIFY_STREAM_MAX + 1), FOG_ERR_LIMIT);
    free(huge);
    fog_buf_clear(&body);
    fog_buf_clear(&b);
}

/* A big signed peer record goes alone in a second message (go-libp2p); reading merges it. */
static void test_identify_encode_split(void **state)
{
    (void)state;
    uint8_t spr[3000];
    for (size_t i = 0; i < sizeof spr; i++) {
        spr[i] = (uint8_t)(i * 7);
    }
    const char *protos[] = {"/ipfs/ping/1.0.0"};
    fog_identify_msg m = {
        .protocols = protos,
        .n_protocols = 1,
        .agent_version = "a",
        .signed_peer_record = fog_slice_make(spr, sizeof spr),
    };
    fog_buf b;
    fog_buf_init(&b);
    assert_int_equal(fog_identify_encode(&m, &b), 0);
    /* first message: 1a 10 "/ipfs/ping/1.0.0" 32 01 'a' = 21 bytes */
    assert_int_equal(b.p[0], 21);
    assert_int_equal(b.p[1], 0x1a);
    assert_int_equal(b.p[19], 0x32);
    /* second: 42 b8 17 + 3000 bytes = 3003 bytes, prefix bb 17 */
    assert_int_equal(b.len, 1 + 21 + 2 + 3003);
    assert_int_equal(b.p[22], 0xbb);
    assert_int_equal(b.p[23], 0x17);
    assert_int_equal(b.p[24], 0x42);
    Identify *pb = identify__unpack(NULL, 3003, b.p + 24);
    assert_non_null(pb);
    assert_int_equal(pb->n_protocols, 0);
    assert_int_equal(pb->signedpeerrecord.len, sizeof spr);
    identify__free_unpacked(pb, NULL);
    fog_identify_parsed p;
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.n_messages, 2);
    assert_int_equal(p.msg.signed_peer_record.len, sizeof spr);
    assert_memory_equal(p.msg.signed_peer_record.p, spr, sizeof spr);
    assert_string_equal(p.msg.protocols[0], "/ipfs/ping/1.0.0");
    fog_identify_parsed_clear(&p);
    /* a small record stays in the one message */
    fog_buf_reset(&b);
    m.signed_peer_record.len = 100;
    assert_int_equal(fog_identify_encode(&m, &b), 0);
    assert_int_equal(b.p[0], 21 + 2 + 100); /* + 42 64 and the record */
    assert_int_equal(b.len, 1 + 21 + 102);
    fog_buf_clear(&b);
}

static void test_identify_encode_limits(void **state)
{
    (void)state;
    uint8_t key[FOG_IDENTIFY_OWN_MAX];
    memset(key, 1, sizeof key);
    fog_identify_msg m = {.public_key = fog_slice_make(key, sizeof key)};
    fog_buf b;
    fog_buf_init(&b);
    assert_int_equal(fog_buf_append(&b, "xy", 2), 0);
    assert_int_equal(fog_identify_encode(&m, &b), FOG_ERR_LIMIT);
    assert_int_equal(b.len, 2); /* unchanged */
    char s[FOG_IDENTIFY_STR_MAX + 2];
    memset(s, 'p', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    const char *protos[] = {s};
    fog_identify_msg m2 = {.protocols = protos, .n_protocols = 1};
    assert_int_equal(fog_identify_encode(&m2, &b), FOG_ERR_LIMIT);
    assert_int_equal(b.len, 2);
    fog_identify_msg empty = {0};
    assert_int_equal(fog_identify_encode(&empty, &b), 0);
    assert_int_equal(b.len, 3);
    assert_int_equal(b.p[2], 0x00); /* a zero-length message */
    fog_buf_clear(&b);
}

/* A stream cut anywhere but between messages is FOG_ERR_TRUNCATED, never a smaller result. */
static void test_identify_every_prefix(void **state)
{
    (void)state;
    fog_multiaddr addrs[1] = {ma_of("/dns4/example.com/tcp/443/wss")};
    const char *protos[] = {"/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0"};
    fog_identify_msg m = {.listen_addrs = addrs, .n_listen_addrs = 1, .protocols = protos,
                          .n_protocols = 2, .protocol_version = "ipfs/0.1.0"};
    fog_buf b;
    fog_buf_init(&b);
    assert_int_equal(fog_identify_encode(&m, &b), 0);
    size_t first = b.len;
    assert_int_equal(fog_identify_encode(&m, &b), 0);
    for (size_t n = 0; n <= b.len; n++) {
        fog_identify_parsed p;
        int rc = fog_identify_parse(&p, b.p, n);
        if (n == 0 || n == first || n == b.len) {
            assert_int_equal(rc, 0);
            assert_int_equal(p.n_messages, n == 0 ? 0 : n == first ? 1 : 2);
            assert_int_equal(p.msg.n_protocols, 2 * p.n_messages);
        } else {
            assert_int_equal(rc, FOG_ERR_TRUNCATED);
        }
        fog_identify_parsed_clear(&p);
    }
    fog_buf_clear(&b);
}

/* protobuf-c as the writer: what it packs, fog reads. */
static void test_identify_reads_protobuf_c(void **state)
{
    (void)state;
    fog_multiaddr a =
        ma_of("/ip4/127.0.0.1/tcp/4001/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
    Identify pb = IDENTIFY__INIT;
    ProtobufCBinaryData addrs[2] = {{a.len, a.bytes}, {3, (uint8_t *)"\x2a\x01x"}};
    char *protos[] = {"/meshsub/1.1.0", "/ipfs/bitswap/1.2.0"};
    pb.n_listenaddrs = 2;
    pb.listenaddrs = addrs;
    pb.n_protocols = 2;
    pb.protocols = protos;
    pb.agentversion = "kubo/0.30.0/";
    pb.has_publickey = 1;
    pb.publickey.len = 4;
    pb.publickey.data = (uint8_t *)"\x08\x01\x12\x00";
    uint8_t body[512];
    size_t n = identify__get_packed_size(&pb);
    assert_true(n < sizeof body);
    assert_int_equal(identify__pack(&pb, body), n);
    fog_buf b;
    fog_buf_init(&b);
    frame(&b, body, n);
    fog_identify_parsed p;
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.msg.n_listen_addrs, 1);
    assert_int_equal(p.addrs_skipped, 1);
    assert_true(fog_multiaddr_eq(&p.msg.listen_addrs[0], &a));
    assert_string_equal(p.msg.protocols[1], "/ipfs/bitswap/1.2.0");
    assert_string_equal(p.msg.agent_version, "kubo/0.30.0/");
    assert_null(p.msg.protocol_version);
    assert_int_equal(p.msg.public_key.len, 4);
    fog_identify_parsed_clear(&p);
    fog_buf_clear(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identify_round_trip),
        cmocka_unit_test(test_identify_parse_handmade),
        cmocka_unit_test(test_identify_merge),
        cmocka_unit_test(test_identify_skips_bad_addrs),
        cmocka_unit_test(test_identify_rejects_malformed),
        cmocka_unit_test(test_identify_limits),
        cmocka_unit_test(test_identify_encode_split),
        cmocka_unit_test(test_identify_encode_limits),
        cmocka_unit_test(test_identify_every_prefix),
        cmocka_unit_test(test_identify_reads_protobuf_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
