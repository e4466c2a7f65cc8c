/* test_import.c: the dag-pb and UnixFS encoders, murmur3, the chunkers and the UnixFS importer.
 * Expected values come from outside fog: the IPIP-499 profile CIDs (shared/vectors, inputs made
 * the way kubo's test/cli/cid_profiles_test.go and js-ipfs-unixfs test/helpers/deterministic.ts
 * make them: ChaCha20 keystream with key sha256(seed) and a zero nonce; file names mapped from
 * that stream into a 39-letter alphabet), the ipld codec fixtures, the well-known CIDs of
 * PROTOCOLS.md and ipfs/specs unixfs.md, gateway-conformance folders recreated from their
 * recipes, and a few CIDs computed with the JS importer (ipfs-unixfs-importer 17.1.1,
 * rabin-wasm 0.1.5) where no spec vector exists; each such value says so.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "fog/crypto.h"
#include "fog/dag.h"
#include "fog/mf.h"
#include "fog/store.h"
#include "fog/unixfs.h"
#include "fog/util.h"

#include "dag/internal.h"
#include "testlib.h"

/* ---- helpers ---- */

static char g_tmp[256];

/* True when "$FOG_VECTORS/rel" exists; false after printing the skip line. */
static bool vectors_present(const char *rel)
{
    char p[1024];
    return tl_vec_path(p, sizeof p, rel);
}

static int setup_tmp(void **state)
{
    (void)state;
    return tl_mkdtemp(g_tmp, sizeof g_tmp, "import") ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    tl_rm_rf(g_tmp);
    return 0;
}

static const char *tpath(const char *rel)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, rel);
    return buf[k];
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len > 0) {
        assert_int_equal(fwrite(data, 1, len, f), len);
    }
    assert_int_equal(fclose(f), 0);
}

/* The deterministic stream of kubo's testutils and js deterministic.ts: ChaCha20 (IETF) key
 * stream, key sha256(seed), nonce 0, starting at byte offset off (a multiple of 64). */
static void chacha_fill(const char *seed, uint64_t off, uint8_t *out, size_t len)
{
    uint8_t key[32];
    uint8_t nonce[12] = {0};
    fog_sha256((const uint8_t *)seed, strlen(seed), key);
    memset(out, 0, len);
    assert_int_equal(off % 64, 0);
    crypto_stream_chacha20_ietf_xor_ic(out, out, len, nonce, (uint32_t)(off / 64), key);
}

static void chacha_file(const char *path, const char *seed, uint64_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    size_t step = 1 << 20;
    uint8_t *buf = malloc(step);
    assert_non_null(buf);
    for (uint64_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? (size_t)(size - off) : step;
        chacha_fill(seed, off, buf, n);
        assert_int_equal(fwrite(buf, 1, n, f), n);
    }
    free(buf);
    assert_int_equal(fclose(f), 0);
}

static fog_import_opts profile(const char *name)
{
    fog_import_opts o;
    assert_int_equal(fog_import_profile(&o, name), 0);
    return o;
}

/* A sink that checks every block against its CID and records the order of puts. */
typedef struct {
    size_t n;
    uint64_t bytes;
    fog_buf order; /* CID bytes, each preceded by its length byte */
} rec_sink;

static int rec_put(void *ctx, const fog_cid *c, const uint8_t *data, size_t len)
{
    rec_sink *r = ctx;
    assert_int_equal(fog_cid_verify(c, data, len), 0);
    assert_true(len <= FOG_BLOCK_MAX);
    r->n++;
    r->bytes += len;
    assert_int_equal(fog_buf_u8(&r->order, (uint8_t)c->len), 0);
    assert_int_equal(fog_buf_append(&r->order, c->bytes, c->len), 0);
    return 0;
}

static void assert_cid(const fog_cid *c, const char *want)
{
    char s[FOG_CID_STR_MAX];
    assert_true(fog_cid_format(c, 0, s, sizeof s) > 0);
    assert_string_equal(s, want);
}

/* Imports path (only hash unless r is given) and compares the root with want. */
static void import_expect(const char *path, const fog_import_opts *o, rec_sink *r, const char *want)
{
    fog_blocksink sink = {r ? rec_put : NULL, r};
    fog_cid root;
    int rc = fog_import_path(path, o, &sink, NULL, &root);
    if (rc != 0) {
        print_message("import %s: %s\n", path, fog_err_detail(rc));
    }
    assert_int_equal(rc, 0);
    assert_cid(&root, want);
}

/* ---- encoders ---- */

static void test_import_murmur3_vector(void **state)
{
    (void)state;
    uint8_t h[8];
    char hex[17];
    /* ipfs/specs unixfs.md HAMT example: "470.txt" lands in bucket 00, then 6E. */
    fog__murmur3_x64_64((const uint8_t *)"470.txt", 7, h);
    fog_hex_encode(h, 8, hex);
    assert_string_equal(hex, "006e88df5847e67c");
    /* MurmurHash3_x64_128 of nothing with seed 0 is all zeros (every step keeps 0). */
    fog__murmur3_x64_64(NULL, 0, h);
    fog_hex_encode(h, 8, hex);
    assert_string_equal(hex, "0000000000000000");
}

