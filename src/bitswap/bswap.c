/* bswap.c: bitswap on a fog_node (bswap.h): the wiring of the server engine (engine.c) and the
 * session cores (session.c) to streams, the store, the writer, the DHT and the loop's clock.
 * Per connected peer one bs_peer: its ledger, its outbound stream (/ipfs/bitswap/1.2.0, falling
 * back to 1.1.0 when refused) with a queue of bytes it could not take yet, and the wantlist
 * entries our sessions queued for it, sent together as one message per loop turn.
 * Inbound streams carry any number of messages (as boxo and helia write them); each is framed,
 * parsed (which verifies blocks) and dispatched: wantlists to the engine, blocks and presences
 * to every session.
 * Deferral: public calls only queue work and start the kick timer (0 ms); its callback delivers
 * blocks found in the store, activates wants, flushes wantlists and runs the server's fair
 * queue. Memory bounds: the server encodes one message at a time into the peer's queue, its
 * blocks read from the store's file at the places a view lent them (pull_message), and writes
 * the queue to the stream in pieces of at most PIECE bytes; whatever the node refuses
 * (FOG_ERR_LIMIT: its per-connection queue is full) waits in the peer's queue, and that peer
 * gets no new message until the queue drained (on_writable). So a peer costs at most the
 * node's queue plus one message.
 * One message at a time (SENDING_MAX): a served message counts as sending until it left the
 * node's queue (fog_stream_drained; the kernel keeps little more, TCP_NOTSENT_LOWAT), and no
 * other peer's message starts meanwhile. The requests wait in the engine instead of in socket
 * buffers, where a cancel still reaches them and the engine's order (the block sent least
 * often first) still chooses; and the peers get their messages one after another at the full
 * uplink rate, not all of them at 1/N of it at once, so a block a fetcher receives is whole,
 * and can be passed on, N times sooner. With 20 fetchers on a 20 Mbit/s origin this took the
 * origin's upload from 5x to 1.5x the file. On the client side a message's wanted blocks go to the writer
 * as one job that owns the parsed message (bs_write: written from its memory, no copy); while
 * more than WRITER_BACKLOG bytes wait for the store, sessions stop activating new wants and
 * inbound streams report their bytes held (bs_in.held), which keeps the peers' yamux windows
 * closed until the writer caught up (holding_release). So a fast peer costs at most the
 * backlog plus one window per stream.
 */
#include "fog/bswap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bitswap/internal.h"

#include "fog/crypto.h"
#include "fog/dht.h"

#define MOD "bitswap"
#define PIECE (1u << 20)
#define WRITER_BACKLOG (8u << 20) /* received block bytes not stored yet, before holding back */
#define PROV_SEARCHES 4 /* provider searches running per session at most */
#define SENDING_MAX 1 /* peers whose served message is still being sent, at most */
#define WL_MSG_ENTRIES 4096 /* wantlist entries per message (boxo: messages up to 2 MiB) */

typedef struct bs_cb {
    fog_bswap_block_cb cb;
    void *ud;
    struct bs_cb *next;
} bs_cb;

typedef struct bs_peer {
    bs_hnode node;
    uint8_t id[FOG_PEER_ID_MAX];
    size_t len;
    fog_bswap *b;
    bs_ledger *ledger;
    fog_stream *out;
    bool out_open, blocked, no_bitswap;
    bool sending; /* a served message is not out of the node's queue yet */
    int proto; /* 0: 1.2.0, 1: 1.1.0 */
    fog_buf outq;
    size_t out_off;
    fog_bitswap_entry *wl;
    size_t n_wl, wl_cap;
} bs_peer;

typedef struct bs_hit {
    fog_cid cid;
    fog_bswap_block_cb cb;
    void *ud;
    struct bs_hit *next;
} bs_hit;

typedef struct bs_prov {
    fog_bswap_session *s;
    struct fog_dht_op *op;
    struct bs_prov *next;
} bs_prov;

struct fog_bswap_session {
    fog_bswap *b;
    bs_sess *core;
    fog_bswap_session *prev, *next;
    bs_hit *hits, *hits_tail;
    bs_prov *provs;
    uint64_t wants;
    int busy;
    bool dead;
};

/* One received message whose wanted blocks go to the store: the parsed message moves here
 * whole (its blocks' bytes are written from its own memory on the writer's thread: no copy). */
typedef struct bs_write {
    fog_bswap *b;                   /* NULL once bitswap is freed */
    fog_bitswap_parsed pm;
    size_t *idx;                    /* the blocks of pm to store */
    size_t n;
    size_t bytes;
    struct bs_write *prev, *next;
} bs_write;

typedef struct bs_in {
    fog_bswap *b;
    fog_stream *s;
    fog_bitswap_framer f;
    size_t held;                    /* bytes not given back to the peer's window yet */
    struct bs_in *prev, *next;      /* in b->holding while held > 0 */
} bs_in;

struct fog_bswap {
    fog_node *node;
    fog_bswap_config cfg;
    bs_engine *engine;
    bs_htab peers;
    fog_bswap_session *sessions;
    uv_timer_t *kick, *tick;
    bool kicked;
    size_t n_sending; /* peers sending (bs_peer.sending) */
    fog_buf scratch;
    fog_buf head;                   /* a served message's bytes around its blocks */
    fog_store_view *view;
    bs_write *writes;
    size_t write_bytes;             /* block bytes in writes */
    bs_in *holding;                 /* inbound streams held back while the writer is behind */
    fog_bswap_stats stats;
};

static const char *const protos[] = {FOG_BITSWAP_PROTO_120, FOG_BITSWAP_PROTO_110};

static void kick(fog_bswap *b);
static void sent_check(bs_peer *p);
static void peer_write(bs_peer *p);
static void drain(fog_bswap_session *s);

