/* import_pool.c: the leaf pool: chunks of a file hashed on worker threads, handed back in order.
 * The importing thread owns a ring of slots. It fills the next free slot (or leaves the reading
 * to the worker: a pread of the chunk's range, so the workers also share the copying out of the
 * page cache), submits it, and takes slots back strictly oldest first. Workers take submitted
 * slots in submission order. Whatever the threads do, the leaves come back in file order, so
 * the DAG, the CIDs and the order of sink->put are those of a sequential run.
 * The ring has 2 * threads + 2 slots (at least 3), fewer when chunks are large, so memory is
 * bounded by slots * (chunk size + 28 bytes) whatever the file size. One mutex guards the two
 * counters (submitted, picked) and the done flags; workers sleep on one condition variable and
 * the importer on another. With 0 or 1 threads there is no worker: submit hashes on the spot.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fog/crypto.h"

#include "internal.h"

#define MAX_THREADS       64
#define SLOT_BYTES_BUDGET (16u << 20) /* chunk buffers beyond the minimum of 3 slots */

struct fog__leafpool {
    fog__leaf *slots;
    bool *done;
    size_t n_slots;
    size_t buf_cap;
    size_t head;     /* oldest slot in flight */
    size_t inflight; /* slots handed to submit and not yet released */
    pthread_mutex_t mu;
    pthread_cond_t work; /* workers: something was submitted, or stop */
    pthread_cond_t fin;  /* importer: a slot is done */
    uint64_t submitted;  /* counts submissions; slot = count % n_slots */
    uint64_t picked;
    bool stop;
    pthread_t *threads;
    size_t n_threads;
};

/* The dag-pb leaf of boxo's balanced builder and js's default leafType 'file': PBNode
 * { Data = UnixFS { Type = File, Data = chunk (absent when empty), filesize = len } }, built
 * around the chunk in place: the header ends where the chunk starts, filesize follows it. */
static void wrap_pb_leaf(fog__leaf *l)
{
    size_t n = l->len;
    size_t inner = 2 + 1 + fog_uvarint_len(n) + (n > 0 ? 1 + fog_uvarint_len(n) + n : 0);
    uint8_t head[FOG__LEAF_HEAD];
    size_t h = 0;
    head[h++] = 0x0a;
    h += fog_uvarint_put(head + h, inner);
    head[h++] = 0x08;
    head[h++] = FOG_UNIXFS_FILE;
    if (n > 0) {
        head[h++] = 0x12;
        h += fog_uvarint_put(head + h, n);
    }
    uint8_t *start = l->buf + FOG__LEAF_HEAD - h;
    memcpy(start, head, h);
    uint8_t *tail = l->buf + FOG__LEAF_HEAD + n;
    tail[0] = 0x18;
    size_t t = 1 + fog_uvarint_put(tail + 1, n);
    l->block = start;
    l->block_len = h + n + t;
}

static int read_range(fog__leaf *l)
{
    size_t got = 0;
    while (got < l->len) {
        ssize_t r =
            pread(l->fd, l->buf + FOG__LEAF_HEAD + got, l->len - got, (off_t)(l->off + got));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            l->err_no = r < 0 ? errno : 0;
            return FOG_ERR_IO;
        }
        got += (size_t)r;
    }
    return 0;
}

void fog__leaf_run(fog__leaf *l)
{
    l->rc = 0;
    l->err_no = 0;
    if (l->fd >= 0 && (l->rc = read_range(l)) < 0) {
        return;
    }
    uint64_t codec = FOG_MC_DAG_PB;
    uint64_t version = (uint64_t)l->cid_version;
    if (l->raw) {
        l->block = l->buf + FOG__LEAF_HEAD;
        l->block_len = l->len;
        codec = FOG_MC_RAW;
        version = 1;
    } else {
        wrap_pb_leaf(l);
    }
    uint8_t digest[FOG_SHA256_LEN];
    fog_sha256(l->block, l->block_len, digest);
    l->rc = fog_cid_make(&l->cid, version, codec, FOG_MC_SHA2_256, digest, sizeof digest);
}

