/* fetch.c: whole-DAG fetches and the blocking block source over bitswap sessions (fog/fetch.h).
 * fog_fetch keeps a stack of discovered CIDs (links pushed in reverse so the first link is
 * wanted next: depth-first pre-order) and at most cfg.window wants outstanding in its session;
 * a seen set of multihashes wants each block once, a got set remembers what arrived (the block
 * source asks it). The end waits for a writer barrier (an empty job queued after bitswap's
 * puts: batches commit in order) so the blocks are durable when done runs.
 * fog_fetch_source: the worker posts one request at a time (the exporter reads one block at a
 * time) under the mutex and wakes the loop with a uv_async; the loop answers from the prefetch
 * (outstanding there: wait for it; already arrived: barrier, then the worker re-reads a fresh
 * view) or with a want in the source's own session. Answers carry the request's generation so
 * a late answer to an abandoned (timed out) request is dropped.
 */
#include "fog/fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_STACK_MAX (64u << 20) /* CIDs discovered and not wanted yet */

struct fog_fetch {
    uv_loop_t *loop;
    fog_bswap *b;
    fog_bswap_session *s;
    fog_fetch_config cfg;
    fog_cid root;
    fog_set seen, got;
    fog_cid *stack;
    size_t n_stack, cap_stack;
    fog_cid *out;          /* outstanding wants (at most window) */
    size_t n_out;
    uint64_t blocks, bytes;
    uv_timer_t timer;      /* timeout, then the deferred end */
    int err;
    char detail[320];      /* the error's detail line, kept for done */
    bool ending;           /* done scheduled (or barrier queued) */
    bool cancelled;
    bool barrier;          /* a writer job of ours is out */
    bool timer_closed;
    bool done_called;
};

static void fetch_try_free(fog_fetch *f)
{
    if (!f->timer_closed || f->barrier) {
        return;
    }
    fog_set_clear(&f->seen);
    fog_set_clear(&f->got);
    free(f->stack);
    free(f->out);
    free(f);
}

static void fetch_timer_closed(uv_handle_t *h)
{
    fog_fetch *f = h->data;
    f->timer_closed = true;
    fetch_try_free(f);
}

/* Frees the session (no callback after) and closes the timer; memory goes when both are back. */
static void fetch_teardown(fog_fetch *f)
{
    fog_bswap_session_free(f->s);
    f->s = NULL;
    uv_timer_stop(&f->timer);
    uv_close((uv_handle_t *)&f->timer, fetch_timer_closed);
}

static void fetch_end_cb(uv_timer_t *t)
{
    fog_fetch *f = t->data;
    int err = f->err;
    if (err < 0 && err != FOG_ERR_TIMEOUT) {
        fog_errf(err, "fetching %s: %s", fog_cid_str(&f->root), f->detail);
    } else if (err == FOG_ERR_TIMEOUT) {
        fog_errf(err, "fetching %s: block %s not found in time (%llu blocks fetched)",
                 fog_cid_str(&f->root), f->n_out > 0 ? fog_cid_str(&f->out[0]) : "?",
                 (unsigned long long)f->blocks);
    }
    f->done_called = true;
    fetch_teardown(f);
    if (f->cfg.done != NULL) {
        f->cfg.done(f->cfg.ud, err);
    }
}

/* Schedules done(err) on the loop (never from inside the caller). */
static void fetch_finish(fog_fetch *f, int err)
{
    if (f->ending) {
        return;
    }
    f->ending = true;
    f->err = err;
    if (err < 0) {
        snprintf(f->detail, sizeof f->detail, "%s", fog_err_detail(err));
    }
    uv_timer_stop(&f->timer);
    uv_timer_start(&f->timer, fetch_end_cb, 0, 0);
}

static int barrier_fn(void *ud, fog_store_batch *b)
{
    (void)ud;
    (void)b;
    return 0;
}

static void barrier_done(void *ud, int err)
{
    fog_fetch *f = ud;
    f->barrier = false;
    if (f->cancelled) {
        fetch_try_free(f);
        return;
    }
    f->ending = false;
    fetch_finish(f, err);
}