void fog_bswap_config_default(fog_bswap_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->session_inflight = 512;
    cfg->want_timeout_ms = 5000;
    cfg->provider_delay_ms = 1000;
    cfg->server_task_bytes = 1u << 20;
    cfg->server_peer_bytes = 4u << 20;
}

static fog_ms now_ms(const fog_bswap *b)
{
    return uv_now(b->cfg.loop);
}

/* ---- peers ---- */

static bs_peer *peer_get(fog_bswap *b, const uint8_t *id, size_t len, bool create)
{
    bs_peer *p = (bs_peer *)fog__bs_htab_find(&b->peers, id, len);
    if (p != NULL || !create || len == 0 || len > FOG_PEER_ID_MAX) {
        return p;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p->id, id, len);
    p->len = len;
    p->b = b;
    if (fog__bs_htab_add(&b->peers, &p->node, p->id, len) < 0) {
        free(p);
        return NULL;
    }
    b->stats.peers++;
    return p;
}

static void peer_free(fog_bswap *b, bs_peer *p)
{
    if (p->sending) {
        p->sending = false;
        b->n_sending--;
        kick(b);
    }
    if (p->out != NULL) {
        fog_stream_set_ud(p->out, NULL);
        fog_stream_reset(p->out);
    }
    if (p->ledger != NULL) {
        fog__bs_engine_drop(b->engine, p->ledger);
    }
    fog__bs_htab_del(&b->peers, &p->node);
    fog_buf_clear(&p->outq);
    free(p->wl);
    free(p);
    b->stats.peers--;
}

/* ---- the outbound stream ---- */

static void out_open(fog_stream *s)
{
    bs_peer *p = fog_stream_ud(s);
    if (p != NULL) {
        p->out_open = true;
        peer_write(p);
        sent_check(p);
    }
}

static size_t out_data(fog_stream *s, const uint8_t *data, size_t len)
{
    (void)s, (void)data, (void)len;
    return 0; /* answers come on the peer's own stream; nothing is expected here */
}

static void out_writable(fog_stream *s)
{
    bs_peer *p = fog_stream_ud(s);
    if (p != NULL) {
        p->blocked = false;
        peer_write(p);
        sent_check(p);
    }
}

/* The stream died but the peer is still connected (e.g. a duplicate connection replaced the
 * old one): our sessions ask again at once for what they had asked of it. */
static void resend(bs_peer *p)
{
    fog_peer_info info;
    if (p->no_bitswap || !fog_node_peer(p->b->node, p->id, p->len, &info)) {
        return;
    }
    for (fog_bswap_session *s = p->b->sessions; s != NULL; s = s->next) {
        fog__bs_sess_peer_up(s->core, p->id, p->len);
        drain(s);
    }
}

static void out_close(fog_stream *s, int err)
{
    bs_peer *p = fog_stream_ud(s);
    if (p == NULL) {
        return;
    }
    p->out = NULL;
    p->out_open = p->blocked = false;
    if (err == FOG_ERR_UNSUPPORTED && ++p->proto >= 2) {
        p->no_bitswap = true;
    }
    if (p->no_bitswap || err != FOG_ERR_UNSUPPORTED) {
        /* what was queued is lost with the stream */
        fog_buf_reset(&p->outq);
        p->out_off = 0;
        if (p->ledger != NULL) {
            fog__bs_engine_set_blocked(p->b->engine, p->ledger, false);
        }
        sent_check(p);
        if (err == FOG_ERR_CANCELLED) {
            resend(p); /* reset, or its connection replaced: not a clean close by the peer */
        }
        return;
    }
    peer_write(p); /* again with the older protocol */
}

static const fog_stream_handler out_handler = {
    .on_open = out_open,
    .on_data = out_data,
    .on_writable = out_writable,
    .on_close = out_close,
};

/* Writes the peer's queue to its stream, opening the stream when needed. */
static void peer_write(bs_peer *p)
{
    fog_bswap *b = p->b;
    if (p->out_off == p->outq.len || p->no_bitswap) {
        return;
    }
    if (p->out == NULL) {
        int rc = fog_node_open_stream(b->node, p->id, p->len, protos[p->proto], &out_handler, p,
                                      &p->out);
        if (rc < 0) {
            p->out = NULL;
            fog_buf_reset(&p->outq);
            p->out_off = 0;
        }
        return;
    }
    while (p->out_open && !p->blocked && p->out_off < p->outq.len) {
        size_t n = p->outq.len - p->out_off;
        n = n > PIECE ? PIECE : n;
        int rc = fog_stream_write(p->out, p->outq.p + p->out_off, n);
        if (rc == FOG_ERR_LIMIT) {
            p->blocked = true;
            return;
        }
        if (rc < 0) {
            break; /* on_close follows */
        }
        p->out_off += n;
    }
    if (p->out_off == p->outq.len) {
        fog_buf_reset(&p->outq);
        p->out_off = 0;
        if (p->ledger != NULL) {
            fog__bs_engine_set_blocked(b->engine, p->ledger, false);
            kick(b);
        }
    }
}

static bool peer_busy(const bs_peer *p)
{
    return p->out_off < p->outq.len;
}

/* Ends p's sending once its message left the node's queue (the kernel holds little more: see
 * SEND_LOWAT in src/node/nconn.c); until then the stream's on_writable is armed to ask again.
 * A stream that is gone ends it too. The server may then start another peer's message. */
static void sent_check(bs_peer *p)
{
    if (!p->sending || peer_busy(p)) {
        return;
    }
    if (p->out != NULL && p->out_open && !fog_stream_drained(p->out)) {
        return;
    }
    p->sending = false;
    p->b->n_sending--;
    if (p->ledger != NULL) {
        fog__bs_engine_set_blocked(p->b->engine, p->ledger, false);
    }
    kick(p->b);
}

