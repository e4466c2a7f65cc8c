/* test_diff.c: fog_diff (src/dag/diff.c) over trees imported by fog's importer into a real
 * repository in a temporary folder, and over small DAGs written by hand into the same repository
 * for the hostile cases (plus a source that lends wrong bytes, for verification). The expected
 * changes follow from how the trees on disk were changed; the expected block counts follow from
 * which directories lie on the changed paths (raw leaves are never fetched, a dag-pb entry once to
 * learn whether it is a directory).
 */
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>

#include "fog/crypto.h"
#include "fog/diff.h"
#include "fog/store.h"
#include "fog/unixfs.h"

/* ---- recording the changes ---- */

typedef struct {
    fog_diff_kind kind;
    char path[512];
    bool is_dir;
    bool has_a, has_b;
    fog_cid a, b;
} change;

typedef struct {
    change v[64];
    size_t n;
    int stop_at; /* > 0: return 99 on this change */
} changes;

static int record(void *ud, fog_diff_kind kind, const char *path, const fog_cid *a,
                  const fog_cid *b, bool is_dir)
{
    changes *cs = ud;
    assert_true(cs->n < 64);
    change *c = &cs->v[cs->n++];
    c->kind = kind;
    snprintf(c->path, sizeof c->path, "%s", path);
    c->is_dir = is_dir;
    c->has_a = a != NULL;
    c->has_b = b != NULL;
    if (a != NULL) {
        c->a = *a;
    }
    if (b != NULL) {
        c->b = *b;
    }
    /* Which side is present follows from the kind. */
    assert_true(c->has_a == (kind != FOG_DIFF_ADDED));
    assert_true(c->has_b == (kind != FOG_DIFF_REMOVED));
    return cs->stop_at > 0 && (int)cs->n == cs->stop_at ? 99 : 0;
}

static void expect(const changes *cs, size_t i, fog_diff_kind kind, const char *path, bool is_dir)
{
    assert_true(i < cs->n);
    if (cs->v[i].kind != kind || strcmp(cs->v[i].path, path) != 0 || cs->v[i].is_dir != is_dir) {
        print_message("change %zu: got %d \"%s\" dir %d, want %d \"%s\" dir %d\n", i, cs->v[i].kind,
                      cs->v[i].path, cs->v[i].is_dir, kind, path, is_dir);
        fail();
    }
}

/* ---- trees on disk, imported into a repository ---- */

typedef struct {
    tl_repo r;
    fog_store *st;
    fog_store_view *view;
    fog_store_batch *batch; /* open while blocks are being added */
    fog_blocksource src;
} fixture;

static int setup(void **state)
{
    fixture *t = calloc(1, sizeof *t);
    if (t == NULL || !tl_repo_make(&t->r, "diff", true)) {
        free(t);
        return -1;
    }
    t->st = t->r.st;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    fixture *t = *state;
    fog_store_batch_abort(t->batch);
    fog_store_view_end(t->view);
    tl_repo_done(&t->r);
    free(t);
    return 0;
}

/* Writes text to root/rel, making the folders on the way. */
static void put(const fixture *t, const char *rel, const char *text)
{
    char p[512];
    int n = snprintf(p, sizeof p, "%s/%s", t->r.root, rel);
    assert_true(n > 0 && (size_t)n < sizeof p);
    for (char *s = p + strlen(t->r.root) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
        *s = '/';
    }
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void rm(const fixture *t, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", t->r.root, rel);
    assert_int_equal(tl_rm_rf(p), 0);
}

/* Blocks are added through one open batch; source() commits it and opens a fresh view, so
 * that what was added is seen. */
static fog_store_batch *batch(fixture *t)
{
    if (t->batch == NULL) {
        fog_store_view_end(t->view);
        t->view = NULL;
        assert_int_equal(fog_store_batch_begin(t->st, &t->batch), 0);
    }
    return t->batch;
}

static const fog_blocksource *source(fixture *t)
{
    if (t->batch != NULL) {
        assert_int_equal(fog_store_batch_commit(t->batch), 0);
        t->batch = NULL;
        assert_int_equal(fog_store_view_begin(t->st, &t->view), 0);
        fog_blocksource_from_view(&t->src, t->view);
    }
    return &t->src;
}

/* Imports root/rel (profile unixfs-v1-2025: raw leaves) into the repository; hamt_threshold 0
 * keeps the profile's, fanout 0 too. */
static fog_cid import(fixture *t, const char *rel, size_t hamt_threshold, unsigned fanout)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", t->r.root, rel);
    fog_import_opts o;
    assert_int_equal(fog_import_profile(&o, "unixfs-v1-2025"), 0);
    o.threads = 1;
    if (hamt_threshold != 0) {
        o.hamt_threshold_bytes = hamt_threshold;
    }
    if (fanout != 0) {
        o.hamt_fanout = fanout;
    }
    fog_blocksink sink;
    fog_blocksink_from_batch(&sink, batch(t));
    fog_cid root;
    assert_int_equal(fog_import_path(p, &o, &sink, NULL, &root), 0);
    source(t);
    return root;
}

