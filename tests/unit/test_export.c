/* test_export.c: the UnixFS exporter: resolve, cat (ranges), ls and get, over DAGs written by
 * hand in this file and over the real CARs of ipfs/gateway-conformance in $FOG_VECTORS.
 * Blocks live in an in-memory fog_blocksource (an array of CID and bytes) that counts its gets,
 * so tests can also check which blocks a range read or a listing fetched. The CARs are read by
 * a tiny CARv1 section reader below (uvarint header length, header, then uvarint section length,
 * CID, block), written here because the CAR module is not a dependency of the dag layer.
 * Expected values come from the fixtures' READMEs and the UnixFS spec's test-vector appendix
 * (CIDs, names, sizes, file text), not from fog's own output. Vector tests skip with a printed
 * line when $FOG_VECTORS is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dag/internal.h"
#include "fog/unixfs.h"
#include "testlib.h"

/* ---- an in-memory block source ---- */

typedef struct {
    fog_cid cid;
    uint8_t *data;
    size_t len;
} mem_block;

typedef struct {
    mem_block *v;
    size_t n, cap;
    unsigned gets;
} mem_src;

static int mem_get(void *ctx, const fog_cid *c, fog_slice *out)
{
    mem_src *m = ctx;
    m->gets++;
    fog_slice want = fog_cid_mh(c);
    for (size_t i = 0; i < m->n; i++) {
        if (fog_slice_eq(fog_cid_mh(&m->v[i].cid), want)) {
            *out = fog_slice_make(m->v[i].data, m->v[i].len);
            return 0;
        }
    }
    /* Deliberately vague: the exporter must name the CID itself. */
    return fog_errf(FOG_ERR_NOT_FOUND, "no such block");
}

static void mem_put(mem_src *m, const fog_cid *c, const uint8_t *p, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = realloc(m->v, m->cap * sizeof *m->v);
        assert_non_null(m->v);
    }
    mem_block *b = &m->v[m->n++];
    b->cid = *c;
    b->data = malloc(len ? len : 1);
    assert_non_null(b->data);
    if (len > 0) {
        memcpy(b->data, p, len);
    }
    b->len = len;
}

/* Stores a block under its CIDv1 (sha2-256) and returns the CID. */
static fog_cid mem_add(mem_src *m, uint64_t codec, const fog_buf *b)
{
    fog_cid c;
    assert_int_equal(fog_cid_of(&c, 1, codec, FOG_MC_SHA2_256, b->p, b->len), 0);
    mem_put(m, &c, b->p, b->len);
    return c;
}

static fog_cid mem_add_raw(mem_src *m, const char *s)
{
    fog_buf b = {(uint8_t *)s, strlen(s), 0};
    return mem_add(m, FOG_MC_RAW, &b);
}

static void mem_free(mem_src *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].data);
    }
    free(m->v);
    memset(m, 0, sizeof *m);
}

static fog_blocksource mem_source(mem_src *m)
{
    fog_blocksource s = {mem_get, m, false};
    return s;
}

/* ---- a CARv1 reader ---- */

static int first_root(void *ctx, const fog_cid *c)
{
    fog_cid *root = ctx;
    if (root->len == 0) {
        *root = *c;
    }
    return 0;
}

/* The gateway-conformance fixture rel under $FOG_VECTORS (a static buffer). */
static char *vec_path(const char *rel)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/ipfs-gateway-conformance/fixtures/%s", tl_vectors(), rel);
    return buf;
}

/* Loads every block of a CAR into m (each checked against its CID) and returns its first root;
 * false (after printing a skip line) when the file is missing. */
static bool car_load(mem_src *m, const char *rel, fog_cid *root)
{
    const char *path = vec_path(rel);
    size_t len = 0;
    uint8_t *p = tl_slurp(path, &len);
    if (p == NULL) {
        print_message("skip: %s not found (no shared/vectors checkout)\n", path);
        return false;
    }
    fog_reader r;
    fog_reader_init(&r, p, len);
    fog_slice hdr;
    fog_reader_lp(&r, len, &hdr);
    assert_int_equal(r.err, 0);
    memset(root, 0, sizeof *root);
    assert_int_equal(fog__cbor_walk(hdr.p, hdr.len, false, first_root, root), 0);
    assert_true(root->len > 0);
    while (r.left > 0) {
        fog_slice sec;
        fog_reader_lp(&r, r.left, &sec);
        assert_int_equal(r.err, 0);
        fog_reader s;
        fog_reader_init(&s, sec.p, sec.len);
        fog_cid c;
        fog_cid_read(&s, &c);
        assert_int_equal(s.err, 0);
        assert_int_equal(fog_cid_verify(&c, s.p, s.left), 0);
        mem_put(m, &c, s.p, s.left);
    }
    free(p);
    return true;
}

/* The Lorem ipsum text of the gateway fixtures: the here-document in a README, as
 * `$(cat <<-EOF ... EOF)` yields it (no final newline). Given: free it. */
static char *readme_text(const char *rel, size_t *len)
{
    size_t n;
    char *r = (char *)tl_slurp(vec_path(rel), &n);
    assert_non_null(r);
    r = realloc(r, n + 1);
    r[n] = '\0';
    char *start = strstr(r, "<<-EOF");
    assert_non_null(start);
    start = strchr(start, '\n') + 1;
    char *end = strstr(start, "\nEOF");
    assert_non_null(end);
    *len = (size_t)(end - start);
    char *t = malloc(*len);
    memcpy(t, start, *len);
    free(r);
    return t;
}

/* ---- writing dag-pb and UnixFS by hand (protobuf wire format) ---- */

static void put_varint(fog_buf *b, uint64_t v)
{
    assert_int_equal(fog_buf_uvarint(b, v), 0);
}

static void put_lp(fog_buf *b, uint8_t key, const void *p, size_t len)
{
    assert_int_equal(fog_buf_u8(b, key), 0);
    put_varint(b, len);
    assert_int_equal(fog_buf_append(b, p, len), 0);
}

typedef struct {
    fog_cid cid;
    const char *name; /* NULL: no Name field */
    size_t name_len;  /* 0: strlen(name) */
    uint64_t tsize;   /* 0: no Tsize field */
} tlink;

