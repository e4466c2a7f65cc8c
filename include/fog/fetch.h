/* fetch.h: getting content that is not in the local store, over bitswap (fog/bswap.h).
 * Two tools share one bitswap session each:
 *  - fog_fetch: on the loop, brings a whole DAG under a root into the store. A window of wants
 *    is kept outstanding; each block that arrives is parsed with fog_dag_links and its links
 *    are wanted next, depth first in link order (pre-order: the order cat reads a file), so
 *    that a reader can start early. Blocks already local cost a store lookup, no traffic.
 *    Completion waits for the store writer to commit the blocks (a barrier job queued after
 *    bitswap's puts), so a reader in another process sees every block once done ran.
 *  - fog_fetch_source: a fog_blocksource for a worker thread (the exporter on a uv work
 *    thread). get() reads the block from a fresh store view; when it is missing it asks the
 *    loop (uv_async) to want it and blocks its thread on a condition variable until the loop
 *    hands the verified bytes over under the mutex (a copy), or the wait fails (cancel,
 *    timeout). Handing bytes over rather than re-reading them from the store after the writer
 *    committed keeps the exporter off the writer's fdatasync latency (one batch per block would
 *    serialise the reader behind disk syncs); the copy is one block at a time. A block that
 *    the prefetch fetched and the writer has not committed yet is waited for through a writer
 *    barrier, then read from a fresh view (no second network request).
 *    fog_fetch_source_prefetch starts a fog_fetch below a root in the same session so the
 *    exporter does not wait one round trip per block.
 * Everything but get() and fog_fetch_source_prefetch runs on the loop thread.
 */
#ifndef FOG_FETCH_H
#define FOG_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "fog/bswap.h"
#include "fog/dag.h"
#include "fog/mf.h"
#include "fog/storew.h"
#include "fog/util.h"

#define FOG_FETCH_WINDOW_DEFAULT 384

typedef struct fog_fetch fog_fetch;

typedef struct {
    size_t window;          /* wants outstanding at once (0: FOG_FETCH_WINDOW_DEFAULT) */
    fog_ms timeout_ms;      /* the whole fetch (0: none): FOG_ERR_TIMEOUT naming a CID */
    fog_store_writer *writer; /* for the completion barrier; NULL: done does not wait for it */
    /* Each block as it arrives (data lent for the call), in arrival order, with running totals
     * (this block included); may be NULL. Blocks already local are reported too. */
    void (*block)(void *ud, const fog_cid *c, const uint8_t *data, size_t len, uint64_t blocks,
                  uint64_t bytes);
    /* Once: 0 when every block under the root is stored (and committed, with a writer), else
     * the error (FOG_ERR_TIMEOUT, FOG_ERR_PROTO for a block whose links do not parse,
     * FOG_ERR_STORE..., FOG_ERR_CANCELLED when bitswap closed). The detail line (set on the loop
     * thread just before done) names the CID. After done the fetch frees itself. */
    void (*done)(void *ud, int err);
    void *ud;
} fog_fetch_config;

/* Starts fetching root and everything below it through a new session of b (its own; freed at
 * the end). Callbacks are deferred to the loop. out may be NULL (then the fetch cannot be
 * cancelled). Free every fetch before b. Errors at once: FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_fetch_dag(fog_fetch **out, uv_loop_t *loop, fog_bswap *b,
                                const fog_cid *root, const fog_fetch_config *cfg);
/* Stops a fetch whose done has not run: its wants are cancelled and done does not run; the
 * fetch is freed (its timer handle closes on the loop). */
void fog_fetch_cancel(fog_fetch *f);

typedef struct {
    uint64_t blocks, bytes; /* blocks under the root known to be stored so far */
    size_t inflight, queued; /* wanted now; discovered but not wanted yet */
} fog_fetch_stats;
void fog_fetch_get_stats(const fog_fetch *f, fog_fetch_stats *out);

/* --- The blocking source ------------------------------------------------------------------ */

typedef struct fog_fetch_source fog_fetch_source;

/* Makes a source reading store (borrowed, its views are used on the worker thread) and
 * fetching missing blocks through a new session of b. timeout_ms bounds each get() wait (0:
 * none; FOG_ERR_TIMEOUT "block CID not found within N s"). On the loop thread. Errors:
 * FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_fetch_source_new(fog_fetch_source **out, uv_loop_t *loop, fog_bswap *b,
                                       fog_store *store, fog_store_writer *writer,
                                       fog_ms timeout_ms);
/* The fog_blocksource to hand to the exporter. It is marked trusted: its blocks come from the
 * store (checked when they entered) or from bitswap, whose codec rebuilt each CID from the bytes
 * (fog_bitswap_block_matches), so the exporter does not hash them again. */
const fog_blocksource *fog_fetch_source_blocks(fog_fetch_source *fs);
/* From the worker: fetch the DAG below root ahead of the reads (one prefetch at a time; a new
 * call replaces nothing, it is ignored while one runs). */
void fog_fetch_source_prefetch(fog_fetch_source *fs, const fog_cid *root);
/* From the loop: every get() waiting or to come fails with FOG_ERR_CANCELLED. */
void fog_fetch_source_cancel(fog_fetch_source *fs);
/* From the loop, after the worker stopped using the source: cancels what is still wanted and
 * frees the source (its async handle closes on the loop). NULL is a no-op. */
void fog_fetch_source_free(fog_fetch_source *fs);

#endif