/* Every block is in: wait for the writer to commit them, then end. */
static void fetch_complete(fog_fetch *f)
{
    if (f->cfg.writer == NULL) {
        fetch_finish(f, 0);
        return;
    }
    f->ending = true;
    f->barrier = true;
    int rc = fog_store_writer_submit(f->cfg.writer, barrier_fn, barrier_done, f);
    if (rc < 0) {
        f->barrier = false;
        f->ending = false;
        fetch_finish(f, rc);
    }
}

static int push_link(void *ctx, const fog_cid *c)
{
    fog_fetch *f = ctx;
    fog_slice mh = fog_cid_mh(c);
    int rc = fog_set_add(&f->seen, mh.p, mh.len);
    if (rc <= 0) {
        return rc;
    }
    if (f->n_stack == f->cap_stack) {
        size_t cap = f->cap_stack == 0 ? 64 : f->cap_stack * 2;
        if (cap > FETCH_STACK_MAX / sizeof(fog_cid)) {
            return fog_errf(FOG_ERR_LIMIT, "DAG under %s is too wide", fog_cid_str(&f->root));
        }
        fog_cid *n = realloc(f->stack, cap * sizeof *n);
        if (n == NULL) {
            return FOG_ERR_NOMEM;
        }
        f->stack = n;
        f->cap_stack = cap;
    }
    f->stack[f->n_stack++] = *c;
    return 0;
}

/* Pushes c's links so that the first link is on top. */
static int push_links(fog_fetch *f, const fog_cid *c, fog_slice data)
{
    size_t base = f->n_stack;
    int rc = fog_dag_links(c, data, push_link, f);
    if (rc == FOG_ERR_UNSUPPORTED) {
        return 0; /* a codec fog cannot read: kept as a leaf */
    }
    if (rc < 0) {
        return rc;
    }
    for (size_t i = base, j = f->n_stack; i + 1 < j; i++, j--) {
        fog_cid t = f->stack[i];
        f->stack[i] = f->stack[j - 1];
        f->stack[j - 1] = t;
    }
    return 0;
}

static void out_remove(fog_fetch *f, const fog_cid *c)
{
    for (size_t i = 0; i < f->n_out; i++) {
        if (fog_cid_eq(&f->out[i], c)) {
            f->out[i] = f->out[--f->n_out];
            return;
        }
    }
}

static void pump(fog_fetch *f);

/* A block of the DAG is here (from bitswap, or read from the CID for identity). */
static int fetch_got(fog_fetch *f, const fog_cid *c, const uint8_t *data, size_t len)
{
    fog_slice mh = fog_cid_mh(c);
    int rc = fog_set_add(&f->got, mh.p, mh.len);
    if (rc < 0) {
        return rc;
    }
    f->blocks++;
    f->bytes += len;
    if (f->cfg.block != NULL) {
        f->cfg.block(f->cfg.ud, c, data, len, f->blocks, f->bytes);
    }
    return push_links(f, c, fog_slice_make(data, len));
}

static void on_block(void *ud, int err, const fog_cid *c, const uint8_t *data, size_t len)
{
    fog_fetch *f = ud;
    out_remove(f, c);
    if (f->ending) {
        return;
    }
    if (err == 0) {
        err = fetch_got(f, c, data, len);
    }
    if (err < 0) {
        fetch_finish(f, err);
        return;
    }
    pump(f);
}

static void pump(fog_fetch *f)
{
    while (!f->ending && f->n_out < f->cfg.window && f->n_stack > 0) {
        fog_cid c = f->stack[--f->n_stack];
        int rc;
        if (c.mh_code == FOG_MC_IDENTITY) {
            fog_slice d = fog_cid_digest(&c);
            rc = fetch_got(f, &c, d.p, d.len);
        } else {
            f->out[f->n_out++] = c;
            rc = fog_bswap_session_want(f->s, &c, on_block, f);
            if (rc < 0) {
                f->n_out--;
            }
        }
        if (rc < 0) {
            fetch_finish(f, rc);
            return;
        }
    }
    if (!f->ending && f->n_out == 0 && f->n_stack == 0) {
        fetch_complete(f);
    }
}

static void fetch_timeout(uv_timer_t *t)
{
    fog_fetch *f = t->data;
    fetch_finish(f, FOG_ERR_TIMEOUT);
}

