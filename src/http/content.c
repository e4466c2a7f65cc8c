/* content.c: the content endpoints: cat, ls, get (kubo core/commands/cat.go, ls.go, get.go:
 * get answers a tar archive, written by tar.c), refs (refs.go: one {"Ref", "Err"} line per
 * block) and stats/bw (stat_bw.go's shape).
 * cat, ls and get run the exporter (fog/unixfs.h) on a libuv work thread over a fog_fetch_source
 * (fog/fetch.h: local blocks from store views, missing ones fetched through bitswap, the DAG
 * below a whole-file cat or a get prefetched). cat's and get's bytes go to h2o through a bounded
 * double buffer: the worker appends to `pending` and blocks on the condition variable while it
 * holds CAT_QUEUE_MAX bytes (the bytes the exporter lends from a store view are read from the
 * store's file, not through its map: fog_store_copy_lent, no page faults); the loop swaps
 * `pending` and `inflight` when h2o asked for more (proceed) and wakes the worker. The 200
 * head goes out with the first bytes, so an error before them (a bad path, a timeout) is a kubo
 * error object with status 500; an error after them ends the chunked body without its last
 * chunk (the client sees a broken transfer).
 * refs runs a fog_fetch on the loop and streams a line per block as it arrives; the root itself
 * is not listed (kubo lists the links below the root); lines carry fog's extra "Size" (block
 * bytes) beside kubo's "Ref" and "Err", and a failure ends the stream with {"Ref": "", "Err"}.
 * Content that had to be fetched is announced afterwards (fog_dht_provide of the CID the request
 * resolved to, or of the refs root), as kubo's bitswap provides what it fetched: the next
 * fetcher then finds this node among the providers, so copies spread instead of all coming
 * from the origin.
 * A request whose client leaves cancels its work (the source's waits end, the worker's next
 * write fails); its job lives until the worker is back (server.c jobs). Our own pool-disposal
 * hook is linked after the job's, and h2o disposes a pool's shared entries in reverse order of
 * linking, so it runs while the job is still alive.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fog/bswap.h"
#include "fog/dht.h"
#include "fog/fetch.h"
#include "fog/store.h"
#include "fog/unixfs.h"

#define CAT_QUEUE_MAX (1u << 20)

enum { JOB_CAT, JOB_LS, JOB_GET, JOB_CUSTOM };

typedef struct content_job {
    api_job base;
    h2o_generator_t gen;
    uv_work_t work;
    uv_async_t async;
    uv_mutex_t mu;
    uv_cond_t cond;
    int kind;
    char *path;              /* CID[/path], owned */
    uint64_t offset, length;
    fog_ms timeout_ms;
    fog_store *store;
    fog_fetch_source *fs;    /* NULL: local only */
    fog_cid target;          /* what the path resolved to (worker, read after it is back) */
    bool resolved;
    /* under mu */
    fog_buf pending;
    bool finished, gone;
    int err;
    char detail[512];
    /* loop only */
    fog_buf inflight;
    json_t *links;           /* ls: the worker's result (handed over when finished) */
    /* JOB_CUSTOM (fog__api_work_start): the worker runs run, the loop then calls after once */
    api_work_run run;
    api_work_after after;
    void *ud;
    void (*ud_free)(void *ud);
    json_t *result;
    bool started, sending, ended;
    bool working;            /* the worker has not come back yet */
} content_job;

/* --- Query options ------------------------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

/* A duration option in ms ("1500ms", "30s", "2m", "1h"). */
static int parse_duration(const char *s, fog_ms *out)
{
    int64_t ns = 0;
    if (fog_duration_parse(s, &ns) < 0 || ns / 1000000 > 1000000000000LL) {
        return -1;
    }
    *out = (fog_ms)(ns / 1000000);
    return 0;
}

/* The timeout option, else the daemon's fetch timeout; 400 answered and -1 returned on junk. */
static int timeout_option(fog_api *api, h2o_req_t *req, const api_query *q, fog_ms *out)
{
    const char *t = fog__api_query_opt(q, "timeout");
    *out = api->cfg.fetch_timeout_ms;
    if (t != NULL && parse_duration(t, out) < 0) {
        fog__api_reply_error(req, 400, "timeout \"%s\" is not a duration such as 30s", t);
        return -1;
    }
    return 0;
}

