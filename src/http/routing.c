/* routing.c: the routing endpoints, answered by the daemon's DHT (fog/dht.h):
 *   /api/v0/routing/findpeer?arg=PEER
 *   /api/v0/routing/findprovs?arg=CID[&num-providers=N]
 *   /api/v0/routing/provide?arg=CID...
 *   /api/v0/routing/query?arg=PEER (kubo's `dht query`; also served as /api/v0/dht/query)
 *   /api/v0/routing/get?arg=/ipns/NAME, /api/v0/routing/put?arg=/ipns/NAME + the record as a
 *   multipart/form-data file (also served as /api/v0/dht/get and /api/v0/dht/put)
 * kubo (core/commands/routing.go, dht.go) streams routing.QueryEvent objects as newline-delimited
 * JSON, {"Extra", "ID", "Responses", "Type"}. fog writes the events a client acts on:
 * - findpeer: one Type 2 (routing.FinalPeer) whose Responses holds the peer's AddrInfo {"ID",
 *   "Addrs"} (addresses without /p2p), once the lookup ends; a peer the lookup did not learn
 *   with an address is the error "routing: not found" (500).
 * - findprovs: one Type 4 (routing.Provider) per provider, {"Responses": [{"ID", "Addrs"}]},
 *   streamed as the search finds them (fog_dht_find_providers), at most num-providers (default
 *   20, kubo's; 1..1000); the stream ends when the search does. A search that ends in an error
 *   after the stream began ends with a Type 3 (routing.QueryError) event whose Extra is the
 *   message, as kubo does.
 * - query: one Type 2 (routing.FinalPeer) per closest peer found, {"ID": PEER}, closest first,
 *   as kubo's `dht query` publishes them (fog_dht_get_closest with the peer ID as key).
 * - provide: kubo streams events only with --verbose and otherwise says nothing; fog answers once
 *   every CID was announced (fog_dht_provide, one batch) with one summary object {"Keys": [CID
 *   text...], "Lookups", "Messages", "PeersFailed"}. As kubo: each block must be in the local
 *   store ("block CID not found locally, cannot provide", 500), and an empty routing table is
 *   "routing: cannot provide, no connected peers" (500); so is a provide that reached nobody.
 * - get: fog_dht_get_value (our stored record, then GET_VALUE to the closest peers): kubo's one
 *   object {"Extra": the best record in standard base64, "ID": "", "Responses": null, "Type": 5
 *   (routing.Value)}, which kubo's CLI writes out as the raw bytes; none is "routing: not
 *   found" (500). NAME is an IPNS name in any form fog_peer_id_parse reads (kubo's
 *   escapeDhtKey: exactly "/ipns/" and a peer ID); the DHT key is "/ipns/" + its bytes.
 * - put: kubo takes the value as a file argument, the first part of a multipart/form-data body
 *   (a body of another type is taken whole as the record, for curl --data-binary). The record
 *   is validated first (400 with the reason: expired, wrong key, bad signature, too large...),
 *   then fog_dht_put_value stores it as ours and sends PUT_VALUE to the closest peers; a record
 *   worse than the one stored is "can't replace a newer value with an older value" (500, go's
 *   words). The answer is kubo's {"Extra": "", "ID": the name's peer ID, "Responses": null,
 *   "Type": 5} plus "Peers": how many peers accepted it (0: stored here only, not an error:
 *   fog's DHT serves it from here).
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
#include <strings.h>
#include <time.h>

#include "fog/dht.h"
#include "fog/ipns.h"
#include "fog/mf.h"
#include "fog/rtable.h"
#include "fog/store.h"

#define ROUTING_FINAL_PEER 2  /* kubo's routing.FinalPeer */
#define ROUTING_PROVIDER 4    /* routing.Provider */
#define ROUTING_QUERY_ERROR 3 /* routing.QueryError (go-libp2p core/routing query.go) */
#define ROUTING_VALUE 5       /* routing.Value */
#define FINDPROVS_DEFAULT 20  /* kubo's --num-providers default */
#define FINDPROVS_MAX 1000

