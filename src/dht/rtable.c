/* rtable.c: the Kademlia routing table of one local peer, sans-I/O (libp2p/specs
 * kad-dht/README.md; go-libp2p-kbucket table.go, bucket.go, table_refresh.go).
 * Layout: 256 fixed buckets indexed by the common-prefix length (cpl) of a peer's key with the
 * local key. go-libp2p-kbucket instead starts with one bucket and "unfolds" the last one as it
 * fills; the two agree on every bucket but go's last, which mixes all deeper cpls. Fixed
 * buckets were chosen because a peer's bucket never changes (no split pass that moves entries,
 * no re-bucketing after a removal), the closest-peers walk below is exact and simple, and the
 * memory bound is a plain product: bucket i of a network of N servers holds about N / 2^(i+1)
 * peers, so only the first ~log2(N) buckets ever get slots, and those slots are allocated once,
 * when the first peer falls in the bucket.
 * A bucket is one array: slot[0..k) are the live entries, most recently seen first (the order
 * go's list keeps with PushFront/MoveToFront), so the last live entry is the least recently seen
 * one; slot[k..k+r) are the replacement candidates, most recently seen first (the design of the
 * Kademlia paper, section 4.1, and of go-libp2p-kbucket's former cpl_replacement_cache.go).
 * Invariant: a bucket has replacements only while it is full, because every freed slot
 * promotes the freshest replacement at once.
 * Liveness checks are not a queue of copies but a flag on the entry: at most one entry per
 * bucket has check_pending, and poll_event hands each one out once. So the "queue" holds at most
 * 256 checks and cannot overflow.
 */
#include "fog/rtable.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fog/crypto.h"
#include "fog/kad.h"

typedef struct {
    fog_rtable_peer p;
    bool announced; /* its EV_CHECK was handed out by poll_event */
} entry;

typedef struct {
    entry *slot;         /* bucket_size live entries, then replacement_size candidates; NULL
                            until the first peer falls in this bucket */
    size_t len;          /* live entries in slot[0..len), most recently seen first */
    size_t cached;       /* candidates in slot[k..k + cached), most recently seen first */
    bool checking;       /* one live entry has check_pending */
    bool refreshed;      /* refreshed_ms holds the time of the last lookup into this bucket */
    fog_ms refreshed_ms;
} bucket;

struct fog_rtable {
    fog_rtable_config cfg;
    uint8_t local_id[FOG_PEER_ID_MAX];
    size_t local_id_len;
    uint8_t local_key[FOG_RTABLE_KEY_LEN];
    size_t size;        /* live entries over all buckets */
    size_t unannounced; /* entries with check_pending and not announced */
    bucket b[FOG_RTABLE_BUCKETS];
};

#define rt_log(t, level, ...) fog_logf(&(t)->cfg.log, level, "rtable", __VA_ARGS__)

void fog_rtable_config_default(fog_rtable_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bucket_size = FOG_RTABLE_K;
    cfg->replacement_size = FOG_RTABLE_K;
    cfg->refresh_cpl_max = 15;
}

/* Keys are Kademlia keys: cpl and distance are those of kad_key.c. */
_Static_assert(FOG_RTABLE_KEY_LEN == FOG_KAD_KEY_LEN, "rtable keys are Kademlia keys");

static size_t cpl(const uint8_t *a, const uint8_t *b)
{
    return fog_kad_common_prefix_len(a, b);
}

int fog_rtable_new(fog_rtable **out, const uint8_t *local_id, size_t local_id_len,
                   const fog_rtable_config *cfg)
{
    *out = NULL;
    if (cfg->bucket_size == 0 || cfg->bucket_size > FOG_RTABLE_SLOTS_MAX ||
        cfg->replacement_size > FOG_RTABLE_SLOTS_MAX ||
        cfg->refresh_cpl_max >= FOG_RTABLE_BUCKETS) {
        return fog_errf(FOG_ERR_INVALID, "rtable: config value out of range");
    }
    int rc = fog_peer_id_check(local_id, local_id_len);
    if (rc < 0) {
        return fog_errf(rc, "rtable: the local peer ID is not a peer ID");
    }
    fog_rtable *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return FOG_ERR_NOMEM;
    }
    t->cfg = *cfg;
    memcpy(t->local_id, local_id, local_id_len);
    t->local_id_len = local_id_len;
    fog_sha256(local_id, local_id_len, t->local_key);
    *out = t;
    return 0;
}

