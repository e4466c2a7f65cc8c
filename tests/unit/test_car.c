/* test_car.c: the CARv1 reader, header codec, export and import.
 * Expected values come from the spec fixtures (ipld/ipld carv1-basic with its JSON of offsets),
 * go-car's test data and its `car inspect` script (sample-v1.car: 1049 blocks), the gateway
 * conformance CARs, and DAGs built here by hand whose depth-first order is worked out on paper.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "car/internal.h"
#include "fog/car.h"
#include "fog/crypto.h"
#include "fog/dag.h"
#include "fog/store.h"
#include "testlib.h"

/* ---- helpers: files, in-memory input and output ---- */

/* Loads a vector file; false (and a skip line) when the vectors are missing. */
static bool load_vec(const char *rel, fog_buf *out)
{
    char path[1024];
    if (!tl_vec_path(path, sizeof path, rel)) {
        return false;
    }
    fog_buf_init(out);
    assert_true(tl_read_file(path, out));
    return true;
}

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
    size_t chunk; /* most bytes handed out per call (0: as many as asked) */
    size_t reads; /* calls that returned bytes */
} mem_in;

static int mem_read(void *ctx, uint8_t *p, size_t cap)
{
    mem_in *m = ctx;
    size_t n = m->len - m->pos;
    n = n < cap ? n : cap;
    if (m->chunk > 0 && n > m->chunk) {
        n = m->chunk;
    }
    memcpy(p, m->p + m->pos, n);
    m->pos += n;
    m->reads += n > 0;
    return (int)n;
}

static int buf_write(void *ctx, const uint8_t *p, size_t len)
{
    return fog_buf_append(ctx, p, len);
}

static mem_in mem_of(const fog_buf *b)
{
    mem_in m = {b->p, b->len, 0, 0, 0};
    return m;
}

/* Reads the whole CAR; returns the first error or 0, the block count in *n_out. */
static int read_all(const uint8_t *p, size_t len, size_t chunk, size_t *n_out)
{
    mem_in m = {p, len, 0, chunk, 0};
    fog_car_reader *r = NULL;
    *n_out = 0;
    int rc = fog_car_reader_new(&r, mem_read, &m);
    if (rc < 0) {
        return rc;
    }
    fog_cid c;
    fog_slice data;
    while ((rc = fog_car_reader_next(r, &c, &data)) == 1) {
        (*n_out)++;
    }
    fog_car_reader_free(r);
    return rc;
}

static void cid_text(const fog_cid *c, char *out)
{
    assert_true(fog_cid_format(c, 0, out, FOG_CID_STR_MAX) > 0);
}

/* ---- an in-memory blocksource that lends through one scratch buffer ---- */

typedef struct {
    fog_cid cid;
    fog_buf data;
} mem_block;

typedef struct {
    mem_block *blocks;
    size_t n, cap;
    fog_buf scratch; /* every get overwrites it: a caller that keeps bytes too long sees junk */
    size_t gets;
    size_t last; /* where the next lookup starts */
} mem_store;

static void ms_put(mem_store *ms, const fog_cid *c, const uint8_t *p, size_t len)
{
    if (ms->n == ms->cap) {
        ms->cap = ms->cap ? ms->cap * 2 : 16;
        ms->blocks = realloc(ms->blocks, ms->cap * sizeof *ms->blocks);
        assert_non_null(ms->blocks);
    }
    mem_block *b = &ms->blocks[ms->n++];
    b->cid = *c;
    fog_buf_init(&b->data);
    assert_int_equal(fog_buf_append(&b->data, p, len), 0);
}

static void ms_clear(mem_store *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        fog_buf_clear(&ms->blocks[i].data);
    }
    free(ms->blocks);
    fog_buf_clear(&ms->scratch);
    memset(ms, 0, sizeof *ms);
}

/* Looks up c starting after the last hit, so a store laid out in walk order costs O(1). */
static int ms_get(void *ctx, const fog_cid *c, fog_slice *out)
{
    mem_store *ms = ctx;
    ms->gets++;
    if (ms->scratch.len > 0) {
        memset(ms->scratch.p, 0xa5, ms->scratch.len);
    }
    for (size_t k = 0; k < ms->n; k++) {
        size_t i = (ms->last + k) % ms->n;
        if (fog_cid_eq(&ms->blocks[i].cid, c)) {
            fog_buf_reset(&ms->scratch);
            const fog_buf *d = &ms->blocks[i].data;
            assert_int_equal(fog_buf_append(&ms->scratch, d->p, d->len), 0);
            *out = fog_slice_make(ms->scratch.p, d->len);
            ms->last = i + 1;
            return 0;
        }
    }
    return fog_errf(FOG_ERR_NOT_FOUND, "test block %s is missing", fog_cid_str(c));
}

static fog_blocksource ms_source(mem_store *ms)
{
    fog_blocksource src = {ms_get, ms};
    return src;
}

/* Puts every block of a CAR into ms (the reader's own checks apply). */
static void ms_load_car(mem_store *ms, const fog_buf *car)
{
    mem_in m = mem_of(car);
    fog_car_reader *r = NULL;
    assert_int_equal(fog_car_reader_new(&r, mem_read, &m), 0);
    fog_cid c;
    fog_slice data;
    int rc;
    while ((rc = fog_car_reader_next(r, &c, &data)) == 1) {
        ms_put(ms, &c, data.p, data.len);
    }
    assert_int_equal(rc, 0);
    fog_car_reader_free(r);
}

/* ---- hand-built blocks ---- */

static void raw_block(mem_store *ms, const char *text, fog_cid *out)
{
    size_t len = strlen(text);
    assert_int_equal(fog_cid_of(out, 1, FOG_MC_RAW, FOG_MC_SHA2_256, (const uint8_t *)text, len),
                     0);
    ms_put(ms, out, (const uint8_t *)text, len);
}

/* A dag-pb node written by hand (PBNode: Links (field 2) then Data (field 1); PBLink: Hash 1,
 * Name 2, Tsize 3), so the test does not lean on the encoder it exercises indirectly. */
