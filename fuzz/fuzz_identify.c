/* fuzz_identify.c: the identify stream parser on arbitrary input (libFuzzer).
 * Whatever fog_identify_parse accepts must hold only valid, bounded values, and must survive a
 * round trip: fog's own encoding of the merged result (when it fits one 4 KiB message, with the
 * signed peer record possibly split off) parses back to the same fields. A single message that
 * fog accepts is also one protobuf-c accepts, with the same repeated fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/identify.h"
#include "fog/multiaddr.h"
#include "fuzzlib.h"
#include "proto/identify.pb-c.h"

static bool str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void same(const fog_identify_msg *a, const fog_identify_msg *b)
{
    CHECK(fog_slice_eq(a->public_key, b->public_key));
    CHECK(fog_slice_eq(a->signed_peer_record, b->signed_peer_record));
    CHECK(a->n_listen_addrs == b->n_listen_addrs && a->n_protocols == b->n_protocols);
    for (size_t i = 0; i < a->n_listen_addrs; i++) {
        CHECK(fog_multiaddr_eq(&a->listen_addrs[i], &b->listen_addrs[i]));
    }
    for (size_t i = 0; i < a->n_protocols; i++) {
        CHECK(strcmp(a->protocols[i], b->protocols[i]) == 0);
    }
    CHECK((a->observed_addr == NULL) == (b->observed_addr == NULL));
    CHECK(a->observed_addr == NULL || fog_multiaddr_eq(a->observed_addr, b->observed_addr));
    CHECK(str_eq(a->protocol_version, b->protocol_version));
    CHECK(str_eq(a->agent_version, b->agent_version));
}

static void against_protobuf_c(const fog_identify_parsed *p, const uint8_t *data, size_t size)
{
    fog_reader r;
    fog_reader_init(&r, data, size);
    uint64_t len;
    fog_reader_uvarint(&r, &len);
    if (p->n_messages != 1 || r.err != 0 || len != r.left) {
        return;
    }
    Identify *pb = identify__unpack(NULL, r.left, r.p);
    CHECK(pb != NULL);
    CHECK(pb->n_protocols == p->msg.n_protocols);
    for (size_t i = 0; i < pb->n_protocols; i++) {
        CHECK(strcmp(pb->protocols[i], p->msg.protocols[i]) == 0);
    }
    CHECK(pb->n_listenaddrs == p->msg.n_listen_addrs + p->addrs_skipped);
    identify__free_unpacked(pb, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fog_identify_parsed p;
    if (fog_identify_parse(&p, data, size) != 0) {
        CHECK(p.mem == NULL);
        return 0;
    }
    CHECK(p.n_messages <= FOG_IDENTIFY_MAX_MESSAGES);
    CHECK(p.msg.n_listen_addrs <= FOG_IDENTIFY_MAX_ADDRS);
    CHECK(p.msg.n_protocols <= FOG_IDENTIFY_MAX_PROTOCOLS);
    for (size_t i = 0; i < p.msg.n_protocols; i++) {
        CHECK(strlen(p.msg.protocols[i]) <= FOG_IDENTIFY_STR_MAX);
    }
    against_protobuf_c(&p, data, size);
    fog_buf b;
    fog_buf_init(&b);
    if (fog_identify_encode(&p.msg, &b) == 0) {
        fog_identify_parsed q;
        CHECK(fog_identify_parse(&q, b.p, b.len) == 0);
        same(&p.msg, &q.msg);
        fog_identify_parsed_clear(&q);
    }
    fog_buf_clear(&b);
    fog_identify_parsed_clear(&p);
    return 0;
}
