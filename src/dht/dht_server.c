/* dht_server.c: inbound /ipfs/kad/1.0.0 streams (libp2p/specs kad-dht/README.md "RPC messages",
 * PROTOCOLS.md 3.7). A stream carries request/response pairs in sequence (go-libp2p-kad-dht
 * reuses its streams): each request is a uvarint-prefixed message of at most 4 MiB, copied into
 * the stream's buffer, split with fog_kad_frame_next, decoded with fog_kad_parse and checked with
 * fog_kad_check_request. FIND_NODE and GET_PROVIDERS get the k closest peers of the table to
 * SHA-256(key), never the requester; GET_PROVIDERS also the key's provider records
 * (dht_records.c). ADD_PROVIDER stores the sender's own entry (it must carry addresses; others
 * are ignored, as go-libp2p-kad-dht handlers.go does) and gets no answer. PING is echoed.
 * GET_VALUE gets the closer peers and our stored record of the key, if valid; PUT_VALUE is
 * stored and echoed (dht_values.c). Any malformed request, and a PUT_VALUE refused (no validator
 * for its namespace, invalid, or worse than ours), reset the stream; the connection stays.
 */
#include <stdlib.h>
#include <string.h>

#include "dht_internal.h"

typedef struct {
    fog_dht *d;
    fog_buf rx; /* bytes received and not yet handled: at most one prefix + FOG_KAD_MSG_MAX */
} srv_st;

size_t dht_closer_peers(fog_dht *d, const uint8_t *key, size_t key_len, fog_slice exclude,
                        fog_kad_peer *out, fog_multiaddr *self_addrs)
{
    size_t n = 0;
    fog_slice me = fog_node_peer_id(d->node);
    if (key_len == me.len && memcmp(key, me.p, me.len) == 0) {
        out[n++] = (fog_kad_peer){me, self_addrs, fog_node_announce_addrs(d->node, self_addrs),
                                  FOG_KAD_CONNECTED};
    }
    uint8_t target[FOG_KAD_KEY_LEN];
    fog_kad_key(key, key_len, target);
    fog_rtable_peer *near = calloc(d->cfg.k + 1, sizeof *near);
    if (near == NULL) {
        return n;
    }
    size_t got = 0;
    fog_rtable_closest(d->rt, target, d->cfg.k + 1, near, &got);
    for (size_t i = 0; i < got && n < d->cfg.k; i++) {
        if (near[i].id_len == exclude.len && memcmp(near[i].id, exclude.p, exclude.len) == 0) {
            continue;
        }
        const dht_book_entry *e = dht_book_get(d, near[i].id, near[i].id_len);
        if (e == NULL) {
            continue; /* no addresses known: an ID alone is no use to the requester */
        }
        fog_peer_info info;
        bool conn = fog_node_peer(d->node, near[i].id, near[i].id_len, &info);
        /* Borrowed from the book, which nothing changes while the caller encodes. */
        out[n++] = (fog_kad_peer){fog_slice_make(e->p.id, e->p.id_len), e->p.addrs,
                                  e->p.n_addrs, conn ? FOG_KAD_CONNECTED : FOG_KAD_NOT_CONNECTED};
    }
    free(near);
    return n;
}

/* Writes the answer to req on s; negative on failure (then the stream is to be reset). */
static int answer(fog_dht *d, fog_stream *s, const fog_kad_msg *req)
{
    fog_kad_msg resp = {.type = req->type, .cluster_level_raw = req->cluster_level_raw,
                        .key = req->key};
    fog_kad_peer *closer = NULL, *provs = NULL;
    fog_multiaddr *self_addrs = NULL;
    dht_prov_recs recs = {0};
    if (req->type == FOG_KAD_GET_PROVIDERS && dht_rec_get(d, req->key, &recs) == 0 &&
        recs.n > 0) {
        if ((provs = calloc(recs.n, sizeof *provs)) == NULL) {
            dht_rec_clear(&recs);
            return FOG_ERR_NOMEM;
        }
        for (size_t i = 0; i < recs.n; i++) {
            const fog_dht_peer *p = &recs.p[i];
            provs[i] = (fog_kad_peer){fog_slice_make(p->id, p->id_len), p->addrs, p->n_addrs,
                                      FOG_KAD_NOT_CONNECTED};
        }
        resp.providers = provs;
        resp.n_providers = recs.n;
    }
    fog_buf val;
    fog_buf_init(&val);
    if (req->type == FOG_KAD_GET_VALUE && dht_val_local(d, req->key, &val) == 0) {
        resp.has_record = true;
        resp.record = (fog_kad_record){.key = req->key, .value = fog_slice_make(val.p, val.len)};
    }
    if (req->type == FOG_KAD_FIND_NODE || req->type == FOG_KAD_GET_PROVIDERS ||
        req->type == FOG_KAD_GET_VALUE) {
        closer = calloc(d->cfg.k + 1, sizeof *closer);
        self_addrs = calloc(FOG_NODE_ANNOUNCE_MAX, sizeof *self_addrs);
        if (closer == NULL || self_addrs == NULL) {
            free(closer);
            free(self_addrs);
            free(provs);
            dht_rec_clear(&recs);
            fog_buf_clear(&val);
            return FOG_ERR_NOMEM;
        }
        resp.closer = closer;
        resp.n_closer = dht_closer_peers(d, req->key.p, req->key.len, fog_stream_peer_id(s),
                                         closer, self_addrs);
    }
    fog_buf out;
    fog_buf_init(&out);
    int rc = fog_kad_encode(&resp, &out);
    free(closer);
    free(self_addrs);
    free(provs);
    dht_rec_clear(&recs);
    fog_buf_clear(&val);
    if (rc == 0) {
        rc = fog_stream_write(s, out.p, out.len);
    }
    fog_buf_clear(&out);
    return rc;
}

