/* session.c: the bitswap client session core, sans-I/O (bswap.h "Client").
 * A session holds wants in a FIFO; the first `inflight` of them are active (the invariant: the
 * active wants are a prefix of the FIFO, next_inactive marks its end). For an active want the
 * core picks one peer to ask for the block: first a peer that said HAVE, else a session peer not
 * yet tried, each time the one with the fewest want-blocks outstanding, so that one peer that
 * has everything gets every want-block at once (hundreds in flight) and several share them out.
 * Want-blocks carry send_dont_have: a DONT_HAVE (or no answer within want_timeout_ms) marks the
 * peer tried and the want moves to the next one. With no peer left, the want goes out as a
 * want-have to every connected peer (a broadcast; a peer answering HAVE joins the session, as in
 * boxo's session peer manager), and once it has waited provider_delay_ms without any peer
 * having it the caller is asked to search providers. A want that is still stuck one timeout
 * later starts over (tried peers forgotten): a want ends only when it is satisfied or dropped.
 * A block counts whichever peer sent it. Decisions come out as queued actions (bs_act).
 */
#include "bitswap/internal.h"

#include <stdlib.h>
#include <string.h>

struct bs_speer {
    bs_hnode node;
    uint8_t id[FOG_PEER_ID_MAX];
    size_t len;
    size_t outstanding; /* want-blocks of this session asked at the peer */
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
};

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
    *out = s;
    return 0;
}

