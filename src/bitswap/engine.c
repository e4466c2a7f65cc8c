/* engine.c: the bitswap server engine, sans-I/O (bswap.h "Server"; ipfs/specs
 * bitswap-protocol.md; PROTOCOLS.md 3.8).
 * A ledger per peer holds its wantlist, keyed by CID: a full wantlist replaces it, a delta adds
 * (or updates) and cancels, at most ledger_max entries (more are dropped, as boxo drops past
 * MaxQueuedWantlistEntriesPerPeer). Each entry that needs an answer sits in the ledger's FIFO.
 * Answers, as boxo's engine gives them: want-block -> the block; want-have -> HAVE, or the block
 * itself when it is at most small_block bytes (boxo DefaultWantHaveReplaceSize 1024); a block we
 * lack -> DONT_HAVE when the peer asked for it, and the entry stays in the ledger so that the
 * block (or HAVE) goes out when it is stored later (fog__bs_engine_stored). An answered entry
 * leaves the ledger, except a want-have answered HAVE: it stays, not queued (held), since the
 * peer still wants that block until it cancels it.
 * Order (super-seeding, as BitTorrent's initial seeding): the engine counts how often it sent
 * each block (a direct-mapped table of SENT_SLOTS recently sent CIDs; a CID pushed out by
 * another counts 0 again), and the block sent least often goes first, so a node that many peers
 * fetch from at once hands different blocks to different peers, which then trade them among
 * themselves, instead of the same block to all. An entry's rank: a want-have (a presence, or a
 * small block: tiny, goes out at once) 0, a want-block 1 + its block's count. Within a ledger
 * the lowest rank among its first SCAN queued entries goes first (ties in arrival order; boxo
 * sorts by priority, but fog's and helia's sessions write increasing priorities in want order
 * anyway); among the ready ledgers the one with the lowest such rank is served (ties in ring
 * order). Both scans are bounded (SCAN entries, RING_SCAN ledgers), so a turn costs O(1).
 * Substitution (the rest of super-seeding): a want-block of a block sent before (to anyone) is
 * answered first with a block the peer holds a want-have for and that was never sent, when
 * there is one (SUBST_SCAN held entries looked at); the want-block stays queued. A client takes
 * any block of its wantlist; so while blocks nobody got yet remain, a node that many fetch from
 * sends each of them once, and the peers fetch the ones sent before from each other. Measured
 * on bench/swarm (20 fetchers, 20 Mbit/s): see the commit that brought it.
 * Fairness: ledgers with queued entries and room on their stream form a ring; each turn writes
 * one message with at most task_bytes of block data (and always at least one block) for the
 * ledger chosen, then moves it to the tail. Blocks come from the lookup function (the caller's
 * store view) and are encoded straight from the bytes it lends, so a block is copied once into
 * the message (fog__bs_engine_pull), or not at all (fog__bs_engine_pull_gather: the message's
 * bytes around its blocks, and where each lent block goes; bswap.c reads the blocks from the
 * store's file into place).
 * A message stays under 4 MiB: task_bytes is clamped to 2 MiB, and at most BLOCKS_MAX blocks and
 * PRES_MAX presences (each at most ~180 bytes) go into one.
 */
#include "bitswap/internal.h"

#include <stdlib.h>
#include <string.h>

#define BLOCKS_MAX 1024
#define PRES_MAX 2048
#define SENT_SLOTS 4096 /* blocks whose send count is kept (a power of two) */
#define SCAN 16         /* queued entries of a ledger looked at for the rarest */
#define RING_SCAN 32    /* ready ledgers looked at for the rarest */
#define SUBST_SCAN 256  /* held entries of a ledger looked at for a substitute */

/* One slot of the sent-count table: tag is the CID's hash (0: empty). */
typedef struct {
    uint64_t tag;
    uint32_t count;
} bs_sent;

typedef struct bs_entry {
    bs_hnode node;
    fog_cid cid;
    uint64_t hash; /* of the CID, for the sent-count table */
    struct bs_entry *qprev, *qnext;
    bool queued;
    bool sdh;
    bool held; /* a want-have answered HAVE, kept: the peer still wants the block */
    fog_bitswap_want_type type;
} bs_entry;

