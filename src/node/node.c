/* node.c: the libp2p host (include/fog/node.h): configuration, listeners, dials, the peer
 * table and the deferred work of one libuv loop. DESIGN.md (net, node); PROTOCOLS.md 3.
 * Each TCP connection is an nconn (nconn.c) around one fog_conn core. Work that must not run
 * inside the caller's function (a dial result known at once, a connection to process after an
 * API call) goes through one uv_idle_t: it runs on the next loop iteration and stops itself when
 * nothing is left. The node counts its open uv handles; close completes (done runs) when the
 * count reaches zero.
 */
#include <stdlib.h>
#include <string.h>

#include "fog/crypto.h"
#include "fog/yamux.h"
#include "internal.h"

static const char *const MOD = "node";

void fog_node_config_default(fog_node_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_connections = 1024;
    cfg->max_streams = 256;
    cfg->window_bytes = 1024u * 1024u;
    cfg->max_buffered_bytes = 0; /* window_bytes * max_streams */
    cfg->max_queued_bytes = 4u * 1024u * 1024u;
    cfg->dial_timeout_ms = 10000;
    cfg->handshake_timeout_ms = 10000;
}

void node_peer_text(const uint8_t *id, size_t len, char *out, size_t cap)
{
    if (fog_peer_id_format(id, len, out, cap) < 0) {
        snprintf(out, cap, "?");
    }
}

static int check_listen(const fog_multiaddr *ma)
{
    int fam;
    uint8_t ip[16];
    uint16_t port;
    if (fog_multiaddr_ip(ma, &fam, ip) < 0 || fog_multiaddr_port(ma, FOG_MA_TCP, &port) < 0) {
        return fog_errf(FOG_ERR_INVALID, "listen address %s is not /ip4|/ip6 + /tcp",
                        fog_multiaddr_str(ma));
    }
    return 0;
}

