/* dht_provide.c: announcing content (fog_dht_provide) and the DHT's upkeep timer: the sweep of
 * expired provider records, the reprovider and the routing table's bucket refresh.
 * Specs: libp2p/specs kad-dht/README.md "Content provider advertisement", ipfs/specs
 * src/routing/kad-dht.md; go-libp2p-kad-dht routing.go Provide (a lookup of the k closest, then
 * ADD_PROVIDER with our peer ID and addresses to each, no answer awaited) and its newer sweeping
 * reprovider (keys grouped by keyspace region); PROTOCOLS.md 3.7.
 * Batching (dht.h fog_dht_provide says what it costs): keys sorted by SHA-256(key); a lookup of
 * the first key not handled gives the k closest peers S; with L the shortest common prefix
 * between the key and a member of S, every peer sharing L + 1 bits with the key is in S (it is
 * closer than S's farthest member), so the sorted keys sharing those L + 1 bits form the region
 * S serves. When the lookup found fewer than k peers (a small network: it saw everyone) S serves
 * every key left. Each peer of S gets one stream with the region's ADD_PROVIDER messages,
 * written in chunks as the stream's queue allows, then closed; no answer is awaited (go sends
 * none). The next region's lookup starts when this region's streams are written or failed.
 * Upkeep: one timer, due at the earliest of the next sweep, reprovide and refresh check.
 * Reprovide: every pinned root's multihash (fog_store_pin_list on the loop: a read transaction)
 * in one fog_dht_provide. Refresh (go-libp2p-kbucket table_refresh.go): for each bucket with no
 * lookup within refresh_interval_ms, a lookup of a random peer-ID-shaped key whose SHA-256 falls
 * in that bucket (found by hashing random candidates: about 2^(i+1) hashes for bucket i <= 15).
 */
#include <stdlib.h>
#include <string.h>

#include "dht_internal.h"
#include "fog/crypto.h"

#define PUSH_CHUNK (32u << 10) /* bytes handed to fog_stream_write at a time */

typedef struct {
    uint8_t pos[FOG_KAD_KEY_LEN];
    uint8_t key[FOG_KAD_PROVIDER_KEY_MAX];
    size_t len;
} pkey;

typedef struct dht_provide prv;

struct dht_provide {
    fog_dht *d;
    prv *next; /* in d->provides */
    pkey *keys;
    size_t n, cur; /* keys[cur..n) not handled yet */
    size_t pushes; /* streams of the current region not finished */
    bool looking;
    bool reprovide;
    fog_dht_provide_stats st;
    fog_dht_provide_cb cb;
    void *ud;
};

typedef struct {
    fog_dht *d;
    prv *p; /* NULL once finished (written or failed) */
    fog_dht_peer peer;
    size_t next_addr;
    fog_buf msgs;
    size_t off, n_msgs;
    fog_stream *s;
} push;

static void prv_step(prv *p);

