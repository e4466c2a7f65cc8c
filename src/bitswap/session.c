/* session.c: the bitswap client session core, sans-I/O (bswap.h "Client").
 * A session holds wants in a FIFO; the first `inflight` of them are active (the invariant: the
 * active wants are a prefix of the FIFO, next_inactive marks its end).
 * Who has what: a want going active is announced once as a want-have (send_dont_have) to every
 * connected peer (a broadcast; the caller also sends it to peers connecting later). Each peer
 * answers HAVE or DONT_HAVE and keeps the want in its ledger, so it says HAVE later, as soon as
 * it stores the block. So per want the core knows the peers that have it (its holders) and the
 * ones that lack it (tried). A peer answering HAVE joins the session (a member), as in boxo's
 * session peer manager; peers the caller adds (hints, providers) are members from the start.
 * Budget: each peer gets at most budget want-blocks outstanding: what it delivered lately (block
 * bytes received from it in the last window_ms, kept in SLOTS slots, over the session's mean
 * block size; twice that in its first window, a slow start), never more than inflight and
 * never under a floor: BUDGET_MIN blocks (BUDGET_START in the first window), counted in bytes
 * of 256 KiB blocks, so 2 of them but 1 of 1 MiB blocks (fog's CIDv1 chunks): a floor of two
 * 1 MiB blocks from each of 20 fetchers was a 3 s queue at the origin. It works like a
 * delivery-rate congestion window: while the round trip is shorter than the window the budget
 * grows each round trip (each block frees one slot and adds one or two), so over loopback one
 * peer soon has dozens of blocks in flight; a peer shared by many (an origin with 20 fetchers)
 * delivers each of them little per window and stays at the floor, so its queue holds 1-2
 * blocks per fetcher and its output is bounded by its uplink, not by the requests.
 * Scheduling is peer-driven: whenever a member has budget free it gets, in this order, (1) the
 * active want it has that is asked nowhere and has the fewest known holders (rarest first), (2)
 * an active want asked nowhere whose status at the peer is unknown (a blind ask: saves a round
 * trip when a new DAG level goes active at a peer that has the rest; only at peers the caller
 * added, or for wants that went active after the peer joined), (3) endgame: a want it has that
 * is asked at fewer than BS_WANT_ASKS other peers, each of them late (late_after: twice the
 * wait that the asked peer's pace predicts, at least a quarter of the timeout; a cancel seldom
 * catches a block that left the peer's engine, so an early duplicate costs some uplink), the
 * fewest asks first, then the fewest holders. Ties are
 * broken at random (the caller's randomness, or a seeded generator) at a peer at its floor, so
 * fetchers sharing an origin ask it for different blocks, and in FIFO order at a faster peer,
 * so a reader going through the DAG in order (cat) gets its blocks in order. A DONT_HAVE
 * to a blind ask marks the peer tried and turns our want-block there into a want-have again
 * (cancel + want-have), so it tells us HAVE later instead of pushing the block; an ask whose
 * peer sent us nothing for want_timeout_ms (tick_asks) marks the peer tried and cancels there.
 * A want with no holder left waits for a HAVE; after provider_delay_ms the caller is asked to
 * search providers; a timeout after its last ask with still no holder it starts over (tried
 * peers forgotten, want-have broadcast again): a want ends only when it is satisfied or
 * dropped. A block counts whichever peer sent it; when it arrives its want is cancelled at
 * every peer (the broadcast reaches those asked too).
 * Time: calls that carry `now` move the session's clock (a `now` behind it counts at the clock).
 * Decisions come out as queued actions.
 */
#include "bitswap/internal.h"

#include <stdlib.h>
#include <string.h>