/* ---- client wantlists ---- */

static void wl_add(bs_peer *p, const fog_cid *c, bs_act_kind kind)
{
    if (p->no_bitswap) {
        return;
    }
    if (p->n_wl == p->wl_cap) {
        size_t cap = p->wl_cap == 0 ? 64 : p->wl_cap * 2;
        fog_bitswap_entry *wl = realloc(p->wl, cap * sizeof *wl);
        if (wl == NULL) {
            return; /* the want's timeout asks again */
        }
        p->wl = wl;
        p->wl_cap = cap;
    }
    fog_bitswap_entry *e = &p->wl[p->n_wl++];
    memset(e, 0, sizeof *e);
    e->cid = *c;
    e->priority = 1;
    e->cancel = kind == BS_ACT_CANCEL;
    e->want_type = kind == BS_ACT_WANT_HAVE ? FOG_BITSWAP_WANT_HAVE : FOG_BITSWAP_WANT_BLOCK;
    e->send_dont_have = kind != BS_ACT_CANCEL;
}

static void wl_flush(fog_bswap *b, bs_peer *p)
{
    for (size_t off = 0; off < p->n_wl; off += WL_MSG_ENTRIES) {
        fog_bitswap_msg m = {0};
        m.entries = p->wl + off;
        m.n_entries = p->n_wl - off < WL_MSG_ENTRIES ? p->n_wl - off : WL_MSG_ENTRIES;
        if (fog_bitswap_encode(&m, &p->outq) == 0) {
            b->stats.msgs_out++;
        }
    }
    p->n_wl = 0;
    peer_write(p);
}

/* ---- providers ---- */

static void dial_cb(void *ud, int err, const char *detail, fog_slice peer_id)
{
    fog_bswap *b = ud;
    (void)peer_id;
    if (err < 0) {
        fog_logf(&b->cfg.log, FOG_LOG_DEBUG, MOD, "provider dial failed: %s", detail);
    }
}

static void dial_peer(fog_bswap *b, const uint8_t *id, size_t len, const fog_multiaddr *addrs,
                      size_t n)
{
    fog_peer_info info;
    if (n == 0 || fog_node_peer(b->node, id, len, &info)) {
        return;
    }
    if (fog_node_dial(b->node, &addrs[0], dial_cb, b) < 0) {
        fog_logf(&b->cfg.log, FOG_LOG_DEBUG, MOD, "cannot dial a provider");
    }
}

static void prov_unlink(bs_prov *pv)
{
    for (bs_prov **pp = &pv->s->provs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == pv) {
            *pp = pv->next;
            return;
        }
    }
}

static void prov_cb(void *ud, int err, const fog_dht_peer *provs, size_t n, bool done)
{
    bs_prov *pv = ud;
    fog_bswap_session *s = pv->s;
    for (size_t i = 0; err == 0 && i < n; i++) {
        if (fog__bs_sess_add_peer(s->core, provs[i].id, provs[i].id_len, now_ms(s->b)) == 0) {
            dial_peer(s->b, provs[i].id, provs[i].id_len, provs[i].addrs, provs[i].n_addrs);
        }
    }
    drain(s);
    if (done) {
        prov_unlink(pv);
        free(pv);
    }
}

static void find_providers(fog_bswap_session *s, const fog_cid *c)
{
    fog_bswap *b = s->b;
    size_t running = 0;
    for (bs_prov *q = s->provs; q != NULL; q = q->next) {
        running++;
    }
    /* a few searches at a time: the providers of one block of a DAG usually have the rest */
    if (b->cfg.dht == NULL || running >= PROV_SEARCHES) {
        return;
    }
    bs_prov *pv = calloc(1, sizeof *pv);
    if (pv == NULL) {
        return;
    }
    pv->s = s;
    fog_slice mh = fog_cid_mh(c);
    if (fog_dht_find_providers(b->cfg.dht, mh.p, mh.len, 10, prov_cb, pv, &pv->op) < 0) {
        free(pv);
        return;
    }
    pv->next = s->provs;
    s->provs = pv;
}

/* ---- session actions ---- */

static void broadcast(fog_bswap *b, const fog_cid *c, bs_act_kind kind)
{
    for (size_t i = 0; i < b->peers.cap; i++) {
        for (bs_hnode *n = b->peers.slots[i]; n != NULL; n = n->next) {
            bs_peer *p = (bs_peer *)n;
            wl_add(p, c, kind);
        }
    }
}

/* Turns the session core's actions into wantlist entries (sent at the next kick). */
static void drain(fog_bswap_session *s)
{
    fog_bswap *b = s->b;
    bs_act a;
    bool any = false;
    while (s->core != NULL && fog__bs_sess_poll(s->core, &a)) {
        any = true;
        if (a.kind == BS_ACT_PROVIDERS) {
            find_providers(s, &a.cid);
        } else if (a.peer_len == 0) {
            broadcast(b, &a.cid, a.kind);
        } else {
            bs_peer *p = peer_get(b, a.peer, a.peer_len, false);
            if (p != NULL) {
                wl_add(p, &a.cid, a.kind);
            }
        }
    }
    if (any) {
        kick(b);
    }
}

/* ---- sessions' deferred work ---- */

static void session_unref(fog_bswap_session *s)
{
    if (--s->busy == 0 && s->dead) {
        free(s);
    }
}

/* A block the store had when it was wanted: copied out of a short view so that the callback
 * runs with no view of ours open (it may open its own). */
