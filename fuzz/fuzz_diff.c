/* fuzz_diff.c: fog_diff (src/dag/diff.c) over DAGs the fuzzer writes (libFuzzer).
 * The input is cut into up to eight blocks (each a 2-byte big-endian length, then the bytes).
 * The source answers a CID with block (first digest byte mod count) and says it is trusted, so
 * any link the fuzzer writes reaches some block: cycles, diamonds, a shard linking itself. The
 * source stops after a few thousand gets and the callback after a thousand changes, which bounds
 * the work a DAG of diamonds can ask for. The roots are dag-pb CIDs of blocks 0 and 1.
 * Properties: no crash or leak; every change has the sides its kind says; when both directions
 * succeed, diff(b, a) reports the same paths as diff(a, b), added and removed swapped; and a
 * root diffed with itself reports nothing and reads nothing.
 */
#include <stdint.h>
#include <string.h>

#include "fog/diff.h"
#include "fuzzlib.h"

#define MAX_BLOCKS  8
#define MAX_GETS    4000
#define MAX_REPORTS 1000

typedef struct {
    fog_slice b[MAX_BLOCKS];
    size_t n;
    unsigned gets;
} src_ctx;

static int get(void *ctx, const fog_cid *c, fog_slice *out)
{
    src_ctx *s = ctx;
    if (++s->gets > MAX_GETS) {
        return FOG_ERR_LIMIT;
    }
    fog_slice d = fog_cid_digest(c);
    *out = s->b[(d.len > 0 ? d.p[0] : 0) % s->n];
    return 0;
}

typedef struct {
    fog_buf log; /* per change: kind byte, path, NUL */
    size_t n;
    bool swap; /* log added as removed and back, to compare with the other direction */
} rec;

static int on_change(void *ud, fog_diff_kind kind, const char *path, const fog_cid *a,
                     const fog_cid *b, bool is_dir)
{
    (void)is_dir;
    rec *r = ud;
    CHECK(kind >= FOG_DIFF_ADDED && kind <= FOG_DIFF_CHANGED);
    CHECK((a != NULL) == (kind != FOG_DIFF_ADDED) && (b != NULL) == (kind != FOG_DIFF_REMOVED));
    if (++r->n > MAX_REPORTS) {
        return 1;
    }
    int k = (int)kind;
    if (r->swap && kind != FOG_DIFF_CHANGED) {
        k = kind == FOG_DIFF_ADDED ? FOG_DIFF_REMOVED : FOG_DIFF_ADDED;
    }
    CHECK(fog_buf_u8(&r->log, (uint8_t)k) == 0);
    CHECK(fog_buf_append(&r->log, path, strlen(path) + 1) == 0);
    return 0;
}

static fog_cid root(uint8_t i)
{
    uint8_t digest[32] = {i};
    fog_cid c;
    CHECK(fog_cid_make(&c, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, digest, sizeof digest) == 0);
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    src_ctx s = {0};
    fog_reader r;
    fog_reader_init(&r, data, size);
    while (s.n < MAX_BLOCKS && r.left >= 2) {
        uint16_t len = 0;
        fog_reader_be16(&r, &len);
        fog_reader_bytes(&r, len <= r.left ? len : r.left, &s.b[s.n++]);
    }
    if (s.n < 2) {
        return 0;
    }
    fog_blocksource src = {get, &s, true};
    fog_cid a = root(0), b = root(1);
    rec ab = {0}, ba = {.swap = true};
    fog_diff_stats st;
    int rc1 = fog_diff(&src, &a, &b, on_change, &ab, &st);
    CHECK(st.blocks_read == s.gets);
    s.gets = 0;
    int rc2 = fog_diff(&src, &b, &a, on_change, &ba, NULL);
    if (rc1 == 0 && rc2 == 0) {
        CHECK(ab.log.len == ba.log.len && ab.n == ba.n);
        CHECK(ab.log.len == 0 || memcmp(ab.log.p, ba.log.p, ab.log.len) == 0);
    }
    rec same = {0};
    CHECK(fog_diff(&src, &a, &a, on_change, &same, &st) == 0 && same.n == 0);
    CHECK(st.blocks_read == 0);
    fog_buf_clear(&ab.log);
    fog_buf_clear(&ba.log);
    return 0;
}
