/* dht.c: the wired DHT's life cycle, its node observer (routing table upkeep from identify), the
 * address book and the routing table's liveness checks. include/fog/dht.h says what the DHT
 * does; PROTOCOLS.md 3.7 and libp2p/specs kad-dht/README.md say why.
 * Upkeep follows go-libp2p-kad-dht: a peer is offered to the table when its identify arrives,
 * as a server when the protocol list holds /ipfs/kad/1.0.0; a disconnect does not remove it.
 * The address book keeps, per peer ID, the listen addresses identify reported (replacing what
 * was known) or that FIND_NODE answers carried (merged in); it is bounded by book_max, the entry
 * updated longest ago making room. Liveness checks: connected means alive; otherwise one dial
 * over the known addresses decides (the node's dial timeout bounds it).
 */
#include <stdlib.h>
#include <string.h>

#include "dht_internal.h"

void fog_dht_config_default(fog_dht_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->k = FOG_KAD_K;
    cfg->alpha = 10;
    cfg->request_timeout_ms = 10000;
    cfg->server = true;
    cfg->book_max = 4096;
    cfg->provider_ttl_ms = 48ull * 3600 * 1000;
    cfg->sweep_interval_ms = 3600ull * 1000;
    cfg->reprovide_interval_ms = 22ull * 3600 * 1000;
    cfg->reprovide_delay_ms = 60ull * 1000;
    cfg->refresh_interval_ms = 10ull * 60 * 1000;
    cfg->record_max_age_ms = 36ull * 3600 * 1000;
    cfg->get_quorum = 16;
}

/* ---- address book (a linear scan: a few thousand entries at most, see book_max) ---- */

static dht_book_entry *book_find(const fog_dht *d, const uint8_t *id, size_t id_len)
{
    for (size_t i = 0; i < d->n_book; i++) {
        dht_book_entry *e = &d->book[i];
        if (e->p.id_len == id_len && memcmp(e->p.id, id, id_len) == 0) {
            return e;
        }
    }
    return NULL;
}

const dht_book_entry *dht_book_get(const fog_dht *d, const uint8_t *id, size_t id_len)
{
    return book_find(d, id, id_len);
}

/* A slot for a new entry: a free one, a grown array, or the oldest entry. */
static dht_book_entry *book_slot(fog_dht *d)
{
    if (d->n_book < d->cap_book) {
        return &d->book[d->n_book++];
    }
    if (d->cap_book < d->cfg.book_max) {
        size_t cap = d->cap_book == 0 ? 64 : d->cap_book * 2;
        cap = cap > d->cfg.book_max ? d->cfg.book_max : cap;
        dht_book_entry *nb = realloc(d->book, cap * sizeof *nb);
        if (nb != NULL) {
            d->book = nb;
            d->cap_book = cap;
            return &d->book[d->n_book++];
        }
        if (d->n_book == 0) {
            return NULL;
        }
    }
    size_t old = 0;
    for (size_t i = 1; i < d->n_book; i++) {
        if (d->book[i].updated_ms < d->book[old].updated_ms) {
            old = i;
        }
    }
    return &d->book[old];
}

static bool addr_known(const fog_dht_peer *p, const fog_multiaddr *a)
{
    for (size_t i = 0; i < p->n_addrs; i++) {
        if (fog_multiaddr_eq(&p->addrs[i], a)) {
            return true;
        }
    }
    return false;
}

void dht_book_put(fog_dht *d, const uint8_t *id, size_t id_len, const fog_multiaddr *addrs,
                  size_t n, bool merge)
{
    fog_slice me = fog_node_peer_id(d->node);
    if (n == 0 || fog_peer_id_check(id, id_len) < 0 ||
        fog_slice_eq(me, fog_slice_make(id, id_len))) {
        return;
    }
    dht_book_entry *e = book_find(d, id, id_len);
    if (e == NULL) {
        if ((e = book_slot(d)) == NULL) {
            return;
        }
        memset(e, 0, sizeof *e);
        memcpy(e->p.id, id, id_len);
        e->p.id_len = id_len;
    } else if (!merge) {
        e->p.n_addrs = 0;
    }
    for (size_t i = 0; i < n && e->p.n_addrs < FOG_DHT_PEER_ADDRS; i++) {
        if (addrs[i].len > 0 && !addr_known(&e->p, &addrs[i])) {
            e->p.addrs[e->p.n_addrs++] = addrs[i];
        }
    }
    e->updated_ms = dht_now(d);
}

