/* test_dag.c: the block codecs: dag-pb decoding (strict rules, fixtures, canonical re-encoding),
 * the UnixFS Data message, the DAG-CBOR link walker, and fog_dag_links.
 * Expected values come from ipld/codec-fixtures in $FOG_VECTORS (each file is named by the CID of
 * its bytes; the fixture names say what each holds; the negative fixtures must fail), from the
 * dag-json twin of each dag-cbor fixture (its {"/": CID} links), and from bytes written by hand
 * from the protobuf and CBOR specs in this file. Vector tests skip with a printed line when
 * $FOG_VECTORS is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include <cmocka.h>
#include <jansson.h>

#include "dag/internal.h"
#include "fog/dag.h"
#include "testlib.h"

/* ---- helpers ---- */

/* The folder sub of ipld/codec-fixtures into buf; NULL (after the skip line) when missing. */
static const char *fixtures_dir(char *buf, size_t cap, const char *sub)
{
    char rel[512];
    snprintf(rel, sizeof rel, "ipld-codec-fixtures/%s", sub);
    return tl_vec_path(buf, cap, rel) ? buf : NULL;
}

/* Decodes hex written with spaces between groups (for reading); the hex must be valid. */
static size_t unhex_spaced(const char *hex, uint8_t *out, size_t cap)
{
    char clean[2100];
    size_t k = 0;
    for (const char *s = hex; *s && k + 1 < sizeof clean; s++) {
        if (*s != ' ') {
            clean[k++] = *s;
        }
    }
    clean[k] = '\0';
    return tl_unhex(clean, out, cap);
}

typedef struct {
    fog_cid v[64];
    size_t n;
    int stop_after; /* > 0: return FOG_ERR_CANCELLED after that many */
} cid_list;

static int collect(void *ctx, const fog_cid *c)
{
    cid_list *l = ctx;
    assert_true(l->n < 64);
    l->v[l->n++] = *c;
    if (l->stop_after > 0 && (int)l->n == l->stop_after) {
        return FOG_ERR_CANCELLED;
    }
    return 0;
}

static int cid_cmp(const void *a, const void *b)
{
    const fog_cid *x = a, *y = b;
    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }
    return memcmp(x->bytes, y->bytes, x->len);
}

/* Calls fn(dir, file-name-without-extension, bytes) for every fixture file ending in ext. */
typedef void (*fixture_fn)(const char *dir, const char *name, const char *stem, const uint8_t *p,
                           size_t len, void *arg);
static int each_fixture(const char *root, const char *prefix, const char *ext, fixture_fn fn,
                        void *arg)
{
    DIR *d = opendir(root);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0) {
            continue;
        }
        char sub[1200];
        snprintf(sub, sizeof sub, "%s/%s", root, e->d_name);
        DIR *sd = opendir(sub);
        if (sd == NULL) {
            continue;
        }
        struct dirent *f;
        while ((f = readdir(sd)) != NULL) {
            size_t fl = strlen(f->d_name), el = strlen(ext);
            if (fl <= el || strcmp(f->d_name + fl - el, ext) != 0) {
                continue;
            }
            char path[2400], stem[256];
            snprintf(path, sizeof path, "%s/%s", sub, f->d_name);
            snprintf(stem, sizeof stem, "%.*s", (int)(fl - el), f->d_name);
            size_t len = 0;
            uint8_t *p = tl_slurp(path, &len);
            assert_non_null(p);
            fn(sub, e->d_name, stem, p, len, arg);
            free(p);
            count++;
        }
        closedir(sd);
    }
    closedir(d);
    return count;
}

/* ---- dag-pb ---- */