void fog_rtable_free(fog_rtable *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < FOG_RTABLE_BUCKETS; i++) {
        free(t->b[i].slot);
    }
    free(t);
}

const uint8_t *fog_rtable_local_key(const fog_rtable *t)
{
    return t->local_key;
}

size_t fog_rtable_bucket_of(const fog_rtable *t, const uint8_t key[FOG_RTABLE_KEY_LEN])
{
    return cpl(key, t->local_key);
}

/* Index of id among arr[0..n), or n. */
static size_t find_in(const entry *arr, size_t n, const uint8_t *id, size_t id_len)
{
    for (size_t j = 0; j < n; j++) {
        if (arr[j].p.id_len == id_len && memcmp(arr[j].p.id, id, id_len) == 0) {
            return j;
        }
    }
    return n;
}

static void move_to_front(entry *arr, size_t j)
{
    entry e = arr[j];
    memmove(&arr[1], &arr[0], j * sizeof *arr);
    arr[0] = e;
}

static void remove_at(entry *arr, size_t *n, size_t j)
{
    memmove(&arr[j], &arr[j + 1], (*n - j - 1) * sizeof *arr);
    (*n)--;
}

/* Inserts e at position pos of arr[0..*n) (room for cap); when full the last one falls off. */
static void insert_at(entry *arr, size_t *n, size_t cap, size_t pos, const entry *e)
{
    size_t keep = *n < cap ? *n : cap - 1;
    memmove(&arr[pos + 1], &arr[pos], (keep - pos) * sizeof *arr);
    arr[pos] = *e;
    *n = keep + 1;
}

static entry *live(const fog_rtable *t, size_t i)
{
    return t->b[i].slot;
}

static entry *repl(const fog_rtable *t, size_t i)
{
    return &t->b[i].slot[t->cfg.bucket_size];
}

/* Peer id's key and bucket; FOG_RTABLE_BUCKETS for the local key. Fails on a bad peer ID. */
static int locate(const fog_rtable *t, const uint8_t *id, size_t id_len, uint8_t *key,
                  size_t *bucket_out)
{
    int rc = fog_peer_id_check(id, id_len);
    if (rc < 0) {
        return rc;
    }
    fog_sha256(id, id_len, key);
    *bucket_out = cpl(key, t->local_key);
    return 0;
}

/* The live entry of peer id, with its bucket and index; NULL when id is not a live peer. */
static entry *find_live(const fog_rtable *t, const uint8_t *id, size_t id_len, size_t *i_out,
                        size_t *j_out)
{
    uint8_t key[FOG_RTABLE_KEY_LEN];
    size_t i;
    if (locate(t, id, id_len, key, &i) < 0 || i >= FOG_RTABLE_BUCKETS ||
        t->b[i].slot == NULL) {
        return NULL;
    }
    size_t j = find_in(live(t, i), t->b[i].len, id, id_len);
    if (j == t->b[i].len) {
        return NULL;
    }
    *i_out = i;
    *j_out = j;
    return &live(t, i)[j];
}

static void clear_check(fog_rtable *t, size_t i, entry *e)
{
    if (!e->p.check_pending) {
        return;
    }
    if (!e->announced) {
        t->unannounced--;
    }
    e->p.check_pending = false;
    e->announced = false;
    t->b[i].checking = false;
}

/* The freshest replacement of bucket i (which has a free slot) becomes a live entry, placed by
 * its last-seen time so that the live order stays most recently seen first. */
static bool promote(fog_rtable *t, size_t i, fog_rtable_peer *promoted_out)
{
    bucket *bk = &t->b[i];
    if (bk->cached == 0) {
        return false;
    }
    entry e = repl(t, i)[0];
    remove_at(repl(t, i), &bk->cached, 0);
    entry *arr = live(t, i);
    size_t pos = 0;
    while (pos < bk->len && arr[pos].p.last_seen_ms > e.p.last_seen_ms) {
        pos++;
    }
    insert_at(arr, &bk->len, t->cfg.bucket_size, pos, &e);
    t->size++;
    if (promoted_out != NULL) {
        *promoted_out = e.p;
    }
    rt_log(t, FOG_LOG_DEBUG, "bucket %zu: promoted a replacement (%zu left)", i, bk->cached);
    return true;
}

