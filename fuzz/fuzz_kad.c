/* fuzz_kad.c: the Kademlia message framer and parser on arbitrary input (libFuzzer).
 * The input is a byte stream: fog_kad_frame_next splits it and every message body goes to
 * fog_kad_parse (the stream's first bytes are also parsed whole, as a body without a prefix).
 * Whatever the parser accepts must hold only bounded values with valid peer IDs, must be a
 * message protobuf-c accepts with the same type and key, and must survive a round trip:
 * fog_kad_encode of the result parses back to the same message, and encoding that again gives
 * the same bytes (the writer is deterministic).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/kad.h"
#include "fog/mf.h"
#include "fuzzlib.h"
#include "proto/kad.pb-c.h"

static void same_peers(const fog_kad_peer *a, const fog_kad_peer *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        CHECK(fog_slice_eq(a[i].id, b[i].id) && a[i].connection == b[i].connection);
        CHECK(a[i].n_addrs == b[i].n_addrs && a[i].n_addrs <= FOG_KAD_ADDRS_MAX);
        CHECK(fog_peer_id_check(a[i].id.p, a[i].id.len) == 0);
        for (size_t k = 0; k < a[i].n_addrs; k++) {
            CHECK(fog_multiaddr_eq(&a[i].addrs[k], &b[i].addrs[k]));
        }
    }
}

static void same(const fog_kad_msg *a, const fog_kad_msg *b)
{
    CHECK(a->type == b->type && a->cluster_level_raw == b->cluster_level_raw);
    CHECK(fog_slice_eq(a->key, b->key) && a->has_record == b->has_record);
    CHECK(fog_slice_eq(a->record.key, b->record.key));
    CHECK(fog_slice_eq(a->record.value, b->record.value));
    CHECK(fog_slice_eq(a->record.time_received, b->record.time_received));
    CHECK(a->n_closer == b->n_closer && a->n_providers == b->n_providers);
    same_peers(a->closer, b->closer, a->n_closer);
    same_peers(a->providers, b->providers, a->n_providers);
}

static void against_protobuf_c(const fog_kad_msg *m, const uint8_t *data, size_t size)
{
    KadPb__Message *pb = kad_pb__message__unpack(NULL, size, data);
    CHECK(pb != NULL);
    CHECK((pb->has_type ? (int)pb->type : 0) == (int)m->type);
    CHECK((pb->has_key ? pb->key.len : 0) == m->key.len);
    CHECK((pb->record != NULL) == m->has_record);
    CHECK(pb->n_closerpeers >= m->n_closer);
    kad_pb__message__free_unpacked(pb, NULL);
}

static void one(const uint8_t *data, size_t size)
{
    fog_kad_parsed p;
    if (fog_kad_parse(&p, data, size) != 0) {
        CHECK(p.mem == NULL);
        return;
    }
    CHECK(p.msg.n_closer <= FOG_KAD_PEERS_MAX && p.msg.n_providers <= FOG_KAD_PROVIDERS_MAX);
    CHECK(p.msg.key.len <= FOG_KAD_KEY_MAX && p.msg.record.key.len <= FOG_KAD_KEY_MAX);
    against_protobuf_c(&p.msg, data, size);
    (void)fog_kad_check_request(&p.msg); /* any answer; it must only not crash */
    fog_buf b, b2;
    fog_buf_init(&b);
    fog_buf_init(&b2);
    CHECK(fog_kad_encode(&p.msg, &b) == 0);
    fog_slice body;
    size_t used = 0;
    CHECK(fog_kad_frame_next(b.p, b.len, &body, &used) == 1 && used == b.len);
    fog_kad_parsed q;
    CHECK(fog_kad_parse(&q, body.p != NULL ? body.p : (const uint8_t *)"", body.len) == 0);
    CHECK(q.peers_bad + q.peers_dropped + q.addrs_skipped + q.addrs_dropped == 0);
    same(&p.msg, &q.msg);
    CHECK(fog_kad_encode(&q.msg, &b2) == 0);
    CHECK(b.len == b2.len && memcmp(b.p, b2.p, b.len) == 0);
    fog_kad_parsed_clear(&q);
    fog_buf_clear(&b);
    fog_buf_clear(&b2);
    fog_kad_parsed_clear(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    fog_reader r;
    fog_reader_init(&r, data, size);
    while (r.left > 0) {
        fog_slice body;
        size_t used = 0;
        int rc = fog_kad_frame_next(r.p, r.left, &body, &used);
        if (rc <= 0) {
            break;
        }
        CHECK(used > 0 && used <= r.left && body.len <= FOG_KAD_MSG_MAX);
        one(body.p != NULL ? body.p : (const uint8_t *)"", body.len);
        fog_reader_skip(&r, used);
    }
    return 0;
}