typedef struct {
    api_job base;
    api_stream st;     /* findprovs and query: the event lines */
    bool answered;     /* a whole reply (error or JSON) ended the request */
    fog_dht_op *op;    /* findprovs: the running search, NULL once over */
    size_t n_cids;     /* provide: the CIDs announced */
    fog_cid cids[API_ARGS_MAX];
    char name[128];    /* put: the name's peer ID text, for the answer */
} rt_job;

static void rt_release(api_job *j)
{
    rt_job *r = (rt_job *)j;
    fog__api_stream_clear(&r->st);
    free(r);
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
static rt_job *rt_new(fog_api *api, h2o_req_t *req, void (*cancel)(api_job *j))
{
    rt_job *r = calloc(1, sizeof *r);
    if (r == NULL) {
        fog__api_reply_error(req, 500, "out of memory");
        return NULL;
    }
    r->base.release = rt_release;
    r->base.cancel = cancel;
    fog__api_job_attach(api, &r->base, req);
    r->base.outstanding = 1;
    return r;
}

/* rc: what starting r's DHT operation returned. False when it failed: the request is then
 * answered 500 and r, with no callback to come, goes with it. */
static bool rt_started(rt_job *r, h2o_req_t *req, int rc)
{
    if (rc >= 0) {
        return true;
    }
    r->answered = true;
    r->base.outstanding = 0;
    r->op = NULL;
    fog__api_reply_error(req, 500, "routing: %s", fog_err_detail(rc));
    return false;
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

/* Ends a begun stream with a QueryError event: the server closes. The caller's last use of r. */
static void rt_end_closing(rt_job *r)
{
    fog__api_stream_line(&r->st, event(ROUTING_QUERY_ERROR, "", NULL,
                                       "the daemon is shutting down"));
    r->st.final_queued = true;
    fog__api_stream_flush(&r->st);
}

/* Server closing with a callback to come: end the request now. */
static void rt_cancel(api_job *j)
{
    rt_job *r = (rt_job *)j;
    if (r->base.outstanding == 0 || r->base.req == NULL || r->answered || r->st.final_queued) {
        return;
    }
    if (!r->st.started) {
        r->answered = true;
        fog__api_reply_error(r->base.req, 500, "the daemon is shutting down");
        return;
    }
    rt_end_closing(r);
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

/* The one peer ID argument of findpeer and query, with the DHT on: its length, else -1 after
 * answering. */
static int peer_target(fog_api *api, h2o_req_t *req, const api_query *q,
                       uint8_t id[FOG_PEER_ID_MAX])
{
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "argument \"peerID\" is required (exactly one)");
        return -1;
    }
    int len = fog__api_peer_arg(req, q->arg[0], id);
    return len < 0 || !dht_on(api, req) ? -1 : len;
}

void fog__api_routing_findpeer(fog_api *api, h2o_req_t *req, const api_query *q)
{
    uint8_t id[FOG_PEER_ID_MAX];
    int len = peer_target(api, req, q, id);
    if (len < 0) {
        return;
    }
    if (fog_slice_eq(fog_slice_make(id, (size_t)len), fog_node_peer_id(api->node))) {
        fog__api_reply_error(req, 400, "routing: cannot search for yourself");
        return;
    }
    rt_job *r = rt_new(api, req, rt_cancel);
    if (r == NULL) {
        return;
    }
    int rc = fog_dht_find_peer(api->cfg.dht, id, (size_t)len, findpeer_done, r);
    rt_started(r, req, rc);
}

/* --- findprovs ----------------------------------------------------------------------------- */

static void findprovs_found(void *ud, int err, const fog_dht_peer *provs, size_t n, bool done)
{
    rt_job *r = ud;
    if (r->base.req == NULL || r->st.final_queued) {
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
        fog__api_stream_line(&r->st, event(ROUTING_PROVIDER, "", resp, ""));
    }
    if (done) {
        r->op = NULL;
        r->base.outstanding--;
        if (err < 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "routing: %s", fog_strerror(err));
            fog__api_stream_line(&r->st, event(ROUTING_QUERY_ERROR, "", NULL, msg));
        }
        r->st.final_queued = true;
    }
    fog__api_stream_flush(&r->st);
}