/* Evicts live entry j of bucket i; returns whether a replacement took its slot. */
static bool evict(fog_rtable *t, size_t i, size_t j, fog_rtable_peer *promoted_out)
{
    bucket *bk = &t->b[i];
    clear_check(t, i, &live(t, i)[j]);
    remove_at(live(t, i), &bk->len, j);
    t->size--;
    return promote(t, i, promoted_out);
}

/* Removes id from bucket i, live entries or candidates: 1 when a candidate was promoted, 0, or
 * FOG_ERR_NOT_FOUND. */
static int drop(fog_rtable *t, size_t i, const uint8_t *id, size_t id_len,
                fog_rtable_peer *promoted_out)
{
    if (i >= FOG_RTABLE_BUCKETS || t->b[i].slot == NULL) {
        return FOG_ERR_NOT_FOUND;
    }
    bucket *bk = &t->b[i];
    size_t j = find_in(live(t, i), bk->len, id, id_len);
    if (j < bk->len) {
        return evict(t, i, j, promoted_out) ? 1 : 0;
    }
    j = find_in(repl(t, i), bk->cached, id, id_len);
    if (j < bk->cached) {
        remove_at(repl(t, i), &bk->cached, j);
        return 0;
    }
    return FOG_ERR_NOT_FOUND;
}

int fog_rtable_remove(fog_rtable *t, const uint8_t *id, size_t id_len,
                      fog_rtable_peer *promoted_out)
{
    uint8_t key[FOG_RTABLE_KEY_LEN];
    size_t i;
    int rc = locate(t, id, id_len, key, &i);
    return rc < 0 ? rc : drop(t, i, id, id_len, promoted_out);
}

static entry make_entry(const uint8_t *id, size_t id_len, const uint8_t *key, fog_ms now)
{
    entry e;
    memset(&e, 0, sizeof e);
    memcpy(e.p.id, id, id_len);
    e.p.id_len = id_len;
    memcpy(e.p.key, key, FOG_RTABLE_KEY_LEN);
    e.p.added_ms = now;
    e.p.last_seen_ms = now;
    return e;
}

/* Bucket i is full: keep the newcomer as a candidate and queue a check of the least recently
 * seen entry, unless one is already pending in this bucket. */
static int cache(fog_rtable *t, size_t i, const entry *e, fog_ms now)
{
    bucket *bk = &t->b[i];
    entry *r = repl(t, i);
    size_t j = find_in(r, bk->cached, e->p.id, e->p.id_len);
    if (j < bk->cached) {
        r[j].p.last_seen_ms = now;
        move_to_front(r, j);
    } else if (t->cfg.replacement_size > 0) {
        insert_at(r, &bk->cached, t->cfg.replacement_size, 0, e);
    }
    if (!bk->checking) {
        entry *lru = &live(t, i)[bk->len - 1];
        lru->p.check_pending = true;
        lru->announced = false;
        bk->checking = true;
        t->unannounced++;
        rt_log(t, FOG_LOG_DEBUG, "bucket %zu is full: checking its least recently seen peer", i);
    }
    return FOG_RTABLE_CACHED;
}