static void pb_block(mem_store *ms, const fog_cid *links, size_t n, fog_cid *out)
{
    fog_buf b, l;
    fog_buf_init(&b);
    fog_buf_init(&l);
    for (size_t i = 0; i < n; i++) {
        char name[16];
        int nl = snprintf(name, sizeof name, "l%zu", i);
        fog_buf_reset(&l);
        assert_int_equal(fog_buf_u8(&l, 0x0a), 0);
        assert_int_equal(fog_buf_uvarint(&l, links[i].len), 0);
        assert_int_equal(fog_buf_append(&l, links[i].bytes, links[i].len), 0);
        assert_int_equal(fog_buf_u8(&l, 0x12), 0);
        assert_int_equal(fog_buf_uvarint(&l, (uint64_t)nl), 0);
        assert_int_equal(fog_buf_append(&l, name, (size_t)nl), 0);
        assert_int_equal(fog_buf_u8(&l, 0x18), 0);
        assert_int_equal(fog_buf_uvarint(&l, 1), 0);
        assert_int_equal(fog_buf_u8(&b, 0x12), 0);
        assert_int_equal(fog_buf_uvarint(&b, l.len), 0);
        assert_int_equal(fog_buf_append(&b, l.p, l.len), 0);
    }
    assert_int_equal(fog_buf_append(&b, "\x0a\x02\x08\x01", 4), 0); /* Data: UnixFS dir */
    assert_int_equal(fog_cid_of(out, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, b.p, b.len), 0);
    ms_put(ms, out, b.p, b.len);
    fog_buf_clear(&b);
    fog_buf_clear(&l);
}

/* ---- reader: the spec fixture ---- */

#define BASIC "ipld-ipld/specs/transport/car/fixture/carv1-basic/carv1-basic"

static void test_car_basic_fixture(void **state)
{
    (void)state;
    fog_buf car;
    char jpath[1024];
    if (!load_vec(BASIC ".car", &car) || !tl_vec_path(jpath, sizeof jpath, BASIC ".json")) {
        skip();
    }
    json_t *j = json_load_file(jpath, 0, NULL);
    assert_non_null(j);
    json_t *roots = json_object_get(json_object_get(j, "header"), "roots");
    json_t *blocks = json_object_get(j, "blocks");
    mem_in m = mem_of(&car);
    fog_car_reader *r = NULL;
    assert_int_equal(fog_car_reader_new(&r, mem_read, &m), 0);
    assert_int_equal(fog_car_reader_n_roots(r), json_array_size(roots));
    char s[FOG_CID_STR_MAX];
    for (size_t i = 0; i < json_array_size(roots); i++) {
        cid_text(fog_car_reader_root(r, i), s);
        assert_string_equal(s, json_string_value(json_object_get(json_array_get(roots, i), "/")));
    }
    fog_cid c;
    fog_slice data;
    size_t i = 0;
    int rc;
    while ((rc = fog_car_reader_next(r, &c, &data)) == 1) {
        json_t *b = json_array_get(blocks, i++);
        assert_non_null(b);
        cid_text(&c, s);
        assert_string_equal(s, json_string_value(json_object_get(json_object_get(b, "cid"), "/")));
        fog_car_section sec;
        fog_car_reader_section(r, &sec);
        assert_int_equal(sec.offset, json_integer_value(json_object_get(b, "offset")));
        assert_int_equal(sec.length, json_integer_value(json_object_get(b, "length")));
        assert_int_equal(sec.block_offset, json_integer_value(json_object_get(b, "blockOffset")));
        assert_int_equal(sec.block_length, json_integer_value(json_object_get(b, "blockLength")));
        assert_int_equal(data.len, sec.block_length);
        assert_memory_equal(data.p, car.p + sec.block_offset, data.len);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(i, json_array_size(blocks));
    assert_int_equal(fog_car_reader_next(r, &c, &data), 0); /* the end stays the end */
    fog_car_reader_free(r);
    json_decref(j);
    fog_buf_clear(&car);
}

/* The header fog writes for the fixture's roots is the fixture's header, byte for byte. */
static void test_car_header_write_canonical(void **state)
{
    (void)state;
    fog_buf car;
    if (!load_vec(BASIC ".car", &car)) {
        skip();
    }
    mem_in m = mem_of(&car);
    fog_car_reader *r = NULL;
    assert_int_equal(fog_car_reader_new(&r, mem_read, &m), 0);
    fog_buf h;
    fog_buf_init(&h);
    assert_int_equal(fog__car_header_write(&h, fog_car_reader_root(r, 0), 2), 0);
    assert_int_equal(h.len, 1 + 0x63); /* the fixture's first byte: header length 0x63 */
    assert_memory_equal(h.p, car.p, h.len);
    fog_buf_clear(&h);
    fog_car_reader_free(r);
    fog_buf_clear(&car);
}

/* Byte-at-a-time input gives the same blocks; every prefix of the file either ends cleanly at a
 * section boundary (from the JSON) or fails TRUNCATED. */
static void test_car_truncated_prefixes(void **state)
{
    (void)state;
    fog_buf car;
    char jpath[1024];
    if (!load_vec(BASIC ".car", &car) || !tl_vec_path(jpath, sizeof jpath, BASIC ".json")) {
        skip();
    }
    json_t *j = json_load_file(jpath, 0, NULL);
    assert_non_null(j);
    json_t *blocks = json_object_get(j, "blocks");
    size_t n;
    assert_int_equal(read_all(car.p, car.len, 1, &n), 0);
    assert_int_equal(n, json_array_size(blocks));
    for (size_t cut = 0; cut < car.len; cut++) {
        size_t want_blocks = 0;
        bool boundary = cut == 100; /* the header ends where the first section starts */
        for (size_t i = 0; i < json_array_size(blocks); i++) {
            json_t *b = json_array_get(blocks, i);
            size_t end = (size_t)(json_integer_value(json_object_get(b, "offset")) +
                                  json_integer_value(json_object_get(b, "length")));
            want_blocks += end <= cut;
            boundary = boundary || end == cut;
        }
        int rc = read_all(car.p, cut, 7, &n);
        assert_int_equal(rc, boundary ? 0 : FOG_ERR_TRUNCATED);
        assert_int_equal(n, want_blocks);
    }
    json_decref(j);
    fog_buf_clear(&car);
}

/* One flipped byte inside a block's data: HASH_MISMATCH naming that block's CID (JSON). */
static void test_car_flipped_byte(void **state)
{
    (void)state;
    fog_buf car;
    char jpath[1024];
    if (!load_vec(BASIC ".car", &car) || !tl_vec_path(jpath, sizeof jpath, BASIC ".json")) {
        skip();
    }
    json_t *j = json_load_file(jpath, 0, NULL);
    json_t *b = json_array_get(json_object_get(j, "blocks"), 3);
    size_t at = (size_t)json_integer_value(json_object_get(b, "blockOffset")) + 5;
    car.p[at] ^= 0x01;
    size_t n;
    fog_err_clear();
    assert_int_equal(read_all(car.p, car.len, 0, &n), FOG_ERR_HASH_MISMATCH);
    assert_int_equal(n, 3);
    char want[512];
    snprintf(want, sizeof want, "block %s in the CAR does not match its CID",
             json_string_value(json_object_get(json_object_get(b, "cid"), "/")));
    assert_string_equal(fog_err_detail(FOG_ERR_HASH_MISMATCH), want);
    json_decref(j);
    fog_buf_clear(&car);
}

/* ---- reader: go-car's test data ---- */

/* go-car's samples hash with blake2b-256; until mf computes it they cannot be verified. */
static bool blake2b_missing(void)
{
    fog_cid c;
    static const uint8_t b[] = {0x01, 0x55, 0xa0, 0xe4, 0x02, 0x20, [37] = 0};
    if (fog_cid_from_bytes(&c, b, sizeof b) < 0 || fog_cid_verify(&c, NULL, 0) !=
                                                          FOG_ERR_UNSUPPORTED) {
        return false;
    }
    print_message("skip: fog cannot verify blake2b-256 yet (mf), go-car's samples need it\n");
    return true;
}

static void test_car_go_samples(void **state)
{
    (void)state;
    fog_buf car;
    if (blake2b_missing() || !load_vec("ipld-go-car/v2/testdata/sample-v1.car", &car)) {
        skip();
    }
    size_t n;
    fog_err_clear();
    int rc = read_all(car.p, car.len, 0, &n);
    if (rc < 0) {
        print_message("sample-v1.car: %s\n", fog_err_detail(rc));
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 1049); /* go-car cmd/car/testdata/script/inspect.txt: Block count */
    fog_buf_clear(&car);
}

typedef struct {
    const char *rel;
    int want;
    const char *detail; /* NULL: any */
} bad_case;

static void test_car_go_rejects(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"ipld-go-car/v2/testdata/sample-rootless-v42.car", FOG_ERR_PROTO, NULL},
        /* 16 bytes, of which the header claims 19 (0x12 + its varint). */
        {"ipld-go-car/v2/testdata/sample-corrupt-pragma.car", FOG_ERR_TRUNCATED, NULL},
        {"ipld-go-car/v2/testdata/sample-wrapped-v2.car", FOG_ERR_UNSUPPORTED,
         "CARv2 is not supported yet"},
        {"ipld-go-car/v2/testdata/sample-v2-indexless.car", FOG_ERR_UNSUPPORTED,
         "CARv2 is not supported yet"},
        /* Both claim lengths of about 2^37 bytes: over the limit before any read. */
        {"ipld-go-car/cmd/car/testdata/inputs/badheaderlength.car", FOG_ERR_LIMIT, NULL},
        {"ipld-go-car/cmd/car/testdata/inputs/badsectionlength.car", FOG_ERR_LIMIT, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fog_buf car;
        if (!load_vec(cases[i].rel, &car)) {
            skip();
        }
        size_t n;
        fog_err_clear();
        int rc = read_all(car.p, car.len, 0, &n);
        print_message("%s: %s\n", cases[i].rel, fog_err_detail(rc));
        assert_int_equal(rc, cases[i].want);
        if (cases[i].detail != NULL) {
            assert_string_equal(fog_err_detail(rc), cases[i].detail);
        }
        fog_buf_clear(&car);
    }
}

