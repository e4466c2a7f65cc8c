/* dht_values.c: value records (libp2p/specs kad-dht/README.md "Value storage and retrieval";
 * go-libp2p-kad-dht handlers.go handlePutValue/handleGetValue, routing.go PutValue/SearchValue,
 * go-libp2p-record validator.go). Records of a key namespace ("/ipns/...") are judged by that
 * namespace's fog_dht_validator (dht.h): validate, and select among several. Stored records live
 * in the store's "records" table (written through the store writer, read on the loop with short
 * read transactions); one older than record_max_age_ms is not served.
 * Server: PUT_VALUE is stored when valid and not worse than the stored one, and echoed; GET_VALUE
 * answers carry the stored record (dht_server.c builds them with dht_val_local).
 * fog_dht_get_value is a lookup of dht_query.c whose requests are GET_VALUE: each answer's record
 * is validated and kept with the peer that sent it (dht_val_take), the lookup stops after
 * get_quorum of them, and at its end (dht_val_final) the best by select is reported and sent
 * with PUT_VALUE to the closest peers that did not hold it (go searchValueQuorum /
 * updatePeerValues).
 * fog_dht_put_value: our own record first, then a FIND_NODE lookup (fog_dht_get_closest) and one
 * PUT_VALUE to each of the k closest, counted when echoed.
 * Outbound PUT_VALUE requests (vsend) each own a stream (the peer dialled by its known addresses
 * first if need be) and a timer of request_timeout_ms; fog_dht_free ends those still running.
 */
#include <stdlib.h>
#include <string.h>

#include "dht_internal.h"

#define VAL_SEEN_MAX 64 /* records kept per search */

/* ---- validators and our own records ---- */

const fog_dht_validator *dht_validator(const fog_dht *d, fog_slice key)
{
    for (size_t i = 0; i < FOG_DHT_VALIDATORS_MAX; i++) {
        const fog_dht_validator *v = &d->cfg.validators[i];
        size_t n = v->ns != NULL ? strlen(v->ns) : 0;
        if (n > 0 && key.len > n + 2 && key.p[0] == '/' && memcmp(key.p + 1, v->ns, n) == 0 &&
            key.p[n + 1] == '/') {
            return v;
        }
    }
    return NULL;
}

int dht_val_local(fog_dht *d, fog_slice key, fog_buf *out)
{
    const fog_dht_validator *v = dht_validator(d, key);
    if (v == NULL || d->cfg.store == NULL) {
        return FOG_ERR_NOT_FOUND;
    }
    uint64_t received = 0;
    out->len = 0;
    int rc = fog_store_record_get(d->cfg.store, key, &received, out);
    if (rc < 0) {
        return rc;
    }
    uint64_t now = dht_wall_ms();
    if (received + d->cfg.record_max_age_ms < now ||
        v->validate(v->ud, key, fog_slice_make(out->p, out->len), now) < 0) {
        out->len = 0;
        return FOG_ERR_NOT_FOUND; /* too old or no longer valid: as if absent (go) */
    }
    return 0;
}

typedef struct {
    fog_buf key, value;
    uint64_t now;
} val_job;

static int val_job_run(void *ud, fog_store_batch *b)
{
    val_job *j = ud;
    return fog_store_batch_record_put(b, fog_slice_make(j->key.p, j->key.len), j->now,
                                      fog_slice_make(j->value.p, j->value.len));
}

static void val_job_done(void *ud, int err)
{
    (void)err; /* a failed write loses the record, as a full datastore does in go */
    val_job *j = ud;
    fog_buf_clear(&j->key);
    fog_buf_clear(&j->value);
    free(j);
}

/* Queues the write of key's record (received now). */
static int val_store(fog_dht *d, fog_slice key, fog_slice value)
{
    if (d->cfg.store == NULL || d->cfg.writer == NULL) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "dht: no store for value records");
    }
    if (key.len > FOG_STORE_REC_KEY_MAX || value.len > FOG_STORE_REC_VALUE_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "dht: value record too large");
    }
    val_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        return FOG_ERR_NOMEM;
    }
    j->now = dht_wall_ms();
    int rc = fog_buf_append(&j->key, key.p, key.len);
    rc = rc < 0 ? rc : fog_buf_append(&j->value, value.p, value.len);
    rc = rc < 0 ? rc : fog_store_writer_submit(d->cfg.writer, val_job_run, val_job_done, j);
    if (rc < 0) {
        val_job_done(j, rc);
    }
    return rc;
}

