/* apiclient.c: reaching a running daemon through its HTTP API with libh2o's HTTP/1.1 client
 * (h2o 2.2, the library the daemon's server already uses, so the CLI needs no other HTTP stack).
 * The daemon writes its API multiaddr to $REPO/api (as kubo does); a missing file or a refused
 * connection means no daemon runs. Answers with a status other than 200 carry kubo's error
 * object {"Message", "Code", "Type"}; its Message is what the user sees. Streamed answers
 * (ping) are newline-delimited JSON handed over line by line as they arrive.
 *
 * Each call runs a private libuv loop until the answer ends. The address is connected through a
 * one-use h2o socket pool built from the sockaddr (h2o_socketpool_init_by_address): unlike
 * h2o_http1client_connect, whose fast path without name resolution covers only IPv4 literals,
 * it connects IPv4 and IPv6 alike and never needs h2o's resolver threads (getaddr_receiver stays
 * NULL). The request says "Connection: close"; h2o's client decodes chunked and content-length
 * bodies, leaving the decoded bytes in the socket's input buffer, which on_body drains. Limits:
 * 5 s to connect, API_IO_TIMEOUT_MS of silence while the request or answer is under way (longer
 * than the daemon's longest gap: a ping every 60 s at most plus its dial and ping timeouts).
 */
#include "apiclient.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <h2o.h>
#include <h2o/http1client.h>
#include <uv.h>

#include "cli.h"
#include "fog/crypto.h"
#include "fog/multiaddr.h"

#define API_FILE_MAX 1024
#define API_ANSWER_MAX (16u << 20) /* a JSON answer is small; refuse a runaway one */
#define API_CONNECT_TIMEOUT_MS 5000
#define API_IO_TIMEOUT_MS 120000

static char *err_buf; /* cli_api_capture_errors: errors go here rather than to stderr */
static size_t err_cap;

void cli_api_capture_errors(char *buf, size_t cap)
{
    err_buf = cap > 0 ? buf : NULL;
    err_cap = cap;
    if (err_buf != NULL) {
        err_buf[0] = '\0';
    }
}

/* cli_failf, or the message into err_buf while errors are captured. */
static int api_fail(const char *fmt, ...) FOG_PRINTF(1, 2);
static int api_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err_buf != NULL) {
        vsnprintf(err_buf, err_cap, fmt, ap);
    } else {
        fprintf(stderr, "error: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
    }
    va_end(ap);
    return CLI_FAIL;
}

int cli_api_no_daemon(void)
{
    return cli_failf("no daemon is running (start one with 'fog daemon')");
}

/* Where the daemon listens: its socket address and the Host header value. */
typedef struct {
    struct sockaddr_storage sa;
    socklen_t salen;
    char host[64]; /* "127.0.0.1:5001" or "[::1]:5001" */
} api_addr;

/* $REPO/api's text (trailing newline and spaces cut); false when there is no such file. */
static bool read_api_file(const char *repo, char *path, size_t path_cap, char *text, size_t cap)
{
    if (repo == NULL || snprintf(path, path_cap, "%s/api", repo) >= (int)path_cap) {
        return false;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    size_t n = fread(text, 1, cap - 1, f);
    fclose(f);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ')) {
        n--;
    }
    text[n] = '\0';
    return true;
}

/* $REPO/api -> the daemon's address; CLI_API_NO_DAEMON when there is no file. */
static int api_address(const char *repo, api_addr *out)
{
    char path[4096];
    char text[API_FILE_MAX];
    if (!read_api_file(repo, path, sizeof path, text, sizeof text)) {
        return CLI_API_NO_DAEMON;
    }
    fog_multiaddr ma;
    int fam = 0;
    uint8_t ip[16];
    uint16_t port = 0;
    char ip_text[INET6_ADDRSTRLEN];
    if (fog_multiaddr_parse(&ma, text) < 0 || fog_multiaddr_ip(&ma, &fam, ip) < 0 ||
        fog_multiaddr_port(&ma, FOG_MA_TCP, &port) < 0 ||
        inet_ntop(fam == 4 ? AF_INET : AF_INET6, ip, ip_text, sizeof ip_text) == NULL) {
        return api_fail("%s does not hold a TCP multiaddr: \"%s\"", path, text);
    }
    memset(&out->sa, 0, sizeof out->sa);
    if (fam == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&out->sa;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, ip, 4);
        out->salen = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->sa;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        memcpy(&sin6->sin6_addr, ip, 16);
        out->salen = sizeof *sin6;
    }
    snprintf(out->host, sizeof out->host, fam == 4 ? "%s:%u" : "[%s]:%u", ip_text,
             (unsigned)port);
    return CLI_OK;
}