/* The zero-length section of go-car's sample comes after real blocks: they are returned first. */
static void test_car_zero_section_after_blocks(void **state)
{
    (void)state;
    fog_buf car;
    if (blake2b_missing() ||
        !load_vec("ipld-go-car/v2/testdata/sample-v1-with-zero-len-section2.car", &car)) {
        skip();
    }
    size_t n;
    fog_err_clear();
    assert_int_equal(read_all(car.p, car.len, 0, &n), FOG_ERR_PROTO);
    assert_true(n > 0);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_PROTO), "length zero"));
    fog_buf_clear(&car);
}

static int gateway_car(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    size_t len = strlen(path);
    if (flag != FTW_F || len < 4 || strcmp(path + len - 4, ".car") != 0) {
        return 0;
    }
    fog_buf car;
    fog_buf_init(&car);
    assert_true(tl_read_file(path, &car));
    size_t n;
    fog_err_clear();
    int rc = read_all(car.p, car.len, 4093, &n);
    if (rc != 0 || n == 0) {
        print_message("%s: %s, %zu blocks\n", path, fog_err_detail(rc), n);
    }
    fog_buf_clear(&car);
    return rc < 0 || n == 0 ? 1 : 0; /* non-zero stops nftw and fails the test */
}

static int gateway_count;
static int gateway_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    size_t len = strlen(path);
    if (flag == FTW_F && len >= 4 && strcmp(path + len - 4, ".car") == 0) {
        gateway_count++;
    }
    return gateway_car(path, st, flag, ftw);
}

static void test_car_gateway_fixtures(void **state)
{
    (void)state;
    char dir[1024];
    if (!tl_vec_path(dir, sizeof dir, "ipfs-gateway-conformance/fixtures")) {
        skip();
    }
    gateway_count = 0;
    assert_int_equal(nftw(dir, gateway_visit, 16, FTW_PHYS), 0);
    print_message("read %d gateway conformance CARs\n", gateway_count);
    assert_true(gateway_count >= 20);
}

/* ---- reader: hand-made headers and sections ---- */

