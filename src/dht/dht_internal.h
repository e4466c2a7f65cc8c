/* dht_internal.h: what the files of the wired DHT share (src/dht/dht.c: life cycle, observer,
 * address book and liveness checks; dht_server.c: inbound /ipfs/kad/1.0.0 streams;
 * dht_query.c: lookups and bootstrap). See include/fog/dht.h for the behaviour.
 */
#ifndef FOG_DHT_INTERNAL_H
#define FOG_DHT_INTERNAL_H

#include "fog/dht.h"
#include "fog/lookup.h"
#include "fog/rtable.h"

#define DHT_MOD "dht"

typedef struct {
    fog_dht_peer p;
    fog_ms updated_ms;
} dht_book_entry;

/* A running lookup; a provider search's handle (fog_dht_op) is the same object. */
typedef struct fog_dht_op dht_query;

struct fog_dht {
    fog_node *node;
    uv_loop_t *loop;
    fog_dht_config cfg;
    fog_rtable *rt;
    dht_book_entry *book; /* n_book entries, unordered */
    size_t n_book, cap_book;
    uv_timer_t *timer;    /* drives every query; freed by its close callback */
    dht_query *queries;   /* running lookups, a list */
    fog_dht_stats stats;
    size_t rec_jobs;      /* provider record jobs queued at the writer */
    struct dht_rec_job *rec_list;  /* those jobs: detached by fog_dht_free, their done only frees */
    uv_timer_t *upkeep;   /* sweep, reprovide and bucket refresh; freed by its close callback */
    fog_ms next_sweep, next_reprovide, next_refresh;
    bool reproviding;     /* a reprovide is running */
    struct dht_provide *provides; /* running fog_dht_provide batches, a list */
    struct dht_vsend *vsends; /* outbound PUT_VALUE requests running (dht_values.c), a list */
};

static inline fog_ms dht_now(const fog_dht *d)
{
    return uv_now(d->loop);
}

/* A peer ID, for the providers a search has seen. */
typedef struct {
    uint8_t id[FOG_PEER_ID_MAX];
    size_t len;
} dht_id;

/* The providers of one search: every ID seen (never reported twice) and those waiting to be
 * reported on the next timer run. */
typedef struct {
    dht_id *seen;
    size_t n_seen, cap_seen;
    fog_dht_peer *pend;
    size_t n_pend, cap_pend;
    size_t n_reported; /* providers handed to the callback */
} dht_prov_list;

typedef struct dht_req dht_req;
typedef struct dht_rec_job rec_job;
typedef struct dht_val_get dht_val_get;
typedef struct dht_vsend dht_vsend;

struct fog_dht_op {
    fog_dht *d;
    dht_query *next; /* in d->queries */
    fog_lookup *lk;
    fog_kad_type type;            /* FIND_NODE or GET_PROVIDERS */
    uint8_t key[FOG_KAD_KEY_MAX]; /* the request key (the target peer ID for find_peer) */
    size_t key_len;
    bool want_target;
    bool found;     /* the target answered, or an answer reported it with an address */
    bool cancelled; /* fog_dht_cancel: finish without a callback */
    dht_req *reqs;
    fog_dht_lookup_cb cb;
    fog_dht_bootstrap_cb boot_cb; /* a bootstrap's self-lookup: reports to this one instead */
    size_t boot_connected;
    fog_dht_providers_cb prov_cb; /* a provider search reports here instead */
    size_t prov_count;            /* providers wanted (0: no limit) */
    dht_prov_list prov;
    dht_val_get *val;             /* a fog_dht_get_value search (dht_values.c), or NULL */
    void *ud;
};

/* dht.c: the address book. merge: add the addresses not known yet (up to the cap); otherwise
 * replace them. Our own ID and IDs that fail fog_peer_id_check are ignored. */
void dht_book_put(fog_dht *d, const uint8_t *id, size_t id_len, const fog_multiaddr *addrs,
                  size_t n, bool merge);
