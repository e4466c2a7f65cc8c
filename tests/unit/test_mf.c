/* test_mf.c: multicodec names, multibase, multihash, CIDs and Ed25519 peer IDs.
 * Expected values come from the spec repositories in $FOG_VECTORS (multibase test CSVs, the
 * multihash test cases, the multicodec table, ipld codec-fixture file names, IPIP-499 and
 * kad-dht CIDs, the libp2p peer-id key vectors) or from reasoning written next to the case
 * (hand-decoded base32, the base58 examples of draft-msporny-base58). Vector tests skip with a
 * printed line when the folder is missing.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fog/crypto.h"
#include "fog/mf.h"
#include "testlib.h"

/* ---- helpers ---- */

/* Splits a multibase test CSV line `name, "value"` in place; false for other lines. */
static bool csv_pair(char *line, char **name, char **value)
{
    char *comma = strchr(line, ',');
    char *q1 = strchr(line, '"');
    char *q2 = strrchr(line, '"');
    if (comma == NULL || q1 == NULL || q2 == NULL || q2 <= q1 || q1 < comma) {
        return false;
    }
    *comma = '\0';
    *q2 = '\0';
    *name = line;
    *value = q1 + 1;
    return true;
}

/* Unescapes the \xNN escapes of the multibase CSV header lines. */
static size_t unescape(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s != '\0') {
        assert_true(n < cap);
        if (s[0] == '\\' && s[1] == 'x') {
            uint8_t b;
            assert_int_equal(fog_hex_decode(s + 2, 2, &b, 1), 1);
            out[n++] = b;
            s += 4;
        } else {
            out[n++] = (uint8_t)*s++;
        }
    }
    return n;
}

static int base_of_name(const char *name)
{
    static const struct {
        const char *name;
        int base;
    } map[] = {
        {"base16", FOG_BASE16},       {"base16upper", FOG_BASE16_UPPER},
        {"base32", FOG_BASE32},       {"base32upper", FOG_BASE32_UPPER},
        {"base36", FOG_BASE36},       {"base36upper", FOG_BASE36_UPPER},
        {"base58btc", FOG_BASE58BTC}, {"base64", FOG_BASE64},
        {"base64url", FOG_BASE64URL},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(map[i].name, name) == 0) {
            return map[i].base;
        }
    }
    return 0;
}

/* ---- multicodec ---- */

/* Every code in mf.h is named exactly as in the multicodec table. */
static void test_mf_mc_names(void **state)
{
    (void)state;
    static const uint64_t codes[] = {
        FOG_MC_IDENTITY, FOG_MC_SHA1,           FOG_MC_SHA2_256, FOG_MC_SHA2_512,
        FOG_MC_SHA3_512, FOG_MC_MURMUR3_X64_64, FOG_MC_RAW,      FOG_MC_DAG_PB,
        FOG_MC_DAG_CBOR, FOG_MC_LIBP2P_KEY,     FOG_MC_DAG_JSON, FOG_MC_BLAKE2B_256,
    };
    assert_null(fog_mc_name(0x0400));
    assert_string_equal(fog_mc_name(0x70), "dag-pb");
    char path[1024];
    FILE *f = tl_vec_fopen("multiformats-multicodec/table.csv", path, sizeof path);
    if (f == NULL) {
        skip();
    }
    char line[512];
    size_t found = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128];
        char tag[64];
        unsigned long long code;
        if (sscanf(line, " %127[^, ] , %63[^, ] , 0x%llx", name, tag, &code) != 3) {
            continue;
        }
        for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
            if (codes[i] == code) {
                assert_non_null(fog_mc_name(code));
                assert_string_equal(fog_mc_name(code), name);
                found++;
            }
        }
    }
    fclose(f);
    assert_int_equal(found, sizeof codes / sizeof codes[0]);
}

/* ---- multibase ---- */

/* One multibase CSV: the header gives the input; each supported row must encode to exactly the
 * listed string and decode back. Unsupported prefixes must be refused as such. */
static void multibase_file(const char *rel, bool canonical)
{
    char path[1024];
    FILE *f = tl_vec_fopen(rel, path, sizeof path);
    if (f == NULL) {
        skip();
    }
    char line[1024];
    uint8_t input[128];
    size_t input_len = 0;
    int rows = 0;
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        char *name;
        char *value;
        if (!csv_pair(line, &name, &value)) {
            continue;
        }
        if (header) {
            input_len = unescape(value, input, sizeof input);
            header = false;
            continue;
        }
        uint8_t got[128];
        int base = base_of_name(name);
        int b = 0;
        int n = fog_multibase_decode(value, strlen(value), got, sizeof got, &b);
        if (base == 0) {
            assert_int_equal(n, FOG_ERR_UNSUPPORTED); /* base2, base32hex, base64pad... */
            continue;
        }
        assert_int_equal(n, (int)input_len);
        assert_memory_equal(got, input, input_len);
        assert_int_equal(b, base);
        if (canonical) {
            char text[256];
            int tn = fog_multibase_encode(base, input, input_len, text, sizeof text);
            assert_int_equal(tn, (int)strlen(value));
            assert_string_equal(text, value);
        }
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, canonical ? 9 : 6);
}

