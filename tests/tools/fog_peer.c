/* fog_peer.c: build/fog-peer, the C counterpart of tests/interop/js-peer/peer.mjs: a fog node
 * (include/fog/node.h) driven from the command line for the libp2p interop tests and
 * bench/transport. Same commands, same JSON lines on stdout (one object per line), diagnostics
 * on stderr (--debug for the node's DEBUG log):
 *   fog-peer listen [--port N] [--seed HEX] [--quiet] [--no-stdin]
 *       serves identify, ping, /fog/echo/1.0.0 and /fog/bench/1.0.0 (config.test_protocols) on
 *       /ip4/127.0.0.1/tcp/N; first line {"event":"listening","peerId","addrs","protocols"},
 *       then connection / identify / close events (the node serves ping, echo and bench itself,
 *       so those per-stream events of peer.mjs do not exist here); stops on stdin EOF (when
 *       stdin is a pipe or a terminal; --no-stdin or any other stdin: signals only) or
 *       SIGTERM/SIGINT, with a last {"event":"stopping","reason"} line.
 *   fog-peer dial MA [--ping N] [--echo-streams S --echo-bytes B] [--seed HEX] [--timeout MS]
 *       dials, waits for the peer's identify (the node asks on every connection), pings N
 *       times, runs S parallel echo streams of B bytes (default 1 MiB) carrying the js-peer
 *       README's xorshift32 payloads, checks length and content, disconnects and prints one
 *       line like peer.mjs's (ok, peerId, remotePeer, remoteAddr, identify, ping, echo).
 *   fog-peer bench-dial MA [--bytes B] [--chunk C]
 *       one /fog/bench/1.0.0 stream: B bytes (default 1 GiB) in writes of C (default 256 KiB),
 *       waiting in on_writable when the node's send queue is full, half-close, read the 8-byte
 *       count; {"ok","bytes","received","ms","MBps","MiBps"}; the clock runs from the first
 *       write to the count's arrival, as in peer.mjs.
 *   fog-peer swarm MA --nodes N
 *       N nodes with fresh identities on this one loop dial MA and stay connected until stdin
 *       EOF or a signal; {"event":"connected","count":N} once all are up (used to measure a
 *       daemon's memory with N peers).
 *   fog-peer aead-bench [--bytes B]
 *       single-core ChaCha20-Poly1305 (IETF) encryption with fog_chachapoly_seal (libcrypto),
 *       the call src/net/noise_hs.c makes for every Noise transport message, over 65519-byte
 *       frames (the largest plaintext of one 65535-byte Noise message), and the same with
 *       libsodium's crypto_aead_chacha20poly1305_ietf_encrypt for comparison:
 *       {"MBps","bytes","ms","frameBytes","libsodiumMBps"}.
 *   fog-peer id --seed HEX          {"peerId":"..."}
 * Identities: an Ed25519 key from a 32-byte seed (64 hex digits), random when absent. Exit
 * status: 0 when ok, 1 on a failed run, 2 on a usage error.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <uv.h>

#include "fog/crypto.h"
#include "fog/identify.h"
#include "fog/mf.h"
#include "fog/multiaddr.h"
#include "fog/node.h"
#include "fog/noise.h"
#include "fog/util.h"

#define ECHO_CHUNK 65536
#define ERRORS_MAX 10
#define IDENTIFY_WAIT_MS 10000

typedef struct {
    const char *cmd, *target, *seed;
    bool quiet, no_stdin, debug;
    uint64_t port, ping, echo_streams, echo_bytes, bytes, chunk, nodes, timeout_ms;
    bool bytes_set;
} opts;

/* xorshift32 (13, 17, 5), 4 bytes little-endian per step: the js-peer echo payload. */
typedef struct {
    uint32_t x;
    uint8_t word[4];
    unsigned avail;
} xs_gen;

typedef struct app app;

typedef struct {
    app *a;
    uint32_t index;
    xs_gen wgen, rgen;
    uint64_t sent, got;
    uint8_t chunk[ECHO_CHUNK];
    size_t pending; /* bytes in chunk not yet accepted by fog_stream_write */
    bool closed_write, done, ok;
    char err[256];
} echo_ctx;

struct app {
    uv_loop_t *loop;
    opts o;
    fog_node *node;
    fog_node **swarm;
    size_t n_swarm, swarm_up, swarm_failed;
    uv_signal_t sig_term, sig_int;
    uv_pipe_t in;
    uv_timer_t timer;
    bool in_open, timer_open, stopping, finished;
    int exit_code;
    uint8_t secret[FOG_ED25519_SECRET_LEN];
    uint8_t peer[FOG_PEER_ID_MAX];
    size_t peer_len;
    uint64_t t0_ns;    /* dial start, then the bench's first write */
    json_t *out;       /* dial and bench-dial: the result line being built */
    bool want_identify;
    /* ping */
    uint64_t pings_done;
    json_t *rtts, *ping_errors;
    /* echo */
    echo_ctx *echo;
    size_t echo_done;
    uint64_t echo_t0_ns;
    /* bench */
    fog_stream *bench;
    uint8_t *block;
    uint64_t bench_sent;
    size_t bench_pending;
    uint8_t count[8];
    size_t count_len;
    bool bench_closed_write;
    char bench_err[160];
};

static void finish(app *a);
static void echo_start(app *a);

/* --- small helpers ------------------------------------------------------------------------- */