int fog_node_new(fog_node **out, uv_loop_t *loop, const fog_node_config *cfg)
{
    *out = NULL;
    if (cfg->identity_secret == NULL || loop == NULL) {
        return fog_errf(FOG_ERR_INVALID, "node: an identity and a loop are required");
    }
    if (cfg->n_listen > FOG_NODE_LISTEN_MAX) {
        return fog_errf(FOG_ERR_INVALID, "node: more than %d listen addresses",
                        FOG_NODE_LISTEN_MAX);
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        int rc = check_listen(&cfg->listen[i]);
        if (rc < 0) {
            return rc;
        }
    }
    fog_node *n = calloc(1, sizeof *n);
    if (n == NULL) {
        return FOG_ERR_NOMEM;
    }
    n->loop = loop;
    n->cfg = *cfg;
    n->cfg.identity_secret = NULL;
    n->cfg.agent_version = NULL;
    memcpy(n->secret, cfg->identity_secret, 64);
    fog_peer_id_ed25519(n->secret + 32, n->peer_id);
    node_peer_text(n->peer_id, sizeof n->peer_id, n->peer_text, sizeof n->peer_text);
    fog_node_config def;
    fog_node_config_default(&def);
    if (n->cfg.max_connections == 0) {
        n->cfg.max_connections = def.max_connections;
    }
    if (n->cfg.max_streams == 0) {
        n->cfg.max_streams = def.max_streams;
    }
    if (n->cfg.window_bytes == 0) {
        n->cfg.window_bytes = def.window_bytes;
    }
    if (n->cfg.max_buffered_bytes == 0) {
        n->cfg.max_buffered_bytes = (size_t)n->cfg.window_bytes * n->cfg.max_streams;
    }
    if (n->cfg.max_queued_bytes == 0) {
        n->cfg.max_queued_bytes = def.max_queued_bytes;
    }
    const char *agent = cfg->agent_version != NULL ? cfg->agent_version : FOG_IDENTIFY_AGENT;
    n->agent = strdup(agent);
    int rc = n->agent == NULL ? FOG_ERR_NOMEM : builtin_register(n);
    if (rc < 0) {
        fog_node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

void fog_node_free(fog_node *n)
{
    if (n == NULL) {
        return;
    }
    for (size_t i = 0; i < n->n_protos; i++) {
        free(n->protos[i].id);
    }
    while (n->defers != NULL) {
        node_defer *d = n->defers;
        n->defers = d->next;
        free(d);
    }
    free(n->agent);
    fog_memzero(n->secret, sizeof n->secret);
    free(n);
}

fog_slice fog_node_peer_id(const fog_node *n)
{
    return fog_slice_make(n->peer_id, sizeof n->peer_id);
}

fog_slice fog_node_public_key(const fog_node *n)
{
    /* An Ed25519 peer ID is the identity multihash of the PublicKey protobuf. */
    return fog_slice_make(n->peer_id + 2, sizeof n->peer_id - 2);
}

size_t fog_node_listen_addrs(const fog_node *n, fog_multiaddr *out, size_t cap)
{
    for (size_t i = 0; i < n->n_listeners && i < cap; i++) {
        out[i] = n->listeners[i]->addr;
    }
    return n->n_listeners;
}

void fog_node_set_observer(fog_node *n, const fog_node_observer *o)
{
    if (o == NULL) {
        memset(&n->obs, 0, sizeof n->obs);
    } else {
        n->obs = *o;
    }
}

int fog_node_handle(fog_node *n, const char *protocol, const fog_stream_handler *h, void *ud)
{
    size_t len = protocol == NULL ? 0 : strlen(protocol);
    if (len == 0 || len >= NODE_PROTO_ID_MAX - 1 || n->started) {
        return fog_errf(FOG_ERR_INVALID, "node: protocol ID empty, too long, or node started");
    }
    if (node_find_proto(n, protocol) != NULL) {
        return fog_errf(FOG_ERR_EXISTS, "node: protocol %s is registered already", protocol);
    }
    if (n->n_protos >= NODE_PROTOCOLS_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "node: more than %d protocols", NODE_PROTOCOLS_MAX);
    }
    node_proto *p = &n->protos[n->n_protos];
    p->id = strdup(protocol);
    if (p->id == NULL) {
        return FOG_ERR_NOMEM;
    }
    p->h = *h;
    p->ud = ud;
    n->proto_ids[n->n_protos] = p->id;
    n->n_protos++;
    return 0;
}

const node_proto *node_find_proto(const fog_node *n, const char *id)
{
    for (size_t i = 0; i < n->n_protos; i++) {
        if (strcmp(n->protos[i].id, id) == 0) {
            return &n->protos[i];
        }
    }
    return NULL;
}

/* ---- deferred work ---- */

static void idle_cb(uv_idle_t *h);

static void idle_want(fog_node *n)
{
    if (n->idle_init && !n->idle_on) {
        uv_idle_start(&n->idle, idle_cb);
        n->idle_on = true;
    }
}

void node_kick(fog_node *n, nconn *c)
{
    if (c->kicked || c->torn) {
        return;
    }
    c->kicked = true;
    c->kick_next = n->kick;
    n->kick = c;
    idle_want(n);
}

void node_defer_dial(fog_node *n, fog_node_dial_cb cb, void *ud, int err, const char *detail,
                     const uint8_t *peer, size_t peer_len)
{
    node_defer *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return; /* out of memory: the callback is lost (logged) */
    }
    d->cb = cb;
    d->ud = ud;
    d->err = err;
    snprintf(d->detail, sizeof d->detail, "%s", detail != NULL ? detail : "");
    if (peer_len > 0 && peer_len <= sizeof d->peer) {
        memcpy(d->peer, peer, peer_len);
        d->peer_len = peer_len;
    }
    if (n->defers_tail != NULL) {
        n->defers_tail->next = d;
    } else {
        n->defers = d;
    }
    n->defers_tail = d;
    idle_want(n);
}

static void maybe_done(fog_node *n);

static void run_defers(fog_node *n)
{
    node_defer *d = n->defers;
    n->defers = n->defers_tail = NULL;
    while (d != NULL) {
        node_defer *next = d->next;
        d->cb(d->ud, d->err, d->err < 0 ? d->detail : NULL,
              fog_slice_make(d->peer, d->peer_len));
        free(d);
        d = next;
    }
}

static void idle_cb(uv_idle_t *h)
{
    fog_node *n = h->data;
    run_defers(n);
    /* Pop one at a time: processing may kick others, or tear one down (which unkicks it). */
    for (int k = 0; k < 1024 && n->kick != NULL; k++) {
        nconn *c = n->kick;
        n->kick = c->kick_next;
        c->kicked = false;
        nconn_process(c);
    }
    if (n->kick == NULL && n->defers == NULL) {
        uv_idle_stop(&n->idle);
        n->idle_on = false;
        maybe_done(n);
    }
}

