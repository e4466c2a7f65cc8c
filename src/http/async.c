/* async.c: the API endpoints that wait for the network: swarm/connect (one dial per arg, all in
 * parallel, answered when every dial is back) and ping (kubo core/commands/ping.go: a "PING
 * <peer>." line, one line per ping with its round trip in nanoseconds, then "Average latency";
 * lines are newline-delimited JSON streamed in a chunked response as each ping answers, one
 * ping every interval, 1 s by default as kubo does).
 * A request whose client went away keeps its job until the node's callbacks are back (the node
 * cannot take a callback back); the job then frees itself (server.c, fog__api_job_maybe_free).
 * h2o may dispose a request inside the call that sends its last bytes, which frees the job: so
 * a reply or a final send is always the last thing a function does with its job.
 */
#include "internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PING_COUNT_DEFAULT 10
#define PING_COUNT_MAX 1000
#define PING_INTERVAL_DEFAULT_MS 1000
#define PING_INTERVAL_MAX_MS 60000

/* --- swarm/connect ------------------------------------------------------------------------- */

typedef struct connect_job connect_job;
typedef struct {
    connect_job *job;
    int err;
    char text[FOG_MULTIADDR_STR_MAX + 512]; /* "connect ID success" or the failure line */
    char who[FOG_MULTIADDR_STR_MAX]; /* the peer ID, else the address, for the failure line */
} connect_dial;

struct connect_job {
    api_job base;
    bool answered;
    size_t n;
    connect_dial d[API_ARGS_MAX];
};

static void connect_release(api_job *j)
{
    free(j);
}

static void connect_answer(connect_job *c)
{
    h2o_req_t *req = c->base.req;
    if (req == NULL || c->answered) {
        fog__api_job_maybe_free(&c->base);
        return;
    }
    c->answered = true;
    for (size_t i = 0; i < c->n; i++) {
        if (c->d[i].err < 0) {
            fog__api_reply_error(req, 500, "%s", c->d[i].text);
            return;
        }
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < c->n; i++) {
        json_array_append_new(arr, json_string(c->d[i].text));
    }
    fog__api_reply_json(req, 200, json_pack("{s:o}", "Strings", arr));
}

static void dial_done(void *ud, int err, const char *detail, fog_slice peer_id)
{
    connect_dial *d = ud;
    connect_job *c = d->job;
    d->err = err;
    if (err == 0) {
        char peer[128];
        fog__api_peer_text(peer_id, peer, sizeof peer);
        snprintf(d->text, sizeof d->text, "connect %s success", peer);
    } else {
        snprintf(d->text, sizeof d->text, "connect %s failure: %s", d->who,
                 detail != NULL ? detail : fog_strerror(err));
    }
    c->base.outstanding--;
    if (c->base.outstanding == 0) {
        connect_answer(c);
    }
}

static void connect_cancel(api_job *j)
{
    connect_job *c = (connect_job *)j;
    if (c->base.outstanding > 0 && c->base.req != NULL && !c->answered) {
        c->answered = true;
        fog__api_reply_error(c->base.req, 500, "the daemon is shutting down");
    }
}

/* The name a failure line uses: the /p2p peer ID, else the whole address. */
static void dial_who(const fog_multiaddr *ma, const char *arg, char *out, size_t cap)
{
    fog_slice id;
    if (fog_multiaddr_peer_id(ma, &id) == 0) {
        fog__api_peer_text(id, out, cap);
    } else {
        snprintf(out, cap, "%s", arg);
    }
}

void fog__api_swarm_connect(fog_api *api, h2o_req_t *req, const api_query *q)
{
    if (q->n_arg == 0) {
        fog__api_reply_error(req, 400, "argument \"address\" is required");
        return;
    }
    fog_multiaddr ma[API_ARGS_MAX];
    for (size_t i = 0; i < q->n_arg; i++) {
        int rc = fog_multiaddr_parse(&ma[i], q->arg[i]);
        if (rc < 0) {
            fog__api_reply_error(req, 400, "%s", fog_err_detail(rc));
            return;
        }
    }
    connect_job *c = calloc(1, sizeof *c);
    if (c == NULL) {
        fog__api_reply_error(req, 500, "out of memory");
        return;
    }
    c->base.cancel = connect_cancel;
    c->base.release = connect_release;
    c->n = q->n_arg;
    fog__api_job_attach(api, &c->base, req);
    c->base.outstanding = 1; /* held while the dials start, so none answers early */
    for (size_t i = 0; i < q->n_arg; i++) {
        connect_dial *d = &c->d[i];
        d->job = c;
        dial_who(&ma[i], q->arg[i], d->who, sizeof d->who);
        c->base.outstanding++;
        fog_err_clear();
        fog_slice id;
        int rc = fog_multiaddr_peer_id(&ma[i], &id) == 0 &&
                         fog_slice_eq(id, fog_node_peer_id(api->node))
                     ? fog_errf(FOG_ERR_INVALID, "dial to self attempted")
                     : fog_node_dial(api->node, &ma[i], dial_done, d);
        if (rc < 0) {
            dial_done(d, rc, fog_err_detail(rc), fog_slice_make(NULL, 0));
        }
    }
    c->base.outstanding--;
    if (c->base.outstanding == 0) {
        connect_answer(c);
    }
}

