/* repo.c: creating and opening a repository; the lock; LMDB environment and transaction helpers.
 * A repository is DIR/config (written last by init, so its presence means the repository is
 * complete), DIR/repo.lock and DIR/blocks/ (one LMDB environment with the sub-databases "blocks",
 * "pins" and "meta"; store.h has the layout).
 * Locking: flock(2) on repo.lock, LOCK_SH for readers and writers (LMDB's own writer mutex in
 * lock.mdb, a robust mutex on Linux, serialises write transactions between processes, so a
 * daemon and `fog add` may write the same repository) and LOCK_EX for gc and init, all LOCK_NB
 * so that gc fails at once with FOG_ERR_LOCKED instead of waiting behind a daemon. flock locks belong to the open file description, so they vanish with a
 * killed process and a second open in the same process conflicts like another process would.
 * LMDB environment: 1 TiB map by default (address space only: without MDB_WRITEMAP the file
 * grows only as pages are written), MDB_NOTLS so that read transactions may move between
 * threads (libuv's pool), MDB_RDONLY for readers. Commits are durable (fdatasync, then the meta
 * page through LMDB's O_DSYNC descriptor) except the intermediate commits of a write batch,
 * which set MDB_NOMETASYNC around mdb_txn_commit: LMDB 0.9.24 ignores sync flags given to
 * mdb_txn_begin (MDB_TXN_BEGIN_FLAGS is MDB_RDONLY only) and reads env->me_flags at commit
 * time, and mdb_env_set_flags may change MDB_NOMETASYNC at any time.
 * Memory: without MDB_WRITEMAP, LMDB mallocs every dirty page of a write transaction and frees
 * the overflow pages of large values (a 1 MiB block is one 1 MiB + 4 KiB allocation) at commit.
 * glibc then trims the heap top after every batch commit (its dynamic trim threshold settles at
 * about 2 MiB), and the next transaction faults all those pages in again. On this project's VMs
 * a page fault costs several microseconds: measured with 1024 x 1 MiB through a batch, 124,000
 * minor faults and 120-200 MB/s, against 3,200 faults and 330-1000 MB/s with the thresholds
 * fixed. So a writer sets M_MMAP_THRESHOLD to 4 MiB (blocks up to 2 MiB come from the heap) and
 * M_TRIM_THRESHOLD to 32 MiB (a batch's freed pages stay for the next transaction). Peak RSS
 * is unchanged, since it is set by the batch size; at most 32 MiB of freed heap is retained.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fog/mf.h"

#define LOCK_NAME "repo.lock"
#define BLOCKS_NAME "blocks"
#define STORE_MAX_DBS 8

const char *fog_repo_default_path(void)
{
    static char path[4096];
    const char *env = getenv("FOG_PATH");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0') {
        return NULL;
    }
    int n = snprintf(path, sizeof path, "%s/.fog", home);
    return n > 0 && (size_t)n < sizeof path ? path : NULL;
}

int fog__store_mdb_err(const fog_store *s, int rc, const char *what)
{
    const char *dir = s != NULL ? s->dir : "?";
    if (rc == MDB_MAP_FULL || rc == ENOSPC) {
        return fog_errf(FOG_ERR_STORE_FULL, "repository %s is full (%s): %s", dir, what,
                        mdb_strerror(rc));
    }
    if (rc == ENOMEM) {
        return fog_errf(FOG_ERR_NOMEM, "%s in repository %s: %s", what, dir, mdb_strerror(rc));
    }
    return fog_errf(FOG_ERR_STORE, "%s in repository %s: %s", what, dir, mdb_strerror(rc));
}

int fog__store_need_write(const fog_store *s)
{
    if (s->mode == FOG_STORE_READ) {
        return fog_errf(FOG_ERR_INVALID, "repository %s is open read-only", s->dir);
    }
    return 0;
}

int fog__store_read_begin(fog_store *s, MDB_txn **txn_out)
{
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn_out);
    return rc != 0 ? fog__store_mdb_err(s, rc, "read transaction") : 0;
}

int fog__store_write_begin(fog_store *s, MDB_txn **txn_out)
{
    int rc = fog__store_need_write(s);
    if (rc < 0) {
        return rc;
    }
    if (s->batch_open) {
        return fog_errf(FOG_ERR_INVALID, "repository %s: a write batch is open", s->dir);
    }
    rc = mdb_txn_begin(s->env, NULL, 0, txn_out);
    return rc != 0 ? fog__store_mdb_err(s, rc, "write transaction") : 0;
}

int fog__store_commit(fog_store *s, MDB_txn *txn, bool durable)
{
    int rc;
    if (durable) {
        rc = mdb_txn_commit(txn);
    } else {
        /* Only this handle's writer commits on this environment, so the flag cannot leak into
         * another commit: it is set just for this one and cleared right after. */
        (void)mdb_env_set_flags(s->env, MDB_NOMETASYNC, 1); /* cannot fail: a changeable flag */
        rc = mdb_txn_commit(txn);
        (void)mdb_env_set_flags(s->env, MDB_NOMETASYNC, 0);
    }
    return rc != 0 ? fog__store_mdb_err(s, rc, "commit") : 0;
}