#define BUDGET_START 2
#define BUDGET_MIN 2
#define START_BYTES (512u << 10) /* BUDGET_START of 256 KiB blocks; 1 of 1 MiB blocks */
#define MIN_BYTES (512u << 10)   /* BUDGET_MIN of 256 KiB blocks; 1 of 1 MiB blocks */
#define WINDOW_DEFAULT_MS 100
#define SLOTS 10
#define PACE_MAX_MS 60000 /* a pace sample is cut to this */
#define LATE_FACTOR 2     /* an ask is late after this many times its expected wait */
#define HARD_TIMEOUTS 6   /* an ask times out after this many want timeouts in any case */

struct bs_speer {
    bs_hnode node;
    uint8_t id[FOG_PEER_ID_MAX];
    size_t len;
    size_t outstanding; /* want-blocks of this session asked at the peer */
    bool member;        /* said HAVE once or added by the caller: may be asked */
    bool hinted;        /* added by the caller: asked blind for any want */
    uint64_t joined;    /* the last activation seq when it joined: blind asks only for later */
    bool delivered;     /* a block of it was counted */
    fog_ms first_at;    /* when its first block was counted */
    uint64_t slot[SLOTS];
    uint64_t sum;       /* of slot[]: bytes delivered in the last window */
    uint64_t slot_idx;  /* the slot the clock is in (clock / slot length) */
    uint64_t idle_gen;  /* the session's gen when a pick for it found nothing */
    fog_ms busy_since;  /* when its outstanding asks last went from 0 to 1 */
    fog_ms last_at;     /* when its last block was counted (0: none yet) */
    fog_ms gap;         /* its pace: mean time between its blocks while asked (0: unknown) */
    struct bs_speer *prev, *next;
};

struct bs_sess {
    bs_sess_config cfg;
    bs_htab wants;
    bs_want *head, *tail, *next_inactive;
    size_t n_active;
    bs_htab peers;
    bs_speer *phead;
    bs_act *acts;
    size_t n_acts, acts_cap, acts_off;
    bs_sess_stats stats;
    fog_ms now;      /* the clock: the latest time a call brought */
    fog_ms slot_ms;  /* window_ms / SLOTS */
    uint64_t gen;    /* bumped whenever a want may have become pickable */
    uint64_t seq;    /* activations so far */
    uint64_t rng;    /* the built-in generator's state */
};

static uint64_t rnd(bs_sess *s)
{
    if (s->cfg.rand != NULL) {
        return s->cfg.rand(s->cfg.rand_ud);
    }
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15u); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

int fog__bs_sess_new(bs_sess **out, const bs_sess_config *cfg)
{
    bs_sess *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return FOG_ERR_NOMEM;
    }
    s->cfg = *cfg;
    if (s->cfg.inflight == 0) {
        s->cfg.inflight = 1;
    }
    if (s->cfg.window_ms == 0) {
        s->cfg.window_ms = WINDOW_DEFAULT_MS;
    }
    s->slot_ms = s->cfg.window_ms / SLOTS > 0 ? s->cfg.window_ms / SLOTS : 1;
    s->rng = s->cfg.seed != 0 ? s->cfg.seed : (uint64_t)(uintptr_t)s ^ 0x5851f42d4c957f2du;
    s->gen = 1;
    *out = s;
    return 0;
}

static void pset_clear(bs_pset *ps)
{
    free(ps->p);
    ps->p = NULL;
    ps->n = ps->cap = 0;
}

static void want_free(bs_want *w)
{
    pset_clear(&w->have);
    pset_clear(&w->tried);
    free(w);
}

void fog__bs_sess_free(bs_sess *s)
{
    if (s == NULL) {
        return;
    }
    for (bs_want *w = s->head, *next; w != NULL; w = next) {
        next = w->next;
        want_free(w);
    }
    for (bs_speer *p = s->phead, *next; p != NULL; p = next) {
        next = p->next;
        free(p);
    }
    fog__bs_htab_clear(&s->wants);
    fog__bs_htab_clear(&s->peers);
    free(s->acts);
    free(s);
}

/* ---- actions ---- */

