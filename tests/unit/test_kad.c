/* test_kad.c: the Kademlia DHT message codec and key space (PROTOCOLS.md 3.7; proto/kad.proto).
 * Expected bytes are written by hand from the protobuf wire format and the field numbers of
 * go-libp2p-kad-dht pb/dht.proto: a key is (field << 3) | wire type, so Message has 08 (type),
 * 12 (key), 1a (record), 42 (closerPeers = 8), 4a (providerPeers = 9), 50 (clusterLevelRaw =
 * 10); Peer has 0a (id), 12 (addrs), 18 (connection); Record has 0a (key), 12 (value), 2a
 * (timeReceived = 5). Binary multiaddrs are written from the multicodec table (ip4 04, tcp 06,
 * udp 91 02, quic-v1 cd 03). The C protoc-c makes from proto/kad.proto decodes fog's output as an
 * independent reader. The DHT key of a CID comes from the ipfs/specs vector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fog/kad.h"
#include "fog/mf.h"
#include "fog/multiaddr.h"
#include "proto/kad.pb-c.h"
#include "testlib.h"

/* ---- helpers: a protobuf writer of the test's own ---- */

static void pb_len(fog_buf *b, unsigned field, const void *p, size_t len)
{
    assert_int_equal(fog_buf_uvarint(b, field << 3 | 2), 0);
    assert_int_equal(fog_buf_uvarint(b, len), 0);
    if (len > 0) {
        assert_int_equal(fog_buf_append(b, p, len), 0);
    }
}

static void pb_varint(fog_buf *b, unsigned field, uint64_t v)
{
    assert_int_equal(fog_buf_uvarint(b, field << 3), 0);
    assert_int_equal(fog_buf_uvarint(b, v), 0);
}

static fog_multiaddr ma_of(const char *text)
{
    fog_multiaddr ma;
    assert_int_equal(fog_multiaddr_parse(&ma, text), 0);
    return ma;
}

static void ed_id(uint8_t seed, uint8_t id[FOG_PEER_ID_ED25519_LEN])
{
    uint8_t pub[32];
    memset(pub, seed, sizeof pub);
    fog_peer_id_ed25519(pub, id);
}

static int parse_buf(fog_kad_parsed *p, const fog_buf *b)
{
    return fog_kad_parse(p, b->p != NULL ? b->p : (const uint8_t *)"", b->len);
}

/* A Peer body with one ID and the given binary addresses. */
static void peer_body(fog_buf *b, const uint8_t *id, size_t id_len, const fog_multiaddr *addrs,
                      size_t n)
{
    pb_len(b, 1, id, id_len);
    for (size_t i = 0; i < n; i++) {
        pb_len(b, 2, addrs[i].bytes, addrs[i].len);
    }
}

static void same_peers(const fog_kad_peer *a, const fog_kad_peer *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_true(fog_slice_eq(a[i].id, b[i].id));
        assert_int_equal(a[i].n_addrs, b[i].n_addrs);
        assert_int_equal(a[i].connection, b[i].connection);
        for (size_t k = 0; k < a[i].n_addrs; k++) {
            assert_true(fog_multiaddr_eq(&a[i].addrs[k], &b[i].addrs[k]));
        }
    }
}

static void same_msg(const fog_kad_msg *a, const fog_kad_msg *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->cluster_level_raw, b->cluster_level_raw);
    assert_true(fog_slice_eq(a->key, b->key));
    assert_int_equal(a->has_record, b->has_record);
    if (a->has_record) {
        assert_true(fog_slice_eq(a->record.key, b->record.key));
        assert_true(fog_slice_eq(a->record.value, b->record.value));
        assert_true(fog_slice_eq(a->record.time_received, b->record.time_received));
    }
    assert_int_equal(a->n_closer, b->n_closer);
    assert_int_equal(a->n_providers, b->n_providers);
    same_peers(a->closer, b->closer, a->n_closer);
    same_peers(a->providers, b->providers, a->n_providers);
}

/* Splits the one length-prefixed message in b and parses its body. */
static int parse_framed(fog_kad_parsed *p, const fog_buf *b)
{
    fog_slice body;
    size_t used = 0;
    assert_int_equal(fog_kad_frame_next(b->p, b->len, &body, &used), 1);
    assert_int_equal(used, b->len);
    return fog_kad_parse(p, body.p != NULL ? body.p : (const uint8_t *)"", body.len);
}

/* ---- round trips ---- */