/* PBNode: links first, then Data when data != NULL. */
static void pb_node(fog_buf *out, const tlink *links, size_t n, const fog_buf *data)
{
    for (size_t i = 0; i < n; i++) {
        fog_buf l;
        fog_buf_init(&l);
        put_lp(&l, 0x0a, links[i].cid.bytes, links[i].cid.len);
        if (links[i].name != NULL) {
            size_t nl = links[i].name_len ? links[i].name_len : strlen(links[i].name);
            put_lp(&l, 0x12, links[i].name, nl);
        }
        if (links[i].tsize != 0) {
            assert_int_equal(fog_buf_u8(&l, 0x18), 0);
            put_varint(&l, links[i].tsize);
        }
        put_lp(out, 0x12, l.p, l.len);
        fog_buf_clear(&l);
    }
    if (data != NULL) {
        put_lp(out, 0x0a, data->p, data->len);
    }
}

/* UnixFS Data: Type, optional Data, filesize (when >= 0), blocksizes. */
static void ufs(fog_buf *out, uint64_t type, const char *data, int64_t filesize, const uint64_t *bs,
                size_t nbs)
{
    assert_int_equal(fog_buf_u8(out, 0x08), 0);
    put_varint(out, type);
    if (data != NULL) {
        put_lp(out, 0x12, data, strlen(data));
    }
    if (filesize >= 0) {
        assert_int_equal(fog_buf_u8(out, 0x18), 0);
        put_varint(out, (uint64_t)filesize);
    }
    for (size_t i = 0; i < nbs; i++) {
        assert_int_equal(fog_buf_u8(out, 0x20), 0);
        put_varint(out, bs[i]);
    }
}

/* A dag-pb UnixFS node stored in m. */
static fog_cid add_node(mem_src *m, const tlink *links, size_t n, const fog_buf *ufs_data)
{
    fog_buf b;
    fog_buf_init(&b);
    pb_node(&b, links, n, ufs_data);
    fog_cid c = mem_add(m, FOG_MC_DAG_PB, &b);
    fog_buf_clear(&b);
    return c;
}

static fog_cid add_file(mem_src *m, const char *data, const tlink *links, const uint64_t *bs,
                        size_t n)
{
    uint64_t total = data ? strlen(data) : 0;
    for (size_t i = 0; i < n; i++) {
        total += bs[i];
    }
    fog_buf u;
    fog_buf_init(&u);
    ufs(&u, FOG_UNIXFS_FILE, data, (int64_t)total, bs, n);
    fog_cid c = add_node(m, links, n, &u);
    fog_buf_clear(&u);
    return c;
}

static fog_cid add_dir(mem_src *m, const tlink *links, size_t n)
{
    fog_buf u;
    fog_buf_init(&u);
    ufs(&u, FOG_UNIXFS_DIRECTORY, NULL, -1, NULL, 0);
    fog_cid c = add_node(m, links, n, &u);
    fog_buf_clear(&u);
    return c;
}

/* ---- collecting output ---- */

static int to_buf(void *ctx, const uint8_t *p, size_t len)
{
    return fog_buf_append(ctx, p, len);
}

static int cat_all(const fog_blocksource *src, const fog_cid *c, uint64_t off, uint64_t len,
                   fog_buf *out)
{
    fog_buf_reset(out);
    return fog_unixfs_cat(src, c, off, len, to_buf, out);
}

typedef struct {
    char names[1100][32];
    fog_cid cids[1100];
    uint64_t types[1100];
    uint64_t sizes[1100];
    size_t n;
} listing;

static int list_fn(void *ctx, const fog_unixfs_entry *e)
{
    listing *l = ctx;
    assert_true(l->n < 1100);
    snprintf(l->names[l->n], sizeof l->names[0], "%s", e->name);
    l->cids[l->n] = e->cid;
    l->types[l->n] = e->type;
    l->sizes[l->n] = e->size;
    l->n++;
    return 0;
}

static void assert_cid_str(const fog_cid *c, const char *want)
{
    char s[FOG_CID_STR_MAX];
    assert_true(fog_cid_format(c, 0, s, sizeof s) > 0);
    assert_string_equal(s, want);
}

/* ---- hand-built files ---- */

/* "abcdefghijklmn": Data "ab", raw "cde", dag-pb leaf "fgh", an inner node over raw "ij" and
 * "kl", and an identity-CID raw "mn" that no source holds. */
static fog_cid small_file(mem_src *m)
{
    tlink inner_l[2] = {{mem_add_raw(m, "ij"), "", 0, 2}, {mem_add_raw(m, "kl"), "", 0, 2}};
    uint64_t inner_bs[2] = {2, 2};
    fog_cid inner = add_file(m, NULL, inner_l, inner_bs, 2);
    fog_cid leaf = add_file(m, "fgh", NULL, NULL, 0);
    fog_cid id;
    assert_int_equal(fog_cid_of(&id, 1, FOG_MC_RAW, FOG_MC_IDENTITY, (const uint8_t *)"mn", 2), 0);
    tlink l[4] = {{mem_add_raw(m, "cde"), NULL, 0, 0},
                  {leaf, "", 0, 0},
                  {inner, NULL, 0, 0},
                  {id, NULL, 0, 0}};
    uint64_t bs[4] = {3, 3, 4, 2};
    return add_file(m, "ab", l, bs, 4);
}

static void test_export_cat_ranges(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_cid root = small_file(&m);
    fog_blocksource src = mem_source(&m);
    const char *want = "abcdefghijklmn";
    fog_buf out;
    fog_buf_init(&out);
    for (uint64_t off = 0; off <= 15; off++) {
        for (uint64_t len = 0; len <= 15; len++) {
            assert_int_equal(cat_all(&src, &root, off, len, &out), 0);
            size_t a = off < 14 ? (size_t)off : 14;
            size_t b = off + len < 14 ? (size_t)(off + len) : 14;
            assert_int_equal(out.len, b - a);
            assert_memory_equal(out.p, want + a, b - a);
        }
        assert_int_equal(cat_all(&src, &root, off, UINT64_MAX, &out), 0);
        assert_int_equal(out.len, off < 14 ? 14 - off : 0);
    }
    /* Only the blocks on the range's path are fetched: "ij" needs root, inner, leaf. */
    m.gets = 0;
    assert_int_equal(cat_all(&src, &root, 8, 2, &out), 0);
    assert_int_equal(m.gets, 3);
    /* The identity child is read from its CID: only the root comes from the source. */
    m.gets = 0;
    assert_int_equal(cat_all(&src, &root, 12, 2, &out), 0);
    assert_memory_equal(out.p, "mn", 2);
    assert_int_equal(m.gets, 1);
    /* A writer's error stops the walk and is returned. */
    fog_buf_clear(&out);
    mem_free(&m);
}