static void test_import_unixfs_encode_bytes(void **state)
{
    (void)state;
    fog_buf b = {0};
    /* PROTOCOLS.md 2.3: the dag-pb leaf of "hello world" holds Type, Data, filesize. */
    fog_unixfs u = {.type = FOG_UNIXFS_FILE,
                    .has_data = true,
                    .data = fog_slice_make("hello world", 11),
                    .has_filesize = true,
                    .filesize = 11};
    assert_int_equal(fog_unixfs_encode(&u, &b), 0);
    static const uint8_t hello[] = {0x08, 0x02, 0x12, 0x0b, 'h', 'e', 'l',  'l', 'o',
                                    ' ',  'w',  'o',  'r',  'l', 'd', 0x18, 0x0b};
    assert_int_equal(b.len, sizeof hello);
    assert_memory_equal(b.p, hello, sizeof hello);
    /* Empty file: filesize 0 is written (08 02 18 00). */
    fog_buf_reset(&b);
    fog_unixfs e = {.type = FOG_UNIXFS_FILE, .has_filesize = true};
    assert_int_equal(fog_unixfs_encode(&e, &b), 0);
    static const uint8_t empty[] = {0x08, 0x02, 0x18, 0x00};
    assert_int_equal(b.len, sizeof empty);
    assert_memory_equal(b.p, empty, sizeof empty);
    /* blocksizes unpacked: one 0x20 tag per entry, then hashType, fanout, mode, mtime. */
    fog_buf_reset(&b);
    uint64_t bs[2] = {262144, 1};
    fog_unixfs m = {.type = FOG_UNIXFS_FILE,
                    .has_filesize = true,
                    .filesize = 262145,
                    .blocksizes = bs,
                    .n_blocksizes = 2,
                    .has_mode = true,
                    .mode = 0644,
                    .has_mtime = true,
                    .mtime_sec = -1,
                    .has_mtime_nsec = true,
                    .mtime_nsec = 5};
    assert_int_equal(fog_unixfs_encode(&m, &b), 0);
    static const uint8_t multi[] = {0x08, 0x02, 0x18, 0x81, 0x80, 0x10, 0x20, 0x80, 0x80,
                                    0x10, 0x20, 0x01, 0x38, 0xa4, 0x03, 0x42, 0x10, 0x08,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0x01, 0x15, 0x05, 0x00, 0x00, 0x00};
    assert_int_equal(b.len, sizeof multi);
    assert_memory_equal(b.p, multi, sizeof multi);
    fog_buf_clear(&b);
}

static void pb_case(const fog_pbnode *n, const char *fixture_cid)
{
    fog_buf b = {0};
    assert_int_equal(fog_pbnode_encode(n, &b), 0);
    fog_cid c;
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, b.p, b.len), 0);
    assert_cid(&c, fixture_cid);
    fog_buf_clear(&b);
}

/* Nodes built by hand from what the ipld codec-fixtures directory names (and their dag-json)
 * say; the fixture file name is the CID of the expected bytes. */
static void test_import_pbnode_encode_by_hand(void **state)
{
    (void)state;
    fog_cid id;
    assert_int_equal(fog_cid_parse(&id, "bafkqabiaaebagba"), 0);
    fog_pbnode empty = {0};
    pb_case(&empty, "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    fog_pbnode dz = {.has_data = true, .data = fog_slice_make("", 0)};
    pb_case(&dz, "bafybeiaqfni3s5s2k2r6rgpxz4hohdsskh44ka5tk6ztbjerqpvxwfkwaq");
    static const uint8_t some[] = {0, 1, 2, 3, 4};
    fog_pbnode ds = {.has_data = true, .data = fog_slice_make(some, sizeof some)};
    pb_case(&ds, "bafybeibazl2z4vqp2tmwcfag6wirmtpnomxknqcgrauj7m2yisrz3qjbom");
    fog_pblink l = {.cid = id};
    fog_pbnode one = {.links = &l, .n_links = 1};
    pb_case(&one, "bafybeia53f5n75ituvc3yupuf7tdnxf6fqetrmo2alc6g6iljkmk7ys5mm");
    l.has_name = true;
    l.name = fog_slice_make("", 0);
    pb_case(&one, "bafybeie7fstnkm4yshfwnmpp7d3mlh4f4okmk7a54d6c3ffr755q7qzk44");
    l.name = fog_slice_make("some name", 9);
    pb_case(&one, "bafybeifq4hcxma3kjljrpxtunnljtc6tvbkgsy3vldyfpfbx2lij76niyu");
    l.has_name = false;
    l.has_tsize = true;
    l.tsize = 0;
    pb_case(&one, "bafybeichjs5otecmbvwh5azdr4jc45mp2qcofh2fr54wjdxhz4znahod2i");
    l.tsize = 9007199254740991ULL;
    pb_case(&one, "bafybeiezymjvhwfuharanxmzxwuomzjjuzqjewjolr4phaiyp6l7qfwo64");
    fog_pblink three[3] = {{.cid = id},
                           {.cid = id, .has_name = true, .name = fog_slice_make("bar", 3)},
                           {.cid = id, .has_name = true, .name = fog_slice_make("foo", 3)}};
    fog_pbnode forms2 = {.links = three, .n_links = 3};
    pb_case(&forms2, "bafybeiahfgovhod2uvww72vwdgatl5r6qkoeegg7at2bghiokupfphqcku");
}

/* Every dagpb_* fixture: decode (the exporter helper's decoder), re-encode, same bytes. */
static void test_import_pbnode_encode_fixtures(void **state)
{
    (void)state;
    if (!vectors_present("ipld-codec-fixtures/fixtures")) {
        skip();
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/ipld-codec-fixtures/fixtures", tl_vectors());
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int seen = 0;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "dagpb_", 6) != 0) {
            continue;
        }
        char sub[2048];
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        DIR *d2 = opendir(sub);
        assert_non_null(d2);
        struct dirent *f;
        while ((f = readdir(d2)) != NULL) {
            size_t nl = strlen(f->d_name);
            if (nl < 7 || strcmp(f->d_name + nl - 7, ".dag-pb") != 0) {
                continue;
            }
            char file[3072];
            snprintf(file, sizeof file, "%s/%s", sub, f->d_name);
            fog_buf in = {0}, out = {0};
            assert_true(tl_read_file(file, &in));
            fog_pbnode n;
            assert_int_equal(fog_pbnode_decode(&n, in.p, in.len), 0);
            assert_int_equal(fog_pbnode_encode(&n, &out), 0);
            assert_int_equal(out.len, in.len);
            assert_memory_equal(out.p, in.p, in.len);
            fog_pbnode_clear(&n);
            fog_buf_clear(&in);
            fog_buf_clear(&out);
            seen++;
        }
        closedir(d2);
    }
    closedir(d);
    assert_true(seen >= 17);
}

