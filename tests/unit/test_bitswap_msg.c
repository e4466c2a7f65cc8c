/* test_bitswap_msg.c: the bitswap message codec (ipfs/specs src/bitswap-protocol.md; PROTOCOLS.md
 * 3.8; schema proto/bitswap.proto as boxo bitswap/message/pb/message.proto).
 * Hand-made bytes follow the protobuf wire format: a key is (field << 3) | wire type, so Message
 * has 0a (wantlist), 12 (blocks), 1a (payload), 22 (blockPresences), 28 (pendingBytes); Wantlist
 * 0a (entries), 10 (full); Entry 0a (block), 10 (priority), 18 (cancel), 20 (wantType),
 * 28 (sendDontHave); Block 0a (prefix), 12 (data); BlockPresence 0a (cid), 10 (type).
 * Expected CIDs come from well-known SHA-256 values: sha256("hello") = 2cf24dba..., and
 * sha256("foobar") = c3ab8ff1... (the digest boxo's pb/cid_test.go spells out byte by byte).
 * The code protoc-c generates from proto/bitswap.proto is an independent decoder of fog's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fog/bitswap.h"
#include "fog/crypto.h"
#include "fog/mf.h"
#include "proto/bitswap.pb-c.h"
#include "testlib.h"

#define HELLO_SHA256 "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define FOOBAR_SHA256 "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"
#define CID_HELLO_RAW "01551220" HELLO_SHA256 /* CIDv1 raw sha2-256 of "hello" (36 bytes) */
#define CID_FOOBAR_V0 "1220" FOOBAR_SHA256    /* CIDv0 of "foobar" (34 bytes) */

static int setup(void **state)
{
    (void)state;
    return fog_crypto_init() == 0 ? 0 : -1;
}

static fog_cid cid_hex(const char *hex)
{
    uint8_t b[FOG_CID_MAX];
    size_t n = tl_unhex(hex, b, sizeof b);
    fog_cid c;
    assert_int_equal(fog_cid_from_bytes(&c, b, n), 0);
    return c;
}

static fog_cid cid_of(uint64_t version, uint64_t codec, uint64_t mh, const char *data)
{
    fog_cid c;
    assert_int_equal(fog_cid_of(&c, version, codec, mh, (const uint8_t *)data, strlen(data)), 0);
    return c;
}

/* Parses hex text as one body. */
static int parse_hex(fog_bitswap_parsed *p, const char *hex)
{
    static uint8_t b[4096];
    size_t n = tl_unhex(hex, b, sizeof b);
    return fog_bitswap_parse(p, b, n);
}

static bool slice_is(fog_slice s, const char *text)
{
    return s.len == strlen(text) && (s.len == 0 || memcmp(s.p, text, s.len) == 0);
}

static void same_msg(const fog_bitswap_msg *a, const fog_bitswap_msg *b)
{
    assert_true(a->full == b->full);
    assert_int_equal(a->pending_bytes, b->pending_bytes);
    assert_int_equal(a->n_entries, b->n_entries);
    for (size_t i = 0; i < a->n_entries; i++) {
        const fog_bitswap_entry *x = &a->entries[i], *y = &b->entries[i];
        assert_true(fog_cid_eq(&x->cid, &y->cid));
        assert_int_equal(x->priority, y->priority);
        assert_true(x->cancel == y->cancel && x->send_dont_have == y->send_dont_have);
        assert_int_equal(x->want_type, y->want_type);
    }
    assert_int_equal(a->n_blocks, b->n_blocks);
    for (size_t i = 0; i < a->n_blocks; i++) {
        assert_true(fog_cid_eq(&a->blocks[i].cid, &b->blocks[i].cid));
        assert_true(fog_slice_eq(a->blocks[i].data, b->blocks[i].data));
    }
    assert_int_equal(a->n_presences, b->n_presences);
    for (size_t i = 0; i < a->n_presences; i++) {
        assert_true(fog_cid_eq(&a->presences[i].cid, &b->presences[i].cid));
        assert_int_equal(a->presences[i].type, b->presences[i].type);
    }
}

