/* test_storew.c: the store writer (fog/storew.h) on a real repository and a real libuv loop:
 * jobs queued while a batch runs share the next batch, callbacks are deferred to the loop, a
 * failing job fails its whole batch and commits nothing, close finishes queued work and refuses
 * more, and a write held up by another process's open transaction does not stall the loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "fog/store.h"
#include "fog/storew.h"
#include "testlib.h"
#include "uvtest.h"

#define N_BLOCKS 100

typedef struct {
    char root[64];
    char repo[128];
    fog_store *s;
    fog_store_writer *w;
    bool closed; /* the writer's close completed */
} fix;

static int setup(void **state)
{
    fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_true(tl_mkdtemp(f->root, sizeof f->root, "storew"));
    snprintf(f->repo, sizeof f->repo, "%s/repo", f->root);
    assert_int_equal(fog_repo_init(f->repo, NULL, 0), 0);
    assert_int_equal(fog_store_open(&f->s, f->repo, FOG_STORE_WRITE), 0);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(uv_timer_init(&loop, &wd), 0);
    assert_int_equal(fog_store_writer_new(&f->w, &loop, f->s), 0);
    *state = f;
    return 0;
}

static bool flag_set(void *arg)
{
    return *(bool *)arg;
}

static void closed_cb(void *ud)
{
    *(bool *)ud = true;
}

