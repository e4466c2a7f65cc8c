/* test_fetch.c: whole-DAG fetches and the blocking block source (include/fog/fetch.h,
 * src/node/fetch.c) over bitswap between two real fog_nodes on one loop (loopback TCP), each
 * with its own repository and store writer. Node A imports a folder (a 3 MiB file of seeded
 * pseudo-random bytes in 256 KiB leaves, plus a small file) with the UnixFS importer; the block
 * count comes from the importer's sink and the bytes from the generator, independently of the
 * code under test. B fetches and the exporter reads the result back from B's own store (or, for
 * the source, on a worker thread through the fetching source while the loop runs).
 */
#include "testlib.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "fog/crypto.h"
#include "fog/fetch.h"
#include "fog/unixfs.h"
#include "uvtest.h"
#include "nettest.h"

#define BIG_LEN (3u * 1024u * 1024u + 12345u)
#define SMALL_LEN 1000u

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
    uint64_t x = 0x2545f4914f6cdd1du ^ seed;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

/* --- the content on A ---------------------------------------------------------------------- */

typedef struct {
    fog_cid root, big, small;
    size_t blocks; /* as the importer's sink saw them */
    uint8_t *big_bytes;
} content;

static int count_put(void *ctx, const fog_cid *c, const uint8_t *data, size_t len)
{
    void **pp = ctx;
    size_t *n = pp[1];
    (*n)++;
    return fog_store_batch_put(pp[0], c, data, len);
}

static void write_file(const char *path, const uint8_t *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    close(fd);
}

static void entry_cb(void *ctx, const char *path, const fog_cid *c, uint64_t size)
{
    (void)size;
    content *ct = ctx;
    if (strcmp(path, "dir/big.bin") == 0) {
        ct->big = *c;
    } else if (strcmp(path, "dir/small.txt") == 0) {
        ct->small = *c;
    }
}

/* Imports dir/{big.bin, small.txt} into t's store (before its writer exists). */
static void import_content(tnode *t, content *ct)
{
    memset(ct, 0, sizeof *ct);
    char tmp[256], path[300];
    assert_true(tl_mkdtemp(tmp, sizeof tmp, "fetchsrc"));
    snprintf(path, sizeof path, "%s/dir", tmp);
    assert_int_equal(mkdir(path, 0700), 0);
    ct->big_bytes = malloc(BIG_LEN);
    fill(ct->big_bytes, BIG_LEN, 7);
    snprintf(path, sizeof path, "%s/dir/big.bin", tmp);
    write_file(path, ct->big_bytes, BIG_LEN);
    uint8_t small[SMALL_LEN];
    fill(small, sizeof small, 8);
    snprintf(path, sizeof path, "%s/dir/small.txt", tmp);
    write_file(path, small, sizeof small);
    fog_import_opts opts;
    assert_int_equal(fog_import_profile(&opts, "unixfs-v0-2015"), 0);
    opts.threads = 1;
    fog_store_batch *batch = NULL;
    assert_int_equal(fog_store_batch_begin(t->store, &batch), 0);
    void *pp[2] = {batch, &ct->blocks};
    fog_blocksink sink = {count_put, pp};
    fog_import_events ev = {entry_cb, NULL, ct};
    snprintf(path, sizeof path, "%s/dir", tmp);
    assert_int_equal(fog_import_path(path, &opts, &sink, &ev, &ct->root), 0);
    assert_int_equal(fog_store_batch_commit(batch), 0);
    assert_int_equal(tl_rm_rf(tmp), 0);
    assert_true(ct->blocks > 12); /* 13 leaves of 256 KiB at least, the file node, the folder */
}

/* Two nodes, B connected to A; with ct, A holds the imported content. */
static void pair_up(tnode *a, tnode *b, content *ct)
{
    repo_make(a, "fetch");
    repo_make(b, "fetch");
    if (ct != NULL) {
        import_content(a, ct);
    }
    node_start(a);
    node_start(b);
    connect_pair(b, a);
}

static void pair_down(tnode *a, tnode *b, content *ct)
{
    node_stop(b);
    node_stop(a);
    if (ct != NULL) {
        free(ct->big_bytes);
    }
}

/* --- reading B's store back ---------------------------------------------------------------- */

typedef struct {
    const uint8_t *want;
    size_t len, at;
    bool same;
} cmp_ctx;

static int cmp_write(void *ctx, const uint8_t *p, size_t len)
{
    cmp_ctx *c = ctx;
    if (c->at + len > c->len || memcmp(c->want + c->at, p, len) != 0) {
        c->same = false;
    }
    c->at += len;
    return 0;
}