static void test_mf_multibase_basic(void **state)
{
    (void)state;
    multibase_file("multiformats-multibase/tests/basic.csv", true);
}

static void test_mf_multibase_leading_zeros(void **state)
{
    (void)state;
    multibase_file("multiformats-multibase/tests/leading_zero.csv", true);
    multibase_file("multiformats-multibase/tests/two_leading_zeros.csv", true);
}

static void test_mf_multibase_case_insensitive(void **state)
{
    (void)state;
    multibase_file("multiformats-multibase/tests/case_insensitivity.csv", false);
}

/* draft-msporny-base58 examples, and leading zero bytes as '1's. */
static void test_mf_multibase_base58_examples(void **state)
{
    (void)state;
    char text[128];
    uint8_t got[64];
    const char *hello = "Hello World!";
    assert_int_equal(fog_base_encode('z', (const uint8_t *)hello, 12, text, sizeof text), 17);
    assert_string_equal(text, "2NEpo7TZRRrLZSi2U");
    const uint8_t zeros[] = {0x00, 0x00, 0x28, 0x7f, 0xb4, 0xcd};
    assert_int_equal(fog_base_encode('z', zeros, sizeof zeros, text, sizeof text), 8);
    assert_string_equal(text, "11233QC4");
    assert_int_equal(fog_base_decode('z', "11233QC4", 8, got, sizeof got), 6);
    assert_memory_equal(got, zeros, 6);
    const uint8_t three[3] = {0, 0, 0};
    assert_int_equal(fog_multibase_encode('z', three, 3, text, sizeof text), 4);
    assert_string_equal(text, "z111");
    assert_int_equal(fog_multibase_encode('k', three, 3, text, sizeof text), 4);
    assert_string_equal(text, "k000");
    assert_int_equal(fog_multibase_encode('b', NULL, 0, text, sizeof text), 1);
    assert_string_equal(text, "b");
    assert_int_equal(fog_multibase_decode("z", 1, got, sizeof got, NULL), 0);
}

/* Every base decodes what it encodes, for every length up to 70 and for leading zeros. */
static void test_mf_multibase_round_trip(void **state)
{
    (void)state;
    static const int bases[] = {'b', 'B', 'z', 'f', 'F', 'k', 'K', 'm', 'u'};
    uint8_t data[70];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i < 3 ? 0 : i * 37 + 11);
    }
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        for (size_t len = 0; len <= sizeof data; len++) {
            char text[256];
            uint8_t back[80];
            int base = 0;
            int tn = fog_multibase_encode(bases[b], data, len, text, sizeof text);
            assert_true(tn >= 1);
            assert_int_equal((size_t)tn, strlen(text));
            int n = fog_multibase_decode(text, (size_t)tn, back, sizeof back, &base);
            assert_int_equal(n, (int)len);
            assert_int_equal(base, bases[b]);
            if (len > 0) {
                assert_memory_equal(back, data, len);
            }
        }
    }
}

static void test_mf_multibase_rejects(void **state)
{
    (void)state;
    uint8_t out[64];
    /* Characters outside each alphabet: base58 has no 0, O, I, l; base32 no 0, 1, 8, 9. */
    const char *bad[] = {
        "z0", "zO", "zI", "zl", "b1", "b8", "bmy=", "fzz", "k-", "m*", "u+", "m-", "z1 ", "bAA\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(fog_multibase_decode(bad[i], strlen(bad[i]), out, sizeof out, NULL),
                         FOG_ERR_PROTO);
    }
    const char nul[] = {'f', '0', '\0', '0'};
    assert_int_equal(fog_multibase_decode(nul, sizeof nul, out, sizeof out, NULL), FOG_ERR_PROTO);
    /* Lengths no encoder writes: odd hex, a lone base32/base64 character, 3 base32 chars. */
    assert_int_equal(fog_multibase_decode("fabc", 4, out, sizeof out, NULL), FOG_ERR_PROTO);
    assert_int_equal(fog_multibase_decode("ba", 2, out, sizeof out, NULL), FOG_ERR_PROTO);
    assert_int_equal(fog_multibase_decode("baaa", 4, out, sizeof out, NULL), FOG_ERR_PROTO);
    assert_int_equal(fog_multibase_decode("mA", 2, out, sizeof out, NULL), FOG_ERR_PROTO);
    /* "aa" is 10 zero bits: one 0x00 byte; "ab" leaves a 1 in the 2 pad bits. */
    assert_int_equal(fog_multibase_decode("baa", 3, out, sizeof out, NULL), 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(fog_multibase_decode("bab", 3, out, sizeof out, NULL), FOG_ERR_PROTO);
    assert_int_equal(fog_multibase_decode("mAB", 3, out, sizeof out, NULL), FOG_ERR_PROTO);
    /* Empty strings, unknown prefixes, small buffers. */
    assert_int_equal(fog_multibase_decode("", 0, out, sizeof out, NULL), FOG_ERR_PROTO);
    assert_int_equal(fog_multibase_decode("xab", 3, out, sizeof out, NULL), FOG_ERR_UNSUPPORTED);
    assert_int_equal(fog_multibase_decode("fabcd", 5, out, 1, NULL), FOG_ERR_LIMIT);
    assert_int_equal(fog_multibase_decode("z1112", 5, out, 2, NULL), FOG_ERR_LIMIT);
    char text[8];
    const uint8_t four[4] = {1, 2, 3, 4};
    assert_int_equal(fog_multibase_encode('f', four, 4, text, 9), FOG_ERR_LIMIT);
    char roomy[16];
    assert_int_equal(fog_multibase_encode('f', four, 4, roomy, 10), 9);
    assert_string_equal(roomy, "f01020304");
    assert_int_equal(fog_multibase_encode('z', four, 4, text, 2), FOG_ERR_LIMIT);
    assert_int_equal(fog_multibase_encode('x', four, 4, text, sizeof text), FOG_ERR_UNSUPPORTED);
}

