/* routing.c: the routing endpoints, answered by the daemon's DHT (fog/dht.h):
 *   /api/v0/routing/findpeer?arg=PEER
 *   /api/v0/routing/findprovs?arg=CID[&num-providers=N]
 *   /api/v0/routing/provide?arg=CID...
 *   /api/v0/routing/query?arg=PEER (kubo's `dht query`; also served as /api/v0/dht/query)
 * kubo (core/commands/routing.go, dht.go) streams routing.QueryEvent objects as newline-delimited
 * JSON, {"Extra", "ID", "Responses", "Type"}. fog writes the events a client acts on:
 * - findpeer: one Type 2 (routing.FinalPeer) whose Responses holds the peer's AddrInfo {"ID",
 *   "Addrs"} (addresses without /p2p), once the lookup ends; a peer the lookup did not learn
 *   with an address is the error "routing: not found" (500).
 * - findprovs: one Type 4 (routing.Provider) per provider, {"Responses": [{"ID", "Addrs"}]},
 *   streamed as the search finds them (fog_dht_find_providers), at most num-providers (default
 *   20, kubo's; 1..1000); the stream ends when the search does. A search that ends in an error
 *   after the stream began ends with a Type 7 (routing.QueryError) event whose Extra is the
 *   message, as kubo does.
 * - query: one Type 2 (routing.FinalPeer) per closest peer found, {"ID": PEER}, closest first,
 *   as kubo's `dht query` publishes them (fog_dht_get_closest with the peer ID as key).
 * - provide: kubo streams events only with --verbose and otherwise says nothing; fog answers once
 *   every CID was announced (fog_dht_provide, one batch) with one summary object {"Keys": [CID
 *   text...], "Lookups", "Messages", "PeersFailed"}. As kubo: each block must be in the local
 *   store ("block CID not found locally, cannot provide", 500), and an empty routing table is
 *   "routing: cannot provide, no connected peers" (500); so is a provide that reached nobody.
 * Without a DHT (fog daemon --no-dht) every routing request is "routing: the DHT is off" (500);
 * bad arguments are 400 with the parser's detail.
 * Lookups cannot be taken back (provider searches can: fog_dht_cancel): a request whose client
 * left (or the server closing) keeps its job until the DHT's callback is back, which
 * fog_dht_free guarantees (FOG_ERR_CANCELLED). h2o may dispose a request inside the call that
 * sends its last bytes, which frees the job: a reply or a final send is always the last thing a
 * function does with its job.
 */
#include "internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fog/dht.h"
#include "fog/mf.h"
#include "fog/rtable.h"
#include "fog/store.h"

#define ROUTING_FINAL_PEER 2  /* kubo's routing.FinalPeer */
#define ROUTING_PROVIDER 4    /* routing.Provider */
#define ROUTING_QUERY_ERROR 7 /* routing.QueryError */
#define FINDPROVS_DEFAULT 20  /* kubo's --num-providers default */
#define FINDPROVS_MAX 1000

typedef struct {
    api_job base;
    h2o_generator_t gen;
    bool answered;     /* a whole reply (error or JSON) ended the request */
    bool started;      /* the 200 head of a stream was sent */
    bool sending;      /* an h2o_send waits for proceed */
    bool final_queued; /* the stream ends with what pending holds (maybe nothing) */
    bool final_sent;   /* the last h2o_send is made */
    fog_buf pending;   /* lines not handed to h2o yet */
    fog_buf inflight;  /* lines h2o is sending */
    fog_dht_op *op;    /* findprovs: the running search, NULL once over */
    size_t n_cids;     /* provide: the CIDs announced */
    fog_cid cids[API_ARGS_MAX];
} rt_job;

static void rt_release(api_job *j)
{
    rt_job *r = (rt_job *)j;
    fog_buf_clear(&r->pending);
    fog_buf_clear(&r->inflight);
    free(r);
}

static rt_job *rt_of_gen(h2o_generator_t *g)
{
    return (rt_job *)(void *)((char *)g - offsetof(rt_job, gen));
}

/* Hands pending lines to h2o when it is ready for more. Must be the caller's last use of r. */
static void rt_flush(rt_job *r)
{
    if (!r->started || r->sending || r->final_sent || r->base.req == NULL) {
        return;
    }
    if (r->pending.len == 0 && !r->final_queued) {
        return;
    }
    fog_buf t = r->inflight;
    r->inflight = r->pending;
    r->pending = t;
    r->pending.len = 0;
    h2o_send_state_t st = r->final_queued ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS;
    h2o_iovec_t iov = h2o_iovec_init(r->inflight.p, r->inflight.len);
    r->sending = true;
    r->final_sent = r->final_queued;
    h2o_send(r->base.req, &iov, 1, st);
}