/* Encodes m, checks the length prefix covers exactly the body, and parses the body back. */
static void encode_parse(const fog_bitswap_msg *m, fog_buf *wire, fog_bitswap_parsed *p)
{
    assert_int_equal(fog_bitswap_encode(m, wire), 0);
    fog_slice body;
    size_t used = 0;
    assert_int_equal(fog_bitswap_frame(wire->p, wire->len, &body, &used), 1);
    assert_int_equal(used, wire->len);
    assert_int_equal(fog_bitswap_parse(p, body.p, body.len), 0);
    assert_int_equal(p->blocks_skipped, 0);
}

static void test_bitswap_msg_round_trip(void **state)
{
    (void)state;
    fog_bitswap_entry ents[4] = {
        {cid_of(1, FOG_MC_RAW, FOG_MC_SHA2_256, "a"), 1, false, FOG_BITSWAP_WANT_HAVE, true},
        {cid_of(1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, "b"), INT32_MAX, false,
         FOG_BITSWAP_WANT_BLOCK, false},
        {cid_of(0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, "c"), 0, true, FOG_BITSWAP_WANT_BLOCK, false},
        {cid_of(1, FOG_MC_DAG_CBOR, FOG_MC_SHA2_512, "d"), -7, false, FOG_BITSWAP_WANT_BLOCK,
         true},
    };
    const char *datas[4] = {"raw block", "dag-pb block", "v0 block", ""};
    fog_bitswap_block blks[4] = {
        {cid_of(1, FOG_MC_RAW, FOG_MC_SHA2_256, datas[0]), fog_slice_make(datas[0], 9)},
        {cid_of(1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, datas[1]), fog_slice_make(datas[1], 12)},
        {cid_of(0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, datas[2]), fog_slice_make(datas[2], 8)},
        {cid_of(1, FOG_MC_RAW, FOG_MC_BLAKE2B_256, datas[3]), fog_slice_make(datas[3], 0)},
    };
    fog_bitswap_presence pres[2] = {
        {cid_of(1, FOG_MC_RAW, FOG_MC_SHA2_256, "e"), FOG_BITSWAP_HAVE},
        {cid_of(0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, "f"), FOG_BITSWAP_DONT_HAVE},
    };
    fog_bitswap_msg m = {true, ents, 4, blks, 4, pres, 2, 12345};
    fog_buf wire;
    fog_buf_init(&wire);
    fog_bitswap_parsed p;
    encode_parse(&m, &wire, &p);
    same_msg(&m, &p.msg);
    for (size_t i = 0; i < 4; i++) {
        assert_true(fog_bitswap_block_matches(&blks[i].cid, &p.msg.blocks[i]));
    }
    fog_bitswap_parsed_clear(&p);
    assert_null(p.mem);

    /* An empty message is one byte: a zero length. */
    fog_bitswap_msg empty = {0};
    fog_buf_reset(&wire);
    encode_parse(&empty, &wire, &p);
    assert_int_equal(wire.len, 1);
    same_msg(&empty, &p.msg);
    fog_bitswap_parsed_clear(&p);
    fog_buf_clear(&wire);
}

/* The gathered encoding (the bitswap server's: head bytes plus the blocks' data inserted at
 * their offsets) rebuilds exactly the plain encoding, for a head that held bytes before and for
 * blocks big, small and empty; the head holds none of the blocks' data. */