static void die_usage(const char *msg)
{
    fprintf(stderr,
            "fog-peer: %s\nusage: fog-peer listen [--port N] [--seed HEX] [--quiet] | dial MA "
            "[--ping N] [--echo-streams S --echo-bytes B] | bench-dial MA [--bytes B] "
            "[--chunk C] | swarm MA --nodes N | aead-bench [--bytes B] | id --seed HEX\n",
            msg);
    exit(2);
}

static void emit(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(8));
    if (s != NULL) {
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(s);
    }
    json_decref(o);
}

static double round1(double v)
{
    return round(v * 10.0) / 10.0;
}

static uint64_t ms_since(uint64_t t0_ns)
{
    return (uv_hrtime() - t0_ns) / 1000000u;
}

static json_t *mbps_json(uint64_t bytes, uint64_t ns)
{
    if (ns == 0) {
        return json_null();
    }
    return json_real(round1((double)bytes / 1e6 / ((double)ns / 1e9)));
}

static json_t *peer_json(const uint8_t *id, size_t len)
{
    char s[128];
    if (fog_peer_id_format(id, len, s, sizeof s) < 0) {
        return json_null();
    }
    return json_string(s);
}

static json_t *ma_json(const fog_multiaddr *ma)
{
    char s[FOG_MULTIADDR_STR_MAX];
    if (ma == NULL || ma->len == 0 || fog_multiaddr_format(ma, s, sizeof s) < 0) {
        return json_null();
    }
    return json_string(s);
}

static void log_stderr(void *ctx, int level, const char *module, const char *msg)
{
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    (void)ctx;
    fprintf(stderr, "fog-peer: %s %s: %s\n", names[level & 3], module, msg);
}

static void xs_init(xs_gen *g, uint32_t index)
{
    g->x = (index + 1u) * 0x9E3779B1u;
    if (g->x == 0) {
        g->x = 1;
    }
    g->avail = 0;
}

static void xs_fill(xs_gen *g, uint8_t *out, size_t n)
{
    size_t off = 0;
    while (off < n) {
        if (g->avail == 0) {
            uint32_t x = g->x;
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            g->x = x;
            for (unsigned i = 0; i < 4; i++) {
                g->word[i] = (uint8_t)(x >> (8 * i));
            }
            g->avail = 4;
        }
        size_t take = n - off < g->avail ? n - off : g->avail;
        memcpy(out + off, g->word + (4 - g->avail), take);
        g->avail -= (unsigned)take;
        off += take;
    }
}

/* --- options ------------------------------------------------------------------------------- */

static uint64_t num_arg(const char *name, const char *v)
{
    char *end = NULL;
    if (v == NULL || v[0] < '0' || v[0] > '9') {
        fprintf(stderr, "fog-peer: option --%s needs a non-negative integer\n", name);
        exit(2);
    }
    unsigned long long n = strtoull(v, &end, 10);
    if (*end != '\0') {
        fprintf(stderr, "fog-peer: option --%s needs a non-negative integer, got %s\n", name, v);
        exit(2);
    }
    return (uint64_t)n;
}

static bool flag_opt(opts *o, const char *name)
{
    if (strcmp(name, "quiet") == 0) {
        o->quiet = true;
    } else if (strcmp(name, "no-stdin") == 0) {
        o->no_stdin = true;
    } else if (strcmp(name, "debug") == 0) {
        o->debug = true;
    } else {
        return false;
    }
    return true;
}

static void value_opt(opts *o, const char *name, const char *v)
{
    static const struct {
        const char *name;
        size_t off;
    } nums[] = {
        {"port", offsetof(opts, port)},         {"ping", offsetof(opts, ping)},
        {"echo-streams", offsetof(opts, echo_streams)},
        {"echo-bytes", offsetof(opts, echo_bytes)}, {"bytes", offsetof(opts, bytes)},
        {"chunk", offsetof(opts, chunk)},       {"nodes", offsetof(opts, nodes)},
        {"timeout", offsetof(opts, timeout_ms)},
    };
    if (strcmp(name, "seed") == 0) {
        o->seed = v;
        return;
    }
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(name, nums[i].name) == 0) {
            uint64_t n = num_arg(name, v);
            memcpy((char *)o + nums[i].off, &n, sizeof n);
            o->bytes_set |= strcmp(name, "bytes") == 0;
            return;
        }
    }
    fprintf(stderr, "fog-peer: unknown option --%s\n", name);
    exit(2);
}

static void parse_opts(opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->echo_bytes = 1048576;
    o->bytes = 1073741824;
    o->chunk = 262144;
    o->timeout_ms = 120000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (o->cmd == NULL) {
                o->cmd = a;
            } else if (o->target == NULL) {
                o->target = a;
            } else {
                die_usage("too many arguments");
            }
        } else if (!flag_opt(o, a + 2)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "fog-peer: option %s needs a value\n", a);
                exit(2);
            }
            value_opt(o, a + 2, argv[++i]);
        }
    }
    if (o->cmd == NULL) {
        die_usage("no command");
    }
}

static void identity(app *a)
{
    uint8_t seed[FOG_ED25519_SEED_LEN], pub[FOG_ED25519_PUB_LEN];
    if (a->o.seed != NULL) {
        if (strlen(a->o.seed) != 64 ||
            fog_hex_decode(a->o.seed, 64, seed, sizeof seed) != (int)sizeof seed) {
            die_usage("--seed needs 64 hex digits (a 32-byte Ed25519 seed)");
        }
    } else {
        fog_random_bytes(seed, sizeof seed);
    }
    fog_ed25519_from_seed(seed, pub, a->secret);
    fog_memzero(seed, sizeof seed);
}