static fog_cid raw_cid(const char *text)
{
    fog_cid c;
    assert_int_equal(
        fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, (const uint8_t *)text, strlen(text)), 0);
    return c;
}

static void base_tree(const fixture *t, const char *top)
{
    char rel[128];
    static const char *const files[][2] = {
        {"a/b/c/deep.txt", "one"}, {"a/b/c/other.txt", "other"}, {"a/keep.txt", "keep"},
        {"top.txt", "top"},        {"gone.txt", "gone"},         {"olddir/x.txt", "x"},
        {"swap", "a file first"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(rel, sizeof rel, "%s/%s", top, files[i][0]);
        put(t, rel, files[i][1]);
    }
}

static void test_diff_identical_roots(void **state)
{
    fixture *t = *state;
    base_tree(t, "same1");
    base_tree(t, "same2");
    fog_cid a = import(t, "same1", 0, 0), b = import(t, "same2", 0, 0);
    assert_true(fog_cid_eq(&a, &b));
    changes cs = {0};
    fog_diff_stats st = {7, 7};
    assert_int_equal(fog_diff(&t->src, &a, &b, record, &cs, &st), 0);
    assert_int_equal(cs.n, 0);
    assert_int_equal(st.blocks_read, 0);
    assert_int_equal(st.entries_compared, 0);
    /* The CIDv0 form names the same block. */
    fog_cid v0;
    assert_int_equal(fog_cid_to_v0(&a, &v0), 0);
    assert_int_equal(fog_diff(&t->src, &v0, &b, record, &cs, &st), 0);
    assert_int_equal(cs.n, 0);
    assert_int_equal(st.blocks_read, 0);
}

static void test_diff_deep_change(void **state)
{
    fixture *t = *state;
    base_tree(t, "d1");
    base_tree(t, "d2");
    put(t, "d2/a/b/c/deep.txt", "two");
    fog_cid a = import(t, "d1", 0, 0), b = import(t, "d2", 0, 0);
    changes cs = {0};
    fog_diff_stats st;
    assert_int_equal(fog_diff(&t->src, &a, &b, record, &cs, &st), 0);
    assert_int_equal(cs.n, 1);
    expect(&cs, 0, FOG_DIFF_CHANGED, "a/b/c/deep.txt", false);
    fog_cid one = raw_cid("one"), two = raw_cid("two");
    assert_true(fog_cid_eq(&cs.v[0].a, &one));
    assert_true(fog_cid_eq(&cs.v[0].b, &two));
    /* The roots, a, a/b and a/b/c on each side; the raw leaves are never fetched. */
    assert_int_equal(st.blocks_read, 8);
    /* Names merged: the root's 5, a's 2 (b, keep.txt), b's 1 (c), c's 2. */
    assert_int_equal(st.entries_compared, 5 + 2 + 1 + 2);
    /* A non-zero return of the callback stops the diff and comes back. */
    changes stop = {.stop_at = 1};
    assert_int_equal(fog_diff(&t->src, &a, &b, record, &stop, NULL), 99);
    /* Backwards, the same change with the sides swapped. */
    cs.n = 0;
    assert_int_equal(fog_diff(&t->src, &b, &a, record, &cs, NULL), 0);
    assert_int_equal(cs.n, 1);
    assert_true(fog_cid_eq(&cs.v[0].a, &two));
}

static void test_diff_added_removed(void **state)
{
    fixture *t = *state;
    base_tree(t, "e1");
    base_tree(t, "e2");
    put(t, "e2/a/b/c/deep.txt", "changed");
    put(t, "e2/new.txt", "new");
    put(t, "e2/newdir/y.txt", "y");
    put(t, "e2/newdir/z/zz.txt", "zz");
    rm(t, "e2/gone.txt");
    rm(t, "e2/olddir");
    rm(t, "e2/swap");
    put(t, "e2/swap/in.txt", "a folder now");
    fog_cid a = import(t, "e1", 0, 0), b = import(t, "e2", 0, 0);
    changes cs = {0};
    fog_diff_stats st;
    assert_int_equal(fog_diff(&t->src, &a, &b, record, &cs, &st), 0);
    assert_int_equal(cs.n, 6);
    expect(&cs, 0, FOG_DIFF_CHANGED, "a/b/c/deep.txt", false);
    expect(&cs, 1, FOG_DIFF_REMOVED, "gone.txt", false);
    expect(&cs, 2, FOG_DIFF_ADDED, "new.txt", false);
    expect(&cs, 3, FOG_DIFF_ADDED, "newdir", true); /* once, not its contents */
    expect(&cs, 4, FOG_DIFF_REMOVED, "olddir", true);
    expect(&cs, 5, FOG_DIFF_CHANGED, "swap", true); /* a file became a folder */
    /* 8 on the deep path, then newdir and olddir once each to learn they are folders, and the
     * new swap (a folder: the old one is a raw file, known without a fetch). */
    assert_int_equal(st.blocks_read, 8 + 3);
    /* The other way round a folder became a file: no block of the new side is needed. */
    cs.n = 0;
    assert_int_equal(fog_diff(&t->src, &b, &a, record, &cs, &st), 0);
    assert_int_equal(cs.n, 6);
    expect(&cs, 1, FOG_DIFF_ADDED, "gone.txt", false);
    expect(&cs, 5, FOG_DIFF_CHANGED, "swap", false);
    assert_int_equal(st.blocks_read, 8 + 2);
}

static void test_diff_roots_not_directories(void **state)
{
    fixture *t = *state;
    put(t, "r/f.txt", "file one");
    put(t, "r/g.txt", "file two");
    put(t, "r/dir/x", "x");
    fog_cid f = import(t, "r/f.txt", 0, 0), g = import(t, "r/g.txt", 0, 0);
    fog_cid d = import(t, "r/dir", 0, 0);
    changes cs = {0};
    fog_diff_stats st;
    assert_int_equal(fog_diff(&t->src, &f, &g, record, &cs, &st), 0);
    assert_int_equal(cs.n, 1);
    expect(&cs, 0, FOG_DIFF_CHANGED, "", false);
    assert_int_equal(st.blocks_read, 0);
    cs.n = 0;
    assert_int_equal(fog_diff(&t->src, &f, &d, record, &cs, &st), 0);
    expect(&cs, 0, FOG_DIFF_CHANGED, "", true);
    assert_int_equal(st.blocks_read, 1);
    cs.n = 0;
    assert_int_equal(fog_diff(&t->src, &d, &f, record, &cs, &st), 0);
    expect(&cs, 0, FOG_DIFF_CHANGED, "", false);
    assert_int_equal(st.blocks_read, 0);
}

/* ---- HAMT-sharded directories ---- */

#define BIG_N 2000

static void big_tree(const fixture *t, const char *top)
{
    char rel[128], text[32];
    for (int i = 0; i < BIG_N; i++) {
        snprintf(rel, sizeof rel, "%s/f%04d.txt", top, i);
        snprintf(text, sizeof text, "entry %d", i);
        put(t, rel, text);
    }
    snprintf(rel, sizeof rel, "%s/sub/in.txt", top);
    put(t, rel, "inside");
}

static int count_visit(void *ctx, const fog_cid *c, fog_slice data)
{
    (void)data;
    *(size_t *)ctx += c->codec == FOG_MC_DAG_PB;
    return 0;
}

static void test_diff_hamt_one_change(void **state)
{
    fixture *t = *state;
    big_tree(t, "h1");
    big_tree(t, "h2");
    put(t, "h2/f1234.txt", "changed");
    put(t, "h2/sub/in.txt", "changed too");
    put(t, "h2/zz-new.txt", "new");
    fog_cid a = import(t, "h1", 1000, 0), b = import(t, "h2", 1000, 0);
    size_t shards = 0;
    assert_int_equal(fog_dag_walk(&t->src, &a, NULL, count_visit, &shards, NULL), 0);
    assert_true(shards > 200); /* 256 buckets of about 8 entries: a sub-shard each */
    changes cs = {0};
    fog_diff_stats st;
    assert_int_equal(fog_diff(&t->src, &a, &b, record, &cs, &st), 0);
    assert_int_equal(cs.n, 3);
    expect(&cs, 0, FOG_DIFF_CHANGED, "f1234.txt", false);
    expect(&cs, 1, FOG_DIFF_CHANGED, "sub/in.txt", false);
    expect(&cs, 2, FOG_DIFF_ADDED, "zz-new.txt", false);
    /* Two root shards, and per changed entry its sub-shard on each side (sub also its folder
     * on each side): far below the shard count. */
    print_message("hamt diff: %llu blocks read of %zu shards, %llu entries compared\n",
                  (unsigned long long)st.blocks_read, shards,
                  (unsigned long long)st.entries_compared);
    assert_true(st.blocks_read >= 2 + 2 + 2);
    assert_true(st.blocks_read <= 2 + 3 * 4 + 2);
    assert_true(st.entries_compared < 100);
}

static void test_diff_basic_vs_hamt(void **state)
{
    fixture *t = *state;
    big_tree(t, "m");
    fog_cid basic = import(t, "m", 0, 0);      /* the profile keeps it basic */
    fog_cid hamt = import(t, "m", 1000, 0);    /* sharded, fanout 256 */
    fog_cid hamt16 = import(t, "m", 1000, 16); /* sharded, fanout 16 */
    assert_false(fog_cid_eq(&basic, &hamt));
    assert_false(fog_cid_eq(&hamt, &hamt16));
    changes cs = {0};
    fog_diff_stats st;
    assert_int_equal(fog_diff(&t->src, &basic, &hamt, record, &cs, &st), 0);
    assert_int_equal(cs.n, 0);
    assert_int_equal(st.entries_compared, BIG_N + 1);
    assert_int_equal(fog_diff(&t->src, &hamt16, &hamt, record, &cs, &st), 0);
    assert_int_equal(cs.n, 0);
    /* With one change against the basic folder, only that entry is reported. */
    put(t, "m/f0007.txt", "different");
    fog_cid hamt2 = import(t, "m", 1000, 0);
    assert_int_equal(fog_diff(&t->src, &basic, &hamt2, record, &cs, &st), 0);
    assert_int_equal(cs.n, 1);
    expect(&cs, 0, FOG_DIFF_CHANGED, "f0007.txt", false);
}

/* ---- hand-written DAGs ---- */

static fog_cid hand_put(fixture *t, uint64_t codec, const fog_buf *b)
{
    fog_cid c;
    assert_int_equal(fog_cid_of(&c, 1, codec, FOG_MC_SHA2_256, b->p, b->len), 0);
    assert_int_equal(fog_store_batch_put(batch(t), &c, b->p, b->len), 0);
    return c;
}

static fog_cid hand_raw(fixture *t, const char *text)
{
    fog_buf b = {0};
    assert_int_equal(fog_buf_append(&b, text, strlen(text)), 0);
    fog_cid c = hand_put(t, FOG_MC_RAW, &b);
    fog_buf_clear(&b);
    return c;
}

typedef struct {
    const char *name;
    size_t len; /* 0: strlen(name) */
    fog_cid cid;
} lk;

/* A dag-pb node of UnixFS type (a directory, or a HAMT shard of fanout 256) with links l. */
static fog_cid hand_node(fixture *t, uint64_t type, const lk *l, size_t n)
{
    fog_unixfs u = {.type = type};
    if (type == FOG_UNIXFS_HAMT) {
        u.has_hashtype = u.has_fanout = true;
        u.hashtype = FOG_MC_MURMUR3_X64_64;
        u.fanout = 256;
    }
    fog_buf data = {0};
    assert_int_equal(fog_unixfs_encode(&u, &data), 0);
    fog_pblink links[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        size_t len = l[i].len != 0 || l[i].name == NULL ? l[i].len : strlen(l[i].name);
        links[i] =
            (fog_pblink){l[i].cid, l[i].name != NULL, fog_slice_make(l[i].name, len), true, 1};
    }
    fog_pbnode node = {links, n, true, fog_slice_make(data.p, data.len)};
    fog_buf block = {0};
    assert_int_equal(fog_pbnode_encode(&node, &block), 0);
    fog_cid c = hand_put(t, FOG_MC_DAG_PB, &block);
    fog_buf_clear(&data);
    fog_buf_clear(&block);
    return c;
}

static fog_cid hand_dir(fixture *t, const lk *l, size_t n)
{
    return hand_node(t, FOG_UNIXFS_DIRECTORY, l, n);
}

static void test_diff_unsafe_names(void **state)
{
    fixture *t = *state;
    fog_cid f1 = hand_raw(t, "1"), f2 = hand_raw(t, "2");
    lk ok = {"ok", 0, f1};
    fog_cid good = hand_dir(t, &ok, 1);
    /* Unsafe names, an empty name, no name at all, and a name twice. */
    static const struct {
        const char *name;
        size_t len;
    } bad[] = {{"..", 0}, {".", 0}, {"a/b", 0}, {"x\0y", 3}, {"", 0}, {NULL, 0}, {"ok", 0}};
    fog_cid evil[sizeof bad / sizeof bad[0]];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lk l[2] = {{bad[i].name, bad[i].len, f2}, {"ok", 0, f1}};
        evil[i] = hand_dir(t, l, 2);
    }
    const fog_blocksource *src = source(t);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        changes cs = {0};
        assert_int_equal(fog_diff(src, &good, &evil[i], record, &cs, NULL), FOG_ERR_PROTO);
        assert_int_equal(cs.n, 0);
        assert_non_null(strstr(fog_err_detail(FOG_ERR_PROTO), "entry name"));
    }
    assert_non_null(strstr(fog_err_detail(FOG_ERR_PROTO), "twice"));
}