/* The O(n^2) bases refuse inputs past FOG_BASEX_MAX before working on them. */
static void test_mf_multibase_bignum_limit(void **state)
{
    (void)state;
    size_t n = FOG_BASEX_MAX + 1;
    uint8_t *data = malloc(n);
    char *text = malloc(4 * n);
    assert_non_null(data);
    assert_non_null(text);
    memset(data, 0xff, n);
    assert_int_equal(fog_base_encode('z', data, n, text, 4 * n), FOG_ERR_LIMIT);
    assert_int_equal(fog_base_encode('k', data, n, text, 4 * n), FOG_ERR_LIMIT);
    int tn = fog_base_encode('z', data, n - 1, text, 4 * n);
    assert_true(tn > 0);
    uint8_t *back = malloc(n);
    assert_non_null(back);
    assert_int_equal(fog_base_decode('z', text, (size_t)tn, back, n), (int)(n - 1));
    assert_memory_equal(back, data, n - 1);
    memset(text, 'z', 2 * n);
    assert_int_equal(fog_base_decode('z', text, 2 * n, back, n), FOG_ERR_LIMIT);
    /* Leading zeros cost nothing and are not counted as significant. */
    memset(data, 0, n);
    assert_int_equal(fog_base_encode('z', data, n, text, 4 * n), (int)n);
    assert_int_equal(fog_base_decode('z', text, n, back, n), (int)n);
    free(back);
    free(data);
    free(text);
}

/* ---- multihash ---- */

static uint64_t mh_code_of(const char *alg)
{
    if (strcmp(alg, "sha1") == 0) {
        return FOG_MC_SHA1;
    }
    if (strcmp(alg, "sha2-256") == 0) {
        return FOG_MC_SHA2_256;
    }
    if (strcmp(alg, "sha2-512") == 0) {
        return FOG_MC_SHA2_512;
    }
    assert_string_equal(alg, "sha3"); /* the README: the sha3 rows are sha3-512 */
    return FOG_MC_SHA3_512;
}

/* One test_cases.csv row: parse the multihash; for the hashes fog computes, check the digest
 * (truncated to `bits`) through a CIDv1 and fog_cid_verify, and sha2-256 also directly. The
 * hashed input is the `input` column's text itself (its hex characters, not the bytes they
 * spell): that is what the multihash repository's generator hashed, as the digests show. */
static void multihash_row(const char *alg, unsigned bits, const char *in_text, const char *mh_hex)
{
    uint8_t input[512];
    uint8_t mhb[80];
    size_t in_len = strlen(in_text);
    assert_true(in_len <= sizeof input);
    memcpy(input, in_text, in_len);
    size_t mh_len = tl_unhex(mh_hex, mhb, sizeof mhb);
    fog_reader r;
    fog_reader_init(&r, mhb, mh_len);
    fog_mh mh;
    fog_mh_read(&r, &mh);
    assert_true(fog_reader_done(&r));
    assert_int_equal(mh.code, mh_code_of(alg));
    assert_int_equal(mh.digest.len, bits / 8);
    if (mh.code == FOG_MC_SHA2_256) {
        uint8_t d[FOG_SHA256_LEN];
        fog_sha256(input, in_len, d);
        assert_memory_equal(d, mh.digest.p, mh.digest.len);
    }
    fog_cid c;
    assert_int_equal(fog_cid_make(&c, 1, FOG_MC_RAW, mh.code, mh.digest.p, mh.digest.len), 0);
    assert_memory_equal(fog_cid_mh(&c).p, mhb, mh_len);
    assert_int_equal(fog_cid_mh(&c).len, mh_len);
    /* Digests cut below FOG_DIGEST_MIN bytes are refused: they would let other bytes pass. */
    bool known = mh.code == FOG_MC_SHA2_256 || mh.code == FOG_MC_SHA2_512;
    int want = known && mh.digest.len >= FOG_DIGEST_MIN ? 0 : FOG_ERR_UNSUPPORTED;
    assert_int_equal(fog_cid_verify(&c, input, in_len), want);
    if (want == 0) {
        input[0] ^= 1;
        assert_int_equal(fog_cid_verify(&c, input, in_len), FOG_ERR_HASH_MISMATCH);
    }
}