static void findprovs_cancel(api_job *j)
{
    rt_job *r = (rt_job *)j;
    if (r->op != NULL) {
        fog_dht_cancel(r->op);
        r->op = NULL;
        r->base.outstanding = 0;
    }
    if (r->base.req == NULL || r->st.final_queued) {
        return;
    }
    rt_end_closing(r);
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
    if (fog__api_cid_arg(req, q->arg[0], &c) < 0 || findprovs_count(req, q, &count) < 0 ||
        !dht_on(api, req)) {
        return;
    }
    rt_job *r = rt_new(api, req, findprovs_cancel);
    if (r == NULL) {
        return;
    }
    fog_slice mh = fog_cid_mh(&c);
    int rc = fog_dht_find_providers(api->cfg.dht, mh.p, mh.len, count, findprovs_found, r, &r->op);
    if (rt_started(r, req, rc)) {
        fog__api_stream_start(&r->st, &r->base, NULL);
    }
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
    fog__api_stream_start(&r->st, &r->base, NULL);
    for (size_t i = 0; i < n; i++) {
        char id[128];
        fog__api_peer_text(fog_slice_make(closest[i].id, closest[i].id_len), id, sizeof id);
        fog__api_stream_line(&r->st, event(ROUTING_FINAL_PEER, id, NULL, ""));
    }
    r->st.final_queued = true;
    fog__api_stream_flush(&r->st);
}

void fog__api_routing_query(fog_api *api, h2o_req_t *req, const api_query *q)
{
    uint8_t id[FOG_PEER_ID_MAX];
    int len = peer_target(api, req, q, id);
    if (len < 0) {
        return;
    }
    rt_job *r = rt_new(api, req, rt_cancel);
    if (r == NULL) {
        return;
    }
    int rc = fog_dht_get_closest(api->cfg.dht, id, (size_t)len, query_done, r);
    rt_started(r, req, rc);
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
        if (fog__api_cid_arg(req, q->arg[i], &cids[i]) < 0) {
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
    rt_job *r = rt_new(api, req, rt_cancel);
    if (r == NULL) {
        return;
    }
    r->n_cids = q->n_arg;
    memcpy(r->cids, cids, q->n_arg * sizeof cids[0]);
    for (size_t i = 0; i < q->n_arg; i++) {
        keys[i] = fog_cid_mh(&r->cids[i]);
    }
    int rc = fog_dht_provide(api->cfg.dht, keys, q->n_arg, provide_done, r);
    rt_started(r, req, rc);
}

/* --- get / put: value records (IPNS) ------------------------------------------------------- */

#define VALUE_KEY_MAX (sizeof FOG_IPNS_KEY_PREFIX - 1 + FOG_PEER_ID_MAX)

/* The one "/ipns/NAME" argument as the binary DHT key, with the DHT on; the peer ID's text goes
 * to name. Its length, or 0 after answering. */
static size_t value_key(fog_api *api, h2o_req_t *req, const api_query *q,
                        uint8_t key[VALUE_KEY_MAX], char name[128])
{
    const size_t plen = sizeof FOG_IPNS_KEY_PREFIX - 1;
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "argument \"key\" is required (exactly one)");
        return 0;
    }
    if (strncmp(q->arg[0], FOG_IPNS_KEY_PREFIX, plen) != 0) {
        fog__api_reply_error(req, 400, "invalid key \"%s\": fog's DHT keys are /ipns/NAME",
                             q->arg[0]);
        return 0;
    }
    uint8_t id[FOG_PEER_ID_MAX];
    int n = fog__api_peer_arg(req, q->arg[0] + plen, id);
    if (n < 0 || !dht_on(api, req)) {
        return 0;
    }
    fog__api_peer_text(fog_slice_make(id, (size_t)n), name, 128);
    memcpy(key, FOG_IPNS_KEY_PREFIX, plen);
    memcpy(key + plen, id, (size_t)n);
    return plen + (size_t)n;
}

/* data in standard base64 with padding (Go's StdEncoding, kubo's Extra), as a JSON string. */
static json_t *b64_json(fog_slice data)
{
    size_t cap = (data.len + 2) / 3 * 4 + 1;
    char *out = malloc(cap);
    int n = out != NULL ? fog_base_encode(FOG_BASE64, data.p, data.len, out, cap) : -1;
    json_t *v = NULL;
    if (n >= 0) {
        size_t o = (size_t)n;
        while (o % 4 != 0) {
            out[o++] = '=';
        }
        v = json_stringn(out, o);
    }
    free(out);
    return v;
}

