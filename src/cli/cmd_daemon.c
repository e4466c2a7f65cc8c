/* cmd_daemon.c: `fog daemon`: one libuv loop running the libp2p node (fog/node.h) and the local
 * HTTP API (fog/api.h), with the Kademlia DHT (fog/dht.h) and bitswap (fog/bswap.h), until
 * SIGINT, SIGTERM or /api/v0/shutdown.
 * The repository stays open for the daemon's life with a shared write lock (FOG_STORE_WRITE), so
 * the other fog commands (add, cat, pin ...) keep working beside the daemon; the loop writes to
 * it only through a fog_store_writer (fog/storew.h), whose batches run on the thread pool. The
 * config's Addresses (kubo's {"Swarm": [...], "API": "..."}; defaults when a repository has none)
 * are read at start. One daemon per repository: an exclusive flock on $REPO/daemon.lock, held
 * for the daemon's life. The API's
 * actual address (port 0 picks one) goes to $REPO/api (temporary file + rename), where the CLI
 * finds it; the file is removed at shutdown. Shutdown order: the API's content workers first
 * (they hold bitswap sessions), then the node (its dial and ping callbacks still reach the API's
 * pending requests), then the DHT (its lookups end, answering the API's findpeer requests), then
 * the API, then bitswap, then the store writer (its queued writes finish), then the store.
 * The Kademlia DHT (fog/dht.h) runs in server mode unless --no-dht; once the node listens it
 * bootstraps from the config's Bootstrap list (cmd_bootstrap.c; empty by default, and then it
 * dials nothing) and logs the outcome. It takes the node's observer slot; nothing else here
 * uses the observer.
 * The daemon's state is one file-level struct: the process runs one daemon.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "fog/api.h"
#include "fog/bswap.h"
#include "fog/crypto.h"
#include "fog/dht.h"
#include "fog/ipns.h"
#include "fog/node.h"
#include "fog/storew.h"

#define DEFAULT_SWARM_4 "/ip4/0.0.0.0/tcp/4001"
#define DEFAULT_SWARM_6 "/ip6/::/tcp/4001"
#define DEFAULT_API "/ip4/127.0.0.1/tcp/5001"

static struct {
    uv_loop_t loop;
    fog_node *node;
    fog_store *store;
    fog_store_writer *writer;
    fog_bswap *bswap;
    fog_node_observer bs_obs; /* bitswap's observer, reached through the trampolines below */
    fog_api *api;
    fog_dht *dht;
    bool no_dht;
    fog_multiaddr bootstrap[CLI_BOOTSTRAP_MAX];
    size_t n_bootstrap;
    uv_signal_t sig_int, sig_term;
    char api_file[4096];
    char peer_id[128];
    bool api_file_written;
    bool stopping;
    int exit_code;
    fog_node_config ncfg;
    fog_api_config acfg;
} D;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

static void log_line(void *ctx, int level, const char *module, const char *msg)
{
    (void)ctx;
    const char *name = level >= 0 && level <= FOG_LOG_DEBUG ? level_names[level] : "?";
    fprintf(stderr, "%s %s: %s\n", name, module, msg);
}

/* --- Configuration ------------------------------------------------------------------------- */

static int parse_addr(fog_multiaddr *out, const char *text, const char *what)
{
    int rc = fog_multiaddr_parse(out, text);
    if (rc < 0) {
        return cli_failf("%s: %s", what, fog_err_detail(rc));
    }
    return 0;
}

/* "A,B,C" (from --listen) into the node's listen table. */
static int listen_from_list(const char *list)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf) {
        return cli_failf("--listen is too long");
    }
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        if (D.ncfg.n_listen == FOG_NODE_LISTEN_MAX) {
            return cli_failf("at most %d listen addresses", FOG_NODE_LISTEN_MAX);
        }
        if (parse_addr(&D.ncfg.listen[D.ncfg.n_listen++], t, "--listen") != 0) {
            return CLI_FAIL;
        }
    }
    return 0;
}