/* ---- settings ---- */

static void test_import_profiles_and_chunker_parse(void **state)
{
    (void)state;
    fog_import_opts o = profile("unixfs-v0-2015");
    assert_int_equal(o.cid_version, 0);
    assert_false(o.raw_leaves);
    assert_int_equal(o.chunk_size, 262144);
    assert_int_equal(o.max_links, 174);
    assert_int_equal(o.hamt_estimate, FOG_HAMT_EST_LINKS);
    o = profile("unixfs-v1-2025");
    assert_int_equal(o.cid_version, 1);
    assert_true(o.raw_leaves);
    assert_int_equal(o.chunk_size, 1048576);
    assert_int_equal(o.max_links, 1024);
    assert_int_equal(o.hamt_estimate, FOG_HAMT_EST_BLOCK);
    assert_int_equal(fog_import_profile(&o, "unixfs-v2"), FOG_ERR_INVALID);

    assert_int_equal(fog_import_set_chunker(&o, "size-1"), 0);
    assert_int_equal(o.chunk_size, 1);
    assert_int_equal(fog_import_set_chunker(&o, "size-2096896"), 0);
    assert_int_equal(fog_import_set_chunker(&o, "size-2096897"), FOG_ERR_INVALID);
    assert_int_equal(fog_import_set_chunker(&o, "size-0"), FOG_ERR_INVALID);
    assert_int_equal(fog_import_set_chunker(&o, "size-"), FOG_ERR_INVALID);
    assert_int_equal(fog_import_set_chunker(&o, "size-12x"), FOG_ERR_INVALID);
    assert_int_equal(o.chunk_size, 2096896); /* unchanged by the failures */
    assert_int_equal(fog_import_set_chunker(&o, "rabin"), 0);
    assert_int_equal(o.chunker, FOG_CHUNKER_RABIN);
    assert_int_equal(o.rabin_min, 87381);
    assert_int_equal(o.rabin_avg, 262144);
    assert_int_equal(o.rabin_max, 393216);
    assert_int_equal(fog_import_set_chunker(&o, "rabin-1001"), 0);
    assert_int_equal(o.rabin_min, 333);
    assert_int_equal(o.rabin_max, 1501);
    assert_int_equal(fog_import_set_chunker(&o, "rabin-min:16-avg:32-max:64"), 0);
    assert_int_equal(o.rabin_min, 16);
    assert_int_equal(o.rabin_max, 64);
    assert_int_equal(fog_import_set_chunker(&o, "rabin-15-32-64"), FOG_ERR_INVALID);
    assert_int_equal(fog_import_set_chunker(&o, "rabin-64-32-128"), FOG_ERR_INVALID);
    assert_int_equal(fog_import_set_chunker(&o, "rabin-16-32-2096897"), FOG_ERR_INVALID);
    assert_int_equal(fog_import_set_chunker(&o, "rabin-16-32"), FOG_ERR_INVALID);
    assert_int_equal(fog_import_set_chunker(&o, "rabin-2000000"), FOG_ERR_INVALID);
    assert_int_equal(fog_import_set_chunker(&o, "buzhash"), FOG_ERR_UNSUPPORTED);
    assert_int_equal(fog_import_set_chunker(&o, "fastcdc"), FOG_ERR_INVALID);
    assert_int_equal(o.rabin_avg, 32);

    o = profile("unixfs-v1-2025");
    fog_cid c;
    o.max_links = 1;
    assert_int_equal(fog_import_path("/", &o, NULL, NULL, &c), FOG_ERR_INVALID);
    o = profile("unixfs-v1-2025");
    o.hamt_fanout = 100;
    assert_int_equal(fog_import_path("/", &o, NULL, NULL, &c), FOG_ERR_INVALID);
}

/* ---- files ---- */