static int fail_writer(void *ctx, const uint8_t *p, size_t len)
{
    (void)p;
    (void)len;
    int *calls = ctx;
    return ++*calls == 2 ? FOG_ERR_CANCELLED : 0;
}

static void test_export_cat_checks(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_blocksource src = mem_source(&m);
    fog_buf out;
    fog_buf_init(&out);
    fog_cid cde = mem_add_raw(&m, "cde");
    tlink one = {cde, NULL, 0, 0};
    /* The parent announces 4 bytes, the child holds 3. */
    uint64_t four = 4;
    fog_cid c = add_file(&m, NULL, &one, &four, 1);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), FOG_ERR_PROTO);
    /* filesize disagrees with Data + blocksizes. */
    fog_buf u;
    fog_buf_init(&u);
    uint64_t three = 3;
    ufs(&u, FOG_UNIXFS_FILE, "x", 3, &three, 1);
    c = add_node(&m, &one, 1, &u);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), FOG_ERR_PROTO);
    /* Two blocksizes for one link. */
    fog_buf_reset(&u);
    uint64_t two[2] = {3, 0};
    ufs(&u, FOG_UNIXFS_FILE, NULL, 3, two, 2);
    c = add_node(&m, &one, 1, &u);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), FOG_ERR_PROTO);
    /* A named link inside a file. */
    tlink named = {cde, "x", 0, 0};
    c = add_file(&m, NULL, &named, &three, 1);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), FOG_ERR_PROTO);
    /* A directory as a file's child; a directory as the root. */
    fog_cid dir = add_dir(&m, NULL, 0);
    tlink d = {dir, NULL, 0, 0};
    uint64_t zero_not = 1;
    c = add_file(&m, NULL, &d, &zero_not, 1);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), FOG_ERR_PROTO);
    assert_int_equal(cat_all(&src, &dir, 0, UINT64_MAX, &out), FOG_ERR_INVALID);
    /* dag-pb without UnixFS Data (the empty block), and a DAG-CBOR block. */
    fog_buf empty = {0};
    c = mem_add(&m, FOG_MC_DAG_PB, &empty);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), FOG_ERR_PROTO);
    fog_buf cbor = {(uint8_t *)"\xa0", 1, 0};
    c = mem_add(&m, FOG_MC_DAG_CBOR, &cbor);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), FOG_ERR_UNSUPPORTED);
    /* Unknown UnixFS type. */
    fog_buf_reset(&u);
    ufs(&u, 9, NULL, -1, NULL, 0);
    c = add_node(&m, NULL, 0, &u);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), FOG_ERR_PROTO);
    /* The writer's error comes back. */
    c = small_file(&m);
    int calls = 0;
    assert_int_equal(fog_unixfs_cat(&src, &c, 0, UINT64_MAX, fail_writer, &calls),
                     FOG_ERR_CANCELLED);
    assert_int_equal(calls, 2);
    fog_buf_clear(&u);
    fog_buf_clear(&out);
    mem_free(&m);
}

static void test_export_verify_blocks(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_blocksource src = mem_source(&m);
    fog_buf out;
    fog_buf_init(&out);
    fog_cid c = mem_add_raw(&m, "honest");
    m.v[0].data[0] = 'H'; /* the source now lends bytes that do not match the CID */
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), FOG_ERR_HASH_MISMATCH);
    assert_int_equal(out.len, 0);
    src.trusted = true; /* a trusted source (the store) is not re-hashed */
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), 0);
    assert_memory_equal(out.p, "Honest", 6);
    /* A truncated 10-byte sha2-256 digest is refused before the source is asked. */
    fog_cid weak;
    assert_int_equal(
        fog_cid_make(&weak, 1, FOG_MC_RAW, FOG_MC_SHA2_256, c.bytes + c.digest_off, 10), 0);
    m.gets = 0;
    assert_int_equal(cat_all(&src, &weak, 0, UINT64_MAX, &out), FOG_ERR_UNSUPPORTED);
    assert_int_equal(m.gets, 0);
    fog_buf_clear(&out);
    mem_free(&m);
}

/* A chain of single-child File nodes: FOG_UNIXFS_MAX_DEPTH levels below the root are read,
 * one more is FOG_ERR_LIMIT. */
static void test_export_depth_limit(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_blocksource src = mem_source(&m);
    fog_cid c = mem_add_raw(&m, "z");
    uint64_t one = 1;
    fog_buf out;
    fog_buf_init(&out);
    for (int i = 0; i < FOG_UNIXFS_MAX_DEPTH; i++) {
        tlink l = {c, NULL, 0, 0};
        c = add_file(&m, NULL, &l, &one, 1);
    }
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), 0);
    assert_int_equal(out.len, 1);
    tlink l = {c, NULL, 0, 0};
    c = add_file(&m, NULL, &l, &one, 1);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), FOG_ERR_LIMIT);
    fog_buf_clear(&out);
    mem_free(&m);
}

/* ---- hand-built directories ---- */