static void hit_deliver(fog_bswap_session *s, bs_hit *h)
{
    fog_bswap *b = s->b;
    fog_store_view *v = NULL;
    fog_slice d;
    int rc = fog_store_view_begin(b->cfg.store, &v);
    rc = rc < 0 ? rc : fog_store_view_get(v, &h->cid, &d);
    fog_buf_reset(&b->scratch);
    rc = rc < 0 ? rc : fog_buf_append(&b->scratch, d.p, d.len);
    fog_store_view_end(v);
    if (rc == 0) {
        h->cb(h->ud, 0, &h->cid, b->scratch.p, b->scratch.len);
        return;
    }
    /* gone from the store meanwhile (or no memory to copy it): fetch it after all */
    if (fog_bswap_session_want(s, &h->cid, h->cb, h->ud) < 0) {
        h->cb(h->ud, FOG_ERR_NOMEM, &h->cid, NULL, 0);
    }
}

static void session_hits(fog_bswap_session *s)
{
    s->busy++;
    while (!s->dead && s->hits != NULL) {
        bs_hit *h = s->hits;
        s->hits = h->next;
        if (s->hits == NULL) {
            s->hits_tail = NULL;
        }
        hit_deliver(s, h);
        free(h);
    }
    session_unref(s);
}

static bool writer_behind(const fog_bswap *b)
{
    return b->write_bytes + fog_store_writer_pending_bytes(b->cfg.writer) > WRITER_BACKLOG;
}

/* ---- the server ---- */

static int lookup(void *ud, const fog_cid *c, fog_slice *data_out)
{
    fog_bswap *b = ud;
    if (b->view == NULL) {
        return 0;
    }
    return fog_store_view_get(b->view, c, data_out) == 0 ? 1 : 0;
}

/* One message for p into p->outq. The engine lends the blocks as slices of the store's map;
 * reading them through the map would fault every page in and then need them given back
 * (fog_store_view_release, a madvise per message), which on the VMs fog is measured on costs
 * more than the copy itself. So the message is encoded in pieces (the bytes around the blocks
 * in b->head) and each block is read straight from the store's file into its place in the
 * queue (fog_store_copy_lent: pread(2)): one copy, no page of the map touched, the serving
 * process's RSS flat. 1: a message was queued, 0: none, or an error (the queue as before). */
static int pull_message(fog_bswap *b, bs_peer *p, bs_ledger *l)
{
    const fog_bitswap_insert *ins = NULL;
    size_t n = 0, at = 0, start = p->outq.len;
    fog_buf_reset(&b->head);
    int rc = fog__bs_engine_pull_gather(b->engine, l, &b->head, &ins, &n);
    size_t total = b->head.len;
    for (size_t i = 0; rc > 0 && i < n; i++) {
        total += ins[i].data.len; /* a message's worth: under FOG_BITSWAP_MSG_MAX */
    }
    if (rc <= 0 || (rc = fog_buf_reserve(&p->outq, total)) < 0) {
        return rc;
    }
    for (size_t i = 0; i < n && rc >= 0; i++) {
        rc = fog_buf_append(&p->outq, b->head.p + at, ins[i].at - at); /* reserved: no error */
        rc = rc < 0 ? rc
                    : fog_store_copy_lent(b->cfg.store, ins[i].data, p->outq.p + p->outq.len);
        p->outq.len += rc < 0 ? 0 : ins[i].data.len;
        at = ins[i].at;
    }
    rc = rc < 0 ? rc : fog_buf_append(&p->outq, b->head.p + at, b->head.len - at);
    if (rc < 0) {
        p->outq.len = start; /* the message is lost: the peer asks again when its want times out */
        return rc;
    }
    return 1;
}

static void serve(fog_bswap *b)
{
    bs_ledger *l;
    for (int turns = 0; turns < 64 && b->n_sending < SENDING_MAX &&
                        (l = fog__bs_engine_next(b->engine)) != NULL;
         turns++) {
        bs_peer *p = fog__bs_ledger_ud(l);
        if (p == NULL || peer_busy(p) || p->sending || p->no_bitswap) {
            fog__bs_engine_set_blocked(b->engine, l, true);
            continue;
        }
        if (pull_message(b, p, l) > 0) {
            b->stats.msgs_out++;
            p->sending = true;
            b->n_sending++;
            peer_write(p);
            sent_check(p);
        }
    }
    if (b->n_sending < SENDING_MAX && fog__bs_engine_next(b->engine) != NULL) {
        kick(b);
    }
}

static void kick_cb(uv_timer_t *t)
{
    fog_bswap *b = t->data;
    b->kicked = false;
    bool hold = writer_behind(b);
    for (fog_bswap_session *s = b->sessions, *next; s != NULL; s = next) {
        s->busy++;
        session_hits(s);
        if (!s->dead && !hold) {
            fog__bs_sess_activate(s->core, now_ms(b));
            drain(s);
        }
        next = s->next;
        session_unref(s);
    }
    for (size_t i = 0; i < b->peers.cap; i++) {
        for (bs_hnode *n = b->peers.slots[i]; n != NULL; n = n->next) {
            if (((bs_peer *)n)->n_wl > 0) {
                wl_flush(b, (bs_peer *)n);
            }
        }
    }
    if (fog__bs_engine_next(b->engine) != NULL) {
        if (fog_store_view_begin(b->cfg.store, &b->view) < 0) {
            b->view = NULL;
        }
        serve(b);
    }
    fog_store_view_end(b->view);
    b->view = NULL;
}

static void kick(fog_bswap *b)
{
    if (!b->kicked && b->kick != NULL) {
        b->kicked = true;
        uv_timer_start(b->kick, kick_cb, 0, 0);
    }
}

static void tick_cb(uv_timer_t *t)
{
    fog_bswap *b = t->data;
    for (fog_bswap_session *s = b->sessions; s != NULL; s = s->next) {
        fog__bs_sess_tick(s->core, now_ms(b));
        drain(s);
    }
    kick(b);
}