int fog_rtable_seen(fog_rtable *t, const uint8_t *id, size_t id_len, fog_ms now,
                    bool is_dht_server)
{
    uint8_t key[FOG_RTABLE_KEY_LEN];
    size_t i;
    int rc = locate(t, id, id_len, key, &i);
    if (rc < 0) {
        return rc;
    }
    if (i >= FOG_RTABLE_BUCKETS) {
        return FOG_RTABLE_REFUSED; /* our own ID */
    }
    if (!is_dht_server) {
        /* NOT_FOUND is the common case: a client was never in the table. */
        (void)drop(t, i, id, id_len, NULL);
        return FOG_RTABLE_REFUSED;
    }
    bucket *bk = &t->b[i];
    if (bk->slot == NULL) {
        size_t n = t->cfg.bucket_size + t->cfg.replacement_size; /* <= 2048: no overflow */
        bk->slot = calloc(n, sizeof *bk->slot);
        if (bk->slot == NULL) {
            return FOG_ERR_NOMEM;
        }
    }
    size_t j = find_in(live(t, i), bk->len, id, id_len);
    if (j < bk->len) {
        live(t, i)[j].p.last_seen_ms = now;
        move_to_front(live(t, i), j);
        return FOG_RTABLE_UPDATED;
    }
    entry e = make_entry(id, id_len, key, now);
    if (bk->len == t->cfg.bucket_size) {
        return cache(t, i, &e, now);
    }
    insert_at(live(t, i), &bk->len, t->cfg.bucket_size, 0, &e);
    t->size++;
    return FOG_RTABLE_ADDED;
}

int fog_rtable_useful(fog_rtable *t, const uint8_t *id, size_t id_len, fog_ms now)
{
    size_t i, j;
    entry *e = find_live(t, id, id_len, &i, &j);
    if (e == NULL) {
        return FOG_ERR_NOT_FOUND;
    }
    e->p.last_useful_ms = now;
    return 0;
}

bool fog_rtable_poll_event(fog_rtable *t, fog_rtable_event *ev_out)
{
    for (size_t i = 0; t->unannounced > 0 && i < FOG_RTABLE_BUCKETS; i++) {
        if (!t->b[i].checking) {
            continue;
        }
        entry *arr = live(t, i);
        for (size_t j = 0; j < t->b[i].len; j++) {
            if (arr[j].p.check_pending && !arr[j].announced) {
                arr[j].announced = true;
                t->unannounced--;
                ev_out->kind = FOG_RTABLE_EV_CHECK;
                ev_out->bucket = i;
                ev_out->peer = arr[j].p;
                return true;
            }
        }
    }
    return false;
}

int fog_rtable_check_result(fog_rtable *t, const uint8_t *id, size_t id_len, bool alive,
                            fog_ms now, fog_rtable_peer *promoted_out)
{
    size_t i, j;
    entry *e = find_live(t, id, id_len, &i, &j);
    if (e == NULL) {
        return FOG_ERR_NOT_FOUND;
    }
    if (!alive) {
        rt_log(t, FOG_LOG_DEBUG, "bucket %zu: evicting a peer that failed its check", i);
        return evict(t, i, j, promoted_out) ? 1 : 0;
    }
    clear_check(t, i, e);
    e->p.last_seen_ms = now;
    move_to_front(live(t, i), j);
    return 0;
}

bool fog_rtable_find(const fog_rtable *t, const uint8_t *id, size_t id_len, fog_rtable_peer *out)
{
    size_t i, j;
    const entry *e = find_live(t, id, id_len, &i, &j);
    if (e != NULL && out != NULL) {
        *out = e->p;
    }
    return e != NULL;
}

/* Offers every entry of bucket i to the best-n list out[0..*cnt), kept closest first. */
static void offer_bucket(const fog_rtable *t, size_t i, const uint8_t *target, size_t n,
                         fog_rtable_peer *out, size_t *cnt)
{
    const entry *arr = live(t, i);
    for (size_t j = 0; j < t->b[i].len; j++) {
        const fog_rtable_peer *p = &arr[j].p;
        if (*cnt == n && fog_kad_cmp_distance(target, p->key, out[n - 1].key) >= 0) {
            continue;
        }
        size_t pos = *cnt < n ? *cnt : n - 1;
        while (pos > 0 && fog_kad_cmp_distance(target, p->key, out[pos - 1].key) < 0) {
            pos--;
        }
        size_t keep = *cnt < n ? *cnt : n - 1;
        memmove(&out[pos + 1], &out[pos], (keep - pos) * sizeof *out);
        out[pos] = *p;
        *cnt = keep + 1;
    }
}

/* Distance classes from target's point of view (c = cpl(target, local)): entries of bucket c
 * share at least c + 1 bits with target; entries of every bucket deeper than c share exactly c;
 * entries of a bucket i < c share exactly i. So: bucket c, then all deeper buckets as one class,
 * then c - 1, c - 2, ...; once n candidates are in, every later class is strictly farther. */