/* A source that lends wrong bytes for one CID and asks the store for the rest. */
typedef struct {
    const fog_blocksource *inner;
    fog_cid bad;
} liar;

static int liar_get(void *ctx, const fog_cid *c, fog_slice *out)
{
    const liar *l = ctx;
    if (fog_cid_eq(c, &l->bad)) {
        *out = fog_slice_make("junk", 4);
        return 0;
    }
    return l->inner->get(l->inner->ctx, c, out);
}

/* Wrong bytes from an untrusted source, and a missing block. */
static void test_diff_untrusted_and_missing(void **state)
{
    fixture *t = *state;
    fog_cid f1 = hand_raw(t, "1"), f2 = hand_raw(t, "2");
    lk la = {"x", 0, f1}, lb = {"x", 0, f2};
    fog_cid a = hand_dir(t, &la, 1), b = hand_dir(t, &lb, 1);
    fog_cid ghost; /* a directory entry whose block is absent */
    assert_int_equal(
        fog_cid_of(&ghost, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, (const uint8_t *)"nope", 4), 0);
    lk lg = {"y", 0, ghost};
    fog_cid c = hand_dir(t, &lg, 1);
    liar l = {source(t), b};
    fog_blocksource src = {liar_get, &l, false};
    changes cs = {0};
    assert_int_equal(fog_diff(&src, &a, &b, record, &cs, NULL), FOG_ERR_HASH_MISMATCH);
    src.trusted = true; /* believed: junk is then no UnixFS node */
    assert_int_equal(fog_diff(&src, &a, &b, record, &cs, NULL), FOG_ERR_PROTO);
    fog_diff_stats st;
    assert_int_equal(fog_diff(l.inner, &a, &c, record, &cs, &st), FOG_ERR_NOT_FOUND);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), fog_cid_str(&ghost)));
    assert_int_equal(st.blocks_read, 3); /* both roots, then the missing one */
    assert_int_equal(cs.n, 1);           /* changes stream out before the failure */
    expect(&cs, 0, FOG_DIFF_REMOVED, "x", false);
}