/* --- the loop: signals, stdin, stopping ---------------------------------------------------- */

static void node_closed(void *ud)
{
    (void)ud;
}

static void close_handle(uv_handle_t *h, bool *open)
{
    if (*open) {
        *open = false;
        uv_close(h, NULL);
    }
}

/* Closes everything this program holds; uv_run returns once the nodes have closed. */
static void stop(app *a, const char *why)
{
    if (a->stopping) {
        return;
    }
    a->stopping = true;
    if (why != NULL) {
        emit(json_pack("{s:s, s:s}", "event", "stopping", "reason", why));
    }
    uv_close((uv_handle_t *)&a->sig_term, NULL);
    uv_close((uv_handle_t *)&a->sig_int, NULL);
    close_handle((uv_handle_t *)&a->in, &a->in_open);
    close_handle((uv_handle_t *)&a->timer, &a->timer_open);
    if (a->node != NULL) {
        fog_node_close(a->node, node_closed, a);
    }
    for (size_t i = 0; i < a->n_swarm; i++) {
        if (a->swarm[i] != NULL) {
            fog_node_close(a->swarm[i], node_closed, a);
        }
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    app *a = h->data;
    if (a->out != NULL && !a->finished) {
        json_object_set_new(a->out, "ok", json_false());
        json_object_set_new(a->out, "error", json_string("interrupted by a signal"));
        finish(a);
        return;
    }
    stop(a, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char scratch[256];
    (void)h;
    (void)hint;
    *buf = uv_buf_init(scratch, sizeof scratch);
}

static void on_stdin(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n < 0) {
        stop(s->data, n == UV_EOF ? "stdin closed" : "stdin error");
    }
}

/* Watches stdin for EOF when it is a pipe or terminal (a FIFO as peer_lib.sh uses, or an
 * interactive shell); any other stdin (/dev/null of a background job, a file) is ignored. */
static void watch_stdin(app *a)
{
    uv_handle_type t = uv_guess_handle(0);
    if (a->o.no_stdin || (t != UV_NAMED_PIPE && t != UV_TTY)) {
        return;
    }
    if (uv_pipe_init(a->loop, &a->in, 0) != 0) {
        return;
    }
    a->in.data = a;
    a->in_open = true;
    if (uv_pipe_open(&a->in, 0) != 0 || uv_read_start((uv_stream_t *)&a->in, on_alloc,
                                                      on_stdin) != 0) {
        close_handle((uv_handle_t *)&a->in, &a->in_open);
    }
}

static void on_timeout(uv_timer_t *t)
{
    app *a = t->data;
    if (a->out != NULL && !a->finished) {
        char msg[96];
        snprintf(msg, sizeof msg, "timed out after %llu ms", (unsigned long long)a->o.timeout_ms);
        json_object_set_new(a->out, "ok", json_false());
        json_object_set_new(a->out, "error", json_string(msg));
        finish(a);
    }
}

static void loop_setup(app *a, bool with_timeout)
{
    uv_signal_init(a->loop, &a->sig_term);
    uv_signal_init(a->loop, &a->sig_int);
    a->sig_term.data = a->sig_int.data = a;
    uv_signal_start(&a->sig_term, on_signal, SIGTERM);
    uv_signal_start(&a->sig_int, on_signal, SIGINT);
    uv_timer_init(a->loop, &a->timer);
    a->timer.data = a;
    a->timer_open = true;
    if (with_timeout && a->o.timeout_ms > 0) {
        uv_timer_start(&a->timer, on_timeout, a->o.timeout_ms, 0);
    }
}

static int make_node(app *a, fog_node **out, bool listen)
{
    fog_node_config cfg;
    fog_node_config_default(&cfg);
    cfg.identity_secret = a->secret;
    cfg.test_protocols = true;
    cfg.log = (fog_log_sink){log_stderr, NULL, a->o.debug ? FOG_LOG_DEBUG : FOG_LOG_WARN};
    if (listen) {
        if (a->o.port > 65535) {
            die_usage("--port must be 0..65535");
        }
        static const uint8_t lo[4] = {127, 0, 0, 1};
        if (fog_multiaddr_ip_tcp(&cfg.listen[0], 4, lo, (uint16_t)a->o.port) < 0) {
            return FOG_ERR_INVALID;
        }
        cfg.n_listen = 1;
    }
    int rc = fog_node_new(out, a->loop, &cfg);
    if (rc < 0) {
        fprintf(stderr, "fog-peer: node: %s\n", fog_err_detail(rc));
    }
    return rc;
}

/* --- listen -------------------------------------------------------------------------------- */

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static json_t *identify_json(fog_slice peer_id, const fog_identify_parsed *p)
{
    const fog_identify_msg *m = &p->msg;
    const char **protos = calloc(m->n_protocols + 1, sizeof *protos);
    json_t *jp = json_array(), *ja = json_array();
    for (size_t i = 0; protos != NULL && i < m->n_protocols; i++) {
        protos[i] = m->protocols[i];
    }
    if (protos != NULL) {
        qsort(protos, m->n_protocols, sizeof *protos, cmp_str);
        for (size_t i = 0; i < m->n_protocols; i++) {
            json_array_append_new(jp, json_string(protos[i]));
        }
    }
    free(protos);
    for (size_t i = 0; i < m->n_listen_addrs; i++) {
        json_array_append_new(ja, ma_json(&m->listen_addrs[i]));
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "peerId",
                     peer_json(peer_id.p, peer_id.len), "protocols", jp, "listenAddrs", ja,
                     "observedAddr", ma_json(m->observed_addr), "agentVersion",
                     m->agent_version ? json_string(m->agent_version) : json_null(),
                     "protocolVersion",
                     m->protocol_version ? json_string(m->protocol_version) : json_null(),
                     "signedPeerRecord", m->signed_peer_record.len > 0);
}

static void obs_connected(void *ud, const fog_peer_info *p)
{
    (void)ud;
    emit(json_pack("{s:s, s:o, s:o, s:s, s:s, s:s}", "event", "connection", "remotePeer",
                   peer_json(p->peer_id.p, p->peer_id.len), "remoteAddr", ma_json(&p->remote_addr),
                   "direction", p->inbound ? "inbound" : "outbound", "encryption", "/noise",
                   "multiplexer", p->muxer ? p->muxer : "?"));
}

static void obs_identified(void *ud, const fog_peer_info *p)
{
    (void)ud;
    if (p->identify != NULL) {
        json_t *o = json_pack("{s:s}", "event", "identify"); /* first, as peer.mjs prints */
        json_t *id = identify_json(p->peer_id, p->identify);
        json_object_update(o, id);
        json_decref(id);
        emit(o);
    }
}

static void obs_disconnected(void *ud, fog_slice peer_id, int err, const char *detail)
{
    (void)ud;
    json_t *o = json_pack("{s:s, s:o}", "event", "close", "remotePeer",
                          peer_json(peer_id.p, peer_id.len));
    if (err != 0) {
        json_object_set_new(o, "error", json_string(detail ? detail : fog_strerror(err)));
    }
    emit(o);
}

static json_t *listen_addrs_json(fog_node *n)
{
    fog_multiaddr addrs[FOG_NODE_LISTEN_MAX];
    size_t k = fog_node_listen_addrs(n, addrs, FOG_NODE_LISTEN_MAX);
    fog_slice id = fog_node_peer_id(n);
    json_t *arr = json_array();
    for (size_t i = 0; i < k && i < FOG_NODE_LISTEN_MAX; i++) {
        if (fog_multiaddr_push(&addrs[i], FOG_MA_P2P, id.p, id.len) == 0) {
            json_array_append_new(arr, ma_json(&addrs[i]));
        }
    }
    return arr;
}

static int run_listen(app *a)
{
    /* sorted, as peer.mjs prints them: the node's built-ins and the test protocols */
    static const char *protos[] = {FOG_BENCH_PROTO, FOG_ECHO_PROTO, FOG_IDENTIFY_PROTO,
                                   FOG_IDENTIFY_PUSH_PROTO, "/ipfs/ping/1.0.0"};
    int rc = make_node(a, &a->node, true);
    if (rc < 0) {
        return 1;
    }
    if (!a->o.quiet) {
        fog_node_observer obs = {obs_connected, obs_identified, obs_disconnected, a};
        fog_node_set_observer(a->node, &obs);
    }
    if ((rc = fog_node_start(a->node)) < 0) {
        fprintf(stderr, "fog-peer: listen: %s\n", fog_err_detail(rc));
        return 1;
    }
    json_t *jp = json_array();
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        json_array_append_new(jp, json_string(protos[i]));
    }
    fog_slice id = fog_node_peer_id(a->node);
    emit(json_pack("{s:s, s:o, s:o, s:o}", "event", "listening", "peerId",
                   peer_json(id.p, id.len), "addrs", listen_addrs_json(a->node), "protocols", jp));
    loop_setup(a, false);
    watch_stdin(a);
    return 0;
}

