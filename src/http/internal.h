/* internal.h: what the files of src/http share: the server struct, the parsed query string, the
 * reply helpers and the pending-request bookkeeping. Internal to src/http.
 */
#ifndef FOG_HTTP_INTERNAL_H
#define FOG_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <h2o.h>
#include <jansson.h>

#include "fog/api.h"
#include "fog/dag.h"

#define API_ARGS_MAX 16 /* arg= values in one request */

typedef struct api_job api_job;

struct fog_api {
    uv_loop_t *loop;
    fog_node *node;
    fog_api_config cfg;
    h2o_globalconf_t gconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t actx;
    bool ctx_ready;
    uv_tcp_t listener;
    bool listener_open;
    fog_multiaddr addr;
    size_t n_conns;      /* accepted HTTP connections not yet closed */
    bool closing;
    uv_timer_t timer;    /* deferred shutdown call, then the close grace period */
    bool timer_open;
    uint64_t grace_deadline; /* loop time when close stops waiting for connections */
    void (*done)(void *ud);
    void *done_ud;
    api_job *jobs;       /* requests waiting for the node (dials, pings) */
    /* content.c: fog_api_content_close in progress or done (new content requests refused) */
    bool content_closing;
    void (*content_done)(void *ud);
    void *content_done_ud;
};

/* The query string: every arg= value and the few named options, percent-decoded, in the
 * request's memory pool. */
typedef struct {
    const char *arg[API_ARGS_MAX];
    size_t n_arg;
    const char *count;
    const char *interval;
} api_query;

/* A request answered later: it lives until the node's callbacks for it are all back and the
 * request is gone (answered, or its connection closed). */
struct api_job {
    fog_api *api;
    h2o_req_t *req;      /* NULL once h2o disposed the request */
    api_job *next, *prev;
    int outstanding;     /* node callbacks still to come */
    void (*cancel)(api_job *j); /* the server closes: finish now */
    void (*release)(api_job *j); /* frees the job (after it left the list) */
};

/* Replies (all end the request): a JSON value (stolen), an error object with its status. */
void fog__api_reply_json(h2o_req_t *req, int status, json_t *v);
void fog__api_reply_error(h2o_req_t *req, int status, const char *fmt, ...) FOG_PRINTF(3, 4);
/* Parses a peer ID argument into id; on failure replies 400 with the parser's detail and returns
 * a negative code. Returns the binary length otherwise. */
int fog__api_peer_arg(h2o_req_t *req, const char *arg, uint8_t id[FOG_PEER_ID_MAX]);
/* Links j into the server and to req's lifetime (j->req turns NULL when h2o disposes req). */
void fog__api_job_attach(fog_api *api, api_job *j, h2o_req_t *req);
/* Frees j when it has no callbacks to come and no request left. */
void fog__api_job_maybe_free(api_job *j);

/* Peer ID text of a binary ID into out (at least 128 bytes). */
void fog__api_peer_text(fog_slice id, char *out, size_t cap);
/* "/ip4/../tcp/../p2p/ID" of ma followed by our or the peer's ID. */
json_t *fog__api_addr_json(const fog_multiaddr *ma, fog_slice id);
/* Standard base64 with padding (Go's StdEncoding, as kubo writes keys). */
json_t *fog__api_b64_json(fog_slice data);

/* Endpoints (endpoints.c, async.c). */
void fog__api_version(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_id(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_swarm_peers(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_swarm_connect(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_ping(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_routing_findpeer(fog_api *api, h2o_req_t *req, const api_query *q); /* routing.c */
void fog__api_routing_findprovs(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_routing_provide(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_routing_query(fog_api *api, h2o_req_t *req, const api_query *q);
/* content.c */
void fog__api_cat(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_ls(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_refs(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_stats_bw(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_get(fog_api *api, h2o_req_t *req, const api_query *q);
/* tar.c: writes the DAG at c as a ustar archive whose top entry is name. */
int fog__api_tar(const fog_blocksource *src, const fog_cid *c, const char *name,
                 fog_write_fn w, void *ctx);

#endif