static void test_import_hello_world_and_empty(void **state)
{
    (void)state;
    fog_import_opts v0 = profile("unixfs-v0-2015");
    fog_import_opts v1 = profile("unixfs-v1-2025");
    write_file(tpath("hello"), "hello world", 11);
    import_expect(tpath("hello"), &v0, NULL, "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
    import_expect(tpath("hello"), &v1, NULL,
                  "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    write_file(tpath("empty"), "", 0);
    import_expect(tpath("empty"), &v0, NULL, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
    import_expect(tpath("empty"), &v1, NULL,
                  "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    /* unixfs.md: the empty dag-pb file as CIDv1. */
    fog_import_opts v1pb = v1;
    v1pb.raw_leaves = false;
    import_expect(tpath("empty"), &v1pb, NULL,
                  "bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y");
    assert_int_equal(mkdir(tpath("emptydir"), 0755), 0);
    import_expect(tpath("emptydir"), &v0, NULL, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    import_expect(tpath("emptydir"), &v1, NULL,
                  "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
}

/* The profile CIDs of the IPIP-499 fixture table (shared/vectors), by description. */
static bool ipip_cid(const char *profile_name, const char *what, char *out, size_t cap)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/ipfs-specs/ipip-0499-unixfs-profile-cids.csv", tl_vectors());
    FILE *f = fopen(p, "r");
    if (f == NULL) {
        return false;
    }
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ',');
        char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (c2 == NULL || strncmp(line, profile_name, (size_t)(c1 - line)) != 0 ||
            strstr(c2, what) == NULL) {
            continue;
        }
        size_t n = (size_t)(c2 - c1 - 1);
        assert_true(n < cap);
        memcpy(out, c1 + 1, n);
        out[n] = '\0';
        found = true;
    }
    fclose(f);
    return found;
}

static void expect_ipip(const char *file, const char *prof, const char *what)
{
    char want[128];
    assert_true(ipip_cid(prof, what, want, sizeof want));
    fog_import_opts o = profile(prof);
    import_expect(file, &o, NULL, want);
}

static void test_import_ipip499_chunk_boundaries(void **state)
{
    (void)state;
    if (!vectors_present("ipfs-specs/ipip-0499-unixfs-profile-cids.csv")) {
        skip();
    }
    expect_ipip(tpath("hello"), "unixfs-v0-2015", "hello world");
    chacha_file(tpath("c0"), "chunk-v0-seed", 262145);
    expect_ipip(tpath("c0"), "unixfs-v0-2015", "File over chunk size");
    assert_int_equal(truncate(tpath("c0"), 262144), 0);
    expect_ipip(tpath("c0"), "unixfs-v0-2015", "File at chunk size");
    chacha_file(tpath("c1"), "chunk-v1-seed", 1048577);
    expect_ipip(tpath("c1"), "unixfs-v1-2025", "File over chunk size");
    assert_int_equal(truncate(tpath("c1"), 1048576), 0);
    expect_ipip(tpath("c1"), "unixfs-v1-2025", "File at chunk size");
    unlink(tpath("c0"));
    unlink(tpath("c1"));
}

/* 174 x 256 KiB (+1 byte): 45 MiB, hashed only. */
static void test_import_ipip499_max_links_v0(void **state)
{
    (void)state;
    if (!vectors_present("ipfs-specs/ipip-0499-unixfs-profile-cids.csv")) {
        skip();
    }
    chacha_file(tpath("m0"), "v0-seed", 174 * 262144ULL + 1);
    expect_ipip(tpath("m0"), "unixfs-v0-2015", "File over max links");
    assert_int_equal(truncate(tpath("m0"), 174 * 262144), 0);
    expect_ipip(tpath("m0"), "unixfs-v0-2015", "File at max links");
    unlink(tpath("m0"));
}

typedef struct {
    int fd;
    const char *seed;
    uint64_t size;
} pipe_feed;

static void *feed_pipe(void *arg)
{
    pipe_feed *p = arg;
    size_t step = 1 << 20;
    uint8_t *buf = malloc(step);
    for (uint64_t off = 0; buf != NULL && off < p->size; off += step) {
        size_t n = p->size - off < step ? (size_t)(p->size - off) : step;
        chacha_fill(p->seed, off, buf, n);
        for (size_t done = 0; done < n;) {
            ssize_t w = write(p->fd, buf + done, n - done);
            if (w <= 0) {
                goto out;
            }
            done += (size_t)w;
        }
    }
out:
    free(buf);
    close(p->fd);
    return NULL;
}

/* Imports size bytes of the seed's stream through a pipe (fog_import_fd). */
static int import_stream(const char *seed, uint64_t size, const fog_import_opts *o,
                         const fog_blocksink *sink, fog_cid *root)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pipe_feed pf = {fds[1], seed, size};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, feed_pipe, &pf), 0);
    int rc = fog_import_fd(fds[0], o, sink, NULL, root);
    close(fds[0]);
    pthread_join(t, NULL);
    return rc;
}