/* Wraps a header map in its length prefix and appends one raw block section ("hi"). */
static int try_header(const char *hex, size_t *n_roots_out)
{
    uint8_t map[512];
    int mn = fog_hex_decode(hex, strlen(hex), map, sizeof map);
    assert_true(mn >= 0);
    fog_buf b;
    fog_buf_init(&b);
    assert_int_equal(fog_buf_uvarint(&b, (uint64_t)mn), 0);
    assert_int_equal(fog_buf_append(&b, map, (size_t)mn), 0);
    fog_cid c;
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, (const uint8_t *)"hi", 2), 0);
    uint8_t head[FOG_UVARINT_MAX + FOG_CID_MAX];
    size_t hn = fog__car_section_head(&c, 2, head);
    assert_int_equal(fog_buf_append(&b, head, hn), 0);
    assert_int_equal(fog_buf_append(&b, "hi", 2), 0);
    mem_in m = mem_of(&b);
    fog_car_reader *r = NULL;
    int rc = fog_car_reader_new(&r, mem_read, &m);
    if (rc == 0) {
        *n_roots_out = fog_car_reader_n_roots(r);
        fog_slice data;
        assert_int_equal(fog_car_reader_next(r, &c, &data), 1);
        assert_int_equal(fog_car_reader_next(r, &c, &data), 0);
    }
    fog_car_reader_free(r);
    fog_buf_clear(&b);
    return rc;
}

/* "roots" = 65 726f6f7473, "version" = 67 76657273696f6e; a root: d8 2a 58 25 00 + 36-byte
 * CIDv1 (01 55 12 20 + 32 bytes). */
#define K_ROOTS "65726f6f7473"
#define K_VERSION "6776657273696f6e"
#define ROOT                                                                                       \
    "d82a582500015512208f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"

static void test_car_header_rules(void **state)
{
    (void)state;
    size_t n = 99;
    assert_int_equal(try_header("a2" K_ROOTS "81" ROOT K_VERSION "01", &n), 0);
    assert_int_equal(n, 1);
    /* go-car and @ipld/car accept the keys in either order, and an empty roots array. */
    assert_int_equal(try_header("a2" K_VERSION "01" K_ROOTS "82" ROOT ROOT, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(try_header("a2" K_ROOTS "80" K_VERSION "01", &n), 0);
    assert_int_equal(n, 0);
    static const char *const proto[] = {
        "a1" K_VERSION "01",                                /* no roots */
        "a1" K_ROOTS "81" ROOT,                             /* no version */
        "a2" K_ROOTS "f6" K_VERSION "01",                   /* roots null */
        "a3" K_ROOTS "81" ROOT K_VERSION "01" "6178" "01",  /* an extra key "x" */
        "a2" K_ROOTS "81" ROOT "6178" "01",                 /* unknown key instead of version */
        "a2" K_ROOTS "81" ROOT K_ROOTS "81" ROOT,           /* a repeated key */
        "a2" K_ROOTS "81" ROOT K_VERSION "1801",            /* version 1 in a long head */
        "a2" K_ROOTS "9801" ROOT K_VERSION "01",            /* array length in a long head */
        "a2" K_ROOTS "81" ROOT K_VERSION "01" "00",         /* a byte after the map */
        "bf" K_ROOTS "81" ROOT K_VERSION "01" "ff",         /* indefinite-length map */
        "a2" K_ROOTS "9f" ROOT "ff" K_VERSION "01",         /* indefinite-length array */
        "a2" K_ROOTS "81" ROOT K_VERSION "03",              /* version 3 */
        "a2" K_ROOTS "81" ROOT K_VERSION "20",              /* version -1 */
        "a2" K_ROOTS "81" "582500015512208f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc"
        "327aa4" K_VERSION "01",                            /* a root without tag 42 */
        "a2" K_ROOTS "81" "d82a5824015512208f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2"
        "dc327aa4" K_VERSION "01",                          /* no 0x00 prefix */
        "a2" K_ROOTS "81" "d82a5825000155122a8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59"
        "b2dc327aa4" K_VERSION "01",                        /* digest length 42 in 32 bytes */
        "a2" K_ROOTS "81" ROOT K_VERSION,                   /* cut short */
        "82" K_ROOTS K_VERSION,                             /* not a map */
    };
    for (size_t i = 0; i < sizeof proto / sizeof proto[0]; i++) {
        fog_err_clear();
        int rc = try_header(proto[i], &n);
        print_message("case %zu: %s\n", i, fog_err_detail(rc));
        assert_int_equal(rc, FOG_ERR_PROTO);
    }
    /* The CARv2 pragma, alone and with roots. */
    fog_err_clear();
    assert_int_equal(try_header("a1" K_VERSION "02", &n), FOG_ERR_UNSUPPORTED);
    assert_string_equal(fog_err_detail(FOG_ERR_UNSUPPORTED), "CARv2 is not supported yet");
}

/* {"roots": [ROOT x count], "version": 1} with the count in a 2-byte head. */
static void roots_header(fog_buf *b, unsigned count)
{
    uint8_t root[64];
    int rn = fog_hex_decode(ROOT, strlen(ROOT), root, sizeof root);
    assert_true(rn > 0);
    fog_buf_init(b);
    assert_int_equal(fog_buf_append(b, "\xa2\x65roots\x99", 8), 0);
    assert_int_equal(fog_buf_u8(b, (uint8_t)(count >> 8)), 0);
    assert_int_equal(fog_buf_u8(b, (uint8_t)count), 0);
    for (unsigned i = 0; i < count; i++) {
        assert_int_equal(fog_buf_append(b, root, (size_t)rn), 0);
    }
    assert_int_equal(fog_buf_append(b, "\x67version\x01", 9), 0);
}

static void test_car_header_limits(void **state)
{
    (void)state;
    /* 1025 roots: over FOG_CAR_MAX_ROOTS (the count is checked before the roots are read). */
    fog_buf b;
    fog_cid *roots = NULL;
    size_t n = 0;
    roots_header(&b, 1025);
    assert_int_equal(fog__car_header_parse(b.p, b.len, &roots, &n), FOG_ERR_LIMIT);
    fog_buf_clear(&b);
    roots_header(&b, FOG_CAR_MAX_ROOTS);
    assert_int_equal(fog__car_header_parse(b.p, b.len, &roots, &n), 0);
    assert_int_equal(n, FOG_CAR_MAX_ROOTS);
    free(roots);
    fog_buf_clear(&b);

    /* Header lengths: zero, over FOG_CAR_HEADER_MAX, longer than the input, empty input. */
    static const uint8_t zero[] = {0x00};
    static const uint8_t big[] = {0x81, 0x80, 0x40}; /* (1 << 20) + 1 */
    static const uint8_t cut[] = {0x0a, 0xa1, 0x67};
    static const uint8_t nonmin[] = {0x80, 0x00};
    size_t nb2;
    assert_int_equal(read_all(zero, sizeof zero, 0, &nb2), FOG_ERR_PROTO);
    assert_int_equal(read_all(big, sizeof big, 0, &nb2), FOG_ERR_LIMIT);
    assert_int_equal(read_all(cut, sizeof cut, 0, &nb2), FOG_ERR_TRUNCATED);
    assert_int_equal(read_all(nonmin, sizeof nonmin, 0, &nb2), FOG_ERR_PROTO);
    assert_int_equal(read_all(zero, 0, 0, &nb2), FOG_ERR_TRUNCATED);
}

/* A valid one-root header followed by the given section bytes. */
static int try_sections(const uint8_t *sec, size_t sec_len, size_t *n)
{
    fog_buf b;
    fog_buf_init(&b);
    fog_cid root;
    assert_int_equal(fog_cid_of(&root, 1, FOG_MC_RAW, FOG_MC_SHA2_256, (const uint8_t *)"hi", 2),
                     0);
    assert_int_equal(fog__car_header_write(&b, &root, 1), 0);
    assert_int_equal(fog_buf_append(&b, sec, sec_len), 0);
    int rc = read_all(b.p, b.len, 0, n);
    fog_buf_clear(&b);
    return rc;
}

static void test_car_section_rules(void **state)
{
    (void)state;
    size_t n;
    /* An identity CID (bafkqaaa... raw, identity "hi") holding its own bytes: fine. */
    static const uint8_t ident[] = {0x08, 0x01, 0x55, 0x00, 0x02, 'h', 'i', 'h', 'i'};
    assert_int_equal(try_sections(ident, sizeof ident, &n), 0);
    assert_int_equal(n, 1);
    static const uint8_t ident_bad[] = {0x08, 0x01, 0x55, 0x00, 0x02, 'h', 'i', 'h', 'o'};
    assert_int_equal(try_sections(ident_bad, sizeof ident_bad, &n), FOG_ERR_HASH_MISMATCH);
    /* An empty block: the section holds only a CID (raw sha2-256 of nothing). */
    uint8_t empty[1 + 36];
    fog_cid c;
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, NULL, 0), 0);
    assert_int_equal(fog__car_section_head(&c, 0, empty), sizeof empty);
    assert_int_equal(try_sections(empty, sizeof empty, &n), 0);
    assert_int_equal(n, 1);
    /* Zero length; a CID longer than its section; CID version 2; a cut section length. */
    static const uint8_t zero[] = {0x00};
    static const uint8_t short_cid[] = {0x04, 0x01, 0x55, 0x12, 0x20};
    static const uint8_t v2[] = {0x05, 0x02, 0x55, 0x00, 0x01, 'x'};
    static const uint8_t cut_len[] = {0x80};
    static const uint8_t cut_body[] = {0x06, 0x01, 0x55, 0x00, 0x02, 'h'};
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(try_sections(zero, sizeof zero, &n), FOG_ERR_PROTO);
    assert_int_equal(try_sections(short_cid, sizeof short_cid, &n), FOG_ERR_PROTO);
    assert_int_equal(try_sections(v2, sizeof v2, &n), FOG_ERR_PROTO);
    assert_int_equal(try_sections(cut_len, sizeof cut_len, &n), FOG_ERR_TRUNCATED);
    assert_int_equal(try_sections(cut_body, sizeof cut_body, &n), FOG_ERR_TRUNCATED);
    assert_int_equal(try_sections(huge, sizeof huge, &n), FOG_ERR_LIMIT);
    /* An unknown hash function cannot be verified: refused, not passed on unchecked. */
    static const uint8_t unk[] = {0x07, 0x01, 0x55, 0x99, 0x01, 0x01, 0xaa, 'x'};
    fog_err_clear();
    assert_int_equal(try_sections(unk, sizeof unk, &n), FOG_ERR_UNSUPPORTED);
    print_message("%s\n", fog_err_detail(FOG_ERR_UNSUPPORTED));
}