/* ---- received blocks ---- */

static void holding_release(fog_bswap *b);

static int write_fn(void *ud, fog_store_batch *batch)
{
    bs_write *w = ud;
    int rc = 0;
    for (size_t i = 0; i < w->n && rc == 0; i++) {
        const fog_bitswap_block *blk = &w->pm.msg.blocks[w->idx[i]];
        rc = fog_store_batch_put(batch, &blk->cid, blk->data.p, blk->data.len);
    }
    return rc;
}

static void write_free(bs_write *w)
{
    fog_bitswap_parsed_clear(&w->pm);
    free(w->idx);
    free(w);
}

static void write_done(void *ud, int err)
{
    bs_write *w = ud;
    fog_bswap *b = w->b;
    if (b != NULL) {
        if (w->prev != NULL) {
            w->prev->next = w->next;
        } else {
            b->writes = w->next;
        }
        if (w->next != NULL) {
            w->next->prev = w->prev;
        }
        b->write_bytes -= w->bytes;
        for (size_t i = 0; i < w->n; i++) {
            const fog_cid *c = &w->pm.msg.blocks[w->idx[i]].cid;
            if (err == 0) {
                fog__bs_engine_stored(b->engine, c); /* peers that want it hear of it */
            } else {
                fog_logf(&b->cfg.log, FOG_LOG_WARN, MOD, "storing %s failed: %s",
                         fog_cid_str(c), fog_err_detail(err));
            }
        }
        if (!writer_behind(b)) {
            holding_release(b);
        }
        kick(b);
    }
    write_free(w);
}

/* Queues the wanted blocks of a message (w, which owns the parsed message) to the store. */
static void write_submit(fog_bswap *b, bs_write *w)
{
    int rc = fog_store_writer_submit(b->cfg.writer, write_fn, write_done, w);
    if (rc < 0) {
        fog_logf(&b->cfg.log, FOG_LOG_WARN, MOD, "cannot store %zu blocks: %s", w->n,
                 fog_err_detail(rc));
        write_free(w);
        return;
    }
    w->b = b;
    b->write_bytes += w->bytes;
    w->next = b->writes;
    if (b->writes != NULL) {
        b->writes->prev = w;
    }
    b->writes = w;
}

static void want_callbacks(fog_bswap_session *s, bs_want *w, int err, const fog_slice *data)
{
    bs_cb *cb = w->user;
    w->user = NULL;
    while (cb != NULL) {
        bs_cb *next = cb->next;
        if (!s->dead) {
            cb->cb(cb->ud, err, &w->cid, data != NULL ? data->p : NULL,
                   data != NULL ? data->len : 0);
        }
        free(cb);
        cb = next;
    }
}

typedef struct {
    fog_bswap_session *s;
    bs_want *w;
} bs_match;

/* The sessions that wanted blk, each holding a reference; *n_out of them. */
static bs_match *match_block(fog_bswap *b, fog_slice from, const fog_bitswap_block *blk,
                             size_t *n_out)
{
    size_t n = 0, cap = 0;
    bs_match *m = NULL;
    for (fog_bswap_session *s = b->sessions; s != NULL; s = s->next) {
        bs_want *w = fog__bs_sess_find(s->core, &blk->cid);
        if (w == NULL) {
            continue;
        }
        if (n == cap) {
            cap = cap == 0 ? 4 : cap * 2;
            bs_match *nm = realloc(m, cap * sizeof *nm);
            if (nm == NULL) {
                break;
            }
            m = nm;
        }
        m[n].s = s;
        m[n++].w = fog__bs_sess_block(s->core, from.p, from.len, &blk->cid, blk->data.len,
                                      now_ms(b));
        s->busy++;
    }
    *n_out = n;
    return m;
}

/* Whether blk was wanted (and so must be stored): its callbacks ran. */
static bool on_block(fog_bswap *b, fog_slice from, const fog_bitswap_block *blk)
{
    size_t n = 0;
    bs_match *m = match_block(b, from, blk, &n);
    if (n == 0) {
        b->stats.dup_blocks_recv++;
        b->stats.dup_bytes_recv += blk->data.len;
        for (fog_bswap_session *s = b->sessions; s != NULL; s = s->next) {
            (void)fog__bs_sess_block(s->core, from.p, from.len, &blk->cid, blk->data.len,
                                     now_ms(b));
        }
        free(m);
        return false;
    }
    b->stats.blocks_recv++;
    b->stats.block_bytes_recv += blk->data.len;
    for (size_t i = 0; i < n; i++) {
        want_callbacks(m[i].s, m[i].w, 0, &blk->data);
        if (!m[i].s->dead) {
            fog__bs_sess_release(m[i].s->core, m[i].w);
            drain(m[i].s);
        } else {
            free(m[i].w);
        }
        session_unref(m[i].s);
    }
    free(m);
    kick(b);
    return true;
}

/* ---- inbound messages ---- */

static void on_wantlist(fog_bswap *b, fog_slice from, const fog_bitswap_msg *m)
{
    bs_peer *p = peer_get(b, from.p, from.len, true);
    if (p == NULL) {
        return;
    }
    if (p->ledger == NULL) {
        p->ledger = fog__bs_engine_ledger(b->engine, p->id, p->len, true);
        if (p->ledger == NULL) {
            return;
        }
        fog__bs_ledger_set_ud(p->ledger, p);
    }
    if (fog__bs_engine_recv(b->engine, p->ledger, m) < 0) {
        fog_logf(&b->cfg.log, FOG_LOG_WARN, MOD, "out of memory for a wantlist");
    }
    kick(b);
}