/* What each dagpb_* fixture's name promises about its content. */
static void dagpb_expect(const char *name, const fog_pbnode *n)
{
    static const struct {
        const char *name;
        size_t links;
        int data; /* -1: absent, else length */
    } want[] = {
        {"dagpb_empty", 0, -1},
        {"dagpb_Data_zero", 0, 0},
        {"dagpb_Data_some", 0, 5},
        {"dagpb_1link", 1, -1},
        {"dagpb_2link+data", 2, 9},
        {"dagpb_4namedlinks+data", 4, -2},
        {"dagpb_7unnamedlinks+data", 7, -2},
        {"dagpb_11unnamedlinks+data", 11, -2},
        {"dagpb_Links_Hash_some", 1, -1},
        {"dagpb_Links_Hash_some_Name_zero", 1, -1},
        {"dagpb_Links_Hash_some_Name_some", 1, -1},
        {"dagpb_Links_Hash_some_Tsize_zero", 1, -1},
        {"dagpb_Links_Hash_some_Tsize_some", 1, -1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (strcmp(name, want[i].name) != 0) {
            continue;
        }
        assert_int_equal(n->n_links, want[i].links);
        if (want[i].data == -1) {
            assert_false(n->has_data);
        } else if (want[i].data >= 0) {
            assert_true(n->has_data);
            assert_int_equal(n->data.len, (size_t)want[i].data);
        } else {
            assert_true(n->has_data);
        }
    }
    if (strstr(name, "Links_Hash_some") != NULL) {
        const fog_pblink *l = &n->links[0];
        assert_int_equal(l->has_name, strstr(name, "Name") != NULL);
        assert_int_equal(l->has_tsize, strstr(name, "Tsize") != NULL);
        if (strstr(name, "Name_some") != NULL) {
            assert_true(fog_slice_eq(l->name, fog_slice_make("some name", 9)));
        }
        if (strstr(name, "Name_zero") != NULL) {
            assert_int_equal(l->name.len, 0);
        }
        if (strstr(name, "Tsize_some") != NULL) {
            assert_int_equal(l->tsize, 9007199254740991ull); /* 2^53 - 1: 7 x ff, then 0f */
        }
        if (strstr(name, "Tsize_zero") != NULL) {
            assert_int_equal(l->tsize, 0);
        }
    }
}

/* The dag-cbor twin of a dag-pb fixture holds the same Links, as tag-42 CIDs, in order. */
static void dagpb_cbor_twin(const char *dir, const fog_pbnode *n)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 9 || strcmp(e->d_name + l - 9, ".dag-cbor") != 0) {
            continue;
        }
        char path[2400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *p = tl_slurp(path, &len);
        fog_cid c;
        char stem[256];
        snprintf(stem, sizeof stem, "%.*s", (int)(l - 9), e->d_name);
        assert_int_equal(fog_cid_parse(&c, stem), 0);
        cid_list got = {0};
        assert_int_equal(fog_dag_links(&c, fog_slice_make(p, len), collect, &got), 0);
        assert_int_equal(got.n, n->n_links);
        for (size_t i = 0; i < got.n; i++) {
            assert_true(fog_cid_eq(&got.v[i], &n->links[i].cid));
        }
        free(p);
    }
    closedir(d);
}

static void dagpb_fixture(const char *dir, const char *name, const char *stem, const uint8_t *p,
                          size_t len, void *arg)
{
    (void)arg;
    fog_cid c;
    assert_int_equal(fog_cid_parse(&c, stem), 0);
    assert_int_equal(c.codec, FOG_MC_DAG_PB);
    assert_int_equal(fog_cid_verify(&c, p, len), 0);
    fog_pbnode n;
    int rc = fog_pbnode_decode(&n, p, len);
    if (rc != 0) {
        fail_msg("%s: %s", name, fog_err_detail(rc));
    }
    dagpb_expect(name, &n);
    dagpb_cbor_twin(dir, &n);
    /* Canonical form: re-encoding gives the same bytes (fog_pbnode_encode, pb_encode.c). */
    fog_buf out;
    fog_buf_init(&out);
    assert_int_equal(fog_pbnode_encode(&n, &out), 0);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.p, p, len);
    fog_buf_clear(&out);
    /* fog_dag_links reports the same links in the same order. */
    cid_list got = {0};
    assert_int_equal(fog_dag_links(&c, fog_slice_make(p, len), collect, &got), 0);
    assert_int_equal(got.n, n.n_links);
    for (size_t i = 0; i < got.n; i++) {
        assert_true(fog_cid_eq(&got.v[i], &n.links[i].cid));
    }
    fog_pbnode_clear(&n);
}