static int teardown(void **state)
{
    fix *f = *state;
    if (!f->closed) {
        fog_store_writer_close(f->w, closed_cb, &f->closed);
        assert_false(f->closed); /* deferred */
        assert_true(wait_for(flag_set, &f->closed));
    }
    fog_store_writer_free(f->w);
    uv_close((uv_handle_t *)&wd, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    fog_store_close(f->s);
    tl_rm_rf(f->root);
    free(f);
    return 0;
}

static void make_block(fog_cid *c, uint8_t *data, size_t len, uint32_t tag)
{
    for (size_t i = 0; i < len; i++) {
        data[i] = (uint8_t)(tag * 131u + i * 7u);
    }
    memcpy(data, &tag, sizeof tag);
    assert_int_equal(fog_cid_of(c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, data, len), 0);
}

typedef struct {
    int calls;
    int last_err;
    int errs;
} tally;

static void count_cb(void *ud, int err)
{
    tally *t = ud;
    t->calls++;
    t->last_err = err;
    t->errs += err != 0;
}

static bool all_done(void *arg)
{
    return ((tally *)arg)->calls == N_BLOCKS;
}

static bool view_has(fog_store *s, const fog_cid *c)
{
    fog_store_view *v = NULL;
    fog_slice out;
    assert_int_equal(fog_store_view_begin(s, &v), 0);
    bool has = fog_store_view_get(v, c, &out) == 0;
    fog_store_view_end(v);
    return has;
}

/* 100 puts queued at once: deferred callbacks, few batches, every block readable. */
static void test_storew_puts_share_batches(void **state)
{
    fix *f = *state;
    static uint8_t data[N_BLOCKS][4096];
    fog_cid cids[N_BLOCKS];
    tally t = {0};
    for (uint32_t i = 0; i < N_BLOCKS; i++) {
        make_block(&cids[i], data[i], sizeof data[i], i);
        assert_int_equal(fog_store_writer_put(f->w, &cids[i], data[i], sizeof data[i], count_cb,
                                              &t),
                         0);
    }
    assert_int_equal(t.calls, 0); /* nothing runs inside the call */
    assert_int_equal(fog_store_writer_pending_bytes(f->w), N_BLOCKS * 4096u);
    assert_true(wait_for(all_done, &t));
    assert_int_equal(t.errs, 0);
    assert_int_equal(fog_store_writer_pending_bytes(f->w), 0);
    fog_store_writer_stats st;
    fog_store_writer_get_stats(f->w, &st);
    /* The first put starts a batch at once; the other 99 wait for it and form one more. */
    assert_int_equal(st.batches, 2);
    assert_int_equal(st.jobs, N_BLOCKS);
    assert_int_equal(st.bytes, N_BLOCKS * 4096u);
    for (size_t i = 0; i < N_BLOCKS; i++) {
        assert_true(view_has(f->s, &cids[i]));
    }
}

static int pin_job(void *ud, fog_store_batch *b)
{
    return fog_store_batch_pin(b, ud, FOG_PIN_DIRECT);
}

static int failing_job(void *ud, fog_store_batch *b)
{
    (void)ud;
    (void)b;
    return fog_errf(FOG_ERR_PROTO, "this job fails on purpose");
}

/* A job that fails takes its batch with it: the put beside it is not committed. */
static void test_storew_failure_fails_the_batch(void **state)
{
    fix *f = *state;
    uint8_t a[64], b[64];
    fog_cid ca, cb;
    make_block(&ca, a, sizeof a, 1000);
    make_block(&cb, b, sizeof b, 1001);
    tally t1 = {0}, t2 = {0}, t3 = {0};
    /* Batch 1: the put of a alone (starts at once). Batch 2: put b, pin a, the failing job. */
    assert_int_equal(fog_store_writer_put(f->w, &ca, a, sizeof a, count_cb, &t1), 0);
    assert_int_equal(fog_store_writer_put(f->w, &cb, b, sizeof b, count_cb, &t2), 0);
    assert_int_equal(fog_store_writer_submit(f->w, pin_job, NULL, &ca), 0);
    assert_int_equal(fog_store_writer_submit(f->w, failing_job, count_cb, &t3), 0);
    assert_int_equal(fog_store_writer_submit(f->w, NULL, count_cb, &t3), FOG_ERR_INVALID);
    while (t3.calls == 0) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(t1.last_err, 0);
    assert_int_equal(t2.calls, 1);
    assert_int_equal(t2.errs, 1);
    assert_int_equal(t2.last_err, FOG_ERR_PROTO);
    assert_int_equal(t3.last_err, FOG_ERR_PROTO);
    assert_true(view_has(f->s, &ca));
    assert_false(view_has(f->s, &cb));
    int kind = -1;
    assert_int_equal(fog_store_pin_get(f->s, &ca, &kind), 0);
    assert_int_equal(kind, 0);
    fog_store_writer_stats st;
    fog_store_writer_get_stats(f->w, &st);
    assert_int_equal(st.failures, 1);
}

/* A batch's jobs hear done only once their commit is durable: the next batch's sync or a bare
 * sync (writer.c). Whatever the batches, every job hears done once, with 0, in the order the
 * jobs were queued, and a job queued from a done callback runs in a later batch. */
typedef struct {
    fog_store_writer *w;
    int order[3 * N_BLOCKS];
    int n;
    int requeued;
    uint8_t data[64];
    fog_cid cid;
} order_rec;

typedef struct {
    order_rec *r;
    int tag;
} order_job;

static void order_cb(void *ud, int err)
{
    order_job *j = ud;
    assert_int_equal(err, 0);
    j->r->order[j->r->n++] = j->tag;
    if (j->tag == N_BLOCKS - 1 && j->r->requeued == 0) {
        j->r->requeued = 1; /* queued from the loop while no batch runs: a batch of its own */
        make_block(&j->r->cid, j->r->data, sizeof j->r->data, 7777);
        assert_int_equal(fog_store_writer_put(j->r->w, &j->r->cid, j->r->data,
                                              sizeof j->r->data, NULL, NULL),
                         0);
    }
}

static bool order_all(void *arg)
{
    return ((order_rec *)arg)->n == N_BLOCKS;
}

static void test_storew_done_in_order_after_commit(void **state)
{
    fix *f = *state;
    static order_rec r;
    static order_job jobs[N_BLOCKS];
    static uint8_t data[N_BLOCKS][512];
    memset(&r, 0, sizeof r);
    r.w = f->w;
    for (int i = 0; i < N_BLOCKS; i++) {
        fog_cid c;
        make_block(&c, data[i], sizeof data[i], 5000u + (uint32_t)i);
        jobs[i].r = &r;
        jobs[i].tag = i;
        assert_int_equal(fog_store_writer_put(f->w, &c, data[i], sizeof data[i], order_cb,
                                              &jobs[i]),
                         0);
        if (i % 10 == 9) {
            uv_run(&loop, UV_RUN_NOWAIT); /* let batches start between waves */
        }
    }
    assert_true(wait_for(order_all, &r));
    for (int i = 0; i < N_BLOCKS; i++) {
        assert_int_equal(r.order[i], i);
    }
    fog_store_writer_close(f->w, closed_cb, &f->closed);
    assert_true(wait_for(flag_set, &f->closed));
    assert_int_equal(fog_store_writer_pending_bytes(f->w), 0);
    assert_true(view_has(f->s, &r.cid)); /* the job queued from done was stored before close */
}

/* Close lets queued jobs finish and refuses new ones. */
static void test_storew_close_drains_then_refuses(void **state)
{
    fix *f = *state;
    uint8_t a[64];
    fog_cid ca;
    make_block(&ca, a, sizeof a, 2000);
    tally t = {0};
    assert_int_equal(fog_store_writer_put(f->w, &ca, a, sizeof a, count_cb, &t), 0);
    fog_store_writer_close(f->w, closed_cb, &f->closed);
    assert_int_equal(fog_store_writer_put(f->w, &ca, a, sizeof a, count_cb, &t),
                     FOG_ERR_CANCELLED);
    assert_false(f->closed);
    assert_true(wait_for(flag_set, &f->closed));
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.last_err, 0);
    assert_true(view_has(f->s, &ca));
    bool again = false;
    fog_store_writer_close(f->w, closed_cb, &again); /* a second close is a no-op */
    assert_false(again);
}