/* Handles one message; the blocks to store are listed in w (w->idx has room for all). */
static void dispatch(fog_bswap *b, fog_slice from, const fog_bitswap_parsed *pm, bs_write *w)
{
    const fog_bitswap_msg *m = &pm->msg;
    b->stats.msgs_in++;
    if (m->n_entries > 0 || m->full) {
        on_wantlist(b, from, m);
    }
    for (size_t i = 0; i < m->n_presences; i++) {
        for (fog_bswap_session *s = b->sessions; s != NULL; s = s->next) {
            if (fog__bs_sess_presence(s->core, from.p, from.len, &m->presences[i].cid,
                                      m->presences[i].type, now_ms(b)) == 0) {
                drain(s);
            }
        }
    }
    for (size_t i = 0; i < m->n_blocks; i++) {
        if (on_block(b, from, &m->blocks[i]) && w != NULL) {
            w->idx[w->n++] = i;
            w->bytes += m->blocks[i].data.len;
        }
    }
}

/* Parses one body and handles it; the parsed message moves to a store job when it holds blocks
 * to store. Errors (a bad message, no memory for the job) reset the stream. */
static int on_body(fog_bswap *b, fog_slice from, fog_slice body)
{
    bs_write *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return FOG_ERR_NOMEM;
    }
    int rc = fog_bitswap_parse(&w->pm, body.p, body.len);
    if (rc < 0) {
        free(w);
        return rc;
    }
    size_t nb = w->pm.msg.n_blocks;
    if (nb > 0 && (w->idx = calloc(nb, sizeof *w->idx)) == NULL) {
        write_free(w);
        return FOG_ERR_NOMEM;
    }
    dispatch(b, from, &w->pm, w);
    if (w->n > 0) {
        write_submit(b, w);
    } else {
        write_free(w);
    }
    return 0;
}

static void in_open(fog_stream *s)
{
    bs_in *in = calloc(1, sizeof *in);
    if (in == NULL) {
        fog_stream_reset(s);
        return;
    }
    in->b = fog_stream_ud(s);
    in->s = s;
    fog_bitswap_framer_init(&in->f);
    fog_stream_set_ud(s, in);
}

static void holding_del(bs_in *in)
{
    if (in->held == 0) {
        return;
    }
    if (in->prev != NULL) {
        in->prev->next = in->next;
    } else {
        in->b->holding = in->next;
    }
    if (in->next != NULL) {
        in->next->prev = in->prev;
    }
    in->prev = in->next = NULL;
    in->held = 0;
}

/* Back-pressure: while the writer is behind, the bytes of inbound streams are used at once but
 * reported held, so the peers' windows stay closed until the writer caught up. */
static size_t holding_add(bs_in *in, size_t len)
{
    fog_bswap *b = in->b;
    if (len == 0 || !writer_behind(b)) {
        return 0;
    }
    if (in->held == 0) {
        in->prev = NULL;
        in->next = b->holding;
        if (b->holding != NULL) {
            b->holding->prev = in;
        }
        b->holding = in;
    }
    in->held += len;
    return len;
}

static void holding_release(fog_bswap *b)
{
    while (b->holding != NULL) {
        bs_in *in = b->holding;
        size_t n = in->held;
        holding_del(in);
        fog_stream_release(in->s, n);
    }
}

static void in_free(bs_in *in)
{
    holding_del(in);
    fog_bitswap_framer_clear(&in->f);
    free(in);
}

static size_t in_data(fog_stream *s, const uint8_t *data, size_t len)
{
    bs_in *in = fog_stream_ud(s);
    int rc = fog_bitswap_framer_feed(&in->f, data, len);
    fog_slice body;
    while (rc == 0 && (rc = fog_bitswap_framer_next(&in->f, &body)) == 1) {
        rc = on_body(in->b, fog_stream_peer_id(s), body);
    }
    if (rc < 0) {
        fog_logf(&in->b->cfg.log, FOG_LOG_WARN, MOD, "bad message from a peer: %s",
                 fog_err_detail(rc));
        in_free(in);
        fog_stream_reset(s);
        return 0;
    }
    return holding_add(in, len);
}

static void in_fin(fog_stream *s)
{
    /* the peer is done sending; our side never writes here (a failure means it is gone) */
    if (fog_stream_close(s) < 0) {
        return;
    }
}

static void in_close(fog_stream *s, int err)
{
    (void)err;
    in_free(fog_stream_ud(s));
}

static const fog_stream_handler in_handler = {
    .on_open = in_open,
    .on_data = in_data,
    .on_fin = in_fin,
    .on_close = in_close,
};

/* ---- connection events ---- */

static void obs_connected(void *ud, const fog_peer_info *info)
{
    fog_bswap *b = ud;
    bs_peer *p = peer_get(b, info->peer_id.p, info->peer_id.len, true);
    if (p == NULL) {
        return;
    }
    /* wants that went to everyone go to the newcomer too, and the want-blocks a session
     * meant for it while it was being dialled */
    for (fog_bswap_session *s = b->sessions; s != NULL; s = s->next) {
        fog__bs_sess_peer_up(s->core, p->id, p->len);
        drain(s);
        for (bs_want *w = fog__bs_sess_first(s->core); w != NULL && w->active; w = w->next) {
            if (w->broadcast) {
                wl_add(p, &w->cid, BS_ACT_WANT_HAVE);
            }
        }
    }
    kick(b);
}

static void obs_identified(void *ud, const fog_peer_info *info)
{
    fog_bswap *b = ud;
    bs_peer *p = peer_get(b, info->peer_id.p, info->peer_id.len, false);
    if (p == NULL || info->identify == NULL) {
        return;
    }
    const fog_identify_msg *m = &info->identify->msg;
    bool speaks = false;
    for (size_t i = 0; i < m->n_protocols && !speaks; i++) {
        speaks = strncmp(m->protocols[i], FOG_BITSWAP_PROTO_LEGACY,
                         strlen(FOG_BITSWAP_PROTO_LEGACY)) == 0;
    }
    p->no_bitswap = !speaks;
}