static void test_dag_pb_fixtures(void **state)
{
    (void)state;
    char root[1024];
    if (fixtures_dir(root, sizeof root, "fixtures") == NULL) {
        skip();
    }
    int n = each_fixture(root, "dagpb_", ".dag-pb", dagpb_fixture, NULL);
    assert_int_equal(n, 17); /* the 17 dagpb_* folders of ipld/codec-fixtures */
}

static void test_dag_pb_negative_fixtures(void **state)
{
    (void)state;
    char root[1024], path[1200];
    if (fixtures_dir(root, sizeof root, "negative-fixtures/dag-pb/decode") == NULL) {
        skip();
    }
    snprintf(path, sizeof path, "%s/edges.json", root);
    json_error_t jerr;
    json_t *arr = json_load_file(path, 0, &jerr);
    assert_non_null(arr);
    assert_true(json_array_size(arr) >= 9);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *c = json_array_get(arr, i);
        const char *hex = json_string_value(json_object_get(c, "hex"));
        assert_non_null(hex);
        uint8_t b[512];
        size_t len = tl_unhex(hex, b, sizeof b);
        fog_pbnode n;
        int rc = fog_pbnode_decode(&n, b, len);
        if (rc >= 0) {
            fail_msg("negative fixture \"%s\" decoded",
                     json_string_value(json_object_get(c, "name")));
        }
        assert_null(n.links);
        fog_cid cid;
        assert_int_equal(fog_cid_of(&cid, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, b, len), 0);
        assert_true(fog_dag_links(&cid, fog_slice_make(b, len), collect, &(cid_list){0}) < 0);
    }
    json_decref(arr);
}

/* A CIDv1 raw identity link target, written by hand: 01 55 00 05 + 5 bytes. */
#define LINK_CID "0155000500010203 04"

static int decode_hex(const char *hex, fog_pbnode *n)
{
    uint8_t b[256];
    size_t len = unhex_spaced(hex, b, sizeof b);
    return fog_pbnode_decode(n, b, len);
}

static void test_dag_pb_strict_rules(void **state)
{
    (void)state;
    fog_pbnode n;
    /* Accepted: links then Data (canonical), and Data then links (legacy). */
    assert_int_equal(decode_hex("120b 0a09 " LINK_CID " 0a02 6869", &n), 0);
    assert_int_equal(n.n_links, 1);
    assert_true(n.has_data && n.data.len == 2);
    fog_pbnode_clear(&n);
    assert_int_equal(decode_hex("0a02 6869 120b 0a09 " LINK_CID " 120b 0a09 " LINK_CID, &n), 0);
    assert_int_equal(n.n_links, 2);
    assert_true(n.has_data && n.data.len == 2);
    fog_pbnode_clear(&n);
    /* A full link: Hash, Name "a", Tsize 300 (varint ac 02). */
    assert_int_equal(decode_hex("1211 0a09 " LINK_CID " 1201 61 18ac02", &n), 0);
    assert_true(n.links[0].has_name && n.links[0].name.len == 1 && n.links[0].tsize == 300);
    fog_pbnode_clear(&n);
    /* Refused. */
    static const char *bad[] = {
        "0a00 0a00",                                       /* duplicate Data */
        "120b 0a09 " LINK_CID " 0a00 120b 0a09 " LINK_CID, /* Links split around Data */
        "1a00",                                            /* unknown field 3 */
        "0800",                                            /* Data as a varint */
        "1000",                                            /* Links as a varint */
        "0d00000000",                                      /* field 1, wire type 5 */
        "0200",                                            /* field 0 */
        "120e 1201 61 0a09 " LINK_CID,                     /* Name before Hash */
        "120f 0a09 " LINK_CID " 1800 1200",                /* Tsize before Name */
        "1216 0a09 " LINK_CID " 0a09 " LINK_CID,           /* Hash twice */
        "1211 0a09 " LINK_CID " 1201 61 1201 62",          /* Name twice */
        "120d 0a09 " LINK_CID " 1a00",                     /* Tsize as bytes */
        "120d 0a09 " LINK_CID " 2000",                     /* unknown link field 4 */
        "120b 0a09 0155000500010203",                      /* Hash cut short inside the link */
        "1205 0a03 015500",                                /* Hash that is not a CID */
        "120c 0a09 " LINK_CID,                             /* link length past the end */
        "0a05 6869",                                       /* Data length past the end */
        "0a",                                              /* key without a value */
        "ff",                                              /* varint cut short */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = decode_hex(bad[i], &n);
        if (rc >= 0) {
            fail_msg("case %zu (%s) decoded", i, bad[i]);
        }
        assert_true(rc == FOG_ERR_PROTO || rc == FOG_ERR_TRUNCATED);
        assert_null(n.links);
    }
}