static void test_mf_multihash_vectors(void **state)
{
    (void)state;
    char path[1024];
    FILE *f = tl_vec_fopen("multiformats-multihash/tests/values/test_cases.csv", path, sizeof path);
    if (f == NULL) {
        skip();
    }
    char line[1024];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char alg[32];
        unsigned bits;
        char in_hex[512];
        char mh_hex[160];
        if (sscanf(line, "%31[^,],%u,%511[^,],%159s", alg, &bits, in_hex, mh_hex) != 4) {
            continue;
        }
        multihash_row(alg, bits, in_hex, mh_hex);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 260);
}

static int mh_err(const uint8_t *p, size_t len)
{
    fog_reader r;
    fog_reader_init(&r, p, len);
    fog_mh mh;
    fog_mh_read(&r, &mh);
    if (r.err == 0 && r.left != 0) {
        return 1; /* trailing bytes: the caller's business, reported distinctly */
    }
    return r.err;
}

static void test_mf_multihash_rejects(void **state)
{
    (void)state;
    uint8_t buf[300] = {0};
    assert_int_equal(mh_err(buf, 0), FOG_ERR_TRUNCATED);
    const uint8_t nonmin_code[] = {0x92, 0x00, 0x01, 0xaa};
    assert_int_equal(mh_err(nonmin_code, sizeof nonmin_code), FOG_ERR_PROTO);
    const uint8_t nonmin_len[] = {0x12, 0x81, 0x00, 0xaa};
    assert_int_equal(mh_err(nonmin_len, sizeof nonmin_len), FOG_ERR_PROTO);
    const uint8_t cut[] = {0x12, 0x20, 1, 2, 3};
    assert_int_equal(mh_err(cut, sizeof cut), FOG_ERR_TRUNCATED);
    const uint8_t extra[] = {0x00, 0x01, 0xaa, 0xbb};
    assert_int_equal(mh_err(extra, sizeof extra), 1);
    /* identity: 128 bytes are fine, 129 are not (varint 129 = 0x81 0x01) */
    buf[0] = 0x00;
    buf[1] = 0x80;
    buf[2] = 0x01;
    assert_int_equal(mh_err(buf, 3 + 128), 0);
    buf[1] = 0x81;
    assert_int_equal(mh_err(buf, 3 + 129), FOG_ERR_LIMIT);
    buf[0] = 0x13;
    assert_int_equal(mh_err(buf, 3 + 129), FOG_ERR_LIMIT);
}

/* ---- CIDs ---- */

static uint64_t codec_of_ext(const char *ext)
{
    if (strcmp(ext, "dag-pb") == 0) {
        return FOG_MC_DAG_PB;
    }
    if (strcmp(ext, "dag-cbor") == 0) {
        return FOG_MC_DAG_CBOR;
    }
    assert_string_equal(ext, "dag-json");
    return FOG_MC_DAG_JSON;
}

/* One fixture file: its name is the CIDv1 of its bytes. */
static void fixture_file(const char *dir, const char *name)
{
    char cid_text[256];
    const char *dot = strchr(name, '.');
    assert_non_null(dot);
    size_t n = (size_t)(dot - name);
    assert_true(n < sizeof cid_text);
    memcpy(cid_text, name, n);
    cid_text[n] = '\0';
    fog_cid c;
    assert_int_equal(fog_cid_parse(&c, cid_text), 0);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.codec, codec_of_ext(dot + 1));
    assert_int_equal(c.mh_code, FOG_MC_SHA2_256);
    assert_int_equal(c.digest_len, 32);
    char back[FOG_CID_STR_MAX];
    assert_int_equal(fog_cid_format(&c, 0, back, sizeof back), (int)n);
    assert_string_equal(back, cid_text);
    assert_string_equal(fog_cid_str(&c), cid_text);
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    uint8_t *data = tl_slurp(path, &len);
    assert_non_null(data);
    assert_int_equal(fog_cid_verify(&c, data, len), 0);
    fog_cid made;
    assert_int_equal(fog_cid_of(&made, 1, c.codec, FOG_MC_SHA2_256, data, len), 0);
    assert_true(fog_cid_eq(&made, &c));
    if (len > 0) { /* dagpb_empty is the zero-length block */
        data[len / 2] ^= 0x20;
        assert_int_equal(fog_cid_verify(&c, data, len), FOG_ERR_HASH_MISMATCH);
    }
    free(data);
}

/* A fixture directory named cid-<CID> (a dag-cbor/dag-json value holding that CID): when the
 * name is a CID fog parses, formatting it in the same base must give the name back. */
static int fixture_dir_name(const char *name)
{
    if (strncmp(name, "cid-", 4) != 0) {
        return 0;
    }
    const char *text = name + 4;
    fog_cid c;
    if (fog_cid_parse(&c, text) < 0) {
        return 0;
    }
    char back[FOG_CID_STR_MAX];
    int base = c.version == 0 ? 0 : text[0];
    assert_int_equal(fog_cid_format(&c, base, back, sizeof back), (int)strlen(text));
    assert_string_equal(back, text);
    return 1;
}

