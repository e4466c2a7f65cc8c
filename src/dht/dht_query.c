/* dht_query.c: the DHT's lookups on the network (libp2p/specs kad-dht/README.md "Peer
 * routing", go-libp2p-kad-dht query.go; PROTOCOLS.md 3.7): fog_dht_find_peer,
 * fog_dht_get_closest, fog_dht_bootstrap's self-lookup, and the GET_PROVIDERS walk of
 * fog_dht_find_providers (dht_prov.c handles the providers the answers carry).
 * Each lookup is a fog_lookup core seeded from the routing table. One timer of the DHT drives
 * every lookup: events (answers, failures, dials) only record what happened and set the timer
 * to fire at once; the timer callback fails what timed out, hands out the next requests and
 * finishes lookups that are done, so nothing is freed under a running stream callback and no
 * result callback runs inside the call that started the lookup.
 * A request is one FIND_NODE (or GET_PROVIDERS) on a new outbound stream, to a connected peer or after a dial over
 * the addresses the address book holds (those identify gave, or those the answer that reported
 * the peer carried), tried in order. The answer's closer peers go into the address book
 * (merged) and into the lookup; then our side of the stream is closed. A request that is not
 * answered within request_timeout_ms (dial included) fails and its stream is reset.
 */
#include <stdlib.h>
#include <string.h>

#include "dht_internal.h"

struct dht_req {
    fog_dht *d;
    dht_query *q;  /* NULL once detached: answered (stream closing) or abandoned while dialling */
    dht_req *next; /* in q->reqs */
    uint8_t id[FOG_LOOKUP_ID_MAX];
    size_t id_len;
    fog_stream *s;
    bool dialling;
    size_t next_addr; /* the next book address to dial */
    fog_buf rx;
    fog_ms due;
};


static void kick(fog_dht *d)
{
    uv_timer_start(d->timer, dht_timer_cb, 0, 0);
}

static void req_free(dht_req *r)
{
    fog_buf_clear(&r->rx);
    free(r);
}