/* --- dial: identify, ping, echo ------------------------------------------------------------ */

static bool is_peer(const app *a, fog_slice id)
{
    return id.len == a->peer_len && memcmp(id.p, a->peer, id.len) == 0;
}

static void fail_out(app *a, const char *msg, int err)
{
    json_object_set_new(a->out, "ok", json_false());
    json_object_set_new(a->out, "error", json_string(msg));
    if (err < 0) {
        json_object_set_new(a->out, "errorName", json_string(fog_err_name(err)));
    }
    finish(a);
}

static void ping_next(app *a);

static void on_ping(void *ud, int err, uint64_t rtt_us)
{
    app *a = ud;
    if (a->finished) {
        return;
    }
    if (err < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "ping %llu: %s (%s)", (unsigned long long)a->pings_done + 1,
                 fog_strerror(err), fog_err_name(err));
        if (json_array_size(a->ping_errors) < ERRORS_MAX) {
            json_array_append_new(a->ping_errors, json_string(msg));
        }
    } else {
        json_array_append_new(a->rtts, json_real(round1((double)rtt_us / 1000.0)));
    }
    a->pings_done++;
    ping_next(a);
}

static void ping_next(app *a)
{
    while (a->pings_done < a->o.ping) {
        int rc = fog_node_ping(a->node, a->peer, a->peer_len, on_ping, a);
        if (rc == 0) {
            return;
        }
        if (json_array_size(a->ping_errors) < ERRORS_MAX) {
            json_array_append_new(a->ping_errors, json_string(fog_err_detail(rc)));
        }
        a->pings_done++;
    }
    if (a->o.ping > 0) {
        size_t ok = json_array_size(a->rtts);
        json_object_set_new(a->out, "ping",
                            json_pack("{s:I, s:I, s:O, s:O}", "count", (json_int_t)a->o.ping,
                                      "ok", (json_int_t)ok, "rtts", a->rtts, "errors",
                                      a->ping_errors));
        if (ok != a->o.ping) {
            json_object_set_new(a->out, "ok", json_false());
        }
    }
    echo_start(a);
}