static void test_bitswap_msg_encode_gather_matches_plain(void **state)
{
    (void)state;
    enum { BIG = 200000 };
    uint8_t *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++) {
        big[i] = (uint8_t)(i * 31u + 7u);
    }
    fog_bitswap_entry ent = {cid_of(1, FOG_MC_RAW, FOG_MC_SHA2_256, "w"), 3, false,
                             FOG_BITSWAP_WANT_BLOCK, true};
    fog_cid bigc;
    assert_int_equal(fog_cid_of(&bigc, 1, FOG_MC_RAW, FOG_MC_SHA2_256, big, BIG), 0);
    fog_bitswap_block blks[4] = {
        {cid_of(0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, "small"), fog_slice_make("small", 5)},
        {bigc, fog_slice_make(big, BIG)},
        {cid_of(1, FOG_MC_RAW, FOG_MC_SHA2_256, ""), fog_slice_make("", 0)},
        {cid_of(1, FOG_MC_DAG_CBOR, FOG_MC_SHA2_256, "tail"), fog_slice_make("tail", 4)},
    };
    fog_bitswap_presence pres = {cid_of(1, FOG_MC_RAW, FOG_MC_SHA2_256, "p"), FOG_BITSWAP_HAVE};
    fog_bitswap_msg m = {false, &ent, 1, blks, 4, &pres, 1, 99};
    fog_buf plain, head, rebuilt;
    fog_buf_init(&plain);
    fog_buf_init(&head);
    fog_buf_init(&rebuilt);
    assert_int_equal(fog_buf_append(&plain, "xyz", 3), 0);
    assert_int_equal(fog_buf_append(&head, "xyz", 3), 0);
    assert_int_equal(fog_bitswap_encode(&m, &plain), 0);
    fog_bitswap_insert ins[4];
    assert_int_equal(fog_bitswap_encode_gather(&m, &head, ins), 0);
    assert_int_equal(head.len + 5 + BIG + 0 + 4, plain.len);
    size_t at = 0;
    for (size_t i = 0; i < 4; i++) {
        assert_true(ins[i].at >= at && ins[i].at <= head.len);
        assert_int_equal(ins[i].data.len, blks[i].data.len);
        assert_int_equal(fog_buf_append(&rebuilt, head.p + at, ins[i].at - at), 0);
        if (ins[i].data.len > 0) {
            assert_ptr_equal(ins[i].data.p, blks[i].data.p); /* lent, not copied */
            assert_int_equal(fog_buf_append(&rebuilt, ins[i].data.p, ins[i].data.len), 0);
        }
        at = ins[i].at;
    }
    assert_int_equal(fog_buf_append(&rebuilt, head.p + at, head.len - at), 0);
    assert_int_equal(rebuilt.len, plain.len);
    assert_memory_equal(rebuilt.p, plain.p, plain.len);
    /* a failing message leaves head as it was */
    blks[1].data.len = FOG_BITSWAP_BLOCK_MAX + 1;
    size_t before = head.len;
    assert_int_equal(fog_bitswap_encode_gather(&m, &head, ins), FOG_ERR_LIMIT);
    assert_int_equal(head.len, before);
    fog_buf_clear(&plain);
    fog_buf_clear(&head);
    fog_buf_clear(&rebuilt);
    free(big);
}

/* protoc-c's decoder reads fog's encoding to the same fields, prefixes included. */
static void test_bitswap_msg_encode_matches_protobuf_c(void **state)
{
    (void)state;
    fog_bitswap_entry ent = {cid_hex(CID_HELLO_RAW), -1, true, FOG_BITSWAP_WANT_HAVE, true};
    fog_bitswap_block blk = {cid_hex(CID_FOOBAR_V0), fog_slice_make("foobar", 6)};
    fog_bitswap_presence pr = {cid_hex(CID_HELLO_RAW), FOG_BITSWAP_DONT_HAVE};
    fog_bitswap_msg m = {false, &ent, 1, &blk, 1, &pr, 1, -5};
    fog_buf wire;
    fog_buf_init(&wire);
    assert_int_equal(fog_bitswap_encode(&m, &wire), 0);
    fog_slice body;
    size_t used = 0;
    assert_int_equal(fog_bitswap_frame(wire.p, wire.len, &body, &used), 1);
    assert_int_equal(used, wire.len);
    BitswapPb__Message *pb = bitswap_pb__message__unpack(NULL, body.len, body.p);
    assert_non_null(pb);
    assert_non_null(pb->wantlist);
    assert_int_equal(pb->wantlist->n_entries, 1);
    BitswapPb__Message__Wantlist__Entry *e = pb->wantlist->entries[0];
    assert_int_equal(e->block.len, 36);
    assert_int_equal(e->priority, -1);
    assert_true(e->cancel && e->senddonthave);
    assert_int_equal(e->wanttype, BITSWAP_PB__MESSAGE__WANTLIST__WANT_TYPE__Have);
    assert_false(pb->wantlist->full);
    assert_int_equal(pb->n_payload, 1);
    uint8_t v0_prefix[4] = {0x00, 0x70, 0x12, 0x20};
    assert_int_equal(pb->payload[0]->prefix.len, 4);
    assert_memory_equal(pb->payload[0]->prefix.data, v0_prefix, 4);
    assert_int_equal(pb->n_blocks, 0);
    assert_int_equal(pb->n_blockpresences, 1);
    assert_int_equal(pb->blockpresences[0]->type,
                     BITSWAP_PB__MESSAGE__BLOCK_PRESENCE_TYPE__DontHave);
    assert_int_equal(pb->pendingbytes, -5);
    bitswap_pb__message__free_unpacked(pb, NULL);
    fog_buf_clear(&wire);
}