/* Validates value and compares it with our stored record: 0 when it is to be stored,
 * FOG_ERR_EXISTS when ours is better, FOG_ERR_UNSUPPORTED / the validator's error otherwise. */
static int val_accept(fog_dht *d, fog_slice key, fog_slice value)
{
    const fog_dht_validator *v = dht_validator(d, key);
    if (v == NULL) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "dht: no validator for this record key");
    }
    int rc = v->validate(v->ud, key, value, dht_wall_ms());
    if (rc < 0) {
        return fog_errf(FOG_ERR_INVALID, "dht: invalid record: %s", fog_err_detail(rc));
    }
    fog_buf old;
    fog_buf_init(&old);
    if (dht_val_local(d, key, &old) == 0) {
        fog_slice vals[2] = {value, fog_slice_make(old.p, old.len)};
        if (v->select(v->ud, key, vals, 2) != 0) {
            rc = fog_errf(FOG_ERR_EXISTS, "dht: the stored record is better");
        }
    }
    fog_buf_clear(&old);
    return rc;
}

/* Server: PUT_VALUE from a peer (checked by fog_kad_check_request: it has a record for key). */
int dht_val_put_in(fog_dht *d, fog_stream *s, const fog_kad_msg *m)
{
    int rc = val_accept(d, m->key, m->record.value);
    if (rc == 0) {
        rc = val_store(d, m->key, m->record.value);
    }
    if (rc < 0) {
        return rc; /* go answers an error: the stream is reset */
    }
    fog_kad_msg echo = *m;
    echo.record.time_received = fog_slice_make(NULL, 0);
    fog_buf out;
    fog_buf_init(&out);
    rc = fog_kad_encode(&echo, &out);
    if (rc == 0) {
        rc = fog_stream_write(s, out.p, out.len);
    }
    fog_buf_clear(&out);
    return rc;
}

/* ---- outbound PUT_VALUE: one request, one echo ---- */

typedef void (*vsend_cb)(void *ud, bool ok);

struct dht_vsend {
    fog_dht *d;
    dht_vsend *next; /* in d->vsends while running */
    uint8_t id[FOG_PEER_ID_MAX];
    size_t id_len;
    size_t next_addr;
    fog_buf msg, rx;
    fog_stream *s;
    uv_timer_t *timer; /* its close callback frees everything */
    bool dialling, done;
    vsend_cb cb;
    void *ud;
};

static void vsend_closed(uv_handle_t *h)
{
    dht_vsend *v = h->data;
    fog_buf_clear(&v->msg);
    fog_buf_clear(&v->rx);
    free(v);
    free(h);
}

static void vsend_release(dht_vsend *v)
{
    if (v->done && !v->dialling) {
        uv_close((uv_handle_t *)v->timer, vsend_closed);
    }
}

/* The request is over (ok: echoed): unlink, drop the stream, report. */
static void vsend_end(dht_vsend *v, bool ok)
{
    if (v->done) {
        return;
    }
    v->done = true;
    for (dht_vsend **pp = &v->d->vsends; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    }
    uv_timer_stop(v->timer);
    if (v->s != NULL) {
        fog_stream_set_ud(v->s, NULL);
        if (!ok || fog_stream_close(v->s) < 0) {
            fog_stream_reset(v->s);
        }
        v->s = NULL;
    }
    if (v->cb != NULL) {
        v->cb(v->ud, ok);
    }
    vsend_release(v);
}