static void check_with_protobuf_c(const fog_buf *b, const fog_kad_msg *m)
{
    fog_slice body;
    size_t used;
    assert_int_equal(fog_kad_frame_next(b->p, b->len, &body, &used), 1);
    KadPb__Message *pb = kad_pb__message__unpack(NULL, body.len, body.p);
    assert_non_null(pb);
    assert_int_equal(pb->has_type ? (int)pb->type : 0, (int)m->type);
    assert_int_equal(pb->has_key ? pb->key.len : 0, m->key.len);
    assert_int_equal(pb->record != NULL, m->has_record);
    if (m->has_record && m->record.time_received.len > 0) {
        assert_memory_equal(pb->record->timereceived, m->record.time_received.p,
                            m->record.time_received.len);
    }
    assert_int_equal(pb->n_closerpeers, m->n_closer);
    assert_int_equal(pb->n_providerpeers, m->n_providers);
    for (size_t i = 0; i < pb->n_closerpeers; i++) {
        assert_int_equal(pb->closerpeers[i]->n_addrs, m->closer[i].n_addrs);
        int conn = pb->closerpeers[i]->has_connection ? (int)pb->closerpeers[i]->connection : 0;
        assert_int_equal(conn, (int)m->closer[i].connection);
    }
    assert_int_equal(pb->has_clusterlevelraw ? pb->clusterlevelraw : 0, m->cluster_level_raw);
    kad_pb__message__free_unpacked(pb, NULL);
}

static void round_trip(const fog_kad_msg *m)
{
    fog_buf b;
    fog_buf_init(&b);
    assert_int_equal(fog_kad_encode(m, &b), 0);
    check_with_protobuf_c(&b, m);
    fog_kad_parsed p;
    assert_int_equal(parse_framed(&p, &b), 0);
    same_msg(m, &p.msg);
    assert_int_equal(p.peers_bad + p.peers_dropped + p.addrs_skipped + p.addrs_dropped, 0);
    fog_kad_parsed_clear(&p);
    fog_buf_clear(&b);
}

static void test_kad_round_trip_every_type(void **state)
{
    (void)state;
    uint8_t id1[FOG_PEER_ID_ED25519_LEN], id2[FOG_PEER_ID_ED25519_LEN];
    ed_id(1, id1);
    ed_id(2, id2);
    fog_multiaddr a1[2] = {ma_of("/ip4/1.2.3.4/tcp/4001"), ma_of("/ip6/::1/udp/4001/quic-v1")};
    fog_multiaddr a2[1] = {ma_of("/dns4/example.com/tcp/443/wss")};
    fog_kad_peer peers[2] = {
        {fog_slice_make(id1, sizeof id1), a1, 2, FOG_KAD_CONNECTED},
        {fog_slice_make(id2, sizeof id2), a2, 1, FOG_KAD_CANNOT_CONNECT},
    };
    char ipns[64] = "/ipns/";
    memcpy(ipns + 6, id1, sizeof id1);
    fog_slice ipns_key = fog_slice_make(ipns, 6 + sizeof id1);
    for (int t = FOG_KAD_PUT_VALUE; t <= FOG_KAD_PING; t++) {
        fog_kad_msg m;
        memset(&m, 0, sizeof m);
        m.type = (fog_kad_type)t;
        m.cluster_level_raw = t == FOG_KAD_PING ? -1 : 1; /* -1: a 10-byte varint */
        m.key = t == FOG_KAD_PING ? fog_slice_make(NULL, 0) : ipns_key;
        m.has_record = t == FOG_KAD_PUT_VALUE || t == FOG_KAD_GET_VALUE;
        m.record.key = ipns_key;
        m.record.value = fog_slice_make("value bytes", 11);
        m.record.time_received = fog_slice_make("2024-01-02T03:04:05.123456789Z", 30);
        m.closer = t == FOG_KAD_PUT_VALUE ? NULL : peers;
        m.n_closer = t == FOG_KAD_PUT_VALUE ? 0 : 2;
        m.providers = t == FOG_KAD_ADD_PROVIDER || t == FOG_KAD_GET_PROVIDERS ? peers : NULL;
        m.n_providers = m.providers != NULL ? 1 : 0;
        round_trip(&m);
    }
    fog_kad_msg empty_record = {.type = FOG_KAD_GET_VALUE, .has_record = true};
    round_trip(&empty_record);
}

/* ---- a message written by hand ---- */

/* A FIND_NODE answer: two peers, the second with a sha2-256 peer ID (as RSA keys have), then
 * clusterLevelRaw 1 as go writes it. Fields in field-number order, zero values left out. */