static void got_identify(app *a, const fog_peer_info *p)
{
    a->want_identify = false;
    json_object_set_new(a->out, "identify", identify_json(p->peer_id, p->identify));
    ping_next(a);
}

static void on_id_timeout(uv_timer_t *t)
{
    app *a = t->data;
    if (a->want_identify && !a->finished) {
        a->want_identify = false;
        json_object_set_new(a->out, "ok", json_false());
        json_object_set_new(a->out, "identify",
                            json_pack("{s:s}", "error", "no identify from the peer in 10 s"));
        ping_next(a);
    }
}

static void dial_identified(void *ud, const fog_peer_info *p)
{
    app *a = ud;
    if (a->want_identify && !a->finished && is_peer(a, p->peer_id) && p->identify != NULL) {
        uv_timer_stop(&a->timer);
        if (a->o.timeout_ms > 0) {
            uv_timer_start(&a->timer, on_timeout, a->o.timeout_ms, 0);
        }
        got_identify(a, p);
    }
}

static void dial_disconnected(void *ud, fog_slice peer_id, int err, const char *detail)
{
    app *a = ud;
    if (a->finished || !is_peer(a, peer_id)) {
        return;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "connection closed: %s", detail ? detail : fog_strerror(err));
    json_object_set_new(a->out, "closed", json_string(msg));
    if (a->want_identify) {
        fail_out(a, msg, err);
    }
}

static void bench_start(app *a);

static void on_dialled(void *ud, int err, const char *detail, fog_slice peer_id)
{
    app *a = ud;
    fog_peer_info info;
    if (a->finished) {
        return;
    }
    if (err < 0) {
        fail_out(a, detail ? detail : fog_strerror(err), err);
        return;
    }
    memcpy(a->peer, peer_id.p, peer_id.len);
    a->peer_len = peer_id.len;
    json_object_set_new(a->out, "remotePeer", peer_json(peer_id.p, peer_id.len));
    if (!fog_node_peer(a->node, a->peer, a->peer_len, &info)) {
        fail_out(a, "connected peer is gone", FOG_ERR_CANCELLED);
        return;
    }
    json_object_set_new(a->out, "remoteAddr", ma_json(&info.remote_addr));
    json_object_set_new(a->out, "encryption", json_string("/noise"));
    json_object_set_new(a->out, "multiplexer", json_string(info.muxer ? info.muxer : "?"));
    json_object_set_new(a->out, "connectMs", json_integer((json_int_t)ms_since(a->t0_ns)));
    if (strcmp(a->o.cmd, "bench-dial") == 0) {
        bench_start(a);
    } else if (info.identify != NULL) {
        got_identify(a, &info);
    } else {
        a->want_identify = true;
        uv_timer_stop(&a->timer);
        uv_timer_start(&a->timer, on_id_timeout, IDENTIFY_WAIT_MS, 0);
    }
}

static void finish(app *a)
{
    if (a->finished) {
        return;
    }
    a->finished = true;
    json_t *okv = json_object_get(a->out, "ok");
    a->exit_code = json_is_true(okv) ? 0 : 1;
    emit(a->out);
    a->out = NULL;
    if (a->peer_len > 0) {
        int rc = fog_node_disconnect(a->node, a->peer, a->peer_len);
        (void)rc; /* FOG_ERR_NOT_FOUND: the connection is gone already */
    }
    stop(a, NULL);
}

static int start_dial(app *a, const fog_node_observer *obs)
{
    fog_multiaddr ma;
    if (a->o.target == NULL) {
        die_usage("this command needs a MULTIADDR");
    }
    if (fog_multiaddr_parse(&ma, a->o.target) < 0) {
        fprintf(stderr, "fog-peer: %s\n", fog_err_detail(FOG_ERR_PROTO));
        return 2;
    }
    if (make_node(a, &a->node, false) < 0) {
        return 1;
    }
    fog_node_set_observer(a->node, obs);
    int rc = fog_node_start(a->node);
    if (rc < 0) {
        fprintf(stderr, "fog-peer: start: %s\n", fog_err_detail(rc));
        return 1;
    }
    loop_setup(a, true);
    fog_slice id = fog_node_peer_id(a->node);
    a->out = json_pack("{s:b, s:o}", "ok", true, "peerId", peer_json(id.p, id.len));
    a->rtts = json_array();
    a->ping_errors = json_array();
    a->t0_ns = uv_hrtime();
    if ((rc = fog_node_dial(a->node, &ma, on_dialled, a)) < 0) {
        fail_out(a, fog_err_detail(rc), rc);
    }
    return 0;
}

static int run_dial(app *a)
{
    fog_node_observer obs = {NULL, dial_identified, dial_disconnected, a};
    return start_dial(a, &obs);
}

/* echo streams */

static void echo_finish(app *a)
{
    uint64_t ns = uv_hrtime() - a->echo_t0_ns;
    size_t ok = 0;
    json_t *errs = json_array();
    for (size_t i = 0; i < a->o.echo_streams; i++) {
        if (a->echo[i].ok) {
            ok++;
        } else if (json_array_size(errs) < ERRORS_MAX) {
            json_array_append_new(errs, json_string(a->echo[i].err));
        }
    }
    size_t failed = (size_t)a->o.echo_streams - ok;
    json_object_set_new(a->out, "echo",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "streams",
                                  (json_int_t)a->o.echo_streams, "bytesPerStream",
                                  (json_int_t)a->o.echo_bytes, "ok", (json_int_t)ok, "failed",
                                  (json_int_t)failed, "ms", (json_int_t)(ns / 1000000u), "MBps",
                                  mbps_json(ok * a->o.echo_bytes, ns), "errors", errs));
    if (failed > 0) {
        json_object_set_new(a->out, "ok", json_false());
    }
    finish(a);
}

