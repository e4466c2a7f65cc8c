/* lookup.c: the iterative Kademlia lookup, sans-I/O (libp2p/specs kad-dht/README.md "Peer
 * routing"; go-libp2p-kad-dht query.go and qpeerset/qpeerset.go).
 * The candidate set is one array sorted by XOR distance to the target, capped at max_peers.
 * Each entry stores its distance (key XOR target), so insertion and de-duplication are a binary
 * search: two IDs with the same key are the same peer (the key is SHA-256 of the ID). Entries
 * move through the states of go's qpeerset: HEARD (known, never asked) -> WAITING (in flight)
 * -> QUERIED (answered) or UNREACHABLE (failed or timed out). Requests go to the closest HEARD
 * entry first, at most alpha at a time.
 * Termination follows go's isLookupTermination with beta = k, which is also what go's
 * lookupWithFollowup reaches after its follow-up round: the lookup has converged when the first
 * k entries that are not UNREACHABLE are all QUERIED, so no closer peer remains unasked; it is
 * starved when no entry is HEARD or WAITING. Far requests still in flight at that point do not
 * delay the end (go cancels them too). When the set is full, the farthest entry that is not in
 * flight is evicted for a closer newcomer; an evicted peer heard again later re-enters as new.
 */
#include "fog/lookup.h"

#include <stdlib.h>
#include <string.h>

#include "fog/kad.h"

_Static_assert(FOG_LOOKUP_KEY_LEN == FOG_KAD_KEY_LEN, "lookup keys are Kademlia keys");

enum { ST_HEARD = 0, ST_WAITING, ST_QUERIED, ST_UNREACHABLE };

typedef struct {
    uint8_t dist[FOG_LOOKUP_KEY_LEN]; /* key XOR target: the sort key */
    uint8_t key[FOG_LOOKUP_KEY_LEN];
    uint8_t id[FOG_LOOKUP_ID_MAX];
    uint8_t id_len; /* 1..FOG_LOOKUP_ID_MAX */
    uint8_t state;  /* ST_* */
    fog_ms due;     /* ST_WAITING: the request's timeout */
} cand;

struct fog_lookup {
    fog_lookup_config cfg;
    cand *c;        /* sorted by dist, n entries of cfg.max_peers */
    size_t n;
    size_t waiting; /* entries in ST_WAITING, <= cfg.alpha */
    size_t heard;   /* entries in ST_HEARD */
    fog_lookup_outcome outcome;
    fog_lookup_stats st;
};

#define lk_log(l, level, ...) fog_logf(&(l)->cfg.log, level, "lookup", __VA_ARGS__)

void fog_lookup_config_default(fog_lookup_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->alpha = 10;
    cfg->k = 20;
    cfg->request_timeout_ms = 10 * 1000;
    cfg->deadline = FOG_NEVER;
    cfg->max_peers = 512;
}

int fog_lookup_cmp_dist(const uint8_t t[FOG_LOOKUP_KEY_LEN], const uint8_t a[FOG_LOOKUP_KEY_LEN],
                        const uint8_t b[FOG_LOOKUP_KEY_LEN])
{
    return fog_kad_cmp_distance(t, a, b);
}

int fog_lookup_new(fog_lookup **out, const fog_lookup_config *cfg)
{
    *out = NULL;
    if (cfg->alpha == 0 || cfg->k == 0 || cfg->max_peers > FOG_LOOKUP_PEERS_MAX ||
        cfg->k > FOG_LOOKUP_PEERS_MAX || cfg->alpha > FOG_LOOKUP_PEERS_MAX ||
        cfg->max_peers < cfg->k + cfg->alpha) {
        return fog_errf(FOG_ERR_INVALID, "lookup: need alpha, k >= 1 and k + alpha <= "
                                         "max_peers <= %d", FOG_LOOKUP_PEERS_MAX);
    }
    fog_lookup *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return FOG_ERR_NOMEM;
    }
    l->c = calloc(cfg->max_peers, sizeof *l->c);
    if (l->c == NULL) {
        free(l);
        return FOG_ERR_NOMEM;
    }
    l->cfg = *cfg;
    if (l->cfg.max_closer == 0) {
        l->cfg.max_closer = 4 * cfg->k;
    }
    *out = l;
    return 0;
}

void fog_lookup_free(fog_lookup *l)
{
    if (l == NULL) {
        return;
    }
    free(l->c);
    free(l);
}

/* The index of the first entry whose distance is >= dist (n when none); *eq tells equality. */
static size_t find_pos(const fog_lookup *l, const uint8_t dist[FOG_LOOKUP_KEY_LEN], bool *eq)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(l->c[mid].dist, dist, FOG_LOOKUP_KEY_LEN) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *eq = lo < l->n && memcmp(l->c[lo].dist, dist, FOG_LOOKUP_KEY_LEN) == 0;
    return lo;
}