int fog__store_sync(fog_store *s)
{
    int rc = mdb_env_sync(s->env, 1);
    return rc != 0 ? fog__store_mdb_err(s, rc, "sync") : 0;
}

int fog__store_meta_get(fog_store *s, MDB_txn *txn, const char *key, uint64_t *out)
{
    MDB_val k = {strlen(key), (void *)(uintptr_t)key};
    MDB_val v;
    *out = 0;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return fog__store_mdb_err(s, rc, "meta read");
    }
    if (v.mv_size != 8) {
        return fog_errf(FOG_ERR_STORE, "repository %s: meta %s is not a counter", s->dir, key);
    }
    fog_reader r;
    fog_reader_init(&r, v.mv_data, v.mv_size);
    fog_reader_le64(&r, out);
    return 0;
}

int fog__store_meta_put(fog_store *s, MDB_txn *txn, const char *key, uint64_t v)
{
    uint8_t b[8];
    for (size_t i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    MDB_val k = {strlen(key), (void *)(uintptr_t)key};
    MDB_val d = {sizeof b, b};
    int rc = mdb_put(txn, s->meta, &k, &d, 0);
    return rc != 0 ? fog__store_mdb_err(s, rc, "meta write") : 0;
}

int fog__store_content_add(fog_store *s, MDB_txn *txn, int64_t delta)
{
    if (delta == 0) {
        return 0;
    }
    uint64_t cur;
    int rc = fog__store_meta_get(s, txn, "content_bytes", &cur);
    if (rc < 0) {
        return rc;
    }
    if (delta < 0) {
        uint64_t down = (uint64_t)(-(delta + 1)) + 1;
        cur = down > cur ? 0 : cur - down;
    } else {
        cur += (uint64_t)delta;
    }
    return fog__store_meta_put(s, txn, "content_bytes", cur);
}

/* mkdir -p with mode 0700 for the directories it creates. */
static int mkdir_p(const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path) {
        return fog_errf(FOG_ERR_INVALID, "bad repository path '%s'", dir);
    }
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0') {
            continue;
        }
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST) {
            return fog_errf(FOG_ERR_IO, "cannot create directory %s: %s", path, strerror(errno));
        }
        path[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        return fog_errf(FOG_ERR_IO, "%s is not a directory", dir);
    }
    return 0;
}

/* Opens DIR/repo.lock (creating it when allowed) and takes the lock for mode without waiting. */
static int lock_take(const char *dir, int mode, bool create, int *fd_out)
{
    char path[4096];
    int rc = fog__store_path(path, sizeof path, dir, LOCK_NAME);
    if (rc < 0) {
        return rc;
    }
    int flags = O_CLOEXEC | (mode == FOG_STORE_READ ? O_RDONLY : O_RDWR);
    int fd = open(path, flags | (create ? O_CREAT : 0), 0600);
    if (fd < 0 && errno == ENOENT && !create) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600); /* lost lock file: recreate */
    }
    if (fd < 0) {
        return fog_errf(FOG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    int op = (mode == FOG_STORE_EXCLUSIVE ? LOCK_EX : LOCK_SH) | LOCK_NB;
    while (flock(fd, op) < 0) {
        int e = errno;
        if (e == EINTR) {
            continue;
        }
        close(fd);
        if (e == EWOULDBLOCK) {
            return fog_errf(FOG_ERR_LOCKED,
                            "repository %s is locked by another process (a running fog command "
                            "or daemon)",
                            dir);
        }
        return fog_errf(FOG_ERR_IO, "cannot lock %s: %s", path, strerror(e));
    }
    *fd_out = fd;
    return 0;
}

static int dbis_open(fog_store *s, MDB_txn *txn, unsigned flags)
{
    static const char *const names[3] = {"blocks", "pins", "meta"};
    MDB_dbi *dbis[3] = {&s->blocks, &s->pins, &s->meta};
    for (size_t i = 0; i < 3; i++) {
        int rc = mdb_dbi_open(txn, names[i], flags, dbis[i]);
        if (rc != 0) {
            return fog__store_mdb_err(s, rc, names[i]);
        }
    }
    /* Provider records (providers.c) came after schema 1 repositories were made: a writable
     * handle creates the sub-database, a read-only one of an older repository goes without. */
    unsigned pflags = s->mode != FOG_STORE_READ ? MDB_CREATE : 0;
    int rc = mdb_dbi_open(txn, "providers", pflags, &s->providers);
    s->has_providers = rc == 0;
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return fog__store_mdb_err(s, rc, "providers");
    }
    /* So did the DHT's value records (records.c). */
    rc = mdb_dbi_open(txn, "records", pflags, &s->records);
    s->has_records = rc == 0;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : fog__store_mdb_err(s, rc, "records");
}