/* Nested folders: the roots and 128 levels of folders below them are compared; one more level
 * is refused before anything is reported. */
static void test_diff_depth_limit(void **state)
{
    fixture *t = *state;
    fog_cid a = hand_raw(t, "1"), b = hand_raw(t, "2"), a_in = a, b_in = b;
    for (int level = 1; level <= FOG_DIFF_MAX_DEPTH + 2; level++) {
        lk la = {"d", 0, a}, lb = {"d", 0, b};
        a_in = a;
        b_in = b;
        a = hand_dir(t, &la, 1);
        b = hand_dir(t, &lb, 1);
    }
    const fog_blocksource *src = source(t);
    changes cs = {0};
    assert_int_equal(fog_diff(src, &a, &b, record, &cs, NULL), FOG_ERR_LIMIT);
    assert_int_equal(cs.n, 0);
    /* One level less: "d/d/.../d", 129 names, the last one the changed file. */
    assert_int_equal(fog_diff(src, &a_in, &b_in, record, &cs, NULL), 0);
    assert_int_equal(cs.n, 1);
    assert_int_equal(strlen(cs.v[0].path), 2 * (FOG_DIFF_MAX_DEPTH + 1) - 1);
}

/* Two shards of fanout 256 written by hand (the names need not hash to their buckets for the
 * diff, which pairs buckets by prefix). */
