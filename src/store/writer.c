/* writer.c: the store writer (storew.h): write jobs from the loop run on libuv's thread pool, all
 * the jobs queued since the last batch in one fog_store_batch, one batch at a time.
 * The queue belongs to the loop thread. When a batch starts, the loop moves the whole queue to
 * the running list and hands it to uv_queue_work; the pool thread only reads that list (and the
 * jobs' own memory), and the loop touches it again in the after-work callback, which libuv runs
 * after the work function returned. So no lock is needed: ownership moves with the work request.
 * Close is a batch like any other (possibly empty): its after-work callback finds the queue
 * empty and calls the close callback, so close's callback is deferred as the contract says.
 * Durability with one flush per batch instead of two: LMDB's durable commit fdatasyncs the data
 * pages, then writes the meta page through an O_DSYNC descriptor, a second flush to the disk
 * (on the VMs fog is measured on, the two cost more than the rest of the batch). The writer
 * commits with the meta page written but not synced (fog__store_batch_commit_lazy; the
 * database stays intact on power loss, at worst one transaction older), and a job's done waits
 * until that meta page is durable too: the next batch's fdatasync flushes it (the file's dirty
 * pages, meta included), and when no batch follows, a bare sync runs at once. So done still
 * means "committed durably", a steady stream of fetched blocks costs one flush per batch, and
 * its jobs' done comes one batch later. Measured on a 256 MiB fetch over loopback (about 100
 * batches): the O_DSYNC meta writes, about 0.07 s of the writer's 0.5 s of flushing, are gone,
 * and the fetch went from 261 to 276 MB/s (medians of 6 rounds).
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
    job *unsynced, **unsynced_tail; /* loop-owned: committed, meta page not durable yet */
    bool syncing;              /* the work handed to the pool is a bare sync */
    bool wrote;                /* pool: the batch's commit wrote and fdatasync'd the file */
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
    w->unsynced_tail = &w->unsynced;
    w->work.data = w;
    *out = w;
    return 0;
}

/* Pool thread: every job of the running list in one batch, or the bare sync. */
static void batch_work(uv_work_t *req)
{
    fog_store_writer *w = req->data;
    w->batch_err = 0;
    w->wrote = false;
    if (w->syncing) {
        w->batch_err = fog__store_sync(w->store);
        return;
    }
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
        rc = fog__store_batch_commit_lazy(b, &w->wrote);
    }
    w->batch_err = rc < 0 ? rc : 0;
}

static void batch_after(uv_work_t *req, int status);

/* Starts the next batch when none runs and there is a queue; else a bare sync when committed
 * jobs wait for it; else the (empty) close batch. */
static void kick(fog_store_writer *w)
{
    if (w->busy || (w->queue == NULL && w->unsynced == NULL && !w->closing)) {
        return;
    }
    w->running = w->queue;
    w->syncing = w->queue == NULL && w->unsynced != NULL;
    w->queue = NULL;
    w->queue_tail = &w->queue;
    w->busy = true;
    if (uv_queue_work(w->loop, &w->work, batch_work, batch_after) != 0) {
        /* libuv refuses only invalid arguments: finish the batch here as failed. */
        w->batch_err = fog_errf(FOG_ERR_IO, "store writer: cannot queue work");
        batch_after(&w->work, 0);
    }
}

/* Ends the jobs of list with err (done on the loop) and frees them. */
static void finish(fog_store_writer *w, job *list, int err)
{
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
}

static job *take_unsynced(fog_store_writer *w)
{
    job *list = w->unsynced;
    w->unsynced = NULL;
    w->unsynced_tail = &w->unsynced;
    return list;
}

static void batch_after(uv_work_t *req, int status)
{
    fog_store_writer *w = req->data;
    int err = status < 0 ? FOG_ERR_CANCELLED : w->batch_err;
    job *list = w->running;
    bool syncing = w->syncing;
    w->running = NULL;
    w->syncing = w->busy = false;
    if (syncing) {
        w->stats.failures += err != 0;
        finish(w, take_unsynced(w), err);
    } else if (list != NULL) {
        w->stats.batches += err == 0;
        w->stats.failures += err != 0;
        if (err != 0) {
            finish(w, list, err); /* nothing of it was committed; the unsynced still wait */
        } else {
            if (w->wrote) {
                finish(w, take_unsynced(w), 0); /* this commit's fdatasync covered them */
            }
            *w->unsynced_tail = list;
            while (*w->unsynced_tail != NULL) {
                w->unsynced_tail = &(*w->unsynced_tail)->next;
            }
        }
    }
    if (w->closing && w->queue == NULL && w->unsynced == NULL) {
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
    for (job *j = w->unsynced; j != NULL;) {
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
