/* uvtest.h: the loop helpers of the unit tests that run real nodes on one libuv loop
 * (test_node.c, test_dht.c): the loop itself, a watchdog that keeps uv_run waking up, and
 * wait_for, which runs the loop until a condition holds or WATCHDOG_MS pass, so that a hang
 * fails the test instead of blocking it. Include after <uv.h>; each test program has one loop.
 */
#ifndef FOG_TESTS_UVTEST_H
#define FOG_TESTS_UVTEST_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#define WATCHDOG_MS 15000

static uv_loop_t loop;
static uv_timer_t wd; /* wakes the loop so that wait_for sees its deadline */

static void wd_cb(uv_timer_t *t)
{
    (void)t;
}

static bool wait_for(bool (*cond)(void *), void *arg)
{
    uint64_t end = uv_hrtime() + (uint64_t)WATCHDOG_MS * 1000000u;
    uv_timer_start(&wd, wd_cb, 50, 50);
    bool ok;
    while (!(ok = cond(arg)) && uv_hrtime() < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&wd);
    return ok;
}

static inline bool is_true(void *arg)
{
    return *(bool *)arg;
}

#endif
