/* fuzz_dagcbor.c: the DAG-CBOR link walker on arbitrary input (libFuzzer).
 * Strict mode accepts a subset of what lenient mode accepts, and both report the same links
 * when they both accept. fog_dag_links (lenient) succeeds exactly when the lenient walk does,
 * and then reports the walk's links in the same order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dag/internal.h"
#include "fuzzlib.h"

typedef struct {
    fog_buf cids; /* every CID's bytes, each after a length byte */
    size_t n;
} links;

static int add(void *ctx, const fog_cid *c)
{
    links *l = ctx;
    CHECK(fog_buf_u8(&l->cids, (uint8_t)c->len) == 0);
    CHECK(fog_buf_append(&l->cids, c->bytes, c->len) == 0);
    l->n++;
    return 0;
}

static bool same(const links *a, const links *b)
{
    return a->n == b->n && a->cids.len == b->cids.len &&
           (a->cids.len == 0 || memcmp(a->cids.p, b->cids.p, a->cids.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    links lenient = {0}, strict = {0}, via = {0};
    int lrc = fog__cbor_walk(data, size, false, add, &lenient);
    int src = fog__cbor_walk(data, size, true, add, &strict);
    CHECK(src < 0 || lrc == 0);
    if (src == 0) {
        CHECK(same(&lenient, &strict));
    }
    fog_cid c;
    CHECK(fog_cid_of(&c, 1, FOG_MC_DAG_CBOR, FOG_MC_SHA2_256, data, size) == 0);
    int drc = fog_dag_links(&c, fog_slice_make(data, size), add, &via);
    CHECK((drc == 0) == (lrc == 0));
    if (drc == 0) {
        CHECK(same(&lenient, &via));
    } else {
        CHECK(via.n == 0);
    }
    fog_buf_clear(&lenient.cids);
    fog_buf_clear(&strict.cids);
    fog_buf_clear(&via.cids);
    return 0;
}