/* A message written byte by byte from the wire format, with a 1.0.0 block, a negative
 * pendingBytes (a 10-byte varint) and an unknown field (15, varint) to skip. */
static void test_bitswap_msg_parse_handmade(void **state)
{
    (void)state;
    const char *hex = "0a58"                               /* wantlist, 88 bytes */
                      "0a2c" "0a24" CID_HELLO_RAW          /* entry: block */
                      "1005" "2001" "2801"                 /* priority 5, Have, sendDontHave */
                      "0a26" "0a22" CID_FOOBAR_V0 "1801"   /* entry: block, cancel */
                      "1001"                               /* full */
                      "1a0d" "0a0401551220" "120568656c6c6f" /* payload: raw prefix, "hello" */
                      "1206666f6f626172"                   /* blocks: "foobar" (1.0.0) */
                      "2226" "0a22" CID_FOOBAR_V0 "1001"   /* presence: DontHave */
                      "7807"                               /* field 15: unknown, skipped */
                      "28ffffffffffffffffff01";            /* pendingBytes -1 */
    fog_bitswap_parsed p;
    assert_int_equal(parse_hex(&p, hex), 0);
    const fog_bitswap_msg *m = &p.msg;
    fog_cid hello = cid_hex(CID_HELLO_RAW), foobar = cid_hex(CID_FOOBAR_V0);
    assert_true(m->full);
    assert_int_equal(m->pending_bytes, -1);
    assert_int_equal(m->n_entries, 2);
    assert_true(fog_cid_eq(&m->entries[0].cid, &hello));
    assert_int_equal(m->entries[0].priority, 5);
    assert_int_equal(m->entries[0].want_type, FOG_BITSWAP_WANT_HAVE);
    assert_true(m->entries[0].send_dont_have && !m->entries[0].cancel);
    assert_true(fog_cid_eq(&m->entries[1].cid, &foobar));
    assert_int_equal(m->entries[1].cid.version, 0);
    assert_true(m->entries[1].cancel && !m->entries[1].send_dont_have);
    assert_int_equal(m->entries[1].want_type, FOG_BITSWAP_WANT_BLOCK);
    assert_int_equal(m->entries[1].priority, 0);
    assert_int_equal(m->n_blocks, 2);
    assert_true(fog_cid_eq(&m->blocks[0].cid, &hello));
    assert_true(slice_is(m->blocks[0].data, "hello"));
    assert_true(fog_cid_eq(&m->blocks[1].cid, &foobar));
    assert_true(slice_is(m->blocks[1].data, "foobar"));
    assert_int_equal(m->n_presences, 1);
    assert_true(fog_cid_eq(&m->presences[0].cid, &foobar));
    assert_int_equal(m->presences[0].type, FOG_BITSWAP_DONT_HAVE);
    assert_int_equal(p.blocks_skipped, 0);
    fog_bitswap_parsed_clear(&p);

    /* Two wantlist fields merge as protobuf merges them: entries add up, the last full wins. */
    assert_int_equal(parse_hex(&p, "0a2a" "0a26" "0a22" CID_FOOBAR_V0 "1801" "1001"
                                   "0a2a" "0a26" "0a22" CID_FOOBAR_V0 "1802" "1000"),
                     0);
    assert_int_equal(p.msg.n_entries, 2);
    assert_false(p.msg.full);
    fog_bitswap_parsed_clear(&p);
}