static size_t vsend_data(fog_stream *s, const uint8_t *data, size_t len)
{
    dht_vsend *v = fog_stream_ud(s);
    if (v == NULL) {
        return 0;
    }
    fog_slice body;
    size_t used = 0;
    int rc = fog_buf_append(&v->rx, data, len);
    if (rc == 0) {
        rc = fog_kad_frame_next(v->rx.p, v->rx.len, &body, &used);
    }
    if (rc == 1) {
        fog_kad_parsed p;
        bool ok = fog_kad_parse(&p, body.p, body.len) == 0 && p.msg.type == FOG_KAD_PUT_VALUE;
        fog_kad_parsed_clear(&p);
        vsend_end(v, ok);
    } else if (rc < 0) {
        vsend_end(v, false);
    }
    return 0;
}

static void vsend_fin(fog_stream *s)
{
    dht_vsend *v = fog_stream_ud(s);
    if (v != NULL) {
        vsend_end(v, false);
    }
}

static void vsend_close(fog_stream *s, int err)
{
    (void)err;
    dht_vsend *v = fog_stream_ud(s);
    if (v != NULL) {
        fog_stream_set_ud(s, NULL);
        v->s = NULL;
        vsend_end(v, false);
    }
}

static const fog_stream_handler vsend_handler = {NULL, vsend_data, vsend_fin, NULL, vsend_close};

static void vsend_dialled(void *ud, int err, const char *detail, fog_slice peer);

/* Opens the stream when connected, else dials the next known address; false when stuck. */
static bool vsend_go(dht_vsend *v)
{
    fog_dht *d = v->d;
    fog_peer_info info;
    if (fog_node_peer(d->node, v->id, v->id_len, &info)) {
        if (fog_node_open_stream(d->node, v->id, v->id_len, FOG_KAD_PROTOCOL, &vsend_handler, v,
                                 &v->s) < 0) {
            v->s = NULL;
            return false;
        }
        return fog_stream_write(v->s, v->msg.p, v->msg.len) == 0;
    }
    const dht_book_entry *e = dht_book_get(d, v->id, v->id_len);
    while (e != NULL && v->next_addr < e->p.n_addrs) {
        fog_multiaddr ma = e->p.addrs[v->next_addr++];
        fog_slice has;
        if (fog_multiaddr_peer_id(&ma, &has) == FOG_ERR_NOT_FOUND &&
            fog_multiaddr_push(&ma, FOG_MA_P2P, v->id, v->id_len) < 0) {
            continue;
        }
        if (fog_node_dial(d->node, &ma, vsend_dialled, v) == 0) {
            v->dialling = true;
            return true;
        }
    }
    return false;
}

static void vsend_dialled(void *ud, int err, const char *detail, fog_slice peer)
{
    (void)detail;
    (void)peer;
    dht_vsend *v = ud;
    v->dialling = false;
    if (v->done) {
        vsend_release(v);
        return;
    }
    if (err == FOG_ERR_CANCELLED || !vsend_go(v)) {
        vsend_end(v, false);
    }
}

static void vsend_timeout(uv_timer_t *t)
{
    vsend_end(t->data, false);
}

/* Sends msg (copied) to peer; cb runs once, never from inside this call. */
static int vsend_start(fog_dht *d, const uint8_t *id, size_t id_len, const fog_buf *msg,
                       vsend_cb cb, void *ud)
{
    dht_vsend *v = calloc(1, sizeof *v);
    uv_timer_t *t = malloc(sizeof *t);
    if (v == NULL || t == NULL || fog_buf_append(&v->msg, msg->p, msg->len) < 0) {
        if (v != NULL) {
            fog_buf_clear(&v->msg);
        }
        free(v);
        free(t);
        return FOG_ERR_NOMEM;
    }
    v->d = d;
    memcpy(v->id, id, id_len);
    v->id_len = id_len;
    v->cb = cb;
    v->ud = ud;
    uv_timer_init(d->loop, t);
    t->data = v;
    v->timer = t;
    v->next = d->vsends;
    d->vsends = v;
    uv_timer_start(t, vsend_timeout, d->cfg.request_timeout_ms, 0);
    if (!vsend_go(v)) {
        uv_timer_start(t, vsend_timeout, 0, 0); /* fails on the next loop turn */
    }
    return 0;
}