static void fetch_start_cb(uv_timer_t *t)
{
    fog_fetch *f = t->data;
    if (f->cfg.timeout_ms > 0) {
        uv_timer_start(&f->timer, fetch_timeout, f->cfg.timeout_ms, 0);
    }
    pump(f);
}

int fog_fetch_dag(fog_fetch **out, uv_loop_t *loop, fog_bswap *b, const fog_cid *root,
                  const fog_fetch_config *cfg)
{
    fog_fetch *f = calloc(1, sizeof *f);
    if (f == NULL) {
        return FOG_ERR_NOMEM;
    }
    f->cfg = *cfg;
    if (f->cfg.window == 0) {
        f->cfg.window = FOG_FETCH_WINDOW_DEFAULT;
    }
    f->loop = loop;
    f->b = b;
    f->root = *root;
    f->out = calloc(f->cfg.window, sizeof *f->out);
    int rc = f->out == NULL ? FOG_ERR_NOMEM : fog_bswap_session_new(b, &f->s);
    if (rc == 0) {
        rc = push_link(f, root);
    }
    if (rc < 0) {
        fog_bswap_session_free(f->s);
        fog_set_clear(&f->seen);
        free(f->stack);
        free(f->out);
        free(f);
        return rc;
    }
    uv_timer_init(loop, &f->timer);
    f->timer.data = f;
    uv_timer_start(&f->timer, fetch_start_cb, 0, 0); /* deferred: no callback inside this call */
    if (out != NULL) {
        *out = f;
    }
    return 0;
}

void fog_fetch_cancel(fog_fetch *f)
{
    if (f == NULL || f->done_called || f->cancelled) {
        return;
    }
    f->cancelled = true;
    fetch_teardown(f);
}

void fog_fetch_get_stats(const fog_fetch *f, fog_fetch_stats *out)
{
    out->blocks = f->blocks;
    out->bytes = f->bytes;
    out->inflight = f->n_out;
    out->queued = f->n_stack;
}

/* Internal to this file: where the prefetch stands for c. */
static bool fetch_wants(const fog_fetch *f, const fog_cid *c)
{
    for (size_t i = 0; i < f->n_out; i++) {
        if (fog_cid_eq(&f->out[i], c)) {
            return true;
        }
    }
    return false;
}

static bool fetch_has(const fog_fetch *f, const fog_cid *c)
{
    fog_slice mh = fog_cid_mh(c);
    return fog_set_has(&f->got, mh.p, mh.len);
}

/* --- The blocking source ------------------------------------------------------------------ */

enum { REQ_NONE, REQ_WAITING, REQ_READY, REQ_RETRY, REQ_FAILED };

struct fog_fetch_source {
    uv_loop_t *loop;
    fog_bswap *b;
    fog_bswap_session *s;
    fog_store *store;
    fog_store_writer *writer;
    fog_ms timeout_ms;
    fog_blocksource src;
    uv_async_t async;
    uv_mutex_t mu;
    uv_cond_t cond;
    /* shared, under mu */
    bool posted;           /* a request the loop has not taken yet */
    int state;             /* REQ_* of the current request */
    int req_err;
    uint64_t gen;          /* generation of the current request */
    fog_cid req_cid;
    uint8_t *data;         /* handed-over bytes; the worker's while it holds the block */
    size_t len, cap;
    bool prefetch_asked;
    fog_cid prefetch_root;
    bool cancelled;
    /* worker only */
    fog_store_view *view;
    fog_slice lent;        /* the block view lent last; its pages are given back at the next */
    /* loop only */
    fog_fetch *prefetch;
    bool prefetch_started, prefetch_over;
    uint64_t loop_gen;     /* the request the loop works on */
    fog_cid loop_cid;
    bool loop_wait_prefetch;
    bool want_active;
    int jobs;              /* writer barriers out */
    bool closing, async_closed;
};