/* ---- export ---- */

/* Loads every block of car and exports them again from its n roots (the reader's roots, in
 * order): the output must be car itself, byte for byte. Frees car. */
static void export_reproduces(fog_buf *car, size_t n)
{
    mem_store ms = {0};
    ms_load_car(&ms, car);
    mem_in m = mem_of(car);
    fog_car_reader *r = NULL;
    assert_int_equal(fog_car_reader_new(&r, mem_read, &m), 0);
    fog_blocksource src = ms_source(&ms);
    fog_buf out;
    fog_buf_init(&out);
    assert_int_equal(fog_car_export(&src, fog_car_reader_root(r, 0), n, buf_write, &out), 0);
    assert_int_equal(out.len, car->len);
    assert_memory_equal(out.p, car->p, car->len);
    fog_car_reader_free(r);
    fog_buf_clear(&out);
    ms_clear(&ms);
    fog_buf_clear(car);
}

/* The fixture is written depth-first from its two roots, so exporting its blocks again from
 * those roots must give the very same bytes. */
static void test_car_export_basic_fixture(void **state)
{
    (void)state;
    fog_buf car;
    if (!load_vec(BASIC ".car", &car)) {
        skip();
    }
    export_reproduces(&car, 2);
}

/* go-car wrote sample-v1.car depth-first from its root, identity blocks included: fog's export
 * of the same blocks reproduces it. */
static void test_car_export_go_sample(void **state)
{
    (void)state;
    fog_buf car;
    if (blake2b_missing() || !load_vec("ipld-go-car/v2/testdata/sample-v1.car", &car)) {
        skip();
    }
    export_reproduces(&car, 1);
}

/* A small DAG:      R
 *               /   |    \
 *             N1    c     N2
 *            /  \        /  \
 *           a    b      a    N3
 *                           /  \
 *                          c    i (identity, inline "hi")
 * Pre-order, each CID once: R N1 a b c N2 N3 i. */
typedef struct {
    mem_store ms;
    fog_cid a, b, c, i, n1, n2, n3, root;
} small_dag;