const dht_book_entry *dht_book_get(const fog_dht *d, const uint8_t *id, size_t id_len);

/* dht_server.c */
extern const fog_stream_handler dht_server_handler;
/* Fills out (room for d->cfg.k + 1) with the answer's closer peers for key: the k closest to
 * SHA-256(key) but not `exclude`, ourselves first when key is our own peer ID. Returns the count;
 * addrs point into d's book or store (valid until the book changes). */
size_t dht_closer_peers(fog_dht *d, const uint8_t *key, size_t key_len, fog_slice exclude,
                        fog_kad_peer *out, fog_multiaddr *self_addrs);

/* dht_query.c */
/* A lookup of type (FIND_NODE or GET_PROVIDERS) for key, seeded from the table and started on
 * the next timer run; the caller sets its callback fields. */
int dht_query_new(fog_dht *d, fog_kad_type type, const uint8_t *key, size_t len,
                  dht_query **out);
void dht_queries_cancel(fog_dht *d); /* runs each callback with FOG_ERR_CANCELLED */
void dht_timer_cb(uv_timer_t *t);

/* dht_records.c: provider records in the store. rec_add queues one job writing a record of
 * peer with addrs for each of keys (nothing without a store); rec_get reads a key's unexpired
 * records (at most FOG_KAD_PROVIDERS_MAX; our own with our announce addresses); rec_sweep
 * queues the deletion of expired ones. */
typedef struct {
    fog_dht_peer *p;
    size_t n, cap;
} dht_prov_recs;
/* The wiring's wall clock (ms since the epoch): provider expiry, record age, and the time the
 * value validators judge at (they take it as an argument, reading none themselves). */
uint64_t dht_wall_ms(void);
int dht_rec_add(fog_dht *d, const fog_slice *keys, size_t n, fog_slice peer,
                const fog_multiaddr *addrs, size_t n_addrs);
int dht_rec_get(fog_dht *d, fog_slice key, dht_prov_recs *out);
void dht_rec_clear(dht_prov_recs *r);
void dht_rec_sweep(fog_dht *d);
void dht_rec_detach(fog_dht *d); /* fog_dht_free: jobs still queued no longer see d */

/* dht_provide.c: fog_dht_provide, and the upkeep timer (sweep, reprovide, refresh). */
void dht_upkeep_start(fog_dht *d);
void dht_provides_cancel(fog_dht *d); /* fog_dht_free: running provides end, CANCELLED */

/* dht_prov.c: a provider search's side of a lookup. take: the providers of an answer (or of
 * our own records) join the list; flush: reports those waiting (on the timer) and stops the
 * lookup once enough were found; final: the last callback; clear frees the list. */
void dht_prov_take(dht_query *q, const fog_kad_peer *provs, size_t n);
void dht_prov_flush(dht_query *q);
void dht_prov_final(dht_query *q, int err);
void dht_prov_clear(dht_prov_list *l);

/* dht_values.c: value records. validator: the key's namespace's, or NULL. local: our stored
 * record of key when valid and young enough (FOG_ERR_NOT_FOUND otherwise), into out (reset).
 * put_in: the server's PUT_VALUE (negative: reset the stream). take: a GET_VALUE answer's record
 * joins the search; final: the search's end (reports, corrects peers, frees q->val).
 * vsends_cancel: fog_dht_free ends the outbound PUT_VALUE requests. */
const fog_dht_validator *dht_validator(const fog_dht *d, fog_slice key);
int dht_val_local(fog_dht *d, fog_slice key, fog_buf *out);
int dht_val_put_in(fog_dht *d, fog_stream *s, const fog_kad_msg *m);
void dht_val_take(dht_query *q, const uint8_t *id, size_t id_len, const fog_kad_record *rec);
void dht_val_final(dht_query *q, int err, const fog_dht_peer *closest, size_t n);
void dht_vsends_cancel(fog_dht *d);

#endif