/* ---- UnixFS Data ---- */

static int ufs_hex(const char *hex, fog_unixfs *u)
{
    uint8_t b[256];
    size_t len = unhex_spaced(hex, b, sizeof b);
    return fog_unixfs_decode(u, b, len);
}

static void test_dag_unixfs_decode(void **state)
{
    (void)state;
    fog_unixfs u;
    /* PROTOCOLS.md 2.3 worked example: "hello world" as a dag-pb leaf's Data. */
    static const uint8_t hello[] = {0x08, 0x02, 0x12, 0x0b, 'h', 'e', 'l',  'l', 'o',
                                    ' ',  'w',  'o',  'r',  'l', 'd', 0x18, 0x0b};
    assert_int_equal(fog_unixfs_decode(&u, hello, sizeof hello), 0);
    assert_int_equal(u.type, FOG_UNIXFS_FILE);
    assert_true(u.has_data && fog_slice_eq(u.data, fog_slice_make("hello world", 11)));
    assert_true(u.has_filesize && u.filesize == 11);
    assert_int_equal(u.n_blocksizes, 0);
    fog_buf out;
    fog_buf_init(&out);
    assert_int_equal(fog_unixfs_encode(&u, &out), 0);
    assert_int_equal(out.len, sizeof hello);
    assert_memory_equal(out.p, hello, sizeof hello);
    fog_buf_clear(&out);
    fog_unixfs_clear(&u);

    /* Unpacked and packed blocksizes (262144 = 80 80 10, 5 = 05) read the same. */
    fog_unixfs p;
    assert_int_equal(ufs_hex("0802 18858010 20808010 2005", &u), 0);
    assert_int_equal(ufs_hex("0802 18858010 2204 80801005", &p), 0);
    assert_int_equal(u.n_blocksizes, 2);
    assert_int_equal(p.n_blocksizes, 2);
    assert_int_equal(u.blocksizes[0], 262144);
    assert_int_equal(u.blocksizes[1], 5);
    assert_memory_equal(u.blocksizes, p.blocksizes, 2 * sizeof(uint64_t));
    assert_int_equal(u.filesize, 262149);
    fog_unixfs_clear(&u);
    fog_unixfs_clear(&p);

    /* HAMT shard: Type 5, Data bitfield, hashType 0x22, fanout 256; mode and mtime. */
    assert_int_equal(ufs_hex("0805 120101 2822 308002 38ed03 4210 08ffffffffffffffffff01 "
                             "15 e8030000",
                             &u),
                     0);
    assert_int_equal(u.type, FOG_UNIXFS_HAMT);
    assert_true(u.has_hashtype && u.hashtype == 0x22);
    assert_true(u.has_fanout && u.fanout == 256);
    assert_true(u.has_mode && u.mode == 0755);
    assert_true(u.has_mtime && u.mtime_sec == -1);
    assert_true(u.has_mtime_nsec && u.mtime_nsec == 1000);
    fog_unixfs_clear(&u);

    /* Unknown fields of every skippable wire type are skipped (boxo, js-ipfs-unixfs). */
    assert_int_equal(ufs_hex("0801 4801 5201aa 5d01020304 6101020304050607 08", &u), 0);
    assert_int_equal(u.type, FOG_UNIXFS_DIRECTORY);
    fog_unixfs_clear(&u);
    /* mode keeps the low 32 bits of its varint, like protobuf's uint32. */
    assert_int_equal(ufs_hex("0802 38a4838080 10", &u), 0);
    assert_int_equal(u.mode, 0x1a4);
    fog_unixfs_clear(&u);

    static const char *bad[] = {
        "",                /* Type is required */
        "1200",            /* only Data */
        "0a0102",          /* Type as bytes */
        "0802 1a00",       /* filesize as bytes */
        "0802 1500000000", /* Data as fixed32 */
        "0802 2500000000", /* blocksizes as fixed32 */
        "0802 4200",       /* mtime without Seconds */
        "0802 4202 1000",  /* mtime FractionalNanoseconds as a varint */
        "0802 5b",         /* a group (wire type 3) */
        "0802 5f",         /* wire type 7 */
        "0802 2203 8080",  /* packed blocksizes cut short */
        "0802 12",         /* Data without a length */
        "0802 1205 00",    /* Data length past the end */
        "0000",            /* field 0 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ufs_hex(bad[i], &u);
        if (rc >= 0) {
            fail_msg("case %zu (%s) decoded", i, bad[i]);
        }
        assert_null(u.blocksizes);
    }
    /* An unknown length-delimited field 9 is skipped, not refused. */
    assert_int_equal(ufs_hex("0802 4a00", &u), 0);
    fog_unixfs_clear(&u);
}

/* decode(encode(x)) == x for a message with every field (fog_unixfs_encode, pb_encode.c). */
static void test_dag_unixfs_roundtrip(void **state)
{
    (void)state;
    uint64_t sizes[3] = {1, 262144, 0};
    fog_unixfs u;
    memset(&u, 0, sizeof u);
    u.type = FOG_UNIXFS_FILE;
    u.has_data = true;
    u.data = fog_slice_make("abc", 3);
    u.has_filesize = true;
    u.filesize = 262148;
    u.blocksizes = sizes;
    u.n_blocksizes = 3;
    u.has_mode = true;
    u.mode = 0644;
    u.has_mtime = true;
    u.mtime_sec = 1700000000;
    u.has_mtime_nsec = true;
    u.mtime_nsec = 5;
    fog_buf out;
    fog_buf_init(&out);
    assert_int_equal(fog_unixfs_encode(&u, &out), 0);
    fog_unixfs d;
    assert_int_equal(fog_unixfs_decode(&d, out.p, out.len), 0);
    assert_int_equal(d.type, u.type);
    assert_true(fog_slice_eq(d.data, u.data));
    assert_int_equal(d.filesize, u.filesize);
    assert_int_equal(d.n_blocksizes, 3);
    assert_memory_equal(d.blocksizes, sizes, sizeof sizes);
    assert_int_equal(d.mode, 0644);
    assert_int_equal(d.mtime_sec, 1700000000);
    assert_int_equal(d.mtime_nsec, 5);
    assert_false(d.has_fanout || d.has_hashtype);
    fog_unixfs_clear(&d);
    fog_buf_clear(&out);
}

/* ---- DAG-CBOR ---- */

/* Collects the {"/": "CID"} links of a DAG-JSON value. */
static void json_links(json_t *v, cid_list *out)
{
    if (json_is_object(v)) {
        json_t *slash = json_object_get(v, "/");
        if (slash != NULL && json_object_size(v) == 1 && json_is_string(slash)) {
            assert_true(out->n < 64);
            assert_int_equal(fog_cid_parse(&out->v[out->n++], json_string_value(slash)), 0);
            return;
        }
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            json_links(x, out);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_links(json_array_get(v, i), out);
        }
    }
}

