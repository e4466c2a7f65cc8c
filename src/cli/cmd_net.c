/* cmd_net.c: the network commands, answered by a running daemon through its HTTP API
 * (apiclient.c): id, swarm connect, swarm peers, ping. Output follows kubo's: id prints the JSON
 * object, swarm connect "connect ID success", swarm peers one MULTIADDR/p2p/ID line per peer,
 * ping "PING ID.", "Pong received: time=0.25 ms" lines and "Average latency: 0.25ms".
 * Without a daemon, `fog id` (no PEER) answers from the repository, as kubo does offline; the
 * others say that no daemon runs.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apiclient.h"
#include "fog/crypto.h"
#include "fog/multiaddr.h"

static void print_json(json_t *v)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text != NULL) {
        printf("%s\n", text);
        free(text);
    }
}

/* --- id ------------------------------------------------------------------------------------ */

/* Our ID and public key from the repository (no daemon: no addresses, no protocols). */
static int id_offline(const char *repo)
{
    fog_store *s;
    if (cli_open(repo, FOG_STORE_READ, &s) != 0) {
        return CLI_FAIL;
    }
    uint8_t secret[64];
    fog_store_identity_secret(s, secret);
    uint8_t pb[36] = {0x08, 0x01, 0x12, 0x20};
    memcpy(pb + 4, secret + 32, 32);
    fog_memzero(secret, sizeof secret);
    char b64[64];
    int n = fog_base_encode(FOG_BASE64, pb, sizeof pb, b64, sizeof b64);
    if (n < 0) {
        fog_store_close(s);
        return cli_fail(n);
    }
    /* 36 bytes are 48 base64 characters: no padding needed. */
    json_t *v = json_pack("{s:s,s:s,s:[],s:s,s:[]}", "ID", fog_store_peer_id(s), "PublicKey", b64,
                          "Addresses", "AgentVersion", "fog/" FOG_VERSION, "Protocols");
    fog_store_close(s);
    print_json(v);
    json_decref(v);
    return CLI_OK;
}

static int run_id(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_id, a, 0, 1);
    if (rc != 0) {
        return rc;
    }
    if (a->n_pos == 1) {
        uint8_t id[FOG_PEER_ID_MAX];
        int n = fog_peer_id_parse(a->pos[0], id);
        if (n < 0) {
            return cli_fail(n);
        }
    }
    json_t *v = NULL;
    rc = cli_api_call(repo, "id", a->pos, a->n_pos, NULL, NULL, NULL, &v);
    if (rc == CLI_API_NO_DAEMON) {
        return a->n_pos == 0 ? id_offline(repo) : cli_api_no_daemon();
    }
    if (rc == CLI_OK) {
        print_json(v);
        json_decref(v);
    }
    return rc;
}
const cli_cmd cli_cmd_id = {
    "id", "[PEER]", "show this node's (or a connected peer's) ID, key, addresses, protocols",
    "With a running daemon, the answer comes from it (for PEER: from the peer's identify).\n"
    "Without one, fog id shows the repository's identity (no addresses).",
    NULL, 0, run_id};

/* --- swarm connect / peers ----------------------------------------------------------------- */

static int run_swarm_connect(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_swarm_connect, a, 1, 16);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < a->n_pos; i++) {
        fog_multiaddr ma;
        int e = fog_multiaddr_parse(&ma, a->pos[i]);
        if (e < 0) {
            return cli_fail(e);
        }
    }
    json_t *v = NULL;
    rc = cli_api_call(repo, "swarm/connect", a->pos, a->n_pos, NULL, NULL, NULL, &v);
    if (rc == CLI_API_NO_DAEMON) {
        return cli_api_no_daemon();
    }
    json_t *s = json_object_get(v, "Strings");
    for (size_t i = 0; rc == CLI_OK && i < json_array_size(s); i++) {
        printf("%s\n", json_string_value(json_array_get(s, i)));
    }
    json_decref(v);
    return rc;
}
const cli_cmd cli_cmd_swarm_connect = {
    "swarm connect", "MULTIADDR...", "connect the daemon to peers",
    "MULTIADDR is /ip4|/ip6/ADDR/tcp/PORT, best with /p2p/PEER so the peer's key is checked.",
    NULL, 0, run_swarm_connect};