static void test_export_dirs_by_hand(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_blocksource src = mem_source(&m);
    fog_cid file = small_file(&m);
    fog_cid id;
    assert_int_equal(fog_cid_of(&id, 1, FOG_MC_RAW, FOG_MC_IDENTITY, (const uint8_t *)"hi", 2), 0);
    fog_buf cbor = {(uint8_t *)"\xa0", 1, 0};
    fog_cid other = mem_add(&m, FOG_MC_DAG_CBOR, &cbor);
    tlink sub_l = {id, "hi.txt", 0, 0};
    fog_cid sub = add_dir(&m, &sub_l, 1);
    tlink l[4] = {
        {file, "file", 0, 999}, {id, "inline", 0, 0}, {other, "map", 0, 7}, {sub, "sub", 0, 55}};
    fog_cid root = add_dir(&m, l, 4);
    listing ls = {0};
    assert_int_equal(fog_unixfs_ls(&src, &root, list_fn, &ls), 0);
    assert_int_equal(ls.n, 4);
    assert_string_equal(ls.names[0], "file");
    assert_int_equal(ls.types[0], FOG_UNIXFS_FILE);
    assert_int_equal(ls.sizes[0], 14); /* filesize, not the Tsize 999 */
    assert_int_equal(ls.types[1], FOG_UNIXFS_FILE);
    assert_int_equal(ls.sizes[1], 2);
    assert_int_equal(ls.types[2], FOG_UNIXFS_ENTRY_OTHER);
    assert_int_equal(ls.sizes[2], 7);
    assert_int_equal(ls.types[3], FOG_UNIXFS_DIRECTORY);
    assert_int_equal(ls.sizes[3], 55);
    /* Paths, with "." and ".." folded and empty components dropped. */
    char path[600];
    fog_cid got;
    char rs[FOG_CID_STR_MAX];
    assert_true(fog_cid_format(&root, 0, rs, sizeof rs) > 0);
    snprintf(path, sizeof path, "/ipfs/%s/sub/./../sub//hi.txt/", rs);
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), 0);
    assert_true(fog_cid_eq(&got, &id));
    snprintf(path, sizeof path, "%s", rs);
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), 0);
    assert_true(fog_cid_eq(&got, &root));
    snprintf(path, sizeof path, "%s/file/x", rs);
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), FOG_ERR_INVALID);
    snprintf(path, sizeof path, "%s/../file", rs);
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), FOG_ERR_INVALID);
    snprintf(path, sizeof path, "/ipns/%s", rs);
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), FOG_ERR_INVALID);
    snprintf(path, sizeof path, "%s/nope", rs);
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), FOG_ERR_NOT_FOUND);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), "nope"));
    snprintf(path, sizeof path, "%s/map/x", rs);
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), FOG_ERR_UNSUPPORTED);
    assert_true(fog_unixfs_resolve(&src, "not-a-cid/x", &got) < 0);
    assert_int_equal(fog_unixfs_resolve(&src, "", &got), FOG_ERR_INVALID);
    /* ls of a file; duplicate names refuse to resolve. */
    assert_int_equal(fog_unixfs_ls(&src, &file, list_fn, &ls), FOG_ERR_INVALID);
    tlink dup[2] = {{id, "a", 0, 0}, {file, "a", 0, 0}};
    fog_cid dd = add_dir(&m, dup, 2);
    assert_true(fog_cid_format(&dd, 0, rs, sizeof rs) > 0);
    snprintf(path, sizeof path, "%s/a", rs);
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), FOG_ERR_PROTO);
    mem_free(&m);
}

/* HAMT shards with bad parameters are refused by ls and resolve. */
static void test_export_hamt_params(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_blocksource src = mem_source(&m);
    static const struct {
        uint64_t hash, fanout;
        int rc;
    } cases[] = {
        {0x22, 3, FOG_ERR_PROTO}, {0x22, 2048, FOG_ERR_PROTO},
        {0x22, 0, FOG_ERR_PROTO}, {0x12, 256, FOG_ERR_UNSUPPORTED},
        {0x22, 256, 0},           {0x22, 1024, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fog_buf u;
        fog_buf_init(&u);
        ufs(&u, FOG_UNIXFS_HAMT, NULL, -1, NULL, 0);
        assert_int_equal(fog_buf_u8(&u, 0x28), 0);
        put_varint(&u, cases[i].hash);
        assert_int_equal(fog_buf_u8(&u, 0x30), 0);
        put_varint(&u, cases[i].fanout);
        fog_cid c = add_node(&m, NULL, 0, &u);
        fog_buf_clear(&u);
        listing ls = {0};
        assert_int_equal(fog_unixfs_ls(&src, &c, list_fn, &ls), cases[i].rc);
        char path[400], s[FOG_CID_STR_MAX];
        assert_true(fog_cid_format(&c, 0, s, sizeof s) > 0);
        snprintf(path, sizeof path, "%s/x", s);
        fog_cid got;
        int rc = fog_unixfs_resolve(&src, path, &got);
        assert_int_equal(rc, cases[i].rc ? cases[i].rc : FOG_ERR_NOT_FOUND);
    }
    mem_free(&m);
}

/* A HAMT written by hand from the spec's example: "470.txt" hashes to 006e88df..., so with
 * fanout 256 it sits in bucket 00 at level 0 and bucket 6E at level 1. The root holds a
 * sub-shard "00" (an identity CID) whose link "6E470.txt" is the entry, and an entry "FFzzz". */
static fog_cid hamt_shard(mem_src *m, const tlink *links, size_t n, bool identity)
{
    fog_buf u, b;
    fog_buf_init(&u);
    fog_buf_init(&b);
    ufs(&u, FOG_UNIXFS_HAMT, "\x01", -1, NULL, 0);
    assert_int_equal(fog_buf_u8(&u, 0x28), 0);
    put_varint(&u, 0x22);
    assert_int_equal(fog_buf_u8(&u, 0x30), 0);
    put_varint(&u, 256);
    pb_node(&b, links, n, &u);
    fog_cid c;
    if (identity) {
        assert_int_equal(fog_cid_of(&c, 1, FOG_MC_DAG_PB, FOG_MC_IDENTITY, b.p, b.len), 0);
    } else {
        c = mem_add(m, FOG_MC_DAG_PB, &b);
    }
    fog_buf_clear(&u);
    fog_buf_clear(&b);
    return c;
}

static void test_export_hamt_by_hand(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_blocksource src = mem_source(&m);
    fog_cid a = mem_add_raw(&m, "four seventy");
    fog_cid z = mem_add_raw(&m, "zzz");
    tlink sub_l = {a, "6E470.txt", 0, 12};
    fog_cid sub = hamt_shard(&m, &sub_l, 1, true);
    tlink root_l[2] = {{sub, "00", 0, 50}, {z, "FFzzz", 0, 3}};
    fog_cid root = hamt_shard(&m, root_l, 2, false);
    char path[300];
    fog_cid got;
    snprintf(path, sizeof path, "%s/470.txt", fog_cid_str(&root));
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), 0);
    assert_true(fog_cid_eq(&got, &a));
    /* "zzz" does not hash to bucket FF: the listing shows it, a lookup cannot find it. */
    snprintf(path, sizeof path, "%s/zzz", fog_cid_str(&root));
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), FOG_ERR_NOT_FOUND);
    listing ls = {0};
    assert_int_equal(fog_unixfs_ls(&src, &root, list_fn, &ls), 0);
    assert_int_equal(ls.n, 2);
    assert_string_equal(ls.names[0], "470.txt");
    assert_int_equal(ls.sizes[0], 12);
    assert_string_equal(ls.names[1], "zzz");
    /* A sub-shard link that leads to a file is refused. */
    tlink bad_l = {z, "00", 0, 0};
    fog_cid bad = hamt_shard(&m, &bad_l, 1, false);
    snprintf(path, sizeof path, "%s/470.txt", fog_cid_str(&bad));
    assert_int_equal(fog_unixfs_resolve(&src, path, &got), FOG_ERR_PROTO);
    assert_int_equal(fog_unixfs_ls(&src, &bad, list_fn, &ls), FOG_ERR_PROTO);
    mem_free(&m);
}