static void req_unlink(dht_req *r)
{
    dht_query *q = r->q;
    for (dht_req **pp = &q->reqs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    r->q = NULL;
    r->next = NULL;
}

/* The request failed: the peer is unreachable for this lookup. r is freed unless a dial is
 * still running (then its callback frees it). */
static void req_fail(dht_req *r, int err)
{
    fog_dht *d = r->d;
    dht_query *q = r->q;
    d->stats.failures_out++;
    fog_logf(&d->cfg.log, FOG_LOG_DEBUG, DHT_MOD, "%s request failed: %s (%s)",
             fog_kad_type_name(q->type), fog_err_name(err), fog_err_detail(err));
    int rc = fog_lookup_failed(q->lk, r->id, r->id_len, dht_now(d));
    (void)rc; /* FOG_ERR_NOT_FOUND: the core timed it out already */
    req_unlink(r);
    if (r->s != NULL) {
        fog_stream_set_ud(r->s, NULL);
        fog_stream_reset(r->s);
        r->s = NULL;
    }
    if (!r->dialling) {
        req_free(r);
    }
    kick(d);
}

/* ---- the answer ---- */

static void take_answer(dht_req *r, const fog_kad_msg *m)
{
    fog_dht *d = r->d;
    dht_query *q = r->q;
    fog_lookup_contact c[FOG_KAD_PEERS_MAX];
    uint8_t keys[FOG_KAD_PEERS_MAX][FOG_KAD_KEY_LEN];
    for (size_t i = 0; i < m->n_closer; i++) {
        const fog_kad_peer *p = &m->closer[i];
        fog_kad_key_for_peer(p->id.p, p->id.len, keys[i]);
        c[i] = (fog_lookup_contact){p->id.p, p->id.len, keys[i]};
        dht_book_put(d, p->id.p, p->id.len, p->addrs, p->n_addrs, true);
        if (q->want_target && p->n_addrs > 0 && p->id.len == q->key_len &&
            memcmp(p->id.p, q->key, q->key_len) == 0) {
            q->found = true;
        }
    }
    if (q->want_target && r->id_len == q->key_len && memcmp(r->id, q->key, q->key_len) == 0) {
        q->found = true;
    }
    if (q->prov_cb != NULL && m->n_providers > 0) {
        dht_prov_take(q, m->providers, m->n_providers);
    }
    if (q->val != NULL && m->has_record) {
        dht_val_take(q, r->id, r->id_len, &m->record);
    }
    int rc = fog_lookup_response(q->lk, r->id, r->id_len, c, m->n_closer, dht_now(d));
    (void)rc; /* FOG_ERR_NOT_FOUND: a late answer, ignored */
    rc = fog_rtable_useful(d->rt, r->id, r->id_len, dht_now(d));
    (void)rc; /* not in the table: nothing to note */
}

/* A whole message arrived on r's stream: returns 0 when it answers the request's type. */
static int req_message(dht_req *r, const uint8_t *body, size_t len)
{
    fog_kad_parsed p;
    int rc = fog_kad_parse(&p, body, len);
    if (rc == 0 && p.msg.type != r->q->type) {
        rc = fog_errf(FOG_ERR_PROTO, "dht: a %s answer to %s", fog_kad_type_name(p.msg.type),
                      fog_kad_type_name(r->q->type));
    }
    if (rc == 0) {
        take_answer(r, &p.msg);
    }
    fog_kad_parsed_clear(&p);
    return rc;
}

static size_t req_data(fog_stream *s, const uint8_t *data, size_t len)
{
    dht_req *r = fog_stream_ud(s);
    if (r == NULL || r->q == NULL) {
        return 0; /* answered already: anything more is ignored */
    }
    int rc = fog_buf_append(&r->rx, data, len);
    fog_slice body;
    size_t used = 0;
    if (rc == 0) {
        rc = fog_kad_frame_next(r->rx.p, r->rx.len, &body, &used);
    }
    if (rc == 1) {
        rc = req_message(r, body.p, body.len);
        if (rc == 0) {
            fog_dht *d = r->d;
            req_unlink(r);
            if (fog_stream_close(s) < 0) {
                fog_stream_set_ud(s, NULL);
                fog_stream_reset(s);
                req_free(r);
            }
            kick(d);
            return 0;
        }
    }
    if (rc < 0) {
        req_fail(r, rc);
    }
    return 0;
}

static void req_fin(fog_stream *s)
{
    dht_req *r = fog_stream_ud(s);
    if (r != NULL && r->q != NULL) {
        req_fail(r, fog_errf(FOG_ERR_PROTO, "dht: the peer closed before its answer"));
    }
}

static void req_close(fog_stream *s, int err)
{
    dht_req *r = fog_stream_ud(s);
    if (r == NULL) {
        return;
    }
    fog_stream_set_ud(s, NULL);
    r->s = NULL;
    if (r->q != NULL) {
        req_fail(r, err < 0 ? err : FOG_ERR_PROTO);
    } else {
        req_free(r);
    }
}

static const fog_stream_handler req_handler = {NULL, req_data, req_fin, NULL, req_close};

/* ---- sending ---- */

static int req_open(dht_req *r)
{
    fog_dht *d = r->d;
    int rc = fog_node_open_stream(d->node, r->id, r->id_len, FOG_KAD_PROTOCOL, &req_handler, r,
                                  &r->s);
    if (rc < 0) {
        r->s = NULL;
        return rc;
    }
    fog_kad_msg m = {.type = r->q->type, .key = fog_slice_make(r->q->key, r->q->key_len)};
    fog_buf out;
    fog_buf_init(&out);
    rc = fog_kad_encode(&m, &out);
    if (rc == 0) {
        rc = fog_stream_write(r->s, out.p, out.len);
    }
    fog_buf_clear(&out);
    if (rc < 0) {
        fog_stream_set_ud(r->s, NULL);
        fog_stream_reset(r->s);
        r->s = NULL;
        return rc;
    }
    d->stats.requests_out++;
    return 0;
}

static void req_dialled(void *ud, int err, const char *detail, fog_slice peer);

/* Dials the next address the book holds for r's peer; FOG_ERR_NOT_FOUND when none is left. */
static int req_dial(dht_req *r)
{
    const dht_book_entry *e = dht_book_get(r->d, r->id, r->id_len);
    while (e != NULL && r->next_addr < e->p.n_addrs) {
        fog_multiaddr ma = e->p.addrs[r->next_addr++];
        fog_slice has;
        if (fog_multiaddr_peer_id(&ma, &has) == FOG_ERR_NOT_FOUND &&
            fog_multiaddr_push(&ma, FOG_MA_P2P, r->id, r->id_len) < 0) {
            continue;
        }
        if (fog_node_dial(r->d->node, &ma, req_dialled, r) == 0) {
            r->dialling = true;
            return 0;
        }
    }
    return fog_errf(FOG_ERR_NOT_FOUND, "dht: no address left to dial the peer");
}

static void req_dialled(void *ud, int err, const char *detail, fog_slice peer)
{
    (void)detail;
    (void)peer;
    dht_req *r = ud;
    r->dialling = false;
    if (r->q == NULL) {
        req_free(r); /* abandoned while dialling */
        return;
    }
    int rc = err == 0 ? req_open(r) : req_dial(r);
    if (rc < 0) {
        req_fail(r, rc);
    }
}

static void req_start(dht_query *q, const fog_lookup_peer *p, fog_ms now)
{
    fog_dht *d = q->d;
    dht_req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        int rc = fog_lookup_failed(q->lk, p->id, p->id_len, now);
        (void)rc;
        return;
    }
    r->d = d;
    r->q = q;
    memcpy(r->id, p->id, p->id_len);
    r->id_len = p->id_len;
    r->due = now + d->cfg.request_timeout_ms;
    r->next = q->reqs;
    q->reqs = r;
    fog_peer_info info;
    int rc = fog_node_peer(d->node, r->id, r->id_len, &info) ? req_open(r) : req_dial(r);
    if (rc < 0) {
        req_fail(r, rc);
    }
}