static void rt_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    rt_job *r = rt_of_gen(g);
    r->sending = false;
    r->inflight.len = 0;
    rt_flush(r);
}

static void rt_stop(h2o_generator_t *g, h2o_req_t *req)
{
    (void)g;
    (void)req;
}

/* Starts the 200 stream (kubo's X-Chunked-Output). */
static void rt_start(rt_job *r)
{
    h2o_req_t *req = r->base.req;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-chunked-output"), 0, NULL,
                          H2O_STRLIT("1"));
    r->gen.proceed = rt_proceed;
    r->gen.stop = rt_stop;
    h2o_start_response(req, &r->gen);
    r->started = true;
}

/* Appends one event line (v stolen); a line that cannot be made is dropped whole. */
static void rt_line(rt_job *r, json_t *v)
{
    char *s = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    size_t len = s != NULL ? strlen(s) : 0;
    if (s != NULL && fog_buf_append(&r->pending, (const uint8_t *)s, len) == 0 &&
        fog_buf_append(&r->pending, (const uint8_t *)"\n", 1) < 0) {
        r->pending.len -= len;
    }
    free(s);
}

static json_t *addr_info(const fog_dht_peer *p)
{
    char id[128];
    fog__api_peer_text(fog_slice_make(p->id, p->id_len), id, sizeof id);
    json_t *addrs = json_array();
    for (size_t i = 0; i < p->n_addrs; i++) {
        json_array_append_new(addrs, json_string(fog_multiaddr_str(&p->addrs[i])));
    }
    return json_pack("{s:s,s:o}", "ID", id, "Addrs", addrs);
}

static json_t *event(int type, const char *id, json_t *responses, const char *extra)
{
    return json_pack("{s:s,s:s,s:o,s:i}", "Extra", extra, "ID", id, "Responses",
                     responses != NULL ? responses : json_null(), "Type", type);
}

/* A job for req, attached, with one callback to come; NULL after answering 500. */
static rt_job *rt_new(fog_api *api, h2o_req_t *req)
{
    rt_job *r = calloc(1, sizeof *r);
    if (r == NULL) {
        fog__api_reply_error(req, 500, "out of memory");
        return NULL;
    }
    r->base.release = rt_release;
    fog__api_job_attach(api, &r->base, req);
    r->base.outstanding = 1;
    return r;
}

/* The callback is back: false when nobody waits for an answer any more (the job may be gone). */
static bool rt_back(rt_job *r)
{
    r->base.outstanding--;
    if (r->base.req == NULL || r->answered) {
        fog__api_job_maybe_free(&r->base);
        return false;
    }
    return true;
}

/* Server closing with a callback to come: end the request now. */
static void rt_cancel(api_job *j)
{
    rt_job *r = (rt_job *)j;
    if (r->base.outstanding == 0 || r->base.req == NULL || r->answered || r->final_queued) {
        return;
    }
    if (!r->started) {
        r->answered = true;
        fog__api_reply_error(r->base.req, 500, "the daemon is shutting down");
        return;
    }
    rt_line(r, event(ROUTING_QUERY_ERROR, "", NULL, "the daemon is shutting down"));
    r->final_queued = true;
    rt_flush(r);
}

/* Checks the DHT is on; answers 500 and returns false otherwise. */
static bool dht_on(fog_api *api, h2o_req_t *req)
{
    if (api->cfg.dht == NULL) {
        fog__api_reply_error(req, 500, "routing: the DHT is off");
        return false;
    }
    return true;
}

/* Parses a CID argument ("CID" or "/ipfs/CID"); answers 400 on junk. */
static int cid_arg(h2o_req_t *req, const char *arg, fog_cid *out)
{
    if (strncmp(arg, "/ipfs/", 6) == 0) {
        arg += 6;
    }
    int rc = fog_cid_parse(out, arg);
    if (rc < 0) {
        fog__api_reply_error(req, 400, "%s", fog_err_detail(rc));
    }
    return rc;
}

/* --- findpeer ------------------------------------------------------------------------------ */

static void findpeer_done(void *ud, int err, const fog_dht_peer *closest, size_t n,
                          const fog_dht_peer *target)
{
    (void)closest;
    (void)n;
    rt_job *r = ud;
    if (!rt_back(r)) {
        return;
    }
    r->answered = true;
    if (err < 0) {
        fog__api_reply_error(r->base.req, 500, "routing: %s", fog_strerror(err));
    } else if (target == NULL || target->n_addrs == 0) {
        fog__api_reply_error(r->base.req, 500, "routing: not found");
    } else {
        json_t *resp = json_array();
        json_array_append_new(resp, addr_info(target));
        fog__api_reply_json(r->base.req, 200, event(ROUTING_FINAL_PEER, "", resp, ""));
    }
}

