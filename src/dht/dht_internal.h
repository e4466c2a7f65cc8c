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

typedef struct dht_query dht_query;

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
};

static inline fog_ms dht_now(const fog_dht *d)
{
    return uv_now(d->loop);
}

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
void dht_queries_cancel(fog_dht *d); /* runs each callback with FOG_ERR_CANCELLED */
void dht_timer_cb(uv_timer_t *t);

#endif
