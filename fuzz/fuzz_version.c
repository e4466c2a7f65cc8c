/* fuzz_version.c: the version node decoder (src/names/version.c) on arbitrary input (libFuzzer).
 * Decode accepts only the canonical form, so whatever it accepts must re-encode to the very same
 * bytes, and must be DAG-CBOR that the general strict walker (cbor_links.c) accepts too, with
 * the prev link (when present) and the root link reported in that order.
 */
#include <stdint.h>
#include <string.h>

#include "dag/internal.h"
#include "fog/version.h"
#include "fuzzlib.h"

typedef struct {
    fog_cid v[2];
    size_t n;
} links;

static int add(void *ctx, const fog_cid *c)
{
    links *l = ctx;
    CHECK(l->n < 2);
    l->v[l->n++] = *c;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fog_version v;
    if (fog_version_decode(&v, data, size) != 0) {
        return 0;
    }
    CHECK(v.n >= 1 && v.has_prev == (v.n > 1));
    CHECK(v.msg.len <= FOG_VERSION_MSG_MAX);
    fog_buf out = {0};
    CHECK(fog_version_encode(&v, &out) == 0);
    CHECK(out.len == size && memcmp(out.p, data, size) == 0);
    links l = {0};
    CHECK(fog__cbor_walk(data, size, true, add, &l) == 0);
    CHECK(l.n == (v.has_prev ? 2u : 1u));
    CHECK(fog_cid_eq(&l.v[l.n - 1], &v.root));
    CHECK(!v.has_prev || fog_cid_eq(&l.v[0], &v.prev));
    fog_buf_clear(&out);
    return 0;
}
