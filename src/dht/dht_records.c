/* dht_records.c: the DHT's provider records (ipfs/specs src/routing/kad-dht.md "Provider record
 * persistence"; go-libp2p-kad-dht providers/providers_manager.go; PROTOCOLS.md 3.7): records
 * live in the store's "providers" sub-database (store.h), read on the loop with short read
 * transactions and written through the store writer in one job per group of records, so a
 * provide of thousands of keys is one write batch. A record's data is the provider's addresses
 * (each a 2-byte big-endian length and the binary multiaddr). Records expire provider_ttl_ms
 * (48 h) after they were written (wall clock, so they survive restarts); a timer sweeps expired
 * ones every sweep_interval_ms (1 h, as go's cleanup).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dht_internal.h"

uint64_t dht_wall_ms(void)
{
    return (uint64_t)(fog_wall_ns() / 1000000);
}

/* ---- record data: the addresses ---- */

static size_t addrs_encode(const fog_multiaddr *a, size_t n, uint8_t *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n && i < FOG_DHT_PEER_ADDRS; i++) {
        if (a[i].len == 0 || len + 2 + a[i].len > cap) {
            continue;
        }
        out[len++] = (uint8_t)(a[i].len >> 8);
        out[len++] = (uint8_t)(a[i].len & 0xff);
        memcpy(out + len, a[i].bytes, a[i].len);
        len += a[i].len;
    }
    return len;
}

static size_t addrs_decode(fog_slice data, fog_multiaddr *out)
{
    fog_reader r;
    fog_reader_init(&r, data.p, data.len);
    size_t n = 0;
    while (n < FOG_DHT_PEER_ADDRS && r.left >= 2) {
        uint16_t alen = 0;
        fog_slice ab;
        fog_reader_be16(&r, &alen);
        fog_reader_bytes(&r, alen, &ab);
        if (r.err != 0) {
            break;
        }
        if (fog_multiaddr_from_bytes(&out[n], ab.p, ab.len) == 0) {
            n++;
        }
    }
    return n;
}

/* ---- writes: one job carries many records ---- */

/* Records serialized back to back: key length, key, peer length, peer, expiry (8 bytes, host
 * order), data length (2 bytes, host order), data. Written and read only by this file. */
struct dht_rec_job {
    fog_dht *d; /* NULL once the DHT is gone: done only frees */
    rec_job *prev, *next; /* in d->rec_list while d lives */
    fog_buf recs;
    bool sweep;
    uint64_t now_ms;
    size_t swept;
};

static int job_run(void *ud, fog_store_batch *b)
{
    rec_job *j = ud;
    if (j->sweep) {
        return fog_store_batch_providers_sweep(b, j->now_ms, &j->swept);
    }
    size_t off = 0;
    const uint8_t *p = j->recs.p;
    while (off < j->recs.len) {
        fog_slice key = fog_slice_make(p + off + 1, p[off]);
        off += 1u + key.len;
        fog_slice peer = fog_slice_make(p + off + 1, p[off]);
        off += 1u + peer.len;
        uint64_t exp;
        uint16_t dlen;
        memcpy(&exp, p + off, sizeof exp);
        memcpy(&dlen, p + off + sizeof exp, sizeof dlen);
        off += sizeof exp + sizeof dlen;
        int rc = fog_store_batch_provider_put(b, key, peer, exp, fog_slice_make(p + off, dlen));
        if (rc < 0) {
            return rc;
        }
        off += dlen;
    }
    return 0;
}

static void job_done(void *ud, int err)
{
    rec_job *j = ud;
    if (j->d != NULL) {
        if (err < 0) {
            fog_logf(&j->d->cfg.log, FOG_LOG_WARN, DHT_MOD, "provider records not written: %s",
                     fog_err_detail(err));
        } else if (j->sweep) {
            j->d->stats.providers_swept += j->swept;
        }
        j->d->rec_jobs--;
        if (j->prev != NULL) {
            j->prev->next = j->next;
        } else {
            j->d->rec_list = j->next;
        }
        if (j->next != NULL) {
            j->next->prev = j->prev;
        }
    }
    fog_buf_clear(&j->recs);
    free(j);
}