void fog_rtable_closest(const fog_rtable *t, const uint8_t target[FOG_RTABLE_KEY_LEN], size_t n,
                        fog_rtable_peer *out, size_t *count_out)
{
    size_t cnt = 0;
    size_t c = cpl(target, t->local_key);
    if (n == 0) {
        *count_out = 0;
        return;
    }
    if (c < FOG_RTABLE_BUCKETS) {
        offer_bucket(t, c, target, n, out, &cnt);
        /* The deeper buckets form one class: when it is needed, all of it is offered. */
        bool need_deeper = cnt < n;
        for (size_t d = c + 1; need_deeper && d < FOG_RTABLE_BUCKETS; d++) {
            offer_bucket(t, d, target, n, out, &cnt);
        }
    }
    for (size_t i = c; cnt < n && i > 0; i--) {
        offer_bucket(t, i - 1, target, n, out, &cnt);
    }
    *count_out = cnt;
}

size_t fog_rtable_size(const fog_rtable *t)
{
    return t->size;
}

size_t fog_rtable_bucket_len(const fog_rtable *t, size_t i)
{
    assert(i < FOG_RTABLE_BUCKETS);
    return t->b[i].len;
}

void fog_rtable_bucket_peer(const fog_rtable *t, size_t i, size_t j, fog_rtable_peer *out)
{
    assert(i < FOG_RTABLE_BUCKETS && j < t->b[i].len);
    *out = live(t, i)[j].p;
}

size_t fog_rtable_bucket_cached(const fog_rtable *t, size_t i)
{
    assert(i < FOG_RTABLE_BUCKETS);
    return t->b[i].cached;
}

void fog_rtable_bucket_cached_peer(const fog_rtable *t, size_t i, size_t j, fog_rtable_peer *out)
{
    assert(i < FOG_RTABLE_BUCKETS && j < t->b[i].cached);
    *out = repl(t, i)[j].p;
}

void fog_rtable_lookup_done(fog_rtable *t, const uint8_t key[FOG_RTABLE_KEY_LEN], fog_ms now)
{
    size_t i = cpl(key, t->local_key);
    if (i < FOG_RTABLE_BUCKETS) {
        t->b[i].refreshed = true;
        t->b[i].refreshed_ms = now;
    }
}

size_t fog_rtable_stale_buckets(const fog_rtable *t, fog_ms now, fog_ms interval_ms,
                                size_t *idx_out)
{
    size_t deepest = 0;
    for (size_t i = FOG_RTABLE_BUCKETS; i > 0; i--) {
        if (t->b[i - 1].len > 0) {
            deepest = i - 1;
            break;
        }
    }
    size_t lim = deepest < t->cfg.refresh_cpl_max ? deepest : t->cfg.refresh_cpl_max;
    size_t n = 0;
    for (size_t i = 0; i <= lim; i++) {
        const bucket *bk = &t->b[i];
        /* go's refresh manager skips a cpl when time.Since(last) <= interval. */
        bool fresh = bk->refreshed &&
                     (now < bk->refreshed_ms || now - bk->refreshed_ms <= interval_ms);
        if (!fresh) {
            idx_out[n++] = i;
        }
    }
    return n;
}

void fog_rtable_bucket_random_key(const fog_rtable *t, size_t i, fog_rng rng,
                                  uint8_t key_out[FOG_RTABLE_KEY_LEN])
{
    assert(i < FOG_RTABLE_BUCKETS && rng.fill != NULL);
    rng.fill(rng.ctx, key_out, FOG_RTABLE_KEY_LEN);
    size_t byte = i / 8;
    unsigned bit = (unsigned)(i % 8);
    memcpy(key_out, t->local_key, byte);
    uint8_t keep = (uint8_t)(0xFF00u >> bit);   /* the top `bit` bits: from the local key */
    uint8_t flip = (uint8_t)(0x80u >> bit);     /* bit i: the local key's, flipped */
    uint8_t local = t->local_key[byte];
    uint8_t rnd = (uint8_t)(key_out[byte] & (uint8_t)~(keep | flip));
    key_out[byte] = (uint8_t)((local & keep) | ((local ^ flip) & flip) | rnd);
}