static void act(bs_sess *s, bs_act_kind kind, const bs_speer *p, const fog_cid *c)
{
    if (s->acts_off == s->n_acts) {
        s->acts_off = s->n_acts = 0;
    }
    if (s->n_acts == s->acts_cap) {
        size_t cap = s->acts_cap == 0 ? 64 : s->acts_cap * 2;
        bs_act *a = realloc(s->acts, cap * sizeof *a);
        if (a == NULL) {
            return; /* lost: the want's timeout asks again */
        }
        s->acts = a;
        s->acts_cap = cap;
    }
    bs_act *a = &s->acts[s->n_acts++];
    a->kind = kind;
    a->peer_len = p != NULL ? p->len : 0;
    if (p != NULL) {
        memcpy(a->peer, p->id, p->len);
    }
    a->cid = *c;
}

bool fog__bs_sess_poll(bs_sess *s, bs_act *out)
{
    if (s->acts_off == s->n_acts) {
        s->acts_off = s->n_acts = 0;
        return false;
    }
    *out = s->acts[s->acts_off++];
    return true;
}

/* ---- peer sets of a want ---- */

static bool pset_has(const bs_pset *ps, const bs_speer *p)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->p[i] == p) {
            return true;
        }
    }
    return false;
}

static void pset_del(bs_pset *ps, const bs_speer *p)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->p[i] == p) {
            ps->p[i] = ps->p[--ps->n];
            return;
        }
    }
}

/* Out of memory the peer is just not recorded (it is asked less, or blind). */
static void pset_add(bs_pset *ps, bs_speer *p)
{
    if (pset_has(ps, p)) {
        return;
    }
    if (ps->n == ps->cap) {
        size_t cap = ps->cap == 0 ? 4 : ps->cap * 2;
        bs_speer **np = realloc(ps->p, cap * sizeof *np);
        if (np == NULL) {
            return;
        }
        ps->p = np;
        ps->cap = cap;
    }
    ps->p[ps->n++] = p;
}

static int asked_idx(const bs_want *w, const bs_speer *p)
{
    for (size_t i = 0; i < w->n_asked; i++) {
        if (w->asked[i] == p) {
            return (int)i;
        }
    }
    return -1;
}

/* ---- budgets: what a peer delivered in the last window ---- */

/* Moves p's slots to the clock (the slots it skipped are emptied). */
static void rate_advance(bs_sess *s, bs_speer *p)
{
    uint64_t idx = s->now / s->slot_ms;
    if (idx > p->slot_idx) {
        if (idx - p->slot_idx >= SLOTS) {
            memset(p->slot, 0, sizeof p->slot);
            p->sum = 0;
        } else {
            for (uint64_t k = p->slot_idx + 1; k <= idx; k++) {
                p->sum -= p->slot[k % SLOTS];
                p->slot[k % SLOTS] = 0;
            }
        }
        p->slot_idx = idx;
    }
}

static void set_now(bs_sess *s, fog_ms now)
{
    if (now > s->now) {
        s->now = now;
    }
    for (bs_speer *p = s->phead; p != NULL; p = p->next) {
        rate_advance(s, p);
    }
}

/* The floor of a budget: `blocks` want-blocks of the usual size (256 KiB), fewer when the
 * session's blocks are larger (1 MiB chunks: 1), so that bytes, not blocks, are bounded. */
static uint64_t floor_of(uint64_t mean, uint64_t bytes, uint64_t blocks)
{
    if (mean == 0) {
        return blocks;
    }
    uint64_t n = (bytes + mean - 1) / mean;
    return n < 1 ? 1 : n > blocks ? blocks : n;
}

