/* writer.c: the store writer (storew.h): write jobs from the loop run on libuv's thread pool, all
 * the jobs queued since the last batch in one fog_store_batch, one batch at a time.
 * The queue belongs to the loop thread. When a batch starts, the loop moves the whole queue to
 * the running list and hands it to uv_queue_work; the pool thread only reads that list (and the
 * jobs' own memory), and the loop touches it again in the after-work callback, which libuv runs
 * after the work function returned. So no lock is needed: ownership moves with the work request.
 * Close is a batch like any other (possibly empty): its after-work callback finds the queue
 * empty and calls the close callback, so close's callback is deferred as the contract says.
 */
#include "fog/storew.h"

#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct job job;
struct job {
    job *next;
    fog_store_write_fn fn;   /* NULL for a put */
    fog_store_written_fn done;
    void *ud;
    fog_cid cid;             /* puts */
    size_t len;              /* puts: bytes of data */
    uint8_t data[];          /* puts */
};

struct fog_store_writer {
    uv_loop_t *loop;
    fog_store *store;
    uv_work_t work;
    job *queue, **queue_tail;  /* loop-owned */
    job *running;              /* handed to the pool while busy */
    int batch_err;             /* written by the pool, read in after-work */
    bool busy;
    bool closing;
    void (*close_done)(void *ud);
    void *close_ud;
    size_t pending_bytes;
    fog_store_writer_stats stats;
};

int fog_store_writer_new(fog_store_writer **out, uv_loop_t *loop, fog_store *s)
{
    *out = NULL;
    if (loop == NULL || s == NULL) {
        return fog_errf(FOG_ERR_INVALID, "store writer: no loop or store");
    }
    int rc = fog__store_need_write(s);
    if (rc < 0) {
        return rc;
    }
    fog_store_writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return fog_errf(FOG_ERR_NOMEM, "out of memory for the store writer");
    }
    w->loop = loop;
    w->store = s;
    w->queue_tail = &w->queue;
    w->work.data = w;
    *out = w;
    return 0;
}

/* Pool thread: every job of the running list in one batch. */
static void batch_work(uv_work_t *req)
{
    fog_store_writer *w = req->data;
    w->batch_err = 0;
    if (w->running == NULL) {
        return;
    }
    fog_store_batch *b = NULL;
    int rc = fog_store_batch_begin(w->store, &b);
    for (job *j = w->running; rc == 0 && j != NULL; j = j->next) {
        rc = j->fn != NULL ? j->fn(j->ud, b) : fog_store_batch_put(b, &j->cid, j->data, j->len);
    }
    if (rc < 0) {
        fog_store_batch_abort(b);
    } else {
        rc = fog_store_batch_commit(b);
    }
    w->batch_err = rc < 0 ? rc : 0;
}

static void batch_after(uv_work_t *req, int status);

/* Starts the next batch when none runs and there is a queue (or a close to complete). */
static void kick(fog_store_writer *w)
{
    if (w->busy || (w->queue == NULL && !w->closing)) {
        return;
    }
    w->running = w->queue;
    w->queue = NULL;
    w->queue_tail = &w->queue;
    w->busy = true;
    if (uv_queue_work(w->loop, &w->work, batch_work, batch_after) != 0) {
        /* libuv refuses only invalid arguments: finish the batch here as failed. */
        w->batch_err = fog_errf(FOG_ERR_IO, "store writer: cannot queue work");
        batch_after(&w->work, 0);
    }
}

static void batch_after(uv_work_t *req, int status)
{
    fog_store_writer *w = req->data;
    int err = status < 0 ? FOG_ERR_CANCELLED : w->batch_err;
    job *list = w->running;
    w->running = NULL;
    w->busy = false;
    if (list != NULL) {
        w->stats.batches += err == 0;
        w->stats.failures += err != 0;
    }
    while (list != NULL) {
        job *j = list;
        list = j->next;
        w->pending_bytes -= j->len;
        w->stats.jobs++;
        w->stats.bytes += j->fn == NULL && err == 0 ? j->len : 0;
        if (j->done != NULL) {
            j->done(j->ud, err);
        }
        free(j);
    }
    if (w->closing && w->queue == NULL) {
        void (*done)(void *) = w->close_done;
        w->close_done = NULL;
        if (done != NULL) {
            done(w->close_ud);
        }
        return;
    }
    kick(w);
}

static int enqueue(fog_store_writer *w, job *j)
{
    if (w->closing) {
        free(j);
        return fog_errf(FOG_ERR_CANCELLED, "the store writer is closing");
    }
    *w->queue_tail = j;
    w->queue_tail = &j->next;
    w->pending_bytes += j->len;
    kick(w);
    return 0;
}

int fog_store_writer_submit(fog_store_writer *w, fog_store_write_fn fn, fog_store_written_fn done,
                            void *ud)
{
    if (fn == NULL) {
        return fog_errf(FOG_ERR_INVALID, "store writer: a job without work");
    }
    job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        return fog_errf(FOG_ERR_NOMEM, "out of memory for a store job");
    }
    j->fn = fn;
    j->done = done;
    j->ud = ud;
    return enqueue(w, j);
}

int fog_store_writer_put(fog_store_writer *w, const fog_cid *c, const uint8_t *data, size_t len,
                         fog_store_written_fn done, void *ud)
{
    if (len > FOG_STORE_BATCH_BYTES) {
        return fog_errf(FOG_ERR_LIMIT, "store writer: a %zu-byte block is too large", len);
    }
    job *j = malloc(sizeof *j + len);
    if (j == NULL) {
        return fog_errf(FOG_ERR_NOMEM, "out of memory for a %zu-byte block", len);
    }
    memset(j, 0, sizeof *j);
    j->done = done;
    j->ud = ud;
    j->cid = *c;
    j->len = len;
    if (len > 0) {
        memcpy(j->data, data, len);
    }
    return enqueue(w, j);
}

size_t fog_store_writer_pending_bytes(const fog_store_writer *w)
{
    return w->pending_bytes;
}

void fog_store_writer_close(fog_store_writer *w, void (*done)(void *ud), void *ud)
{
    if (w->closing) {
        return;
    }
    w->closing = true;
    w->close_done = done;
    w->close_ud = ud;
    kick(w); /* an empty batch when idle, so done is deferred to the after-work callback */
}

void fog_store_writer_free(fog_store_writer *w)
{
    if (w == NULL) {
        return;
    }
    for (job *j = w->queue; j != NULL;) {
        job *next = j->next;
        free(j);
        j = next;
    }
    free(w);
}

void fog_store_writer_get_stats(const fog_store_writer *w, fog_store_writer_stats *out)
{
    *out = w->stats;
}