/* ---- lookups ---- */

static void to_dht_peer(const fog_dht *d, const uint8_t *id, size_t len, fog_dht_peer *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->id, id, len);
    out->id_len = len;
    out->n_addrs = fog_dht_peer_addrs(d, id, len, out->addrs);
}

static void report(dht_query *q, int err)
{
    fog_dht *d = q->d;
    size_t k = d->cfg.k;
    fog_lookup_peer *lp = calloc(k, sizeof *lp);
    fog_dht_peer *out = calloc(k + 1, sizeof *out);
    size_t n = 0;
    if (lp != NULL && out != NULL) {
        n = fog_lookup_result(q->lk, lp, k);
        for (size_t i = 0; i < n; i++) {
            to_dht_peer(d, lp[i].id, lp[i].id_len, &out[i]);
        }
    }
    if (q->val != NULL) {
        dht_val_final(q, err, out, out != NULL ? n : 0);
    } else if (q->cancelled) {
        /* fog_dht_cancel: no callback */
    } else if (q->prov_cb != NULL) {
        dht_prov_final(q, err);
    } else if (q->boot_cb != NULL) {
        q->boot_cb(q->ud, err, q->boot_connected, fog_rtable_size(d->rt));
    } else {
        const fog_dht_peer *target = NULL;
        if (out != NULL && q->found) {
            to_dht_peer(d, q->key, q->key_len, &out[k]);
            target = &out[k];
        }
        q->cb(q->ud, err, out, out != NULL ? n : 0, target);
    }
    free(lp);
    free(out);
}

/* Ends q: abandons its requests, reports, frees it. */
static void query_finish(dht_query *q, int err)
{
    fog_dht *d = q->d;
    for (dht_query **pp = &d->queries; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    }
    while (q->reqs != NULL) {
        dht_req *r = q->reqs;
        req_unlink(r);
        if (r->s != NULL) {
            fog_stream_set_ud(r->s, NULL);
            fog_stream_reset(r->s);
            req_free(r);
        } else if (!r->dialling) {
            req_free(r);
        }
    }
    d->stats.lookups++;
    report(q, err);
    dht_prov_clear(&q->prov);
    fog_lookup_free(q->lk);
    free(q);
}