/* A block's CID is rebuilt from its data: tampered data gives a CID nobody asked for. */
static void test_bitswap_msg_tampered_block(void **state)
{
    (void)state;
    fog_cid want = cid_of(1, FOG_MC_RAW, FOG_MC_SHA2_256, "the real block");
    fog_bitswap_block blk = {want, fog_slice_make("the real block", 14)};
    fog_bitswap_msg m = {.blocks = &blk, .n_blocks = 1};
    fog_buf wire;
    fog_buf_init(&wire);
    assert_int_equal(fog_bitswap_encode(&m, &wire), 0);
    wire.p[wire.len - 1] ^= 0x01; /* the last byte of the data */
    fog_bitswap_parsed p;
    assert_int_equal(fog_bitswap_parse(&p, wire.p + 1, wire.len - 1), 0);
    assert_int_equal(p.msg.n_blocks, 1);
    assert_false(fog_bitswap_block_matches(&want, &p.msg.blocks[0]));
    assert_int_equal(fog_cid_verify(&want, p.msg.blocks[0].data.p, p.msg.blocks[0].data.len),
                     FOG_ERR_HASH_MISMATCH);
    assert_int_equal(
        fog_cid_verify(&p.msg.blocks[0].cid, p.msg.blocks[0].data.p, p.msg.blocks[0].data.len),
        0);
    fog_bitswap_parsed_clear(&p);
    /* Same multihash, other CID version: not a match (boxo keys wants by the whole CID). */
    fog_cid v0 = cid_of(0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, "x"), v1;
    assert_int_equal(fog_cid_to_v1(&v0, &v1), 0);
    fog_bitswap_block b0 = {v0, fog_slice_make("x", 1)};
    assert_true(fog_bitswap_block_matches(&v0, &b0));
    assert_false(fog_bitswap_block_matches(&v1, &b0));
    fog_buf_clear(&wire);
}

static void test_bitswap_msg_truncated(void **state)
{
    (void)state;
    fog_bitswap_parsed p;
    /* Cut inside the payload's data, inside a CID, inside a varint. */
    assert_int_equal(parse_hex(&p, "1a0d" "0a0401551220" "120568656c6c"), FOG_ERR_TRUNCATED);
    assert_null(p.mem);
    assert_int_equal(parse_hex(&p, "1a0d" "0a0401551220" "120668656c6c6f"), FOG_ERR_TRUNCATED);
    assert_int_equal(parse_hex(&p, "0a24" "0a22" "0a22" CID_FOOBAR_V0), FOG_ERR_TRUNCATED);
    assert_int_equal(parse_hex(&p, "28ff"), FOG_ERR_TRUNCATED);
    /* Every proper prefix of a one-field message is refused. */
    uint8_t b[64];
    size_t n = tl_unhex("2226" "0a22" CID_FOOBAR_V0 "1001", b, sizeof b);
    for (size_t k = 1; k < n; k++) {
        assert_true(fog_bitswap_parse(&p, b, k) < 0);
    }
    assert_int_equal(fog_bitswap_parse(&p, b, n), 0);
    fog_bitswap_parsed_clear(&p);
}