/* Loop: answers request gen (if still current) with bytes, a retry, or an error. */
static void src_answer(fog_fetch_source *fs, uint64_t gen, int state, int err,
                       const uint8_t *data, size_t len)
{
    uv_mutex_lock(&fs->mu);
    if (fs->state == REQ_WAITING && fs->gen == gen) {
        if (state == REQ_READY && len > fs->cap) {
            uint8_t *n = realloc(fs->data, len);
            if (n == NULL) {
                state = REQ_FAILED;
                err = FOG_ERR_NOMEM;
            } else {
                fs->data = n;
                fs->cap = len;
            }
        }
        if (state == REQ_READY && len > 0) {
            memcpy(fs->data, data, len);
        }
        fs->len = len;
        fs->state = state;
        fs->req_err = err;
        uv_cond_broadcast(&fs->cond);
    }
    uv_mutex_unlock(&fs->mu);
}

static void src_view_end(fog_fetch_source *fs);

static void src_try_free(fog_fetch_source *fs)
{
    if (!fs->async_closed || fs->jobs > 0) {
        return;
    }
    src_view_end(fs);
    uv_cond_destroy(&fs->cond);
    uv_mutex_destroy(&fs->mu);
    free(fs->data);
    free(fs);
}

static void src_want_cb(void *ud, int err, const fog_cid *c, const uint8_t *data, size_t len)
{
    fog_fetch_source *fs = ud;
    if (!fog_cid_eq(c, &fs->loop_cid)) {
        return;
    }
    fs->want_active = false;
    src_answer(fs, fs->loop_gen, err == 0 ? REQ_READY : REQ_FAILED, err, data, len);
}

static void src_prefetch_block(void *ud, const fog_cid *c, const uint8_t *data, size_t len,
                               uint64_t blocks, uint64_t bytes)
{
    (void)blocks;
    (void)bytes;
    fog_fetch_source *fs = ud;
    if (fs->loop_wait_prefetch && fog_cid_eq(c, &fs->loop_cid)) {
        fs->loop_wait_prefetch = false;
        src_answer(fs, fs->loop_gen, REQ_READY, 0, data, len);
    }
}

static void src_prefetch_done(void *ud, int err)
{
    fog_fetch_source *fs = ud;
    fs->prefetch = NULL;
    fs->prefetch_over = true;
    if (err < 0) {
        fog_logf(NULL, FOG_LOG_DEBUG, "fetch", "prefetch ended: %s", fog_err_detail(err));
    }
    if (fs->loop_wait_prefetch && !fs->closing) {
        /* The prefetch stopped before the block came: want it ourselves. */
        fs->loop_wait_prefetch = false;
        fs->want_active = true;
        int rc = fog_bswap_session_want(fs->s, &fs->loop_cid, src_want_cb, fs);
        if (rc < 0) {
            fs->want_active = false;
            src_answer(fs, fs->loop_gen, REQ_FAILED, rc, NULL, 0);
        }
    }
}

typedef struct {
    fog_fetch_source *fs;
    uint64_t gen;
} src_barrier;

static void src_barrier_done(void *ud, int err)
{
    src_barrier *sb = ud;
    fog_fetch_source *fs = sb->fs;
    fs->jobs--;
    if (!fs->closing) {
        src_answer(fs, sb->gen, err == 0 ? REQ_RETRY : REQ_FAILED, err, NULL, 0);
    }
    free(sb);
    src_try_free(fs);
}

/* Loop: the prefetch already got c: let the worker re-read it once the writer committed. */
static int src_barrier_start(fog_fetch_source *fs)
{
    if (fs->writer == NULL) {
        src_answer(fs, fs->loop_gen, REQ_RETRY, 0, NULL, 0);
        return 0;
    }
    src_barrier *sb = malloc(sizeof *sb);
    if (sb == NULL) {
        return FOG_ERR_NOMEM;
    }
    sb->fs = fs;
    sb->gen = fs->loop_gen;
    int rc = fog_store_writer_submit(fs->writer, barrier_fn, src_barrier_done, sb);
    if (rc < 0) {
        free(sb);
        return rc;
    }
    fs->jobs++;
    return 0;
}

