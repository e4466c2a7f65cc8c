/* fuzz_api_query.c: the HTTP API's query-string parser (src/http/server.c: fog__api_query_parse,
 * fog__api_query_opt and the percent-decoder below them) on arbitrary input, taken as the bytes
 * after '?'. Seed with strings such as "arg=%2Fipfs%2Fbafy&arg=a+b&timeout=30s&count=3".
 * Properties: a query the parser accepts holds at most API_ARGS_MAX arguments, each a string
 * that fits in the input; an option lookup finds the same value as the parse for "arg" (the
 * first one); and re-encoding every decoded argument (each byte as %XX) gives a query that
 * parses back to the same arguments. A query it refuses leaves a detail.
 */
#include <stdio.h>
#include <string.h>

#include "fuzzlib.h"
#include "http/internal.h"

#define ENC_MAX (3 * 4096 + 64)

/* "arg=%XX%XX...&arg=..." of q's arguments into out; false when it does not fit. */
static bool encode_args(const api_query *q, char *out, size_t cap, size_t *len)
{
    size_t o = 0;
    for (size_t i = 0; i < q->n_arg; i++) {
        const char *a = q->arg[i];
        size_t need = (i > 0 ? 1 : 0) + 4 + 3 * strlen(a) + 1;
        if (cap - o < need) {
            return false;
        }
        o += (size_t)snprintf(out + o, cap - o, "%sarg=", i > 0 ? "&" : "");
        for (size_t k = 0; a[k] != '\0'; k++) {
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", (unsigned)(unsigned char)a[k]);
        }
    }
    *len = o;
    return true;
}

static void roundtrip(h2o_mem_pool_t *pool, const api_query *q)
{
    static char enc[ENC_MAX];
    size_t len = 0;
    if (!encode_args(q, enc, sizeof enc, &len)) {
        return;
    }
    api_query back;
    CHECK(fog__api_query_parse(pool, enc, len, &back) == 0);
    CHECK(back.n_arg == q->n_arg);
    for (size_t i = 0; i < q->n_arg; i++) {
        CHECK(strcmp(back.arg[i], q->arg[i]) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) {
        return 0;
    }
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    api_query q;
    fog_err_clear();
    int rc = fog__api_query_parse(&pool, (const char *)data, size, &q);
    if (rc < 0) {
        CHECK(rc == FOG_ERR_INVALID && fog_err_detail(rc)[0] != '\0');
    } else {
        CHECK(q.n_arg <= API_ARGS_MAX);
        for (size_t i = 0; i < q.n_arg; i++) {
            CHECK(q.arg[i] != NULL && strlen(q.arg[i]) <= size);
        }
        const char *first = fog__api_query_opt(&q, "arg");
        CHECK((first == NULL) == (q.n_arg == 0));
        CHECK(first == NULL || strcmp(first, q.arg[0]) == 0);
        (void)fog__api_query_opt(&q, "timeout");
        roundtrip(&pool, &q);
    }
    h2o_mem_clear_pool(&pool);
    return 0;
}