/* 1024 x 1 MiB (+1): 1 GiB through a pipe; only with FOG_TEST_LARGE=1 (several seconds). */
static void test_import_ipip499_max_links_v1(void **state)
{
    (void)state;
    if (!vectors_present("ipfs-specs/ipip-0499-unixfs-profile-cids.csv")) {
        skip();
    }
    if (getenv("FOG_TEST_LARGE") == NULL) {
        print_message("skip: the 1 GiB unixfs-v1-2025 max-links vectors run with "
                      "FOG_TEST_LARGE=1 (and in the import benchmark)\n");
        skip();
    }
    fog_import_opts o = profile("unixfs-v1-2025");
    char want[128];
    fog_cid root;
    assert_true(ipip_cid("unixfs-v1-2025", "File at max links", want, sizeof want));
    assert_int_equal(import_stream("v1-2025-seed", 1024ULL << 20, &o, NULL, &root), 0);
    assert_cid(&root, want);
    assert_true(ipip_cid("unixfs-v1-2025", "File over max links", want, sizeof want));
    assert_int_equal(import_stream("v1-2025-seed", (1024ULL << 20) + 1, &o, NULL, &root), 0);
    assert_cid(&root, want);
}

/* ---- the layout, threads and order ---- */

/* 100000 bytes in 1000-byte chunks, 11 links per node: three levels of File nodes. CIDs from
 * ipfs-unixfs-importer 17.1.1 (fixedSize 1000, balanced maxChildrenPerNode 11). */
static void test_import_layout_matches_js(void **state)
{
    (void)state;
    uint8_t *data = malloc(100000);
    assert_non_null(data);
    chacha_fill("fog-layout-seed", 0, data, 100000);
    write_file(tpath("layout"), data, 100000);
    fog_import_opts o = profile("unixfs-v1-2025");
    o.chunk_size = 1000;
    o.max_links = 11;
    rec_sink r = {0};
    import_expect(tpath("layout"), &o, &r,
                  "bafybeibj67za46hum55xyw62idzlutv4rycdemp6iczgqkbaqocboy6l64");
    /* 100 leaves, then ceil(100/11) = 10 nodes, then 1 root: 111 puts. */
    assert_int_equal(r.n, 111);
    fog_buf_clear(&r.order);
    o.raw_leaves = false;
    o.cid_version = 0;
    import_expect(tpath("layout"), &o, NULL, "Qme2D9qny5cGumG1fitpiKghUqsQCbGP3NQPjSEmQsP1Tf");
    o.cid_version = 1;
    import_expect(tpath("layout"), &o, NULL,
                  "bafybeigktvlx4szv3t2xgfrixqzvibelqhlsjk6vl6ksw4p6ma4amxnusy");
    /* The same bytes through a pipe (sequential reader) give the same root. */
    fog_cid root;
    assert_int_equal(import_stream("fog-layout-seed", 100000, &o, NULL, &root), 0);
    assert_cid(&root, "bafybeigktvlx4szv3t2xgfrixqzvibelqhlsjk6vl6ksw4p6ma4amxnusy");
    free(data);
}

/* Puts per leaf count n with max links m: every level closes ceil(k/m) nodes until one. */
static size_t expected_puts(size_t n, size_t m)
{
    size_t total = n;
    while (n > 1) {
        n = (n + m - 1) / m;
        total += n;
    }
    return total;
}

static void test_import_threads_deterministic(void **state)
{
    (void)state;
    chacha_file(tpath("det"), "fog-threads-seed", (6 << 20) + 12345);
    fog_import_opts o = profile("unixfs-v0-2015");
    o.chunk_size = 65536;
    o.max_links = 5;
    rec_sink one = {0}, two = {0}, four = {0};
    fog_blocksink s1 = {rec_put, &one}, s2 = {rec_put, &two}, s4 = {rec_put, &four};
    fog_cid r1, r2, r4;
    o.threads = 1;
    assert_int_equal(fog_import_path(tpath("det"), &o, &s1, NULL, &r1), 0);
    o.threads = 2;
    assert_int_equal(fog_import_path(tpath("det"), &o, &s2, NULL, &r2), 0);
    o.threads = 4;
    assert_int_equal(fog_import_path(tpath("det"), &o, &s4, NULL, &r4), 0);
    assert_true(fog_cid_eq(&r1, &r2));
    assert_true(fog_cid_eq(&r1, &r4));
    assert_int_equal(one.n, expected_puts(97, 5));
    assert_int_equal(one.order.len, two.order.len);
    assert_memory_equal(one.order.p, two.order.p, one.order.len);
    assert_memory_equal(one.order.p, four.order.p, one.order.len);
    /* The last put is the root: children come before parents. */
    assert_memory_equal(one.order.p + one.order.len - r1.len, r1.bytes, r1.len);
    fog_buf_clear(&one.order);
    fog_buf_clear(&two.order);
    fog_buf_clear(&four.order);
    unlink(tpath("det"));
}

/* ---- rabin ---- */

/* 3 MiB of the "fog-rabin-seed" stream; CIDs from ipfs-unixfs-importer 17.1.1 with
 * rabin({minChunkSize: 16384, avgChunkSize: 65536, maxChunkSize: 131072}), v1 raw leaves, and
 * rabin({avgChunkSize: 262144}), v0 dag-pb leaves, 174 links. */