/* Compares the links of a dag-cbor fixture with those of its dag-json twin, as multisets
 * (DAG-JSON sorts map keys bytewise, DAG-CBOR length-first). */
static void cbor_twin_links(const char *dir, const cid_list *got)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 9 || strcmp(e->d_name + l - 9, ".dag-json") != 0) {
            continue;
        }
        char path[2400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *p = tl_slurp(path, &len);
        bool has_link = false;
        for (size_t i = 0; i + 6 <= len && !has_link; i++) {
            has_link = memcmp(p + i, "{\"/\":\"", 6) == 0;
        }
        json_error_t jerr;
        json_t *v = has_link ? json_loadb((const char *)p, len, JSON_DECODE_ANY, &jerr) : NULL;
        cid_list want = {0};
        if (v != NULL) {
            json_links(v, &want);
            json_decref(v);
        }
        if (!has_link || v != NULL) {
            cid_list g = *got;
            assert_int_equal(g.n, want.n);
            qsort(g.v, g.n, sizeof g.v[0], cid_cmp);
            qsort(want.v, want.n, sizeof want.v[0], cid_cmp);
            for (size_t i = 0; i < g.n; i++) {
                assert_true(fog_cid_eq(&g.v[i], &want.v[i]));
            }
        }
        free(p);
    }
    closedir(d);
}