static void test_mf_cid_codec_fixtures(void **state)
{
    (void)state;
    char root[1024];
    if (!tl_vec_path(root, sizeof root, "ipld-codec-fixtures/fixtures")) {
        skip();
    }
    DIR *d = opendir(root);
    assert_non_null(d);
    int files = 0;
    int cid_dirs = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char sub[1536];
        snprintf(sub, sizeof sub, "%s/%s", root, e->d_name);
        DIR *sd = opendir(sub);
        assert_non_null(sd);
        struct dirent *fe;
        while ((fe = readdir(sd)) != NULL) {
            if (fe->d_name[0] != '.') {
                fixture_file(sub, fe->d_name);
                files++;
            }
        }
        closedir(sd);
        cid_dirs += fixture_dir_name(e->d_name);
    }
    closedir(d);
    assert_true(files >= 128 * 2);
    /* 16 cid-* directories are CIDs (3 Qm, 3 z, 10 b); cid-arrayof and cid-mapof are not. */
    assert_int_equal(cid_dirs, 16);
}

/* The empty dag-pb node: PROTOCOLS.md gives its v0 and v1 names; its block is zero bytes. */
static void test_mf_cid_empty_block(void **state)
{
    (void)state;
    const char *v0s = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n";
    const char *v1s = "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    fog_cid v0;
    fog_cid v1;
    fog_cid made;
    fog_cid conv;
    assert_int_equal(fog_cid_parse(&v0, v0s), 0);
    assert_int_equal(fog_cid_parse(&v1, v1s), 0);
    assert_int_equal(v0.version, 0);
    assert_int_equal(v0.codec, FOG_MC_DAG_PB);
    assert_int_equal(v0.len, 34);
    assert_int_equal(fog_cid_of(&made, 0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, NULL, 0), 0);
    assert_true(fog_cid_eq(&made, &v0));
    assert_int_equal(fog_cid_verify(&v1, NULL, 0), 0);
    assert_int_equal(fog_cid_to_v1(&v0, &conv), 0);
    assert_true(fog_cid_eq(&conv, &v1));
    assert_true(fog_slice_eq(fog_cid_mh(&v0), fog_cid_mh(&v1)));
    assert_true(fog_slice_eq(fog_cid_digest(&v0), fog_cid_digest(&v1)));
    assert_int_equal(fog_cid_to_v0(&v1, &conv), 0);
    assert_true(fog_cid_eq(&conv, &v0));
    conv = v1;
    assert_int_equal(fog_cid_to_v0(&conv, &conv), 0); /* in place */
    assert_true(fog_cid_eq(&conv, &v0));
    /* v0 text is base58btc only */
    char text[FOG_CID_STR_MAX];
    assert_int_equal(fog_cid_format(&v0, 'b', text, sizeof text), FOG_ERR_INVALID);
    assert_int_equal(fog_cid_format(&v0, 'z', text, sizeof text), 46);
    assert_string_equal(text, v0s);
    assert_int_equal(fog_cid_format(&v0, 0, text, 46), FOG_ERR_LIMIT);
    /* Upper-case base32 (DNS labels, 'B') names the same CID. */
    char upper[128];
    for (size_t i = 0; i <= strlen(v1s); i++) {
        upper[i] = (char)(v1s[i] >= 'a' && v1s[i] <= 'z' ? v1s[i] - 32 : v1s[i]);
    }
    assert_int_equal(fog_cid_parse(&conv, upper), 0);
    assert_true(fog_cid_eq(&conv, &v1));
}

/* A v1 CID re-parses identically from every base fog writes. */
static void test_mf_cid_all_bases(void **state)
{
    (void)state;
    static const int bases[] = {'b', 'B', 'z', 'f', 'F', 'k', 'K', 'm', 'u'};
    fog_cid c;
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_DAG_CBOR, FOG_MC_SHA2_512, (const uint8_t *)"x", 1),
                     0);
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        char text[FOG_CID_STR_MAX];
        fog_cid back;
        assert_true(fog_cid_format(&c, bases[i], text, sizeof text) > 0);
        assert_int_equal(text[0], bases[i]);
        assert_int_equal(fog_cid_parse(&back, text), 0);
        assert_true(fog_cid_eq(&back, &c));
    }
    /* The largest CID fog accepts still formats into FOG_CID_STR_MAX in base16. */
    uint8_t digest[FOG_DIGEST_MAX] = {0};
    assert_int_equal(fog_cid_make(&c, 1, UINT64_C(0x7fffffffffffffff), UINT64_C(0x7fffffffffffffff),
                                  digest, sizeof digest),
                     0);
    char text[FOG_CID_STR_MAX];
    assert_true(fog_cid_format(&c, 'F', text, sizeof text) > 0);
    fog_cid back;
    assert_int_equal(fog_cid_parse(&back, text), 0);
    assert_true(fog_cid_eq(&back, &c));
}