static size_t find_node_answer(uint8_t *out, size_t cap, uint8_t id1[38], uint8_t id2[34])
{
    ed_id(7, id1);
    id2[0] = 0x12;
    id2[1] = 0x20;
    memset(id2 + 2, 0xab, 32);
    fog_buf b;
    fog_buf_init(&b);
    static const uint8_t type[] = {0x08, 0x04};
    static const uint8_t ma1[] = {0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1};
    static const uint8_t ma2[] = {0x04, 1, 2, 3, 4, 0x91, 0x02, 0x0f, 0xa1, 0xcd, 0x03};
    assert_int_equal(fog_buf_append(&b, type, sizeof type), 0);
    uint8_t p1[] = {0x42, 2 + 38 + 2 + sizeof ma1 + 2, 0x0a, 38};
    assert_int_equal(fog_buf_append(&b, p1, sizeof p1), 0);
    assert_int_equal(fog_buf_append(&b, id1, 38), 0);
    assert_int_equal(fog_buf_append(&b, (uint8_t[]){0x12, sizeof ma1}, 2), 0);
    assert_int_equal(fog_buf_append(&b, ma1, sizeof ma1), 0);
    assert_int_equal(fog_buf_append(&b, (uint8_t[]){0x18, 0x01}, 2), 0);
    uint8_t p2[] = {0x42, 2 + 34 + 2 + sizeof ma2, 0x0a, 34};
    assert_int_equal(fog_buf_append(&b, p2, sizeof p2), 0);
    assert_int_equal(fog_buf_append(&b, id2, 34), 0);
    assert_int_equal(fog_buf_append(&b, (uint8_t[]){0x12, sizeof ma2}, 2), 0);
    assert_int_equal(fog_buf_append(&b, ma2, sizeof ma2), 0);
    assert_int_equal(fog_buf_append(&b, (uint8_t[]){0x50, 0x01}, 2), 0);
    assert_true(b.len <= cap);
    memcpy(out, b.p, b.len);
    size_t n = b.len;
    fog_buf_clear(&b);
    return n;
}

static void test_kad_parse_hand_built_find_node(void **state)
{
    (void)state;
    uint8_t msg[256], id1[38], id2[34];
    size_t len = find_node_answer(msg, sizeof msg, id1, id2);
    fog_kad_parsed p;
    assert_int_equal(fog_kad_parse(&p, msg, len), 0);
    const fog_kad_msg *m = &p.msg;
    assert_int_equal(m->type, FOG_KAD_FIND_NODE);
    assert_int_equal(m->key.len, 0);
    assert_false(m->has_record);
    assert_int_equal(m->cluster_level_raw, 1);
    assert_int_equal(m->n_closer, 2);
    assert_int_equal(m->n_providers, 0);
    assert_memory_equal(m->closer[0].id.p, id1, 38);
    assert_int_equal(m->closer[0].id.len, 38);
    assert_int_equal(m->closer[0].connection, FOG_KAD_CONNECTED);
    assert_int_equal(m->closer[0].n_addrs, 1);
    fog_multiaddr want1 = ma_of("/ip4/127.0.0.1/tcp/4001");
    assert_true(fog_multiaddr_eq(&m->closer[0].addrs[0], &want1));
    assert_memory_equal(m->closer[1].id.p, id2, 34);
    assert_int_equal(m->closer[1].connection, FOG_KAD_NOT_CONNECTED);
    fog_multiaddr want2 = ma_of("/ip4/1.2.3.4/udp/4001/quic-v1");
    assert_int_equal(m->closer[1].n_addrs, 1);
    assert_true(fog_multiaddr_eq(&m->closer[1].addrs[0], &want2));

    /* fog writes the same bytes back, behind their length */
    fog_buf b;
    fog_buf_init(&b);
    assert_int_equal(fog_kad_encode(m, &b), 0);
    assert_int_equal(b.len, 1 + len);
    assert_int_equal(b.p[0], len);
    assert_memory_equal(b.p + 1, msg, len);
    fog_buf_clear(&b);
    fog_kad_parsed_clear(&p);
    fog_kad_parsed_clear(&p); /* twice is harmless */
}

static void test_kad_parse_empty_and_unknown_fields(void **state)
{
    (void)state;
    fog_kad_parsed p;
    assert_int_equal(fog_kad_parse(&p, (const uint8_t *)"", 0), 0);
    assert_int_equal(p.msg.type, FOG_KAD_PUT_VALUE); /* proto3: type 0 is not written */
    assert_int_equal(p.msg.n_closer + p.msg.n_providers, 0);
    fog_kad_parsed_clear(&p);
    /* unknown fields of every wire type, in the message and in a record (old author = 3) */
    static const uint8_t m[] = {0x78, 0x05, 0x7d, 1, 2, 3, 4, 0x79, 1, 2, 3, 4, 5, 6, 7, 8,
                                0xa2, 0x01, 0x01, 0xff, 0x1a, 0x03, 0x1a, 0x01, 0x41,
                                0x08, 0x01};
    assert_int_equal(fog_kad_parse(&p, m, sizeof m), 0);
    assert_int_equal(p.msg.type, FOG_KAD_GET_VALUE);
    assert_true(p.msg.has_record);
    assert_int_equal(p.msg.record.key.len, 0);
    fog_kad_parsed_clear(&p);
}