static void get_done(void *ud, int err, fog_slice value, size_t n_records)
{
    (void)n_records;
    rt_job *r = ud;
    if (!rt_back(r)) {
        return;
    }
    r->answered = true;
    json_t *extra = err < 0 ? NULL : b64_json(value);
    if (err == FOG_ERR_NOT_FOUND) {
        fog__api_reply_error(r->base.req, 500, "routing: not found");
    } else if (err < 0 || extra == NULL) {
        fog__api_reply_error(r->base.req, 500, "routing: %s",
                             fog_strerror(err < 0 ? err : FOG_ERR_NOMEM));
    } else {
        fog__api_reply_json(r->base.req, 200,
                            json_pack("{s:o,s:s,s:n,s:i}", "Extra", extra, "ID", "", "Responses",
                                      "Type", ROUTING_VALUE));
    }
}

void fog__api_routing_get(fog_api *api, h2o_req_t *req, const api_query *q)
{
    uint8_t key[VALUE_KEY_MAX];
    char name[128];
    size_t klen = value_key(api, req, q, key, name);
    if (klen == 0) {
        return;
    }
    rt_job *r = rt_new(api, req, rt_cancel);
    if (r == NULL) {
        return;
    }
    int rc = fog_dht_get_value(api->cfg.dht, key, klen, get_done, r);
    rt_started(r, req, rc);
}

static void put_done(void *ud, int err, size_t n_accepted)
{
    rt_job *r = ud;
    if (!rt_back(r)) {
        return;
    }
    r->answered = true;
    if (err < 0 && err != FOG_ERR_NOT_FOUND) {
        fog__api_reply_error(r->base.req, 500, "routing: %s", fog_strerror(err));
        return;
    }
    fog__api_reply_json(r->base.req, 200,
                        json_pack("{s:s,s:s,s:n,s:i,s:I}", "Extra", "", "ID", r->name,
                                  "Responses", "Type", ROUTING_VALUE, "Peers",
                                  (json_int_t)(err < 0 ? 0 : n_accepted)));
}

/* The record of a put: the first multipart part, else the whole body. False after answering. */
static bool put_body(h2o_req_t *req, fog_slice *out)
{
    fog_slice body = fog_slice_make(req->entity.base, req->entity.base != NULL ? req->entity.len
                                                                                : 0);
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    const h2o_iovec_t *ct = i >= 0 ? &req->headers.entries[i].value : NULL;
    if (ct != NULL && ct->len >= 19 && strncasecmp(ct->base, "multipart/form-data", 19) == 0) {
        fog_err_clear();
        int rc = fog__api_multipart_first(fog_slice_make(ct->base, ct->len), body, out);
        if (rc < 0) {
            fog__api_reply_error(req, 400, "%s", fog_err_detail(rc));
            return false;
        }
    } else {
        *out = body;
    }
    if (out->len == 0) {
        fog__api_reply_error(req, 400, "argument \"value-file\" is required");
        return false;
    }
    return true;
}

static fog_ipns_time wall_time(void)
{
    return fog_ipns_time_from_ns(fog_wall_ns());
}

void fog__api_routing_put(fog_api *api, h2o_req_t *req, const api_query *q)
{
    uint8_t key[VALUE_KEY_MAX];
    char name[128];
    size_t klen = value_key(api, req, q, key, name);
    fog_slice rec;
    if (klen == 0 || !put_body(req, &rec)) {
        return;
    }
    fog_err_clear();
    int rc = fog_ipns_dht_validate(key, klen, rec.p, rec.len, wall_time());
    if (rc < 0) {
        fog__api_reply_error(req, 400, "invalid record: %s", fog_err_detail(rc));
        return;
    }
    rt_job *r = rt_new(api, req, rt_cancel);
    if (r == NULL) {
        return;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    rc = fog_dht_put_value(api->cfg.dht, key, klen, rec.p, rec.len, put_done, r);
    if (rc == FOG_ERR_EXISTS) {
        rt_started(r, req, fog_errf(rc, "can't replace a newer value with an older value"));
        return;
    }
    rt_started(r, req, rc);
}