static void test_bitswap_msg_rejects_malformed(void **state)
{
    (void)state;
    fog_bitswap_parsed p;
    /* Bad CIDs fail the whole message, as boxo's pb.Cid.Unmarshal does. */
    assert_int_equal(parse_hex(&p, "0a06" "0a04" "0a021220"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "0a06" "0a04" "0a0209ff"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "0a04" "0a02" "1001"), FOG_ERR_PROTO); /* no CID at all */
    assert_int_equal(parse_hex(&p, "0a04" "0a02" "0a00"), FOG_ERR_PROTO); /* empty CID */
    assert_int_equal(parse_hex(&p, "2204" "0a020102"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "2202" "1001"), FOG_ERR_PROTO);
    /* Enum values past the two defined. */
    assert_int_equal(parse_hex(&p, "0a28" "0a26" "0a22" CID_FOOBAR_V0 "2002"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "2226" "0a22" CID_FOOBAR_V0 "1002"), FOG_ERR_PROTO);
    /* Known fields with the wrong wire type; field number 0; wire type 7. */
    assert_int_equal(parse_hex(&p, "0801"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "2a00"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "0a02" "1200"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "0001"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "0f"), FOG_ERR_PROTO);
    /* Payload prefixes: absent, trailing byte, version 0 not dag-pb sha2-256/32, version 2,
     * non-minimal varint. */
    assert_int_equal(parse_hex(&p, "1a03" "120161"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "1a07" "0a050155122000"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "1a06" "0a0400551220"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "1a06" "0a0402551220"), FOG_ERR_PROTO);
    assert_int_equal(parse_hex(&p, "1a07" "0a0501d500" "1220"), FOG_ERR_PROTO);
    assert_null(p.mem);
}

/* Blocks fog cannot rebuild a CID for are skipped and counted; the rest of the message stays. */
static void test_bitswap_msg_unsupported_hash_skipped(void **state)
{
    (void)state;
    fog_bitswap_parsed p;
    const char *hex = "1a09" "0a0401551620" "120161" /* sha3-256 (0x16): not computed */
                      "1a09" "0a0401551214" "120162" /* sha2-256 cut to 20 bytes */
                      "1a0d" "0a0401551220" "120568656c6c6f"
                      "2226" "0a22" CID_FOOBAR_V0 "1000";
    assert_int_equal(parse_hex(&p, hex), 0);
    assert_int_equal(p.blocks_skipped, 2);
    assert_int_equal(p.msg.n_blocks, 1);
    fog_cid hello = cid_hex(CID_HELLO_RAW);
    assert_true(fog_bitswap_block_matches(&hello, &p.msg.blocks[0]));
    assert_true(slice_is(p.msg.blocks[0].data, "hello"));
    assert_int_equal(p.msg.n_presences, 1);
    assert_int_equal(p.msg.presences[0].type, FOG_BITSWAP_HAVE);
    fog_bitswap_parsed_clear(&p);
    /* An identity block is rebuilt when its length matches. */
    assert_int_equal(parse_hex(&p, "1a0a" "0a0401550002" "12026869"), 0);
    assert_int_equal(p.msg.n_blocks, 1);
    assert_int_equal(p.msg.blocks[0].cid.mh_code, FOG_MC_IDENTITY);
    fog_bitswap_parsed_clear(&p);
}

/* A body holding one block of len bytes, as payload (1.1.0) or blocks (1.0.0). */
static void block_body(fog_buf *b, size_t len, bool v100)
{
    uint8_t *data = calloc(len > 0 ? len : 1, 1);
    assert_non_null(data);
    uint8_t px[6] = {0x0a, 0x04, 0x01, 0x55, 0x12, 0x20};
    fog_buf_reset(b);
    if (v100) {
        assert_int_equal(fog_buf_u8(b, 0x12), 0);
        assert_int_equal(fog_buf_uvarint(b, len), 0);
    } else {
        assert_int_equal(fog_buf_u8(b, 0x1a), 0);
        assert_int_equal(fog_buf_uvarint(b, 6 + 1 + fog_uvarint_len(len) + len), 0);
        assert_int_equal(fog_buf_append(b, px, 6), 0);
        assert_int_equal(fog_buf_u8(b, 0x12), 0);
        assert_int_equal(fog_buf_uvarint(b, len), 0);
    }
    assert_int_equal(fog_buf_append(b, data, len), 0);
    free(data);
}