static void tick_cb(uv_timer_t *t)
{
    (*(int *)t->data)++;
}

/* Another process holds LMDB's write transaction for 400 ms: the writer's batch waits on the
 * pool while the loop keeps running (a 10 ms timer keeps ticking), then completes. */
static void test_storew_waits_off_the_loop(void **state)
{
    fix *f = *state;
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fog_store *c = NULL;
        fog_store_batch *b = NULL;
        uint8_t x[64];
        fog_cid cx;
        make_block(&cx, x, sizeof x, 3000);
        int ok = fog_store_open(&c, f->repo, FOG_STORE_WRITE) == 0 &&
                 fog_store_batch_begin(c, &b) == 0 && fog_store_batch_put(b, &cx, x, 64) == 0;
        (void)!write(pipefd[1], "x", 1); /* the write transaction is open now */
        usleep(400 * 1000);
        ok = ok && fog_store_batch_commit(b) == 0;
        fog_store_close(c);
        _exit(ok ? 0 : 1);
    }
    char ch;
    assert_int_equal(read(pipefd[0], &ch, 1), 1);
    close(pipefd[0]);
    close(pipefd[1]);
    uint8_t a[64];
    fog_cid ca;
    make_block(&ca, a, sizeof a, 3001);
    tally t = {0};
    int ticks = 0;
    static uv_timer_t tick; /* closed below, completed by the teardown's loop run */
    assert_int_equal(uv_timer_init(&loop, &tick), 0);
    tick.data = &ticks;
    uv_timer_start(&tick, tick_cb, 10, 10);
    uint64_t t0 = uv_hrtime();
    assert_int_equal(fog_store_writer_put(f->w, &ca, a, sizeof a, count_cb, &t), 0);
    while (t.calls == 0) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    uint64_t waited_ms = (uv_hrtime() - t0) / 1000000u;
    uv_close((uv_handle_t *)&tick, NULL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(t.last_err, 0);
    assert_true(waited_ms >= 200); /* it did wait for the other writer */
    assert_true(ticks >= 5);       /* and the loop ran meanwhile */
    assert_true(view_has(f->s, &ca));
}

/* No fixture: a process keeps one handle per repository (LMDB's rule). */
static void test_storew_refuses_read_only(void **state)
{
    (void)state;
    char root[64], repo[128];
    assert_true(tl_mkdtemp(root, sizeof root, "storew"));
    snprintf(repo, sizeof repo, "%s/repo", root);
    assert_int_equal(fog_repo_init(repo, NULL, 0), 0);
    fog_store *r = NULL;
    fog_store_writer *w = NULL;
    assert_int_equal(fog_store_open(&r, repo, FOG_STORE_READ), 0);
    assert_int_equal(fog_store_writer_new(&w, (uv_loop_t *)uv_default_loop(), r),
                     FOG_ERR_INVALID);
    assert_null(w);
    fog_store_close(r);
    tl_rm_rf(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_storew_puts_share_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storew_failure_fails_the_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storew_close_drains_then_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storew_done_in_order_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storew_waits_off_the_loop, setup, teardown),
        cmocka_unit_test(test_storew_refuses_read_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