static void check_big_in_store(tnode *t, const content *ct)
{
    fog_store_view *v = NULL;
    fog_blocksource src;
    assert_int_equal(fog_store_view_begin(t->store, &v), 0);
    fog_blocksource_from_view(&src, v);
    cmp_ctx c = {ct->big_bytes, BIG_LEN, 0, true};
    assert_int_equal(fog_unixfs_cat(&src, &ct->big, 0, UINT64_MAX, cmp_write, &c), 0);
    assert_true(c.same);
    assert_int_equal(c.at, BIG_LEN);
    fog_store_view_end(v);
}

/* --- fog_fetch_dag -------------------------------------------------------------------------- */

typedef struct {
    bool done;
    int err;
    char detail[400];
    uint64_t blocks, bytes, calls;
} fetch_res;

static void on_block(void *ud, const fog_cid *c, const uint8_t *data, size_t len,
                     uint64_t blocks, uint64_t bytes)
{
    fetch_res *r = ud;
    assert_int_equal(fog_cid_verify(c, data, len), 0);
    r->calls++;
    r->blocks = blocks;
    r->bytes = bytes;
}

static void on_done(void *ud, int err)
{
    fetch_res *r = ud;
    r->done = true;
    r->err = err;
    if (err < 0) {
        snprintf(r->detail, sizeof r->detail, "%s", fog_err_detail(err));
    }
}

/* A whole folder DAG arrives, each block once, durable in B's store, bytes intact. */
static void test_fetch_dag_folder(void **state)
{
    (void)state;
    tnode a, b;
    content ct;
    pair_up(&a, &b, &ct);
    fetch_res r = {0};
    fog_fetch_config cfg = {.writer = b.w, .block = on_block, .done = on_done, .ud = &r};
    uint64_t t0 = uv_hrtime();
    assert_int_equal(fog_fetch_dag(NULL, &loop, b.b, &ct.root, &cfg), 0);
    assert_false(r.done); /* deferred */
    assert_true(wait_for(is_true, &r.done));
    print_message("  fetched %llu blocks in %.3f s\n", (unsigned long long)r.blocks,
                  (double)(uv_hrtime() - t0) / 1e9);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.blocks, ct.blocks);
    assert_int_equal(r.calls, ct.blocks);
    assert_true(r.bytes > BIG_LEN);
    fog_repo_stat rs;
    assert_int_equal(fog_store_stat(b.store, &rs), 0);
    assert_int_equal(rs.blocks, ct.blocks); /* committed when done ran */
    check_big_in_store(&b, &ct);
    /* the per-protocol counters saw the blocks come in over bitswap */
    fog_proto_bytes pb[64];
    size_t n = fog_node_proto_bytes(b.n, pb, 64);
    uint64_t bs_in = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        if (strncmp(pb[i].protocol, "/ipfs/bitswap", 13) == 0) {
            bs_in += pb[i].bytes_in;
        }
    }
    assert_true(bs_in >= BIG_LEN);
    pair_down(&a, &b, &ct);
}

/* Nobody has the root: the fetch ends with FOG_ERR_TIMEOUT naming the block. */
static void test_fetch_dag_timeout(void **state)
{
    (void)state;
    tnode a, b;
    pair_up(&a, &b, NULL);
    uint8_t junk[32];
    fill(junk, sizeof junk, 99);
    fog_cid missing;
    assert_int_equal(fog_cid_of(&missing, 1, FOG_MC_RAW, FOG_MC_SHA2_256, junk, sizeof junk), 0);
    fetch_res r = {0};
    fog_fetch_config cfg = {.timeout_ms = 300, .writer = b.w, .done = on_done, .ud = &r};
    assert_int_equal(fog_fetch_dag(NULL, &loop, b.b, &missing, &cfg), 0);
    assert_true(wait_for(is_true, &r.done));
    assert_int_equal(r.err, FOG_ERR_TIMEOUT);
    char text[FOG_CID_STR_MAX];
    assert_true(fog_cid_format(&missing, 0, text, sizeof text) > 0);
    assert_non_null(strstr(r.detail, text));
    pair_down(&a, &b, NULL);
}

static bool got_some(void *arg)
{
    return ((fetch_res *)arg)->calls > 0;
}

/* Runs the loop for ms milliseconds. */
static void run_for(uint64_t ms)
{
    uint64_t end = uv_hrtime() + ms * 1000000u;
    uv_timer_start(&wd, wd_cb, 20, 20);
    while (uv_hrtime() < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&wd);
}