/* An address inside LMDB's map: a key of the main database (its leaf page lives in the map),
 * or 0 when it is empty (a fresh environment). */
static uintptr_t map_hint(fog_store *s)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi main_dbi;
    MDB_val k, v;
    uintptr_t hint = 0;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) {
        return 0;
    }
    if (mdb_dbi_open(txn, NULL, 0, &main_dbi) == 0 && mdb_cursor_open(txn, main_dbi, &cur) == 0 &&
        mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0) {
        hint = (uintptr_t)k.mv_data;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return hint;
}

/* Finds LMDB's map of the data file in /proc/self/maps (LMDB does not say where it mapped the
 * file unless MDB_FIXEDMAP), so that fog_store_copy_lent can turn a lent pointer into a file
 * offset and pread(2) it instead of faulting the map in. Of several maps of the file (the same
 * repository opened twice in one process) the one holding an address of ours is taken. Best
 * effort: map_base stays 0 (and the copy falls back to memcpy) when no map is found; a wrong
 * one could not be used either, since only pointers inside the map found are read by offset. */
static void map_find(fog_store *s)
{
    struct stat st;
    int fd = -1;
    s->map_base = 0;
    s->data_fd = -1;
    if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) < 0) {
        return;
    }
    uintptr_t hint = map_hint(s);
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL) {
        return;
    }
    char line[4352];
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long lo, hi, off, ino;
        unsigned maj, mnr;
        if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &lo, &hi, &off, &maj, &mnr, &ino) == 6 &&
            off == 0 && ino == (unsigned long long)st.st_ino && maj == major(st.st_dev) &&
            mnr == minor(st.st_dev) && hi > lo &&
            (hint == 0 || (hint >= (uintptr_t)lo && hint < (uintptr_t)hi))) {
            s->map_base = (uintptr_t)lo;
            s->map_len = (size_t)(hi - lo);
            s->data_fd = fd;
            break;
        }
    }
    fclose(f);
}

/* Opens s->env on DIR/blocks and the three sub-databases. create: make them (init). */
static int env_open(fog_store *s, uint64_t map_size, bool create)
{
    char path[4096];
    int rc = fog__store_path(path, sizeof path, s->dir, BLOCKS_NAME);
    if (rc < 0) {
        return rc;
    }
    if (create && mkdir(path, 0700) < 0 && errno != EEXIST) {
        return fog_errf(FOG_ERR_IO, "cannot create directory %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        return fog_errf(FOG_ERR_STORE, "repository %s has no block store (%s is missing)", s->dir,
                        path);
    }
    if ((rc = mdb_env_create(&s->env)) != 0) {
        s->env = NULL;
        return fog__store_mdb_err(s, rc, "environment");
    }
    unsigned flags = MDB_NOTLS | (s->mode == FOG_STORE_READ ? MDB_RDONLY : 0);
    if ((rc = mdb_env_set_maxdbs(s->env, STORE_MAX_DBS)) != 0 ||
        (rc = mdb_env_set_mapsize(s->env, (size_t)map_size)) != 0 ||
        (rc = mdb_env_open(s->env, path, flags, 0600)) != 0) {
        return fog__store_mdb_err(s, rc, "opening the block store");
    }
    if (s->mode != FOG_STORE_READ) {
        int dead = 0;
        /* Slots of readers that died (kill -9) would pin old pages and make the file grow. */
        (void)mdb_reader_check(s->env, &dead); /* best effort: only frees stale slots */
    }
    map_find(s);
    return 0;
}

/* Opens the sub-databases; init also writes the schema version. Checks the version on open. */
static int schema_setup(fog_store *s, bool create)
{
    MDB_txn *txn = NULL;
    int rc = create || s->mode != FOG_STORE_READ ? fog__store_write_begin(s, &txn)
                                                   : fog__store_read_begin(s, &txn);
    if (rc < 0) {
        return rc;
    }
    uint64_t version = 0;
    if ((rc = dbis_open(s, txn, create ? MDB_CREATE : 0)) < 0 ||
        (create && (rc = fog__store_meta_put(s, txn, "version", STORE_SCHEMA_VERSION)) < 0) ||
        (rc = fog__store_meta_get(s, txn, "version", &version)) < 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    if (version != STORE_SCHEMA_VERSION) {
        mdb_txn_abort(txn);
        return fog_errf(FOG_ERR_UNSUPPORTED, "repository %s has store version %llu, fog reads %d",
                        s->dir, (unsigned long long)version, STORE_SCHEMA_VERSION);
    }
    /* A read-only txn's commit keeps the DBI handles it opened, like a write commit does. */
    rc = mdb_txn_commit(txn);
    return rc != 0 ? fog__store_mdb_err(s, rc, "opening the sub-databases") : 0;
}

static int store_alloc(fog_store **out, const char *dir, int mode)
{
    fog_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        return fog_errf(FOG_ERR_NOMEM, "out of memory opening %s", dir);
    }
    s->lock_fd = -1;
    s->mode = mode;
    *out = s;
    return 0;
}