/* ---- bad input ---- */

static void test_kad_parse_truncated(void **state)
{
    (void)state;
    uint8_t msg[256], id1[38], id2[34];
    size_t len = find_node_answer(msg, sizeof msg, id1, id2);
    /* the field boundaries of the message: after type, after peer 1, after peer 2, the end */
    size_t p1_end = 2 + 2 + msg[3];
    size_t p2_end = p1_end + 2 + msg[p1_end + 1];
    for (size_t cut = 0; cut < len; cut++) {
        fog_kad_parsed p;
        int rc = fog_kad_parse(&p, msg, cut);
        bool boundary = cut == 0 || cut == 2 || cut == p1_end || cut == p2_end;
        assert_int_equal(rc, boundary ? 0 : FOG_ERR_TRUNCATED);
        fog_kad_parsed_clear(&p);
    }
}

static void test_kad_frame_oversized(void **state)
{
    (void)state;
    fog_slice body;
    size_t used;
    /* 4 MiB + 1 announced, nothing of the body there: refused at once */
    static const uint8_t over[] = {0x81, 0x80, 0x80, 0x02};
    assert_int_equal(fog_kad_frame_next(over, sizeof over, &body, &used), FOG_ERR_LIMIT);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_LIMIT), "4194304"));
    /* a fourth byte that still continues: at least 2^28, refused before the fifth arrives */
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(fog_kad_frame_next(huge, sizeof huge, &body, &used), FOG_ERR_LIMIT);
    /* exactly 4 MiB: waits for the body */
    static const uint8_t max[] = {0x80, 0x80, 0x80, 0x02};
    assert_int_equal(fog_kad_frame_next(max, sizeof max, &body, &used), 0);
    assert_int_equal(fog_kad_frame_next(max, 3, &body, &used), 0);
    static const uint8_t nonmin[] = {0x80, 0x00};
    assert_int_equal(fog_kad_frame_next(nonmin, sizeof nonmin, &body, &used), FOG_ERR_PROTO);
    static const uint8_t zero[] = {0x00, 0x08};
    assert_int_equal(fog_kad_frame_next(zero, sizeof zero, &body, &used), 1);
    assert_int_equal(used, 1);
    assert_int_equal(body.len, 0);
    /* the parser refuses a body past 4 MiB before looking at it */
    uint8_t *big = calloc(FOG_KAD_MSG_MAX + 1, 1);
    assert_non_null(big);
    fog_kad_parsed p;
    assert_int_equal(fog_kad_parse(&p, big, FOG_KAD_MSG_MAX + 1), FOG_ERR_LIMIT);
    assert_null(p.mem);
    free(big);
}

static void expect_parse(const uint8_t *m, size_t len, int want)
{
    fog_kad_parsed p;
    assert_int_equal(fog_kad_parse(&p, m, len), want);
    fog_kad_parsed_clear(&p);
}

#define EXPECT(want, ...)                                                                          \
    do {                                                                                           \
        static const uint8_t m_[] = {__VA_ARGS__};                                                 \
        expect_parse(m_, sizeof m_, want);                                                         \
    } while (0)