/* A cancelled fetch never calls done, and the loop winds down cleanly (no handle leak). */
static void test_fetch_dag_cancel(void **state)
{
    (void)state;
    tnode a, b;
    content ct;
    pair_up(&a, &b, &ct);
    fetch_res r = {0};
    fog_fetch_config cfg = {.writer = b.w, .block = on_block, .done = on_done, .ud = &r};
    fog_fetch *f = NULL;
    assert_int_equal(fog_fetch_dag(&f, &loop, b.b, &ct.root, &cfg), 0);
    assert_true(wait_for(got_some, &r)); /* cancelled halfway */
    fog_fetch_cancel(f);
    run_for(300);
    assert_false(r.done);
    pair_down(&a, &b, &ct);
}

/* --- the blocking source -------------------------------------------------------------------- */

typedef struct {
    fog_fetch_source *fs;
    fog_cid cid;
    const uint8_t *want;
    size_t len;
    bool prefetch;
    int rc;
    char detail[400];
    cmp_ctx cmp;
    uv_mutex_t mu;
    bool finished;
} worker_ctx;

static void worker(void *arg)
{
    worker_ctx *w = arg;
    if (w->prefetch) {
        fog_fetch_source_prefetch(w->fs, &w->cid);
    }
    w->cmp = (cmp_ctx){w->want, w->len, 0, true};
    fog_err_clear();
    int rc = fog_unixfs_cat(fog_fetch_source_blocks(w->fs), &w->cid, 0, UINT64_MAX, cmp_write,
                            &w->cmp);
    uv_mutex_lock(&w->mu);
    w->rc = rc;
    if (rc < 0) {
        snprintf(w->detail, sizeof w->detail, "%s", fog_err_detail(rc));
    }
    w->finished = true;
    uv_mutex_unlock(&w->mu);
}

static bool worker_finished(void *arg)
{
    worker_ctx *w = arg;
    uv_mutex_lock(&w->mu);
    bool f = w->finished;
    uv_mutex_unlock(&w->mu);
    return f;
}

static void run_worker(worker_ctx *w)
{
    uv_thread_t th;
    uv_mutex_init(&w->mu);
    assert_int_equal(uv_thread_create(&th, worker, w), 0);
    assert_true(wait_for(worker_finished, w));
    uv_thread_join(&th);
    uv_mutex_destroy(&w->mu);
}

static void source_cat(bool prefetch)
{
    tnode a, b;
    content ct;
    pair_up(&a, &b, &ct);
    worker_ctx w = {.cid = ct.big, .want = ct.big_bytes, .len = BIG_LEN, .prefetch = prefetch};
    assert_int_equal(fog_fetch_source_new(&w.fs, &loop, b.b, b.store, b.w, 10000), 0);
    uint64_t t0 = uv_hrtime();
    run_worker(&w);
    print_message("  cat through the source (prefetch %d): %.3f s\n", prefetch,
                  (double)(uv_hrtime() - t0) / 1e9);
    assert_int_equal(w.rc, 0);
    assert_true(w.cmp.same);
    assert_int_equal(w.cmp.at, BIG_LEN);
    fog_fetch_source_free(w.fs);
    pair_down(&a, &b, &ct);
}

/* The exporter on a worker thread reads a 3 MiB file it does not have, block by block. */
static void test_fetch_source_cat(void **state)
{
    (void)state;
    source_cat(false);
}

/* The same with the DAG prefetched below the root. */
static void test_fetch_source_cat_prefetch(void **state)
{
    (void)state;
    source_cat(true);
}

/* A block nobody has: get() gives up after the timeout with a line naming the CID. */
static void test_fetch_source_timeout(void **state)
{
    (void)state;
    tnode a, b;
    pair_up(&a, &b, NULL);
    uint8_t junk[32];
    fill(junk, sizeof junk, 98);
    worker_ctx w = {0};
    assert_int_equal(fog_cid_of(&w.cid, 1, FOG_MC_RAW, FOG_MC_SHA2_256, junk, sizeof junk), 0);
    w.want = junk;
    w.len = sizeof junk;
    assert_int_equal(fog_fetch_source_new(&w.fs, &loop, b.b, b.store, b.w, 300), 0);
    run_worker(&w);
    assert_int_equal(w.rc, FOG_ERR_TIMEOUT);
    char text[FOG_CID_STR_MAX];
    assert_true(fog_cid_format(&w.cid, 0, text, sizeof text) > 0);
    assert_non_null(strstr(w.detail, text));
    fog_fetch_source_free(w.fs);
    pair_down(&a, &b, NULL);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_dag_folder),
        cmocka_unit_test(test_fetch_dag_timeout),
        cmocka_unit_test(test_fetch_dag_cancel),
        cmocka_unit_test(test_fetch_source_cat),
        cmocka_unit_test(test_fetch_source_cat_prefetch),
        cmocka_unit_test(test_fetch_source_timeout),
    };
    return cmocka_run_group_tests(tests, nt_setup, nt_teardown);
}