static void test_import_rabin_matches_js(void **state)
{
    (void)state;
    size_t size = 3 << 20;
    uint8_t *data = malloc(size);
    assert_non_null(data);
    chacha_fill("fog-rabin-seed", 0, data, size);
    write_file(tpath("rabin"), data, size);
    /* Chunk lengths the JS chunker printed for the first cuts (its own state across pieces). */
    fog_import_opts o = profile("unixfs-v1-2025");
    assert_int_equal(fog_import_set_chunker(&o, "rabin-16384-65536-131072"), 0);
    fog__chunker ch;
    fog__chunker_init(&ch, &o);
    static const size_t first[] = {84725, 23766, 77415, 33151, 34681, 49742, 48868, 61867};
    size_t pos = 0;
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++) {
        size_t cut = 0;
        size_t start = pos;
        while (cut == 0) {
            size_t piece = size - pos < 1000 ? size - pos : 1000;
            cut = fog__chunker_scan(&ch, data + pos, piece);
            pos += cut ? cut : piece;
        }
        assert_int_equal(pos - start, first[i]);
    }
    import_expect(tpath("rabin"), &o, NULL,
                  "bafybeige7yklsnbg2ewn4mn3jeiboielkxrl5xfalzv66jo5tnxa7dpg3y");
    o = profile("unixfs-v0-2015");
    assert_int_equal(fog_import_set_chunker(&o, "rabin-262144"), 0);
    rec_sink r = {0};
    import_expect(tpath("rabin"), &o, &r, "QmVvLFki8fVcS8dkebNny6YqPDPYXRctyagwwgP5rbMzeF");
    assert_int_equal(r.n, 13 + 1); /* the JS chunker cut 13 chunks */
    fog_buf_clear(&r.order);
    free(data);
    unlink(tpath("rabin"));
}

/* ---- folders ---- */

static void mkdirs(const char *rel)
{
    assert_int_equal(mkdir(tpath(rel), 0755), 0);
}

static void put_text(const char *rel, const char *text)
{
    write_file(tpath(rel), text, strlen(text));
}

/* gateway-conformance path_gateway_tar/fixtures.car, recreated from its README recipe (kubo
 * 0.18.1, `ipfs add -Qr --cid-version 1 rootDir`): nested folders, empty folders, UTF-8. */
static void test_import_gateway_utf8_tree(void **state)
{
    (void)state;
    mkdirs("rootDir");
    mkdirs("rootDir/ipfs");
    mkdirs("rootDir/ipns");
    mkdirs("rootDir/api");
    mkdirs("rootDir/\xc4\x85");
    mkdirs("rootDir/\xc4\x85/\xc4\x99");
    put_text("rootDir/\xc4\x85/\xc4\x99/file-\xc5\xba\xc5\x82.txt",
             "I am a txt file on path with utf8\n");
    put_text("rootDir/api/file.txt", "I am a txt file in confusing /api dir\n");
    put_text("rootDir/ipfs/file.txt", "I am a txt file in confusing /ipfs dir\n");
    put_text("rootDir/ipns/file.txt", "I am a txt file in confusing /ipns dir\n");
    fog_import_opts o = profile("unixfs-v1-2025");
    import_expect(tpath("rootDir"), &o, NULL,
                  "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i");
    /* A hidden file is left out unless asked for (kubo's default). */
    put_text("rootDir/.hidden", "secret\n");
    import_expect(tpath("rootDir"), &o, NULL,
                  "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i");
    o.include_hidden = true;
    fog_cid c;
    assert_int_equal(fog_import_path(tpath("rootDir"), &o, NULL, NULL, &c), 0);
    char s[FOG_CID_STR_MAX];
    assert_true(fog_cid_format(&c, 0, s, sizeof s) > 0);
    assert_string_not_equal(s, "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i");
    tl_rm_rf(tpath("rootDir"));
}

/* gateway-conformance path_gateway_unixfs/symlink.car (kubo 0.18.1 recipe, CIDv0), also the
 * IPIP-499 "preserved symlink" vector. */
static void test_import_symlink_fixture(void **state)
{
    (void)state;
    mkdirs("testfiles");
    put_text("testfiles/foo", "content\n");
    assert_int_equal(symlink("foo", tpath("testfiles/bar")), 0);
    fog_import_opts o = profile("unixfs-v0-2015");
    import_expect(tpath("testfiles"), &o, NULL, "QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt");
    /* The symlink alone: Type=Symlink, Data="foo", 9 bytes (unixfs.md). */
    rec_sink r = {0};
    import_expect(tpath("testfiles/bar"), &o, &r, "QmTB8BaCJdCH5H3k7GrxJsxgDNmNYGGR71C58ERkivXoj5");
    assert_int_equal(r.bytes, 9);
    fog_buf_clear(&r.order);
    tl_rm_rf(tpath("testfiles"));
}

/* unixfs.md "Nested Directories" (dag-pb.car, kubo with --cid-version 1). */
static void test_import_gateway_dag_pb_tree(void **state)
{
    (void)state;
    mkdirs("dagpb");
    mkdirs("dagpb/foo");
    put_text("dagpb/foo/bar.txt", "Hello, world!\n");
    put_text("dagpb/foo.txt", "Hello, IPFS!\n");
    fog_import_opts o = profile("unixfs-v1-2025");
    import_expect(tpath("dagpb"), &o, NULL,
                  "bafybeiegxwlgmoh2cny7qlolykdf7aq7g6dlommarldrbm7c4hbckhfcke");
    tl_rm_rf(tpath("dagpb"));
}