/* The UnixFS spec example: "470.txt" hashes to 006e88df5847e67c (murmur3.c). */
static void test_export_murmur3_example(void **state)
{
    (void)state;
    uint8_t h[8];
    fog__murmur3_x64_64((const uint8_t *)"470.txt", 7, h);
    static const uint8_t want[8] = {0x00, 0x6e, 0x88, 0xdf, 0x58, 0x47, 0xe6, 0x7c};
    assert_memory_equal(h, want, 8);
}

/* ---- gateway-conformance CARs ---- */

static void test_export_dir_with_files(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_cid root;
    if (!car_load(&m, "path_gateway_unixfs/dir-with-files.car", &root)) {
        skip();
    }
    fog_blocksource src = mem_source(&m);
    /* ipfs/specs unixfs.md appendix, "Simple Directory". */
    assert_cid_str(&root, "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy");
    listing ls = {0};
    m.gets = 0;
    assert_int_equal(fog_unixfs_ls(&src, &root, list_fn, &ls), 0);
    assert_int_equal(m.gets, 2); /* the folder and multiblock.txt's root: raw files have Tsize */
    assert_int_equal(ls.n, 4);
    static const char *names[4] = {"ascii-copy.txt", "ascii.txt", "hello.txt", "multiblock.txt"};
    static const uint64_t sizes[4] = {31, 31, 12, 1026};
    static const char *cids[4] = {
        "bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm",
        "bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm",
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
        "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa",
    };
    for (int i = 0; i < 4; i++) {
        assert_string_equal(ls.names[i], names[i]);
        assert_int_equal(ls.types[i], FOG_UNIXFS_FILE);
        assert_int_equal(ls.sizes[i], sizes[i]);
        assert_cid_str(&ls.cids[i], cids[i]);
    }
    fog_cid c;
    char path[300];
    snprintf(path, sizeof path, "/ipfs/%s/hello.txt", fog_cid_str(&root));
    assert_int_equal(fog_unixfs_resolve(&src, path, &c), 0);
    assert_cid_str(&c, cids[2]);
    fog_buf out;
    fog_buf_init(&out);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), 0);
    assert_int_equal(out.len, 12);
    assert_memory_equal(out.p, "hello world\n", 12);
    /* multiblock.txt: five raw leaves of 256, 256, 256, 256, 2 bytes. */
    size_t tl;
    char *text = readme_text("path_gateway_unixfs/README.md", &tl);
    assert_int_equal(tl, 1026);
    snprintf(path, sizeof path, "%s/multiblock.txt", fog_cid_str(&root));
    assert_int_equal(fog_unixfs_resolve(&src, path, &c), 0);
    static const uint64_t offs[] = {0, 1, 255, 256, 257, 511, 512, 767, 1023, 1024, 1025, 1026};
    static const uint64_t lens[] = {0, 1, 2, 255, 256, 257, 600, 1026, UINT64_MAX};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            assert_int_equal(cat_all(&src, &c, offs[i], lens[j], &out), 0);
            uint64_t end = lens[j] > 1026 - offs[i] ? 1026 : offs[i] + lens[j];
            assert_int_equal(out.len, end - offs[i]);
            assert_memory_equal(out.p, text + offs[i], out.len);
        }
    }
    m.gets = 0;
    assert_int_equal(cat_all(&src, &c, 1024, 2, &out), 0);
    assert_int_equal(m.gets, 2); /* the file root and the last leaf only */
    free(text);
    fog_buf_clear(&out);
    mem_free(&m);
}

static void test_export_hamt_fixture(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_cid root;
    if (!car_load(&m, "trustless_gateway_car/single-layer-hamt-with-multi-block-files.car",
                  &root)) {
        skip();
    }
    fog_blocksource src = mem_source(&m);
    assert_cid_str(&root, "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i");
    static listing ls;
    memset(&ls, 0, sizeof ls);
    assert_int_equal(fog_unixfs_ls(&src, &root, list_fn, &ls), 0);
    /* 1000 files named 1.txt .. 1000.txt, each once (ipfs/specs unixfs.md appendix). */
    assert_int_equal(ls.n, 1000);
    static bool seen[1001];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < ls.n; i++) {
        int k = 0;
        char tail[8];
        assert_int_equal(sscanf(ls.names[i], "%d%7s", &k, tail), 2);
        assert_string_equal(tail, ".txt");
        assert_true(k >= 1 && k <= 1000 && !seen[k]);
        seen[k] = true;
        assert_int_equal(ls.types[i], FOG_UNIXFS_FILE);
        assert_int_equal(ls.sizes[i], 1026);
    }
    /* Every name resolves by hashing through the shards, to the CID the listing showed. */
    char path[300];
    for (size_t i = 0; i < ls.n; i++) {
        snprintf(path, sizeof path, "%s/%s", fog_cid_str(&root), ls.names[i]);
        fog_cid c;
        int rc = fog_unixfs_resolve(&src, path, &c);
        if (rc != 0) {
            fail_msg("%s: %s", ls.names[i], fog_err_detail(rc));
        }
        assert_true(fog_cid_eq(&c, &ls.cids[i]));
    }
    static const char *absent[] = {"0.txt", "1001.txt", "685", "685.TXT", "a"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fog_cid_str(&root), absent[i]);
        fog_cid c;
        assert_int_equal(fog_unixfs_resolve(&src, path, &c), FOG_ERR_NOT_FOUND);
    }
    /* 685.txt holds the fixture's Lorem ipsum text (helia's test of this CAR, via kubo cat). */
    snprintf(path, sizeof path, "/ipfs/%s/685.txt", fog_cid_str(&root));
    fog_cid c;
    assert_int_equal(fog_unixfs_resolve(&src, path, &c), 0);
    size_t tl;
    char *text = readme_text("path_gateway_unixfs/README.md", &tl);
    fog_buf out;
    fog_buf_init(&out);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), 0);
    assert_int_equal(out.len, tl);
    assert_memory_equal(out.p, text, tl);
    assert_int_equal(cat_all(&src, &root, 0, UINT64_MAX, &out), FOG_ERR_INVALID);
    free(text);
    fog_buf_clear(&out);
    mem_free(&m);
}

