/* identify_node.c: identify on the node (libp2p/specs identify/README.md; PROTOCOLS.md 3.5).
 * Answering /ipfs/id/1.0.0: one message (fog_identify_encode) with our public key, our listen
 * addresses (an unspecified bind address is replaced by the addresses of the interfaces of its
 * family, never announced as 0.0.0.0 / ::), the connection's remote address as observedAddr,
 * every registered protocol, protocol and agent versions; then our write side closes.
 * Asking: every new connection opens /ipfs/id/1.0.0 at once, closes its write side, reads until
 * the peer's FIN (at most FOG_IDENTIFY_STREAM_MAX bytes), parses, checks that the publicKey is
 * the connection's peer ID and stores the result for fog_peer_info.identify. A push
 * (/ipfs/id/push/1.0.0) the peer opens is read the same way and replaces the stored result.
 * A peer that sends too much or a malformed or foreign identify is dropped (WARN).
 */
#include <stdlib.h>
#include <string.h>

#include "fog/crypto.h"
#include "internal.h"

#define ADDRS_MAX FOG_NODE_ANNOUNCE_MAX

static const char *const MOD = "node";

/* ---- answering ---- */

static bool ip_unspecified(const uint8_t *ip, int fam)
{
    size_t len = fam == 4 ? 4 : 16;
    for (size_t i = 0; i < len; i++) {
        if (ip[i] != 0) {
            return false;
        }
    }
    return true;
}

static size_t expand_iface(int fam, uint16_t port, fog_multiaddr *out, size_t k)
{
    uv_interface_address_t *ifs = NULL;
    int count = 0;
    if (uv_interface_addresses(&ifs, &count) == 0) {
        for (int i = 0; i < count && k < ADDRS_MAX; i++) {
            const struct sockaddr *sa = (const struct sockaddr *)&ifs[i].address;
            if (fam == 4 && sa->sa_family == AF_INET) {
                const uint8_t *ip = (const uint8_t *)&ifs[i].address.address4.sin_addr;
                k += fog_multiaddr_ip_tcp(&out[k], 4, ip, port) == 0;
            } else if (fam == 6 && sa->sa_family == AF_INET6) {
                const uint8_t *ip = (const uint8_t *)&ifs[i].address.address6.sin6_addr;
                bool link_local = ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80;
                k += !link_local && fog_multiaddr_ip_tcp(&out[k], 6, ip, port) == 0;
            }
        }
        uv_free_interface_addresses(ifs, count);
    }
    return k;
}

size_t fog_node_announce_addrs(const fog_node *n, fog_multiaddr out[FOG_NODE_ANNOUNCE_MAX])
{
    size_t k = 0;
    for (size_t i = 0; i < n->n_listeners && k < ADDRS_MAX; i++) {
        const fog_multiaddr *ma = &n->listeners[i]->addr;
        int fam;
        uint8_t ip[16];
        uint16_t port;
        if (fog_multiaddr_ip(ma, &fam, ip) < 0 || fog_multiaddr_port(ma, FOG_MA_TCP, &port) < 0) {
            continue;
        }
        if (!ip_unspecified(ip, fam)) {
            out[k++] = *ma;
            continue;
        }
        size_t before = k;
        k = expand_iface(fam, port, out, k);
        if (k == before) {
            uint8_t lo[16] = {0};
            if (fam == 4) {
                lo[0] = 127;
                lo[3] = 1;
            } else {
                lo[15] = 1;
            }
            k += fog_multiaddr_ip_tcp(&out[k], fam, lo, port) == 0;
        }
    }
    return k;
}

static void id_answer(fog_stream *s)
{
    nconn *c = s->c;
    fog_node *n = c->n;
    fog_multiaddr addrs[ADDRS_MAX];
    fog_identify_msg m;
    memset(&m, 0, sizeof m);
    m.public_key = fog_node_public_key(n);
    m.n_listen_addrs = fog_node_announce_addrs(n, addrs);
    m.listen_addrs = addrs;
    m.protocols = n->proto_ids;
    m.n_protocols = n->n_protos;
    m.observed_addr = c->remote.len > 0 ? &c->remote : NULL;
    m.protocol_version = FOG_IDENTIFY_PROTOCOL_VERSION;
    m.agent_version = n->agent;
    fog_buf out;
    fog_buf_init(&out);
    int rc = fog_identify_encode(&m, &out);
    rc = rc < 0 ? rc : fog_stream_write(s, out.p, out.len);
    rc = rc < 0 ? rc : fog_stream_close(s);
    fog_buf_clear(&out);
    if (rc < 0) {
        fog_logf(&n->cfg.log, FOG_LOG_DEBUG, MOD, "identify answer failed: %s",
                 fog_err_detail(rc));
        fog_stream_reset(s);
    }
}

static const fog_stream_handler answer_handler = {id_answer, NULL, NULL, NULL, NULL};