/* One call's state, shared by the h2o callbacks through client->data. */
typedef struct {
    h2o_iovec_t request;       /* the request text; h2o writes it from here */
    h2o_http1client_t *client; /* valid while !done */
    uv_timer_t connect_timer;
    fog_buf body;              /* answer bytes not handed out yet */
    cli_api_line_fn line_fn;
    cli_api_bytes_fn bytes_fn; /* raw 200 bodies (cli_api_stream) */
    int bytes_err;             /* bytes_fn's stop code */
    void *ud;
    int status;                /* HTTP status; 0 before the head */
    const char *err;           /* the transport error, NULL if none */
    bool connected, done, no_daemon, timed_out, stopped, too_big;
    fog_slice upload;          /* cli_api_call_file's file (p NULL: no request body) */
} call_ctx;

/* Hands each complete line of a streamed 200 answer to line_fn, then drops those bytes. */
static void emit_lines(call_ctx *c)
{
    size_t start = 0;
    while (!c->stopped && start < c->body.len) {
        uint8_t *line = c->body.p + start;
        uint8_t *nl = memchr(line, '\n', c->body.len - start);
        if (nl == NULL) {
            break;
        }
        *nl = '\0';
        json_t *v = json_loads((const char *)line, 0, NULL);
        start += (size_t)(nl - line) + 1;
        if (!c->line_fn(c->ud, v)) {
            c->stopped = true;
        }
        json_decref(v);
    }
    memmove(c->body.p, c->body.p + start, c->body.len - start);
    c->body.len -= start;
}

/* Decoded body bytes wait in the socket's input buffer: take them all. */
static int on_body(h2o_http1client_t *client, const char *errstr)
{
    call_ctx *c = client->data;
    h2o_buffer_t *in = client->sock->input;
    if (c->bytes_fn != NULL && c->status == 200 && !c->stopped && in->size > 0) {
        c->bytes_err = c->bytes_fn(c->ud, (const uint8_t *)in->bytes, in->size);
        c->stopped = c->bytes_err < 0;
    } else if (!c->stopped && !c->too_big && in->size > 0) {
        if (in->size > API_ANSWER_MAX - c->body.len) {
            c->too_big = true;
        } else if (fog_buf_append(&c->body, in->bytes, in->size) < 0) {
            c->err = "out of memory";
        } else if (c->line_fn != NULL && c->status == 200) {
            emit_lines(c);
        }
    }
    h2o_buffer_consume(&client->sock->input, in->size);
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos && c->err == NULL) {
        c->err = errstr;
    }
    if (errstr != NULL || c->stopped || c->too_big || c->err != NULL) {
        c->done = true; /* h2o closes the client when this returns */
        return -1;
    }
    return 0;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr,
                                       int minor_version, int status, h2o_iovec_t msg,
                                       h2o_header_t *headers, size_t num_headers, int rlen)
{
    (void)minor_version, (void)msg, (void)headers, (void)num_headers, (void)rlen;
    call_ctx *c = client->data;
    c->status = status;
    if (errstr != NULL) {
        c->err = errstr == h2o_http1client_error_is_eos ? NULL : errstr;
        c->done = true;
        return NULL;
    }
    if (c->bytes_fn != NULL && status == 200) {
        /* a stream (cat, get): read it in large pieces. h2o sizes socket reads from this
         * process-wide prototype (about 8 KiB a read otherwise: 33,000 reads and writes per
         * 256 MiB); only this client's process uses h2o sockets, so nothing else changes */
        h2o_socket_buffer_prototype._initial_buf.capacity = 1u << 20;
    }
    return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr,
                                          h2o_iovec_t **reqbufs, size_t *reqbufcnt,
                                          int *method_is_head)
{
    call_ctx *c = client->data;
    uv_timer_stop(&c->connect_timer);
    c->connected = true;
    if (errstr != NULL) {
        c->no_daemon = true; /* refused (or unreachable): nothing listens there */
        c->done = true;
        return NULL;
    }
    *reqbufs = &c->request;
    *reqbufcnt = 1;
    *method_is_head = 0;
    return on_head;
}