static void test_export_missing_block(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_cid root;
    if (!car_load(&m, "trustless_gateway_car/file-3k-and-3-blocks-missing-block.car", &root)) {
        skip();
    }
    fog_blocksource src = mem_source(&m);
    /* ipfs/specs unixfs.md appendix, "Range Requests with Missing Blocks". */
    assert_cid_str(&root, "QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk");
    fog_buf out;
    fog_buf_init(&out);
    m.gets = 0;
    assert_int_equal(cat_all(&src, &root, 0, 1024, &out), 0);
    assert_int_equal(out.len, 1024);
    assert_int_equal(m.gets, 2);
    m.gets = 0;
    assert_int_equal(cat_all(&src, &root, 2048, 1024, &out), 0);
    assert_int_equal(out.len, 1024);
    assert_int_equal(m.gets, 2);
    assert_int_equal(cat_all(&src, &root, 2048, UINT64_MAX, &out), 0);
    assert_int_equal(out.len, 1024);
    /* The middle block is missing: the error names it. */
    assert_int_equal(cat_all(&src, &root, 0, UINT64_MAX, &out), FOG_ERR_NOT_FOUND);
    assert_int_equal(out.len, 1024); /* the first block went out before the gap */
    const char *d = fog_err_detail(FOG_ERR_NOT_FOUND);
    fog_pbnode n;
    assert_int_equal(fog_pbnode_decode(&n, m.v[0].data, m.v[0].len), 0);
    assert_int_equal(n.n_links, 3);
    assert_cid_str(&n.links[0].cid, "QmPKt7ptM2ZYSGPUc8PmPT2VBkLDK3iqpG9TBJY7PCE9rF");
    assert_cid_str(&n.links[2].cid, "QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV");
    char miss[FOG_CID_STR_MAX];
    assert_true(fog_cid_format(&n.links[1].cid, 0, miss, sizeof miss) > 0);
    assert_non_null(strstr(d, miss));
    assert_int_equal(cat_all(&src, &root, 1000, 100, &out), FOG_ERR_NOT_FOUND);
    fog_pbnode_clear(&n);
    fog_buf_clear(&out);
    mem_free(&m);
}

/* A directory whose children are not in the CAR: resolving needs only the folder block; a
 * listing must fetch dag-pb children for their type and names the first one missing. */
static void test_export_dir_missing_children(void **state)
{
    (void)state;
    char path[1024];
    if (!tl_vec_path(path, sizeof path,
                     "ipld-codec-fixtures/fixtures/dagpb_4namedlinks+data/"
                     "bafybeigcsevw74ssldzfwhiijzmg7a35lssfmjkuoj2t5qs5u5aztj47tq.dag-pb")) {
        skip();
    }
    size_t len;
    uint8_t *p = tl_slurp(path, &len);
    assert_non_null(p);
    mem_src m = {0};
    fog_cid root;
    assert_int_equal(
        fog_cid_parse(&root, "bafybeigcsevw74ssldzfwhiijzmg7a35lssfmjkuoj2t5qs5u5aztj47tq"), 0);
    mem_put(&m, &root, p, len);
    fog_blocksource src = mem_source(&m);
    fog_cid c;
    assert_int_equal(fog_unixfs_resolve(&src,
                                        "bafybeigcsevw74ssldzfwhiijzmg7a35lssfmjkuoj2t5qs5u5"
                                        "aztj47tq/chat.txt",
                                        &c),
                     0);
    listing ls = {0};
    assert_int_equal(fog_unixfs_ls(&src, &root, list_fn, &ls), FOG_ERR_NOT_FOUND);
    fog_pbnode n;
    assert_int_equal(fog_pbnode_decode(&n, p, len), 0);
    char first[FOG_CID_STR_MAX];
    assert_true(fog_cid_format(&n.links[0].cid, 0, first, sizeof first) > 0);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), first));
    assert_true(fog_cid_eq(&c, &n.links[1].cid)); /* "chat.txt" is the second link */
    fog_pbnode_clear(&n);
    free(p);
    mem_free(&m);
}

static void test_export_utf8_paths(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_cid root;
    if (!car_load(&m, "dir_listing/fixtures.car", &root)) {
        skip();
    }
    fog_blocksource src = mem_source(&m);
    assert_cid_str(&root, "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i");
    char path[300];
    snprintf(path, sizeof path, "/ipfs/%s/\xc4\x85/\xc4\x99/file-\xc5\xba\xc5\x82.txt",
             fog_cid_str(&root));
    fog_cid c;
    assert_int_equal(fog_unixfs_resolve(&src, path, &c), 0);
    assert_cid_str(&c, "bafkreialihlqnf5uwo4byh4n3cmwlntwqzxxs2fg5vanqdi3d7tb2l5xkm");
    fog_buf out;
    fog_buf_init(&out);
    assert_int_equal(cat_all(&src, &c, 0, UINT64_MAX, &out), 0);
    assert_int_equal(out.len, 34);
    assert_memory_equal(out.p, "I am a txt file on path with utf8\n", 34);
    listing ls = {0};
    assert_int_equal(fog_unixfs_ls(&src, &root, list_fn, &ls), 0);
    assert_int_equal(ls.n, 4);
    assert_string_equal(ls.names[0], "api");
    assert_string_equal(ls.names[3], "\xc4\x85");
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ls.types[i], FOG_UNIXFS_DIRECTORY);
    }
    fog_buf_clear(&out);
    mem_free(&m);
}