typedef struct {
    char paths[16][256];
    uint64_t sizes[16];
    int n;
    uint64_t progress_last;
    int progress_calls;
} ev_log;

static void on_entry(void *ctx, const char *path, const fog_cid *c, uint64_t size)
{
    (void)c;
    ev_log *l = ctx;
    assert_true(l->n < 16);
    snprintf(l->paths[l->n], sizeof l->paths[l->n], "%s", path);
    l->sizes[l->n++] = size;
}

static void on_progress(void *ctx, uint64_t done)
{
    ev_log *l = ctx;
    assert_true(done >= l->progress_last);
    l->progress_last = done;
    l->progress_calls++;
}

static void test_import_events_and_errors(void **state)
{
    (void)state;
    mkdirs("ev");
    mkdirs("ev/sub");
    put_text("ev/sub/b", "bb");
    put_text("ev/a", "a");
    ev_log log = {0};
    fog_import_events ev = {on_entry, on_progress, &log};
    fog_import_opts o = profile("unixfs-v1-2025");
    fog_cid c;
    char root[1100];
    snprintf(root, sizeof root, "%s/", tpath("ev")); /* a trailing slash is dropped */
    assert_int_equal(fog_import_path(root, &o, NULL, &ev, &c), 0);
    assert_int_equal(log.n, 4);
    assert_string_equal(log.paths[0], "ev/a");
    assert_int_equal(log.sizes[0], 1);
    assert_string_equal(log.paths[1], "ev/sub/b");
    assert_string_equal(log.paths[2], "ev/sub");
    assert_string_equal(log.paths[3], "ev");
    assert_int_equal(log.progress_last, 3);
    assert_true(log.progress_calls >= 1);

    /* A FIFO is neither file, folder nor symlink: refused, naming the path. */
    assert_int_equal(mkfifo(tpath("ev/fifo"), 0644), 0);
    assert_int_equal(fog_import_path(tpath("ev"), &o, NULL, NULL, &c), FOG_ERR_UNSUPPORTED);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_UNSUPPORTED), "ev/fifo"));
    unlink(tpath("ev/fifo"));
    /* A name that is not UTF-8. */
    put_text("ev/bad\xff", "x");
    assert_int_equal(fog_import_path(tpath("ev"), &o, NULL, NULL, &c), FOG_ERR_INVALID);
    unlink(tpath("ev/bad\xff"));
    assert_int_equal(fog_import_path(tpath("missing"), &o, NULL, NULL, &c), FOG_ERR_NOT_FOUND);
    tl_rm_rf(tpath("ev"));
}

static int fail_put(void *ctx, const fog_cid *c, const uint8_t *d, size_t len)
{
    (void)c;
    (void)d;
    (void)len;
    int *left = ctx;
    return (*left)-- > 0 ? 0 : FOG_ERR_STORE_FULL;
}

/* A sink error stops the import and comes back unchanged, with workers in flight. */
static void test_import_sink_error(void **state)
{
    (void)state;
    chacha_file(tpath("se"), "fog-sink-seed", 1 << 20);
    fog_import_opts o = profile("unixfs-v1-2025");
    o.chunk_size = 4096;
    o.threads = 2;
    for (int k = 0; k < 257; k += 37) { /* 256 leaves and the root */
        int left = k;
        fog_blocksink s = {fail_put, &left};
        fog_cid c;
        assert_int_equal(fog_import_path(tpath("se"), &o, &s, NULL, &c), FOG_ERR_STORE_FULL);
    }
    unlink(tpath("se"));
}

typedef struct {
    fog_buf out;
} cat_buf;

static int cat_write(void *ctx, const uint8_t *p, size_t len)
{
    return fog_buf_append(&((cat_buf *)ctx)->out, p, len);
}

static int count_entry(void *ctx, const fog_unixfs_entry *e)
{
    (void)e;
    (*(size_t *)ctx)++;
    return 0;
}

/* Into a real store through fog_blocksink_from_batch, then back out with the exporter: a
 * multi-level file (cat through a path) and a small folder forced into a HAMT (ls). */