static void test_kad_parse_wrong_wire_types(void **state)
{
    (void)state;
    EXPECT(FOG_ERR_PROTO, 0x0a, 0x00);             /* type as bytes */
    EXPECT(FOG_ERR_PROTO, 0x10, 0x01);             /* key as a varint */
    EXPECT(FOG_ERR_PROTO, 0x18, 0x01);             /* record as a varint */
    EXPECT(FOG_ERR_PROTO, 0x40, 0x01);             /* closerPeers as a varint */
    EXPECT(FOG_ERR_PROTO, 0x4d, 1, 2, 3, 4);       /* providerPeers as fixed32 */
    EXPECT(FOG_ERR_PROTO, 0x52, 0x00);             /* clusterLevelRaw as bytes */
    EXPECT(FOG_ERR_PROTO, 0x42, 0x02, 0x08, 0x01); /* Peer.id as a varint */
    EXPECT(FOG_ERR_PROTO, 0x42, 0x02, 0x1a, 0x00); /* Peer.connection as bytes */
    EXPECT(FOG_ERR_PROTO, 0x1a, 0x02, 0x08, 0x01); /* Record.key as a varint */
    EXPECT(FOG_ERR_PROTO, 0x0b, 0x0c);             /* a group */
    EXPECT(FOG_ERR_PROTO, 0x0e);                   /* wire type 6 */
    EXPECT(FOG_ERR_PROTO, 0x02, 0x00);             /* field number 0 */
    EXPECT(FOG_ERR_PROTO, 0x08, 0x06);             /* type 6: not in the enum */
    EXPECT(FOG_ERR_PROTO, 0x12, 0x00, 0x12, 0x00); /* key twice */
    EXPECT(FOG_ERR_PROTO, 0x08, 0x01, 0x08, 0x01); /* type twice */
    EXPECT(FOG_ERR_PROTO, 0x1a, 0x00, 0x1a, 0x00); /* record twice */
    EXPECT(FOG_ERR_PROTO, 0x50, 0x80, 0x80, 0x80, 0x80, 0x10); /* clusterLevelRaw 2^32 */
    EXPECT(FOG_ERR_PROTO, 0x1a, 0x03, 0x2a, 0x01, 0xff); /* timeReceived not UTF-8 */
    EXPECT(FOG_ERR_PROTO, 0x1a, 0x03, 0x2a, 0x01, 0x00); /* timeReceived with NUL */
    EXPECT(FOG_ERR_TRUNCATED, 0x12, 0x05, 0x41);   /* a length past the end */
    EXPECT(FOG_ERR_TRUNCATED, 0x08);               /* a key with no value */
    EXPECT(0, 0x50, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01); /* -1 */
    EXPECT(0, 0x1a, 0x04, 0x2a, 0x02, 0xc3, 0xa9); /* timeReceived "é" */

    fog_buf b;
    fog_buf_init(&b);
    uint8_t key[FOG_KAD_KEY_MAX + 1];
    memset(key, 'k', sizeof key);
    pb_len(&b, 2, key, sizeof key);
    fog_kad_parsed p;
    assert_int_equal(parse_buf(&p, &b), FOG_ERR_LIMIT);
    fog_buf_reset(&b);
    pb_len(&b, 2, key, FOG_KAD_KEY_MAX);
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.msg.key.len, FOG_KAD_KEY_MAX);
    fog_kad_parsed_clear(&p);
    fog_buf_clear(&b);
}

static void test_kad_parse_too_many_peers(void **state)
{
    (void)state;
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    ed_id(3, id);
    fog_multiaddr a = ma_of("/ip4/10.0.0.1/tcp/1");
    fog_buf peer, b;
    fog_buf_init(&peer);
    fog_buf_init(&b);
    peer_body(&peer, id, sizeof id, &a, 1);
    for (int i = 0; i < FOG_KAD_PEERS_MAX; i++) {
        pb_len(&b, 8, peer.p, peer.len);
    }
    fog_kad_parsed p;
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.msg.n_closer, FOG_KAD_PEERS_MAX);
    fog_kad_parsed_clear(&p);
    pb_len(&b, 8, peer.p, peer.len);
    assert_int_equal(parse_buf(&p, &b), FOG_ERR_LIMIT);
    assert_null(p.mem);

    /* providers past the cap are dropped, not fatal */
    fog_buf_reset(&b);
    for (int i = 0; i < FOG_KAD_PROVIDERS_MAX + 3; i++) {
        pb_len(&b, 9, peer.p, peer.len);
    }
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.msg.n_providers, FOG_KAD_PROVIDERS_MAX);
    assert_int_equal(p.peers_dropped, 3);
    fog_kad_parsed_clear(&p);
    fog_buf_clear(&peer);
    fog_buf_clear(&b);
}

static void test_kad_parse_bad_peer_ids_dropped(void **state)
{
    (void)state;
    uint8_t good[FOG_PEER_ID_ED25519_LEN];
    ed_id(4, good);
    fog_multiaddr a = ma_of("/ip4/10.0.0.2/tcp/2");
    static const uint8_t bad_len[] = {0x00, 0x05, 1, 2}; /* identity, digest cut short */
    static const uint8_t bad_hash[] = {0x13, 0x02, 1, 2}; /* sha2-512 with 2 bytes */
    fog_buf peer, b;
    fog_buf_init(&peer);
    fog_buf_init(&b);
    peer_body(&peer, bad_len, sizeof bad_len, &a, 1);
    pb_len(&b, 8, peer.p, peer.len);
    fog_buf_reset(&peer);
    peer_body(&peer, good, sizeof good, &a, 1);
    pb_len(&b, 8, peer.p, peer.len);
    fog_buf_reset(&peer);
    peer_body(&peer, bad_hash, sizeof bad_hash, &a, 1);
    pb_len(&b, 9, peer.p, peer.len);
    fog_buf_reset(&peer);
    pb_len(&peer, 2, a.bytes, a.len); /* no ID at all */
    pb_len(&b, 9, peer.p, peer.len);
    fog_kad_parsed p;
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.msg.n_closer, 1);
    assert_int_equal(p.msg.n_providers, 0);
    assert_memory_equal(p.msg.closer[0].id.p, good, sizeof good);
    assert_int_equal(p.peers_bad, 3);
    assert_int_equal(p.addrs_skipped, 0); /* dropped peers' addresses are not looked at */
    fog_kad_parsed_clear(&p);
    fog_buf_clear(&peer);
    fog_buf_clear(&b);
}