static void idle_closed(uv_handle_t *h)
{
    node_handle_closed(h->data);
}

void node_handle_closed(fog_node *n)
{
    n->handles--;
    maybe_done(n);
}

static void maybe_done(fog_node *n)
{
    if (!n->closing || n->conns != NULL || n->defers != NULL || n->kick != NULL) {
        return;
    }
    if (n->handles == 1 && n->idle_init) {
        n->idle_init = false;
        uv_close((uv_handle_t *)&n->idle, idle_closed);
        return;
    }
    if (n->handles == 0 && n->done != NULL) {
        void (*done)(void *) = n->done;
        n->done = NULL;
        done(n->done_ud);
    }
}

/* ---- listeners ---- */

static int ma_sockaddr(const fog_multiaddr *ma, struct sockaddr_storage *ss)
{
    int fam;
    uint8_t ip[16];
    uint16_t port;
    if (fog_multiaddr_ip(ma, &fam, ip) < 0 || fog_multiaddr_port(ma, FOG_MA_TCP, &port) < 0) {
        return FOG_ERR_INVALID;
    }
    memset(ss, 0, sizeof *ss);
    if (fam == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, ip, 4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        memcpy(&s6->sin6_addr, ip, 16);
    }
    return 0;
}

int node_sockaddr_ma(const struct sockaddr *sa, fog_multiaddr *out)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return fog_multiaddr_ip_tcp(out, 4, (const uint8_t *)&s4->sin_addr, ntohs(s4->sin_port));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        return fog_multiaddr_ip_tcp(out, 6, (const uint8_t *)&s6->sin6_addr,
                                    ntohs(s6->sin6_port));
    }
    return FOG_ERR_UNSUPPORTED;
}

static void on_accept(uv_stream_t *server, int status)
{
    node_listener *l = server->data;
    fog_node *n = l->n;
    if (n == NULL || status < 0 || n->closing) {
        return;
    }
    nconn *c;
    if (nconn_new(n, true, &c) < 0) {
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        nconn_fail(c, FOG_ERR_IO, "accept failed");
        return;
    }
    c->tcp_up = true;
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
        node_ignore(node_sockaddr_ma((const struct sockaddr *)&ss, &c->remote));
    }
    n->stats.conns_accepted++;
    if (n->n_conns > n->cfg.max_connections) {
        n->stats.conns_dropped++;
        fog_logf(&n->cfg.log, FOG_LOG_WARN, MOD, "inbound from %s refused: max_connections %u",
                 fog_multiaddr_str(&c->remote), (unsigned)n->cfg.max_connections);
        nconn_fail(c, FOG_ERR_LIMIT, "max_connections reached");
        return;
    }
    if (nconn_start_core(c, NULL, 0) < 0) {
        nconn_fail(c, FOG_ERR_NOMEM, "no memory for the connection");
    }
}

static void listener_free_cb(uv_handle_t *h)
{
    node_listener *l = h->data;
    fog_node *n = l->n;
    free(l);
    if (n != NULL) {
        node_handle_closed(n);
    }
}

static int listen_one(fog_node *n, const fog_multiaddr *ma, node_listener **out)
{
    struct sockaddr_storage ss;
    (void)ma_sockaddr(ma, &ss);
    node_listener *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return FOG_ERR_NOMEM;
    }
    uv_tcp_init(n->loop, &l->tcp);
    l->tcp.data = l;
    /* An IPv6 socket would take IPv4 too (dual stack) and clash with the /ip4 listener. */
    unsigned flags = ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
    int rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&ss, flags);
    rc = rc < 0 ? rc : uv_listen((uv_stream_t *)&l->tcp, 511, on_accept);
    if (rc < 0) {
        uv_close((uv_handle_t *)&l->tcp, listener_free_cb);
        return fog_errf(FOG_ERR_IO, "cannot listen on %s: %s", fog_multiaddr_str(ma),
                        uv_strerror(rc));
    }
    int sl = sizeof ss;
    if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &sl) < 0 ||
        node_sockaddr_ma((const struct sockaddr *)&ss, &l->addr) < 0) {
        l->addr = *ma;
    }
    *out = l;
    return 0;
}

