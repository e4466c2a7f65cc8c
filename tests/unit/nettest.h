/* nettest.h: the fixture of the unit tests that run real fog_nodes with bitswap over loopback
 * TCP on one libuv loop, each node with its own temporary repository, store and store writer
 * (test_fetch.c, test_bswap.c). Header-only like testlib.h and uvtest.h; include after both.
 * Every function is a cmocka assertion on failure.
 * FOG_TEST_LOG=LEVEL prints the nodes' and bitswap's log lines up to LEVEL.
 */
#ifndef FOG_TESTS_NETTEST_H
#define FOG_TESTS_NETTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/bswap.h"
#include "fog/crypto.h"
#include "fog/node.h"
#include "fog/store.h"
#include "fog/storew.h"
#include "testlib.h"
#include "uvtest.h"

typedef struct {
    char dir[256];
    fog_store *store;
    fog_store_writer *w;
    fog_node *n;
    fog_bswap *b;
    uint8_t id[FOG_PEER_ID_MAX];
    size_t id_len;
    fog_multiaddr addr;
    bool closed, wclosed;
} tnode;

static inline void nt_set_true(void *ud)
{
    *(bool *)ud = true;
}

static inline void nt_log_line(void *ctx, int level, const char *module, const char *msg)
{
    (void)ctx;
    print_message("  [%d %s] %s\n", level, module, msg);
}

/* A new repository in a temporary folder named after tag, its store open for writing. */
static inline void repo_make(tnode *t, const char *tag)
{
    memset(t, 0, sizeof *t);
    assert_true(tl_mkdtemp(t->dir, sizeof t->dir, tag));
    assert_int_equal(fog_repo_init(t->dir, NULL, 0), 0);
    assert_int_equal(fog_store_open(&t->store, t->dir, FOG_STORE_WRITE), 0);
}

/* The node with the repository's identity listening on 127.0.0.1, its store writer and bitswap
 * (wants time out after 1 s). */
static inline void node_start(tnode *t)
{
    uint8_t secret[64];
    fog_store_identity_secret(t->store, secret);
    fog_node_config cfg;
    fog_node_config_default(&cfg);
    cfg.identity_secret = secret;
    fog_log_sink log = {0};
    if (getenv("FOG_TEST_LOG") != NULL) {
        log.fn = nt_log_line;
        log.level = atoi(getenv("FOG_TEST_LOG"));
    }
    cfg.log = log;
    assert_int_equal(fog_multiaddr_parse(&cfg.listen[0], "/ip4/127.0.0.1/tcp/0"), 0);
    cfg.n_listen = 1;
    assert_int_equal(fog_node_new(&t->n, &loop, &cfg), 0);
    assert_int_equal(fog_store_writer_new(&t->w, &loop, t->store), 0);
    fog_bswap_config bc;
    fog_bswap_config_default(&bc);
    bc.loop = &loop;
    bc.store = t->store;
    bc.writer = t->w;
    bc.log = log;
    bc.want_timeout_ms = 1000;
    assert_int_equal(fog_bswap_new(&t->b, t->n, &bc), 0);
    fog_node_observer o = fog_bswap_observer(t->b);
    fog_node_set_observer(t->n, &o);
    assert_int_equal(fog_node_start(t->n), 0);
    assert_int_equal(fog_node_listen_addrs(t->n, &t->addr, 1), 1);
    fog_slice me = fog_node_peer_id(t->n);
    memcpy(t->id, me.p, me.len);
    t->id_len = me.len;
}

/* Closes everything node_start opened, then the store, and removes the repository. */
static inline void node_stop(tnode *t)
{
    fog_node_close(t->n, nt_set_true, &t->closed);
    assert_true(wait_for(is_true, &t->closed));
    fog_bswap_free(t->b);
    fog_store_writer_close(t->w, nt_set_true, &t->wclosed);
    assert_true(wait_for(is_true, &t->wclosed));
    fog_store_writer_free(t->w);
    fog_node_free(t->n);
    fog_store_close(t->store);
    assert_int_equal(tl_rm_rf(t->dir), 0);
}

typedef struct {
    bool done;
    int err;
} dial_res;

static inline void nt_dial_cb(void *ud, int err, const char *detail, fog_slice peer)
{
    (void)detail, (void)peer;
    dial_res *r = ud;
    r->done = true;
    r->err = err;
}

/* a dials b and the connection is up. */
static inline void connect_pair(tnode *a, tnode *b)
{
    dial_res r = {0};
    assert_int_equal(fog_node_dial(a->n, &b->addr, nt_dial_cb, &r), 0);
    assert_true(wait_for(is_true, &r.done));
    assert_int_equal(r.err, 0);
}

/* cmocka setup and teardown of a test: the crypto library, the loop and its watchdog. */
static inline int nt_setup(void **state)
{
    (void)state;
    assert_int_equal(fog_crypto_init(), 0);
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &wd);
    return 0;
}

static inline int nt_teardown(void **state)
{
    (void)state;
    uv_close((uv_handle_t *)&wd, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

#endif