static void remove_at(fog_lookup *l, size_t i)
{
    if (l->c[i].state == ST_HEARD) {
        l->heard--;
    }
    memmove(&l->c[i], &l->c[i + 1], (l->n - i - 1) * sizeof *l->c);
    l->n--;
}

/* Makes room for an entry that would go at pos: evicts the farthest entry not in flight when
 * it lies at or beyond pos. False when the newcomer is to be dropped. */
static bool make_room(fog_lookup *l, size_t pos)
{
    if (l->n < l->cfg.max_peers) {
        return true;
    }
    for (size_t i = l->n; i > pos; i--) {
        if (l->c[i - 1].state != ST_WAITING) {
            remove_at(l, i - 1);
            l->st.dropped++;
            return true;
        }
    }
    l->st.dropped++;
    return false;
}

/* Adds a HEARD candidate. 1 when added, 0 when known, our own key or dropped. */
static int add_cand(fog_lookup *l, const uint8_t *id, size_t id_len, const uint8_t *key)
{
    if (l->cfg.has_self && memcmp(key, l->cfg.self_key, FOG_LOOKUP_KEY_LEN) == 0) {
        return 0;
    }
    uint8_t dist[FOG_LOOKUP_KEY_LEN];
    for (size_t i = 0; i < FOG_LOOKUP_KEY_LEN; i++) {
        dist[i] = (uint8_t)(key[i] ^ l->cfg.target[i]);
    }
    bool eq;
    size_t pos = find_pos(l, dist, &eq);
    if (eq || !make_room(l, pos)) {
        return 0;
    }
    memmove(&l->c[pos + 1], &l->c[pos], (l->n - pos) * sizeof *l->c);
    cand *e = &l->c[pos];
    memset(e, 0, sizeof *e);
    memcpy(e->dist, dist, sizeof dist);
    memcpy(e->key, key, FOG_LOOKUP_KEY_LEN);
    memcpy(e->id, id, id_len);
    e->id_len = (uint8_t)id_len;
    e->state = ST_HEARD;
    l->n++;
    l->heard++;
    return 1;
}

static bool id_ok(const uint8_t *id, size_t id_len)
{
    return id != NULL && id_len > 0 && id_len <= FOG_LOOKUP_ID_MAX;
}

int fog_lookup_add_seed(fog_lookup *l, const uint8_t *id, size_t id_len,
                        const uint8_t key[FOG_LOOKUP_KEY_LEN])
{
    if (!id_ok(id, id_len)) {
        return fog_errf(FOG_ERR_INVALID, "lookup: peer ID of %zu bytes", id_len);
    }
    if (l->outcome != FOG_LOOKUP_RUNNING) {
        return 0;
    }
    return add_cand(l, id, id_len, key);
}

/* The entry of a peer in flight, or NULL. At most alpha entries are WAITING; a linear scan
 * over the set is cheaper than keeping an index that every insertion would shift. */
static cand *find_waiting(fog_lookup *l, const uint8_t *id, size_t id_len)
{
    if (!id_ok(id, id_len)) {
        return NULL;
    }
    for (size_t i = 0; i < l->n; i++) {
        cand *e = &l->c[i];
        if (e->state == ST_WAITING && e->id_len == id_len && memcmp(e->id, id, id_len) == 0) {
            return e;
        }
    }
    return NULL;
}

/* Converged when the first k entries that are not UNREACHABLE have all answered; starved when
 * nothing is HEARD or WAITING. */
static void check_end(fog_lookup *l)
{
    if (l->outcome != FOG_LOOKUP_RUNNING) {
        return;
    }
    size_t seen = 0;
    for (size_t i = 0; i < l->n && seen < l->cfg.k; i++) {
        uint8_t s = l->c[i].state;
        if (s == ST_HEARD || s == ST_WAITING) {
            return;
        }
        if (s == ST_QUERIED) {
            seen++;
        }
    }
    /* Fewer than k answered with the whole set scanned means nothing is HEARD or WAITING. */
    l->outcome = seen == l->cfg.k ? FOG_LOOKUP_CONVERGED : FOG_LOOKUP_STARVED;
    lk_log(l, FOG_LOG_DEBUG, "done (%s) after %llu requests",
           l->outcome == FOG_LOOKUP_CONVERGED ? "converged" : "starved",
           (unsigned long long)l->st.requests);
}

static void set_unreachable(fog_lookup *l, cand *e)
{
    e->state = ST_UNREACHABLE;
    l->waiting--;
}

static int expire(fog_lookup *l, fog_ms now)
{
    if (l->outcome != FOG_LOOKUP_RUNNING) {
        return 0;
    }
    int n = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->c[i].state == ST_WAITING && l->c[i].due <= now) {
            set_unreachable(l, &l->c[i]);
            l->st.timeouts++;
            n++;
        }
    }
    if (now >= l->cfg.deadline) {
        l->outcome = FOG_LOOKUP_DEADLINE;
        lk_log(l, FOG_LOG_DEBUG, "deadline after %llu requests",
               (unsigned long long)l->st.requests);
        return n;
    }
    check_end(l);
    return n;
}