/* Addresses.Swarm and Addresses.API of $REPO/config, or the defaults. */
static int addresses_from_config(const char *repo, bool want_swarm, bool want_api)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config", repo);
    json_t *root = json_load_file(path, 0, NULL);
    json_t *addrs = json_object_get(root, "Addresses");
    json_t *swarm = json_object_get(addrs, "Swarm");
    const char *api = json_string_value(json_object_get(addrs, "API"));
    int rc = 0;
    if (want_swarm && json_is_array(swarm)) {
        for (size_t i = 0; i < json_array_size(swarm) && rc == 0; i++) {
            const char *s = json_string_value(json_array_get(swarm, i));
            if (s == NULL || D.ncfg.n_listen == FOG_NODE_LISTEN_MAX) {
                rc = cli_failf("config %s: Addresses.Swarm must hold at most %d multiaddrs",
                               path, FOG_NODE_LISTEN_MAX);
            } else {
                rc = parse_addr(&D.ncfg.listen[D.ncfg.n_listen++], s, "Addresses.Swarm");
            }
        }
    } else if (want_swarm) {
        rc = parse_addr(&D.ncfg.listen[D.ncfg.n_listen++], DEFAULT_SWARM_4, "default");
        rc = rc != 0 ? rc : parse_addr(&D.ncfg.listen[D.ncfg.n_listen++], DEFAULT_SWARM_6, "");
    }
    if (rc == 0 && want_api) {
        rc = parse_addr(&D.acfg.listen, api != NULL ? api : DEFAULT_API, "Addresses.API");
    }
    json_decref(root);
    return rc;
}

/* Opens the repository for the daemon's life: identity (into secret) and peer ID text. */
static int open_store(const char *repo, uint8_t secret[64])
{
    if (cli_open(repo, FOG_STORE_WRITE, &D.store) != 0) {
        return CLI_FAIL;
    }
    fog_store_identity_secret(D.store, secret);
    snprintf(D.peer_id, sizeof D.peer_id, "%s", fog_store_peer_id(D.store));
    return 0;
}

static int take_lock(const char *repo, int *fd_out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/daemon.lock", repo);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return cli_failf("cannot open %s: %s", path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            return cli_failf("a daemon is already running on %s", repo);
        }
        return cli_failf("cannot lock %s: %s", path, strerror(e));
    }
    *fd_out = fd;
    return 0;
}

/* $REPO/api through $REPO/api.tmp and rename. */
static int write_api_file(const char *repo, const char *text)
{
    char tmp[4200];
    snprintf(D.api_file, sizeof D.api_file, "%s/api", repo);
    snprintf(tmp, sizeof tmp, "%s.tmp", D.api_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        return cli_failf("cannot write %s: %s", tmp, strerror(errno));
    }
    bool ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, D.api_file) < 0) {
        unlink(tmp);
        return cli_failf("cannot write %s: %s", D.api_file, strerror(errno));
    }
    D.api_file_written = true;
    return 0;
}

/* --- Shutdown ------------------------------------------------------------------------------ */

static void writer_closed(void *ud)
{
    (void)ud;
    fog_store_writer_free(D.writer);
    D.writer = NULL;
    fog_node_free(D.node);
    D.node = NULL;
    fog_store_close(D.store);
    D.store = NULL;
    if (D.api_file_written) {
        unlink(D.api_file);
    }
    uv_close((uv_handle_t *)&D.sig_int, NULL);
    uv_close((uv_handle_t *)&D.sig_term, NULL);
    uv_stop(&D.loop); /* an HTTP client that kept its connection open must not hold us */
}

/* The API's content workers use bitswap and the writer: both go after the API. */
static void api_closed(void *ud)
{
    (void)ud;
    fog_api_free(D.api);
    D.api = NULL;
    fog_bswap_free(D.bswap);
    D.bswap = NULL;
    fog_store_writer_close(D.writer, writer_closed, NULL);
}

