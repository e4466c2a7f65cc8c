/* storew.h: the store writer: the daemon's one way to write to its repository without blocking
 * the loop thread. DESIGN.md (one loop thread; LMDB has one writer at a time).
 * A write transaction may wait for LMDB's writer mutex (a `fog add` in another process holds it
 * for a whole batch) and its commit waits for fdatasync: neither may happen on the loop. So the
 * loop hands write jobs to the writer, which runs them on libuv's thread pool, all jobs queued
 * meanwhile in one fog_store_batch (so a thousand fetched blocks cost one transaction and one
 * sync, not a thousand), and calls each job's done on the loop after the batch committed
 * durably. At most one batch runs at a time; jobs queued while it runs form the next one.
 * Reading is not the writer's business: loop code reads through views (fog_store_view_*), which
 * never block and may run beside the writer's batch. While a writer exists, no other code in the
 * process may write to its store.
 * Everything here is called on the loop thread, and done callbacks run on it, never from inside
 * the call that queued the job.
 */
#ifndef FOG_STOREW_H
#define FOG_STOREW_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "fog/mf.h"
#include "fog/store.h"
#include "fog/util.h"

typedef struct fog_store_writer fog_store_writer;

/* A job's work, run on a pool thread inside the batch b: it may only call fog_store_batch_* on
 * b and touch memory that nothing on the loop touches until done runs. A negative return fails
 * the whole batch (every job of it gets that error in done). */
typedef int (*fog_store_write_fn)(void *ud, fog_store_batch *b);
/* A job's end, on the loop: err 0 once the batch committed durably, else the batch's error
 * (FOG_ERR_STORE_FULL, FOG_ERR_STORE, FOG_ERR_CANCELLED when the writer closed first, ...). */
typedef void (*fog_store_written_fn)(void *ud, int err);

/* Makes a writer for s (borrowed, opened FOG_STORE_WRITE or FOG_STORE_EXCLUSIVE; it must outlive
 * the writer). Errors: FOG_ERR_INVALID (a read-only handle), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_store_writer_new(fog_store_writer **out, uv_loop_t *loop, fog_store *s);

/* Queues a job. done may be NULL. Errors: FOG_ERR_CANCELLED (closing), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_store_writer_submit(fog_store_writer *w, fog_store_write_fn fn,
                                          fog_store_written_fn done, void *ud);

/* Queues a put of one block that the caller verified against c (the writer does not hash it
 * again): c and data are copied. A block already stored is left as is. done may be NULL.
 * Errors: as submit, and FOG_ERR_LIMIT for len past FOG_STORE_BATCH_BYTES. */
FOG_NODISCARD int fog_store_writer_put(fog_store_writer *w, const fog_cid *c,
                                       const uint8_t *data, size_t len,
                                       fog_store_written_fn done, void *ud);

/* Bytes of block data queued or being written (puts only): for callers that bound their
 * backlog. */
size_t fog_store_writer_pending_bytes(const fog_store_writer *w);

/* Lets the running batch finish, runs what is queued, then calls done(ud) on the loop; jobs
 * queued after close get FOG_ERR_CANCELLED. Then fog_store_writer_free is valid. */
void fog_store_writer_close(fog_store_writer *w, void (*done)(void *ud), void *ud);
/* Frees a writer whose close completed (or that never got a job). NULL is a no-op. */
void fog_store_writer_free(fog_store_writer *w);

typedef struct {
    uint64_t batches;     /* batches committed */
    uint64_t jobs;        /* jobs done (all outcomes) */
    uint64_t bytes;       /* block bytes written through fog_store_writer_put */
    uint64_t failures;    /* batches that failed */
} fog_store_writer_stats;
void fog_store_writer_get_stats(const fog_store_writer *w, fog_store_writer_stats *out);

#endif