static void prv_finish(prv *p, int err)
{
    fog_dht *d = p->d;
    for (prv **pp = &d->provides; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    if (p->reprovide) {
        d->reproviding = false;
        fog_logf(&d->cfg.log, FOG_LOG_INFO, DHT_MOD, "reprovided %zu keys: %zu lookups, %zu "
                 "messages", p->st.keys, p->st.lookups, p->st.messages);
    }
    if (p->cb != NULL) {
        p->cb(p->ud, err, &p->st);
    }
    free(p->keys);
    free(p);
}

/* ---- one stream of ADD_PROVIDER messages ---- */

static void push_free(push *u)
{
    fog_buf_clear(&u->msgs);
    free(u);
}

/* The push is over for its provide (ok: every message written and the stream closed). */
static void push_end(push *u, bool ok)
{
    prv *p = u->p;
    if (p == NULL) {
        return;
    }
    u->p = NULL;
    if (ok) {
        p->st.messages += u->n_msgs;
    } else {
        p->st.peers_failed++;
    }
    if (--p->pushes == 0) {
        prv_step(p);
    }
}

static void push_write(fog_stream *s)
{
    push *u = fog_stream_ud(s);
    if (u == NULL || u->p == NULL) {
        return;
    }
    while (u->off < u->msgs.len) {
        size_t n = u->msgs.len - u->off;
        n = n > PUSH_CHUNK ? PUSH_CHUNK : n;
        int rc = fog_stream_write(s, u->msgs.p + u->off, n);
        if (rc == FOG_ERR_LIMIT) {
            return; /* on_writable */
        }
        if (rc < 0) {
            push_end(u, false);
            return;
        }
        u->off += n;
    }
    push_end(u, fog_stream_close(s) == 0);
}

static size_t push_data(fog_stream *s, const uint8_t *data, size_t len)
{
    (void)s;
    (void)data;
    (void)len;
    return 0; /* ADD_PROVIDER has no answer: anything is ignored */
}

static void push_close(fog_stream *s, int err)
{
    (void)err;
    push *u = fog_stream_ud(s);
    fog_stream_set_ud(s, NULL);
    if (u != NULL) {
        push_end(u, false); /* no-op when it was written */
        push_free(u);
    }
}

static const fog_stream_handler push_handler = {push_write, push_data, NULL, push_write,
                                                push_close};

static void push_dialled(void *ud, int err, const char *detail, fog_slice peer);

/* Opens the stream when connected, else dials the next address; false when nothing is left. */
static bool push_go(push *u)
{
    fog_dht *d = u->d;
    fog_peer_info info;
    if (fog_node_peer(d->node, u->peer.id, u->peer.id_len, &info)) {
        return fog_node_open_stream(d->node, u->peer.id, u->peer.id_len, FOG_KAD_PROTOCOL,
                                    &push_handler, u, &u->s) == 0;
    }
    while (u->next_addr < u->peer.n_addrs) {
        fog_multiaddr ma = u->peer.addrs[u->next_addr++];
        fog_slice has;
        if (fog_multiaddr_peer_id(&ma, &has) == FOG_ERR_NOT_FOUND &&
            fog_multiaddr_push(&ma, FOG_MA_P2P, u->peer.id, u->peer.id_len) < 0) {
            continue;
        }
        if (fog_node_dial(d->node, &ma, push_dialled, u) == 0) {
            return true;
        }
    }
    return false;
}

static void push_dialled(void *ud, int err, const char *detail, fog_slice peer)
{
    (void)detail;
    (void)peer;
    push *u = ud;
    if (u->p == NULL || err == FOG_ERR_CANCELLED || !push_go(u)) {
        push_end(u, false);
        push_free(u);
    }
}

/* The region's messages: one ADD_PROVIDER per key with our ID and announce addresses. */
static int region_msgs(prv *p, size_t end, fog_buf *out)
{
    fog_dht *d = p->d;
    fog_multiaddr own[FOG_NODE_ANNOUNCE_MAX];
    size_t na = fog_node_announce_addrs(d->node, own);
    na = na > FOG_KAD_ADDRS_MAX ? FOG_KAD_ADDRS_MAX : na;
    fog_kad_peer me = {fog_node_peer_id(d->node), own, na, FOG_KAD_CONNECTED};
    for (size_t i = p->cur; i < end; i++) {
        fog_kad_msg m = {.type = FOG_KAD_ADD_PROVIDER,
                         .key = fog_slice_make(p->keys[i].key, p->keys[i].len),
                         .providers = &me, .n_providers = 1};
        int rc = fog_kad_encode(&m, out);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static void push_start(prv *p, const fog_dht_peer *peer, const fog_buf *msgs, size_t n_msgs)
{
    push *u = calloc(1, sizeof *u);
    if (u == NULL || fog_buf_append(&u->msgs, msgs->p, msgs->len) < 0) {
        free(u);
        p->st.peers_failed++;
        return;
    }
    u->d = p->d;
    u->p = p;
    u->peer = *peer;
    u->n_msgs = n_msgs;
    p->pushes++;
    if (!push_go(u)) {
        push_end(u, false);
        push_free(u);
    }
}

/* ---- regions ---- */

/* The end of the region the lookup of keys[cur] proved, given its k closest. */
static size_t region_end(const prv *p, const fog_dht_peer *closest, size_t n)
{
    if (n < p->d->cfg.k) {
        return p->n; /* the lookup saw every reachable peer */
    }
    const uint8_t *pos = p->keys[p->cur].pos;
    unsigned l = FOG_KAD_KEY_LEN * 8;
    for (size_t i = 0; i < n; i++) {
        uint8_t key[FOG_KAD_KEY_LEN];
        fog_kad_key_for_peer(closest[i].id, closest[i].id_len, key);
        unsigned c = fog_kad_common_prefix_len(pos, key);
        l = c < l ? c : l;
    }
    size_t end = p->cur + 1;
    while (end < p->n && fog_kad_common_prefix_len(pos, p->keys[end].pos) >= l + 1) {
        end++;
    }
    return end;
}

static void looked(void *ud, int err, const fog_dht_peer *closest, size_t n,
                   const fog_dht_peer *target)
{
    (void)target;
    prv *p = ud;
    p->looking = false;
    if (err < 0) {
        prv_finish(p, err);
        return;
    }
    size_t end = region_end(p, closest, n);
    fog_buf msgs;
    fog_buf_init(&msgs);
    if (n > 0 && region_msgs(p, end, &msgs) == 0) {
        for (size_t i = 0; i < n; i++) {
            push_start(p, &closest[i], &msgs, end - p->cur);
        }
    }
    fog_buf_clear(&msgs);
    p->cur = end;
    if (p->pushes == 0) {
        prv_step(p);
    }
}

static void prv_step(prv *p)
{
    if (p->cur >= p->n) {
        prv_finish(p, 0);
        return;
    }
    const pkey *k = &p->keys[p->cur];
    int rc = fog_dht_get_closest(p->d, k->key, k->len, looked, p);
    if (rc < 0) {
        prv_finish(p, rc);
        return;
    }
    p->looking = true;
    p->st.lookups++;
}

static int by_pos(const void *a, const void *b)
{
    return memcmp(((const pkey *)a)->pos, ((const pkey *)b)->pos, FOG_KAD_KEY_LEN);
}

static int provide(fog_dht *d, const fog_slice *keys, size_t n, fog_dht_provide_cb cb, void *ud,
                   bool reprovide)
{
    if (n == 0) {
        return fog_errf(FOG_ERR_INVALID, "dht: provide needs at least one key");
    }
    for (size_t i = 0; i < n; i++) {
        if (keys[i].len == 0 || keys[i].len > FOG_KAD_PROVIDER_KEY_MAX) {
            return fog_errf(FOG_ERR_INVALID, "dht: a provider key of 1..%u bytes is needed",
                            (unsigned)FOG_KAD_PROVIDER_KEY_MAX);
        }
    }
    prv *p = calloc(1, sizeof *p);
    if (p == NULL || (p->keys = calloc(n, sizeof *p->keys)) == NULL) {
        free(p);
        return FOG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(p->keys[i].key, keys[i].p, keys[i].len);
        p->keys[i].len = keys[i].len;
        fog_kad_key(keys[i].p, keys[i].len, p->keys[i].pos);
    }
    qsort(p->keys, n, sizeof *p->keys, by_pos);
    *p = (prv){d, d->provides, p->keys, n, 0, 0, false, reprovide, {.keys = n}, cb, ud};
    d->provides = p;
    fog_slice me = fog_node_peer_id(d->node);
    if (dht_rec_add(d, keys, n, me, NULL, 0) < 0) {
        fog_logf(&d->cfg.log, FOG_LOG_WARN, DHT_MOD, "our provider records were not stored");
    }
    prv_step(p); /* the lookup's callback is deferred */
    return 0;
}

int fog_dht_provide(fog_dht *d, const fog_slice *keys, size_t n, fog_dht_provide_cb cb, void *ud)
{
    return provide(d, keys, n, cb, ud, false);
}

void dht_provides_cancel(fog_dht *d)
{
    while (d->provides != NULL) {
        prv_finish(d->provides, FOG_ERR_CANCELLED);
    }
}

/* ---- upkeep: sweep, reprovide, refresh ---- */

typedef struct {
    fog_slice *keys; /* into cids */
    fog_cid *cids;
    size_t n, cap;
} roots;

static int root_add(void *ctx, const fog_cid *c, int kind)
{
    (void)kind;
    roots *r = ctx;
    fog_slice mh = fog_cid_mh(c);
    if (mh.len == 0 || mh.len > FOG_KAD_PROVIDER_KEY_MAX || c->mh_code == FOG_MC_IDENTITY) {
        return 0; /* identity CIDs carry their data: nobody looks them up */
    }
    if (r->n == r->cap) {
        size_t cap = r->cap == 0 ? 64 : r->cap * 2;
        fog_cid *nc = realloc(r->cids, cap * sizeof *nc);
        if (nc == NULL) {
            return FOG_ERR_NOMEM;
        }
        r->cids = nc;
        r->cap = cap;
    }
    r->cids[r->n++] = *c;
    return 0;
}

static void reprovided(void *ud, int err, const fog_dht_provide_stats *st)
{
    (void)ud;
    (void)err;
    (void)st; /* prv_finish logged it */
}

static void run_reprovide(fog_dht *d)
{
    if (d->reproviding || d->cfg.store == NULL) {
        return;
    }
    roots r = {0};
    int rc = fog_store_pin_list(d->cfg.store, root_add, &r);
    if (rc == 0 && r.n > 0 && (r.keys = calloc(r.n, sizeof *r.keys)) == NULL) {
        rc = FOG_ERR_NOMEM;
    }
    if (rc == 0 && r.n > 0) {
        for (size_t i = 0; i < r.n; i++) {
            r.keys[i] = fog_cid_mh(&r.cids[i]);
        }
        if ((rc = provide(d, r.keys, r.n, reprovided, NULL, true)) == 0) {
            d->reproviding = true;
            d->stats.reprovides++;
        }
    }
    if (rc < 0) {
        fog_logf(&d->cfg.log, FOG_LOG_WARN, DHT_MOD, "reprovide failed: %s", fog_err_detail(rc));
    }
    free(r.keys);
    free(r.cids);
}

/* A random sha2-256-multihash "peer ID" whose SHA-256 lies in bucket i (i <= 15: at most about
 * 2^17 tries); false when none was found within the tries. */
static bool refresh_key(const fog_dht *d, size_t i, uint8_t id[34])
{
    const uint8_t *me = fog_rtable_local_key(d->rt);
    id[0] = 0x12;
    id[1] = 0x20;
    for (unsigned t = 0; t < (1u << 20); t++) {
        fog_random_bytes(id + 2, 32);
        uint8_t key[FOG_KAD_KEY_LEN];
        fog_kad_key(id, 34, key);
        if (fog_kad_common_prefix_len(me, key) == i) {
            return true;
        }
    }
    return false;
}

static void refreshed(void *ud, int err, const fog_dht_peer *closest, size_t n,
                      const fog_dht_peer *target)
{
    (void)ud;
    (void)err;
    (void)closest;
    (void)n;
    (void)target;
}

static void run_refresh(fog_dht *d, fog_ms now)
{
    size_t idx[FOG_RTABLE_BUCKETS];
    size_t n = fog_rtable_stale_buckets(d->rt, now, d->cfg.refresh_interval_ms, idx);
    for (size_t j = 0; j < n; j++) {
        uint8_t id[34], key[FOG_KAD_KEY_LEN];
        if (!refresh_key(d, idx[j], id)) {
            continue;
        }
        if (fog_dht_get_closest(d, id, sizeof id, refreshed, NULL) == 0) {
            fog_kad_key(id, sizeof id, key);
            fog_rtable_lookup_done(d->rt, key, now); /* started: not picked again meanwhile */
            d->stats.refreshes++;
        }
    }
}

static void upkeep_arm(fog_dht *d);

static void upkeep_cb(uv_timer_t *t)
{
    fog_dht *d = t->data;
    if (d == NULL) {
        return;
    }
    fog_ms now = dht_now(d);
    if (d->cfg.sweep_interval_ms > 0 && now >= d->next_sweep) {
        dht_rec_sweep(d);
        d->next_sweep = now + d->cfg.sweep_interval_ms;
    }
    if (d->cfg.reprovide_interval_ms > 0 && now >= d->next_reprovide) {
        run_reprovide(d);
        d->next_reprovide = now + d->cfg.reprovide_interval_ms;
    }
    if (d->cfg.refresh_interval_ms > 0 && now >= d->next_refresh) {
        if (fog_rtable_size(d->rt) > 0) {
            run_refresh(d, now);
        }
        fog_ms check = d->cfg.refresh_interval_ms / 10;
        d->next_refresh = now + (check < 1000 ? 1000 : check);
    }
    upkeep_arm(d);
}

static void upkeep_arm(fog_dht *d)
{
    fog_ms next = FOG_NEVER;
    if (d->cfg.sweep_interval_ms > 0 && d->cfg.store != NULL) {
        next = d->next_sweep < next ? d->next_sweep : next;
    }
    if (d->cfg.reprovide_interval_ms > 0 && d->cfg.store != NULL) {
        next = d->next_reprovide < next ? d->next_reprovide : next;
    }
    if (d->cfg.refresh_interval_ms > 0) {
        next = d->next_refresh < next ? d->next_refresh : next;
    }
    if (next != FOG_NEVER) {
        fog_ms now = dht_now(d);
        uv_timer_start(d->upkeep, upkeep_cb, next > now ? next - now : 0, 0);
        uv_unref((uv_handle_t *)d->upkeep); /* upkeep alone does not keep the loop alive */
    }
}

void dht_upkeep_start(fog_dht *d)
{
    fog_ms now = dht_now(d);
    d->next_sweep = now + d->cfg.sweep_interval_ms;
    d->next_reprovide = now + d->cfg.reprovide_delay_ms;
    d->next_refresh = now + d->cfg.refresh_interval_ms;
    upkeep_arm(d);
}