/* Loop: works on the worker's request for c. */
static void src_serve(fog_fetch_source *fs, const fog_cid *c, uint64_t gen)
{
    if (fs->want_active) {
        fog_bswap_session_cancel(fs->s, &fs->loop_cid);
        fs->want_active = false;
    }
    fs->loop_gen = gen;
    fs->loop_cid = *c;
    fs->loop_wait_prefetch = false;
    int rc = 0;
    if (fs->prefetch != NULL && fetch_wants(fs->prefetch, c)) {
        fs->loop_wait_prefetch = true;
    } else if (fs->prefetch != NULL && fetch_has(fs->prefetch, c)) {
        rc = src_barrier_start(fs);
    } else {
        fs->want_active = true;
        rc = fog_bswap_session_want(fs->s, c, src_want_cb, fs);
        if (rc < 0) {
            fs->want_active = false;
        }
    }
    if (rc < 0) {
        src_answer(fs, gen, REQ_FAILED, rc, NULL, 0);
    }
}

static void src_start_prefetch(fog_fetch_source *fs, const fog_cid *root)
{
    fog_fetch_config cfg = {.writer = fs->writer,
                            .block = src_prefetch_block,
                            .done = src_prefetch_done,
                            .ud = fs};
    fs->prefetch_started = true;
    if (fog_fetch_dag(&fs->prefetch, fs->loop, fs->b, root, &cfg) < 0) {
        fs->prefetch = NULL; /* reads still work, one block at a time */
    }
}

static void src_async(uv_async_t *a)
{
    fog_fetch_source *fs = a->data;
    if (fs->closing) {
        return;
    }
    uv_mutex_lock(&fs->mu);
    bool posted = fs->posted && fs->state == REQ_WAITING;
    fs->posted = false;
    fog_cid c = fs->req_cid;
    uint64_t gen = fs->gen;
    bool pre = fs->prefetch_asked && !fs->prefetch_started;
    fog_cid root = fs->prefetch_root;
    uv_mutex_unlock(&fs->mu);
    if (pre) {
        src_start_prefetch(fs, &root);
    }
    if (posted) {
        src_serve(fs, &c, gen);
    }
}

/* Worker: reads c from a fresh view; 0 with *out lent, FOG_ERR_NOT_FOUND, or another error. */
/* Ends the view, giving back the pages of the block it lent last: a cat of a large file would
 * otherwise keep every page it read from the map in our resident set. */
static void src_view_end(fog_fetch_source *fs)
{
    if (fs->view != NULL && fs->lent.len > 0) {
        fog_store_view_release(fs->view, fs->lent);
    }
    fs->lent = fog_slice_make(NULL, 0);
    fog_store_view_end(fs->view);
    fs->view = NULL;
}

static int src_read_view(fog_fetch_source *fs, const fog_cid *c, fog_slice *out)
{
    src_view_end(fs);
    int rc = fog_store_view_begin(fs->store, &fs->view);
    if (rc < 0) {
        return rc;
    }
    rc = fog_store_view_get(fs->view, c, out);
    if (rc < 0) {
        src_view_end(fs);
    } else {
        fs->lent = *out;
    }
    return rc;
}

/* Worker: waits (under mu) for the loop's answer to the current request. */
static int src_wait(fog_fetch_source *fs)
{
    uint64_t deadline = fs->timeout_ms > 0 ? uv_hrtime() + fs->timeout_ms * 1000000u : 0;
    while (fs->state == REQ_WAITING && !fs->cancelled) {
        if (deadline == 0) {
            uv_cond_wait(&fs->cond, &fs->mu);
            continue;
        }
        uint64_t now = uv_hrtime();
        if (now >= deadline ||
            uv_cond_timedwait(&fs->cond, &fs->mu, deadline - now) == UV_ETIMEDOUT) {
            if (fs->state == REQ_WAITING) {
                return FOG_ERR_TIMEOUT;
            }
        }
    }
    if (fs->cancelled && fs->state == REQ_WAITING) {
        return FOG_ERR_CANCELLED;
    }
    return 0;
}

/* Worker: asks the loop for c and waits; the result is the request's state. */
static int src_ask(fog_fetch_source *fs, const fog_cid *c, int *err)
{
    uv_mutex_lock(&fs->mu);
    if (fs->cancelled) {
        uv_mutex_unlock(&fs->mu);
        *err = FOG_ERR_CANCELLED;
        return REQ_FAILED;
    }
    fs->gen++;
    fs->req_cid = *c;
    fs->state = REQ_WAITING;
    fs->posted = true;
    uv_mutex_unlock(&fs->mu);
    uv_async_send(&fs->async);
    uv_mutex_lock(&fs->mu);
    int rc = src_wait(fs);
    int state = fs->state;
    *err = fs->req_err;
    if (rc < 0) {
        fs->state = REQ_NONE; /* abandoned: a late answer is dropped */
        state = REQ_FAILED;
        *err = rc;
    }
    uv_mutex_unlock(&fs->mu);
    return state;
}