static void cbor_fixture(const char *dir, const char *name, const char *stem, const uint8_t *p,
                         size_t len, void *arg)
{
    int *links_seen = arg;
    fog_cid c;
    assert_int_equal(fog_cid_parse(&c, stem), 0);
    assert_int_equal(c.codec, FOG_MC_DAG_CBOR);
    cid_list got = {0};
    int rc = fog_dag_links(&c, fog_slice_make(p, len), collect, &got);
    if (rc != 0) {
        fail_msg("%s: %s", name, fog_err_detail(rc));
    }
    *links_seen += (int)got.n;
    cbor_twin_links(dir, &got);
    /* The fixtures were written by canonical encoders: strict mode accepts them too. */
    rc = fog__cbor_walk(p, len, true, NULL, NULL);
    if (rc != 0) {
        fail_msg("%s (strict): %s", name, fog_err_detail(rc));
    }
}

static void test_dag_cbor_fixtures(void **state)
{
    (void)state;
    char root[1024];
    if (fixtures_dir(root, sizeof root, "fixtures") == NULL) {
        skip();
    }
    int links = 0;
    int n = each_fixture(root, "", ".dag-cbor", cbor_fixture, &links);
    assert_true(n >= 100);
    assert_true(links >= 20);
}

static void test_dag_cbor_negative_fixtures(void **state)
{
    (void)state;
    char root[1024], path[1200];
    if (fixtures_dir(root, sizeof root, "negative-fixtures/dag-cbor/decode") == NULL) {
        skip();
    }
    snprintf(path, sizeof path, "%s/duplicate-keys.json", root);
    json_error_t jerr;
    json_t *arr = json_load_file(path, 0, &jerr);
    assert_non_null(arr);
    assert_true(json_array_size(arr) >= 1);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        uint8_t b[256];
        const char *hex = json_string_value(json_object_get(json_array_get(arr, i), "hex"));
        size_t len = tl_unhex(hex, b, sizeof b);
        assert_true(fog__cbor_walk(b, len, false, NULL, NULL) < 0);
        assert_true(fog__cbor_walk(b, len, true, NULL, NULL) < 0);
    }
    json_decref(arr);
}

static int cbor_hex(const char *hex, bool strict)
{
    uint8_t b[1024];
    size_t len = unhex_spaced(hex, b, sizeof b);
    return fog__cbor_walk(b, len, strict, NULL, NULL);
}

/* Tag 42 around 00 + CIDv1 raw identity "abc" (01 55 00 03 61 62 63): a 8-byte byte string. */
#define CBOR_LINK "d82a 48 00 01550003616263"