size_t fog_dht_peer_addrs(const fog_dht *d, const uint8_t *peer_id, size_t len,
                          fog_multiaddr out[FOG_DHT_PEER_ADDRS])
{
    const dht_book_entry *e = book_find(d, peer_id, len);
    if (e == NULL) {
        return 0;
    }
    memcpy(out, e->p.addrs, e->p.n_addrs * sizeof out[0]);
    return e->p.n_addrs;
}

/* ---- liveness checks ---- */

typedef struct {
    fog_dht *d;
    uint8_t id[FOG_PEER_ID_MAX];
    size_t id_len;
} check_ctx;

static void check_report(fog_dht *d, const uint8_t *id, size_t id_len, bool alive)
{
    fog_rtable_peer promoted;
    int rc = fog_rtable_check_result(d->rt, id, id_len, alive, dht_now(d), &promoted);
    fog_logf(&d->cfg.log, FOG_LOG_DEBUG, DHT_MOD, "liveness check: %s%s",
             alive ? "alive" : "dead", rc == 1 ? ", replacement promoted" : "");
}

static void check_dialled(void *ud, int err, const char *detail, fog_slice peer)
{
    (void)detail;
    (void)peer;
    check_ctx *c = ud;
    if (err != FOG_ERR_CANCELLED) {
        check_report(c->d, c->id, c->id_len, err == 0);
    }
    free(c);
}

/* Dials peer by its first TCP address that the node accepts; false when none was accepted. */
static bool check_dial(fog_dht *d, const fog_rtable_peer *p)
{
    const dht_book_entry *e = book_find(d, p->id, p->id_len);
    check_ctx *c = e != NULL ? calloc(1, sizeof *c) : NULL;
    if (c == NULL) {
        return false;
    }
    c->d = d;
    memcpy(c->id, p->id, p->id_len);
    c->id_len = p->id_len;
    for (size_t i = 0; i < e->p.n_addrs; i++) {
        fog_multiaddr ma = e->p.addrs[i];
        fog_slice has;
        if (fog_multiaddr_peer_id(&ma, &has) == FOG_ERR_NOT_FOUND &&
            fog_multiaddr_push(&ma, FOG_MA_P2P, p->id, p->id_len) < 0) {
            continue;
        }
        if (fog_node_dial(d->node, &ma, check_dialled, c) == 0) {
            return true;
        }
    }
    free(c);
    return false;
}

static void run_checks(fog_dht *d)
{
    fog_rtable_event ev;
    while (fog_rtable_poll_event(d->rt, &ev)) {
        fog_peer_info info;
        if (fog_node_peer(d->node, ev.peer.id, ev.peer.id_len, &info)) {
            check_report(d, ev.peer.id, ev.peer.id_len, true);
        } else if (!check_dial(d, &ev.peer)) {
            check_report(d, ev.peer.id, ev.peer.id_len, false);
        }
    }
}

/* ---- observer ---- */

static bool speaks_kad(const fog_identify_msg *m)
{
    for (size_t i = 0; i < m->n_protocols; i++) {
        if (strcmp(m->protocols[i], FOG_KAD_PROTOCOL) == 0) {
            return true;
        }
    }
    return false;
}

static void obs_connected(void *ud, const fog_peer_info *p)
{
    fog_dht *d = ud;
    if (d->cfg.observer.connected != NULL) {
        d->cfg.observer.connected(d->cfg.observer.ud, p);
    }
}

static void obs_identified(void *ud, const fog_peer_info *p)
{
    fog_dht *d = ud;
    if (p->identify != NULL) {
        const fog_identify_msg *m = &p->identify->msg;
        dht_book_put(d, p->peer_id.p, p->peer_id.len, m->listen_addrs, m->n_listen_addrs, false);
        int rc = fog_rtable_seen(d->rt, p->peer_id.p, p->peer_id.len, dht_now(d), speaks_kad(m));
        if (rc < 0) {
            fog_logf(&d->cfg.log, FOG_LOG_DEBUG, DHT_MOD, "routing table refused a peer: %s",
                     fog_err_name(rc));
        }
        run_checks(d);
    }
    if (d->cfg.observer.identified != NULL) {
        d->cfg.observer.identified(d->cfg.observer.ud, p);
    }
}