int fog_node_start(fog_node *n)
{
    if (n->started) {
        return fog_errf(FOG_ERR_INVALID, "node: started already");
    }
    for (size_t i = 0; i < n->cfg.n_listen; i++) {
        node_listener *l = NULL;
        int rc = listen_one(n, &n->cfg.listen[i], &l);
        if (rc < 0) {
            for (size_t j = 0; j < n->n_listeners; j++) {
                uv_close((uv_handle_t *)&n->listeners[j]->tcp, listener_free_cb);
            }
            n->n_listeners = 0;
            return rc;
        }
        n->listeners[n->n_listeners++] = l;
    }
    for (size_t i = 0; i < n->n_listeners; i++) {
        n->listeners[i]->n = n;
        n->handles++;
        fog_logf(&n->cfg.log, FOG_LOG_INFO, MOD, "listening on %s/p2p/%s",
                 fog_multiaddr_str(&n->listeners[i]->addr), n->peer_text);
    }
    uv_idle_init(n->loop, &n->idle);
    n->idle.data = n;
    n->idle_init = true;
    n->handles++;
    n->started = true;
    return 0;
}

void fog_node_close(fog_node *n, void (*done)(void *ud), void *ud)
{
    if (n->closing) {
        return;
    }
    n->closing = true;
    n->done = done;
    n->done_ud = ud;
    if (!n->started) {
        n->started = true; /* nothing to close */
        if (done != NULL) {
            n->done = NULL;
            done(ud);
        }
        return;
    }
    for (size_t i = 0; i < n->n_listeners; i++) {
        uv_close((uv_handle_t *)&n->listeners[i]->tcp, listener_free_cb);
    }
    n->n_listeners = 0;
    for (nconn *c = n->conns; c != NULL; c = c->next) {
        nconn_close(c, FOG_ERR_CANCELLED, "node closing");
    }
    idle_want(n);
}

/* ---- peers ---- */

nconn *node_find_peer(fog_node *n, const uint8_t *peer, size_t len)
{
    for (nconn *c = n->conns; c != NULL; c = c->next) {
        if (c->muxed && !c->duplicate && !c->dying && c->peer_len == len &&
            memcmp(c->peer, peer, len) == 0) {
            return c;
        }
    }
    return NULL;
}

void node_fill_info(const nconn *c, fog_peer_info *out)
{
    memset(out, 0, sizeof *out);
    out->peer_id = fog_slice_make(c->peer, c->peer_len);
    out->remote_addr = c->remote;
    out->inbound = c->inbound;
    out->muxer = FOG_YAMUX_PROTOCOL_ID;
    out->connected_ms = c->connected_ms;
    out->latency_us = c->latency_us;
    out->open_streams = c->n_streams;
    out->bytes_in = c->bytes_in;
    out->bytes_out = c->bytes_out;
    out->identify = c->have_ident ? &c->ident : NULL;
}

void fog_node_each_peer(fog_node *n, bool (*fn)(void *ud, const fog_peer_info *info), void *ud)
{
    for (nconn *c = n->conns; c != NULL; c = c->next) {
        if (!c->muxed || c->duplicate || c->dying) {
            continue;
        }
        fog_peer_info info;
        node_fill_info(c, &info);
        if (!fn(ud, &info)) {
            return;
        }
    }
}

bool fog_node_peer(fog_node *n, const uint8_t *peer_id, size_t len, fog_peer_info *out)
{
    nconn *c = node_find_peer(n, peer_id, len);
    if (c == NULL) {
        return false;
    }
    node_fill_info(c, out);
    return true;
}

size_t fog_node_peer_count(const fog_node *n)
{
    size_t k = 0;
    for (const nconn *c = n->conns; c != NULL; c = c->next) {
        k += c->muxed && !c->duplicate && !c->dying;
    }
    return k;
}

void fog_node_get_stats(const fog_node *n, fog_node_stats *out)
{
    *out = n->stats;
}

int fog_node_disconnect(fog_node *n, const uint8_t *peer_id, size_t len)
{
    nconn *c = node_find_peer(n, peer_id, len);
    if (c == NULL) {
        return fog_errf(FOG_ERR_NOT_FOUND, "not connected to that peer");
    }
    nconn_close(c, 0, "disconnected by us");
    return 0;
}

int fog_node_ping(fog_node *n, const uint8_t *peer_id, size_t len, fog_node_ping_cb cb, void *ud)
{
    nconn *c = node_find_peer(n, peer_id, len);
    if (c == NULL || n->closing) {
        return fog_errf(FOG_ERR_NOT_FOUND, "not connected to that peer");
    }
    return ping_start(n, c, cb, ud);
}

/* ---- dials ---- */