static void test_mf_cid_ipip499(void **state)
{
    (void)state;
    char path[1024];
    FILE *f = tl_vec_fopen("ipfs-specs/ipip-0499-unixfs-profile-cids.csv", path, sizeof path);
    if (f == NULL) {
        skip();
    }
    char line[512];
    int v0s = 0;
    int v1s = 0;
    while (fgets(line, sizeof line, f)) {
        char profile[64];
        char text[128];
        if (sscanf(line, "%63[^,],%127[^,]", profile, text) != 2 ||
            strcmp(profile, "profile") == 0) {
            continue;
        }
        fog_cid c;
        fog_cid other;
        fog_cid back;
        char out[FOG_CID_STR_MAX];
        assert_int_equal(fog_cid_parse(&c, text), 0);
        assert_int_equal(fog_cid_format(&c, 0, out, sizeof out), (int)strlen(text));
        assert_string_equal(out, text);
        assert_int_equal(c.mh_code, FOG_MC_SHA2_256);
        if (c.version == 0) {
            assert_int_equal(fog_cid_to_v1(&c, &other), 0);
            assert_memory_equal(fog_cid_str(&other), "bafybei", 7);
            assert_int_equal(fog_cid_to_v0(&other, &back), 0);
            assert_true(fog_cid_eq(&back, &c));
            v0s++;
        } else if (c.codec == FOG_MC_DAG_PB) {
            assert_int_equal(fog_cid_to_v0(&c, &other), 0);
            assert_memory_equal(fog_cid_str(&other), "Qm", 2);
            assert_int_equal(fog_cid_to_v1(&other, &back), 0);
            assert_true(fog_cid_eq(&back, &c));
            v1s++;
        } else {
            assert_int_equal(c.codec, FOG_MC_RAW);
            assert_int_equal(fog_cid_to_v0(&c, &other), FOG_ERR_INVALID);
            v1s++;
        }
    }
    fclose(f);
    assert_int_equal(v0s, 7);
    assert_int_equal(v1s, 7);
}

/* kad-dht's example: a CID and the multihash inside it. */
static void test_mf_cid_kad_example(void **state)
{
    (void)state;
    char path[1024];
    FILE *f = tl_vec_fopen("ipfs-specs/kad-dht-content-identifier-example.csv", path, sizeof path);
    if (f == NULL) {
        skip();
    }
    char line[512];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char text[128];
        char mh_hex[160];
        if (sscanf(line, "%127[^,],%159[^,]", text, mh_hex) != 2 || strcmp(text, "cid") == 0) {
            continue;
        }
        uint8_t mh[80];
        size_t mh_len = tl_unhex(mh_hex, mh, sizeof mh);
        fog_cid c;
        assert_int_equal(fog_cid_parse(&c, text), 0);
        assert_true(fog_slice_eq(fog_cid_mh(&c), fog_slice_make(mh, mh_len)));
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 1);
}

/* Binary CIDs that must fail, each with the code fog reports. */
static void test_mf_cid_binary_rejects(void **state)
{
    (void)state;
    uint8_t b[200];
    fog_cid c;
    memset(b, 0xab, sizeof b);
    /* CIDv1 raw sha2-256 as the base: 01 55 12 20 <32> */
    const uint8_t head[] = {0x01, 0x55, 0x12, 0x20};
    memcpy(b, head, 4);
    assert_int_equal(fog_cid_from_bytes(&c, b, 36), 0);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.codec, FOG_MC_RAW);
    assert_int_equal(c.mh_off, 2);
    assert_int_equal(c.digest_off, 4);
    assert_int_equal(fog_cid_from_bytes(&c, b, 35), FOG_ERR_TRUNCATED);
    assert_int_equal(fog_cid_from_bytes(&c, b, 37), FOG_ERR_PROTO); /* trailing byte */
    assert_int_equal(fog_cid_from_bytes(&c, b, 0), FOG_ERR_TRUNCATED);
    b[0] = 0x00; /* version 0 written out */
    assert_int_equal(fog_cid_from_bytes(&c, b, 36), FOG_ERR_PROTO);
    b[0] = 0x02; /* version 2 */
    assert_int_equal(fog_cid_from_bytes(&c, b, 36), FOG_ERR_PROTO);
    b[0] = 0x03;
    assert_true(strstr(fog_err_detail(fog_cid_from_bytes(&c, b, 36)), "version") != NULL);
    /* 0x12 not followed by 0x20 is "version 18", not a CIDv0 */
    const uint8_t v18[] = {0x12, 0x14, 1,  2,  3,  4,  5,  6,  7,  8,  9,
                           10,   11,   12, 13, 14, 15, 16, 17, 18, 19, 20};
    assert_int_equal(fog_cid_from_bytes(&c, v18, sizeof v18), FOG_ERR_PROTO);
    /* non-minimal codec varint (0x55 as 0xd5 0x00) */
    const uint8_t nonmin[] = {0x01, 0xd5, 0x00, 0x00, 0x00};
    assert_int_equal(fog_cid_from_bytes(&c, nonmin, sizeof nonmin), FOG_ERR_PROTO);
    /* CIDv0: 34 bytes, no fewer, no more */
    b[0] = 0x12;
    b[1] = 0x20;
    assert_int_equal(fog_cid_from_bytes(&c, b, 34), 0);
    assert_int_equal(c.version, 0);
    assert_int_equal(c.codec, FOG_MC_DAG_PB);
    assert_int_equal(fog_cid_from_bytes(&c, b, 33), FOG_ERR_TRUNCATED);
    assert_int_equal(fog_cid_from_bytes(&c, b, 35), FOG_ERR_PROTO);
    /* identity digests: 128 bytes pass, 129 do not; other digests past 128 neither */
    const uint8_t id128[] = {0x01, 0x55, 0x00, 0x80, 0x01};
    memcpy(b, id128, sizeof id128);
    assert_int_equal(fog_cid_from_bytes(&c, b, 5 + 128), 0);
    b[3] = 0x81;
    assert_int_equal(fog_cid_from_bytes(&c, b, 5 + 129), FOG_ERR_LIMIT);
    b[2] = 0x13;
    assert_int_equal(fog_cid_from_bytes(&c, b, 5 + 129), FOG_ERR_LIMIT);
}