static void small_dag_make(small_dag *d)
{
    memset(d, 0, sizeof *d);
    raw_block(&d->ms, "leaf a", &d->a);
    raw_block(&d->ms, "leaf b", &d->b);
    raw_block(&d->ms, "leaf c", &d->c);
    assert_int_equal(fog_cid_of(&d->i, 1, FOG_MC_RAW, FOG_MC_IDENTITY, (const uint8_t *)"hi", 2),
                     0);
    fog_cid l1[] = {d->a, d->b};
    pb_block(&d->ms, l1, 2, &d->n1);
    fog_cid l3[] = {d->c, d->i};
    pb_block(&d->ms, l3, 2, &d->n3);
    fog_cid l2[] = {d->a, d->n3};
    pb_block(&d->ms, l2, 2, &d->n2);
    fog_cid lr[] = {d->n1, d->c, d->n2};
    pb_block(&d->ms, lr, 3, &d->root);
}

static void export_mem(mem_store *ms, const fog_cid *roots, size_t n, fog_buf *out)
{
    fog_blocksource src = ms_source(ms);
    fog_buf_init(out);
    assert_int_equal(fog_car_export(&src, roots, n, buf_write, out), 0);
}

static void test_car_export_small_dag(void **state)
{
    (void)state;
    small_dag d;
    small_dag_make(&d);
    fog_buf out;
    export_mem(&d.ms, &d.root, 1, &out);
    const fog_cid *order[] = {&d.root, &d.n1, &d.a, &d.b, &d.c, &d.n2, &d.n3, &d.i};
    mem_in m = mem_of(&out);
    fog_car_reader *r = NULL;
    assert_int_equal(fog_car_reader_new(&r, mem_read, &m), 0);
    assert_int_equal(fog_car_reader_n_roots(r), 1);
    assert_true(fog_cid_eq(fog_car_reader_root(r, 0), &d.root));
    fog_cid c;
    fog_slice data;
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        assert_int_equal(fog_car_reader_next(r, &c, &data), 1);
        assert_true(fog_cid_eq(&c, order[k]));
    }
    assert_int_equal(fog_car_reader_next(r, &c, &data), 0);
    fog_car_reader_free(r);
    fog_buf_clear(&out);
    ms_clear(&d.ms);
}

static void test_car_export_errors(void **state)
{
    (void)state;
    small_dag d;
    small_dag_make(&d);
    fog_blocksource src = ms_source(&d.ms);
    fog_buf out;
    fog_buf_init(&out);
    /* A root that is missing: nothing written. */
    fog_cid ghost;
    assert_int_equal(fog_cid_of(&ghost, 1, FOG_MC_RAW, FOG_MC_SHA2_256, (const uint8_t *)"x", 1),
                     0);
    fog_cid roots[] = {d.root, ghost};
    assert_int_equal(fog_car_export(&src, roots, 2, buf_write, &out), FOG_ERR_NOT_FOUND);
    assert_int_equal(out.len, 0);
    /* A block below the root that is missing: the detail names it. */
    char want[FOG_CID_STR_MAX + 32];
    cid_text(&d.b, want);
    fog_buf_clear(&d.ms.blocks[1].data);
    d.ms.blocks[1].cid = ghost; /* "leaf b" is gone */
    fog_err_clear();
    assert_int_equal(fog_car_export(&src, &d.root, 1, buf_write, &out), FOG_ERR_NOT_FOUND);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), want));
    assert_int_equal(fog_car_export(&src, &d.root, 0, buf_write, &out), FOG_ERR_INVALID);
    fog_buf_clear(&out);
    ms_clear(&d.ms);
}

/* A chain 100000 nodes deep: the walk must not recurse. */
static void test_car_export_deep_chain(void **state)
{
    (void)state;
    mem_store ms = {0};
    fog_cid prev;
    raw_block(&ms, "bottom", &prev);
    enum { DEPTH = 100000 };
    for (int k = 0; k < DEPTH; k++) {
        fog_cid next;
        pb_block(&ms, &prev, 1, &next);
        prev = next;
    }
    /* Blocks were made bottom first; the walk goes top first: reverse them for ms_get. */
    for (size_t k = 0; k < ms.n / 2; k++) {
        mem_block tmp = ms.blocks[k];
        ms.blocks[k] = ms.blocks[ms.n - 1 - k];
        ms.blocks[ms.n - 1 - k] = tmp;
    }
    fog_buf out;
    export_mem(&ms, &prev, 1, &out);
    size_t n;
    assert_int_equal(read_all(out.p, out.len, 0, &n), 0);
    assert_int_equal(n, DEPTH + 1);
    fog_buf_clear(&out);
    ms_clear(&ms);
}

/* ---- import into a real repository ---- */

typedef struct {
    char dir[256];
    fog_store *s;
} repo;

static void repo_open(repo *r)
{
    assert_true(tl_mkdtemp(r->dir, sizeof r->dir, "test-car"));
    assert_int_equal(fog_repo_init(r->dir, NULL, 0), 0);
    assert_int_equal(fog_store_open(&r->s, r->dir, FOG_STORE_WRITE), 0);
}

static void repo_close(repo *r)
{
    fog_store_close(r->s);
    assert_int_equal(tl_rm_rf(r->dir), 0);
}

/* What "exactly as before" means: counts, and digests over every block key and every pin. */
typedef struct {
    fog_repo_stat st;
    uint8_t blocks[FOG_SHA256_LEN];
    uint8_t pins[FOG_SHA256_LEN];
} snapshot;

static int snap_block(void *ctx, fog_slice mh, fog_slice data)
{
    fog_sha256_update(ctx, mh.p, mh.len);
    fog_sha256_update(ctx, data.p, data.len);
    return 0;
}

static int snap_pin(void *ctx, const fog_cid *c, int kind)
{
    uint8_t k = (uint8_t)kind;
    fog_sha256_update(ctx, c->bytes, c->len);
    fog_sha256_update(ctx, &k, 1);
    return 0;
}

static void snap(fog_store *s, snapshot *out)
{
    memset(out, 0, sizeof *out);
    assert_int_equal(fog_store_stat(s, &out->st), 0);
    out->st.repo_bytes = 0; /* the file may grow or keep free pages: not content */
    fog_sha256_ctx h;
    fog_sha256_begin(&h);
    assert_int_equal(fog_store_each_block(s, snap_block, &h), 0);
    fog_sha256_end(&h, out->blocks);
    fog_sha256_begin(&h);
    assert_int_equal(fog_store_pin_list(s, snap_pin, &h), 0);
    fog_sha256_end(&h, out->pins);
}