static int dial_target(const fog_multiaddr *ma, struct sockaddr_storage *ss, fog_slice *pid)
{
    size_t off = 0;
    fog_ma_component comp;
    while (fog_multiaddr_next(ma, &off, &comp) > 0) {
        if (comp.code == FOG_MA_DNS || comp.code == FOG_MA_DNS4 || comp.code == FOG_MA_DNS6 ||
            comp.code == FOG_MA_DNSADDR) {
            return fog_errf(FOG_ERR_INVALID, "cannot dial %s: /dns is not supported yet",
                            fog_multiaddr_str(ma));
        }
        if (comp.code != FOG_MA_IP4 && comp.code != FOG_MA_IP6 && comp.code != FOG_MA_TCP &&
            comp.code != FOG_MA_P2P) {
            return fog_errf(FOG_ERR_INVALID, "cannot dial %s: not a TCP address",
                            fog_multiaddr_str(ma));
        }
    }
    if (ma_sockaddr(ma, ss) < 0) {
        return fog_errf(FOG_ERR_INVALID, "cannot dial %s: not /ip4|/ip6 + /tcp",
                        fog_multiaddr_str(ma));
    }
    pid->p = NULL;
    pid->len = 0;
    if (fog_multiaddr_peer_id(ma, pid) == 0 && pid->len > FOG_PEER_ID_MAX) {
        return fog_errf(FOG_ERR_INVALID, "cannot dial %s: peer ID too long",
                        fog_multiaddr_str(ma));
    }
    return 0;
}

static void on_connect(uv_connect_t *req, int status)
{
    nconn *c = req->data;
    if (status == UV_ECANCELED || c->dying || c->torn) {
        return;
    }
    if (status < 0) {
        char d[128];
        snprintf(d, sizeof d, "dial %s: %s", fog_multiaddr_str(&c->remote), uv_strerror(status));
        nconn_fail(c, FOG_ERR_IO, d);
        nconn_process(c);
        return;
    }
    c->tcp_up = true;
    int rc = nconn_start_core(c, c->peer, c->peer_len);
    if (rc < 0) {
        nconn_fail(c, rc, "no memory for the connection");
        nconn_process(c);
    }
}

size_t fog_node_protocols(const fog_node *n, const char *const **out)
{
    *out = n->proto_ids;
    return n->n_protos;
}

int fog_node_dial(fog_node *n, const fog_multiaddr *ma, fog_node_dial_cb cb, void *ud)
{
    struct sockaddr_storage ss;
    fog_slice pid;
    if (!n->started) {
        return fog_errf(FOG_ERR_INVALID, "node: not started");
    }
    int rc = dial_target(ma, &ss, &pid);
    if (rc < 0) {
        return rc;
    }
    if (n->closing) {
        node_defer_dial(n, cb, ud, FOG_ERR_CANCELLED, "the node is closing", NULL, 0);
        return 0;
    }
    if (pid.len == sizeof n->peer_id && memcmp(pid.p, n->peer_id, pid.len) == 0) {
        return fog_errf(FOG_ERR_INVALID, "dial to self attempted");
    }
    if (pid.len > 0 && node_find_peer(n, pid.p, pid.len) != NULL) {
        node_defer_dial(n, cb, ud, 0, NULL, pid.p, pid.len);
        return 0;
    }
    if (n->n_conns >= n->cfg.max_connections) {
        node_defer_dial(n, cb, ud, FOG_ERR_LIMIT, "max_connections reached", NULL, 0);
        return 0;
    }
    nconn *c;
    rc = nconn_new(n, false, &c);
    if (rc < 0) {
        return rc;
    }
    c->dial_cb = cb;
    c->dial_ud = ud;
    node_ignore(node_sockaddr_ma((const struct sockaddr *)&ss, &c->remote));
    if (pid.len > 0) {
        memcpy(c->peer, pid.p, pid.len);
        c->peer_len = pid.len;
    }
    n->stats.conns_dialled++;
    c->creq.data = c;
    rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&ss, on_connect);
    if (rc < 0) {
        char d[128];
        snprintf(d, sizeof d, "dial %s: %s", fog_multiaddr_str(ma), uv_strerror(rc));
        nconn_fail(c, FOG_ERR_IO, d);
        node_kick(n, c);
        return 0;
    }
    c->dial_deadline = uv_now(n->loop) + n->cfg.dial_timeout_ms;
    node_kick(n, c);
    return 0;
}
