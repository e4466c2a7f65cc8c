/* stream.c: streams handed to protocol handlers (include/fog/node.h "Streams").
 * A fog_stream mirrors one negotiated (or negotiating, for ours) stream of a fog_conn core. The
 * core's STREAM_* events become handler callbacks; the handler's calls go straight to the core
 * and the connection is kicked so its output is pulled on this loop iteration or the next.
 * A stream that ends is only marked dead: it leaves the connection's list and is freed by
 * stream_sweep at the end of the connection's dispatch, so a handler that resets a stream (or
 * sees the connection die) never has memory freed under its feet. Flow control: bytes a handler
 * returns as held from on_data are consumed later by fog_stream_release; the rest at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void kick(nconn *c)
{
    if (!c->in_process) {
        node_kick(c->n, c);
    }
}

/* The counters of protocol in the node's table (added on first use; "other" when full). */
static node_pstat *pstat_of(fog_node *n, const char *protocol)
{
    if (strlen(protocol) >= NODE_PSTAT_ID_MAX) {
        protocol = "other";
    }
    for (size_t i = 0; i < n->n_pstats; i++) {
        if (strcmp(n->pstats[i].id, protocol) == 0) {
            return &n->pstats[i];
        }
    }
    if (n->n_pstats == NODE_PSTATS_MAX) {
        return &n->pstats[NODE_PSTATS_MAX - 1]; /* the last slot turns into "other" */
    }
    node_pstat *p = &n->pstats[n->n_pstats++];
    snprintf(p->id, sizeof p->id, "%s", n->n_pstats == NODE_PSTATS_MAX ? "other" : protocol);
    return p;
}

size_t fog_node_proto_bytes(const fog_node *n, fog_proto_bytes *out, size_t max)
{
    for (size_t i = 0; i < n->n_pstats && i < max; i++) {
        out[i].protocol = n->pstats[i].id;
        out[i].bytes_in = n->pstats[i].in;
        out[i].bytes_out = n->pstats[i].out;
    }
    return n->n_pstats;
}

int stream_new(nconn *c, uint32_t id, bool inbound, const char *protocol,
               const fog_stream_handler *h, void *ud, fog_stream **out)
{
    fog_stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return FOG_ERR_NOMEM;
    }
    s->protocol = strdup(protocol);
    if (s->protocol == NULL) {
        free(s);
        return FOG_ERR_NOMEM;
    }
    s->c = c;
    s->pstat = pstat_of(c->n, protocol);
    s->id = id;
    s->inbound = inbound;
    s->opened = inbound;
    if (h != NULL) {
        s->h = *h;
    }
    s->ud = ud;
    s->next = c->streams;
    if (c->streams != NULL) {
        c->streams->prev = s;
    }
    c->streams = s;
    c->n_streams++;
    c->n->stats.streams_opened++;
    *out = s;
    return 0;
}

static void mark_dead(fog_stream *s)
{
    if (!s->dead) {
        s->dead = true;
        s->c->n_streams--;
    }
}

static fog_stream *find(nconn *c, uint32_t id)
{
    for (fog_stream *s = c->streams; s != NULL; s = s->next) {
        if (s->id == id && !s->dead) {
            return s;
        }
    }
    return NULL;
}

static void end(fog_stream *s, int err)
{
    mark_dead(s);
    if (s->h.on_close != NULL) {
        s->h.on_close(s, err);
    }
}

static void on_opened(nconn *c, const fog_conn_event *ev)
{
    fog_stream *s;
    if (!ev->inbound) {
        s = find(c, ev->stream_id);
        if (s == NULL) {
            return;
        }
        s->opened = true;
    } else {
        const node_proto *p = node_find_proto(c->n, ev->protocol);
        if (p == NULL || stream_new(c, ev->stream_id, true, p->id, &p->h, p->ud, &s) < 0) {
            node_ignore(fog_conn_stream_reset(c->core, ev->stream_id));
            return;
        }
    }
    if (s->h.on_open != NULL) {
        s->h.on_open(s);
    }
}

static void on_data(nconn *c, const fog_conn_event *ev)
{
    fog_stream *s = find(c, ev->stream_id);
    size_t len = ev->data.len;
    if (s == NULL) {
        node_ignore(fog_conn_stream_consume(c->core, ev->stream_id, len));
        return;
    }
    s->pstat->in += len;
    size_t held = s->h.on_data != NULL ? s->h.on_data(s, ev->data.p, len) : 0;
    if (held > len) {
        held = len;
    }
    if (!s->dead && len > held) {
        node_ignore(fog_conn_stream_consume(c->core, s->id, len - held));
    }
}

void stream_dispatch(nconn *c, const fog_conn_event *ev)
{
    fog_stream *s;
    switch (ev->kind) {
    case FOG_CONN_EV_STREAM_OPENED:
        on_opened(c, ev);
        break;
    case FOG_CONN_EV_STREAM_DATA:
        on_data(c, ev);
        break;
    case FOG_CONN_EV_STREAM_FIN:
        s = find(c, ev->stream_id);
        if (s != NULL && s->h.on_fin != NULL) {
            s->h.on_fin(s);
        }
        break;
    case FOG_CONN_EV_STREAM_CLOSED:
    case FOG_CONN_EV_STREAM_RESET:
    case FOG_CONN_EV_STREAM_FAILED:
        s = find(c, ev->stream_id);
        if (s != NULL) {
            end(s, ev->kind == FOG_CONN_EV_STREAM_CLOSED  ? 0
                   : ev->kind == FOG_CONN_EV_STREAM_RESET ? FOG_ERR_CANCELLED
                                                          : ev->error);
        }
        break;
    default:
        break;
    }
}