static int run_swarm_peers(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_swarm_peers, a, 0, 0);
    if (rc != 0) {
        return rc;
    }
    json_t *v = NULL;
    rc = cli_api_call(repo, "swarm/peers", NULL, 0, NULL, NULL, NULL, &v);
    if (rc == CLI_API_NO_DAEMON) {
        return cli_api_no_daemon();
    }
    json_t *peers = json_object_get(v, "Peers");
    for (size_t i = 0; rc == CLI_OK && i < json_array_size(peers); i++) {
        json_t *p = json_array_get(peers, i);
        const char *addr = json_string_value(json_object_get(p, "Addr"));
        const char *peer = json_string_value(json_object_get(p, "Peer"));
        printf("%s/p2p/%s\n", addr != NULL ? addr : "", peer != NULL ? peer : "");
    }
    json_decref(v);
    return rc;
}
const cli_cmd cli_cmd_swarm_peers = {"swarm peers", "", "list the peers the daemon is connected to",
                                     NULL, NULL, 0, run_swarm_peers};

/* --- ping ---------------------------------------------------------------------------------- */

typedef struct {
    unsigned long failed;
    unsigned long answered;
} ping_tally;

static bool ping_line(void *ud, json_t *v)
{
    ping_tally *t = ud;
    const char *text = json_string_value(json_object_get(v, "Text"));
    bool ok = json_is_true(json_object_get(v, "Success"));
    json_int_t ns = json_integer_value(json_object_get(v, "Time"));
    if (text == NULL) {
        return true;
    }
    if (ok && text[0] == '\0') {
        t->answered++;
        printf("Pong received: time=%.2f ms\n", (double)ns / 1e6);
    } else {
        if (!ok && strncmp(text, "PING ", 5) != 0) {
            t->failed++;
        }
        printf("%s\n", text);
    }
    fflush(stdout);
    return true;
}

static int run_ping(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_ping, a, 1, 1);
    uint64_t count = 10, interval = 1000;
    if (rc != 0 || (rc = cli_u64(a, "count", &count)) != 0 ||
        (rc = cli_u64(a, "interval", &interval)) != 0) {
        return rc;
    }
    if (count == 0 || count > 1000 || interval > 60000) {
        fprintf(stderr, "error: --count must be 1..1000 and --interval at most 60000\n");
        return CLI_USAGE;
    }
    const char *arg = a->pos[0];
    fog_multiaddr ma;
    uint8_t id[FOG_PEER_ID_MAX];
    int e = arg[0] == '/' ? fog_multiaddr_parse(&ma, arg) : fog_peer_id_parse(arg, id);
    if (e < 0) {
        return cli_fail(e);
    }
    char extra[64];
    snprintf(extra, sizeof extra, "count=%llu&interval=%llu", (unsigned long long)count,
             (unsigned long long)interval);
    ping_tally t = {0};
    rc = cli_api_call(repo, "ping", a->pos, 1, extra, ping_line, &t, NULL);
    if (rc == CLI_API_NO_DAEMON) {
        return cli_api_no_daemon();
    }
    if (rc == CLI_OK && (t.failed > 0 || t.answered < count)) {
        return cli_failf("%llu of %llu pings failed",
                         (unsigned long long)(count - t.answered), (unsigned long long)count);
    }
    return rc;
}
static const cli_opt ping_opts[] = {
    {"count", 'n', OPT_VALUE, "N", "number of pings (default 10)"},
    {"interval", 'i', OPT_VALUE, "MS", "milliseconds between pings (default 1000)"},
};
const cli_cmd cli_cmd_ping = {
    "ping", "[options] PEER|MULTIADDR", "ping a peer through the daemon (/ipfs/ping/1.0.0)",
    "PEER must be connected; a MULTIADDR with /p2p/PEER is dialled first when it is not.\n"
    "Exits 1 when any ping failed.",
    ping_opts, 2, run_ping};