static void echo_done(echo_ctx *c, bool ok)
{
    c->done = true;
    c->ok = ok;
    if (++c->a->echo_done == c->a->o.echo_streams && !c->a->finished) {
        echo_finish(c->a);
    }
}

static void echo_fail(echo_ctx *c, fog_stream *s, const char *what)
{
    snprintf(c->err, sizeof c->err, "stream %u: %s", c->index, what);
    if (s != NULL) {
        fog_stream_reset(s);
    }
    echo_done(c, false);
}

static void echo_pump(fog_stream *s)
{
    echo_ctx *c = fog_stream_ud(s);
    uint64_t total = c->a->o.echo_bytes;
    while (c->sent < total) {
        if (c->pending == 0) {
            uint64_t left = total - c->sent;
            c->pending = left < ECHO_CHUNK ? (size_t)left : ECHO_CHUNK;
            xs_fill(&c->wgen, c->chunk, c->pending);
        }
        int rc = fog_stream_write(s, c->chunk, c->pending);
        if (rc == FOG_ERR_LIMIT) {
            return; /* on_writable resumes */
        }
        if (rc < 0) {
            echo_fail(c, s, fog_err_detail(rc));
            return;
        }
        c->sent += c->pending;
        c->pending = 0;
    }
    if (!c->closed_write) {
        c->closed_write = true;
        int rc = fog_stream_close(s);
        if (rc < 0) {
            echo_fail(c, s, fog_err_detail(rc));
        }
    }
}

static void echo_on_open(fog_stream *s)
{
    echo_pump(s);
}

static void echo_on_writable(fog_stream *s)
{
    echo_ctx *c = fog_stream_ud(s);
    if (!c->done) {
        echo_pump(s);
    }
}

static size_t echo_on_data(fog_stream *s, const uint8_t *data, size_t len)
{
    static uint8_t want[ECHO_CHUNK];
    echo_ctx *c = fog_stream_ud(s);
    char msg[96];
    if (c->done) {
        return 0;
    }
    if (len > c->a->o.echo_bytes - c->got) {
        snprintf(msg, sizeof msg, "echo returned more than %llu bytes",
                 (unsigned long long)c->a->o.echo_bytes);
        echo_fail(c, s, msg);
        return 0;
    }
    for (size_t off = 0; off < len;) {
        size_t n = len - off < sizeof want ? len - off : sizeof want;
        xs_fill(&c->rgen, want, n);
        if (memcmp(want, data + off, n) != 0) {
            snprintf(msg, sizeof msg, "echo differs in bytes %llu..%llu",
                     (unsigned long long)(c->got + off), (unsigned long long)(c->got + off + n));
            echo_fail(c, s, msg);
            return 0;
        }
        off += n;
    }
    c->got += len;
    return 0;
}

static void echo_on_close(fog_stream *s, int err)
{
    echo_ctx *c = fog_stream_ud(s);
    char msg[160];
    if (c->done) {
        return;
    }
    if (err < 0) {
        snprintf(msg, sizeof msg, "closed: %s (%s) after %llu bytes back", fog_strerror(err),
                 fog_err_name(err), (unsigned long long)c->got);
        echo_fail(c, NULL, msg);
    } else if (c->got != c->a->o.echo_bytes || c->sent != c->a->o.echo_bytes) {
        snprintf(msg, sizeof msg, "echo returned %llu of %llu bytes (sent %llu)",
                 (unsigned long long)c->got, (unsigned long long)c->a->o.echo_bytes,
                 (unsigned long long)c->sent);
        echo_fail(c, NULL, msg);
    } else {
        echo_done(c, true);
    }
}

static const fog_stream_handler echo_handler = {echo_on_open, echo_on_data, NULL,
                                                echo_on_writable, echo_on_close};

static void echo_start(app *a)
{
    size_t n = (size_t)a->o.echo_streams;
    if (n == 0) {
        finish(a);
        return;
    }
    a->echo = calloc(n, sizeof *a->echo);
    if (a->echo == NULL) {
        fail_out(a, "out of memory", FOG_ERR_NOMEM);
        return;
    }
    a->echo_t0_ns = uv_hrtime();
    for (size_t i = 0; i < n; i++) {
        echo_ctx *c = &a->echo[i];
        fog_stream *s = NULL;
        c->a = a;
        c->index = (uint32_t)i;
        xs_init(&c->wgen, c->index);
        xs_init(&c->rgen, c->index);
        int rc = fog_node_open_stream(a->node, a->peer, a->peer_len, FOG_ECHO_PROTO,
                                      &echo_handler, c, &s);
        if (rc < 0) {
            echo_fail(c, NULL, fog_err_detail(rc));
        }
    }
}

/* --- bench-dial ---------------------------------------------------------------------------- */

static void bench_fail(app *a, fog_stream *s, const char *what)
{
    snprintf(a->bench_err, sizeof a->bench_err, "%s", what);
    if (s != NULL) {
        fog_stream_reset(s);
    }
    fail_out(a, a->bench_err, 0);
}