/* ---- reading a peer's identify (asked, or pushed) ---- */

typedef struct {
    fog_buf buf;
    bool push;
} id_read;

static void drop_peer(nconn *c, int err, const char *why)
{
    char text[64];
    node_peer_text(c->peer, c->peer_len, text, sizeof text);
    fog_logf(&c->n->cfg.log, FOG_LOG_WARN, MOD, "dropping peer %s: %s", text, why);
    if (err == FOG_ERR_LIMIT) {
        c->n->stats.conns_dropped++;
    }
    nconn_close(c, err, why);
}

static void id_read_free(fog_stream *s)
{
    id_read *r = fog_stream_ud(s);
    if (r != NULL) {
        fog_buf_clear(&r->buf);
        free(r);
        fog_stream_set_ud(s, NULL);
    }
}

static void id_read_open(fog_stream *s)
{
    id_read *r = fog_stream_ud(s);
    if (r == NULL) { /* a pushed stream: the state starts here */
        r = calloc(1, sizeof *r);
        if (r == NULL) {
            fog_stream_reset(s);
            return;
        }
        r->push = true;
        fog_stream_set_ud(s, r);
    }
    if (!r->push) {
        node_ignore(fog_stream_close(s)); /* we have nothing to say */
    }
}

static size_t id_read_data(fog_stream *s, const uint8_t *data, size_t len)
{
    id_read *r = fog_stream_ud(s);
    if (r == NULL) {
        return 0;
    }
    if (len > FOG_IDENTIFY_STREAM_MAX - r->buf.len) {
        char why[96];
        snprintf(why, sizeof why, "identify longer than %d bytes", FOG_IDENTIFY_STREAM_MAX);
        id_read_free(s);
        fog_stream_reset(s);
        drop_peer(s->c, FOG_ERR_LIMIT, why);
        return 0;
    }
    if (fog_buf_append(&r->buf, data, len) < 0) {
        id_read_free(s);
        fog_stream_reset(s);
    }
    return 0;
}

/* 0 when the PublicKey protobuf key hashes to the peer ID (peer-ids.md). */
static bool key_matches(fog_slice key, const uint8_t *peer, size_t peer_len)
{
    uint8_t mh[2 + FOG_SHA256_LEN];
    if (key.len <= FOG_PEER_ID_INLINE_MAX) {
        return peer_len == key.len + 2 && peer[0] == 0x00 && peer[1] == key.len &&
               memcmp(peer + 2, key.p, key.len) == 0;
    }
    mh[0] = 0x12;
    mh[1] = FOG_SHA256_LEN;
    fog_sha256(key.p, key.len, mh + 2);
    return peer_len == sizeof mh && memcmp(peer, mh, sizeof mh) == 0;
}

static void id_read_fin(fog_stream *s)
{
    id_read *r = fog_stream_ud(s);
    nconn *c = s->c;
    if (r == NULL) {
        return;
    }
    fog_identify_parsed p;
    int rc = fog_identify_parse(&p, r->buf.p, r->buf.len);
    if (rc < 0) {
        char why[200];
        snprintf(why, sizeof why, "bad identify: %s", fog_err_detail(rc));
        drop_peer(c, rc, why);
        return;
    }
    if (p.msg.public_key.len > 0 && !key_matches(p.msg.public_key, c->peer, c->peer_len)) {
        fog_identify_parsed_clear(&p);
        drop_peer(c, FOG_ERR_AUTH, "identify publicKey is not the connection's peer");
        return;
    }
    fog_identify_parsed_clear(&c->ident);
    c->ident = p;
    c->have_ident = true;
    if (r->push) {
        node_ignore(fog_stream_close(s));
    }
    fog_node *n = c->n;
    if (n->obs.identified != NULL && !c->dying) {
        fog_peer_info info;
        node_fill_info(c, &info);
        n->obs.identified(n->obs.ud, &info);
    }
}

static void id_read_close(fog_stream *s, int err)
{
    (void)err;
    id_read_free(s);
}

static const fog_stream_handler read_handler = {id_read_open, id_read_data, id_read_fin, NULL,
                                                id_read_close};

void identify_ask(nconn *c)
{
    id_read *r = calloc(1, sizeof *r);
    fog_stream *s;
    if (r == NULL) {
        return;
    }
    int rc = stream_open(c, FOG_IDENTIFY_PROTO, &read_handler, r, &s);
    if (rc < 0) {
        free(r);
        fog_logf(&c->n->cfg.log, FOG_LOG_DEBUG, MOD, "identify not asked: %s",
                 fog_err_detail(rc));
    }
}

int identify_register(fog_node *n)
{
    int rc = fog_node_handle(n, FOG_IDENTIFY_PROTO, &answer_handler, n);
    return rc < 0 ? rc : fog_node_handle(n, FOG_IDENTIFY_PUSH_PROTO, &read_handler, NULL);
}