static void test_bitswap_msg_block_limit(void **state)
{
    (void)state;
    fog_buf b;
    fog_buf_init(&b);
    fog_bitswap_parsed p;
    for (int v100 = 0; v100 < 2; v100++) {
        block_body(&b, FOG_BITSWAP_BLOCK_MAX, v100 != 0);
        assert_int_equal(fog_bitswap_parse(&p, b.p, b.len), 0);
        assert_int_equal(p.msg.n_blocks, 1);
        assert_int_equal(p.msg.blocks[0].data.len, FOG_BITSWAP_BLOCK_MAX);
        fog_bitswap_parsed_clear(&p);
        block_body(&b, FOG_BITSWAP_BLOCK_MAX + 1, v100 != 0);
        assert_int_equal(fog_bitswap_parse(&p, b.p, b.len), FOG_ERR_LIMIT);
    }
    /* The encoder refuses what the decoder would. */
    uint8_t *big = calloc(FOG_BITSWAP_BLOCK_MAX + 1, 1);
    assert_non_null(big);
    fog_bitswap_block blk = {cid_of(1, FOG_MC_RAW, FOG_MC_SHA2_256, "x"),
                             fog_slice_make(big, FOG_BITSWAP_BLOCK_MAX + 1)};
    fog_bitswap_msg m = {.blocks = &blk, .n_blocks = 1};
    fog_buf_reset(&b);
    assert_int_equal(fog_bitswap_encode(&m, &b), FOG_ERR_LIMIT);
    assert_int_equal(b.len, 0);
    /* Three 2 MiB blocks: each is fine, the message is past 4 MiB. */
    fog_bitswap_block three[3] = {blk, blk, blk};
    for (int i = 0; i < 3; i++) {
        three[i].data.len = FOG_BITSWAP_BLOCK_MAX;
    }
    m.blocks = three;
    m.n_blocks = 3;
    assert_int_equal(fog_bitswap_encode(&m, &b), FOG_ERR_LIMIT);
    assert_int_equal(b.len, 0);
    free(big);
    /* A body past 4 MiB is refused before a byte of it is read. */
    assert_int_equal(fog_bitswap_parse(&p, b.p, (size_t)FOG_BITSWAP_MSG_MAX + 1), FOG_ERR_LIMIT);
    fog_buf_clear(&b);
}

/* n copies of one item with key 0a (a wantlist entry inside a wantlist) or 22 (a presence). */
static void many(fog_buf *b, size_t n, bool presences)
{
    uint8_t item[64];
    size_t len = tl_unhex(presences ? "2224" "0a22" CID_FOOBAR_V0 : "0a24" "0a22" CID_FOOBAR_V0,
                          item, sizeof item);
    fog_buf_reset(b);
    if (!presences) {
        assert_int_equal(fog_buf_u8(b, 0x0a), 0);
        assert_int_equal(fog_buf_uvarint(b, n * len), 0);
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fog_buf_append(b, item, len), 0);
    }
}

static void test_bitswap_msg_entry_limit(void **state)
{
    (void)state;
    fog_buf b;
    fog_buf_init(&b);
    fog_bitswap_parsed p;
    for (int pres = 0; pres < 2; pres++) {
        many(&b, FOG_BITSWAP_MAX_ENTRIES, pres != 0);
        assert_int_equal(fog_bitswap_parse(&p, b.p, b.len), 0);
        assert_int_equal(pres ? p.msg.n_presences : p.msg.n_entries, FOG_BITSWAP_MAX_ENTRIES);
        fog_bitswap_parsed_clear(&p);
        many(&b, FOG_BITSWAP_MAX_ENTRIES + 1, pres != 0);
        assert_int_equal(fog_bitswap_parse(&p, b.p, b.len), FOG_ERR_LIMIT);
    }
    fog_buf_clear(&b);
}