struct bs_ledger {
    bs_hnode node;
    uint8_t id[FOG_PEER_ID_MAX];
    size_t id_len;
    bs_htab wants;
    bs_entry *qhead, *qtail;
    struct bs_ledger *rprev, *rnext;
    bool in_ring;
    bool blocked;
    void *ud;
};

struct bs_engine {
    bs_engine_config cfg;
    bs_htab ledgers;
    bs_ledger *rhead, *rtail;
    bs_engine_stats stats;
    fog_bitswap_block *blocks; /* scratch for one message */
    size_t n_pulled;           /* blocks of the last message pulled */
    fog_bitswap_presence *pres;
    fog_bitswap_insert *ins;   /* where the blocks of a gathered message go */
    bs_sent *sent; /* SENT_SLOTS */
    size_t subst_slot; /* where the next substitute scan starts (rotates) */
};

int fog__bs_engine_new(bs_engine **out, const bs_engine_config *cfg)
{
    bs_engine *e = calloc(1, sizeof *e);
    if (e == NULL) {
        return FOG_ERR_NOMEM;
    }
    e->cfg = *cfg;
    if (e->cfg.task_bytes < 1024) {
        e->cfg.task_bytes = 1024;
    }
    if (e->cfg.task_bytes > FOG_BITSWAP_BLOCK_MAX) {
        e->cfg.task_bytes = FOG_BITSWAP_BLOCK_MAX;
    }
    e->blocks = calloc(BLOCKS_MAX, sizeof *e->blocks);
    e->pres = calloc(PRES_MAX, sizeof *e->pres);
    e->ins = calloc(BLOCKS_MAX, sizeof *e->ins);
    e->sent = calloc(SENT_SLOTS, sizeof *e->sent);
    if (e->blocks == NULL || e->pres == NULL || e->sent == NULL || e->ins == NULL) {
        fog__bs_engine_free(e);
        return FOG_ERR_NOMEM;
    }
    *out = e;
    return 0;
}

static void ledger_free(bs_ledger *l)
{
    for (size_t i = 0; i < l->wants.cap; i++) {
        bs_hnode *n = l->wants.slots[i];
        while (n != NULL) {
            bs_hnode *next = n->next;
            free(n);
            n = next;
        }
    }
    fog__bs_htab_clear(&l->wants);
    free(l);
}

void fog__bs_engine_free(bs_engine *e)
{
    if (e == NULL) {
        return;
    }
    for (size_t i = 0; i < e->ledgers.cap; i++) {
        bs_hnode *n = e->ledgers.slots[i];
        while (n != NULL) {
            bs_hnode *next = n->next;
            ledger_free((bs_ledger *)n);
            n = next;
        }
    }
    fog__bs_htab_clear(&e->ledgers);
    free(e->blocks);
    free(e->pres);
    free(e->ins);
    free(e->sent);
    free(e);
}

/* ---- how often each block went out ---- */

static uint64_t cid_hash(const fog_cid *c)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a 64 */
    for (size_t i = 0; i < c->len; i++) {
        h = (h ^ c->bytes[i]) * 0x100000001b3u;
    }
    return h | 1u; /* never 0, the empty tag */
}

static uint32_t sent_count(const bs_engine *e, uint64_t h)
{
    const bs_sent *s = &e->sent[h & (SENT_SLOTS - 1)];
    return s->tag == h ? s->count : 0;
}

static void sent_note(bs_engine *e, uint64_t h)
{
    bs_sent *s = &e->sent[h & (SENT_SLOTS - 1)];
    if (s->tag != h) {
        s->tag = h; /* the slot's older CID is forgotten */
        s->count = 0;
    }
    if (s->count < UINT32_MAX) {
        s->count++;
    }
}

/* The rank of an entry: lower goes first (the file's top comment). */
static uint64_t rank(const bs_engine *e, const bs_entry *en)
{
    if (en->type != FOG_BITSWAP_WANT_BLOCK) {
        return 0;
    }
    return 1 + (uint64_t)sent_count(e, en->hash);
}