static void test_kad_parse_addrs_skipped_and_capped(void **state)
{
    (void)state;
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    ed_id(5, id);
    fog_multiaddr a = ma_of("/ip4/10.0.0.3/tcp/3");
    static const uint8_t unknown[] = {0xf7, 0xee, 0x01, 0x00}; /* code 0x7777: not known */
    static const uint8_t short_ip[] = {0x04, 1, 2};           /* ip4 cut short */
    fog_buf peer, b;
    fog_buf_init(&peer);
    fog_buf_init(&b);
    pb_len(&peer, 2, unknown, sizeof unknown);
    pb_len(&peer, 1, id, sizeof id); /* the ID after an address: still read */
    pb_len(&peer, 2, a.bytes, a.len);
    pb_len(&peer, 2, short_ip, sizeof short_ip);
    pb_len(&b, 8, peer.p, peer.len);
    fog_buf_reset(&peer);
    pb_len(&peer, 1, id, sizeof id);
    for (int i = 0; i < FOG_KAD_ADDRS_MAX + 5; i++) {
        pb_len(&peer, 2, a.bytes, a.len);
    }
    pb_len(&b, 9, peer.p, peer.len);
    fog_kad_parsed p;
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.msg.n_closer, 1);
    assert_int_equal(p.msg.closer[0].n_addrs, 1);
    assert_true(fog_multiaddr_eq(&p.msg.closer[0].addrs[0], &a));
    assert_int_equal(p.addrs_skipped, 2);
    assert_int_equal(p.msg.n_providers, 1);
    assert_int_equal(p.msg.providers[0].n_addrs, FOG_KAD_ADDRS_MAX);
    assert_int_equal(p.addrs_dropped, 5);
    fog_kad_parsed_clear(&p);
    fog_buf_clear(&peer);
    fog_buf_clear(&b);
}

static void test_kad_parse_connection_outside_enum(void **state)
{
    (void)state;
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    ed_id(6, id);
    fog_buf peer, b;
    fog_buf_init(&peer);
    fog_buf_init(&b);
    pb_len(&peer, 1, id, sizeof id);
    pb_varint(&peer, 3, 9); /* go: an open enum, read as NotConnected */
    pb_len(&b, 8, peer.p, peer.len);
    fog_kad_parsed p;
    assert_int_equal(parse_buf(&p, &b), 0);
    assert_int_equal(p.msg.closer[0].connection, FOG_KAD_NOT_CONNECTED);
    fog_kad_parsed_clear(&p);
    fog_buf_clear(&peer);
    fog_buf_clear(&b);
}

/* ---- framing ---- */

static void test_kad_frame_one_byte_at_a_time(void **state)
{
    (void)state;
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    ed_id(8, id);
    fog_multiaddr a = ma_of("/ip4/10.0.0.4/tcp/4");
    fog_kad_peer peer = {fog_slice_make(id, sizeof id), &a, 1, FOG_KAD_CAN_CONNECT};
    uint8_t big[300]; /* a body past 127 bytes: a 2-byte prefix */
    memset(big, 'v', sizeof big);
    fog_kad_msg ms[3] = {
        {.type = FOG_KAD_PING},
        {.type = FOG_KAD_FIND_NODE, .key = fog_slice_make(id, sizeof id), .closer = &peer,
         .n_closer = 1},
        {.type = FOG_KAD_PUT_VALUE, .has_record = true,
         .record = {.value = fog_slice_make(big, sizeof big)}},
    };
    fog_buf stream, got;
    fog_buf_init(&stream);
    fog_buf_init(&got);
    size_t ends[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fog_kad_encode(&ms[i], &stream), 0);
        ends[i] = stream.len;
    }
    size_t n = 0, consumed = 0;
    for (size_t i = 0; i < stream.len; i++) {
        assert_int_equal(fog_buf_append(&got, stream.p + i, 1), 0);
        fog_slice body;
        size_t used = 0;
        int rc = fog_kad_frame_next(got.p, got.len, &body, &used);
        assert_int_equal(rc, i + 1 == ends[n] ? 1 : 0);
        if (rc == 1) {
            fog_kad_parsed p;
            assert_int_equal(fog_kad_parse(&p, body.p, body.len), 0);
            same_msg(&ms[n], &p.msg);
            fog_kad_parsed_clear(&p);
            consumed += used;
            assert_int_equal(consumed, ends[n]);
            got.len = 0; /* the message was exactly what the buffer held */
            n++;
        }
    }
    assert_int_equal(n, 3);
    fog_buf_clear(&stream);
    fog_buf_clear(&got);
}

/* ---- encoding limits ---- */