static size_t budget(const bs_sess *s, const bs_speer *p)
{
    uint64_t mean = s->stats.blocks_in > 0 ? s->stats.bytes_in / s->stats.blocks_in : 0;
    bool young = !p->delivered || s->now < p->first_at + s->cfg.window_ms;
    uint64_t bytes = young ? 2 * p->sum : p->sum; /* slow start: triples per round trip */
    uint64_t n = mean > 0 ? (bytes + mean - 1) / mean : 0;
    uint64_t floor = young ? floor_of(mean, START_BYTES, BUDGET_START)
                           : floor_of(mean, MIN_BYTES, BUDGET_MIN);
    n = n < floor ? floor : n;
    return n < s->cfg.inflight ? (size_t)n : s->cfg.inflight;
}

size_t fog__bs_sess_budget(const bs_sess *s, const uint8_t *id, size_t len)
{
    const bs_speer *p = (const bs_speer *)fog__bs_htab_find(&s->peers, id, len);
    return p != NULL ? budget(s, p) : 0;
}

/* ---- scheduling ---- */

/* How long an ask at p may wait before it is late and a duplicate may go to another peer that
 * has the block. Queues at the peers are mostly out of reach of a cancel (the block sits in TCP
 * buffers once the peer's engine took it), so every duplicate costs some peer's uplink: only a
 * late ask gets one. Late means LATE_FACTOR times the wait p's pace predicts for it (its asks
 * outstanding, this one included, times the time between its blocks), and never before a
 * quarter of the want timeout; a whole timeout while p's pace is not known (no block of it
 * yet). A peer serving many fetchers at once has a slow pace for each of them: their asks wait
 * in its queue without duplicates flooding the others (with a quarter of the timeout for all,
 * each block of a 20-fetcher swarm arrived about twice). */
static fog_ms late_after(const bs_sess *s, const bs_speer *p)
{
    if (p->gap == 0) {
        return s->cfg.want_timeout_ms; /* no block of it yet: its queue may be long */
    }
    fog_ms t = s->cfg.want_timeout_ms / 4;
    t = t > s->cfg.window_ms ? t : s->cfg.window_ms;
    fog_ms expect = LATE_FACTOR * (fog_ms)(p->outstanding > 0 ? p->outstanding : 1) * p->gap +
                    s->cfg.window_ms;
    return expect > t ? expect : t;
}

/* Whether every current ask of w is late, judged by its peer's pace now. */
static bool late(const bs_sess *s, const bs_want *w)
{
    for (size_t i = 0; i < w->n_asked; i++) {
        if (s->now - w->asked_when[i] < late_after(s, w->asked[i])) {
            return false;
        }
    }
    return w->n_asked > 0;
}

static void ask(bs_sess *s, bs_want *w, bs_speer *p, int r)
{
    if (r == 3) {
        s->stats.asks_have++;
    } else if (r == 2) {
        s->stats.asks_blind++;
    } else {
        s->stats.asks_dup++;
    }
    if (w->n_asked == BS_WANT_ASKS) {
        return;
    }
    if (p->outstanding == 0) {
        p->busy_since = s->now;
    }
    p->outstanding++;
    w->asked[w->n_asked] = p;
    w->asked_when[w->n_asked++] = s->now;
    w->asked_at = s->now;
    s->stats.asked++;
    act(s, BS_ACT_WANT_BLOCK, p, &w->cid);
}

/* Takes the ask of w at p back (no message). A want that lost an ask may be picked again. */
static void unask(bs_sess *s, bs_want *w, const bs_speer *p)
{
    int i = asked_idx(w, p);
    if (i < 0) {
        return;
    }
    w->asked[i]->outstanding--;
    s->stats.asked--;
    w->n_asked--;
    w->asked[i] = w->asked[w->n_asked];
    w->asked_when[i] = w->asked_when[w->n_asked];
    s->gen++;
}

/* The last wants of a session, fewer than a quarter of its peers (or 4): a late ask gets a
 * duplicate elsewhere, the first ask kept. Before that a late ask moves (cancelled where it was
 * late): with many wants left every peer's uplink has other work, and a duplicate would take
 * some uplink twice. */