static void test_import_store_roundtrip(void **state)
{
    (void)state;
    mkdirs("rt");
    mkdirs("rt/many");
    size_t size = 300000;
    uint8_t *data = malloc(size);
    assert_non_null(data);
    chacha_fill("fog-roundtrip-seed", 0, data, size);
    write_file(tpath("rt/file.bin"), data, size);
    for (int i = 0; i < 50; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "rt/many/n%02d", i);
        put_text(rel, rel);
    }
    assert_int_equal(fog_repo_init(tpath("repo"), NULL, 0), 0);
    fog_store *st;
    assert_int_equal(fog_store_open(&st, tpath("repo"), FOG_STORE_WRITE), 0);
    fog_store_batch *b;
    assert_int_equal(fog_store_batch_begin(st, &b), 0);
    fog_blocksink sink;
    fog_blocksink_from_batch(&sink, b);
    fog_import_opts o = profile("unixfs-v0-2015");
    o.chunk_size = 10000;
    o.max_links = 5;
    o.hamt_threshold_bytes = 100;
    fog_cid root;
    assert_int_equal(fog_import_path(tpath("rt"), &o, &sink, NULL, &root), 0);
    assert_int_equal(fog_store_batch_commit(b), 0);

    fog_store_view *v;
    assert_int_equal(fog_store_view_begin(st, &v), 0);
    fog_blocksource src;
    fog_blocksource_from_view(&src, v);
    char path[FOG_CID_STR_MAX + 32];
    int n = fog_cid_format(&root, 0, path, FOG_CID_STR_MAX);
    assert_true(n > 0);
    snprintf(path + n, sizeof path - (size_t)n, "/file.bin");
    fog_cid fc;
    assert_int_equal(fog_unixfs_resolve(&src, path, &fc), 0);
    cat_buf cb = {0};
    assert_int_equal(fog_unixfs_cat(&src, &fc, 0, UINT64_MAX, cat_write, &cb), 0);
    assert_int_equal(cb.out.len, size);
    assert_memory_equal(cb.out.p, data, size);
    snprintf(path + n, sizeof path - (size_t)n, "/many");
    assert_int_equal(fog_unixfs_resolve(&src, path, &fc), 0);
    size_t entries = 0;
    assert_int_equal(fog_unixfs_ls(&src, &fc, count_entry, &entries), 0);
    assert_int_equal(entries, 50);
    fog_slice blk;
    fog_pbnode pb;
    fog_unixfs fs;
    assert_int_equal(fog_store_view_get(v, &fc, &blk), 0);
    assert_int_equal(fog_pbnode_decode(&pb, blk.p, blk.len), 0);
    assert_int_equal(fog_unixfs_decode(&fs, pb.data.p, pb.data.len), 0);
    assert_int_equal(fs.type, FOG_UNIXFS_HAMT);
    assert_int_equal(fs.fanout, 256);
    fog_unixfs_clear(&fs);
    fog_pbnode_clear(&pb);
    fog_store_view_end(v);
    fog_store_close(st);
    fog_buf_clear(&cb.out);
    free(data);
    tl_rm_rf(tpath("rt"));
    tl_rm_rf(tpath("repo"));
}

/* The names of kubo's createDirectoryForHAMT* and js deterministicFilenames: a 1 MiB stream of
 * the seed, each byte mod 39 into "a-z0-9 0-9 - _"; every name nameLen long but the last. */
static void hamt_dir(const char *rel, size_t count, size_t len, size_t last, const char *seed)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz01234567890-_";
    uint8_t *s = malloc(1 << 20);
    assert_non_null(s);
    chacha_fill(seed, 0, s, 1 << 20);
    mkdirs(rel);
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = i + 1 == count ? last : len;
        char name[64];
        for (size_t j = 0; j < n; j++) {
            name[j] = alpha[s[off + j] % 39];
        }
        name[n] = '\0';
        off += n;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", rel, name);
        put_text(p, "x");
    }
    free(s);
}

/* IPIP-499 directories at the HAMT threshold (stays basic) and one byte over (sharded), for
 * both estimates. */
static void test_import_ipip499_hamt_threshold(void **state)
{
    (void)state;
    if (!vectors_present("ipfs-specs/ipip-0499-unixfs-profile-cids.csv")) {
        skip();
    }
    hamt_dir("h0a", 4096, 30, 30, "hamt-unixfs-v0-2015");
    expect_ipip(tpath("h0a"), "unixfs-v0-2015", "Directory at HAMT threshold");
    tl_rm_rf(tpath("h0a"));
    hamt_dir("h0b", 4033, 31, 31, "hamt-unixfs-v0-2015");
    expect_ipip(tpath("h0b"), "unixfs-v0-2015", "Directory over HAMT threshold");
    tl_rm_rf(tpath("h0b"));
    hamt_dir("h1a", 4766, 11, 21, "hamt-unixfs-v1-2025");
    expect_ipip(tpath("h1a"), "unixfs-v1-2025", "Directory at HAMT threshold");
    tl_rm_rf(tpath("h1a"));
    hamt_dir("h1b", 4766, 11, 22, "hamt-unixfs-v1-2025");
    expect_ipip(tpath("h1b"), "unixfs-v1-2025", "Directory over HAMT threshold");
    tl_rm_rf(tpath("h1b"));
}

int main(void)
{
    if (fog_crypto_init() != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_murmur3_vector),
        cmocka_unit_test(test_import_unixfs_encode_bytes),
        cmocka_unit_test(test_import_pbnode_encode_by_hand),
        cmocka_unit_test(test_import_pbnode_encode_fixtures),
        cmocka_unit_test(test_import_profiles_and_chunker_parse),
        cmocka_unit_test(test_import_hello_world_and_empty),
        cmocka_unit_test(test_import_ipip499_chunk_boundaries),
        cmocka_unit_test(test_import_ipip499_max_links_v0),
        cmocka_unit_test(test_import_ipip499_max_links_v1),
        cmocka_unit_test(test_import_layout_matches_js),
        cmocka_unit_test(test_import_threads_deterministic),
        cmocka_unit_test(test_import_rabin_matches_js),
        cmocka_unit_test(test_import_gateway_utf8_tree),
        cmocka_unit_test(test_import_symlink_fixture),
        cmocka_unit_test(test_import_gateway_dag_pb_tree),
        cmocka_unit_test(test_import_events_and_errors),
        cmocka_unit_test(test_import_sink_error),
        cmocka_unit_test(test_import_store_roundtrip),
        cmocka_unit_test(test_import_ipip499_hamt_threshold),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