/* offset, length, timeout into j; 400 answered and -1 returned on junk. */
static int content_options(fog_api *api, h2o_req_t *req, const api_query *q, content_job *j)
{
    const char *o = fog__api_query_opt(q, "offset");
    const char *l = fog__api_query_opt(q, "length");
    j->length = UINT64_MAX;
    if ((o != NULL && parse_u64(o, &j->offset) < 0) ||
        (l != NULL && parse_u64(l, &j->length) < 0)) {
        fog__api_reply_error(req, 400, "offset and length must be unsigned integers");
        return -1;
    }
    return timeout_option(api, req, q, &j->timeout_ms);
}

/* --- The worker ---------------------------------------------------------------------------- */

static int cat_write(void *ctx, const uint8_t *p, size_t len)
{
    content_job *j = ctx;
    uv_mutex_lock(&j->mu);
    while (j->pending.len >= CAT_QUEUE_MAX && !j->gone) {
        uv_cond_wait(&j->cond, &j->mu);
    }
    int rc = j->gone ? FOG_ERR_CANCELLED : fog_buf_reserve(&j->pending, len);
    if (rc == 0) {
        /* p is lent by a store view (or a fetched copy): read from the file, not the map */
        rc = fog_store_copy_lent(j->store, fog_slice_make(p, len),
                                 j->pending.p + j->pending.len);
        j->pending.len += rc == 0 ? len : 0;
    }
    uv_mutex_unlock(&j->mu);
    uv_async_send(&j->async);
    return rc;
}

static int ls_entry(void *ctx, const fog_unixfs_entry *e)
{
    content_job *j = ctx;
    /* kubo's unixfs types: 1 directory (sharded ones too), 2 file, 4 symlink */
    uint64_t type = e->type == FOG_UNIXFS_HAMT ? FOG_UNIXFS_DIRECTORY
                    : e->type == FOG_UNIXFS_RAW ? FOG_UNIXFS_FILE : e->type;
    json_t *o = json_pack("{s:s,s:s,s:I,s:I}", "Name", e->name, "Hash", fog_cid_str(&e->cid),
                          "Size", (json_int_t)e->size, "Type", (json_int_t)type);
    if (o == NULL || json_array_append_new(j->links, o) < 0) {
        return FOG_ERR_NOMEM;
    }
    return 0;
}

/* The archive's top entry: the last element of CID[/path] (the CID when there is no path). */
static const char *top_name(char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') {
        path[--len] = '\0';
    }
    const char *slash = strrchr(path, '/');
    return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

static int work_run(content_job *j, const fog_blocksource *src)
{
    if (j->kind == JOB_CUSTOM) {
        return j->run(j->ud, src, &j->result);
    }
    fog_cid c;
    int rc = fog_unixfs_resolve(src, j->path, &c);
    if (rc < 0) {
        return rc;
    }
    j->target = c;
    j->resolved = true;
    if (j->kind == JOB_LS) {
        return fog_unixfs_ls(src, &c, ls_entry, j);
    }
    if (j->kind == JOB_GET) {
        if (j->fs != NULL) {
            fog_fetch_source_prefetch(j->fs, &c);
        }
        return fog__api_tar(src, &c, top_name(j->path), cat_write, j);
    }
    if (j->fs != NULL && j->offset == 0 && j->length == UINT64_MAX) {
        fog_fetch_source_prefetch(j->fs, &c);
    }
    return fog_unixfs_cat(src, &c, j->offset, j->length, cat_write, j);
}

static void work_cb(uv_work_t *w)
{
    content_job *j = w->data;
    fog_blocksource local;
    fog_store_view *v = NULL;
    const fog_blocksource *src = NULL;
    int rc = 0;
    fog_err_clear();
    if (j->fs != NULL) {
        src = fog_fetch_source_blocks(j->fs);
    } else if ((rc = fog_store_view_begin(j->store, &v)) == 0) {
        fog_blocksource_from_view(&local, v);
        src = &local;
    }
    if (rc == 0) {
        rc = work_run(j, src);
    }
    fog_store_view_end(v);
    uv_mutex_lock(&j->mu);
    j->finished = true;
    j->err = rc;
    if (rc < 0) {
        snprintf(j->detail, sizeof j->detail, "%s", fog_err_detail(rc));
    }
    uv_mutex_unlock(&j->mu);
    uv_async_send(&j->async);
}

/* --- The loop side ------------------------------------------------------------------------- */