static void bench_pump(fog_stream *s)
{
    app *a = fog_stream_ud(s);
    while (a->bench_sent < a->o.bytes) {
        uint64_t left = a->o.bytes - a->bench_sent;
        size_t n = left < a->o.chunk ? (size_t)left : (size_t)a->o.chunk;
        int rc = fog_stream_write(s, a->block, n);
        if (rc == FOG_ERR_LIMIT) {
            return;
        }
        if (rc < 0) {
            bench_fail(a, s, fog_err_detail(rc));
            return;
        }
        a->bench_sent += n;
    }
    if (!a->bench_closed_write) {
        a->bench_closed_write = true;
        int rc = fog_stream_close(s);
        if (rc < 0) {
            bench_fail(a, s, fog_err_detail(rc));
        }
    }
}

static void bench_on_open(fog_stream *s)
{
    app *a = fog_stream_ud(s);
    a->t0_ns = uv_hrtime();
    bench_pump(s);
}

static void bench_on_writable(fog_stream *s)
{
    app *a = fog_stream_ud(s);
    if (!a->finished) {
        bench_pump(s);
    }
}

static size_t bench_on_data(fog_stream *s, const uint8_t *data, size_t len)
{
    app *a = fog_stream_ud(s);
    if (a->finished) {
        return 0;
    }
    if (len > sizeof a->count - a->count_len) {
        bench_fail(a, s, "the sink answered more than 8 bytes");
        return 0;
    }
    memcpy(a->count + a->count_len, data, len);
    a->count_len += len;
    return 0;
}

static void bench_on_close(fog_stream *s, int err)
{
    app *a = fog_stream_ud(s);
    uint64_t ns = uv_hrtime() - a->t0_ns;
    if (a->finished) {
        return;
    }
    json_t *recv = json_null();
    uint64_t got = 0;
    if (a->count_len == 8) {
        for (size_t i = 0; i < 8; i++) {
            got = got << 8 | a->count[i];
        }
        json_decref(recv);
        recv = json_integer((json_int_t)got);
    }
    bool ok = err == 0 && a->count_len == 8 && got == a->o.bytes;
    json_object_set_new(a->out, "ok", json_boolean(ok));
    json_object_set_new(a->out, "bytes", json_integer((json_int_t)a->o.bytes));
    json_object_set_new(a->out, "received", recv);
    json_object_set_new(a->out, "ms", json_integer((json_int_t)(ns / 1000000u)));
    json_object_set_new(a->out, "MBps", mbps_json(a->o.bytes, ns));
    json_object_set_new(a->out, "MiBps",
                        ns ? json_real(round1((double)a->o.bytes / 1048576.0 / ((double)ns / 1e9)))
                           : json_null());
    if (err < 0) {
        json_object_set_new(a->out, "error", json_string(fog_strerror(err)));
        json_object_set_new(a->out, "errorName", json_string(fog_err_name(err)));
    }
    finish(a);
}

static const fog_stream_handler bench_handler = {bench_on_open, bench_on_data, NULL,
                                                 bench_on_writable, bench_on_close};

static void bench_start(app *a)
{
    xs_gen g;
    size_t chunk = a->o.chunk == 0 ? 1 : (size_t)a->o.chunk;
    a->o.chunk = chunk;
    a->block = malloc(chunk);
    if (a->block == NULL) {
        fail_out(a, "out of memory", FOG_ERR_NOMEM);
        return;
    }
    xs_init(&g, 0);
    xs_fill(&g, a->block, chunk);
    int rc = fog_node_open_stream(a->node, a->peer, a->peer_len, FOG_BENCH_PROTO, &bench_handler,
                                  a, &a->bench);
    if (rc < 0) {
        fail_out(a, fog_err_detail(rc), rc);
    }
}

static int run_bench_dial(app *a)
{
    if (a->o.chunk == 0 || a->o.chunk > 16u << 20) {
        die_usage("--chunk must be 1..16777216");
    }
    fog_node_observer obs = {NULL, NULL, dial_disconnected, a};
    return start_dial(a, &obs);
}

/* --- swarm --------------------------------------------------------------------------------- */

static void on_swarm_dialled(void *ud, int err, const char *detail, fog_slice peer_id)
{
    app *a = ud;
    (void)peer_id;
    if (a->stopping) {
        return;
    }
    if (err < 0) {
        a->swarm_failed++;
        emit(json_pack("{s:s, s:s, s:s}", "event", "error", "error",
                       detail ? detail : fog_strerror(err), "errorName", fog_err_name(err)));
    } else {
        a->swarm_up++;
    }
    if (a->swarm_up + a->swarm_failed < a->n_swarm) {
        return;
    }
    if (a->swarm_failed == 0) {
        emit(json_pack("{s:s, s:I}", "event", "connected", "count", (json_int_t)a->swarm_up));
    } else {
        emit(json_pack("{s:s, s:I, s:I}", "event", "failed", "count", (json_int_t)a->swarm_up,
                       "failed", (json_int_t)a->swarm_failed));
        a->exit_code = 1;
        stop(a, "dial failed");
    }
}

static int swarm_one(app *a, size_t i, const fog_multiaddr *ma)
{
    int rc;
    fog_random_bytes(a->secret, FOG_ED25519_SEED_LEN);
    uint8_t seed[FOG_ED25519_SEED_LEN], pub[FOG_ED25519_PUB_LEN];
    memcpy(seed, a->secret, sizeof seed);
    fog_ed25519_from_seed(seed, pub, a->secret);
    fog_memzero(seed, sizeof seed);
    if ((rc = make_node(a, &a->swarm[i], false)) < 0) {
        return rc;
    }
    fog_node_observer obs = {NULL, NULL, obs_disconnected, a};
    fog_node_set_observer(a->swarm[i], &obs);
    if ((rc = fog_node_start(a->swarm[i])) < 0 || (rc = fog_node_dial(a->swarm[i], ma,
                                                                      on_swarm_dialled, a)) < 0) {
        fprintf(stderr, "fog-peer: swarm node %zu: %s\n", i, fog_err_detail(rc));
        return rc;
    }
    return 0;
}