static bool endgame(const bs_sess *s)
{
    return s->next_inactive == NULL && (s->n_active <= 4 || s->n_active * 4 <= s->stats.peers);
}

/* The rank of w as the next ask at p: 0 none; 3 p has it, asked nowhere; 2 a blind ask; 1 p
 * has it and it is asked elsewhere, late (every ask of it) or, outside the endgame (steal),
 * at least a window old and moved fewer than BS_WANT_MOVES times: p has budget free and
 * nothing better to do, so it takes over an ask waiting in a busier peer's queue (work
 * stealing; in a swarm the origin's queue is long and its uplink is the scarcest). keys: what
 * is compared within a rank, smaller first. */
static int rank(const bs_sess *s, const bs_want *w, const bs_speer *p, bool steal, size_t keys[2])
{
    if (asked_idx(w, p) >= 0 || pset_has(&w->tried, p)) {
        return 0;
    }
    bool has = pset_has(&w->have, p);
    keys[0] = keys[1] = 0;
    if (has && w->n_asked == 0) {
        keys[0] = w->have.n;
        return 3;
    }
    if (!has && w->n_asked == 0 && (p->hinted || w->seq > p->joined)) {
        return 2; /* its answer to our want-have is not known yet */
    }
    if (has && w->n_asked > 0 && w->n_asked < BS_WANT_ASKS) {
        bool stealable = steal && w->moves < BS_WANT_MOVES &&
                         s->now - w->asked_at >= s->cfg.window_ms;
        if (stealable || late(s, w)) {
            keys[0] = w->n_asked;
            keys[1] = w->have.n;
            return 1;
        }
    }
    return 0;
}

/* The best want to ask at p next, or NULL. Ties: at a peer whose budget is at the floor (a slow
 * or shared one) at random (each of k tied wants replaces the choice with probability 1/k), so
 * that fetchers sharing one origin ask it for different blocks (in FIFO order they would all
 * ask for the same ones); at a faster peer in FIFO order, so that a reader consuming the DAG in
 * order (cat) finds its blocks in order (random order costs bench/fetch ~15%). */
static bs_want *pick(bs_sess *s, const bs_speer *p, int *rank_out)
{
    bs_want *best = NULL;
    int best_r = 0;
    size_t best_k[2] = {0, 0};
    uint64_t ties = 0;
    bool shuffle = budget(s, p) <= BUDGET_MIN;
    bool steal = !endgame(s);
    for (bs_want *w = s->head; w != s->next_inactive; w = w->next) {
        size_t k[2];
        int r = rank(s, w, p, steal, k);
        if (r == 0 || r < best_r) {
            continue;
        }
        bool better = r > best_r || k[0] < best_k[0] || (k[0] == best_k[0] && k[1] < best_k[1]);
        if (!better) {
            if (!shuffle || k[0] != best_k[0] || k[1] != best_k[1] || rnd(s) % ++ties != 0) {
                continue;
            }
        } else {
            ties = 1;
        }
        best = w;
        best_r = r;
        best_k[0] = k[0];
        best_k[1] = k[1];
    }
    *rank_out = best_r;
    return best;
}

/* One more ask at p if it has budget free and something to ask: whether it asked. */
static bool fill_one(bs_sess *s, bs_speer *p)
{
    if (!p->member || p->idle_gen == s->gen || p->outstanding >= budget(s, p)) {
        return false;
    }
    int r;
    bs_want *w = pick(s, p, &r);
    if (w == NULL) {
        p->idle_gen = s->gen; /* nothing for it until something changes */
        return false;
    }
    if (r == 1 && !endgame(s)) {
        w->moves++;
        for (size_t i = w->n_asked; i-- > 0;) { /* a move, not a duplicate */
            bs_speer *q = w->asked[i];
            unask(s, w, q);
            act(s, BS_ACT_CANCEL, q, &w->cid);
        }
    }
    ask(s, w, p, r);
    return true;
}

