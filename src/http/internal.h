/* internal.h: what the files of src/http share: the server struct, the parsed query string, the
 * reply helpers, the pending-request bookkeeping (server.c) and the responses streamed from the
 * loop (stream.c). Internal to src/http (and fuzz/fuzz_api_query.c, which drives the query
 * parser).
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
    uv_timer_t republish; /* names.c: the republisher's timer */
    bool republish_open;
};

/* The query string: every arg= value and the few named options, percent-decoded, in the
 * request's memory pool; other options are looked up with fog__api_query_opt. */
typedef struct {
    const char *arg[API_ARGS_MAX];
    size_t n_arg;
    const char *count;
    const char *interval;
    const char *raw;       /* the query string after '?' (not NUL-terminated) */
    size_t raw_len;
    h2o_mem_pool_t *pool;  /* where decoded strings go */
} api_query;

/* Parses the query string s[0..len) ("k=v&k=v", '+' and %XX decoded) into q, its strings in
 * pool. Returns 0, or FOG_ERR_INVALID with a detail (a broken escape, one decoding to NUL, more
 * than API_ARGS_MAX arg= values). */
int fog__api_query_parse(h2o_mem_pool_t *pool, const char *s, size_t len, api_query *q);
/* The decoded value of the first key= option of a parsed query (pool string), or NULL. */
const char *fog__api_query_opt(const api_query *q, const char *key);

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

/* A 200 response streamed in pieces, for endpoints whose lines come from the loop (stream.c):
 * lines queue in pending while h2o sends inflight, and the two swap when h2o asks for more. */
typedef struct {
    h2o_generator_t gen;
    api_job *job;
    void (*stop)(api_job *j); /* h2o stopped the response (client gone); may be NULL */
    fog_buf pending;   /* lines not handed to h2o yet */
    fog_buf inflight;  /* lines h2o is sending */
    bool started;      /* the 200 head was sent */
    bool sending;      /* an h2o_send waits for proceed */
    bool final_queued; /* the stream ends with what pending holds (maybe nothing) */
    bool final_sent;   /* the last h2o_send is made */
} api_stream;

/* The head of a 200 response: its Content-Type and kubo's output flag header set to "1"
 * ("x-chunked-output" for JSON lines, "x-stream-output" for raw bytes). */
void fog__api_head_200(h2o_req_t *req, const char *content_type, const char *flag_header);
/* Starts j's stream of JSON lines (application/json, x-chunked-output). */
void fog__api_stream_start(api_stream *s, api_job *j, void (*stop)(api_job *j));
/* Appends one line: v (stolen) as compact JSON; a line that cannot be made is dropped whole. */
void fog__api_stream_line(api_stream *s, json_t *v);
/* Hands pending lines to h2o (and the end, once final_queued) when it is ready for more. h2o may
 * dispose the request, and so free the job, inside: must be the caller's last use of the job. */
void fog__api_stream_flush(api_stream *s);
/* Frees the buffers (the job's release). */
void fog__api_stream_clear(api_stream *s);

/* Replies (all end the request): a JSON value (stolen), an error object with its status. */
void fog__api_reply_json(h2o_req_t *req, int status, json_t *v);
void fog__api_reply_error(h2o_req_t *req, int status, const char *fmt, ...) FOG_PRINTF(3, 4);
/* Parses a peer ID argument into id; on failure replies 400 with the parser's detail and returns
 * a negative code. Returns the binary length otherwise. */
int fog__api_peer_arg(h2o_req_t *req, const char *arg, uint8_t id[FOG_PEER_ID_MAX]);
/* Parses a CID argument ("CID" or "/ipfs/CID") into out; replies 400 on junk (negative code). */
int fog__api_cid_arg(h2o_req_t *req, const char *arg, fog_cid *out);
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
void fog__api_routing_get(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_routing_put(fog_api *api, h2o_req_t *req, const api_query *q);
/* multipart.c: the content of the first part of a multipart/form-data body whose Content-Type
 * is ctype (borrowed from body). 0, or FOG_ERR_PROTO with a detail (no boundary, no part, a
 * part that does not end). */
int fog__api_multipart_first(fog_slice ctype, fog_slice body, fog_slice *out);
/* content.c */
void fog__api_cat(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_ls(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_refs(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_stats_bw(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_get(fog_api *api, h2o_req_t *req, const api_query *q);
/* Work on a worker thread over the content endpoints' block source (content.c: local blocks,
 * missing ones fetched through bitswap within timeout_ms each): run(ud, src, &result) on the
 * worker (result: a JSON value it may make), then after(ud, w, err, detail, result) once on the
 * loop (result stolen; detail "" when err is 0). after answers fog__api_work_req(w) if that is
 * not NULL (the client may be gone), or holds the job (fog__api_work_hold) across further loop
 * callbacks and unholds it when they are back. ud is freed by ud_free (may be NULL) with the
 * job. Failures before the worker starts are answered here (-1; ud freed). */
typedef struct content_job api_work;
typedef int (*api_work_run)(void *ud, const fog_blocksource *src, json_t **result);
typedef void (*api_work_after)(void *ud, api_work *w, int err, const char *detail,
                               json_t *result);
int fog__api_work_start(fog_api *api, h2o_req_t *req, fog_ms timeout_ms, api_work_run run,
                        api_work_after after, void *ud, void (*ud_free)(void *ud));
h2o_req_t *fog__api_work_req(api_work *w);
void fog__api_work_hold(api_work *w);
void fog__api_work_unhold(api_work *w);
/* The timeout= option (else the daemon's fetch timeout); 400 answered and -1 on junk. */
int fog__api_timeout_option(fog_api *api, h2o_req_t *req, const api_query *q, fog_ms *out);

/* names.c */
void fog__api_name_publish(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_name_resolve(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_name_log(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_diff(fog_api *api, h2o_req_t *req, const api_query *q);
void fog__api_republisher_start(fog_api *api);
void fog__api_republisher_stop(fog_api *api);

/* tar.c: writes the DAG at c as a ustar archive whose top entry is name. */
int fog__api_tar(const fog_blocksource *src, const fog_cid *c, const char *name,
                 fog_write_fn w, void *ctx);

#endif