void dht_vsends_cancel(fog_dht *d)
{
    while (d->vsends != NULL) {
        vsend_end(d->vsends, false);
    }
}

/* PUT_VALUE of key -> value, encoded. */
static int put_msg(fog_slice key, fog_slice value, fog_buf *out)
{
    fog_kad_msg m = {.type = FOG_KAD_PUT_VALUE, .key = key, .has_record = true,
                     .record = {.key = key, .value = value}};
    fog_buf_init(out);
    return fog_kad_encode(&m, out);
}

/* ---- fog_dht_get_value ---- */

typedef struct {
    uint8_t id[FOG_PEER_ID_MAX];
    size_t id_len;
    fog_buf value;
} val_seen;

struct dht_val_get {
    val_seen seen[VAL_SEEN_MAX]; /* seen[0..n): valid records and who sent them */
    size_t n;
    bool has_local;              /* seen[0] is our own record */
    fog_dht_value_cb cb;
    void *ud;
};

static void val_get_free(dht_val_get *g)
{
    for (size_t i = 0; i < g->n; i++) {
        fog_buf_clear(&g->seen[i].value);
    }
    free(g);
}

void dht_val_take(dht_query *q, const uint8_t *id, size_t id_len, const fog_kad_record *rec)
{
    dht_val_get *g = q->val;
    fog_slice key = fog_slice_make(q->key, q->key_len);
    const fog_dht_validator *v = dht_validator(q->d, key);
    if (g == NULL || v == NULL || g->n == VAL_SEEN_MAX || id_len > FOG_PEER_ID_MAX ||
        (rec->key.len > 0 && !fog_slice_eq(rec->key, key)) ||
        v->validate(v->ud, key, rec->value, dht_wall_ms()) < 0) {
        return; /* an invalid record counts as none: the peer gets corrected */
    }
    val_seen *s = &g->seen[g->n];
    fog_buf_init(&s->value);
    if (fog_buf_append(&s->value, rec->value.p, rec->value.len) < 0) {
        return;
    }
    memcpy(s->id, id, id_len);
    s->id_len = id_len;
    g->n++;
    if (q->d->cfg.get_quorum > 0 && g->n >= q->d->cfg.get_quorum) {
        fog_lookup_stop(q->lk);
    }
}

/* The index of the best record seen (g->n > 0). */
static size_t val_best(fog_dht *d, fog_slice key, const dht_val_get *g)
{
    fog_slice vals[VAL_SEEN_MAX];
    for (size_t i = 0; i < g->n; i++) {
        vals[i] = fog_slice_make(g->seen[i].value.p, g->seen[i].value.len);
    }
    const fog_dht_validator *v = dht_validator(d, key);
    size_t b = v != NULL ? v->select(v->ud, key, vals, g->n) : 0;
    return b < g->n ? b : 0;
}

/* Whether peer sent a record equal to best. */
static bool val_has_best(const dht_val_get *g, const fog_dht_peer *p, fog_slice best)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->seen[i].id_len == p->id_len && memcmp(g->seen[i].id, p->id, p->id_len) == 0 &&
            fog_slice_eq(fog_slice_make(g->seen[i].value.p, g->seen[i].value.len), best)) {
            return true;
        }
    }
    return false;
}

void dht_val_final(dht_query *q, int err, const fog_dht_peer *closest, size_t n)
{
    fog_dht *d = q->d;
    dht_val_get *g = q->val;
    q->val = NULL;
    fog_slice key = fog_slice_make(q->key, q->key_len);
    if (g->n == 0) {
        g->cb(g->ud, err < 0 ? err : fog_errf(FOG_ERR_NOT_FOUND, "dht: no record found"),
              fog_slice_make(NULL, 0), 0);
        val_get_free(g);
        return;
    }
    size_t b = val_best(d, key, g);
    fog_slice best = fog_slice_make(g->seen[b].value.p, g->seen[b].value.len);
    if (err != FOG_ERR_CANCELLED) {
        fog_buf msg;
        if (put_msg(key, best, &msg) == 0) {
            for (size_t i = 0; i < n; i++) {
                if (!val_has_best(g, &closest[i], best)) {
                    (void)vsend_start(d, closest[i].id, closest[i].id_len, &msg, NULL, NULL);
                }
            }
        }
        fog_buf_clear(&msg);
    }
    g->cb(g->ud, err == FOG_ERR_CANCELLED ? err : 0, best, g->n);
    val_get_free(g);
}