static void obs_disconnected(void *ud, fog_slice peer_id, int err, const char *detail)
{
    fog_bswap *b = ud;
    (void)err, (void)detail;
    bs_peer *p = peer_get(b, peer_id.p, peer_id.len, false);
    for (fog_bswap_session *s = b->sessions; s != NULL; s = s->next) {
        fog__bs_sess_peer_gone(s->core, peer_id.p, peer_id.len, now_ms(b));
        drain(s);
    }
    if (p != NULL) {
        peer_free(b, p);
    }
}

fog_node_observer fog_bswap_observer(fog_bswap *b)
{
    fog_node_observer o = {obs_connected, obs_identified, obs_disconnected, b};
    return o;
}

/* ---- life cycle ---- */

void fog_bswap_set_dht(fog_bswap *b, struct fog_dht *d)
{
    b->cfg.dht = d;
}

static void handle_free(uv_handle_t *h)
{
    free(h);
}

static int timers_new(fog_bswap *b)
{
    b->kick = calloc(1, sizeof *b->kick);
    b->tick = calloc(1, sizeof *b->tick);
    if (b->kick == NULL || b->tick == NULL) {
        free(b->kick);
        free(b->tick);
        b->kick = b->tick = NULL;
        return FOG_ERR_NOMEM;
    }
    uv_timer_init(b->cfg.loop, b->kick);
    uv_timer_init(b->cfg.loop, b->tick);
    b->kick->data = b->tick->data = b;
    fog_ms t = b->cfg.want_timeout_ms < b->cfg.provider_delay_ms ? b->cfg.want_timeout_ms
                                                                  : b->cfg.provider_delay_ms;
    t = t / 4 < 10 ? 10 : t / 4 > 250 ? 250 : t / 4;
    uv_timer_start(b->tick, tick_cb, t, t);
    uv_unref((uv_handle_t *)b->tick);
    return 0;
}