/* --- ping ---------------------------------------------------------------------------------- */

typedef struct {
    api_job base;
    api_stream st;
    uv_timer_t timer;
    uint8_t peer[FOG_PEER_ID_MAX];
    size_t peer_len;
    char peer_text[128];
    uint64_t count, interval_ms, done, n_ok;
    uint64_t total_us;
    bool answered;     /* an error reply ended the request before the stream began */
} ping_job;

static void ping_timer_closed(uv_handle_t *h)
{
    ping_job *p = h->data;
    fog__api_stream_clear(&p->st);
    free(p);
}

static void ping_release(api_job *j)
{
    ping_job *p = (ping_job *)j;
    uv_close((uv_handle_t *)&p->timer, ping_timer_closed);
}

static void ping_line(ping_job *p, bool ok, uint64_t time_ns, const char *text)
{
    fog__api_stream_line(&p->st, json_pack("{s:b,s:I,s:s}", "Success", ok, "Time",
                                           (json_int_t)time_ns, "Text", text));
}

static void ping_finish_lines(ping_job *p)
{
    char text[128];
    if (p->n_ok > 0) {
        snprintf(text, sizeof text, "Average latency: %.2fms",
                 (double)p->total_us / 1000.0 / (double)p->n_ok);
        ping_line(p, true, 0, text);
    } else {
        ping_line(p, false, 0, "Ping failed: no answer");
    }
    p->st.final_queued = true;
}

static void ping_next(uv_timer_t *t);

static void ping_done(void *ud, int err, uint64_t rtt_us)
{
    ping_job *p = ud;
    p->base.outstanding--;
    if (p->base.req == NULL) {
        fog__api_job_maybe_free(&p->base);
        return;
    }
    p->done++;
    if (err == 0) {
        p->n_ok++;
        p->total_us += rtt_us;
        ping_line(p, true, rtt_us * 1000, "");
    } else {
        char text[300];
        snprintf(text, sizeof text, "Ping error: %s", fog_strerror(err));
        ping_line(p, false, 0, text);
    }
    if (p->done >= p->count || p->base.api->closing) {
        ping_finish_lines(p);
    } else {
        uv_timer_start(&p->timer, ping_next, p->interval_ms, 0);
    }
    fog__api_stream_flush(&p->st);
}

static void ping_next(uv_timer_t *t)
{
    ping_job *p = t->data;
    if (p->base.req == NULL || p->base.api->closing) {
        return;
    }
    p->base.outstanding++;
    int rc = fog_node_ping(p->base.api->node, p->peer, p->peer_len, ping_done, p);
    if (rc < 0) {
        ping_done(p, rc, 0);
    }
}

/* The peer is connected: start the stream and the first ping. */
static void ping_begin(ping_job *p)
{
    fog__api_stream_start(&p->st, &p->base, NULL);
    char text[200];
    snprintf(text, sizeof text, "PING %s.", p->peer_text);
    ping_line(p, false, 0, text);
    uv_timer_start(&p->timer, ping_next, 0, 0); /* never a callback inside this call */
    fog__api_stream_flush(&p->st);
}

static void ping_dialled(void *ud, int err, const char *detail, fog_slice peer_id)
{
    (void)peer_id;
    ping_job *p = ud;
    p->base.outstanding--;
    if (p->base.req == NULL || p->answered) {
        fog__api_job_maybe_free(&p->base);
        return;
    }
    if (err < 0) {
        p->answered = true;
        fog__api_reply_error(p->base.req, 500, "ping: cannot connect to %s: %s", p->peer_text,
                             detail != NULL ? detail : fog_strerror(err));
        return;
    }
    ping_begin(p);
}