/* ADD_PROVIDER: the entry whose ID is the sender's, with addresses, becomes a record. */
static void add_provider(fog_dht *d, fog_slice sender, const fog_kad_msg *m)
{
    for (size_t i = 0; i < m->n_providers; i++) {
        const fog_kad_peer *p = &m->providers[i];
        if (!fog_slice_eq(p->id, sender) || p->n_addrs == 0) {
            continue; /* go: "received provider from wrong peer" / no addresses */
        }
        if (d->cfg.store != NULL && dht_rec_add(d, &m->key, 1, p->id, p->addrs, p->n_addrs) == 0) {
            d->stats.providers_added++;
        }
        dht_book_put(d, p->id.p, p->id.len, p->addrs, p->n_addrs, true);
        return;
    }
}

/* Handles one request body; negative when the stream must be reset. */
static int handle(fog_dht *d, fog_stream *s, const uint8_t *body, size_t len)
{
    fog_kad_parsed p;
    int rc = fog_kad_parse(&p, body, len);
    if (rc == 0) {
        rc = fog_kad_check_request(&p.msg);
    }
    if (rc == 0) {
        fog_kad_type t = p.msg.type;
        if (t == FOG_KAD_ADD_PROVIDER) {
            add_provider(d, fog_stream_peer_id(s), &p.msg);
        } else if (t == FOG_KAD_PUT_VALUE) {
            rc = dht_val_put_in(d, s, &p.msg);
        } else {
            rc = answer(d, s, &p.msg);
        }
    }
    fog_kad_parsed_clear(&p);
    return rc;
}

static void srv_free(srv_st *st)
{
    fog_buf_clear(&st->rx);
    free(st);
}

static void srv_fail(fog_stream *s, srv_st *st, int err)
{
    st->d->stats.streams_reset_in++;
    fog_logf(&st->d->cfg.log, FOG_LOG_DEBUG, DHT_MOD, "inbound stream reset: %s (%s)",
             fog_err_name(err), fog_err_detail(err));
    fog_stream_set_ud(s, NULL);
    fog_stream_reset(s); /* no on_close follows */
    srv_free(st);
}

static void srv_open(fog_stream *s)
{
    srv_st *st = calloc(1, sizeof *st);
    if (st == NULL) {
        fog_stream_set_ud(s, NULL);
        fog_stream_reset(s);
        return;
    }
    st->d = fog_stream_ud(s);
    fog_stream_set_ud(s, st);
}

static size_t srv_data(fog_stream *s, const uint8_t *data, size_t len)
{
    srv_st *st = fog_stream_ud(s);
    if (st == NULL) {
        return 0;
    }
    int rc = fog_buf_append(&st->rx, data, len);
    size_t off = 0;
    while (rc == 0 && st->rx.len > off) {
        fog_slice body;
        size_t used = 0;
        rc = fog_kad_frame_next(st->rx.p + off, st->rx.len - off, &body, &used);
        if (rc <= 0) {
            break;
        }
        rc = handle(st->d, s, body.p, body.len);
        off += used;
        if (rc == 0) {
            st->d->stats.requests_in++;
        }
    }
    if (rc < 0) {
        srv_fail(s, st, rc);
        return 0;
    }
    if (off > 0) {
        memmove(st->rx.p, st->rx.p + off, st->rx.len - off);
        st->rx.len -= off;
    }
    return 0;
}

static void srv_fin(fog_stream *s)
{
    if (fog_stream_ud(s) != NULL) {
        int rc = fog_stream_close(s);
        (void)rc; /* a failure means the stream is going away: on_close follows */
    }
}

static void srv_close(fog_stream *s, int err)
{
    (void)err;
    srv_st *st = fog_stream_ud(s);
    if (st != NULL) {
        fog_stream_set_ud(s, NULL);
        srv_free(st);
    }
}

const fog_stream_handler dht_server_handler = {srv_open, srv_data, srv_fin, NULL, srv_close};