static void obs_disconnected(void *ud, fog_slice peer_id, int err, const char *detail)
{
    fog_dht *d = ud;
    if (d->cfg.observer.disconnected != NULL) {
        d->cfg.observer.disconnected(d->cfg.observer.ud, peer_id, err, detail);
    }
}

/* ---- life cycle ---- */

static int check_config(const fog_dht_config *cfg)
{
    if ((cfg->store == NULL) != (cfg->writer == NULL)) {
        return fog_errf(FOG_ERR_INVALID, "dht: provider records need both a store and a writer");
    }
    if (cfg->loop == NULL || cfg->k == 0 || cfg->alpha == 0 || cfg->k > FOG_KAD_PEERS_MAX - 1 ||
        cfg->book_max == 0) {
        return fog_errf(FOG_ERR_INVALID, "dht: config needs a loop, 1 <= k < %u, alpha >= 1 and "
                        "book_max >= 1", (unsigned)FOG_KAD_PEERS_MAX);
    }
    return 0;
}

static int make_table(fog_dht *d)
{
    fog_rtable_config rc;
    fog_rtable_config_default(&rc);
    rc.bucket_size = d->cfg.k;
    rc.log = d->cfg.log;
    fog_slice me = fog_node_peer_id(d->node);
    return fog_rtable_new(&d->rt, me.p, me.len, &rc);
}

static void timer_closed(uv_handle_t *h)
{
    free(h);
}

int fog_dht_new(fog_dht **out, fog_node *node, const fog_dht_config *cfg)
{
    *out = NULL;
    int rc = check_config(cfg);
    fog_dht *d = rc == 0 ? calloc(1, sizeof *d) : NULL;
    if (rc == 0 && d == NULL) {
        rc = FOG_ERR_NOMEM;
    }
    if (rc < 0) {
        return rc;
    }
    d->node = node;
    d->loop = cfg->loop;
    d->cfg = *cfg;
    d->timer = malloc(sizeof *d->timer);
    d->upkeep = malloc(sizeof *d->upkeep);
    if (d->timer == NULL || d->upkeep == NULL || (rc = make_table(d)) < 0) {
        free(d->timer);
        free(d->upkeep);
        free(d);
        return rc < 0 ? rc : FOG_ERR_NOMEM;
    }
    uv_timer_init(d->loop, d->timer);
    d->timer->data = d;
    uv_timer_init(d->loop, d->upkeep);
    d->upkeep->data = d;
    if (cfg->server && (rc = fog_node_handle(node, FOG_KAD_PROTOCOL, &dht_server_handler, d)) < 0) {
        d->timer->data = NULL;
        uv_close((uv_handle_t *)d->timer, timer_closed);
        uv_close((uv_handle_t *)d->upkeep, timer_closed);
        fog_rtable_free(d->rt);
        free(d);
        return rc;
    }
    fog_node_observer o = {obs_connected, obs_identified, obs_disconnected, d};
    fog_node_set_observer(node, &o);
    dht_upkeep_start(d);
    *out = d;
    return 0;
}

void fog_dht_free(fog_dht *d)
{
    if (d == NULL) {
        return;
    }
    dht_queries_cancel(d);
    fog_node_set_observer(d->node, &d->cfg.observer);
    dht_provides_cancel(d);
    dht_vsends_cancel(d);
    dht_rec_detach(d);
    d->timer->data = NULL;
    uv_close((uv_handle_t *)d->timer, timer_closed);
    d->upkeep->data = NULL;
    uv_close((uv_handle_t *)d->upkeep, timer_closed);
    fog_rtable_free(d->rt);
    free(d->book);
    free(d);
}

const struct fog_rtable *fog_dht_table(const fog_dht *d)
{
    return d->rt;
}

struct fog_store *fog_dht_store(const fog_dht *d)
{
    return d->cfg.store;
}

void fog_dht_get_stats(const fog_dht *d, fog_dht_stats *out)
{
    *out = d->stats;
}