static void test_kad_encode_limits(void **state)
{
    (void)state;
    fog_buf b;
    fog_buf_init(&b);
    assert_int_equal(fog_buf_append(&b, "x", 1), 0);
    fog_kad_msg m = {.type = (fog_kad_type)6};
    assert_int_equal(fog_kad_encode(&m, &b), FOG_ERR_INVALID);
    fog_kad_peer peers[FOG_KAD_PEERS_MAX + 1];
    memset(peers, 0, sizeof peers);
    fog_kad_msg many = {.type = FOG_KAD_FIND_NODE, .closer = peers,
                        .n_closer = FOG_KAD_PEERS_MAX + 1};
    assert_int_equal(fog_kad_encode(&many, &b), FOG_ERR_LIMIT);
    uint8_t *big = calloc(FOG_KAD_MSG_MAX, 1);
    assert_non_null(big);
    fog_kad_msg huge = {.has_record = true, .record = {.value = fog_slice_make(big, 4u << 20)}};
    assert_int_equal(fog_kad_encode(&huge, &b), FOG_ERR_LIMIT);
    free(big);
    assert_int_equal(b.len, 1); /* unchanged after each failure */
    fog_buf_clear(&b);
}

/* ---- the request validator ---- */

static void want_check(const fog_kad_msg *m, int want, const char *detail)
{
    fog_err_clear();
    assert_int_equal(fog_kad_check_request(m), want);
    if (detail != NULL) {
        const char *got = fog_err_detail(want);
        if (strstr(got, detail) == NULL) {
            fail_msg("detail \"%s\" lacks \"%s\"", got, detail);
        }
    }
}

static void test_kad_check_request_rules(void **state)
{
    (void)state;
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    ed_id(9, id);
    fog_kad_peer prov = {fog_slice_make(id, sizeof id), NULL, 0, FOG_KAD_NOT_CONNECTED};
    static const uint8_t mh[] = {0x12, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                                 32};
    uint8_t long_key[81];
    memset(long_key, 0, sizeof long_key);
    long_key[0] = 0x00; /* identity multihash of 79 bytes: a multihash, but 81 bytes long */
    long_key[1] = 79;
    char ipns[64] = "/ipns/", pk[64] = "/pk/";
    memcpy(ipns + 6, id, sizeof id);
    memcpy(pk + 4, id, sizeof id);
    fog_slice ipns_key = fog_slice_make(ipns, 6 + sizeof id);

    fog_kad_msg m = {.type = FOG_KAD_PING};
    want_check(&m, 0, NULL);
    m.type = FOG_KAD_FIND_NODE;
    want_check(&m, FOG_ERR_PROTO, "FIND_NODE request without a key");
    m.key = fog_slice_make("any bytes", 9); /* go: any key */
    want_check(&m, 0, NULL);

    m.type = FOG_KAD_GET_PROVIDERS;
    want_check(&m, FOG_ERR_PROTO, "GET_PROVIDERS key is not a multihash");
    m.key = fog_slice_make(long_key, sizeof long_key);
    want_check(&m, FOG_ERR_LIMIT, "passes 80");
    m.key = fog_slice_make(mh, sizeof mh);
    want_check(&m, 0, NULL);
    m.key = fog_slice_make(mh, sizeof mh - 1); /* digest cut short */
    want_check(&m, FOG_ERR_PROTO, "not a multihash");
    m.key = fog_slice_make(NULL, 0);
    want_check(&m, FOG_ERR_PROTO, "GET_PROVIDERS request without a key");

    m.type = FOG_KAD_ADD_PROVIDER;
    m.key = fog_slice_make(mh, sizeof mh);
    want_check(&m, FOG_ERR_PROTO, "without a provider peer");
    m.providers = &prov;
    m.n_providers = 1;
    want_check(&m, 0, NULL);

    fog_kad_msg g = {.type = FOG_KAD_GET_VALUE, .key = ipns_key};
    want_check(&g, 0, NULL);
    g.key = fog_slice_make(pk, 4 + sizeof id);
    want_check(&g, 0, NULL);
    g.key = fog_slice_make("/ipfs/abc", 9);
    want_check(&g, FOG_ERR_UNSUPPORTED, "not in /ipns/ or /pk/");
    g.key = fog_slice_make("/ipns/abc", 9);
    want_check(&g, FOG_ERR_PROTO, "has no valid peer ID");
    g.key = fog_slice_make("/ipns/", 6);
    want_check(&g, FOG_ERR_PROTO, "has no valid peer ID");

    fog_kad_msg pv = {.type = FOG_KAD_PUT_VALUE, .key = ipns_key};
    want_check(&pv, FOG_ERR_PROTO, "without a record");
    pv.has_record = true;
    pv.record.key = fog_slice_make(pk, 4 + sizeof id);
    want_check(&pv, FOG_ERR_PROTO, "record key differs");
    pv.record.key = ipns_key;
    want_check(&pv, 0, NULL);
    pv.key = fog_slice_make(NULL, 0);
    want_check(&pv, FOG_ERR_PROTO, "PUT_VALUE request without a key");
}