int fog_dht_get_value(fog_dht *d, const uint8_t *key, size_t len, fog_dht_value_cb cb, void *ud)
{
    if (len == 0 || len > FOG_KAD_KEY_MAX || cb == NULL) {
        return fog_errf(FOG_ERR_INVALID, "dht: a record key of 1..%u bytes is needed",
                        (unsigned)FOG_KAD_KEY_MAX);
    }
    fog_slice k = fog_slice_make(key, len);
    if (dht_validator(d, k) == NULL) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "dht: no validator for this record key");
    }
    dht_val_get *g = calloc(1, sizeof *g);
    if (g == NULL) {
        return FOG_ERR_NOMEM;
    }
    g->cb = cb;
    g->ud = ud;
    fog_buf_init(&g->seen[0].value);
    if (dht_val_local(d, k, &g->seen[0].value) == 0) {
        fog_slice me = fog_node_peer_id(d->node);
        memcpy(g->seen[0].id, me.p, me.len);
        g->seen[0].id_len = me.len;
        g->n = 1;
        g->has_local = true;
    } else {
        fog_buf_clear(&g->seen[0].value);
    }
    dht_query *q = NULL;
    int rc = dht_query_new(d, FOG_KAD_GET_VALUE, key, len, &q);
    if (rc < 0) {
        val_get_free(g);
        return rc;
    }
    q->val = g;
    return 0;
}

/* ---- fog_dht_put_value ---- */

typedef struct {
    fog_dht *d;
    fog_buf msg;
    size_t pending, accepted;
    fog_dht_put_cb cb;
    void *ud;
} val_put;

static void put_end(val_put *p, int err)
{
    if (p->cb != NULL) {
        p->cb(p->ud, err < 0 ? err : (p->accepted > 0 ? 0 : FOG_ERR_NOT_FOUND), p->accepted);
    }
    fog_buf_clear(&p->msg);
    free(p);
}

static void put_sent(void *ud, bool ok)
{
    val_put *p = ud;
    p->accepted += ok ? 1 : 0;
    if (--p->pending == 0) {
        put_end(p, 0);
    }
}

static void put_closest(void *ud, int err, const fog_dht_peer *closest, size_t n,
                        const fog_dht_peer *target)
{
    (void)target;
    val_put *p = ud;
    if (err < 0) {
        put_end(p, err);
        return;
    }
    p->pending = 1; /* held while the sends start */
    for (size_t i = 0; i < n; i++) {
        if (vsend_start(p->d, closest[i].id, closest[i].id_len, &p->msg, put_sent, p) == 0) {
            p->pending++;
        }
    }
    put_sent(p, false);
}

int fog_dht_put_value(fog_dht *d, const uint8_t *key, size_t len, const uint8_t *value,
                      size_t value_len, fog_dht_put_cb cb, void *ud)
{
    if (len == 0 || len > FOG_KAD_KEY_MAX || value_len > FOG_STORE_REC_VALUE_MAX) {
        return fog_errf(FOG_ERR_INVALID, "dht: record key or value length out of range");
    }
    fog_slice k = fog_slice_make(key, len), v = fog_slice_make(value, value_len);
    int rc = val_accept(d, k, v);
    if (rc < 0) {
        return rc;
    }
    val_put *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return FOG_ERR_NOMEM;
    }
    p->d = d;
    p->cb = cb;
    p->ud = ud;
    rc = put_msg(k, v, &p->msg);
    if (rc == 0 && d->cfg.store != NULL && d->cfg.writer != NULL) {
        rc = val_store(d, k, v);
    }
    if (rc == 0) {
        rc = fog_dht_get_closest(d, key, len, put_closest, p);
    }
    if (rc < 0) {
        fog_buf_clear(&p->msg);
        free(p);
    }
    return rc;
}
