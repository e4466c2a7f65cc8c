/* stream.c: the plumbing of the API responses streamed from the loop (ping, routing events,
 * refs): kubo sends newline-delimited JSON in a chunked 200 response flagged X-Chunked-Output.
 * Lines are appended to `pending` as they come; h2o sends one buffer at a time and calls proceed
 * when it wants more, which swaps `pending` and `inflight` (a double buffer: no copy, and no
 * unbounded queue inside h2o). The stream ends with the send that carries final_queued.
 * h2o may dispose the request inside h2o_send, which frees the job holding the stream: a flush
 * is always the last thing its caller does with the job.
 */
#include "internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static api_stream *stream_of_gen(h2o_generator_t *g)
{
    return (api_stream *)(void *)((char *)g - offsetof(api_stream, gen));
}

void fog__api_head_200(h2o_req_t *req, const char *content_type, const char *flag_header)
{
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    h2o_add_header_by_str(&req->pool, &req->res.headers, flag_header, strlen(flag_header), 0,
                          NULL, H2O_STRLIT("1"));
}

static void stream_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    api_stream *s = stream_of_gen(g);
    s->sending = false;
    s->inflight.len = 0;
    fog__api_stream_flush(s);
}

static void stream_stop(h2o_generator_t *g, h2o_req_t *req)
{
    (void)req;
    api_stream *s = stream_of_gen(g);
    if (s->stop != NULL) {
        s->stop(s->job);
    }
}

void fog__api_stream_start(api_stream *s, api_job *j, void (*stop)(api_job *j))
{
    h2o_req_t *req = j->req;
    s->job = j;
    s->stop = stop;
    fog__api_head_200(req, "application/json", "x-chunked-output");
    s->gen.proceed = stream_proceed;
    s->gen.stop = stream_stop;
    h2o_start_response(req, &s->gen);
    s->started = true;
}

void fog__api_stream_line(api_stream *s, json_t *v)
{
    char *text = v != NULL ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    size_t len = text != NULL ? strlen(text) : 0;
    if (text != NULL && fog_buf_append(&s->pending, (const uint8_t *)text, len) == 0 &&
        fog_buf_append(&s->pending, (const uint8_t *)"\n", 1) < 0) {
        s->pending.len -= len; /* out of memory: drop the line whole */
    }
    free(text);
}

void fog__api_stream_flush(api_stream *s)
{
    if (!s->started || s->sending || s->final_sent || s->job->req == NULL) {
        return;
    }
    if (s->pending.len == 0 && !s->final_queued) {
        return;
    }
    fog_buf t = s->inflight;
    s->inflight = s->pending;
    s->pending = t;
    s->pending.len = 0;
    h2o_send_state_t st = s->final_queued ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS;
    h2o_iovec_t iov = h2o_iovec_init(s->inflight.p, s->inflight.len);
    s->sending = true;
    s->final_sent = s->final_queued;
    h2o_send(s->job->req, &iov, 1, st);
}

void fog__api_stream_clear(api_stream *s)
{
    fog_buf_clear(&s->pending);
    fog_buf_clear(&s->inflight);
}