/* Fills every peer's budget, one ask per peer per round, so that blind asks spread. */
static void fill_all(bs_sess *s)
{
    bool progress = true;
    while (progress) {
        progress = false;
        for (bs_speer *p = s->phead; p != NULL; p = p->next) {
            progress = fill_one(s, p) || progress;
        }
    }
}

static void fill(bs_sess *s, bs_speer *p)
{
    while (fill_one(s, p)) {
    }
}

void fog__bs_sess_activate(bs_sess *s, fog_ms now)
{
    set_now(s, now);
    while (s->n_active < s->cfg.inflight && s->next_inactive != NULL) {
        bs_want *w = s->next_inactive;
        s->next_inactive = w->next;
        w->active = true;
        w->active_at = s->now;
        w->asked_at = s->now;
        w->broadcast = true;
        w->seq = ++s->seq;
        s->n_active++;
        s->gen++;
        act(s, BS_ACT_WANT_HAVE, NULL, &w->cid);
    }
    fill_all(s);
}

/* ---- wants ---- */

bs_want *fog__bs_sess_find(const bs_sess *s, const fog_cid *c)
{
    return (bs_want *)fog__bs_htab_find(&s->wants, c->bytes, c->len);
}

bs_want *fog__bs_sess_want(bs_sess *s, const fog_cid *c, fog_ms now)
{
    (void)now;
    bs_want *w = fog__bs_sess_find(s, c);
    if (w != NULL) {
        return w;
    }
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        return NULL;
    }
    w->cid = *c;
    if (fog__bs_htab_add(&s->wants, &w->node, w->cid.bytes, w->cid.len) < 0) {
        free(w);
        return NULL;
    }
    w->prev = s->tail;
    if (s->tail != NULL) {
        s->tail->next = w;
    } else {
        s->head = w;
    }
    s->tail = w;
    if (s->next_inactive == NULL) {
        s->next_inactive = w;
    }
    s->stats.wants++;
    return w;
}

/* Takes w out of the FIFO, the table and the schedule, and cancels it where it was wanted:
 * everywhere when it was broadcast, else at the peers asked except `from` (which answered). */
static void detach(bs_sess *s, bs_want *w, const bs_speer *from)
{
    for (size_t i = 0; i < w->n_asked; i++) {
        if (!w->broadcast && w->asked[i] != from) {
            act(s, BS_ACT_CANCEL, w->asked[i], &w->cid);
        }
        w->asked[i]->outstanding--;
        s->stats.asked--;
    }
    w->n_asked = 0;
    if (w->broadcast) {
        act(s, BS_ACT_CANCEL, NULL, &w->cid);
    }
    pset_clear(&w->have);
    pset_clear(&w->tried);
    if (s->next_inactive == w) {
        s->next_inactive = w->next;
    }
    if (w->active) {
        s->n_active--;
        w->active = false;
    }
    if (w->prev != NULL) {
        w->prev->next = w->next;
    } else {
        s->head = w->next;
    }
    if (w->next != NULL) {
        w->next->prev = w->prev;
    } else {
        s->tail = w->prev;
    }
    w->prev = w->next = NULL;
    fog__bs_htab_del(&s->wants, &w->node);
    s->stats.wants--;
}

void fog__bs_sess_drop(bs_sess *s, bs_want *w)
{
    detach(s, w, NULL);
    want_free(w);
}

static bs_speer *peer_get(bs_sess *s, const uint8_t *id, size_t len, bool create);

/* A block of p arrived at the clock: its pace learns the time since its previous block (or since
 * it was asked, when it had nothing of ours to do before), while asks of ours were outstanding
 * there. A mean over about 4 blocks: it follows a queue that grows or drains. */