void fog__bs_sess_free(bs_sess *s)
{
    if (s == NULL) {
        return;
    }
    for (bs_want *w = s->head, *next; w != NULL; w = next) {
        next = w->next;
        free(w);
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

/* ---- peer lists of a want ---- */

static bool list_has(bs_speer *const *l, size_t n, const bs_speer *p)
{
    for (size_t i = 0; i < n; i++) {
        if (l[i] == p) {
            return true;
        }
    }
    return false;
}

static void list_del(bs_speer **l, size_t *n, const bs_speer *p)
{
    for (size_t i = 0; i < *n; i++) {
        if (l[i] == p) {
            l[i] = l[--*n];
            return;
        }
    }
}

static void list_add(bs_speer **l, size_t *n, bs_speer *p)
{
    if (!list_has(l, *n, p) && *n < BS_WANT_PEERS) {
        l[(*n)++] = p;
    }
}

/* ---- scheduling ---- */

static bs_speer *pick(const bs_sess *s, const bs_want *w)
{
    bs_speer *best = NULL;
    for (size_t i = 0; i < w->n_have; i++) {
        if (!list_has(w->tried, w->n_tried, w->have[i]) &&
            (best == NULL || w->have[i]->outstanding < best->outstanding)) {
            best = w->have[i];
        }
    }
    if (best != NULL) {
        return best;
    }
    for (bs_speer *p = s->phead; p != NULL; p = p->next) {
        if (!list_has(w->tried, w->n_tried, p) &&
            (best == NULL || p->outstanding < best->outstanding)) {
            best = p;
        }
    }
    return best;
}

static void assign(bs_sess *s, bs_want *w, fog_ms now)
{
    if (w->asked != NULL) {
        return;
    }
    bs_speer *p = pick(s, w);
    if (p != NULL) {
        w->asked = p;
        w->asked_at = now;
        p->outstanding++;
        s->stats.asked++;
        act(s, BS_ACT_WANT_BLOCK, p, &w->cid);
        return;
    }
    if (!w->broadcast) {
        w->broadcast = true;
        act(s, BS_ACT_WANT_HAVE, NULL, &w->cid);
    }
}

static void unask(bs_sess *s, bs_want *w)
{
    if (w->asked != NULL) {
        w->asked->outstanding--;
        s->stats.asked--;
        w->asked = NULL;
    }
}

void fog__bs_sess_activate(bs_sess *s, fog_ms now)
{
    while (s->n_active < s->cfg.inflight && s->next_inactive != NULL) {
        bs_want *w = s->next_inactive;
        s->next_inactive = w->next;
        w->active = true;
        w->active_at = now;
        w->asked_at = now;
        s->n_active++;
        assign(s, w, now);
    }
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

/* Takes w out of the FIFO, the table and the schedule; cancels it where it was asked, except at
 * peer `from` (which answered it). */
static void detach(bs_sess *s, bs_want *w, const uint8_t *from, size_t from_len)
{
    if (w->asked != NULL &&
        !(w->asked->len == from_len && memcmp(w->asked->id, from, from_len) == 0)) {
        act(s, BS_ACT_CANCEL, w->asked, &w->cid);
    }
    if (w->broadcast) {
        act(s, BS_ACT_CANCEL, NULL, &w->cid);
    }
    unask(s, w);
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
    detach(s, w, NULL, 0);
    free(w);
}

bs_want *fog__bs_sess_block(bs_sess *s, const uint8_t *from, size_t from_len, const fog_cid *c,
                            size_t len)
{
    bs_want *w = fog__bs_sess_find(s, c);
    if (w == NULL) {
        s->stats.dup_blocks_in++;
        return NULL;
    }
    detach(s, w, from, from_len);
    s->stats.blocks_in++;
    s->stats.bytes_in += len;
    return w;
}

void fog__bs_sess_release(bs_sess *s, bs_want *w)
{
    (void)s;
    free(w);
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
    if (fog__bs_htab_add(&s->peers, &p->node, p->id, len) < 0) {
        free(p);
        return NULL;
    }
    p->next = s->phead;
    if (s->phead != NULL) {
        s->phead->prev = p;
    }
    s->phead = p;
    s->stats.peers++;
    return p;
}

int fog__bs_sess_add_peer(bs_sess *s, const uint8_t *id, size_t len, fog_ms now)
{
    bool had = peer_get(s, id, len, false) != NULL;
    if (peer_get(s, id, len, true) == NULL) {
        return FOG_ERR_NOMEM;
    }
    if (!had) {
        for (bs_want *w = s->head; w != s->next_inactive; w = w->next) {
            assign(s, w, now); /* stuck wants try the newcomer */
        }
    }
    return 0;
}

void fog__bs_sess_peer_up(bs_sess *s, const uint8_t *id, size_t len)
{
    bs_speer *p = peer_get(s, id, len, false);
    for (bs_want *w = s->head; p != NULL && w != s->next_inactive; w = w->next) {
        if (w->asked == p) {
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
    for (bs_want *w = s->head; w != s->next_inactive; w = w->next) {
        list_del(w->have, &w->n_have, p);
        list_del(w->tried, &w->n_tried, p);
        if (w->asked == p) {
            unask(s, w);
        }
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
    free(p);
    s->stats.peers--;
    for (bs_want *w = s->head; w != s->next_inactive; w = w->next) {
        assign(s, w, now);
    }
}

int fog__bs_sess_presence(bs_sess *s, const uint8_t *id, size_t len, const fog_cid *c,
                          fog_bitswap_presence_type t, fog_ms now)
{
    bs_want *w = fog__bs_sess_find(s, c);
    if (w == NULL || !w->active) {
        return 0;
    }
    bs_speer *p = peer_get(s, id, len, t == FOG_BITSWAP_HAVE);
    if (p == NULL) {
        return t == FOG_BITSWAP_HAVE ? FOG_ERR_NOMEM : 0;
    }
    if (t == FOG_BITSWAP_HAVE) {
        list_add(w->have, &w->n_have, p);
        list_del(w->tried, &w->n_tried, p);
    } else {
        list_del(w->have, &w->n_have, p);
        list_add(w->tried, &w->n_tried, p);
        if (w->asked == p) {
            unask(s, w);
        }
    }
    assign(s, w, now);
    return 0;
}

/* ---- time ---- */

static void tick_want(bs_sess *s, bs_want *w, fog_ms now)
{
    fog_ms since = now >= w->asked_at ? now - w->asked_at : 0;
    if (since >= s->cfg.want_timeout_ms) {
        if (w->asked != NULL) {
            bs_speer *p = w->asked;
            unask(s, w);
            list_del(w->have, &w->n_have, p);
            list_add(w->tried, &w->n_tried, p);
        } else {
            w->n_tried = 0; /* everyone failed it a while ago: start over */
            w->broadcast = false;
        }
        w->asked_at = now;
        assign(s, w, now);
    }
    fog_ms waited = now >= w->active_at ? now - w->active_at : 0;
    if (w->asked == NULL && w->n_have == 0 && !w->providers &&
        waited >= s->cfg.provider_delay_ms) {
        w->providers = true;
        act(s, BS_ACT_PROVIDERS, NULL, &w->cid);
    }
}

void fog__bs_sess_tick(bs_sess *s, fog_ms now)
{
    for (bs_want *w = s->head; w != s->next_inactive; w = w->next) {
        tick_want(s, w, now);
    }
}

void fog__bs_sess_get_stats(const bs_sess *s, bs_sess_stats *out)
{
    *out = s->stats;
}