int fog_lookup_next(fog_lookup *l, fog_ms now, fog_lookup_peer *peer_out)
{
    (void)expire(l, now); /* the count matters only to fog_lookup_on_timeout's caller */
    check_end(l);
    if (l->outcome != FOG_LOOKUP_RUNNING || l->waiting >= l->cfg.alpha || l->heard == 0) {
        return 0;
    }
    for (size_t i = 0; i < l->n; i++) {
        cand *e = &l->c[i];
        if (e->state != ST_HEARD) {
            continue;
        }
        e->state = ST_WAITING;
        e->due = now > FOG_NEVER - l->cfg.request_timeout_ms ? FOG_NEVER
                                                             : now + l->cfg.request_timeout_ms;
        l->heard--;
        l->waiting++;
        l->st.requests++;
        memset(peer_out, 0, sizeof *peer_out);
        memcpy(peer_out->id, e->id, e->id_len);
        peer_out->id_len = e->id_len;
        memcpy(peer_out->key, e->key, FOG_LOOKUP_KEY_LEN);
        return 1;
    }
    return 0; /* not reached: heard > 0 means some entry is HEARD */
}

int fog_lookup_response(fog_lookup *l, const uint8_t *id, size_t id_len,
                        const fog_lookup_contact *closer, size_t n_closer, fog_ms now)
{
    (void)now; /* answers are accepted until on_timeout or next has failed the request */
    if (l->outcome != FOG_LOOKUP_RUNNING) {
        return 0;
    }
    cand *e = find_waiting(l, id, id_len);
    if (e == NULL) {
        l->st.ignored++;
        return FOG_ERR_NOT_FOUND;
    }
    /* Mark before inserting: insertion moves entries, so e is stale afterwards. */
    e->state = ST_QUERIED;
    l->waiting--;
    l->st.responses++;
    if (n_closer > l->cfg.max_closer) {
        l->st.ignored += n_closer - l->cfg.max_closer;
        n_closer = l->cfg.max_closer;
    }
    int added = 0;
    for (size_t i = 0; i < n_closer; i++) {
        const fog_lookup_contact *p = &closer[i];
        if (id_ok(p->id, p->id_len) && p->key != NULL) {
            added += add_cand(l, p->id, p->id_len, p->key);
        }
    }
    check_end(l);
    return added;
}

int fog_lookup_failed(fog_lookup *l, const uint8_t *id, size_t id_len, fog_ms now)
{
    (void)now;
    if (l->outcome != FOG_LOOKUP_RUNNING) {
        return 0;
    }
    cand *e = find_waiting(l, id, id_len);
    if (e == NULL) {
        return FOG_ERR_NOT_FOUND;
    }
    set_unreachable(l, e);
    l->st.failures++;
    check_end(l);
    return 0;
}

fog_ms fog_lookup_deadline(const fog_lookup *l)
{
    if (l->outcome != FOG_LOOKUP_RUNNING) {
        return FOG_NEVER;
    }
    fog_ms d = l->cfg.deadline;
    for (size_t i = 0; i < l->n; i++) {
        if (l->c[i].state == ST_WAITING && l->c[i].due < d) {
            d = l->c[i].due;
        }
    }
    return d;
}

int fog_lookup_on_timeout(fog_lookup *l, fog_ms now)
{
    return expire(l, now);
}

void fog_lookup_stop(fog_lookup *l)
{
    if (l->outcome == FOG_LOOKUP_RUNNING) {
        l->outcome = FOG_LOOKUP_STOPPED;
    }
}

bool fog_lookup_done(const fog_lookup *l)
{
    return l->outcome != FOG_LOOKUP_RUNNING;
}

fog_lookup_outcome fog_lookup_outcome_of(const fog_lookup *l)
{
    return l->outcome;
}

size_t fog_lookup_inflight(const fog_lookup *l)
{
    return l->waiting;
}

void fog_lookup_get_stats(const fog_lookup *l, fog_lookup_stats *out)
{
    *out = l->st;
}

size_t fog_lookup_result(const fog_lookup *l, fog_lookup_peer *out, size_t cap)
{
    size_t want = cap < l->cfg.k ? cap : l->cfg.k;
    size_t got = 0;
    for (size_t i = 0; i < l->n && got < want; i++) {
        const cand *e = &l->c[i];
        if (e->state != ST_QUERIED) {
            continue;
        }
        memset(&out[got], 0, sizeof out[got]);
        memcpy(out[got].id, e->id, e->id_len);
        out[got].id_len = e->id_len;
        memcpy(out[got].key, e->key, FOG_LOOKUP_KEY_LEN);
        got++;
    }
    return got;
}