static int run_swarm(app *a)
{
    fog_multiaddr ma;
    if (a->o.target == NULL || a->o.nodes == 0 || a->o.nodes > 10000) {
        die_usage("swarm needs a MULTIADDR and --nodes 1..10000");
    }
    if (fog_multiaddr_parse(&ma, a->o.target) < 0) {
        fprintf(stderr, "fog-peer: %s\n", fog_err_detail(FOG_ERR_PROTO));
        return 2;
    }
    a->swarm = calloc((size_t)a->o.nodes, sizeof *a->swarm);
    if (a->swarm == NULL) {
        return 1;
    }
    a->n_swarm = (size_t)a->o.nodes;
    loop_setup(a, false);
    watch_stdin(a);
    for (size_t i = 0; i < a->n_swarm; i++) {
        if (swarm_one(a, i, &ma) < 0) {
            a->exit_code = 1;
            stop(a, "node failed");
            break;
        }
    }
    return 0;
}

/* --- aead-bench and id --------------------------------------------------------------------- */

/* Seals total bytes in Noise-sized frames with fog's cipher (libsodium's when sodium is set);
 * returns the nanoseconds taken, or 0 when a seal failed. */
static uint64_t aead_time(uint64_t total, bool sodium)
{
    static uint8_t pt[FOG_NOISE_PLAINTEXT_MAX], ct[FOG_NOISE_MSG_MAX];
    uint8_t key[32], nonce[12] = {0};
    fog_random_bytes(key, sizeof key);
    fog_random_bytes(pt, sizeof pt);
    uint64_t t0 = uv_hrtime(), done = 0, n = 0;
    while (done < total) {
        uint64_t left = total - done;
        size_t len = left < sizeof pt ? (size_t)left : sizeof pt;
        for (size_t i = 0; i < 8; i++) { /* Noise: 4 zero bytes, then the counter little-endian */
            nonce[4 + i] = (uint8_t)(n >> (8 * i));
        }
        if (sodium) {
            crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, len, NULL, 0, NULL, nonce, key);
        } else if (fog_chachapoly_seal(key, nonce, NULL, 0, pt, len, ct) != 0) {
            return 0;
        }
        done += len;
        n++;
    }
    return uv_hrtime() - t0;
}

static int run_aead(app *a)
{
    uint64_t total = a->o.bytes_set ? a->o.bytes : 1073741824u;
    if (sodium_init() < 0) {
        return 1;
    }
    uint64_t ns = aead_time(total, false), ns_sodium = aead_time(total, true);
    if (ns == 0) {
        fprintf(stderr, "fog-peer: fog_chachapoly_seal failed: %s\n", fog_err_detail(0));
        return 1;
    }
    emit(json_pack("{s:o, s:I, s:I, s:I, s:o}", "MBps", mbps_json(total, ns), "bytes",
                   (json_int_t)total, "ms", (json_int_t)(ns / 1000000u), "frameBytes",
                   (json_int_t)FOG_NOISE_PLAINTEXT_MAX, "libsodiumMBps",
                   mbps_json(total, ns_sodium)));
    return 0;
}

static int run_id(app *a)
{
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    if (a->o.seed == NULL) {
        die_usage("id needs --seed HEX");
    }
    identity(a); /* secret = seed || public key */
    fog_peer_id_ed25519(a->secret + FOG_ED25519_SEED_LEN, id);
    emit(json_pack("{s:o}", "peerId", peer_json(id, sizeof id)));
    return 0;
}

/* --- main ---------------------------------------------------------------------------------- */

static void cleanup(app *a)
{
    fog_node_free(a->node);
    for (size_t i = 0; i < a->n_swarm; i++) {
        fog_node_free(a->swarm[i]);
    }
    free(a->swarm);
    free(a->echo);
    free(a->block);
    json_decref(a->out);
    json_decref(a->rtts);
    json_decref(a->ping_errors);
    fog_memzero(a->secret, sizeof a->secret);
}

int main(int argc, char **argv)
{
    static app a;
    static const struct {
        const char *name;
        int (*run)(app *);
        bool loop;
    } cmds[] = {
        {"listen", run_listen, true},   {"bench-listen", run_listen, true},
        {"dial", run_dial, true},       {"bench-dial", run_bench_dial, true},
        {"swarm", run_swarm, true},     {"aead-bench", run_aead, false},
        {"id", run_id, false},
    };
    parse_opts(&a.o, argc, argv);
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(a.o.cmd, cmds[i].name) != 0) {
            continue;
        }
        if (!cmds[i].loop) {
            return cmds[i].run(&a);
        }
        uv_loop_t loop;
        if (uv_loop_init(&loop) != 0) {
            return 1;
        }
        a.loop = &loop;
        identity(&a);
        int rc = cmds[i].run(&a);
        if (rc == 0) {
            uv_run(&loop, UV_RUN_DEFAULT);
            rc = a.exit_code;
        }
        cleanup(&a);
        (void)uv_loop_close(&loop);
        return rc;
    }
    die_usage("unknown command");
    return 2;
}