/* fog_cid_read takes one CID from a stream and leaves the rest. */
static void test_mf_cid_read_stream(void **state)
{
    (void)state;
    fog_cid a;
    fog_cid b;
    assert_int_equal(fog_cid_of(&a, 0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, (const uint8_t *)"a", 1), 0);
    assert_int_equal(fog_cid_of(&b, 1, FOG_MC_RAW, FOG_MC_IDENTITY, (const uint8_t *)"bc", 2), 0);
    uint8_t stream[200];
    memcpy(stream, a.bytes, a.len);
    memcpy(stream + a.len, b.bytes, b.len);
    stream[a.len + b.len] = 0x77;
    fog_reader r;
    fog_reader_init(&r, stream, a.len + b.len + 1);
    fog_cid x;
    fog_cid y;
    fog_cid_read(&r, &x);
    fog_cid_read(&r, &y);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.left, 1);
    assert_true(fog_cid_eq(&x, &a));
    assert_true(fog_cid_eq(&y, &b));
    fog_cid_read(&r, &y); /* 0x77: version 119 */
    assert_int_equal(r.err, FOG_ERR_PROTO);
    assert_true(fog_cid_eq(&y, &b)); /* untouched on failure */
}

static void expect_parse_fail(const char *s, int code)
{
    fog_cid c;
    fog_err_clear();
    int rc = fog_cid_parse(&c, s);
    assert_int_equal(rc, code);
    const char *detail = fog_err_detail(rc);
    assert_memory_equal(detail, "invalid CID \"", 13);
}

static void test_mf_cid_text_rejects(void **state)
{
    (void)state;
    expect_parse_fail("", FOG_ERR_PROTO);
    assert_string_equal(fog_err_detail(FOG_ERR_PROTO), "invalid CID \"\": empty string");
    /* one character changed to one outside each alphabet */
    expect_parse_fail("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR10", FOG_ERR_PROTO);
    expect_parse_fail("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zIII", FOG_ERR_PROTO);
    expect_parse_fail("bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk1", FOG_ERR_PROTO);
    /* a character short or too many: a truncated digest; a dangling base32 group */
    expect_parse_fail("bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvy",
                      FOG_ERR_TRUNCATED);
    expect_parse_fail("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1", FOG_ERR_UNSUPPORTED);
    expect_parse_fail("xafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
                      FOG_ERR_UNSUPPORTED);
    /* "aeaa" is 00000 00100 00000 00000: bytes 01 00 = version 1, codec identity, no hash */
    expect_parse_fail("baeaa", FOG_ERR_TRUNCATED);
    char longs[400];
    memset(longs, 'a', sizeof longs - 1);
    longs[0] = 'b';
    longs[sizeof longs - 1] = '\0';
    expect_parse_fail(longs, FOG_ERR_LIMIT);
    /* A multibase string of explicit version 0 bytes: "f00" + "70" + sha2-256 multihash. */
    char hex[128] = "f0070";
    strcat(hex, "1220");
    for (int i = 0; i < 32; i++) {
        strcat(hex, "ab");
    }
    expect_parse_fail(hex, FOG_ERR_PROTO);
    /* ... but a multibase string of CIDv0 bytes is that CIDv0 (go-cid Decode + Cast). */
    char v0hex[128] = "f1220";
    for (int i = 0; i < 32; i++) {
        strcat(v0hex, "ab");
    }
    fog_cid c;
    assert_int_equal(fog_cid_parse(&c, v0hex), 0);
    assert_int_equal(c.version, 0);
    assert_memory_equal(fog_cid_str(&c), "Qm", 2);
    strcat(v0hex, "ab"); /* 35 bytes: a CIDv0 then a trailing byte */
    expect_parse_fail(v0hex, FOG_ERR_PROTO);
}

