/* cmd_dht.c: the DHT through the daemon's routing endpoints (src/http/routing.c: kubo's routing
 * events, newline-delimited JSON {"Extra", "ID", "Responses", "Type"}), printed as kubo prints
 * them without --verbose:
 *   fog dht findpeer PEER      /api/v0/routing/findpeer: the Type 2 (FinalPeer) event's
 *                              Responses[0].Addrs, one address per line; none is "routing: not
 *                              found", exit 1
 *   fog dht findprovs CID [-n N]  /api/v0/routing/findprovs: each Type 4 (Provider) event's
 *                              Responses[].ID, one peer ID per line as they arrive; none found
 *                              prints nothing (exit 0, as kubo)
 *   fog dht provide CID...     /api/v0/routing/provide, API_BATCH CIDs per request: one line
 *                              "provided CID" per CID once the daemon announced it
 *   fog dht query PEER         /api/v0/routing/query: each Type 2 event's ID, the closest peers
 * A Type 7 (QueryError) event ends the command with its Extra as the error. Arguments are checked
 * here first (a bad CID or peer ID is the parser's error line, no daemon needed).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "apiclient.h"

#define ROUTING_FINAL_PEER 2  /* kubo's routing.FinalPeer */
#define ROUTING_PROVIDER 4    /* routing.Provider */
#define ROUTING_QUERY_ERROR 7 /* routing.QueryError */
#define API_BATCH 16          /* arg= values the daemon takes in one request */

typedef struct {
    int want;         /* the event type printed */
    bool addrs;       /* print Responses[0].Addrs (findpeer) rather than IDs */
    size_t printed;
    char error[512];  /* a QueryError's message */
} events_state;

static void print_responses(events_state *st, json_t *v)
{
    json_t *resp = json_object_get(v, "Responses");
    for (size_t i = 0; i < json_array_size(resp); i++) {
        json_t *r = json_array_get(resp, i);
        if (!st->addrs) {
            const char *id = json_string_value(json_object_get(r, "ID"));
            if (id != NULL) {
                printf("%s\n", id);
                st->printed++;
            }
            continue;
        }
        json_t *addrs = json_object_get(r, "Addrs");
        for (size_t j = 0; j < json_array_size(addrs); j++) {
            const char *s = json_string_value(json_array_get(addrs, j));
            if (s != NULL) {
                printf("%s\n", s);
                st->printed++;
            }
        }
    }
}

static bool event_line(void *ud, json_t *v)
{
    events_state *st = ud;
    json_int_t type = json_integer_value(json_object_get(v, "Type"));
    if (type == ROUTING_QUERY_ERROR) {
        const char *msg = json_string_value(json_object_get(v, "Extra"));
        snprintf(st->error, sizeof st->error, "%s", msg != NULL ? msg : "routing: query error");
        return false;
    }
    if (type != st->want) {
        return true;
    }
    if (type == ROUTING_FINAL_PEER && !st->addrs) {
        const char *id = json_string_value(json_object_get(v, "ID"));
        if (id != NULL && id[0] != '\0') {
            printf("%s\n", id);
            st->printed++;
        }
    } else {
        print_responses(st, v);
    }
    fflush(stdout);
    return true;
}

/* One streamed routing call; CLI_OK, or CLI_FAIL with the error printed. */
static int run_events(const char *repo, const char *endpoint, const char *arg, const char *extra,
                      events_state *st)
{
    int rc = cli_api_call(repo, endpoint, &arg, 1, extra, event_line, st, NULL);
    if (rc == CLI_API_NO_DAEMON) {
        return cli_api_no_daemon();
    }
    if (rc == CLI_OK && st->error[0] != '\0') {
        return cli_failf("%s", st->error);
    }
    return rc;
}

static int parse_peer(const cli_cmd *cmd, cli_args *a)
{
    int rc = cli_need_pos(cmd, a, 1, 1);
    if (rc != 0) {
        return rc;
    }
    uint8_t id[FOG_PEER_ID_MAX];
    int n = fog_peer_id_parse(a->pos[0], id);
    return n < 0 ? cli_fail(n) : CLI_OK;
}

