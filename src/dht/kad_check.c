/* kad_check.c: what a Kademlia request must hold, per message type, before a server acts on it
 * (PROTOCOLS.md 3.7). The rules follow go-libp2p-kad-dht handlers.go, which answers a request
 * that breaks them with an error and a reset stream, and the record validators of boxo/
 * go-libp2p-record for the two namespaces the Amino DHT stores: "/ipns/<peer ID>" and
 * "/pk/<peer ID>" (ipfs/specs src/routing/kad-dht.md). Two rules are stricter than go: provider
 * keys must be one multihash (go checks only 1..80 bytes; every current client sends the
 * multihash), and a record key's peer ID part must pass fog_peer_id_check (go checks it only
 * when it validates a record).
 */
#include "fog/kad.h"

#include <string.h>

#include "fog/mf.h"

static int need_key(const fog_kad_msg *m)
{
    if (m->key.len == 0) {
        return fog_errf(FOG_ERR_PROTO, "kad: %s request without a key",
                        fog_kad_type_name(m->type));
    }
    return 0;
}

static int provider_key(const fog_kad_msg *m)
{
    int rc = need_key(m);
    if (rc < 0) {
        return rc;
    }
    if (m->key.len > FOG_KAD_PROVIDER_KEY_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "kad: %s key of %zu bytes passes %d",
                        fog_kad_type_name(m->type), m->key.len, FOG_KAD_PROVIDER_KEY_MAX);
    }
    fog_reader r;
    fog_reader_init(&r, m->key.p, m->key.len);
    fog_mh mh;
    fog_mh_read(&r, &mh);
    if (!fog_reader_done(&r)) {
        return fog_errf(FOG_ERR_PROTO, "kad: %s key is not a multihash",
                        fog_kad_type_name(m->type));
    }
    return 0;
}

static bool has_prefix(fog_slice s, const char *prefix, size_t n)
{
    return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

static int record_key(const fog_kad_msg *m)
{
    int rc = need_key(m);
    if (rc < 0) {
        return rc;
    }
    size_t skip = has_prefix(m->key, "/ipns/", 6) ? 6 : has_prefix(m->key, "/pk/", 4) ? 4 : 0;
    if (skip == 0) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "kad: %s key is not in /ipns/ or /pk/",
                        fog_kad_type_name(m->type));
    }
    fog_reader r;
    fog_reader_init(&r, m->key.p, m->key.len);
    fog_reader_skip(&r, skip);
    if (fog_peer_id_check(r.p, r.left) < 0) {
        return fog_errf(FOG_ERR_PROTO, "kad: %s key %s has no valid peer ID",
                        fog_kad_type_name(m->type), skip == 6 ? "/ipns/..." : "/pk/...");
    }
    return 0;
}

static int put_value(const fog_kad_msg *m)
{
    int rc = record_key(m);
    if (rc < 0) {
        return rc;
    }
    if (!m->has_record) {
        return fog_errf(FOG_ERR_PROTO, "kad: PUT_VALUE request without a record");
    }
    if (!fog_slice_eq(m->key, m->record.key)) {
        return fog_errf(FOG_ERR_PROTO, "kad: PUT_VALUE record key differs from the message key");
    }
    return 0;
}

int fog_kad_check_request(const fog_kad_msg *m)
{
    int rc;
    switch (m->type) {
    case FOG_KAD_PING:
        return 0;
    case FOG_KAD_FIND_NODE:
        return need_key(m);
    case FOG_KAD_GET_PROVIDERS:
        return provider_key(m);
    case FOG_KAD_ADD_PROVIDER:
        if ((rc = provider_key(m)) == 0 && m->n_providers == 0) {
            rc = fog_errf(FOG_ERR_PROTO, "kad: ADD_PROVIDER request without a provider peer");
        }
        return rc;
    case FOG_KAD_GET_VALUE:
        return record_key(m);
    case FOG_KAD_PUT_VALUE:
        return put_value(m);
    }
    return fog_errf(FOG_ERR_UNSUPPORTED, "kad: unknown message type %d", (int)m->type);
}