/* The queued entry of l to answer first among its first SCAN, or NULL; *rank_out its rank. */
static bs_entry *pick(const bs_engine *e, const bs_ledger *l, uint64_t *rank_out)
{
    bs_entry *best = NULL;
    uint64_t best_rank = UINT64_MAX;
    size_t k = 0;
    for (bs_entry *en = l->qhead; en != NULL && k < SCAN && best_rank > 0; en = en->qnext, k++) {
        uint64_t r = rank(e, en);
        if (r < best_rank) {
            best = en;
            best_rank = r;
        }
    }
    *rank_out = best_rank;
    return best;
}

/* ---- the ring of ready ledgers ---- */

static void ring_update(bs_engine *e, bs_ledger *l)
{
    bool ready = l->qhead != NULL && !l->blocked;
    if (ready && !l->in_ring) {
        l->rprev = e->rtail;
        l->rnext = NULL;
        if (e->rtail != NULL) {
            e->rtail->rnext = l;
        } else {
            e->rhead = l;
        }
        e->rtail = l;
        l->in_ring = true;
    } else if (!ready && l->in_ring) {
        if (l->rprev != NULL) {
            l->rprev->rnext = l->rnext;
        } else {
            e->rhead = l->rnext;
        }
        if (l->rnext != NULL) {
            l->rnext->rprev = l->rprev;
        } else {
            e->rtail = l->rprev;
        }
        l->rprev = l->rnext = NULL;
        l->in_ring = false;
    }
}

/* ---- ledgers ---- */

bs_ledger *fog__bs_engine_ledger(bs_engine *e, const uint8_t *id, size_t len, bool create)
{
    bs_hnode *n = fog__bs_htab_find(&e->ledgers, id, len);
    if (n != NULL || !create || len == 0 || len > FOG_PEER_ID_MAX) {
        return (bs_ledger *)n;
    }
    bs_ledger *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return NULL;
    }
    memcpy(l->id, id, len);
    l->id_len = len;
    if (fog__bs_htab_add(&e->ledgers, &l->node, l->id, len) < 0) {
        free(l);
        return NULL;
    }
    return l;
}

void fog__bs_engine_drop(bs_engine *e, bs_ledger *l)
{
    l->qhead = NULL;
    ring_update(e, l);
    fog__bs_htab_del(&e->ledgers, &l->node);
    ledger_free(l);
}

void *fog__bs_ledger_ud(const bs_ledger *l)
{
    return l->ud;
}

void fog__bs_ledger_set_ud(bs_ledger *l, void *ud)
{
    l->ud = ud;
}

fog_slice fog__bs_ledger_peer(const bs_ledger *l)
{
    return fog_slice_make(l->id, l->id_len);
}

size_t fog__bs_ledger_size(const bs_ledger *l)
{
    return l->wants.count;
}

static void enqueue(bs_entry *en, bs_ledger *l)
{
    if (en->queued) {
        return;
    }
    en->qprev = l->qtail;
    en->qnext = NULL;
    if (l->qtail != NULL) {
        l->qtail->qnext = en;
    } else {
        l->qhead = en;
    }
    l->qtail = en;
    en->queued = true;
}

static void dequeue(bs_entry *en, bs_ledger *l)
{
    if (!en->queued) {
        return;
    }
    if (en->qprev != NULL) {
        en->qprev->qnext = en->qnext;
    } else {
        l->qhead = en->qnext;
    }
    if (en->qnext != NULL) {
        en->qnext->qprev = en->qprev;
    } else {
        l->qtail = en->qprev;
    }
    en->qprev = en->qnext = NULL;
    en->queued = false;
}

static void entry_remove(bs_ledger *l, bs_entry *en)
{
    dequeue(en, l);
    fog__bs_htab_del(&l->wants, &en->node);
    free(en);
}

static void ledger_reset(bs_ledger *l)
{
    for (size_t i = 0; i < l->wants.cap; i++) {
        bs_hnode *n = l->wants.slots[i];
        while (n != NULL) {
            bs_hnode *next = n->next;
            free(n);
            n = next;
        }
        l->wants.slots[i] = NULL;
    }
    l->wants.count = 0;
    l->qhead = l->qtail = NULL;
}

