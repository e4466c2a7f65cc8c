/* fuzz_dagpb.c: the strict dag-pb decoder on arbitrary input (libFuzzer).
 * Whatever decodes must survive a round trip through the canonical encoder: decode(encode(x))
 * gives the same links (CID, Name and Tsize with their presence) and Data, and the encoding is
 * itself canonical (encoding it again gives the same bytes). fog_dag_links must agree with the
 * decoder: it succeeds exactly when decoding does and reports the same CIDs in order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/dag.h"
#include "fuzzlib.h"

typedef struct {
    const fog_pbnode *n;
    size_t i;
} link_check;

static int check_link(void *ctx, const fog_cid *c)
{
    link_check *k = ctx;
    CHECK(k->i < k->n->n_links && fog_cid_eq(c, &k->n->links[k->i].cid));
    k->i++;
    return 0;
}

static void same_node(const fog_pbnode *a, const fog_pbnode *b)
{
    CHECK(a->n_links == b->n_links && a->has_data == b->has_data);
    CHECK(!a->has_data || fog_slice_eq(a->data, b->data));
    for (size_t i = 0; i < a->n_links; i++) {
        const fog_pblink *x = &a->links[i], *y = &b->links[i];
        CHECK(fog_cid_eq(&x->cid, &y->cid));
        CHECK(x->has_name == y->has_name && (!x->has_name || fog_slice_eq(x->name, y->name)));
        CHECK(x->has_tsize == y->has_tsize && (!x->has_tsize || x->tsize == y->tsize));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fog_cid c;
    CHECK(fog_cid_of(&c, 1, FOG_MC_DAG_PB, FOG_MC_SHA2_256, data, size) == 0);
    fog_pbnode n;
    int rc = fog_pbnode_decode(&n, data, size);
    link_check k = {&n, 0};
    int lrc = fog_dag_links(&c, fog_slice_make(data, size), check_link, &k);
    if (rc < 0) {
        CHECK(n.links == NULL && n.n_links == 0);
        CHECK(lrc < 0);
        return 0;
    }
    CHECK(lrc == 0 && k.i == n.n_links);
    fog_buf out, again;
    fog_buf_init(&out);
    fog_buf_init(&again);
    CHECK(fog_pbnode_encode(&n, &out) == 0);
    fog_pbnode back;
    CHECK(fog_pbnode_decode(&back, out.p, out.len) == 0);
    same_node(&n, &back);
    CHECK(fog_pbnode_encode(&back, &again) == 0);
    CHECK(again.len == out.len && (out.len == 0 || memcmp(again.p, out.p, out.len) == 0));
    fog_pbnode_clear(&back);
    fog_pbnode_clear(&n);
    fog_buf_clear(&out);
    fog_buf_clear(&again);
    return 0;
}