static void pace(bs_sess *s, bs_speer *p)
{
    if (p->outstanding > 0) {
        fog_ms from = p->last_at > p->busy_since ? p->last_at : p->busy_since;
        fog_ms sample = s->now - from;
        sample = sample > PACE_MAX_MS ? PACE_MAX_MS : sample;
        p->gap = p->gap == 0 ? sample : (3 * p->gap + sample) / 4;
    }
    p->last_at = s->now;
}

bs_want *fog__bs_sess_block(bs_sess *s, const uint8_t *from, size_t from_len, const fog_cid *c,
                            size_t len, fog_ms now)
{
    if (now > s->now) {
        s->now = now;
    }
    bs_speer *p = peer_get(s, from, from_len, false);
    if (p != NULL) {
        pace(s, p);
        rate_advance(s, p); /* delivered, wanted or not: booked at the session's clock */
        p->slot[p->slot_idx % SLOTS] += len;
        p->sum += len;
        if (!p->delivered) {
            p->delivered = true;
            p->first_at = s->now;
        }
    }
    bs_want *w = fog__bs_sess_find(s, c);
    if (w == NULL) {
        s->stats.dup_blocks_in++;
        return NULL;
    }
    detach(s, w, p);
    s->stats.blocks_in++;
    s->stats.bytes_in += len;
    fill_all(s); /* the sender (and endgame duplicates' peers) have budget free */
    return w;
}

void fog__bs_sess_release(bs_sess *s, bs_want *w)
{
    (void)s;
    want_free(w);
}

bs_want *fog__bs_sess_first(const bs_sess *s)
{
    return s->head;
}

/* ---- peers ---- */

static bs_speer *peer_get(bs_sess *s, const uint8_t *id, size_t len, bool create)
{
    bs_speer *p = (bs_speer *)fog__bs_htab_find(&s->peers, id, len);
    if (p != NULL || !create || len == 0 || len > FOG_PEER_ID_MAX) {
        return p;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p->id, id, len);
    p->len = len;
    p->slot_idx = s->now / s->slot_ms;
    if (fog__bs_htab_add(&s->peers, &p->node, p->id, len) < 0) {
        free(p);
        return NULL;
    }
    p->next = s->phead;
    if (s->phead != NULL) {
        s->phead->prev = p;
    }
    s->phead = p;
    return p;
}

static void join(bs_sess *s, bs_speer *p)
{
    if (!p->member) {
        p->member = true;
        p->joined = s->seq;
        p->idle_gen = 0;
        s->stats.peers++;
    }
}

int fog__bs_sess_add_peer(bs_sess *s, const uint8_t *id, size_t len, fog_ms now)
{
    set_now(s, now);
    bs_speer *p = peer_get(s, id, len, true);
    if (p == NULL) {
        return FOG_ERR_NOMEM;
    }
    join(s, p);
    p->hinted = true;
    p->idle_gen = 0;
    fill(s, p); /* stuck wants try the newcomer */
    return 0;
}

void fog__bs_sess_peer_up(bs_sess *s, const uint8_t *id, size_t len)
{
    bs_speer *p = peer_get(s, id, len, false);
    for (bs_want *w = s->head; p != NULL && w != s->next_inactive; w = w->next) {
        if (asked_idx(w, p) >= 0) {
            act(s, BS_ACT_WANT_BLOCK, p, &w->cid);
        }
    }
}

void fog__bs_sess_peer_gone(bs_sess *s, const uint8_t *id, size_t len, fog_ms now)
{
    bs_speer *p = peer_get(s, id, len, false);
    if (p == NULL) {
        return;
    }
    set_now(s, now);
    for (bs_want *w = s->head; w != s->next_inactive; w = w->next) {
        pset_del(&w->have, p);
        pset_del(&w->tried, p);
        unask(s, w, p);
    }
    fog__bs_htab_del(&s->peers, &p->node);
    if (p->prev != NULL) {
        p->prev->next = p->next;
    } else {
        s->phead = p->next;
    }
    if (p->next != NULL) {
        p->next->prev = p->prev;
    }
    if (p->member) {
        s->stats.peers--;
    }
    free(p);
    s->gen++;
    fill_all(s);
}