static void node_closed(void *ud)
{
    (void)ud;
    fog_dht_free(D.dht); /* lookups still running end here, before the API closes */
    D.dht = NULL;
    if (D.api == NULL) {
        api_closed(NULL);
        return;
    }
    fog_api_close(D.api, api_closed, NULL);
}

static void content_closed(void *ud)
{
    (void)ud;
    fog_node_close(D.node, node_closed, NULL);
}

static void stop(void *ud)
{
    (void)ud;
    if (D.stopping) {
        return;
    }
    D.stopping = true;
    fog_logf(&D.ncfg.log, FOG_LOG_INFO, "daemon", "shutting down");
    if (D.api != NULL) {
        fog_api_content_close(D.api, content_closed, NULL); /* its workers hold sessions */
    } else {
        content_closed(NULL);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    stop(NULL);
}

/* --- Start --------------------------------------------------------------------------------- */

static void print_ready(void)
{
    printf("peer ID: %s\n", D.peer_id);
    /* What peers can dial: an unspecified bind address (0.0.0.0, ::) shows as the interfaces'
     * addresses, as identify announces them. */
    fog_multiaddr addrs[FOG_NODE_ANNOUNCE_MAX];
    size_t n = fog_node_announce_addrs(D.node, addrs);
    for (size_t i = 0; i < n; i++) {
        printf("listening on %s/p2p/%s\n", fog_multiaddr_str(&addrs[i]), D.peer_id);
    }
    printf("API server listening on %s\n", fog_multiaddr_str(fog_api_addr(D.api)));
    printf("daemon is ready\n");
    fflush(stdout);
}

static void bootstrapped(void *ud, int err, size_t connected, size_t table_size)
{
    (void)ud;
    if (err == FOG_ERR_CANCELLED) {
        return;
    }
    if (err < 0) {
        fog_logf(&D.ncfg.log, FOG_LOG_WARN, "daemon", "dht: bootstrap failed: %s",
                 fog_strerror(err));
        return;
    }
    fog_logf(&D.ncfg.log, FOG_LOG_INFO, "daemon", "dht: bootstrapped from %zu peers, "
             "routing table %zu", connected, table_size);
}

static void start_bootstrap(void)
{
    if (D.dht == NULL || D.n_bootstrap == 0) {
        return;
    }
    fog_err_clear();
    int rc = fog_dht_bootstrap(D.dht, D.bootstrap, D.n_bootstrap, bootstrapped, NULL);
    if (rc < 0) {
        fog_logf(&D.ncfg.log, FOG_LOG_WARN, "daemon", "dht: bootstrap failed: %s",
                 fog_err_detail(rc));
    }
}

/* Connection events: the DHT holds the node's observer slot and passes them on; these forward
 * them to bitswap, which is made after the DHT (it needs the DHT for provider searches). */
static void obs_connected(void *ud, const fog_peer_info *p)
{
    (void)ud;
    if (D.bs_obs.connected != NULL) {
        D.bs_obs.connected(D.bs_obs.ud, p);
    }
}

static void obs_identified(void *ud, const fog_peer_info *p)
{
    (void)ud;
    if (D.bs_obs.identified != NULL) {
        D.bs_obs.identified(D.bs_obs.ud, p);
    }
}

static void obs_disconnected(void *ud, fog_slice peer_id, int err, const char *detail)
{
    (void)ud;
    if (D.bs_obs.disconnected != NULL) {
        D.bs_obs.disconnected(D.bs_obs.ud, peer_id, err, detail);
    }
}

static int bswap_up(void)
{
    fog_bswap_config bcfg;
    fog_bswap_config_default(&bcfg);
    bcfg.loop = &D.loop;
    bcfg.store = D.store;
    bcfg.writer = D.writer;
    bcfg.dht = D.dht;
    bcfg.log = D.ncfg.log;
    int rc = fog_bswap_new(&D.bswap, D.node, &bcfg);
    if (rc == 0) {
        D.bs_obs = fog_bswap_observer(D.bswap);
    }
    return rc;
}

/* The node, with its DHT unless --no-dht, and bitswap; started. */
static int node_up(void)
{
    int rc = fog_store_writer_new(&D.writer, &D.loop, D.store);
    if (rc < 0) {
        return rc;
    }
    rc = fog_node_new(&D.node, &D.loop, &D.ncfg);
    fog_node_observer tramp = {obs_connected, obs_identified, obs_disconnected, NULL};
    if (rc == 0 && !D.no_dht) {
        fog_dht_config dcfg;
        fog_dht_config_default(&dcfg);
        dcfg.loop = &D.loop;
        dcfg.log = D.ncfg.log;
        dcfg.store = D.store;   /* provider records, reprovide of the pinned roots */
        dcfg.writer = D.writer;
        dcfg.validators[0] = fog_ipns_dht_validator(); /* /ipns/ value records */
        dcfg.observer = tramp;
        rc = fog_dht_new(&D.dht, D.node, &dcfg);
    } else if (rc == 0) {
        fog_node_set_observer(D.node, &tramp);
    }
    if (rc == 0) {
        rc = bswap_up();
    }
    if (rc == 0) {
        rc = fog_node_start(D.node);
    }
    if (rc < 0) {
        fog_bswap_free(D.bswap);
        D.bswap = NULL;
        fog_dht_free(D.dht);
        D.dht = NULL;
        fog_node_free(D.node);
        D.node = NULL;
        fog_store_writer_free(D.writer); /* it never got a job */
        D.writer = NULL;
    }
    return rc;
}

/* Node and API up, api file written; CLI_FAIL (printed) when nothing runs. A failure after the
 * node started sets D.exit_code and closes everything through the loop. */
static int start(const char *repo)
{
    uv_signal_init(&D.loop, &D.sig_int);
    uv_signal_init(&D.loop, &D.sig_term);
    int rc = node_up();
    if (rc < 0) {
        uv_close((uv_handle_t *)&D.sig_int, NULL);
        uv_close((uv_handle_t *)&D.sig_term, NULL);
        return cli_fail(rc);
    }
    D.acfg.on_shutdown = stop;
    D.acfg.dht = D.dht;
    D.acfg.store = D.store;
    D.acfg.bswap = D.bswap;
    D.acfg.writer = D.writer;
    D.acfg.repo = repo;
    if ((rc = fog_api_new(&D.api, &D.loop, D.node, &D.acfg)) < 0 ||
        (rc = fog_api_start(D.api)) < 0 ||
        (rc = write_api_file(repo, fog_multiaddr_str(fog_api_addr(D.api)))) != 0) {
        if (rc < 0) {
            cli_fail(rc);
        }
        D.exit_code = CLI_FAIL;
        stop(NULL);
        return 0;
    }
    uv_signal_start(&D.sig_int, on_signal, SIGINT);
    uv_signal_start(&D.sig_term, on_signal, SIGTERM);
    print_ready();
    start_bootstrap();
    return 0;
}

static int parse_level(const char *s, int *out)
{
    for (int i = 0; i <= FOG_LOG_DEBUG; i++) {
        const char *names[] = {"error", "warn", "info", "debug"};
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    fprintf(stderr, "error: --log-level takes error, warn, info or debug\n");
    return CLI_USAGE;
}

static int configure(const char *repo, cli_args *a, uint8_t secret[64])
{
    int level = FOG_LOG_INFO;
    const char *lv = cli_value(a, "log-level");
    int rc = lv != NULL ? parse_level(lv, &level) : 0;
    if (rc != 0) {
        return rc;
    }
    fog_node_config_default(&D.ncfg);
    D.ncfg.log = (fog_log_sink){log_line, NULL, level};
    D.acfg.log = D.ncfg.log;
    D.ncfg.test_protocols = cli_has(a, "test-protocols");
    D.acfg.test_protocols = D.ncfg.test_protocols;
    const char *listen = cli_value(a, "listen");
    const char *api = cli_value(a, "api");
    if ((listen != NULL && listen_from_list(listen) != 0) ||
        (api != NULL && parse_addr(&D.acfg.listen, api, "--api") != 0)) {
        return CLI_FAIL;
    }
    D.no_dht = cli_has(a, "no-dht");
    const char *rp = cli_value(a, "republish-interval");
    int64_t rp_ns = 4 * 3600 * 1000000000LL; /* kubo's Ipns.RepublishPeriod */
    if (rp != NULL && fog_duration_parse(rp, &rp_ns) < 0) {
        return cli_fail(FOG_ERR_INVALID);
    }
    D.acfg.republish_interval_ms = (fog_ms)(rp_ns / 1000000);
    D.acfg.republish_delay_ms = D.acfg.republish_interval_ms < 60000 ? D.acfg.republish_interval_ms
                                                                     : 60000;
    if (open_store(repo, secret) != 0 ||
        addresses_from_config(repo, listen == NULL, api == NULL) != 0 ||
        (!D.no_dht && cli_bootstrap_read(repo, D.bootstrap, CLI_BOOTSTRAP_MAX,
                                         &D.n_bootstrap) != 0)) {
        return CLI_FAIL;
    }
    D.ncfg.identity_secret = secret;
    return 0;
}

static int run_daemon(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_daemon, a, 0, 0);
    if (rc != 0) {
        return rc;
    }
    if (repo == NULL) {
        return cli_failf("no repository path: set $FOG_PATH, $HOME or pass --repo DIR");
    }
    uint8_t secret[64] = {0};
    int lock_fd = -1;
    if ((rc = configure(repo, a, secret)) != 0 || (rc = take_lock(repo, &lock_fd)) != 0) {
        fog_memzero(secret, sizeof secret);
        fog_store_close(D.store);
        if (lock_fd >= 0) {
            close(lock_fd);
        }
        return rc;
    }
    uv_loop_init(&D.loop);
    rc = start(repo);
    fog_memzero(secret, sizeof secret);
    uv_run(&D.loop, UV_RUN_DEFAULT);
    uv_run(&D.loop, UV_RUN_NOWAIT); /* close callbacks of the last handles */
    (void)uv_loop_close(&D.loop);
    fog_store_close(D.store); /* when start failed before the loop ran */
    close(lock_fd);
    return rc != 0 ? rc : D.exit_code;
}

static const cli_opt daemon_opts[] = {
    {"listen", 0, OPT_VALUE, "MULTIADDR[,...]",
     "listen here instead of Addresses.Swarm (comma-separated)"},
    {"api", 0, OPT_VALUE, "MULTIADDR", "serve the HTTP API here instead of Addresses.API"},
    {"test-protocols", 0, OPT_FLAG, NULL, "serve the interop test protocols (echo, bench)"},
    {"log-level", 0, OPT_VALUE, "LEVEL", "error, warn, info (default) or debug, on stderr"},
    {"no-dht", 0, OPT_FLAG, NULL, "do not run the Kademlia DHT (no bootstrap, no routing)"},
    {"republish-interval", 0, OPT_VALUE, "DURATION",
     "sign and put this node's IPNS records again this often (default 4h; 0: never)"},
};
const cli_cmd cli_cmd_daemon = {
    "daemon", "[options]", "run the network node and the local HTTP API",
    "Listens on Addresses.Swarm of the config (default /ip4/0.0.0.0/tcp/4001 and\n"
    "/ip6/::/tcp/4001) and serves the API on Addresses.API (default /ip4/127.0.0.1/tcp/5001);\n"
    "the API's actual address is written to REPO/api. Port 0 picks a free port.\n"
    "The other commands (fog add, cat, pin ...) keep working on the repository while the\n"
    "daemon runs ('fog repo gc' needs it stopped). One daemon per repository. Stops on Ctrl-C, SIGTERM or\n"
    "/api/v0/shutdown.\n"
    "The Kademlia DHT (/ipfs/kad/1.0.0) runs in server mode and, once listening, bootstraps\n"
    "from the config's Bootstrap list (see 'fog bootstrap'; empty by default).",
    daemon_opts, sizeof daemon_opts / sizeof daemon_opts[0], run_daemon};