static int apply_entry(bs_engine *e, bs_ledger *l, const fog_bitswap_entry *we)
{
    bs_entry *en = (bs_entry *)fog__bs_htab_find(&l->wants, we->cid.bytes, we->cid.len);
    if (we->cancel) {
        if (en != NULL) {
            entry_remove(l, en);
        }
        return 0;
    }
    bool fresh = en == NULL;
    if (fresh) {
        if (l->wants.count >= e->cfg.ledger_max) {
            return 0; /* dropped: the peer asks for more than we keep */
        }
        en = calloc(1, sizeof *en);
        if (en == NULL) {
            return FOG_ERR_NOMEM;
        }
        en->cid = we->cid;
        en->hash = cid_hash(&en->cid);
        if (fog__bs_htab_add(&l->wants, &en->node, en->cid.bytes, en->cid.len) < 0) {
            free(en);
            return FOG_ERR_NOMEM;
        }
    }
    en->held = false;
    if (!fresh && en->type == FOG_BITSWAP_WANT_BLOCK && we->want_type == FOG_BITSWAP_WANT_HAVE) {
        /* boxo keeps the stronger want when a want-have follows a want-block */
        en->sdh = en->sdh || we->send_dont_have;
        enqueue(en, l);
        return 0;
    }
    en->type = we->want_type;
    en->sdh = we->send_dont_have;
    enqueue(en, l);
    return 0;
}

int fog__bs_engine_recv(bs_engine *e, bs_ledger *l, const fog_bitswap_msg *m)
{
    if (m->full) {
        ledger_reset(l);
    }
    int rc = 0;
    for (size_t i = 0; i < m->n_entries && rc == 0; i++) {
        rc = apply_entry(e, l, &m->entries[i]);
    }
    ring_update(e, l);
    return rc;
}

void fog__bs_engine_stored(bs_engine *e, const fog_cid *c)
{
    for (size_t i = 0; i < e->ledgers.cap; i++) {
        for (bs_hnode *n = e->ledgers.slots[i]; n != NULL; n = n->next) {
            bs_ledger *l = (bs_ledger *)n;
            bs_entry *en = (bs_entry *)fog__bs_htab_find(&l->wants, c->bytes, c->len);
            if (en != NULL) {
                enqueue(en, l);
                ring_update(e, l);
            }
        }
    }
}

void fog__bs_engine_set_blocked(bs_engine *e, bs_ledger *l, bool blocked)
{
    l->blocked = blocked;
    ring_update(e, l);
}

bs_ledger *fog__bs_engine_next(bs_engine *e)
{
    bs_ledger *best = e->rhead;
    uint64_t best_rank = UINT64_MAX;
    size_t k = 0;
    for (bs_ledger *l = e->rhead; l != NULL && k < RING_SCAN && best_rank > 0; l = l->rnext, k++) {
        uint64_t r;
        if (pick(e, l, &r) != NULL && r < best_rank) {
            best = l;
            best_rank = r;
        }
    }
    return best;
}

/* ---- one message ---- */

typedef struct {
    size_t nb, np, bytes;
} fill_state;

/* A held want of l for a block never sent, put into the message instead of a block sent
 * before: 1 when one went in, -1 when one was found but the message is full, 0 when none. */
static int substitute(bs_engine *e, bs_ledger *l, fill_state *st)
{
    size_t cap = l->wants.cap, looked = 0;
    for (size_t k = 0; k < cap && looked < SUBST_SCAN; k++) {
        size_t slot = (e->subst_slot + k) % cap;
        for (bs_hnode *n = l->wants.slots[slot]; n != NULL && looked < SUBST_SCAN; n = n->next) {
            bs_entry *c = (bs_entry *)n;
            if (!c->held || (looked++, sent_count(e, c->hash) > 0)) {
                continue;
            }
            fog_slice d = {NULL, 0};
            if (e->cfg.lookup(e->cfg.lookup_ud, &c->cid, &d) <= 0) {
                continue;
            }
            if (st->nb == BLOCKS_MAX || (st->nb > 0 && st->bytes + d.len > e->cfg.task_bytes)) {
                return -1;
            }
            e->subst_slot = slot + 1;
            e->blocks[st->nb].cid = c->cid;
            e->blocks[st->nb++].data = d;
            st->bytes += d.len;
            sent_note(e, c->hash);
            e->stats.blocks_substituted++;
            entry_remove(l, c);
            return 1;
        }
    }
    return 0;
}

