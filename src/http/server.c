/* server.c: the HTTP side of the API: h2o 2.2 in libuv mode on the node's loop (one TCP
 * listener, each accepted uv_tcp_t wrapped with h2o_uv_socket_create and handed to h2o_accept),
 * one catch-all handler that checks method and Origin, parses the query string and routes to the
 * endpoints, plus the reply helpers and the bookkeeping of requests answered later (jobs).
 * Closing: stop listening, cancel jobs, then wait until every accepted connection closed (counted
 * through the close callback given to h2o_uv_socket_create), at most API_GRACE_MS, before the
 * h2o context is disposed.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#define API_GRACE_MS 1000
#define API_MAX_BODY (1u << 20)

typedef struct {
    h2o_handler_t super;
    fog_api *api;
} api_handler;

typedef struct {
    uv_tcp_t tcp;
    fog_api *api;
} api_conn;

/* --- Replies ------------------------------------------------------------------------------- */

static void reply_text(h2o_req_t *req, int status, const char *reason, const char *body)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_send_inline(req, body, strlen(body));
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    default:
        return "Internal Server Error";
    }
}

void fog__api_reply_json(h2o_req_t *req, int status, json_t *v)
{
    char *text = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (text == NULL) {
        reply_text(req, 500, reason_of(500),
                   "{\"Message\":\"out of memory\",\"Code\":0,\"Type\":\"error\"}\n");
        return;
    }
    h2o_iovec_t body = h2o_concat(&req->pool, h2o_iovec_init(text, strlen(text)),
                                  h2o_iovec_init(H2O_STRLIT("\n")));
    free(text);
    req->res.status = status;
    req->res.reason = reason_of(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_send_inline(req, body.base, body.len);
}

int fog__api_peer_arg(h2o_req_t *req, const char *arg, uint8_t id[FOG_PEER_ID_MAX])
{
    int len = fog_peer_id_parse(arg, id);
    if (len < 0) {
        fog__api_reply_error(req, 400, "%s", fog_err_detail(len));
    }
    return len;
}

int fog__api_cid_arg(h2o_req_t *req, const char *arg, fog_cid *out)
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

void fog__api_reply_error(h2o_req_t *req, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fog__api_reply_json(req, status,
                        json_pack("{s:s,s:i,s:s}", "Message", msg, "Code", 0, "Type", "error"));
}

/* --- Jobs ---------------------------------------------------------------------------------- */

static void job_req_gone(void *p)
{
    api_job *j = *(api_job **)p;
    j->req = NULL;
    fog__api_job_maybe_free(j);
}

void fog__api_job_attach(fog_api *api, api_job *j, h2o_req_t *req)
{
    j->api = api;
    j->req = req;
    j->prev = NULL;
    j->next = api->jobs;
    if (api->jobs != NULL) {
        api->jobs->prev = j;
    }
    api->jobs = j;
    api_job **slot = h2o_mem_alloc_shared(&req->pool, sizeof *slot, job_req_gone);
    *slot = j;
}

void fog__api_job_maybe_free(api_job *j)
{
    if (j->req != NULL || j->outstanding > 0) {
        return;
    }
    fog_api *api = j->api;
    if (j->prev != NULL) {
        j->prev->next = j->next;
    } else {
        api->jobs = j->next;
    }
    if (j->next != NULL) {
        j->next->prev = j->prev;
    }
    j->release(j);
}

/* --- Shared JSON pieces -------------------------------------------------------------------- */

void fog__api_peer_text(fog_slice id, char *out, size_t cap)
{
    if (fog_peer_id_format(id.p, id.len, out, cap) < 0) {
        snprintf(out, cap, "(invalid peer ID)");
    }
}

json_t *fog__api_addr_json(const fog_multiaddr *ma, fog_slice id)
{
    char text[FOG_MULTIADDR_STR_MAX];
    char peer[128];
    if (fog_multiaddr_format(ma, text, sizeof text) < 0) {
        return json_string("");
    }
    fog__api_peer_text(id, peer, sizeof peer);
    return json_sprintf("%s/p2p/%s", text, peer);
}

json_t *fog__api_b64_json(fog_slice data)
{
    char out[1024];
    int n = fog_base_encode(FOG_BASE64, data.p, data.len, out, sizeof out - 4);
    if (n < 0) {
        return json_string("");
    }
    size_t o = (size_t)n;
    while (o % 4 != 0) {
        out[o++] = '=';
    }
    out[o] = '\0';
    return json_string(out);
}

/* --- Query string -------------------------------------------------------------------------- */

/* Percent-decodes s[0..len) ('+' is a space) into a new NUL-terminated pool string; NULL when
 * an escape is broken or decodes to NUL. */
static char *pct_decode(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    char *out = h2o_mem_alloc_pool(pool, len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = len - i >= 3 ? fog_hex_digit((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 ? fog_hex_digit((unsigned char)s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

/* The key=value pair that starts at *pos in q's string, both decoded; advances *pos past it.
 * Returns false at the end, and sets *key NULL when the pair does not decode. */
static bool next_pair(const api_query *q, size_t *pos, const char **key, const char **val)
{
    const char *s = q->raw;
    size_t start = *pos, end = *pos, eq = *pos;
    if (start >= q->raw_len) {
        return false;
    }
    while (end < q->raw_len && s[end] != '&') {
        end++;
    }
    while (eq < end && s[eq] != '=') {
        eq++;
    }
    size_t vstart = eq < end ? eq + 1 : end;
    *key = pct_decode(q->pool, s + start, eq - start);
    *val = pct_decode(q->pool, s + vstart, end - vstart);
    if (*val == NULL) {
        *key = NULL;
    }
    *pos = end + 1;
    return true;
}

int fog__api_query_parse(h2o_mem_pool_t *pool, const char *s, size_t len, api_query *q)
{
    memset(q, 0, sizeof *q);
    q->raw = s;
    q->raw_len = len;
    q->pool = pool;
    size_t pos = 0;
    const char *key = NULL, *val = NULL;
    while (next_pair(q, &pos, &key, &val)) {
        if (key == NULL) {
            return fog_errf(FOG_ERR_INVALID, "malformed query string");
        }
        if (strcmp(key, "arg") == 0) {
            if (q->n_arg == API_ARGS_MAX) {
                return fog_errf(FOG_ERR_INVALID, "too many arguments (at most %d)", API_ARGS_MAX);
            }
            q->arg[q->n_arg++] = val;
        } else if (strcmp(key, "count") == 0 || strcmp(key, "n") == 0 ||
                   strcmp(key, "num-providers") == 0) {
            q->count = val;
        } else if (strcmp(key, "interval") == 0) {
            q->interval = val;
        }
    }
    return 0;
}

const char *fog__api_query_opt(const api_query *q, const char *key)
{
    size_t pos = 0;
    const char *k = NULL, *v = NULL;
    while (next_pair(q, &pos, &k, &v)) {
        if (k != NULL && strcmp(k, key) == 0) {
            return v;
        }
    }
    return NULL;
}

/* Fills q from the request's query string; 400 is answered and -1 returned on junk. */
static int parse_query(h2o_req_t *req, api_query *q)
{
    const char *s = "";
    size_t len = 0;
    if (req->query_at != SIZE_MAX) {
        s = req->path.base + req->query_at + 1;
        len = req->path.len - req->query_at - 1;
    }
    fog_err_clear();
    int rc = fog__api_query_parse(&req->pool, s, len, q);
    if (rc < 0) {
        fog__api_reply_error(req, 400, "%s", fog_err_detail(rc));
        return -1;
    }
    return 0;
}

/* --- Routing ------------------------------------------------------------------------------- */

static void shutdown_cb(uv_timer_t *t)
{
    fog_api *api = t->data;
    if (api->cfg.on_shutdown != NULL && !api->closing) {
        api->cfg.on_shutdown(api->cfg.ud);
    }
}

static void api_shutdown(fog_api *api, h2o_req_t *req, const api_query *q)
{
    (void)q;
    req->http1_is_persistent = 0;
    reply_text(req, 200, "OK", "");
    uv_timer_start(&api->timer, shutdown_cb, 0, 0);
}

typedef void (*endpoint_fn)(fog_api *api, h2o_req_t *req, const api_query *q);
static const struct {
    const char *path;
    endpoint_fn fn;
} routes[] = {
    {"/api/v0/version", fog__api_version},
    {"/api/v0/id", fog__api_id},
    {"/api/v0/swarm/peers", fog__api_swarm_peers},
    {"/api/v0/swarm/connect", fog__api_swarm_connect},
    {"/api/v0/ping", fog__api_ping},
    {"/api/v0/routing/findpeer", fog__api_routing_findpeer},
    {"/api/v0/routing/findprovs", fog__api_routing_findprovs},
    {"/api/v0/routing/provide", fog__api_routing_provide},
    {"/api/v0/routing/query", fog__api_routing_query},
    {"/api/v0/dht/query", fog__api_routing_query},
    {"/api/v0/routing/get", fog__api_routing_get},
    {"/api/v0/dht/get", fog__api_routing_get},
    {"/api/v0/routing/put", fog__api_routing_put},
    {"/api/v0/dht/put", fog__api_routing_put},
    {"/api/v0/cat", fog__api_cat},
    {"/api/v0/ls", fog__api_ls},
    {"/api/v0/refs", fog__api_refs},
    {"/api/v0/get", fog__api_get},
    {"/api/v0/stats/bw", fog__api_stats_bw},
    {"/api/v0/name/publish", fog__api_name_publish},
    {"/api/v0/name/resolve", fog__api_name_resolve},
    {"/api/v0/name/log", fog__api_name_log},
    {"/api/v0/diff", fog__api_diff},
    {"/api/v0/shutdown", api_shutdown},
};

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    fog_api *api = ((api_handler *)self)->api;
    if (h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1) != -1) {
        fog__api_reply_error(req, 403, "requests with an Origin header are refused");
        return 0;
    }
    size_t i = 0;
    const size_t n_routes = sizeof routes / sizeof routes[0];
    while (i < n_routes && !h2o_memis(req->path_normalized.base, req->path_normalized.len,
                                      routes[i].path, strlen(routes[i].path))) {
        i++;
    }
    if (i == n_routes) {
        fog__api_reply_error(req, 404, "404 page not found");
        return 0;
    }
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("POST"));
        fog__api_reply_error(req, 405, "method %.*s not allowed: use POST", (int)req->method.len,
                             req->method.base);
        return 0;
    }
    api_query q;
    if (api->closing) {
        fog__api_reply_error(req, 500, "the daemon is shutting down");
    } else if (parse_query(req, &q) == 0) {
        fog_logf(&api->cfg.log, FOG_LOG_DEBUG, "api", "%s", routes[i].path);
        routes[i].fn(api, req, &q);
    }
    return 0;
}

/* --- Listener ------------------------------------------------------------------------------ */

static void conn_closed(uv_handle_t *h)
{
    api_conn *c = (api_conn *)h;
    c->api->n_conns--;
    free(c);
}

static void on_accept(uv_stream_t *listener, int status)
{
    fog_api *api = listener->data;
    if (status != 0 || api->closing) {
        return;
    }
    api_conn *c = malloc(sizeof *c);
    if (c == NULL) {
        return;
    }
    c->api = api;
    uv_tcp_init(api->loop, &c->tcp);
    api->n_conns++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, conn_closed);
    h2o_accept(&api->actx, sock);
}

int fog_api_new(fog_api **out, uv_loop_t *loop, fog_node *node, const fog_api_config *cfg)
{
    int fam = 0;
    uint8_t ip[16];
    uint16_t port = 0;
    if (fog_multiaddr_ip(&cfg->listen, &fam, ip) < 0 ||
        fog_multiaddr_port(&cfg->listen, FOG_MA_TCP, &port) < 0) {
        return fog_errf(FOG_ERR_INVALID, "API address %s is not /ip4|/ip6 + /tcp",
                        fog_multiaddr_str(&cfg->listen));
    }
    fog_api *api = calloc(1, sizeof *api);
    if (api == NULL) {
        return FOG_ERR_NOMEM;
    }
    api->loop = loop;
    api->node = node;
    api->cfg = *cfg;
    h2o_config_init(&api->gconf);
    api->gconf.max_request_entity_size = API_MAX_BODY;
    h2o_hostconf_t *host = h2o_config_register_host(
        &api->gconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    api_handler *h = (api_handler *)h2o_create_handler(path, sizeof *h);
    h->super.on_req = on_req;
    h->api = api;
    uv_timer_init(loop, &api->timer);
    api->timer.data = api;
    api->timer_open = true;
    *out = api;
    return 0;
}

static int bind_listener(fog_api *api)
{
    int fam = 0;
    uint8_t ip[16];
    uint16_t port = 0;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (fog_multiaddr_ip(&api->cfg.listen, &fam, ip) < 0 ||
        fog_multiaddr_port(&api->cfg.listen, FOG_MA_TCP, &port) < 0) {
        return FOG_ERR_INVALID;
    }
    if (fam == 4) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        memcpy(&a->sin_addr, ip, 4);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        memcpy(&a->sin6_addr, ip, 16);
    }
    uv_tcp_init(api->loop, &api->listener);
    api->listener.data = api;
    api->listener_open = true;
    int e = uv_tcp_bind(&api->listener, (const struct sockaddr *)&ss, 0);
    if (e == 0) {
        e = uv_listen((uv_stream_t *)&api->listener, 128, on_accept);
    }
    if (e != 0) {
        return fog_errf(FOG_ERR_IO, "cannot listen on API address %s: %s",
                        fog_multiaddr_str(&api->cfg.listen), uv_strerror(e));
    }
    int len = sizeof ss;
    if ((e = uv_tcp_getsockname(&api->listener, (struct sockaddr *)&ss, &len)) != 0) {
        return fog_errf(FOG_ERR_IO, "API listener: %s", uv_strerror(e));
    }
    port = fam == 4 ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                    : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return fog_multiaddr_ip_tcp(&api->addr, fam, ip, port);
}

static void listener_closed(uv_handle_t *h)
{
    (void)h;
}

int fog_api_start(fog_api *api)
{
    int rc = bind_listener(api);
    if (rc < 0) {
        if (api->listener_open) {
            uv_close((uv_handle_t *)&api->listener, listener_closed);
            api->listener_open = false;
        }
        return rc;
    }
    h2o_context_init(&api->ctx, api->loop, &api->gconf);
    api->ctx_ready = true;
    api->actx.ctx = &api->ctx;
    api->actx.hosts = api->gconf.hosts;
    fog_logf(&api->cfg.log, FOG_LOG_INFO, "api", "listening on %s", fog_multiaddr_str(&api->addr));
    fog__api_republisher_start(api);
    return 0;
}

const fog_multiaddr *fog_api_addr(const fog_api *api)
{
    return &api->addr;
}

/* --- Close --------------------------------------------------------------------------------- */

static void timer_closed(uv_handle_t *h)
{
    fog_api *api = h->data;
    if (api->ctx_ready) {
        h2o_context_dispose(&api->ctx);
        api->ctx_ready = false;
    }
    if (api->done != NULL) {
        api->done(api->done_ud);
    }
}

static void grace_tick(uv_timer_t *t)
{
    fog_api *api = t->data;
    if (api->n_conns > 0 && uv_now(api->loop) < api->grace_deadline) {
        return;
    }
    if (api->n_conns > 0) {
        fog_logf(&api->cfg.log, FOG_LOG_WARN, "api", "%zu HTTP connections still open at close",
                 api->n_conns);
    }
    uv_timer_stop(t);
    api->timer_open = false;
    uv_close((uv_handle_t *)t, timer_closed);
}

void fog_api_close(fog_api *api, void (*done)(void *ud), void *ud)
{
    if (api->closing) {
        return;
    }
    api->closing = true;
    api->done = done;
    api->done_ud = ud;
    if (api->listener_open) {
        uv_close((uv_handle_t *)&api->listener, listener_closed);
        api->listener_open = false;
    }
    for (api_job *j = api->jobs, *next = NULL; j != NULL; j = next) {
        next = j->next;
        j->cancel(j);
    }
    /* No h2o_context_request_shutdown: in h2o 2.2 it arms the HTTP/2 graceful-shutdown timer,
     * which h2o_context_dispose then finds still linked (an assertion). HTTP/1 connections end
     * when their clients close them (the CLI does after each call), else after the grace. */
    /* Poll every 20 ms for the connections to be gone; the last tick comes after the grace. */
    uv_timer_stop(&api->timer);
    api->grace_deadline = uv_now(api->loop) + API_GRACE_MS;
    uv_timer_start(&api->timer, grace_tick, 0, 20);
}

void fog_api_free(fog_api *api)
{
    if (api == NULL) {
        return;
    }
    h2o_config_dispose(&api->gconf);
    free(api);
}