int fog__bs_sess_presence(bs_sess *s, const uint8_t *id, size_t len, const fog_cid *c,
                          fog_bitswap_presence_type t, fog_ms now)
{
    bs_want *w = fog__bs_sess_find(s, c);
    if (w == NULL || !w->active) {
        return 0;
    }
    set_now(s, now);
    bs_speer *p = peer_get(s, id, len, true);
    if (p == NULL) {
        return FOG_ERR_NOMEM;
    }
    if (t == FOG_BITSWAP_HAVE) {
        join(s, p);
        pset_add(&w->have, p);
        pset_del(&w->tried, p);
        p->idle_gen = 0;
        fill(s, p);
        return 0;
    }
    pset_del(&w->have, p);
    pset_add(&w->tried, p);
    if (asked_idx(w, p) >= 0) {
        /* a blind ask it lacks: keep only a want-have there, so it says HAVE when it gets the
         * block instead of pushing it (which another peer may be sending already) */
        unask(s, w, p);
        s->stats.blind_misses++;
        act(s, BS_ACT_CANCEL, p, &w->cid);
        act(s, BS_ACT_WANT_HAVE, p, &w->cid);
        fill_all(s);
    }
    return 0;
}

/* ---- time ---- */

/* A want-block times out at its peer (marked tried, cancelled there) when the peer sent us no
 * block at all for want_timeout_ms since the ask (or three times its pace, if slower: a peer
 * busy with many fetchers still serves ours in turn), and in any case HARD_TIMEOUTS such limits
 * after the ask (a peer that sends other blocks but never this one). */
static void tick_asks(bs_sess *s, bs_want *w, fog_ms now)
{
    for (size_t i = w->n_asked; i-- > 0;) {
        bs_speer *p = w->asked[i];
        fog_ms since = p->last_at > w->asked_when[i] ? p->last_at : w->asked_when[i];
        fog_ms limit = s->cfg.want_timeout_ms > 3 * p->gap ? s->cfg.want_timeout_ms : 3 * p->gap;
        if (now - since >= limit || now - w->asked_when[i] >= HARD_TIMEOUTS * limit) {
            unask(s, w, p);
            s->stats.timeouts++;
            pset_del(&w->have, p);
            pset_add(&w->tried, p);
            act(s, BS_ACT_CANCEL, p, &w->cid);
            w->asked_at = now;
        }
    }
}

/* A want nobody is asked for and nobody has: providers after provider_delay_ms, and a start-over
 * one timeout after its last ask. */
static void tick_stuck(bs_sess *s, bs_want *w, fog_ms now)
{
    if (w->n_asked > 0 || w->have.n > 0) {
        return;
    }
    if (now - w->asked_at >= s->cfg.want_timeout_ms) {
        w->tried.n = 0; /* everyone failed it a while ago: start over */
        w->asked_at = now;
        s->gen++;
        act(s, BS_ACT_WANT_HAVE, NULL, &w->cid);
    }
    if (!w->providers && now - w->active_at >= s->cfg.provider_delay_ms) {
        w->providers = true;
        act(s, BS_ACT_PROVIDERS, NULL, &w->cid);
    }
}

void fog__bs_sess_tick(bs_sess *s, fog_ms now)
{
    set_now(s, now);
    s->gen++; /* asks grew older: duplicates may be due */
    for (bs_want *w = s->head; w != s->next_inactive; w = w->next) {
        tick_asks(s, w, s->now);
    }
    fill_all(s); /* wants that timed out go to other holders first */
    for (bs_want *w = s->head; w != s->next_inactive; w = w->next) {
        tick_stuck(s, w, s->now);
    }
    fill_all(s);
}

void fog__bs_sess_get_stats(const bs_sess *s, bs_sess_stats *out)
{
    *out = s->stats;
}