static void ping_cancel(api_job *j)
{
    ping_job *p = (ping_job *)j;
    uv_timer_stop(&p->timer);
    if (p->base.req == NULL || p->answered || p->st.final_queued) {
        return;
    }
    if (!p->st.started) {
        p->answered = true;
        fog__api_reply_error(p->base.req, 500, "the daemon is shutting down");
        return;
    }
    if (p->base.outstanding == 0) {
        ping_line(p, false, 0, "Ping error: the daemon is shutting down");
        p->st.final_queued = true;
        fog__api_stream_flush(&p->st);
    }
}

/* Parses count and interval; answers 400 and returns -1 on junk. */
static int ping_options(h2o_req_t *req, const api_query *q, uint64_t *count, uint64_t *ivl)
{
    *count = PING_COUNT_DEFAULT;
    *ivl = PING_INTERVAL_DEFAULT_MS;
    char *end = NULL;
    if (q->count != NULL) {
        unsigned long long v = strtoull(q->count, &end, 10);
        if (q->count[0] < '0' || q->count[0] > '9' || *end != '\0' || v == 0 ||
            v > PING_COUNT_MAX) {
            fog__api_reply_error(req, 400, "count must be 1..%d", PING_COUNT_MAX);
            return -1;
        }
        *count = v;
    }
    if (q->interval != NULL) {
        unsigned long long v = strtoull(q->interval, &end, 10);
        if (q->interval[0] < '0' || q->interval[0] > '9' || *end != '\0' ||
            v > PING_INTERVAL_MAX_MS) {
            fog__api_reply_error(req, 400, "interval must be 0..%d ms", PING_INTERVAL_MAX_MS);
            return -1;
        }
        *ivl = v;
    }
    return 0;
}

/* arg -> peer ID (and the address to dial when it is a multiaddr); answers 400 on junk. */
static int ping_target(h2o_req_t *req, const char *arg, ping_job *p, fog_multiaddr *ma,
                       bool *is_addr)
{
    *is_addr = arg[0] == '/';
    if (*is_addr) {
        fog_slice id;
        int rc = fog_multiaddr_parse(ma, arg);
        if (rc < 0) {
            fog__api_reply_error(req, 400, "%s", fog_err_detail(rc));
            return -1;
        }
        if (fog_multiaddr_peer_id(ma, &id) < 0 || id.len > sizeof p->peer) {
            fog__api_reply_error(req, 400, "address %s has no /p2p/PEER part", arg);
            return -1;
        }
        memcpy(p->peer, id.p, id.len);
        p->peer_len = id.len;
    } else {
        int n = fog__api_peer_arg(req, arg, p->peer);
        if (n < 0) {
            return -1;
        }
        p->peer_len = (size_t)n;
    }
    fog__api_peer_text(fog_slice_make(p->peer, p->peer_len), p->peer_text, sizeof p->peer_text);
    return 0;
}

void fog__api_ping(fog_api *api, h2o_req_t *req, const api_query *q)
{
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "ping takes one peer ID or multiaddr");
        return;
    }
    ping_job tmp;
    memset(&tmp, 0, sizeof tmp);
    fog_multiaddr ma;
    bool is_addr = false;
    if (ping_options(req, q, &tmp.count, &tmp.interval_ms) < 0 ||
        ping_target(req, q->arg[0], &tmp, &ma, &is_addr) < 0) {
        return;
    }
    fog_peer_info info;
    bool connected = fog_node_peer(api->node, tmp.peer, tmp.peer_len, &info);
    if (!connected && !is_addr) {
        fog__api_reply_error(req, 500, "peer %s is not connected", tmp.peer_text);
        return;
    }
    ping_job *p = malloc(sizeof *p);
    if (p == NULL) {
        fog__api_reply_error(req, 500, "out of memory");
        return;
    }
    *p = tmp;
    p->base.cancel = ping_cancel;
    p->base.release = ping_release;
    uv_timer_init(api->loop, &p->timer);
    p->timer.data = p;
    fog__api_job_attach(api, &p->base, req);
    if (connected) {
        ping_begin(p);
        return;
    }
    p->base.outstanding++;
    fog_err_clear();
    int rc = fog_node_dial(api->node, &ma, ping_dialled, p);
    if (rc < 0) {
        ping_dialled(p, rc, fog_err_detail(rc), fog_slice_make(NULL, 0));
    }
}