static void query_step(dht_query *q, fog_ms now)
{
    if (q->prov_cb != NULL && !q->cancelled) {
        dht_prov_flush(q); /* may cancel q, or stop its lookup */
    }
    if (q->cancelled) {
        query_finish(q, FOG_ERR_CANCELLED);
        return;
    }
    (void)fog_lookup_on_timeout(q->lk, now);
    for (dht_req *r = q->reqs, *nx; r != NULL; r = nx) {
        nx = r->next;
        if (r->due <= now) {
            req_fail(r, FOG_ERR_TIMEOUT);
        }
    }
    if (q->found) {
        fog_lookup_stop(q->lk);
    }
    fog_lookup_peer p;
    while (!fog_lookup_done(q->lk) && fog_lookup_next(q->lk, now, &p) == 1) {
        req_start(q, &p, now);
    }
    if (fog_lookup_done(q->lk)) {
        query_finish(q, 0);
    }
}

void dht_timer_cb(uv_timer_t *t)
{
    fog_dht *d = t->data;
    if (d == NULL) {
        return;
    }
    fog_ms now = dht_now(d);
    for (dht_query *q = d->queries, *nx; q != NULL; q = nx) {
        nx = q->next;
        query_step(q, now);
    }
    fog_ms next = FOG_NEVER;
    for (dht_query *q = d->queries; q != NULL; q = q->next) {
        fog_ms w = fog_lookup_deadline(q->lk);
        next = w < next ? w : next;
        for (dht_req *r = q->reqs; r != NULL; r = r->next) {
            next = r->due < next ? r->due : next;
        }
    }
    if (next != FOG_NEVER && !uv_is_active((uv_handle_t *)t)) {
        uv_timer_start(t, dht_timer_cb, next > now ? next - now : 0, 0);
    }
}

void dht_queries_cancel(fog_dht *d)
{
    while (d->queries != NULL) {
        query_finish(d->queries, FOG_ERR_CANCELLED);
    }
}

int dht_query_new(fog_dht *d, fog_kad_type type, const uint8_t *key, size_t len,
                  dht_query **out)
{
    dht_query *q = calloc(1, sizeof *q);
    if (q == NULL) {
        return FOG_ERR_NOMEM;
    }
    fog_lookup_config lc;
    fog_lookup_config_default(&lc);
    fog_kad_key(key, len, lc.target);
    lc.alpha = d->cfg.alpha;
    lc.k = d->cfg.k;
    lc.request_timeout_ms = d->cfg.request_timeout_ms;
    lc.has_self = true;
    memcpy(lc.self_key, fog_rtable_local_key(d->rt), FOG_LOOKUP_KEY_LEN);
    lc.log = d->cfg.log;
    if (lc.max_peers < lc.k + lc.alpha) {
        lc.max_peers = lc.k + lc.alpha;
    }
    int rc = fog_lookup_new(&q->lk, &lc);
    if (rc < 0) {
        free(q);
        return rc;
    }
    q->d = d;
    q->type = type;
    memcpy(q->key, key, len);
    q->key_len = len;
    fog_rtable_peer *near = calloc(d->cfg.k, sizeof *near);
    size_t got = 0;
    if (near != NULL) {
        fog_rtable_closest(d->rt, lc.target, d->cfg.k, near, &got);
    }
    for (size_t i = 0; i < got; i++) {
        rc = fog_lookup_add_seed(q->lk, near[i].id, near[i].id_len, near[i].key);
        (void)rc; /* 0: known already */
    }
    free(near);
    q->next = d->queries;
    d->queries = q;
    kick(d);
    *out = q;
    return 0;
}

int fog_dht_find_peer(fog_dht *d, const uint8_t *peer_id, size_t len, fog_dht_lookup_cb cb,
                      void *ud)
{
    int rc = fog_peer_id_check(peer_id, len);
    if (rc < 0) {
        return fog_errf(rc, "dht: find_peer needs a binary peer ID");
    }
    dht_query *q = NULL;
    if ((rc = dht_query_new(d, FOG_KAD_FIND_NODE, peer_id, len, &q)) < 0) {
        return rc;
    }
    q->want_target = true;
    q->cb = cb;
    q->ud = ud;
    return 0;
}