static void assert_same(fog_store *s, const snapshot *before)
{
    snapshot now;
    snap(s, &now);
    assert_int_equal(now.st.blocks, before->st.blocks);
    assert_int_equal(now.st.content_bytes, before->st.content_bytes);
    assert_int_equal(now.st.pins, before->st.pins);
    assert_memory_equal(now.blocks, before->blocks, sizeof now.blocks);
    assert_memory_equal(now.pins, before->pins, sizeof now.pins);
}

static int import_buf(fog_store *s, const fog_buf *car, bool pin, fog_car_import_stats *st)
{
    mem_in m = mem_of(car);
    fog_cid *roots = NULL;
    size_t n = 0;
    int rc = fog_car_import(s, mem_read, &m, pin, st, &roots, &n);
    free(roots);
    return rc;
}

static void test_car_import_roundtrip(void **state)
{
    (void)state;
    small_dag d;
    small_dag_make(&d);
    fog_buf car;
    export_mem(&d.ms, &d.root, 1, &car);
    repo r;
    repo_open(&r);
    mem_in m = mem_of(&car);
    fog_car_import_stats st;
    fog_cid *roots = NULL;
    size_t n = 0;
    assert_int_equal(fog_car_import(r.s, mem_read, &m, true, &st, &roots, &n), 0);
    assert_int_equal(n, 1);
    assert_true(fog_cid_eq(&roots[0], &d.root));
    free(roots);
    assert_int_equal(st.blocks, 8);
    assert_int_equal(st.blocks_present, 1); /* the identity block is never stored */
    uint64_t bytes = 0;
    for (size_t k = 0; k < d.ms.n; k++) {
        assert_int_equal(fog_store_has(r.s, &d.ms.blocks[k].cid), 1);
        bytes += d.ms.blocks[k].data.len;
    }
    assert_int_equal(st.bytes, bytes + 2); /* + "hi" inline */
    int kind = 0;
    assert_int_equal(fog_store_pin_get(r.s, &d.root, &kind), 0);
    assert_int_equal(kind, FOG_PIN_RECURSIVE);
    /* Again: everything is already there, and the store does not change. */
    snapshot before;
    snap(r.s, &before);
    assert_int_equal(before.st.blocks, 7);
    assert_int_equal(before.st.pins, 1);
    assert_int_equal(import_buf(r.s, &car, true, &st), 0);
    assert_int_equal(st.blocks_present, 8);
    assert_same(r.s, &before);
    repo_close(&r);
    fog_buf_clear(&car);
    ms_clear(&d.ms);
}

/* A CAR of the given blocks (CIDs and bytes from ms, in the order given) under one root. */
static void car_of(const fog_cid *root, mem_store *ms, const size_t *idx, size_t n, fog_buf *out)
{
    fog_buf_init(out);
    assert_int_equal(fog__car_header_write(out, root, 1), 0);
    for (size_t k = 0; k < n; k++) {
        mem_block *b = &ms->blocks[idx[k]];
        uint8_t head[FOG_UVARINT_MAX + FOG_CID_MAX];
        size_t hn = fog__car_section_head(&b->cid, b->data.len, head);
        assert_int_equal(fog_buf_append(out, head, hn), 0);
        assert_int_equal(fog_buf_append(out, b->data.p, b->data.len), 0);
    }
}

/* xorshift64: block contents that do not compress and do not repeat. */
static void fill_random(uint8_t *p, size_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 32);
    }
}

enum { BIG_BLOCKS = 6, BIG_LEN = 1900000 };

/* Root -> [leaf a, six 1.9 MB raw blocks]: 11.4 MB, more than one store batch. */
static void big_car(mem_store *ms, fog_cid *root, fog_buf *car)
{
    fog_cid links[1 + BIG_BLOCKS];
    raw_block(ms, "leaf a", &links[0]);
    uint8_t *p = malloc(BIG_LEN);
    assert_non_null(p);
    for (int k = 0; k < BIG_BLOCKS; k++) {
        fill_random(p, BIG_LEN, (uint64_t)k + 1);
        assert_int_equal(fog_cid_of(&links[1 + k], 1, FOG_MC_RAW, FOG_MC_SHA2_256, p, BIG_LEN), 0);
        ms_put(ms, &links[1 + k], p, BIG_LEN);
    }
    free(p);
    pb_block(ms, links, 1 + BIG_BLOCKS, root);
    export_mem(ms, root, 1, car);
}

/* Reading an 11 MB CAR never holds much more than one section beyond what it has returned. */
static void test_car_reader_bounded(void **state)
{
    (void)state;
    mem_store ms = {0};
    fog_cid root;
    fog_buf car;
    big_car(&ms, &root, &car);
    mem_in m = mem_of(&car);
    fog_car_reader *r = NULL;
    assert_int_equal(fog_car_reader_new(&r, mem_read, &m), 0);
    fog_cid c;
    fog_slice data;
    size_t n = 0;
    int rc;
    while ((rc = fog_car_reader_next(r, &c, &data)) == 1) {
        fog_car_section sec;
        fog_car_reader_section(r, &sec);
        assert_true(m.pos - (sec.offset + sec.length) <= FOG_CAR_SECTION_MAX + FOG_UVARINT_MAX);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 2 + BIG_BLOCKS);
    fog_car_reader_free(r);
    fog_buf_clear(&car);
    ms_clear(&ms);
}

/* A repository with some content: the spec fixture (unpinned, when the vectors are there) and a
 * tiny pinned DAG over "leaf a"; *before is its state. */
static void repo_with_content(repo *r, snapshot *before)
{
    repo_open(r);
    fog_buf car;
    if (load_vec(BASIC ".car", &car)) {
        assert_int_equal(import_buf(r->s, &car, false, NULL), 0);
        fog_buf_clear(&car);
    }
    mem_store pre = {0};
    fog_cid a, top;
    raw_block(&pre, "leaf a", &a);
    pb_block(&pre, &a, 1, &top);
    export_mem(&pre, &top, 1, &car);
    assert_int_equal(import_buf(r->s, &car, true, NULL), 0);
    fog_buf_clear(&car);
    ms_clear(&pre);
    snap(r->s, before);
}