static void stream_free(fog_stream *s)
{
    free(s->protocol);
    free(s);
}

void stream_sweep(nconn *c)
{
    fog_stream *s = c->streams;
    while (s != NULL) {
        fog_stream *next = s->next;
        if (s->dead) {
            if (s->prev != NULL) {
                s->prev->next = s->next;
            } else {
                c->streams = s->next;
            }
            if (s->next != NULL) {
                s->next->prev = s->prev;
            }
            stream_free(s);
        }
        s = next;
    }
}

void stream_writable(nconn *c)
{
    for (fog_stream *s = c->streams; s != NULL; s = s->next) {
        if (!s->dead && s->want_writable) {
            s->want_writable = false;
            if (s->h.on_writable != NULL) {
                s->h.on_writable(s);
            }
        }
    }
}

void stream_kill_all(nconn *c, int err)
{
    for (fog_stream *s = c->streams; s != NULL; s = s->next) {
        if (!s->dead) {
            end(s, err);
        }
    }
}

int stream_open(nconn *c, const char *protocol, const fog_stream_handler *h, void *ud,
                fog_stream **out)
{
    if (c->dying || c->torn || c->goaway_recv) {
        return fog_errf(FOG_ERR_CANCELLED, "the connection is closing");
    }
    uint32_t id;
    const char *const protos[1] = {protocol};
    int rc = fog_conn_open_stream(c->core, protos, 1, &id);
    if (rc < 0) {
        return rc;
    }
    rc = stream_new(c, id, false, protocol, h, ud, out);
    if (rc < 0) {
        node_ignore(fog_conn_stream_reset(c->core, id));
        return rc;
    }
    kick(c);
    return 0;
}

int fog_node_open_stream(fog_node *n, const uint8_t *peer_id, size_t len, const char *protocol,
                         const fog_stream_handler *h, void *ud, fog_stream **out)
{
    *out = NULL;
    size_t plen = protocol == NULL ? 0 : strlen(protocol);
    if (plen == 0 || plen >= NODE_PROTO_ID_MAX - 1) {
        return fog_errf(FOG_ERR_INVALID, "bad protocol ID");
    }
    if (n->closing) {
        return fog_errf(FOG_ERR_CANCELLED, "the node is closing");
    }
    nconn *c = node_find_peer(n, peer_id, len);
    if (c == NULL) {
        return fog_errf(FOG_ERR_NOT_FOUND, "not connected to that peer");
    }
    return stream_open(c, protocol, h, ud, out);
}

void *fog_stream_ud(const fog_stream *s)
{
    return s->ud;
}

void fog_stream_set_ud(fog_stream *s, void *ud)
{
    s->ud = ud;
}

fog_slice fog_stream_peer_id(const fog_stream *s)
{
    return fog_slice_make(s->c->peer, s->c->peer_len);
}

const char *fog_stream_protocol(const fog_stream *s)
{
    return s->protocol;
}

bool fog_stream_inbound(const fog_stream *s)
{
    return s->inbound;
}

int fog_stream_write(fog_stream *s, const uint8_t *data, size_t len)
{
    nconn *c = s->c;
    if (s->dead || c->dying || c->torn) {
        return FOG_ERR_CANCELLED;
    }
    if (s->closed_by_us) {
        return fog_errf(FOG_ERR_INVALID, "stream closed by us");
    }
    if (len == 0) {
        return 0;
    }
    int rc = fog_conn_stream_write(c->core, s->id, data, len);
    if (rc == FOG_ERR_LIMIT) {
        s->want_writable = true;
        kick(c);
        return rc;
    }
    if (rc == FOG_ERR_NOT_FOUND) {
        return FOG_ERR_CANCELLED;
    }
    if (rc < 0) {
        return rc;
    }
    s->pstat->out += len;
    kick(c);
    return 0;
}

bool fog_stream_drained(fog_stream *s)
{
    nconn *c = s->c;
    if (s->dead || c->dying || c->torn || c->core == NULL || fog_conn_queued_bytes(c->core) == 0) {
        return true;
    }
    s->want_writable = true;
    kick(c);
    return false;
}

int fog_stream_close(fog_stream *s)
{
    nconn *c = s->c;
    if (s->dead || c->dying || c->torn) {
        return FOG_ERR_CANCELLED;
    }
    if (s->closed_by_us || !s->opened) {
        return fog_errf(FOG_ERR_INVALID, "stream closed already or not negotiated");
    }
    int rc = fog_conn_stream_close(c->core, s->id);
    if (rc == FOG_ERR_NOT_FOUND) {
        return FOG_ERR_CANCELLED;
    }
    if (rc < 0) {
        return rc;
    }
    s->closed_by_us = true;
    kick(c);
    return 0;
}

void fog_stream_reset(fog_stream *s)
{
    nconn *c = s->c;
    if (s->dead) {
        return;
    }
    mark_dead(s);
    if (!c->dying && !c->torn) {
        node_ignore(fog_conn_stream_reset(c->core, s->id));
    }
    kick(c);
}

void fog_stream_release(fog_stream *s, size_t n)
{
    nconn *c = s->c;
    if (s->dead || c->dying || c->torn || n == 0) {
        return;
    }
    node_ignore(fog_conn_stream_consume(c->core, s->id, n));
    kick(c);
}