void fog__api_routing_findpeer(fog_api *api, h2o_req_t *req, const api_query *q)
{
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "argument \"peerID\" is required (exactly one)");
        return;
    }
    uint8_t id[FOG_PEER_ID_MAX];
    int len = fog__api_peer_arg(req, q->arg[0], id);
    if (len < 0 || !dht_on(api, req)) {
        return;
    }
    if (fog_slice_eq(fog_slice_make(id, (size_t)len), fog_node_peer_id(api->node))) {
        fog__api_reply_error(req, 400, "routing: cannot search for yourself");
        return;
    }
    rt_job *r = rt_new(api, req);
    if (r == NULL) {
        return;
    }
    r->base.cancel = rt_cancel;
    int rc = fog_dht_find_peer(api->cfg.dht, id, (size_t)len, findpeer_done, r);
    if (rc < 0) {
        r->answered = true;
        r->base.outstanding = 0;
        fog__api_reply_error(req, 500, "routing: %s", fog_err_detail(rc));
    }
}

/* --- findprovs ----------------------------------------------------------------------------- */

static void findprovs_found(void *ud, int err, const fog_dht_peer *provs, size_t n, bool done)
{
    rt_job *r = ud;
    if (r->base.req == NULL || r->final_queued) {
        /* The client left: stop the search (a callback may cancel its own search). */
        if (!done) {
            fog_dht_cancel(r->op);
        }
        r->op = NULL;
        rt_back(r);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *resp = json_array();
        json_array_append_new(resp, addr_info(&provs[i]));
        rt_line(r, event(ROUTING_PROVIDER, "", resp, ""));
    }
    if (done) {
        r->op = NULL;
        r->base.outstanding--;
        if (err < 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "routing: %s", fog_strerror(err));
            rt_line(r, event(ROUTING_QUERY_ERROR, "", NULL, msg));
        }
        r->final_queued = true;
    }
    rt_flush(r);
}

static void findprovs_cancel(api_job *j)
{
    rt_job *r = (rt_job *)j;
    if (r->op != NULL) {
        fog_dht_cancel(r->op);
        r->op = NULL;
        r->base.outstanding = 0;
    }
    if (r->base.req == NULL || r->final_queued) {
        return;
    }
    rt_line(r, event(ROUTING_QUERY_ERROR, "", NULL, "the daemon is shutting down"));
    r->final_queued = true;
    rt_flush(r);
}

/* num-providers (sent as count, n or num-providers); answers 400 and returns -1 on junk. */
static int findprovs_count(h2o_req_t *req, const api_query *q, size_t *out)
{
    *out = FINDPROVS_DEFAULT;
    if (q->count == NULL) {
        return 0;
    }
    char *end = NULL;
    unsigned long long v = strtoull(q->count, &end, 10);
    if (q->count[0] < '0' || q->count[0] > '9' || *end != '\0' || v == 0 || v > FINDPROVS_MAX) {
        fog__api_reply_error(req, 400, "num-providers must be 1..%d", FINDPROVS_MAX);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

void fog__api_routing_findprovs(fog_api *api, h2o_req_t *req, const api_query *q)
{
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "argument \"key\" is required (exactly one CID)");
        return;
    }
    fog_cid c;
    size_t count = 0;
    if (cid_arg(req, q->arg[0], &c) < 0 || findprovs_count(req, q, &count) < 0 ||
        !dht_on(api, req)) {
        return;
    }
    rt_job *r = rt_new(api, req);
    if (r == NULL) {
        return;
    }
    r->base.cancel = findprovs_cancel;
    fog_slice mh = fog_cid_mh(&c);
    int rc = fog_dht_find_providers(api->cfg.dht, mh.p, mh.len, count, findprovs_found, r, &r->op);
    if (rc < 0) {
        r->answered = true;
        r->base.outstanding = 0;
        r->op = NULL;
        fog__api_reply_error(req, 500, "routing: %s", fog_err_detail(rc));
        return;
    }
    rt_start(r);
}

/* --- query --------------------------------------------------------------------------------- */

static void query_done(void *ud, int err, const fog_dht_peer *closest, size_t n,
                       const fog_dht_peer *target)
{
    (void)target;
    rt_job *r = ud;
    if (!rt_back(r)) {
        return;
    }
    if (err < 0) {
        r->answered = true;
        fog__api_reply_error(r->base.req, 500, "routing: %s", fog_strerror(err));
        return;
    }
    rt_start(r);
    for (size_t i = 0; i < n; i++) {
        char id[128];
        fog__api_peer_text(fog_slice_make(closest[i].id, closest[i].id_len), id, sizeof id);
        rt_line(r, event(ROUTING_FINAL_PEER, id, NULL, ""));
    }
    r->final_queued = true;
    rt_flush(r);
}