static void test_bitswap_msg_frame(void **state)
{
    (void)state;
    fog_slice body;
    size_t used = 99;
    assert_int_equal(fog_bitswap_frame(NULL, 0, &body, &used), 0);
    assert_int_equal(used, 0);
    /* 4 MiB exactly is announced fine (need more); one byte more is refused at once. */
    uint8_t pfx[FOG_UVARINT_MAX];
    size_t n = fog_uvarint_put(pfx, FOG_BITSWAP_MSG_MAX);
    assert_int_equal(fog_bitswap_frame(pfx, n, &body, &used), 0);
    n = fog_uvarint_put(pfx, (uint64_t)FOG_BITSWAP_MSG_MAX + 1);
    assert_int_equal(fog_bitswap_frame(pfx, n, &body, &used), FOG_ERR_LIMIT);
    assert_int_equal(fog_bitswap_frame(pfx, n - 1, &body, &used), 0); /* not complete yet */
    uint8_t nonmin[2] = {0x80, 0x00};
    assert_int_equal(fog_bitswap_frame(nonmin, 2, &body, &used), FOG_ERR_PROTO);
    uint8_t two[5] = {0x01, 0xaa, 0x00, 0x01, 0xbb};
    assert_int_equal(fog_bitswap_frame(two, 5, &body, &used), 1);
    assert_int_equal(used, 2);
    assert_int_equal(body.len, 1);
    assert_int_equal(body.p[0], 0xaa);
}

/* Three messages fed one byte at a time come out whole and in order. */
static void test_bitswap_msg_framer_one_byte_feeds(void **state)
{
    (void)state;
    fog_bitswap_entry ent = {cid_hex(CID_HELLO_RAW), 3, false, FOG_BITSWAP_WANT_HAVE, true};
    fog_bitswap_block blk = {cid_hex(CID_FOOBAR_V0), fog_slice_make("foobar", 6)};
    fog_bitswap_msg msgs[3] = {
        {.entries = &ent, .n_entries = 1},
        {0},
        {.blocks = &blk, .n_blocks = 1, .pending_bytes = 300},
    };
    fog_buf wire;
    fog_buf_init(&wire);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fog_bitswap_encode(&msgs[i], &wire), 0);
    }
    fog_bitswap_framer f;
    fog_bitswap_framer_init(&f);
    size_t got = 0;
    for (size_t i = 0; i < wire.len; i++) {
        assert_int_equal(fog_bitswap_framer_feed(&f, &wire.p[i], 1), 0);
        fog_slice body;
        int rc;
        while ((rc = fog_bitswap_framer_next(&f, &body)) == 1) {
            assert_true(got < 3);
            fog_bitswap_parsed p;
            assert_int_equal(fog_bitswap_parse(&p, body.p, body.len), 0);
            same_msg(&msgs[got], &p.msg);
            fog_bitswap_parsed_clear(&p);
            got++;
        }
        assert_int_equal(rc, 0);
    }
    assert_int_equal(got, 3);
    /* A bad prefix breaks the stream for good. */
    uint8_t bad[3] = {0x80, 0x00, 0x00};
    assert_int_equal(fog_bitswap_framer_feed(&f, bad, 3), 0);
    fog_slice body;
    assert_int_equal(fog_bitswap_framer_next(&f, &body), FOG_ERR_PROTO);
    assert_int_equal(fog_bitswap_framer_feed(&f, bad, 1), FOG_ERR_PROTO);
    assert_int_equal(fog_bitswap_framer_next(&f, &body), FOG_ERR_PROTO);
    fog_bitswap_framer_clear(&f);
    fog_buf_clear(&wire);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitswap_msg_round_trip),
        cmocka_unit_test(test_bitswap_msg_encode_gather_matches_plain),
        cmocka_unit_test(test_bitswap_msg_encode_matches_protobuf_c),
        cmocka_unit_test(test_bitswap_msg_parse_handmade),
        cmocka_unit_test(test_bitswap_msg_tampered_block),
        cmocka_unit_test(test_bitswap_msg_truncated),
        cmocka_unit_test(test_bitswap_msg_rejects_malformed),
        cmocka_unit_test(test_bitswap_msg_unsupported_hash_skipped),
        cmocka_unit_test(test_bitswap_msg_block_limit),
        cmocka_unit_test(test_bitswap_msg_entry_limit),
        cmocka_unit_test(test_bitswap_msg_frame),
        cmocka_unit_test(test_bitswap_msg_framer_one_byte_feeds),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