/* ---- the key space ---- */

static void test_kad_key_of_cid_vector(void **state)
{
    (void)state;
    char path[1024];
    FILE *f = tl_vec_fopen("ipfs-specs/kad-dht-content-identifier-example.csv", path,
                           sizeof path);
    if (f == NULL) {
        return;
    }
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f)); /* cid,multihash_hex,kademlia_id_hex */
    assert_non_null(strstr(line, "kademlia_id_hex"));
    int rows = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char *mh_hex = strchr(line, ',');
        char *id_hex = mh_hex != NULL ? strchr(mh_hex + 1, ',') : NULL;
        assert_non_null(id_hex);
        *mh_hex++ = '\0';
        *id_hex++ = '\0';
        id_hex[strcspn(id_hex, "\r\n")] = '\0';
        fog_cid cid;
        assert_int_equal(fog_cid_parse(&cid, line), 0);
        uint8_t want_mh[FOG_CID_MAX], want_key[FOG_KAD_KEY_LEN], key[FOG_KAD_KEY_LEN];
        size_t mh_len = tl_unhex(mh_hex, want_mh, sizeof want_mh);
        assert_int_equal(tl_unhex(id_hex, want_key, sizeof want_key), FOG_KAD_KEY_LEN);
        fog_slice mh = fog_cid_mh(&cid);
        assert_int_equal(mh.len, mh_len);
        assert_memory_equal(mh.p, want_mh, mh_len);
        fog_kad_key_for_mh(mh.p, mh.len, key);
        assert_memory_equal(key, want_key, FOG_KAD_KEY_LEN);
        fog_kad_key(cid.bytes, cid.len, key); /* the CID bytes are not the key */
        assert_memory_not_equal(key, want_key, FOG_KAD_KEY_LEN);
        rows++;
    }
    fclose(f);
    assert_true(rows >= 1);
}

static void test_kad_distance_and_prefix(void **state)
{
    (void)state;
    uint8_t zero[32] = {0}, a[32] = {0}, b[32] = {0}, d[32];
    assert_int_equal(fog_kad_common_prefix_len(zero, zero), 256);
    a[0] = 0x80;
    assert_int_equal(fog_kad_common_prefix_len(zero, a), 0);
    b[1] = 0x01; /* the first differing bit is bit 15 */
    assert_int_equal(fog_kad_common_prefix_len(zero, b), 15);
    assert_int_equal(fog_kad_common_prefix_len(a, b), 0);
    b[1] = 0;
    b[31] = 0x01;
    assert_int_equal(fog_kad_common_prefix_len(zero, b), 255);
    fog_kad_distance(a, b, d);
    assert_int_equal(d[0], 0x80);
    assert_int_equal(d[31], 0x01);
    /* from target 0: b (distance 1) is closer than a (distance 2^255) */
    assert_int_equal(fog_kad_cmp_distance(zero, b, a), -1);
    assert_int_equal(fog_kad_cmp_distance(zero, a, b), 1);
    assert_int_equal(fog_kad_cmp_distance(zero, a, a), 0);
    /* from target a: a itself is closest; zero (a^0 = 80..00) is closer than b (a^b = 80..01) */
    assert_int_equal(fog_kad_cmp_distance(a, a, zero), -1);
    assert_int_equal(fog_kad_cmp_distance(a, zero, b), -1);
    /* SHA-256 of the empty string: e3b0c442... (FIPS 180-2 style known value) */
    uint8_t k[32];
    fog_kad_key_for_peer((const uint8_t *)"", 0, k);
    assert_int_equal(k[0], 0xe3);
    assert_int_equal(k[31], 0x55);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kad_round_trip_every_type),
        cmocka_unit_test(test_kad_parse_hand_built_find_node),
        cmocka_unit_test(test_kad_parse_empty_and_unknown_fields),
        cmocka_unit_test(test_kad_parse_truncated),
        cmocka_unit_test(test_kad_frame_oversized),
        cmocka_unit_test(test_kad_parse_wrong_wire_types),
        cmocka_unit_test(test_kad_parse_too_many_peers),
        cmocka_unit_test(test_kad_parse_bad_peer_ids_dropped),
        cmocka_unit_test(test_kad_parse_addrs_skipped_and_capped),
        cmocka_unit_test(test_kad_parse_connection_outside_enum),
        cmocka_unit_test(test_kad_frame_one_byte_at_a_time),
        cmocka_unit_test(test_kad_encode_limits),
        cmocka_unit_test(test_kad_check_request_rules),
        cmocka_unit_test(test_kad_key_of_cid_vector),
        cmocka_unit_test(test_kad_distance_and_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
