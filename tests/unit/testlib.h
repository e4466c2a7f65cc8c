/* testlib.h: small helpers that several unit-test programs share (header-only).
 * CMake builds each tests/unit/test_*.c alone into its own program, so this header holds
 * `static inline` functions (no .c file here: it would be taken for a test program). The helpers
 * cover the chores every test repeats: finding the spec vectors in $FOG_VECTORS (and printing the
 * skip line when they are missing), reading whole files, decoding hex, and making and removing
 * temporary folders. Failures inside a helper are cmocka assertions in the calling test.
 */
#ifndef FOG_TESTLIB_H
#define FOG_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fog/crypto.h"
#include "fog/store.h"
#include "fog/util.h"

/* $FOG_VECTORS, or a folder that does not exist, so that every vector test skips. */
static inline const char *tl_vectors(void)
{
    const char *v = getenv("FOG_VECTORS");
    return v != NULL ? v : "./missing-vectors";
}

/* Writes "$FOG_VECTORS/rel" to out; false, after printing the skip line, when it is missing. */
static inline bool tl_vec_path(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", tl_vectors(), rel);
    struct stat st;
    if (stat(out, &st) != 0) {
        print_message("skip: %s not found (no shared/vectors checkout)\n", out);
        return false;
    }
    return true;
}

/* Opens "$FOG_VECTORS/rel" for reading (its path in path); NULL, after the skip line, when it
 * is missing. */
static inline FILE *tl_vec_fopen(const char *rel, char *path, size_t cap)
{
    if (!tl_vec_path(path, cap, rel)) {
        return NULL;
    }
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    return f;
}

/* Appends the whole file at path to out; false when it cannot be opened. */
static inline bool tl_read_file(const char *path, fog_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return false;
    }
    uint8_t tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        assert_int_equal(fog_buf_append(out, tmp, n), 0);
    }
    fclose(f);
    return true;
}

/* The whole file at path in one malloc'd block (free it; never NULL for an empty file) and its
 * size in *len; NULL when the file cannot be opened. */
static inline uint8_t *tl_slurp(const char *path, size_t *len)
{
    fog_buf b;
    fog_buf_init(&b);
    *len = 0;
    if (!tl_read_file(path, &b)) {
        return NULL;
    }
    if (b.p == NULL) {
        b.p = malloc(1);
        assert_non_null(b.p);
    }
    *len = b.len;
    return b.p;
}

/* Decodes the hex text into out (cap bytes at most), which must succeed; returns the length. */
static inline size_t tl_unhex(const char *hex, uint8_t *out, size_t cap)
{
    int n = fog_hex_decode(hex, strlen(hex), out, cap);
    assert_true(n >= 0);
    return (size_t)n;
}

/* Removes path and, for a folder, everything below it (links are removed, not followed);
 * a missing path is fine. Returns 0, or -1 when something could not be removed. */
static inline int tl_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        return unlink(path) == 0 ? 0 : -1;
    }
    int rc = 0;
    DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            char sub[4096];
            int n = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            rc |= n > 0 && (size_t)n < sizeof sub ? tl_rm_rf(sub) : -1;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return rmdir(path) == 0 ? rc : -1;
}

/* Makes a fresh, empty folder "$TMPDIR/fog-<tag>-XXXXXX" (TMPDIR defaults to /tmp) and writes
 * its path to out; false when it could not. */
static inline bool tl_mkdtemp(char *out, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    int n = snprintf(out, cap, "%s/fog-%s-XXXXXX", base != NULL ? base : "/tmp", tag);
    return n > 0 && (size_t)n < cap && mkdtemp(out) != NULL;
}

/* A fresh repository: "<tmp>/repo" made by fog_repo_init in a folder of tl_mkdtemp (crypto
 * initialised first), opened FOG_STORE_WRITE into st when open is true. False when any step
 * failed (nothing is left behind then). tl_repo_done closes and removes it. */
typedef struct {
    char root[64];
    char repo[128];
    fog_store *st;
} tl_repo;

static inline bool tl_repo_make(tl_repo *t, const char *tag, bool open)
{
    memset(t, 0, sizeof *t);
    if (fog_crypto_init() < 0 || !tl_mkdtemp(t->root, sizeof t->root, tag)) {
        return false;
    }
    snprintf(t->repo, sizeof t->repo, "%s/repo", t->root);
    if (fog_repo_init(t->repo, NULL, 0) < 0 ||
        (open && fog_store_open(&t->st, t->repo, FOG_STORE_WRITE) < 0)) {
        tl_rm_rf(t->root);
        return false;
    }
    return true;
}

static inline void tl_repo_done(tl_repo *t)
{
    fog_store_close(t->st);
    t->st = NULL;
    tl_rm_rf(t->root);
}

/* cmocka setup and teardown giving each test a tl_repo in *state (opened, or not opened). */
static inline int tl_repo_state(void **state, const char *tag, bool open)
{
    tl_repo *t = calloc(1, sizeof *t);
    if (t == NULL || !tl_repo_make(t, tag, open)) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}
static inline int tl_repo_setup(void **state)
{
    return tl_repo_state(state, "repo", true);
}
static inline int tl_repo_setup_closed(void **state)
{
    return tl_repo_state(state, "repo", false);
}
static inline int tl_repo_teardown(void **state)
{
    tl_repo_done(*state);
    free(*state);
    return 0;
}

#endif