static int recs_append(fog_buf *b, fog_slice key, fog_slice peer, uint64_t exp, fog_slice data)
{
    uint8_t kl = (uint8_t)key.len, pl = (uint8_t)peer.len;
    uint16_t dl = (uint16_t)data.len;
    int rc = fog_buf_append(b, &kl, 1);
    if (rc == 0) {
        rc = fog_buf_append(b, key.p, key.len);
    }
    if (rc == 0) {
        rc = fog_buf_append(b, &pl, 1);
    }
    if (rc == 0) {
        rc = fog_buf_append(b, peer.p, peer.len);
    }
    if (rc == 0) {
        rc = fog_buf_append(b, &exp, sizeof exp);
    }
    if (rc == 0) {
        rc = fog_buf_append(b, &dl, sizeof dl);
    }
    if (rc == 0 && data.len > 0) {
        rc = fog_buf_append(b, data.p, data.len);
    }
    return rc;
}

static int job_submit(fog_dht *d, rec_job *j)
{
    int rc = fog_store_writer_submit(d->cfg.writer, job_run, job_done, j);
    if (rc < 0) {
        fog_buf_clear(&j->recs);
        free(j);
        return rc;
    }
    d->rec_jobs++;
    j->next = d->rec_list;
    if (j->next != NULL) {
        j->next->prev = j;
    }
    d->rec_list = j;
    return 0;
}

int dht_rec_add(fog_dht *d, const fog_slice *keys, size_t n, fog_slice peer,
                const fog_multiaddr *addrs, size_t n_addrs)
{
    if (d->cfg.store == NULL || d->cfg.writer == NULL) {
        return 0;
    }
    if (peer.len == 0 || peer.len > FOG_PEER_ID_MAX) {
        return FOG_ERR_INVALID;
    }
    rec_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        return FOG_ERR_NOMEM;
    }
    j->d = d;
    uint8_t data[FOG_STORE_PROV_DATA_MAX];
    size_t dl = addrs_encode(addrs, n_addrs, data, sizeof data);
    uint64_t exp = dht_wall_ms() + d->cfg.provider_ttl_ms;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (keys[i].len > 0 && keys[i].len <= FOG_STORE_PROV_KEY_MAX) {
            rc = recs_append(&j->recs, keys[i], peer, exp, fog_slice_make(data, dl));
        }
    }
    if (rc < 0) {
        fog_buf_clear(&j->recs);
        free(j);
        return rc;
    }
    return job_submit(d, j);
}

void dht_rec_sweep(fog_dht *d)
{
    if (d->cfg.store == NULL || d->cfg.writer == NULL) {
        return;
    }
    rec_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        return;
    }
    j->d = d;
    j->sweep = true;
    j->now_ms = dht_wall_ms();
    (void)job_submit(d, j);
}

/* ---- reads ---- */

typedef struct {
    fog_dht *d;
    dht_prov_recs *out;
} get_ctx;

static int got_one(void *ctx, fog_slice peer, uint64_t expires_ms, fog_slice data)
{
    (void)expires_ms;
    get_ctx *g = ctx;
    dht_prov_recs *o = g->out;
    if (o->n >= FOG_KAD_PROVIDERS_MAX) {
        return 1; /* a full answer */
    }
    if (peer.len > FOG_PEER_ID_MAX || fog_peer_id_check(peer.p, peer.len) < 0) {
        return 0;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap == 0 ? 8 : o->cap * 2;
        fog_dht_peer *np = realloc(o->p, cap * sizeof *np);
        if (np == NULL) {
            return 1;
        }
        o->p = np;
        o->cap = cap;
    }
    fog_dht_peer *p = &o->p[o->n++];
    memset(p, 0, sizeof *p);
    memcpy(p->id, peer.p, peer.len);
    p->id_len = peer.len;
    if (fog_slice_eq(peer, fog_node_peer_id(g->d->node))) {
        fog_multiaddr own[FOG_NODE_ANNOUNCE_MAX];
        size_t na = fog_node_announce_addrs(g->d->node, own);
        for (size_t i = 0; i < na && i < FOG_DHT_PEER_ADDRS; i++) {
            p->addrs[p->n_addrs++] = own[i];
        }
    } else {
        p->n_addrs = addrs_decode(data, p->addrs);
    }
    return 0;
}

int dht_rec_get(fog_dht *d, fog_slice key, dht_prov_recs *out)
{
    memset(out, 0, sizeof *out);
    if (d->cfg.store == NULL) {
        return 0;
    }
    get_ctx g = {d, out};
    int rc = fog_store_providers_get(d->cfg.store, key, dht_wall_ms(), got_one, &g);
    return rc < 0 ? rc : 0;
}

void dht_rec_clear(dht_prov_recs *r)
{
    free(r->p);
    memset(r, 0, sizeof *r);
}

void dht_rec_detach(fog_dht *d)
{
    for (rec_job *j = d->rec_list; j != NULL; j = j->next) {
        j->d = NULL;
    }
    d->rec_list = NULL;
}