static void *worker(void *arg)
{
    fog__leafpool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->picked == p->submitted) {
            pthread_cond_wait(&p->work, &p->mu);
        }
        if (p->picked == p->submitted) {
            break; /* stop, and nothing left to hash */
        }
        size_t i = (size_t)(p->picked++ % p->n_slots);
        pthread_mutex_unlock(&p->mu);
        fog__leaf_run(&p->slots[i]);
        pthread_mutex_lock(&p->mu);
        p->done[i] = true;
        pthread_cond_broadcast(&p->fin);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static size_t slot_count(unsigned threads, size_t chunk_max)
{
    if (threads <= 1) {
        return 1;
    }
    size_t n = 2 * (size_t)threads + 2;
    size_t budget = SLOT_BYTES_BUDGET / (chunk_max + 1);
    if (n > budget) {
        n = budget;
    }
    return n < 3 ? 3 : n;
}

static int start_threads(fog__leafpool *p, unsigned threads)
{
    p->threads = calloc(threads, sizeof *p->threads);
    if (p->threads == NULL) {
        return FOG_ERR_NOMEM;
    }
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            return fog_errf(FOG_ERR_NOMEM, "cannot start hashing thread %u", i + 1);
        }
        p->n_threads++;
    }
    return 0;
}

int fog__leafpool_new(fog__leafpool **out, unsigned threads, size_t chunk_max)
{
    *out = NULL;
    if (threads > MAX_THREADS) {
        threads = MAX_THREADS;
    }
    fog__leafpool *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return FOG_ERR_NOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->fin, NULL);
    p->n_slots = slot_count(threads, chunk_max);
    p->buf_cap = FOG__LEAF_HEAD + chunk_max + FOG__LEAF_TAIL;
    p->slots = calloc(p->n_slots, sizeof *p->slots);
    p->done = calloc(p->n_slots, sizeof *p->done);
    int rc = FOG_ERR_NOMEM;
    if (p->slots == NULL || p->done == NULL) {
        goto fail;
    }
    if (threads > 1 && (rc = start_threads(p, threads)) < 0) {
        goto fail;
    }
    *out = p;
    return 0;
fail:
    fog__leafpool_free(p);
    return rc;
}

void fog__leafpool_free(fog__leafpool *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_threads; i++) {
        pthread_join(p->threads[i], NULL);
    }
    free(p->threads);
    for (size_t i = 0; p->slots != NULL && i < p->n_slots; i++) {
        free(p->slots[i].buf);
    }
    free(p->slots);
    free(p->done);
    pthread_cond_destroy(&p->fin);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int fog__leafpool_slot(fog__leafpool *p, fog__leaf **out)
{
    *out = NULL;
    if (p->inflight == p->n_slots) {
        return 0;
    }
    fog__leaf *l = &p->slots[(p->head + p->inflight) % p->n_slots];
    if (l->buf == NULL && (l->buf = malloc(p->buf_cap)) == NULL) {
        return FOG_ERR_NOMEM;
    }
    l->fd = -1;
    *out = l;
    return 0;
}

void fog__leafpool_submit(fog__leafpool *p, fog__leaf *l, bool run_inline)
{
    size_t i = (size_t)(l - p->slots);
    /* Inline only with nothing in flight: then every submission was picked, and counting this
     * one as submitted and picked keeps the workers' queue in step. */
    bool now = p->n_threads == 0 || (run_inline && p->inflight == 0);
    p->inflight++;
    if (now) {
        fog__leaf_run(l);
        pthread_mutex_lock(&p->mu);
        p->done[i] = true;
        if (p->n_threads > 0) {
            p->picked++;
            p->submitted++;
        }
        pthread_mutex_unlock(&p->mu);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->done[i] = false;
    p->submitted++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
}

fog__leaf *fog__leafpool_wait(fog__leafpool *p)
{
    if (p->inflight == 0) {
        return NULL;
    }
    pthread_mutex_lock(&p->mu);
    while (!p->done[p->head]) {
        pthread_cond_wait(&p->fin, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return &p->slots[p->head];
}

void fog__leafpool_release(fog__leafpool *p, fog__leaf *l)
{
    (void)l;
    pthread_mutex_lock(&p->mu);
    p->done[p->head] = false;
    pthread_mutex_unlock(&p->mu);
    p->head = (p->head + 1) % p->n_slots;
    p->inflight--;
}