/* Announces c after a fetch (best effort: a failure only means others will not find us). */
static void provide_fetched(fog_api *api, const fog_cid *c)
{
    if (api->cfg.dht == NULL || api->content_closing) {
        return;
    }
    fog_slice key = fog_cid_mh(c);
    int rc = fog_dht_provide(api->cfg.dht, &key, 1, NULL, NULL);
    if (rc < 0) {
        fog_logf(&api->cfg.log, FOG_LOG_DEBUG, "api", "provide %s: %s", fog_cid_str(c),
                 fog_err_detail(rc));
    }
}

static content_job *job_of_gen(h2o_generator_t *g)
{
    return (content_job *)(void *)((char *)g - offsetof(content_job, gen));
}

/* Hands what the worker wrote to h2o when it is ready. Must be the caller's last use of j. */
static void cat_flush(content_job *j)
{
    if (!j->started || j->sending || j->ended || j->base.req == NULL) {
        return;
    }
    uv_mutex_lock(&j->mu);
    fog_buf t = j->inflight;
    j->inflight = j->pending;
    j->pending = t;
    j->pending.len = 0;
    bool last = j->finished;
    int err = j->err;
    uv_cond_broadcast(&j->cond);
    uv_mutex_unlock(&j->mu);
    if (j->inflight.len == 0 && !last) {
        return;
    }
    h2o_send_state_t st = !last ? H2O_SEND_STATE_IN_PROGRESS
                          : err < 0 && err != FOG_ERR_CANCELLED ? H2O_SEND_STATE_ERROR
                                                                : H2O_SEND_STATE_FINAL;
    j->ended = last;
    j->sending = true;
    h2o_iovec_t iov = h2o_iovec_init(j->inflight.p, j->inflight.len);
    h2o_send(j->base.req, &iov, 1, st);
}

static void cat_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    content_job *j = job_of_gen(g);
    j->sending = false;
    j->inflight.len = 0;
    cat_flush(j);
}

static void content_stop(content_job *j)
{
    uv_mutex_lock(&j->mu);
    j->gone = true;
    uv_cond_broadcast(&j->cond);
    uv_mutex_unlock(&j->mu);
    if (j->fs != NULL) {
        fog_fetch_source_cancel(j->fs);
    }
}

static void cat_stop(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    content_stop(job_of_gen(g));
}

static void ls_reply(content_job *j, h2o_req_t *req)
{
    json_t *obj = json_pack("{s:s,s:O}", "Hash", j->path, "Links", j->links);
    j->ended = true;
    fog__api_reply_json(req, 200, json_pack("{s:[o]}", "Objects", obj));
}

static void content_async(uv_async_t *a)
{
    content_job *j = a->data;
    h2o_req_t *req = j->base.req;
    if (req == NULL || j->ended) {
        return;
    }
    uv_mutex_lock(&j->mu);
    bool finished = j->finished, any = j->pending.len > 0;
    int err = j->err;
    uv_mutex_unlock(&j->mu);
    if (j->kind == JOB_CUSTOM) {
        if (finished) {
            j->ended = true;
            json_t *res = j->result;
            j->result = NULL;
            j->after(j->ud, j, err, err < 0 ? j->detail : "", res);
        }
        return;
    }
    if (!j->started && finished && (err < 0 || j->kind == JOB_LS) && !any) {
        j->ended = true;
        if (err < 0) {
            fog__api_reply_error(req, 500, "%s", j->detail);
        } else {
            ls_reply(j, req);
        }
        return;
    }
    if (!j->started && (any || finished)) {
        fog__api_head_200(req, j->kind == JOB_GET ? "application/x-tar" : "text/plain",
                          "x-stream-output");
        j->gen.proceed = cat_proceed;
        j->gen.stop = cat_stop;
        h2o_start_response(req, &j->gen);
        j->started = true;
    }
    cat_flush(j);
}

static void content_check_closed(fog_api *api);

static void after_work(uv_work_t *w, int status)
{
    (void)status;
    content_job *j = w->data;
    fog_api *api = j->base.api;
    if (j->fs != NULL && j->resolved && j->err == 0 && j->kind != JOB_LS &&
        j->kind != JOB_CUSTOM) {
        provide_fetched(api, &j->target);
    }
    fog_fetch_source_free(j->fs);
    j->fs = NULL;
    j->working = false;
    content_async(&j->async); /* the last bytes or the answer, if not sent yet */
    j->base.outstanding--;
    fog__api_job_maybe_free(&j->base);
    content_check_closed(api);
}