static void test_mf_cid_make_and_identity(void **state)
{
    (void)state;
    /* bafkqabiaaebagba, decoded by hand: 01 55 00 05 00 01 02 03 04 = a CIDv1 raw identity CID
     * of the five bytes 0..4 (it names an ipld codec-fixtures directory). */
    const uint8_t five[] = {0, 1, 2, 3, 4};
    fog_cid c;
    fog_cid p;
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_IDENTITY, five, 5), 0);
    assert_string_equal(fog_cid_str(&c), "bafkqabiaaebagba");
    assert_int_equal(fog_cid_parse(&p, "bafkqabiaaebagba"), 0);
    assert_true(fog_cid_eq(&p, &c));
    assert_int_equal(fog_cid_verify(&c, five, 5), 0);
    assert_int_equal(fog_cid_verify(&c, five, 4), FOG_ERR_HASH_MISMATCH);
    uint8_t big[FOG_IDENTITY_MAX + 1] = {0};
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_IDENTITY, big, sizeof big),
                     FOG_ERR_LIMIT);
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_IDENTITY, big, FOG_IDENTITY_MAX), 0);
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA3_512, big, 1), FOG_ERR_UNSUPPORTED);
    assert_int_equal(fog_cid_of(&c, 0, FOG_MC_RAW, FOG_MC_SHA2_256, big, 1), FOG_ERR_INVALID);
    assert_int_equal(fog_cid_of(&c, 2, FOG_MC_RAW, FOG_MC_SHA2_256, big, 1), FOG_ERR_INVALID);
    assert_int_equal(fog_cid_make(&c, 0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, big, 31), FOG_ERR_INVALID);
    assert_int_equal(fog_cid_make(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, big, FOG_DIGEST_MAX + 1),
                     FOG_ERR_LIMIT);
    assert_int_equal(fog_cid_make(&c, 1, UINT64_MAX, FOG_MC_SHA2_256, big, 32), FOG_ERR_INVALID);
    /* v1 that cannot become v0: raw codec, or sha2-512 */
    assert_int_equal(fog_cid_of(&c, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_512, five, 5), 0);
    assert_int_equal(fog_cid_to_v0(&c, &p), FOG_ERR_INVALID);
    assert_int_equal(c.digest_len, 64);
}

/* ---- peer IDs ---- */

static bool peer_vector(const char *key, uint8_t *out, size_t cap, size_t *len)
{
    char path[1024];
    FILE *f = tl_vec_fopen("libp2p-specs/peer-id-key-vectors.csv", path, sizeof path);
    if (f == NULL) {
        return false;
    }
    static char line[8192];
    bool found = false;
    size_t klen = strlen(key);
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ',') {
            line[strcspn(line, "\r\n")] = '\0';
            *len = tl_unhex(line + klen + 1, out, cap);
            found = true;
        }
    }
    fclose(f);
    assert_true(found);
    return true;
}

static void test_mf_peer_id_ed25519_vector(void **state)
{
    (void)state;
    uint8_t priv[80];
    uint8_t pubpb[48];
    size_t priv_len;
    size_t pub_len;
    if (!peer_vector("ED25519 private key", priv, sizeof priv, &priv_len) ||
        !peer_vector("ED25519 public key", pubpb, sizeof pubpb, &pub_len)) {
        skip();
    }
    /* PrivateKey {Type 1, Data seed||public} and PublicKey {Type 1, Data public} */
    assert_int_equal(priv_len, 4 + 64);
    assert_int_equal(pub_len, 4 + 32);
    assert_int_equal(fog_crypto_init(), 0);
    uint8_t pub[FOG_ED25519_PUB_LEN];
    uint8_t secret[FOG_ED25519_SECRET_LEN];
    fog_ed25519_from_seed(priv + 4, pub, secret);
    assert_memory_equal(pub, pubpb + 4, 32);
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    fog_peer_id_ed25519(pub, id);
    assert_int_equal(id[0], 0x00); /* identity multihash of the 36-byte PublicKey */
    assert_int_equal(id[1], 36);
    assert_memory_equal(id + 2, pubpb, 36);
    char text[64];
    const char *want = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"; /* vectors README */
    assert_int_equal(fog_peer_id_format(id, sizeof id, text, sizeof text), (int)strlen(want));
    assert_string_equal(text, want);
    uint8_t back[64];
    assert_int_equal(fog_base_decode('z', text, strlen(text), back, sizeof back), (int)sizeof id);
    assert_memory_equal(back, id, sizeof id);
    assert_int_equal(fog_peer_id_format(id, sizeof id, text, 20), FOG_ERR_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mf_mc_names),
        cmocka_unit_test(test_mf_multibase_basic),
        cmocka_unit_test(test_mf_multibase_leading_zeros),
        cmocka_unit_test(test_mf_multibase_case_insensitive),
        cmocka_unit_test(test_mf_multibase_base58_examples),
        cmocka_unit_test(test_mf_multibase_round_trip),
        cmocka_unit_test(test_mf_multibase_rejects),
        cmocka_unit_test(test_mf_multibase_bignum_limit),
        cmocka_unit_test(test_mf_multihash_vectors),
        cmocka_unit_test(test_mf_multihash_rejects),
        cmocka_unit_test(test_mf_cid_codec_fixtures),
        cmocka_unit_test(test_mf_cid_empty_block),
        cmocka_unit_test(test_mf_cid_all_bases),
        cmocka_unit_test(test_mf_cid_ipip499),
        cmocka_unit_test(test_mf_cid_kad_example),
        cmocka_unit_test(test_mf_cid_binary_rejects),
        cmocka_unit_test(test_mf_cid_read_stream),
        cmocka_unit_test(test_mf_cid_text_rejects),
        cmocka_unit_test(test_mf_cid_make_and_identity),
        cmocka_unit_test(test_mf_peer_id_ed25519_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