static void on_connect_timeout(uv_timer_t *t)
{
    call_ctx *c = t->data;
    if (!c->connected && !c->done) {
        c->timed_out = true;
        c->done = true;
        h2o_http1client_cancel(c->client);
    }
}

/* Percent-encodes s into u: everything but RFC 3986's unreserved characters. */
int cli_api_escape(fog_buf *u, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0' && rc == 0; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p) != NULL) {
            rc = fog_buf_u8(u, *p);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = fog_buf_append(u, e, sizeof e);
        }
    }
    return rc;
}

static int append_str(fog_buf *u, const char *s)
{
    return fog_buf_append(u, s, strlen(s));
}

static bool contains(fog_slice s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n > 0 && s.len >= n && i <= s.len - n; i++) {
        if (memcmp(s.p + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* The end of the head and the body: none, or upload as the one part of a multipart/form-data
 * body (RFC 7578) named "file", as kubo's clients send a file argument. The boundary is random
 * and checked to be absent from the file. */
static int body_put(fog_buf *u, fog_slice upload)
{
    if (upload.p == NULL) {
        return append_str(u, "Content-Length: 0\r\n\r\n");
    }
    char boundary[40];
    do {
        uint8_t rnd[16];
        fog_random_bytes(rnd, sizeof rnd);
        memcpy(boundary, "fog-", 4);
        for (size_t i = 0; i < sizeof rnd; i++) {
            snprintf(boundary + 4 + 2 * i, 3, "%02x", rnd[i]);
        }
    } while (contains(upload, boundary));
    char head[256], tail[64];
    int hn = snprintf(head, sizeof head,
                      "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"file\""
                      "\r\nContent-Type: application/octet-stream\r\n\r\n", boundary);
    int tn = snprintf(tail, sizeof tail, "\r\n--%s--\r\n", boundary);
    char hdr[160];
    snprintf(hdr, sizeof hdr, "Content-Type: multipart/form-data; boundary=%s\r\n"
             "Content-Length: %zu\r\n\r\n", boundary, (size_t)hn + upload.len + (size_t)tn);
    int rc = append_str(u, hdr);
    rc = rc < 0 ? rc : fog_buf_append(u, head, (size_t)hn);
    rc = rc < 0 ? rc : fog_buf_append(u, upload.p, upload.len);
    return rc < 0 ? rc : fog_buf_append(u, tail, (size_t)tn);
}

/* "POST /api/v0/endpoint?arg=..&arg=..&extra HTTP/1.1", its headers and body into u. */
static int build_request(fog_buf *u, const api_addr *a, const char *endpoint,
                         const char *const *args, size_t n_args, const char *extra,
                         fog_slice upload)
{
    int rc = append_str(u, "POST /api/v0/");
    rc = rc < 0 ? rc : append_str(u, endpoint);
    for (size_t i = 0; i < n_args && rc == 0; i++) {
        rc = append_str(u, i == 0 ? "?arg=" : "&arg=");
        rc = rc < 0 ? rc : cli_api_escape(u, args[i]);
    }
    if (rc == 0 && extra != NULL) {
        rc = append_str(u, n_args == 0 ? "?" : "&");
        rc = rc < 0 ? rc : append_str(u, extra);
    }
    rc = rc < 0 ? rc : append_str(u, " HTTP/1.1\r\nHost: ");
    rc = rc < 0 ? rc : append_str(u, a->host);
    rc = rc < 0 ? rc
                : append_str(u, "\r\nUser-Agent: fog/" FOG_VERSION "\r\nConnection: close\r\n");
    return rc < 0 ? rc : body_put(u, upload);
}

/* Runs one request on a private loop until the answer has ended or failed. */
static void run_request(call_ctx *c, const api_addr *a)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        c->err = "could not start an event loop";
        return;
    }
    h2o_timeout_t io_timeout;
    h2o_timeout_init(&loop, &io_timeout, API_IO_TIMEOUT_MS);
    h2o_http1client_ctx_t hctx = {&loop, NULL, &io_timeout, NULL, NULL};
    h2o_socketpool_t pool;
    h2o_socketpool_init_by_address(&pool, (struct sockaddr *)&a->sa, a->salen, 0, 1);
    h2o_socketpool_set_timeout(&pool, &loop, API_IO_TIMEOUT_MS); /* 2.2 needs its loop */
    uv_timer_init(&loop, &c->connect_timer);
    c->connect_timer.data = c;
    uv_timer_start(&c->connect_timer, on_connect_timeout, API_CONNECT_TIMEOUT_MS, 0);
    h2o_http1client_connect_with_pool(&c->client, c, &hctx, &pool, on_connect);
    while (!c->done) {
        if (uv_run(&loop, UV_RUN_ONCE) == 0 && !c->done) {
            c->err = "the event loop ran dry";
            break; /* cannot happen while a timer or the socket is active */
        }
    }
    /* h2o closed the client; close what remains and let the loop finish the closes. */
    uv_close((uv_handle_t *)&c->connect_timer, NULL);
    h2o_timeout_dispose(&loop, &io_timeout);
    h2o_socketpool_dispose(&pool);
    uv_run(&loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&loop);
}

/* A non-200 answer: print its Message (or the status). */
static int answer_error(int status, const fog_buf *body)
{
    json_t *v = json_loadb((const char *)body->p, body->len, 0, NULL);
    const char *msg = json_string_value(json_object_get(v, "Message"));
    int rc = msg != NULL ? api_fail("%s", msg) : api_fail("the daemon answered HTTP %d", status);
    json_decref(v);
    return rc;
}

static int finish(call_ctx *c, const api_addr *a, json_t **json_out)
{
    if (c->no_daemon) {
        return CLI_API_NO_DAEMON;
    }
    if (c->timed_out) {
        return api_fail("the daemon at %s did not accept a connection within %d s", a->host,
                         API_CONNECT_TIMEOUT_MS / 1000);
    }
    if (c->too_big) {
        return api_fail("the daemon's answer is larger than %u bytes", API_ANSWER_MAX);
    }
    if (c->err != NULL && !c->stopped) {
        return api_fail("talking to the daemon at %s: %s", a->host, c->err);
    }
    if (c->status != 200) {
        return answer_error(c->status, &c->body);
    }
    if (c->line_fn != NULL) {
        return CLI_OK;
    }
    if (c->bytes_fn != NULL) {
        if (c->bytes_err < 0 && c->bytes_err != FOG_ERR_CANCELLED) {
            return api_fail("%s", fog_err_detail(c->bytes_err));
        }
        return CLI_OK;
    }
    json_error_t jerr;
    json_t *v = json_loadb((const char *)c->body.p, c->body.len, 0, &jerr);
    if (v == NULL) {
        return api_fail("the daemon's answer is not JSON: %s", jerr.text);
    }
    *json_out = v;
    return CLI_OK;
}

/* Sends the request to repo's daemon and reads the answer through c (its callbacks set). */
static int call(const char *repo, const char *endpoint, const char *const *args, size_t n_args,
                const char *extra_query, call_ctx *c, json_t **json_out)
{
    api_addr a;
    int rc = api_address(repo, &a);
    if (rc != CLI_OK) {
        return rc;
    }
    fog_buf req = {0};
    if (build_request(&req, &a, endpoint, args, n_args, extra_query, c->upload) < 0) {
        fog_buf_clear(&req);
        return api_fail("%s", fog_err_detail(FOG_ERR_NOMEM));
    }
    c->request = h2o_iovec_init(req.p, req.len);
    run_request(c, &a);
    rc = finish(c, &a, json_out);
    fog_buf_clear(&req);
    fog_buf_clear(&c->body);
    return rc;
}

int cli_api_call(const char *repo, const char *endpoint, const char *const *args, size_t n_args,
                 const char *extra_query, cli_api_line_fn line_fn, void *ud, json_t **json_out)
{
    if (json_out != NULL) {
        *json_out = NULL;
    }
    call_ctx c = {.line_fn = line_fn, .ud = ud};
    return call(repo, endpoint, args, n_args, extra_query, &c, json_out);
}

int cli_api_call_file(const char *repo, const char *endpoint, const char *const *args,
                      size_t n_args, const uint8_t *file, size_t file_len, json_t **json_out)
{
    *json_out = NULL;
    call_ctx c = {.upload = fog_slice_make(file != NULL ? file : (const uint8_t *)"", file_len)};
    return call(repo, endpoint, args, n_args, NULL, &c, json_out);
}

int cli_api_stream(const char *repo, const char *endpoint, const char *const *args,
                   size_t n_args, const char *extra_query, cli_api_bytes_fn bytes_fn, void *ud)
{
    call_ctx c = {.bytes_fn = bytes_fn, .ud = ud};
    return call(repo, endpoint, args, n_args, extra_query, &c, NULL);
}