static void content_closed(uv_handle_t *h)
{
    content_job *j = h->data;
    uv_mutex_destroy(&j->mu);
    uv_cond_destroy(&j->cond);
    fog_buf_clear(&j->pending);
    fog_buf_clear(&j->inflight);
    json_decref(j->links);
    json_decref(j->result);
    if (j->ud_free != NULL) {
        j->ud_free(j->ud);
    }
    free(j->path);
    free(j);
}

static void content_release(api_job *b)
{
    content_job *j = (content_job *)b;
    uv_close((uv_handle_t *)&j->async, content_closed);
}

static void content_cancel(api_job *b)
{
    content_job *j = (content_job *)b;
    content_stop(j);
}

static void req_disposed(void *p)
{
    content_job *j = *(content_job **)p;
    content_stop(j);
}

/* Makes the job and starts the worker; every failure is answered. */
static void content_start(fog_api *api, h2o_req_t *req, content_job *j)
{
    int rc = 0;
    if (api->cfg.bswap != NULL) {
        rc = fog_fetch_source_new(&j->fs, api->loop, api->cfg.bswap, api->cfg.store,
                                  api->cfg.writer, j->timeout_ms);
    }
    if (rc < 0) {
        if (j->ud_free != NULL) {
            j->ud_free(j->ud);
        }
        free(j->path);
        json_decref(j->links);
        free(j);
        fog__api_reply_error(req, 500, "%s", fog_err_detail(rc));
        return;
    }
    uv_mutex_init(&j->mu);
    uv_cond_init(&j->cond);
    uv_async_init(api->loop, &j->async, content_async);
    j->async.data = j;
    j->work.data = j;
    j->store = api->cfg.store;
    j->base.cancel = content_cancel;
    j->base.release = content_release;
    fog__api_job_attach(api, &j->base, req);
    content_job **slot = h2o_mem_alloc_shared(&req->pool, sizeof *slot, req_disposed);
    *slot = j;
    j->base.outstanding = 1;
    j->working = true;
    uv_queue_work(api->loop, &j->work, work_cb, after_work);
}

static void content_endpoint(fog_api *api, h2o_req_t *req, const api_query *q, int kind)
{
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "argument \"ipfs-path\" is required (exactly one)");
        return;
    }
    if (api->cfg.store == NULL) {
        fog__api_reply_error(req, 500, "the daemon serves no repository");
        return;
    }
    if (api->content_closing) {
        fog__api_reply_error(req, 500, "the daemon is shutting down");
        return;
    }
    content_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        fog__api_reply_error(req, 500, "out of memory");
        return;
    }
    j->kind = kind;
    if (content_options(api, req, q, j) < 0) {
        free(j);
        return;
    }
    j->path = strdup(q->arg[0]);
    j->links = kind == JOB_LS ? json_array() : NULL;
    if (j->path == NULL || (kind == JOB_LS && j->links == NULL)) {
        free(j->path);
        json_decref(j->links);
        free(j);
        fog__api_reply_error(req, 500, "out of memory");
        return;
    }
    content_start(api, req, j);
}

int fog__api_work_start(fog_api *api, h2o_req_t *req, fog_ms timeout_ms, api_work_run run,
                        api_work_after after, void *ud, void (*ud_free)(void *ud))
{
    content_job *j = NULL;
    if (api->cfg.store == NULL || api->content_closing) {
        fog__api_reply_error(req, 500, "%s", api->cfg.store == NULL
                                                 ? "the daemon serves no repository"
                                                 : "the daemon is shutting down");
    } else if ((j = calloc(1, sizeof *j)) == NULL || (j->path = strdup("")) == NULL) {
        free(j);
        j = NULL;
        fog__api_reply_error(req, 500, "out of memory");
    }
    if (j == NULL) {
        if (ud_free != NULL) {
            ud_free(ud);
        }
        return -1;
    }
    j->kind = JOB_CUSTOM;
    j->timeout_ms = timeout_ms;
    j->run = run;
    j->after = after;
    j->ud = ud;
    j->ud_free = ud_free;
    content_start(api, req, j);
    return 0;
}

h2o_req_t *fog__api_work_req(api_work *w)
{
    return w->base.req;
}

void fog__api_work_hold(api_work *w)
{
    w->base.outstanding++;
}

void fog__api_work_unhold(api_work *w)
{
    w->base.outstanding--;
    fog__api_job_maybe_free(&w->base);
}

int fog__api_timeout_option(fog_api *api, h2o_req_t *req, const api_query *q, fog_ms *out)
{
    return timeout_option(api, req, q, out);
}