static int src_get(void *ctx, const fog_cid *c, fog_slice *out)
{
    fog_fetch_source *fs = ctx;
    int rc = src_read_view(fs, c, out);
    if (rc != FOG_ERR_NOT_FOUND) {
        return rc;
    }
    int err = 0;
    int state = src_ask(fs, c, &err);
    if (state == REQ_READY) {
        *out = fog_slice_make(fs->data, fs->len);
        return 0;
    }
    if (state == REQ_RETRY) {
        rc = src_read_view(fs, c, out);
        return rc == FOG_ERR_NOT_FOUND
                   ? fog_errf(rc, "block %s is missing after it was fetched", fog_cid_str(c))
                   : rc;
    }
    if (err == FOG_ERR_TIMEOUT) {
        return fog_errf(err, "block %s not found within %llu s", fog_cid_str(c),
                        (unsigned long long)((fs->timeout_ms + 999) / 1000));
    }
    if (err == FOG_ERR_CANCELLED) {
        return fog_errf(err, "fetching block %s: cancelled", fog_cid_str(c));
    }
    return fog_errf(err < 0 ? err : FOG_ERR_NOT_FOUND, "fetching block %s: %s", fog_cid_str(c),
                    fog_strerror(err < 0 ? err : FOG_ERR_NOT_FOUND));
}

int fog_fetch_source_new(fog_fetch_source **out, uv_loop_t *loop, fog_bswap *b,
                         fog_store *store, fog_store_writer *writer, fog_ms timeout_ms)
{
    fog_fetch_source *fs = calloc(1, sizeof *fs);
    if (fs == NULL) {
        return FOG_ERR_NOMEM;
    }
    int rc = fog_bswap_session_new(b, &fs->s);
    if (rc < 0) {
        free(fs);
        return rc;
    }
    if (uv_mutex_init(&fs->mu) != 0 || uv_cond_init(&fs->cond) != 0 ||
        uv_async_init(loop, &fs->async, src_async) != 0) {
        abort(); /* libuv fails these only when the system is out of resources */
    }
    fs->async.data = fs;
    fs->loop = loop;
    fs->b = b;
    fs->store = store;
    fs->writer = writer;
    fs->timeout_ms = timeout_ms;
    fs->src.get = src_get;
    fs->src.ctx = fs;
    fs->src.trusted = true; /* store blocks and bitswap's were both checked on entry */
    *out = fs;
    return 0;
}

const fog_blocksource *fog_fetch_source_blocks(fog_fetch_source *fs)
{
    return &fs->src;
}

void fog_fetch_source_prefetch(fog_fetch_source *fs, const fog_cid *root)
{
    uv_mutex_lock(&fs->mu);
    bool ask = !fs->prefetch_asked;
    if (ask) {
        fs->prefetch_asked = true;
        fs->prefetch_root = *root;
    }
    uv_mutex_unlock(&fs->mu);
    if (ask) {
        uv_async_send(&fs->async);
    }
}

void fog_fetch_source_cancel(fog_fetch_source *fs)
{
    uv_mutex_lock(&fs->mu);
    fs->cancelled = true;
    uv_cond_broadcast(&fs->cond);
    uv_mutex_unlock(&fs->mu);
}

static void src_async_closed(uv_handle_t *h)
{
    fog_fetch_source *fs = h->data;
    fs->async_closed = true;
    src_try_free(fs);
}

void fog_fetch_source_free(fog_fetch_source *fs)
{
    if (fs == NULL) {
        return;
    }
    fs->closing = true;
    fog_fetch_cancel(fs->prefetch);
    fs->prefetch = NULL;
    fog_bswap_session_free(fs->s);
    fs->s = NULL;
    uv_close((uv_handle_t *)&fs->async, src_async_closed);
}
