/* fuzz_bitswap.c: the bitswap message parser and framer on arbitrary input (libFuzzer).
 * The input is read twice: as one message body for fog_bitswap_parse, and as a stream for
 * fog_bitswap_frame. Whatever the parser accepts must hold bounded values, every block must hash
 * to its CID (the decoder rebuilds it from the data), protoc-c's decoder must accept the same body
 * with the same number of items, and fog's own encoding of the result must frame and parse back to
 * the same message with nothing skipped; its gathered encoding (fog_bitswap_encode_gather, the
 * server's) must rebuild the plain encoding byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/bitswap.h"
#include "fog/crypto.h"
#include "fog/mf.h"
#include "fuzzlib.h"
#include "proto/bitswap.pb-c.h"

static void same(const fog_bitswap_msg *a, const fog_bitswap_msg *b)
{
    CHECK(a->full == b->full && a->pending_bytes == b->pending_bytes);
    CHECK(a->n_entries == b->n_entries && a->n_blocks == b->n_blocks &&
          a->n_presences == b->n_presences);
    for (size_t i = 0; i < a->n_entries; i++) {
        const fog_bitswap_entry *x = &a->entries[i], *y = &b->entries[i];
        CHECK(fog_cid_eq(&x->cid, &y->cid) && x->priority == y->priority);
        CHECK(x->cancel == y->cancel && x->send_dont_have == y->send_dont_have);
        CHECK(x->want_type == y->want_type);
    }
    for (size_t i = 0; i < a->n_blocks; i++) {
        CHECK(fog_cid_eq(&a->blocks[i].cid, &b->blocks[i].cid));
        CHECK(fog_slice_eq(a->blocks[i].data, b->blocks[i].data));
    }
    for (size_t i = 0; i < a->n_presences; i++) {
        CHECK(fog_cid_eq(&a->presences[i].cid, &b->presences[i].cid));
        CHECK(a->presences[i].type == b->presences[i].type);
    }
}

static void bounded(const fog_bitswap_parsed *p)
{
    const fog_bitswap_msg *m = &p->msg;
    CHECK(m->n_entries <= FOG_BITSWAP_MAX_ENTRIES && m->n_presences <= FOG_BITSWAP_MAX_ENTRIES);
    CHECK(m->n_blocks + p->blocks_skipped <= FOG_BITSWAP_MAX_ENTRIES);
    for (size_t i = 0; i < m->n_blocks; i++) {
        const fog_bitswap_block *b = &m->blocks[i];
        CHECK(b->data.len <= FOG_BITSWAP_BLOCK_MAX);
        CHECK(fog_cid_verify(&b->cid, b->data.p, b->data.len) == 0 ||
              b->cid.digest_len < FOG_DIGEST_MIN); /* fog_cid_verify refuses short digests */
    }
}

static void against_protobuf_c(const fog_bitswap_parsed *p, const uint8_t *data, size_t size)
{
    BitswapPb__Message *pb = bitswap_pb__message__unpack(NULL, size, data);
    CHECK(pb != NULL);
    CHECK((pb->wantlist != NULL ? pb->wantlist->n_entries : 0) == p->msg.n_entries);
    CHECK(pb->n_payload + pb->n_blocks == p->msg.n_blocks + p->blocks_skipped);
    CHECK(pb->n_blockpresences == p->msg.n_presences);
    CHECK(pb->pendingbytes == p->msg.pending_bytes);
    bitswap_pb__message__free_unpacked(pb, NULL);
}

/* The gathered encoding (the server's) rebuilds exactly the plain one, or fails the same way. */
static void gather_same(const fog_bitswap_msg *m, const fog_buf *plain, int plain_rc)
{
    fog_buf head, whole;
    fog_buf_init(&head);
    fog_buf_init(&whole);
    fog_bitswap_insert *ins = calloc(m->n_blocks + 1, sizeof *ins);
    CHECK(ins != NULL);
    int rc = fog_bitswap_encode_gather(m, &head, ins);
    CHECK(rc == plain_rc);
    if (rc == 0) {
        size_t at = 0;
        for (size_t i = 0; i < m->n_blocks; i++) {
            CHECK(ins[i].at >= at && ins[i].at <= head.len);
            CHECK(fog_buf_append(&whole, head.p + at, ins[i].at - at) == 0);
            CHECK(ins[i].data.len == 0 ||
                  fog_buf_append(&whole, ins[i].data.p, ins[i].data.len) == 0);
            at = ins[i].at;
        }
        CHECK(fog_buf_append(&whole, head.p + at, head.len - at) == 0);
        CHECK(whole.len == plain->len &&
              (whole.len == 0 || memcmp(whole.p, plain->p, whole.len) == 0));
    }
    free(ins);
    fog_buf_clear(&head);
    fog_buf_clear(&whole);
}

static void round_trip(const fog_bitswap_parsed *p)
{
    fog_buf b;
    fog_buf_init(&b);
    int rc = fog_bitswap_encode(&p->msg, &b);
    CHECK(rc == 0 || rc == FOG_ERR_LIMIT); /* 1.0.0 blocks grow by their prefix */
    gather_same(&p->msg, &b, rc);
    if (rc == 0) {
        fog_slice body;
        size_t used = 0;
        CHECK(fog_bitswap_frame(b.p, b.len, &body, &used) == 1 && used == b.len);
        fog_bitswap_parsed q;
        CHECK(fog_bitswap_parse(&q, body.p, body.len) == 0);
        CHECK(q.blocks_skipped == 0);
        same(&p->msg, &q.msg);
        fog_bitswap_parsed_clear(&q);
    }
    fog_buf_clear(&b);
}

static void frames(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (;;) {
        fog_slice body;
        size_t used = 0;
        int rc = fog_bitswap_frame(data + off, size - off, &body, &used);
        if (rc != 1) {
            CHECK(rc <= 0 && used == 0);
            return;
        }
        CHECK(used > 0 && used <= size - off && body.len <= FOG_BITSWAP_MSG_MAX);
        off += used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        CHECK(fog_crypto_init() == 0);
        init = 1;
    }
    frames(data, size);
    fog_bitswap_parsed p;
    if (fog_bitswap_parse(&p, data, size) != 0) {
        CHECK(p.mem == NULL);
        return 0;
    }
    bounded(&p);
    against_protobuf_c(&p, data, size);
    round_trip(&p);
    fog_bitswap_parsed_clear(&p);
    return 0;
}