void fog__api_cat(fog_api *api, h2o_req_t *req, const api_query *q)
{
    content_endpoint(api, req, q, JOB_CAT);
}

void fog__api_ls(fog_api *api, h2o_req_t *req, const api_query *q)
{
    content_endpoint(api, req, q, JOB_LS);
}

void fog__api_get(fog_api *api, h2o_req_t *req, const api_query *q)
{
    content_endpoint(api, req, q, JOB_GET);
}

/* --- refs ---------------------------------------------------------------------------------- */

typedef struct {
    api_job base;
    api_stream st;
    fog_fetch *f;
    fog_cid root;
} refs_job;

/* {"Ref", "Err"} as kubo, plus fog's "Size" (block bytes) on block lines for progress bars. */
static void refs_line(refs_job *r, const char *ref, const char *err, size_t size)
{
    fog__api_stream_line(&r->st, ref[0] != '\0' ? json_pack("{s:s,s:s,s:I}", "Ref", ref, "Err",
                                                            err, "Size", (json_int_t)size)
                                                 : json_pack("{s:s,s:s}", "Ref", ref, "Err", err));
}

static void refs_abort(refs_job *r)
{
    if (r->f != NULL) {
        fog_fetch_cancel(r->f);
        r->f = NULL;
        r->base.outstanding--;
    }
}

static void refs_stop(api_job *b)
{
    refs_abort((refs_job *)b);
}

static void refs_block(void *ud, const fog_cid *c, const uint8_t *data, size_t len,
                       uint64_t blocks, uint64_t bytes)
{
    (void)data, (void)blocks, (void)bytes;
    refs_job *r = ud;
    if (!fog_cid_eq(c, &r->root)) {
        refs_line(r, fog_cid_str(c), "", len);
        fog__api_stream_flush(&r->st);
    }
}

static void refs_done(void *ud, int err)
{
    refs_job *r = ud;
    r->f = NULL;
    r->base.outstanding--;
    if (err < 0) {
        refs_line(r, "", fog_err_detail(err), 0);
    } else {
        provide_fetched(r->base.api, &r->root);
    }
    r->st.final_queued = true;
    if (r->base.req == NULL) {
        fog__api_job_maybe_free(&r->base);
        return;
    }
    fog__api_stream_flush(&r->st);
}

static void refs_release(api_job *b)
{
    refs_job *r = (refs_job *)b;
    fog__api_stream_clear(&r->st);
    free(r);
}

static void refs_cancel(api_job *b)
{
    refs_job *r = (refs_job *)b;
    refs_abort(r);
    if (r->base.req == NULL) {
        fog__api_job_maybe_free(&r->base);
        return;
    }
    if (r->base.req != NULL && !r->st.final_sent) {
        refs_line(r, "", "the daemon is shutting down", 0);
        r->st.final_queued = true;
        fog__api_stream_flush(&r->st);
    }
}

static int refs_check(fog_api *api, h2o_req_t *req, const api_query *q, fog_cid *root)
{
    const char *rec = fog__api_query_opt(q, "recursive");
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "refs takes one CID");
        return -1;
    }
    if (rec == NULL || strcmp(rec, "true") != 0) {
        fog__api_reply_error(req, 400, "fog's refs needs recursive=true");
        return -1;
    }
    if (api->cfg.bswap == NULL) {
        fog__api_reply_error(req, 500, "refs: bitswap is off in this daemon");
        return -1;
    }
    if (api->content_closing) {
        fog__api_reply_error(req, 500, "the daemon is shutting down");
        return -1;
    }
    return fog__api_cid_arg(req, q->arg[0], root) < 0 ? -1 : 0;
}

void fog__api_refs(fog_api *api, h2o_req_t *req, const api_query *q)
{
    fog_cid root;
    fog_ms tmo = 0;
    if (refs_check(api, req, q, &root) < 0 || timeout_option(api, req, q, &tmo) < 0) {
        return;
    }
    refs_job *r = calloc(1, sizeof *r);
    if (r == NULL) {
        fog__api_reply_error(req, 500, "out of memory");
        return;
    }
    r->root = root;
    fog_fetch_config cfg = {.timeout_ms = tmo, .writer = api->cfg.writer, .block = refs_block,
                            .done = refs_done, .ud = r};
    int rc = fog_fetch_dag(&r->f, api->loop, api->cfg.bswap, &root, &cfg);
    if (rc < 0) {
        free(r);
        fog__api_reply_error(req, 500, "%s", fog_err_detail(rc));
        return;
    }
    r->base.cancel = refs_cancel;
    r->base.release = refs_release;
    fog__api_job_attach(api, &r->base, req);
    r->base.outstanding = 1;
    fog__api_stream_start(&r->st, &r->base, refs_stop);
}