int fog_dht_get_closest(fog_dht *d, const uint8_t *key, size_t len, fog_dht_lookup_cb cb,
                        void *ud)
{
    if (len == 0 || len > FOG_KAD_KEY_MAX) {
        return fog_errf(FOG_ERR_INVALID, "dht: a key of 1..%u bytes is needed",
                        (unsigned)FOG_KAD_KEY_MAX);
    }
    dht_query *q = NULL;
    int rc = dht_query_new(d, FOG_KAD_FIND_NODE, key, len, &q);
    if (rc == 0) {
        q->cb = cb;
        q->ud = ud;
    }
    return rc;
}

/* ---- bootstrap ---- */

typedef struct {
    fog_dht *d;
    size_t pending, connected;
    int last_err;
    uint8_t (*ids)[FOG_PEER_ID_MAX]; /* the peers dialled, connected of them */
    size_t *id_lens;
    fog_dht_bootstrap_cb cb;
    void *ud;
} boot_st;

static void boot_free(boot_st *b)
{
    free(b->ids);
    free(b->id_lens);
    free(b);
}

/* Every dial has ended: start the self-lookup seeded with the peers dialled. */
static void boot_lookup(boot_st *b)
{
    fog_dht *d = b->d;
    fog_slice me = fog_node_peer_id(d->node);
    dht_query *q = NULL;
    int rc = b->connected == 0 ? b->last_err
                               : dht_query_new(d, FOG_KAD_FIND_NODE, me.p, me.len, &q);
    if (rc < 0) {
        b->cb(b->ud, rc, b->connected, fog_rtable_size(d->rt));
        boot_free(b);
        return;
    }
    for (size_t i = 0; i < b->connected; i++) {
        uint8_t key[FOG_KAD_KEY_LEN];
        fog_kad_key_for_peer(b->ids[i], b->id_lens[i], key);
        rc = fog_lookup_add_seed(q->lk, b->ids[i], b->id_lens[i], key);
        (void)rc; /* 0: in the table already */
    }
    q->boot_cb = b->cb;
    q->boot_connected = b->connected;
    q->ud = b->ud;
    boot_free(b);
}

static void boot_dialled(void *ud, int err, const char *detail, fog_slice peer)
{
    (void)detail;
    boot_st *b = ud;
    if (err == 0 && peer.len <= FOG_PEER_ID_MAX) {
        memcpy(b->ids[b->connected], peer.p, peer.len);
        b->id_lens[b->connected++] = peer.len;
    } else if (err < 0) {
        b->last_err = err;
    }
    if (--b->pending == 0) {
        boot_lookup(b);
    }
}

static int boot_check(const fog_multiaddr *addrs, size_t n)
{
    fog_slice id;
    for (size_t i = 0; i < n; i++) {
        if (fog_multiaddr_peer_id(&addrs[i], &id) < 0) {
            return fog_errf(FOG_ERR_INVALID, "dht: bootstrap address %s has no /p2p",
                            fog_multiaddr_str(&addrs[i]));
        }
    }
    return n == 0 ? fog_errf(FOG_ERR_INVALID, "dht: no bootstrap address") : 0;
}

int fog_dht_bootstrap(fog_dht *d, const fog_multiaddr *addrs, size_t n, fog_dht_bootstrap_cb cb,
                      void *ud)
{
    int rc = boot_check(addrs, n);
    if (rc < 0) {
        return rc;
    }
    boot_st *b = calloc(1, sizeof *b);
    if (b == NULL || (b->ids = calloc(n, sizeof *b->ids)) == NULL ||
        (b->id_lens = calloc(n, sizeof *b->id_lens)) == NULL) {
        if (b != NULL) {
            boot_free(b);
        }
        return FOG_ERR_NOMEM;
    }
    *b = (boot_st){d, n, 0, FOG_ERR_IO, b->ids, b->id_lens, cb, ud};
    for (size_t i = 0; i < n; i++) {
        if (fog_node_dial(d->node, &addrs[i], boot_dialled, b) < 0) {
            b->pending--; /* cb never runs for this one */
        }
    }
    if (b->pending == 0) {
        boot_free(b);
        return fog_errf(FOG_ERR_INVALID, "dht: no bootstrap address could be dialled");
    }
    return 0;
}