static int run_findpeer(const char *repo, cli_args *a)
{
    int rc = parse_peer(&cli_cmd_dht_findpeer, a);
    if (rc != 0) {
        return rc;
    }
    events_state st = {.want = ROUTING_FINAL_PEER, .addrs = true};
    rc = run_events(repo, "routing/findpeer", a->pos[0], NULL, &st);
    if (rc == CLI_OK && st.printed == 0) {
        return cli_failf("routing: not found");
    }
    return rc;
}

static int run_query(const char *repo, cli_args *a)
{
    int rc = parse_peer(&cli_cmd_dht_query, a);
    if (rc != 0) {
        return rc;
    }
    events_state st = {.want = ROUTING_FINAL_PEER};
    return run_events(repo, "routing/query", a->pos[0], NULL, &st);
}

static int run_findprovs(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_dht_findprovs, a, 1, 1);
    if (rc != 0) {
        return rc;
    }
    uint64_t n = 20;
    if (cli_has(a, "num-providers") && (rc = cli_u64(a, "num-providers", &n)) != 0) {
        return rc;
    }
    if (n == 0 || n > 1000) {
        return cli_failf("--num-providers must be 1..1000");
    }
    fog_cid c;
    if (cli_parse_cid(a->pos[0], &c) != 0) {
        return CLI_FAIL;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "num-providers=%llu", (unsigned long long)n);
    events_state st = {.want = ROUTING_PROVIDER};
    return run_events(repo, "routing/findprovs", a->pos[0], extra, &st);
}

static int run_provide(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_dht_provide, a, 1, CLI_MAX_POS);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < a->n_pos; i++) {
        fog_cid c;
        if (cli_parse_cid(a->pos[i], &c) != 0) {
            return CLI_FAIL;
        }
    }
    for (size_t i = 0; i < a->n_pos; i += API_BATCH) {
        size_t n = a->n_pos - i < API_BATCH ? a->n_pos - i : API_BATCH;
        json_t *v = NULL;
        rc = cli_api_call(repo, "routing/provide", &a->pos[i], n, NULL, NULL, NULL, &v);
        if (rc == CLI_API_NO_DAEMON) {
            return cli_api_no_daemon();
        }
        if (rc != CLI_OK) {
            return rc;
        }
        json_t *keys = json_object_get(v, "Keys");
        for (size_t j = 0; j < json_array_size(keys); j++) {
            printf("provided %s\n", json_string_value(json_array_get(keys, j)));
        }
        fflush(stdout);
        json_decref(v);
    }
    return CLI_OK;
}

const cli_cmd cli_cmd_dht_findpeer = {
    "dht findpeer", "PEER", "find a peer's addresses through the DHT (needs the daemon)",
    "Runs a Kademlia lookup for PEER in the daemon and prints the addresses it learnt, one per\n"
    "line. Exits 1 with \"routing: not found\" when no peer answered with them.",
    NULL, 0, run_findpeer};

static const cli_opt findprovs_opts[] = {
    {"num-providers", 'n', OPT_VALUE, "N", "stop after N providers (default 20, at most 1000)"},
};

const cli_cmd cli_cmd_dht_findprovs = {
    "dht findprovs", "[-n N] CID", "find peers that provide a CID through the DHT (daemon)",
    "Asks the daemon's DHT for providers of CID (its multihash is the DHT key) and prints each\n"
    "provider's peer ID on a line of its own as it is found. Nothing printed: nobody was found.",
    findprovs_opts, sizeof findprovs_opts / sizeof findprovs_opts[0], run_findprovs};

const cli_cmd cli_cmd_dht_provide = {
    "dht provide", "CID...", "announce to the DHT that this node provides CIDs (daemon)",
    "The daemon stores a provider record for each CID and sends it to the peers closest to the\n"
    "CID's multihash. Each block must be in the repository. Prints \"provided CID\" per CID.",
    NULL, 0, run_provide};

const cli_cmd cli_cmd_dht_query = {
    "dht query", "PEER", "find the peers closest to a peer ID through the DHT (daemon)",
    "Runs a Kademlia lookup for the peers closest to PEER in the daemon and prints their peer\n"
    "IDs, closest first, one per line.",
    NULL, 0, run_query};