void fog__api_routing_query(fog_api *api, h2o_req_t *req, const api_query *q)
{
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "argument \"peerID\" is required (exactly one)");
        return;
    }
    uint8_t id[FOG_PEER_ID_MAX];
    int len = fog__api_peer_arg(req, q->arg[0], id);
    if (len < 0 || !dht_on(api, req)) {
        return;
    }
    rt_job *r = rt_new(api, req);
    if (r == NULL) {
        return;
    }
    r->base.cancel = rt_cancel;
    int rc = fog_dht_get_closest(api->cfg.dht, id, (size_t)len, query_done, r);
    if (rc < 0) {
        r->answered = true;
        r->base.outstanding = 0;
        fog__api_reply_error(req, 500, "routing: %s", fog_err_detail(rc));
    }
}

/* --- provide ------------------------------------------------------------------------------- */

static void provide_done(void *ud, int err, const fog_dht_provide_stats *st)
{
    rt_job *r = ud;
    if (!rt_back(r)) {
        return;
    }
    r->answered = true;
    if (err < 0) {
        fog__api_reply_error(r->base.req, 500, "routing: %s", fog_strerror(err));
        return;
    }
    if (st->messages == 0) {
        fog__api_reply_error(r->base.req, 500, "routing: cannot provide, no connected peers "
                             "(%zu could not be reached)", st->peers_failed);
        return;
    }
    json_t *keys = json_array();
    for (size_t i = 0; i < r->n_cids; i++) {
        json_array_append_new(keys, json_string(fog_cid_str(&r->cids[i])));
    }
    fog__api_reply_json(r->base.req, 200,
                        json_pack("{s:o,s:I,s:I,s:I}", "Keys", keys, "Lookups",
                                  (json_int_t)st->lookups, "Messages", (json_int_t)st->messages,
                                  "PeersFailed", (json_int_t)st->peers_failed));
}

/* Each CID's block must be in the store (kubo's rule); answers 500 and returns false if not. */
static bool provide_local(fog_api *api, h2o_req_t *req, const fog_cid *cids, size_t n)
{
    fog_store *s = api->cfg.store != NULL ? api->cfg.store : fog_dht_store(api->cfg.dht);
    if (s == NULL) {
        return true;
    }
    fog_store_view *v = NULL;
    int rc = fog_store_view_begin(s, &v);
    for (size_t i = 0; i < n && rc == 0; i++) {
        fog_slice data;
        rc = fog_store_view_get(v, &cids[i], &data);
        if (rc == FOG_ERR_NOT_FOUND) {
            fog_store_view_end(v);
            fog__api_reply_error(req, 500, "block %s not found locally, cannot provide",
                                 fog_cid_str(&cids[i]));
            return false;
        }
    }
    fog_store_view_end(v);
    if (rc < 0) {
        fog__api_reply_error(req, 500, "%s", fog_err_detail(rc));
        return false;
    }
    return true;
}

void fog__api_routing_provide(fog_api *api, h2o_req_t *req, const api_query *q)
{
    if (q->n_arg == 0) {
        fog__api_reply_error(req, 400, "argument \"key\" is required (one or more CIDs)");
        return;
    }
    fog_cid cids[API_ARGS_MAX];
    fog_slice keys[API_ARGS_MAX];
    for (size_t i = 0; i < q->n_arg; i++) {
        if (cid_arg(req, q->arg[i], &cids[i]) < 0) {
            return;
        }
    }
    if (!dht_on(api, req) || !provide_local(api, req, cids, q->n_arg)) {
        return;
    }
    if (fog_rtable_size(fog_dht_table(api->cfg.dht)) == 0) {
        fog__api_reply_error(req, 500, "routing: cannot provide, no connected peers");
        return;
    }
    rt_job *r = rt_new(api, req);
    if (r == NULL) {
        return;
    }
    r->base.cancel = rt_cancel;
    r->n_cids = q->n_arg;
    memcpy(r->cids, cids, q->n_arg * sizeof cids[0]);
    for (size_t i = 0; i < q->n_arg; i++) {
        keys[i] = fog_cid_mh(&r->cids[i]);
    }
    int rc = fog_dht_provide(api->cfg.dht, keys, q->n_arg, provide_done, r);
    if (rc < 0) {
        r->answered = true;
        r->base.outstanding = 0;
        fog__api_reply_error(req, 500, "routing: %s", fog_err_detail(rc));
    }
}