static void test_diff_hamt_buckets(void **state)
{
    fixture *t = *state;
    fog_cid f1 = hand_raw(t, "1"), f2 = hand_raw(t, "2"), f3 = hand_raw(t, "3");
    fog_cid f4 = hand_raw(t, "4");
    lk in_a[2] = {{"01alpha", 0, f1}, {"02beta", 0, f2}};
    lk in_b[2] = {{"01alpha", 0, f1}, {"02beta", 0, f4}};
    fog_cid sa = hand_node(t, FOG_UNIXFS_HAMT, in_a, 2);
    fog_cid sb = hand_node(t, FOG_UNIXFS_HAMT, in_b, 2);
    /* Bucket 03 is equal on both sides: its sub-shard is a missing block, never asked for. */
    fog_cid ghost;
    assert_int_equal(
        fog_cid_of(&ghost, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, (const uint8_t *)"ghost", 5), 0);
    lk ra[3] = {{"03", 0, ghost}, {"05", 0, sa}, {"07gamma", 0, f3}};
    lk rb[4] = {{"03", 0, ghost}, {"05", 0, sb}, {"07gamma", 0, f3}, {"09delta", 0, f3}};
    fog_cid a = hand_node(t, FOG_UNIXFS_HAMT, ra, 3), b = hand_node(t, FOG_UNIXFS_HAMT, rb, 4);
    changes cs = {0};
    fog_diff_stats st;
    const fog_blocksource *src = source(t);
    assert_int_equal(fog_diff(src, &a, &b, record, &cs, &st), 0);
    assert_int_equal(cs.n, 2);
    expect(&cs, 0, FOG_DIFF_CHANGED, "beta", false);
    expect(&cs, 1, FOG_DIFF_ADDED, "delta", false);
    assert_int_equal(st.blocks_read, 4); /* two roots, the two sub-shards of bucket 05 */
    /* A sub-shard against a single entry in the same bucket: both sides listed. */
    lk rc_[2] = {{"05alpha", 0, f1}, {"07gamma", 0, f3}};
    fog_cid c = hand_node(t, FOG_UNIXFS_HAMT, rc_, 2);
    lk ra2[2] = {{"05", 0, sa}, {"07gamma", 0, f3}};
    fog_cid a2 = hand_node(t, FOG_UNIXFS_HAMT, ra2, 2);
    lk bad[1] = {{"ZZalpha", 0, f1}}; /* a link name whose prefix is not a bucket */
    fog_cid z = hand_node(t, FOG_UNIXFS_HAMT, bad, 1);
    lk flat[3] = {{"alpha", 0, f1}, {"beta", 0, f2}, {"gamma", 0, f3}};
    fog_cid d = hand_dir(t, flat, 3);
    src = source(t);
    cs.n = 0;
    assert_int_equal(fog_diff(src, &a2, &c, record, &cs, &st), 0);
    assert_int_equal(cs.n, 1);
    expect(&cs, 0, FOG_DIFF_REMOVED, "beta", false);
    assert_int_equal(st.blocks_read, 3);
    /* A link name whose prefix is not a bucket. */
    assert_int_equal(fog_diff(src, &c, &z, record, &cs, NULL), FOG_ERR_PROTO);
    /* The same entries basic and sharded: nothing to report. */
    cs.n = 0;
    assert_int_equal(fog_diff(src, &d, &a2, record, &cs, &st), 0);
    assert_int_equal(cs.n, 0);
    assert_int_equal(st.entries_compared, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_diff_identical_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_deep_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_added_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_roots_not_directories, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_hamt_one_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_basic_vs_hamt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_unsafe_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_untrusted_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_depth_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_hamt_buckets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