/* --- Closing ------------------------------------------------------------------------------- */

static bool content_busy(const fog_api *api)
{
    for (const api_job *b = api->jobs; b != NULL; b = b->next) {
        if (b->release == content_release && ((const content_job *)b)->working) {
            return true;
        }
    }
    return false;
}

static void content_check_closed(fog_api *api)
{
    if (!api->content_closing || api->content_done == NULL || content_busy(api)) {
        return;
    }
    void (*done)(void *) = api->content_done;
    api->content_done = NULL;
    done(api->content_done_ud);
}

typedef struct {
    uv_timer_t t;
    fog_api *api;
} close_defer;

static void close_defer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void close_defer_cb(uv_timer_t *t)
{
    close_defer *d = t->data;
    content_check_closed(d->api);
    uv_close((uv_handle_t *)t, close_defer_closed);
}

void fog_api_content_close(fog_api *api, void (*done)(void *ud), void *ud)
{
    fog__api_republisher_stop(api); /* it uses the DHT, which goes next */
    api->content_closing = true;
    api->content_done = done;
    api->content_done_ud = ud;
    for (api_job *b = api->jobs, *next = NULL; b != NULL; b = next) {
        next = b->next;
        if (b->release == content_release) {
            content_stop((content_job *)b);
        } else if (b->release == refs_release) {
            refs_cancel(b); /* may free the job: next was taken first */
        }
    }
    close_defer *d = malloc(sizeof *d);
    if (d == NULL) {
        content_check_closed(api); /* out of memory: done now rather than never */
        return;
    }
    d->api = api;
    uv_timer_init(api->loop, &d->t);
    d->t.data = d;
    uv_timer_start(&d->t, close_defer_cb, 0, 0); /* done never runs inside this call */
}

/* --- stats/bw ------------------------------------------------------------------------------ */

/* The rate is measured between two calls (at most 60 s apart; 0 on the first): one API per
 * process, called on the loop only, so the last sample is kept here. */
static struct {
    uint64_t ms, in, out;
} bw_last;

static json_t *bw_object(uint64_t in, uint64_t out, double rin, double rout)
{
    return json_pack("{s:I,s:I,s:f,s:f}", "TotalIn", (json_int_t)in, "TotalOut",
                     (json_int_t)out, "RateIn", rin, "RateOut", rout);
}

void fog__api_stats_bw(fog_api *api, h2o_req_t *req, const api_query *q)
{
    const char *proto = fog__api_query_opt(q, "proto");
    const char *all = fog__api_query_opt(q, "all");
    fog_proto_bytes pb[64];
    size_t n = fog_node_proto_bytes(api->node, pb, 64);
    n = n < 64 ? n : 64;
    if (proto != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(pb[i].protocol, proto) == 0) {
                fog__api_reply_json(req, 200, bw_object(pb[i].bytes_in, pb[i].bytes_out, 0, 0));
                return;
            }
        }
        fog__api_reply_json(req, 200, bw_object(0, 0, 0, 0));
        return;
    }
    fog_node_stats st;
    fog_node_get_stats(api->node, &st);
    uint64_t now = uv_now(api->loop);
    double rin = 0, rout = 0;
    if (bw_last.ms != 0 && now > bw_last.ms && now - bw_last.ms <= 60000 &&
        st.bytes_in >= bw_last.in && st.bytes_out >= bw_last.out) {
        double secs = (double)(now - bw_last.ms) / 1000.0;
        rin = (double)(st.bytes_in - bw_last.in) / secs;
        rout = (double)(st.bytes_out - bw_last.out) / secs;
    }
    bw_last.ms = now;
    bw_last.in = st.bytes_in;
    bw_last.out = st.bytes_out;
    json_t *o = bw_object(st.bytes_in, st.bytes_out, rin, rout);
    if (all != NULL && strcmp(all, "true") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(arr, json_pack("{s:s,s:I,s:I}", "Protocol", pb[i].protocol,
                                                 "TotalIn", (json_int_t)pb[i].bytes_in,
                                                 "TotalOut", (json_int_t)pb[i].bytes_out));
        }
        json_object_set_new(o, "Protocols", arr);
    }
    fog__api_reply_json(req, 200, o);
}