/* ---- get ---- */

typedef struct {
    int entries;
    uint64_t last_progress;
    char last_path[512];
} ev_log;

static void ev_entry(void *ctx, const char *path, const fog_cid *c, uint64_t size)
{
    (void)c;
    (void)size;
    ev_log *l = ctx;
    l->entries++;
    snprintf(l->last_path, sizeof l->last_path, "%s", path);
}

static void ev_progress(void *ctx, uint64_t done)
{
    ev_log *l = ctx;
    assert_true(done >= l->last_progress);
    l->last_progress = done;
}

static void assert_file(const char *path, const char *want, size_t len)
{
    size_t n;
    uint8_t *p = tl_slurp(path, &n);
    if (p == NULL) {
        fail_msg("%s is missing", path);
    }
    assert_int_equal(n, len);
    assert_memory_equal(p, want, len);
    free(p);
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static void test_export_get_fixtures(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_cid root, hamt, link;
    if (!car_load(&m, "path_gateway_unixfs/dir-with-files.car", &root) ||
        !car_load(&m, "trustless_gateway_car/single-layer-hamt-with-multi-block-files.car",
                  &hamt) ||
        !car_load(&m, "path_gateway_unixfs/symlink.car", &link)) {
        mem_free(&m);
        skip();
    }
    fog_blocksource src = mem_source(&m);
    char base[512], out[600], f[700];
    assert_true(tl_mkdtemp(base, sizeof base, "test-export"));
    /* A folder of files. */
    snprintf(out, sizeof out, "%s/files", base);
    ev_log log = {0};
    fog_import_events ev = {ev_entry, ev_progress, &log};
    assert_int_equal(fog_unixfs_get(&src, &root, out, &ev), 0);
    assert_int_equal(log.entries, 5);
    assert_string_equal(log.last_path, out); /* the folder itself comes last */
    assert_int_equal(log.last_progress, 31 + 31 + 12 + 1026);
    snprintf(f, sizeof f, "%s/hello.txt", out);
    assert_file(f, "hello world\n", 12);
    snprintf(f, sizeof f, "%s/ascii-copy.txt", out);
    assert_file(f, "hello application/vnd.ipld.car\n", 31);
    size_t tl;
    char *text = readme_text("path_gateway_unixfs/README.md", &tl);
    snprintf(f, sizeof f, "%s/multiblock.txt", out);
    assert_file(f, text, tl);
    assert_int_equal(count_entries(out), 4);
    /* Nothing existing is overwritten. */
    assert_int_equal(fog_unixfs_get(&src, &root, out, NULL), FOG_ERR_EXISTS);
    /* A single file; the sharded folder. */
    snprintf(out, sizeof out, "%s/one.txt", base);
    fog_cid c;
    snprintf(f, sizeof f, "%s/multiblock.txt", fog_cid_str(&root));
    assert_int_equal(fog_unixfs_resolve(&src, f, &c), 0);
    assert_int_equal(fog_unixfs_get(&src, &c, out, NULL), 0);
    assert_file(out, text, tl);
    snprintf(out, sizeof out, "%s/hamt", base);
    assert_int_equal(fog_unixfs_get(&src, &hamt, out, NULL), 0);
    assert_int_equal(count_entries(out), 1000);
    snprintf(f, sizeof f, "%s/1000.txt", out);
    assert_file(f, text, tl);
    /* Symlinks are written as they are, never followed. */
    snprintf(out, sizeof out, "%s/links", base);
    assert_int_equal(fog_unixfs_get(&src, &link, out, NULL), 0);
    snprintf(f, sizeof f, "%s/foo", out);
    assert_file(f, "content\n", 8);
    snprintf(f, sizeof f, "%s/bar", out);
    struct stat st;
    assert_int_equal(lstat(f, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char target[64];
    ssize_t tn = readlink(f, target, sizeof target);
    assert_int_equal(tn, 3);
    assert_memory_equal(target, "foo", 3);
    listing ls = {0};
    assert_int_equal(fog_unixfs_ls(&src, &link, list_fn, &ls), 0);
    assert_int_equal(ls.n, 2);
    assert_string_equal(ls.names[0], "bar");
    assert_int_equal(ls.types[0], FOG_UNIXFS_SYMLINK);
    assert_int_equal(ls.types[1], FOG_UNIXFS_FILE);
    assert_int_equal(ls.sizes[1], 8);
    assert_int_equal(cat_all(&src, &ls.cids[0], 0, UINT64_MAX, &(fog_buf){0}), FOG_ERR_INVALID);
    snprintf(f, sizeof f, "%s/bar/x", fog_cid_str(&link));
    assert_int_equal(fog_unixfs_resolve(&src, f, &c), FOG_ERR_INVALID);
    free(text);
    tl_rm_rf(base);
    mem_free(&m);
}

/* Names that could leave out_path are refused and nothing is written outside it. */
static void test_export_get_unsafe_names(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_blocksource src = mem_source(&m);
    char base[512], out[600], f[800];
    assert_true(tl_mkdtemp(base, sizeof base, "test-export"));
    fog_cid file = mem_add_raw(&m, "owned");
    static const struct {
        const char *name;
        size_t len;
    } bad[] = {{"..", 0},  {".", 0},    {"", 0},    {"../escape", 0},
               {"a/b", 0}, {"/abs", 0}, {"x\0y", 3}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tlink l[2] = {{file, "ok", 0, 0}, {file, bad[i].name, bad[i].len, 0}};
        fog_cid dir = add_dir(&m, l, 2);
        snprintf(out, sizeof out, "%s/out%zu", base, i);
        assert_int_equal(fog_unixfs_get(&src, &dir, out, NULL), FOG_ERR_PROTO);
        assert_non_null(strstr(fog_err_detail(FOG_ERR_PROTO), "unsafe"));
        assert_int_equal(count_entries(out), 1); /* only "ok" */
    }
    assert_int_equal(count_entries(base), (int)(sizeof bad / sizeof bad[0]));
    /* A symlink "a" -> base, then a folder also named "a" holding "pwned": the second "a"
     * fails to be created, and nothing lands in base through the link. */
    fog_buf u;
    fog_buf_init(&u);
    ufs(&u, FOG_UNIXFS_SYMLINK, base, -1, NULL, 0);
    fog_cid sl = add_node(&m, NULL, 0, &u);
    tlink inner = {file, "pwned", 0, 0};
    fog_cid sub = add_dir(&m, &inner, 1);
    tlink l[2] = {{sl, "a", 0, 0}, {sub, "a", 0, 0}};
    fog_cid dir = add_dir(&m, l, 2);
    snprintf(out, sizeof out, "%s/evil", base);
    assert_int_equal(fog_unixfs_get(&src, &dir, out, NULL), FOG_ERR_EXISTS);
    snprintf(f, sizeof f, "%s/pwned", base);
    struct stat st;
    assert_int_equal(lstat(f, &st), -1);
    /* The same with a file named like the link. */
    tlink l2[2] = {{sl, "a", 0, 0}, {file, "a", 0, 0}};
    dir = add_dir(&m, l2, 2);
    snprintf(out, sizeof out, "%s/evil2", base);
    assert_int_equal(fog_unixfs_get(&src, &dir, out, NULL), FOG_ERR_EXISTS);
    fog_buf_clear(&u);
    tl_rm_rf(base);
    mem_free(&m);
}

static void test_export_blocksource_from_view_is_trusted(void **state)
{
    (void)state;
    fog_blocksource src = {0};
    fog_blocksource_from_view(&src, NULL);
    assert_non_null(src.get);
    assert_true(src.trusted);
}

/* fog_dag_walk: each block once in pre-order link order, a diamond fetched once, identity
 * children read from their CIDs, a missing block named, untrusted blocks verified. */
typedef struct {
    fog_cid order[8];
    size_t n;
} walk_log;

static int walk_visit(void *ctx, const fog_cid *c, fog_slice data)
{
    (void)data;
    walk_log *w = ctx;
    assert_true(w->n < 8);
    w->order[w->n++] = *c;
    return 0;
}

static void test_export_dag_walk(void **state)
{
    (void)state;
    mem_src m = {0};
    fog_cid r1 = mem_add_raw(&m, "one");
    fog_cid r2 = mem_add_raw(&m, "two");
    fog_cid inl;
    assert_int_equal(fog_cid_of(&inl, 1, FOG_MC_RAW, FOG_MC_IDENTITY, (const uint8_t *)"hi", 2), 0);
    tlink leaves[] = {{r1, "a", 0, 0}, {r2, "b", 0, 0}, {inl, "c", 0, 0}};
    fog_cid d1 = add_dir(&m, leaves, 2);
    fog_cid d2 = add_dir(&m, leaves, 3);
    tlink top[] = {{d1, "x", 0, 0}, {d2, "y", 0, 0}};
    fog_cid root = add_dir(&m, top, 2);
    fog_blocksource src = mem_source(&m);
    walk_log w = {0};
    m.gets = 0;
    assert_int_equal(fog_dag_walk(&src, &root, NULL, walk_visit, &w, NULL), 0);
    const fog_cid *want[] = {&root, &d1, &r1, &r2, &d2, &inl};
    assert_int_equal(w.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_true(fog_cid_eq(&w.order[i], want[i]));
    }
    assert_int_equal(m.gets, 5); /* r1 and r2 once each; the identity child from its CID */

    /* A shared seen set: a second walk over the same blocks visits nothing. */
    fog_set seen;
    fog_set_init(&seen);
    assert_int_equal(fog_dag_walk(&src, &d1, &seen, NULL, NULL, NULL), 0);
    w.n = 0;
    assert_int_equal(fog_dag_walk(&src, &root, &seen, walk_visit, &w, NULL), 0);
    assert_int_equal(w.n, 3); /* root, d2 and the identity leaf: d1, r1, r2 were seen */
    fog_set_clear(&seen);

    /* A missing block is named. */
    fog_cid absent;
    assert_int_equal(fog_cid_of(&absent, 1, FOG_MC_RAW, FOG_MC_SHA2_256,
                                (const uint8_t *)"nowhere", 7), 0);
    tlink gone[] = {{absent, "z", 0, 0}};
    fog_cid holey = add_dir(&m, gone, 1);
    fog_cid where;
    memset(&where, 0, sizeof where);
    assert_int_equal(fog_dag_walk(&src, &holey, NULL, NULL, NULL, &where), FOG_ERR_NOT_FOUND);
    assert_true(fog_cid_eq(&where, &absent));
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), fog_cid_str(&absent)));

    /* An untrusted source is verified; a trusted one is taken at its word. */
    m.v[0].data[0] ^= 1; /* r1's bytes */
    assert_int_equal(fog_dag_walk(&src, &root, NULL, NULL, NULL, NULL), FOG_ERR_HASH_MISMATCH);
    src.trusted = true;
    assert_int_equal(fog_dag_walk(&src, &root, NULL, NULL, NULL, NULL), 0);
    mem_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_cat_ranges),
        cmocka_unit_test(test_export_cat_checks),
        cmocka_unit_test(test_export_verify_blocks),
        cmocka_unit_test(test_export_depth_limit),
        cmocka_unit_test(test_export_dirs_by_hand),
        cmocka_unit_test(test_export_hamt_params),
        cmocka_unit_test(test_export_murmur3_example),
        cmocka_unit_test(test_export_hamt_by_hand),
        cmocka_unit_test(test_export_dir_with_files),
        cmocka_unit_test(test_export_hamt_fixture),
        cmocka_unit_test(test_export_missing_block),
        cmocka_unit_test(test_export_dir_missing_children),
        cmocka_unit_test(test_export_utf8_paths),
        cmocka_unit_test(test_export_get_fixtures),
        cmocka_unit_test(test_export_get_unsafe_names),
        cmocka_unit_test(test_export_blocksource_from_view_is_trusted),
        cmocka_unit_test(test_export_dag_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