/* Answers en into the message being built: 1 when it went in, 0 when the message is full. */
static int answer(bs_engine *e, bs_ledger *l, bs_entry *en, fill_state *st)
{
    fog_slice d = {NULL, 0};
    bool have = e->cfg.lookup(e->cfg.lookup_ud, &en->cid, &d) > 0;
    bool send_block = have && (en->type == FOG_BITSWAP_WANT_BLOCK || d.len <= e->cfg.small_block);
    if (send_block && en->type == FOG_BITSWAP_WANT_BLOCK && sent_count(e, en->hash) > 0) {
        int rc = substitute(e, l, st);
        if (rc != 0) {
            return rc > 0 ? 1 : 0; /* en stays queued for a later turn */
        }
    }
    if (send_block) {
        if (st->nb == BLOCKS_MAX || (st->nb > 0 && st->bytes + d.len > e->cfg.task_bytes)) {
            return 0;
        }
        e->blocks[st->nb].cid = en->cid;
        e->blocks[st->nb++].data = d;
        st->bytes += d.len;
        sent_note(e, en->hash);
        entry_remove(l, en);
        return 1;
    }
    if (!have && !en->sdh) {
        dequeue(en, l); /* stays wanted: answered when the block is stored */
        return 1;
    }
    if (st->np == PRES_MAX) {
        return 0;
    }
    e->pres[st->np].cid = en->cid;
    e->pres[st->np++].type = have ? FOG_BITSWAP_HAVE : FOG_BITSWAP_DONT_HAVE;
    dequeue(en, l);
    en->held = have; /* still wanted (DONT_HAVE: answered when stored) */
    return 1;
}

/* One message for l into out: whole (gather false) or as head plus e->ins (gather true). */
static int pull(bs_engine *e, bs_ledger *l, fog_buf *out, bool gather)
{
    fill_state st = {0, 0, 0};
    e->n_pulled = 0;
    uint64_t r;
    bs_entry *en;
    while ((en = pick(e, l, &r)) != NULL && answer(e, l, en, &st) > 0) {
    }
    /* a turn ends at the back of the ring: out, then in again if work is left */
    bool blocked = l->blocked;
    l->blocked = true;
    ring_update(e, l);
    l->blocked = blocked;
    ring_update(e, l);
    if (st.nb == 0 && st.np == 0) {
        return 0;
    }
    fog_bitswap_msg m = {0};
    m.blocks = e->blocks;
    m.n_blocks = st.nb;
    m.presences = e->pres;
    m.n_presences = st.np;
    int rc = gather ? fog_bitswap_encode_gather(&m, out, e->ins) : fog_bitswap_encode(&m, out);
    if (rc < 0) {
        return rc;
    }
    e->n_pulled = st.nb;
    e->stats.blocks_sent += st.nb;
    e->stats.block_bytes_sent += st.bytes;
    for (size_t i = 0; i < st.np; i++) {
        if (e->pres[i].type == FOG_BITSWAP_HAVE) {
            e->stats.haves_sent++;
        } else {
            e->stats.dont_haves_sent++;
        }
    }
    return 1;
}

int fog__bs_engine_pull(bs_engine *e, bs_ledger *l, fog_buf *out)
{
    return pull(e, l, out, false);
}

int fog__bs_engine_pull_gather(bs_engine *e, bs_ledger *l, fog_buf *head,
                               const fog_bitswap_insert **ins_out, size_t *n_ins_out)
{
    int rc = pull(e, l, head, true);
    *ins_out = e->ins;
    *n_ins_out = rc > 0 ? e->n_pulled : 0;
    return rc;
}

void fog__bs_engine_get_stats(const bs_engine *e, bs_engine_stats *out)
{
    *out = e->stats;
}