/* A flipped byte in the last stored block of a small DAG: nothing changes. */
static void test_car_import_tampered(void **state)
{
    (void)state;
    repo r;
    snapshot before;
    repo_with_content(&r, &before);
    small_dag d;
    small_dag_make(&d);
    fog_buf car;
    export_mem(&d.ms, &d.root, 1, &car);
    car.p[car.len - 1 - 2 - 40] ^= 0x40; /* inside N3, before the 9-byte inline block section */
    assert_int_equal(import_buf(r.s, &car, true, NULL), FOG_ERR_HASH_MISMATCH);
    assert_same(r.s, &before);
    fog_buf_clear(&car);
    ms_clear(&d.ms);
    repo_close(&r);
}

/* Leaf b missing: the pin check fails after the blocks were stored, and they are removed again.
 * Without pinning the same CAR is accepted and nothing is pinned. */
static void test_car_import_missing_block(void **state)
{
    (void)state;
    repo r;
    snapshot before;
    repo_with_content(&r, &before);
    small_dag d;
    small_dag_make(&d);
    size_t idx[] = {6, 3, 0, 2, 5, 4}; /* R N1 a c N2 N3, as ms holds them: a b c N1 N3 N2 R */
    fog_buf car;
    car_of(&d.root, &d.ms, idx, 6, &car);
    char want[FOG_CID_STR_MAX];
    cid_text(&d.b, want);
    fog_err_clear();
    assert_int_equal(import_buf(r.s, &car, true, NULL), FOG_ERR_NOT_FOUND);
    print_message("%s\n", fog_err_detail(FOG_ERR_NOT_FOUND));
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), want));
    assert_same(r.s, &before);
    fog_car_import_stats st;
    assert_int_equal(import_buf(r.s, &car, false, &st), 0);
    assert_int_equal(st.blocks, 6);
    assert_int_equal(st.blocks_present, 1); /* leaf a */
    snapshot after;
    snap(r.s, &after);
    assert_int_equal(after.st.pins, before.st.pins);
    assert_memory_equal(after.pins, before.pins, sizeof after.pins);
    assert_int_equal(after.st.blocks, before.st.blocks + 5);
    fog_buf_clear(&car);
    ms_clear(&d.ms);
    repo_close(&r);
}

/* Over 8 MB, so that batches were committed before the bad last block arrives: they are
 * deleted again, and leaf a, which was there before, stays. */
static void test_car_import_tampered_big(void **state)
{
    (void)state;
    repo r;
    snapshot before;
    repo_with_content(&r, &before);
    mem_store big = {0};
    fog_cid big_root;
    fog_buf car;
    big_car(&big, &big_root, &car);
    car.p[car.len - 100] ^= 0x01;
    fog_err_clear();
    assert_int_equal(import_buf(r.s, &car, true, NULL), FOG_ERR_HASH_MISMATCH);
    print_message("%s\n", fog_err_detail(FOG_ERR_HASH_MISMATCH));
    assert_same(r.s, &before);
    car.p[car.len - 100] ^= 0x01; /* the intact CAR imports */
    fog_car_import_stats st;
    assert_int_equal(import_buf(r.s, &car, true, &st), 0);
    assert_int_equal(st.blocks, 2 + BIG_BLOCKS);
    assert_int_equal(st.blocks_present, 1); /* leaf a */
    assert_int_equal(st.bytes, big.blocks[big.n - 1].data.len + 6 + BIG_BLOCKS * BIG_LEN);
    fog_buf_clear(&car);
    ms_clear(&big);
    repo_close(&r);
}

/* go-car's UnixFS sample without some blocks, and a gateway fixture that is complete. */
static void test_car_import_fixtures(void **state)
{
    (void)state;
    fog_buf missing, full, dir;
    if (!load_vec("ipld-go-car/cmd/car/testdata/inputs/simple-unixfs-missing-blocks.car",
                  &missing) ||
        !load_vec("ipld-go-car/cmd/car/testdata/inputs/simple-unixfs.car", &full) ||
        !load_vec("ipfs-gateway-conformance/fixtures/path_gateway_unixfs/dir-with-files.car",
                  &dir)) {
        skip();
    }
    repo r;
    repo_open(&r);
    snapshot before;
    snap(r.s, &before);
    fog_err_clear();
    assert_int_equal(import_buf(r.s, &missing, true, NULL), FOG_ERR_NOT_FOUND);
    print_message("%s\n", fog_err_detail(FOG_ERR_NOT_FOUND));
    assert_same(r.s, &before);
    fog_car_import_stats st;
    assert_int_equal(import_buf(r.s, &full, true, &st), 0);
    assert_int_equal(import_buf(r.s, &dir, true, &st), 0);
    fog_repo_stat rs;
    assert_int_equal(fog_store_stat(r.s, &rs), 0);
    assert_int_equal(rs.pins, 2);
    /* The blocks the first CAR lacked came with the second: now it imports and pins. */
    assert_int_equal(import_buf(r.s, &missing, true, &st), 0);
    assert_int_equal(st.blocks_present, st.blocks);
    repo_close(&r);
    fog_buf_clear(&missing);
    fog_buf_clear(&full);
    fog_buf_clear(&dir);
}

int main(void)
{
    if (fog_crypto_init() < 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_car_basic_fixture),
        cmocka_unit_test(test_car_header_write_canonical),
        cmocka_unit_test(test_car_truncated_prefixes),
        cmocka_unit_test(test_car_flipped_byte),
        cmocka_unit_test(test_car_go_samples),
        cmocka_unit_test(test_car_go_rejects),
        cmocka_unit_test(test_car_zero_section_after_blocks),
        cmocka_unit_test(test_car_gateway_fixtures),
        cmocka_unit_test(test_car_header_rules),
        cmocka_unit_test(test_car_header_limits),
        cmocka_unit_test(test_car_section_rules),
        cmocka_unit_test(test_car_export_basic_fixture),
        cmocka_unit_test(test_car_export_go_sample),
        cmocka_unit_test(test_car_export_small_dag),
        cmocka_unit_test(test_car_export_errors),
        cmocka_unit_test(test_car_export_deep_chain),
        cmocka_unit_test(test_car_reader_bounded),
        cmocka_unit_test(test_car_import_roundtrip),
        cmocka_unit_test(test_car_import_tampered),
        cmocka_unit_test(test_car_import_missing_block),
        cmocka_unit_test(test_car_import_tampered_big),
        cmocka_unit_test(test_car_import_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
