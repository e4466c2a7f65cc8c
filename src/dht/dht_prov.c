/* dht_prov.c: provider searches (fog_dht_find_providers, fog_dht_cancel). A search is a lookup
 * of dht_query.c whose requests are GET_PROVIDERS for the content multihash (libp2p/specs
 * kad-dht/README.md "Content provider discovery", ipfs/specs src/routing/kad-dht.md,
 * go-libp2p-kad-dht routing.go findProvidersAsyncRoutine): each answer's closer peers feed the
 * lookup as FIND_NODE answers do, and its providerPeers join the search's list unless seen
 * before or ourselves. New providers wait in the list until the DHT's timer reports them, so the
 * callback never runs inside a stream callback or inside fog_dht_find_providers, and a callback
 * may cancel its own search. Once count providers were reported the lookup stops.
 * A provider's addresses are those the answer carried, else those the address book holds; the
 * ones carried are merged into the book so that a later dial (bitswap) finds them.
 */
#include <stdlib.h>
#include <string.h>

#include "dht_internal.h"

/* Distinct providers remembered per search: past this the search stops taking new ones (an
 * honest network has a few dozen per CID). */
#define PROV_SEEN_MAX 4096

static bool prov_seen(const dht_prov_list *l, const uint8_t *id, size_t len)
{
    for (size_t i = 0; i < l->n_seen; i++) {
        if (l->seen[i].len == len && memcmp(l->seen[i].id, id, len) == 0) {
            return true;
        }
    }
    return false;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t c = *cap == 0 ? 8 : *cap * 2;
    c = c < need ? need : c;
    void *np = realloc(*p, c * elem);
    if (np == NULL) {
        return FOG_ERR_NOMEM;
    }
    *p = np;
    *cap = c;
    return 0;
}

/* Adds one provider to the list; false when it was known, ourselves, or no room. */
static bool prov_add(dht_query *q, const fog_kad_peer *p)
{
    fog_dht *d = q->d;
    dht_prov_list *l = &q->prov;
    if (p->id.len == 0 || p->id.len > FOG_PEER_ID_MAX || l->n_seen >= PROV_SEEN_MAX ||
        fog_slice_eq(p->id, fog_node_peer_id(d->node)) || prov_seen(l, p->id.p, p->id.len) ||
        grow((void **)&l->seen, &l->cap_seen, l->n_seen + 1, sizeof *l->seen) < 0 ||
        grow((void **)&l->pend, &l->cap_pend, l->n_pend + 1, sizeof *l->pend) < 0) {
        return false;
    }
    dht_id *s = &l->seen[l->n_seen++];
    memcpy(s->id, p->id.p, p->id.len);
    s->len = p->id.len;
    fog_dht_peer *out = &l->pend[l->n_pend++];
    memset(out, 0, sizeof *out);
    memcpy(out->id, p->id.p, p->id.len);
    out->id_len = p->id.len;
    if (p->n_addrs > 0) {
        dht_book_put(d, p->id.p, p->id.len, p->addrs, p->n_addrs, true);
        for (size_t i = 0; i < p->n_addrs && out->n_addrs < FOG_DHT_PEER_ADDRS; i++) {
            if (p->addrs[i].len > 0) {
                out->addrs[out->n_addrs++] = p->addrs[i];
            }
        }
    } else {
        out->n_addrs = fog_dht_peer_addrs(d, p->id.p, p->id.len, out->addrs);
    }
    return true;
}

void dht_prov_take(dht_query *q, const fog_kad_peer *provs, size_t n)
{
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        added += prov_add(q, &provs[i]) ? 1 : 0;
    }
    if (added > 0) {
        uv_timer_start(q->d->timer, dht_timer_cb, 0, 0);
    }
}

/* How many of the waiting providers may still be reported (count caps the total). */
static size_t prov_quota(const dht_query *q)
{
    const dht_prov_list *l = &q->prov;
    if (q->prov_count == 0) {
        return l->n_pend;
    }
    size_t left = q->prov_count > l->n_reported ? q->prov_count - l->n_reported : 0;
    return left < l->n_pend ? left : l->n_pend;
}

void dht_prov_flush(dht_query *q)
{
    dht_prov_list *l = &q->prov;
    size_t n = prov_quota(q);
    l->n_pend = 0;
    l->n_reported += n;
    if ((q->prov_count > 0 && l->n_reported >= q->prov_count) || l->n_seen >= PROV_SEEN_MAX) {
        fog_lookup_stop(q->lk);
    }
    if (n > 0) {
        q->prov_cb(q->ud, 0, l->pend, n, false); /* last: it may cancel q */
    }
}

void dht_prov_final(dht_query *q, int err)
{
    dht_prov_list *l = &q->prov;
    size_t n = err == 0 ? prov_quota(q) : 0;
    l->n_pend = 0;
    l->n_reported += n;
    q->prov_cb(q->ud, err, l->pend, n, true);
}

void dht_prov_clear(dht_prov_list *l)
{
    free(l->seen);
    free(l->pend);
    memset(l, 0, sizeof *l);
}

/* Our own provider records (those of other peers; ours are skipped) come first. */
static void take_local(dht_query *q)
{
    dht_prov_recs recs;
    if (dht_rec_get(q->d, fog_slice_make(q->key, q->key_len), &recs) < 0 || recs.n == 0) {
        dht_rec_clear(&recs);
        return;
    }
    for (size_t i = 0; i < recs.n; i++) {
        const fog_dht_peer *p = &recs.p[i];
        fog_kad_peer kp = {fog_slice_make(p->id, p->id_len), p->addrs, p->n_addrs,
                           FOG_KAD_NOT_CONNECTED};
        dht_prov_take(q, &kp, 1);
    }
    dht_rec_clear(&recs);
}

int fog_dht_find_providers(fog_dht *d, const uint8_t *mh, size_t len, size_t count,
                           fog_dht_providers_cb cb, void *ud, fog_dht_op **op_out)
{
    if (op_out != NULL) {
        *op_out = NULL;
    }
    if (len == 0 || len > FOG_KAD_PROVIDER_KEY_MAX || cb == NULL) {
        return fog_errf(FOG_ERR_INVALID, "dht: a provider key of 1..%u bytes is needed",
                        (unsigned)FOG_KAD_PROVIDER_KEY_MAX);
    }
    dht_query *q = NULL;
    int rc = dht_query_new(d, FOG_KAD_GET_PROVIDERS, mh, len, &q);
    if (rc < 0) {
        return rc;
    }
    q->prov_cb = cb;
    q->prov_count = count;
    q->ud = ud;
    take_local(q);
    if (op_out != NULL) {
        *op_out = q;
    }
    return 0;
}

void fog_dht_cancel(fog_dht_op *op)
{
    if (op == NULL || op->cancelled) {
        return;
    }
    op->cancelled = true;
    fog_lookup_stop(op->lk);
    uv_timer_start(op->d->timer, dht_timer_cb, 0, 0);
}
