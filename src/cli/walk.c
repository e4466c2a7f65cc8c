/* walk.c: visiting every block of a DAG in the local store once, depth first, with an explicit
 * stack (a hostile DAG cannot exhaust the C stack) and a seen set (a DAG of diamonds costs its
 * block count, not its path count). Used by `pin add` to refuse incomplete DAGs.
 */
#include "walk.h"

#include <stdlib.h>

#include "fog/dag.h"

typedef struct {
    fog_cid *items;
    size_t n, cap;
} cid_stack;

static int push(void *ctx, const fog_cid *c)
{
    cid_stack *st = ctx;
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        fog_cid *p = realloc(st->items, cap * sizeof *p);
        if (p == NULL) {
            return FOG_ERR_NOMEM;
        }
        st->items = p;
        st->cap = cap;
    }
    st->items[st->n++] = *c;
    return 0;
}

int cli_walk(fog_store_view *v, const fog_cid *root, cli_visit_fn visit, void *ctx)
{
    cid_stack st = {0};
    fog_set seen;
    fog_set_init(&seen);
    int rc = push(&st, root);
    while (rc == 0 && st.n > 0) {
        fog_cid c = st.items[--st.n];
        fog_slice mh = fog_cid_mh(&c);
        rc = fog_set_add(&seen, mh.p, mh.len);
        if (rc <= 0) {
            continue; /* 0: seen before; < 0: the loop ends with the error */
        }
        fog_slice data;
        rc = fog_store_view_get(v, &c, &data);
        if (rc == 0 && visit != NULL) {
            rc = visit(ctx, &c, data);
        }
        if (rc == 0) {
            rc = fog_dag_links(&c, data, push, &st);
        }
    }
    free(st.items);
    fog_set_clear(&seen);
    return rc;
}