/* Process-wide malloc settings for LMDB's write pattern (see the top of this file). */
static void malloc_tune(void)
{
#if defined(__GLIBC__)
    (void)mallopt(M_MMAP_THRESHOLD, 4 << 20); /* 0 only for a value out of range */
    (void)mallopt(M_TRIM_THRESHOLD, 32 << 20);
#endif
}

int fog_store_open(fog_store **out, const char *dir, int mode)
{
    fog_store *s = NULL;
    uint64_t map_size = 0;
    *out = NULL;
    int rc = fog_crypto_init();
    if (rc < 0 || (rc = store_alloc(&s, dir, mode)) < 0) {
        return rc;
    }
    if ((rc = fog__store_config_read(dir, s->secret, s->peer_id, &map_size)) < 0 ||
        (rc = lock_take(dir, mode, false, &s->lock_fd)) < 0 ||
        (rc = env_open(s, map_size, false)) < 0 || (rc = schema_setup(s, false)) < 0) {
        fog_store_close(s);
        return rc;
    }
    if (mode != FOG_STORE_READ) {
        malloc_tune();
    }
    *out = s;
    return 0;
}

void fog_store_close(fog_store *s)
{
    if (s == NULL) {
        return;
    }
    if (s->env != NULL) {
        mdb_env_close(s->env);
    }
    if (s->lock_fd >= 0) {
        close(s->lock_fd); /* releases the flock */
    }
    fog_memzero(s->secret, sizeof s->secret);
    free(s->dir);
    free(s);
}

const char *fog_store_path(const fog_store *s)
{
    return s->dir;
}

const char *fog_store_peer_id(const fog_store *s)
{
    return s->peer_id;
}

void fog_store_identity_secret(const fog_store *s, uint8_t secret_out[FOG_ED25519_SECRET_LEN])
{
    memcpy(secret_out, s->secret, FOG_ED25519_SECRET_LEN);
}

static int config_exists(const char *dir)
{
    char path[4096];
    int rc = fog__store_path(path, sizeof path, dir, "config");
    if (rc < 0) {
        return rc;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        return fog_errf(FOG_ERR_EXISTS, "a fog repository already exists at %s", dir);
    }
    return 0;
}

/* The steps of init under the exclusive lock: block store first, config (the marker) last. */
static int init_locked(fog_store *s, char *peer_id_out, size_t peer_id_cap)
{
    int rc = config_exists(s->dir);
    if (rc < 0 || (rc = env_open(s, STORE_MAP_SIZE_DEFAULT, true)) < 0 ||
        (rc = schema_setup(s, true)) < 0) {
        return rc;
    }
    uint8_t pub[FOG_ED25519_PUB_LEN];
    fog_ed25519_keypair(pub, s->secret);
    if ((rc = fog__store_peer_id_text(pub, s->peer_id, sizeof s->peer_id)) < 0 ||
        (rc = fog__store_config_write(s->dir, s->secret, s->peer_id)) < 0) {
        return rc;
    }
    if (peer_id_out != NULL) {
        size_t n = strlen(s->peer_id);
        if (n >= peer_id_cap) {
            return fog_errf(FOG_ERR_LIMIT, "peer ID needs %zu bytes", n + 1);
        }
        memcpy(peer_id_out, s->peer_id, n + 1);
    }
    return 0;
}

int fog_repo_init(const char *dir, char *peer_id_out, size_t peer_id_cap)
{
    fog_store *s = NULL;
    int rc = fog_crypto_init();
    if (rc < 0 || (rc = config_exists(dir)) < 0 || (rc = mkdir_p(dir)) < 0 ||
        (rc = store_alloc(&s, dir, FOG_STORE_EXCLUSIVE)) < 0) {
        return rc;
    }
    if ((rc = lock_take(dir, FOG_STORE_EXCLUSIVE, true, &s->lock_fd)) == 0) {
        rc = init_locked(s, peer_id_out, peer_id_cap);
    }
    if (rc == 0) {
        rc = fog__store_fsync_dir(dir); /* repo.lock and blocks/ entries */
    }
    fog_store_close(s);
    return rc;
}