static int handlers_add(fog_bswap *b)
{
    static const char *const all[] = {FOG_BITSWAP_PROTO_120, FOG_BITSWAP_PROTO_110,
                                      FOG_BITSWAP_PROTO_100, FOG_BITSWAP_PROTO_LEGACY};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int rc = fog_node_handle(b->node, all[i], &in_handler, b);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

int fog_bswap_new(fog_bswap **out, fog_node *node, const fog_bswap_config *cfg)
{
    if (node == NULL || cfg->loop == NULL || cfg->store == NULL || cfg->writer == NULL) {
        return fog_errf(FOG_ERR_INVALID, "bitswap: loop, store and writer are required");
    }
    fog_bswap *b = calloc(1, sizeof *b);
    if (b == NULL) {
        return FOG_ERR_NOMEM;
    }
    b->node = node;
    b->cfg = *cfg;
    if (b->cfg.session_inflight == 0) {
        b->cfg.session_inflight = 512;
    }
    bs_engine_config ec = {b->cfg.server_task_bytes, FOG_BSWAP_LEDGER_MAX, 1024, lookup, b};
    int rc = fog__bs_engine_new(&b->engine, &ec);
    rc = rc < 0 ? rc : handlers_add(b);
    rc = rc < 0 ? rc : timers_new(b);
    if (rc < 0) {
        fog__bs_engine_free(b->engine);
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

static void cancel_all(fog_bswap_session *s)
{
    s->busy++;
    for (bs_want *w = fog__bs_sess_first(s->core); w != NULL && !s->dead; w = w->next) {
        want_callbacks(s, w, FOG_ERR_CANCELLED, NULL);
    }
    while (!s->dead && s->hits != NULL) {
        bs_hit *h = s->hits;
        s->hits = h->next;
        h->cb(h->ud, FOG_ERR_CANCELLED, &h->cid, NULL, 0);
        free(h);
    }
    session_unref(s);
}

void fog_bswap_free(fog_bswap *b)
{
    if (b == NULL) {
        return;
    }
    while (b->sessions != NULL) {
        fog_bswap_session *s = b->sessions;
        cancel_all(s);
        if (b->sessions == s) {
            fog_bswap_session_free(s);
        }
    }
    for (size_t i = 0; i < b->peers.cap; i++) {
        bs_hnode *n = b->peers.slots[i];
        while (n != NULL) {
            bs_hnode *next = n->next;
            peer_free(b, (bs_peer *)n);
            n = next;
        }
    }
    for (bs_write *w = b->writes; w != NULL; w = w->next) {
        w->b = NULL; /* the writer calls done later; it frees w and touches nothing else */
    }
    uv_close((uv_handle_t *)b->kick, handle_free);
    uv_close((uv_handle_t *)b->tick, handle_free);
    fog__bs_engine_free(b->engine);
    fog__bs_htab_clear(&b->peers);
    fog_buf_clear(&b->scratch);
    fog_buf_clear(&b->head);
    free(b);
}

void fog_bswap_notify_stored(fog_bswap *b, const fog_cid *c)
{
    fog__bs_engine_stored(b->engine, c);
    kick(b);
}

/* ---- sessions ---- */

int fog_bswap_session_new(fog_bswap *b, fog_bswap_session **out)
{
    fog_bswap_session *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return FOG_ERR_NOMEM;
    }
    bs_sess_config sc = {b->cfg.session_inflight, b->cfg.want_timeout_ms,
                         b->cfg.provider_delay_ms};
    /* Tie-breaks differ between nodes, so fetchers of the same file ask for different blocks
     * first (the core takes its randomness from here: sans-I/O). */
    fog_random_bytes(&sc.seed, sizeof sc.seed);
    if (fog__bs_sess_new(&s->core, &sc) < 0) {
        free(s);
        return FOG_ERR_NOMEM;
    }
    s->b = b;
    s->next = b->sessions;
    if (b->sessions != NULL) {
        b->sessions->prev = s;
    }
    b->sessions = s;
    *out = s;
    return 0;
}

static bool store_has(fog_bswap *b, const fog_cid *c)
{
    fog_store_view *v = NULL;
    fog_slice d;
    bool has = fog_store_view_begin(b->cfg.store, &v) == 0 && fog_store_view_get(v, c, &d) == 0;
    fog_store_view_end(v);
    return has;
}

int fog_bswap_session_want(fog_bswap_session *s, const fog_cid *c, fog_bswap_block_cb cb,
                           void *ud)
{
    fog_bswap *b = s->b;
    s->wants++;
    if (store_has(b, c)) {
        bs_hit *h = calloc(1, sizeof *h);
        if (h == NULL) {
            return FOG_ERR_NOMEM;
        }
        h->cid = *c;
        h->cb = cb;
        h->ud = ud;
        if (s->hits_tail != NULL) {
            s->hits_tail->next = h;
        } else {
            s->hits = h;
        }
        s->hits_tail = h;
        kick(b);
        return 0;
    }
    bs_cb *e = calloc(1, sizeof *e);
    bs_want *w = e != NULL ? fog__bs_sess_want(s->core, c, now_ms(b)) : NULL;
    if (w == NULL) {
        free(e);
        return FOG_ERR_NOMEM;
    }
    e->cb = cb;
    e->ud = ud;
    e->next = w->user;
    w->user = e;
    kick(b);
    return 0;
}

void fog_bswap_session_cancel(fog_bswap_session *s, const fog_cid *c)
{
    bs_want *w = fog__bs_sess_find(s->core, c);
    if (w != NULL) {
        for (bs_cb *cb = w->user, *next; cb != NULL; cb = next) {
            next = cb->next;
            free(cb);
        }
        w->user = NULL;
        fog__bs_sess_drop(s->core, w);
        drain(s);
    }
    for (bs_hit **hp = &s->hits; *hp != NULL;) {
        bs_hit *h = *hp;
        if (fog_cid_eq(&h->cid, c)) {
            *hp = h->next;
            free(h);
        } else {
            hp = &h->next;
        }
    }
    s->hits_tail = NULL;
    for (bs_hit *h = s->hits; h != NULL; h = h->next) {
        s->hits_tail = h;
    }
}

void fog_bswap_session_add_peer(fog_bswap_session *s, const uint8_t *peer_id, size_t len)
{
    fog_bswap *b = s->b;
    if (fog__bs_sess_add_peer(s->core, peer_id, len, now_ms(b)) < 0) {
        return;
    }
    drain(s);
    if (b->cfg.dht != NULL) {
        fog_multiaddr addrs[FOG_DHT_PEER_ADDRS];
        size_t n = fog_dht_peer_addrs(b->cfg.dht, peer_id, len, addrs);
        dial_peer(b, peer_id, len, addrs, n);
    }
}

void fog_bswap_session_free(fog_bswap_session *s)
{
    if (s == NULL || s->dead) {
        return;
    }
    fog_bswap *b = s->b;
    s->dead = true;
    for (bs_prov *pv = s->provs, *next; pv != NULL; pv = next) {
        next = pv->next;
        fog_dht_cancel(pv->op);
        free(pv);
    }
    s->provs = NULL;
    for (bs_hit *h = s->hits, *next; h != NULL; h = next) {
        next = h->next;
        free(h);
    }
    s->hits = s->hits_tail = NULL;
    bs_want *w;
    while ((w = fog__bs_sess_first(s->core)) != NULL) {
        for (bs_cb *cb = w->user, *next; cb != NULL; cb = next) {
            next = cb->next;
            free(cb);
        }
        fog__bs_sess_drop(s->core, w);
    }
    drain(s); /* the cancels */
    bs_sess_stats st;
    fog__bs_sess_get_stats(s->core, &st);
    fog_logf(&b->cfg.log, FOG_LOG_DEBUG, MOD,
             "session: %" PRIu64 " blocks, %" PRIu64 " unwanted; asks %" PRIu64 " to holders, %" PRIu64
             " blind (%" PRIu64 " lacked), %" PRIu64 " duplicates; %" PRIu64 " timeouts",
             st.blocks_in, st.dup_blocks_in, st.asks_have, st.asks_blind, st.blind_misses,
             st.asks_dup, st.timeouts);
    fog__bs_sess_free(s->core);
    s->core = NULL;
    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        b->sessions = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
    if (s->busy == 0) {
        free(s);
    }
}

void fog_bswap_session_get_stats(const fog_bswap_session *s, fog_bswap_session_stats *out)
{
    bs_sess_stats st = {0};
    if (s->core != NULL) {
        fog__bs_sess_get_stats(s->core, &st);
    }
    out->wants = s->wants;
    out->blocks_in = st.blocks_in;
    out->dup_blocks_in = st.dup_blocks_in;
    out->bytes_in = st.bytes_in;
    out->inflight = st.asked;
    out->peers = st.peers;
}

void fog_bswap_get_stats(const fog_bswap *b, fog_bswap_stats *out)
{
    *out = b->stats;
    bs_engine_stats es;
    fog__bs_engine_get_stats(b->engine, &es);
    out->blocks_sent = es.blocks_sent;
    out->block_bytes_sent = es.block_bytes_sent;
    out->haves_sent = es.haves_sent;
    out->dont_haves_sent = es.dont_haves_sent;
    out->store_pending_bytes = b->write_bytes;
}