static void test_dag_cbor_rules(void **state)
{
    (void)state;
    static const char *both_ok[] = {
        "a0",
        "80",
        "f4",
        "f5",
        "f6",
        "00",
        "3903e7",
        "1bffffffffffffffff",
        "3bffffffffffffffff",
        "fb3ff8000000000000",          /* 1.5 */
        "a2 6161 01 6162 02",          /* {"a":1,"b":2} sorted */
        "a2 6162 01 626161 02",        /* length first: "b" before "aa" */
        "82 " CBOR_LINK " " CBOR_LINK, /* two links */
        "6568656c6c6f",
        "43010203",
    };
    for (size_t i = 0; i < sizeof both_ok / sizeof both_ok[0]; i++) {
        if (cbor_hex(both_ok[i], false) != 0 || cbor_hex(both_ok[i], true) != 0) {
            fail_msg("case %zu (%s) refused", i, both_ok[i]);
        }
    }
    static const char *lenient_only[] = {
        "1817",                        /* 23 in a 1-byte argument */
        "190001",                      /* 1 in 2 bytes */
        "5801ff",                      /* byte string length in a longer form */
        "a2 6162 01 6161 02",          /* keys not sorted */
        "a2 626161 01 6162 02",        /* "aa" before "b": not length-first */
        "f93c00",                      /* half float 1.0 */
        "fa3fc00000",                  /* single float 1.5 */
        "d9002a 48 00 01550003616263", /* tag 42 in 2 bytes */
        "62c328",                      /* invalid UTF-8 text */
    };
    for (size_t i = 0; i < sizeof lenient_only / sizeof lenient_only[0]; i++) {
        if (cbor_hex(lenient_only[i], false) != 0) {
            fail_msg("lenient case %zu (%s) refused", i, lenient_only[i]);
        }
        assert_true(cbor_hex(lenient_only[i], true) < 0);
    }
    static const char *bad[] = {
        "",
        "9f01ff",
        "5f4101ff",
        "bf6161 01 ff",
        "f7",
        "f0",
        "f820",
        "ff",
        "1c",
        "5c",
        "f97e00",                     /* NaN */
        "f97c00",                     /* +inf half */
        "fa7f800000",                 /* +inf single */
        "fb7ff0000000000000",         /* +inf */
        "fbfff0000000000000",         /* -inf */
        "fb7ff8000000000000",         /* NaN */
        "c249010000000000000000",     /* bignum tag 2 */
        "d82b 48 00 01550003616263",  /* tag 43 */
        "d82a 6100",                  /* tag 42 around text */
        "d82a 47 01550003616263",     /* no 0x00 prefix */
        "d82a 44 00015500",           /* not a CID */
        "d82a 41 00",                 /* empty CID */
        "a1 01 02",                   /* integer key */
        "a2 6161 01 6161 02",         /* duplicate key, sorted path */
        "a3 6162 01 6161 02 6162 03", /* duplicate key, unsorted path */
        "0000",                       /* trailing bytes */
        "9bffffffffffffffff",         /* array longer than the block */
        "bbffffffffffffffff",         /* map longer than the block */
        "5bffffffffffffffff",         /* bytes longer than the block */
        "83 01 02",                   /* array cut short */
        "a1 6161",                    /* map value missing */
        "18",                         /* argument missing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cbor_hex(bad[i], false) >= 0) {
            fail_msg("case %zu (%s) accepted", i, bad[i]);
        }
        assert_true(cbor_hex(bad[i], true) < 0);
    }
    /* Nesting: FOG__CBOR_MAX_DEPTH arrays are fine, one more is FOG_ERR_LIMIT. */
    uint8_t deep[FOG__CBOR_MAX_DEPTH + 2];
    memset(deep, 0x81, sizeof deep);
    deep[FOG__CBOR_MAX_DEPTH] = 0x00;
    assert_int_equal(fog__cbor_walk(deep, FOG__CBOR_MAX_DEPTH + 1, false, NULL, NULL), 0);
    deep[FOG__CBOR_MAX_DEPTH] = 0x81;
    deep[FOG__CBOR_MAX_DEPTH + 1] = 0x00;
    assert_int_equal(fog__cbor_walk(deep, sizeof deep, false, NULL, NULL), FOG_ERR_LIMIT);
}

/* A big unsorted map with a duplicate far apart is found (the sort path), and a big sorted map
 * walks without quadratic cost. */
static void test_dag_cbor_big_maps(void **state)
{
    (void)state;
    enum { N = 20000 };
    fog_buf b;
    fog_buf_init(&b);
    assert_int_equal(fog_buf_u8(&b, 0xb9), 0); /* map with a 2-byte count */
    assert_int_equal(fog_buf_u8(&b, N >> 8), 0);
    assert_int_equal(fog_buf_u8(&b, N & 0xff), 0);
    for (unsigned i = 0; i < N; i++) {
        unsigned k = N - 1 - i; /* descending: unsorted */
        uint8_t key[6] = {0x65,
                          (uint8_t)('a' + k / 10000 % 10),
                          (uint8_t)('a' + k / 1000 % 10),
                          (uint8_t)('a' + k / 100 % 10),
                          (uint8_t)('a' + k / 10 % 10),
                          (uint8_t)('a' + k % 10)};
        assert_int_equal(fog_buf_append(&b, key, 6), 0);
        assert_int_equal(fog_buf_u8(&b, 0xf6), 0);
    }
    assert_int_equal(fog__cbor_walk(b.p, b.len, false, NULL, NULL), 0);
    assert_true(fog__cbor_walk(b.p, b.len, true, NULL, NULL) < 0);
    /* Make the last key equal to the first: a duplicate only the sort can see. */
    memcpy(b.p + b.len - 7, b.p + 3, 6); /* the last key, before its null */
    assert_int_equal(fog__cbor_walk(b.p, b.len, false, NULL, NULL), FOG_ERR_PROTO);
    fog_buf_clear(&b);
}

/* ---- fog_dag_links ---- */

static void test_dag_links_codecs(void **state)
{
    (void)state;
    uint8_t pb[64];
    size_t pb_len = tl_unhex("120b0a0901550005000102030412070a05015500010a", pb, sizeof pb);
    fog_cid c, want;
    assert_int_equal(fog_cid_from_bytes(&want,
                                        (const uint8_t *)"\x01\x55\x00\x05\x00\x01\x02"
                                                         "\x03\x04",
                                        9),
                     0);
    /* dag-pb by sha2-256 CID: two links, in order. */
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, pb, pb_len), 0);
    cid_list got = {0};
    assert_int_equal(fog_dag_links(&c, fog_slice_make(pb, pb_len), collect, &got), 0);
    assert_int_equal(got.n, 2);
    assert_true(fog_cid_eq(&got.v[0], &want));
    assert_int_equal(got.v[1].len, 5);
    /* The same block inlined in an identity CID: the data argument is ignored. */
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_DAG_PB, FOG_MC_IDENTITY, pb, pb_len), 0);
    memset(&got, 0, sizeof got);
    assert_int_equal(fog_dag_links(&c, fog_slice_make(NULL, 0), collect, &got), 0);
    assert_int_equal(got.n, 2);
    /* emit's error stops the walk and is returned. */
    memset(&got, 0, sizeof got);
    got.stop_after = 1;
    assert_int_equal(fog_dag_links(&c, fog_slice_make(NULL, 0), collect, &got), FOG_ERR_CANCELLED);
    assert_int_equal(got.n, 1);
    /* raw: no links, whatever the bytes. */
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, pb, pb_len), 0);
    memset(&got, 0, sizeof got);
    assert_int_equal(fog_dag_links(&c, fog_slice_make(pb, pb_len), collect, &got), 0);
    assert_int_equal(got.n, 0);
    /* DAG-CBOR: a malformed block reports no link at all, even one before the fault. */
    uint8_t cb[64];
    size_t cb_len = tl_unhex("83d82a48000155000361626300", cb, sizeof cb); /* 3 items, 2 there */
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_DAG_CBOR, FOG_MC_SHA2_256, cb, cb_len), 0);
    memset(&got, 0, sizeof got);
    assert_true(fog_dag_links(&c, fog_slice_make(cb, cb_len), collect, &got) < 0);
    assert_int_equal(got.n, 0);
    cb[0] = 0x82;
    assert_true(fog_dag_links(&c, fog_slice_make(cb, cb_len), collect, &got) == 0);
    assert_int_equal(got.n, 1);
    /* Codecs fog cannot read. */
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_DAG_JSON, FOG_MC_SHA2_256, cb, cb_len), 0);
    assert_int_equal(fog_dag_links(&c, fog_slice_make(cb, cb_len), collect, &got),
                     FOG_ERR_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dag_pb_fixtures),
        cmocka_unit_test(test_dag_pb_negative_fixtures),
        cmocka_unit_test(test_dag_pb_strict_rules),
        cmocka_unit_test(test_dag_unixfs_decode),
        cmocka_unit_test(test_dag_unixfs_roundtrip),
        cmocka_unit_test(test_dag_cbor_fixtures),
        cmocka_unit_test(test_dag_cbor_negative_fixtures),
        cmocka_unit_test(test_dag_cbor_rules),
        cmocka_unit_test(test_dag_cbor_big_maps),
        cmocka_unit_test(test_dag_links_codecs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
