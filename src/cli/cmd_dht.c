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
 *   fog dht get /ipns/NAME     /api/v0/routing/get: the best record, written to stdout as raw
 *                              bytes (kubo's text encoder decodes the Type 5 event's base64
 *                              Extra); without a daemon, the record the local repository holds
 *   fog dht put /ipns/NAME [FILE]  /api/v0/routing/put with the record (FILE or stdin) as a
 *                              multipart file: prints the name's peer ID (kubo's Type 5 event's
 *                              ID); without a daemon the record is validated and stored in the
 *                              local repository only, unless the one there is preferred
 * A Type 3 (QueryError) event ends the command with its Extra as the error. Arguments are checked
 * here first (a bad CID or peer ID is the parser's error line, no daemon needed).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "apiclient.h"
#include "fog/ipns.h"
#include "ipnsrec.h"

#define ROUTING_FINAL_PEER 2  /* kubo's routing.FinalPeer */
#define ROUTING_PROVIDER 4    /* routing.Provider */
#define ROUTING_QUERY_ERROR 3 /* routing.QueryError (go-libp2p core/routing query.go) */
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

/* --- get / put: IPNS records ------------------------------------------------------------- */

/* No daemon: the record the local repository holds for key, raw to stdout. */
static int get_local(const char *repo, const uint8_t *key, size_t klen)
{
    fog_store *s = NULL;
    int rc = cli_open(repo, FOG_STORE_READ, &s);
    if (rc != CLI_OK) {
        return rc;
    }
    fog_buf b;
    fog_buf_init(&b);
    uint64_t received = 0;
    int frc = fog_store_record_get(s, fog_slice_make(key, klen), &received, &b);
    fog_store_close(s);
    if (frc == 0) {
        fprintf(stderr, "offline: no daemon is running; this is the record the local repository "
                        "holds\n");
        frc = cli_write_stdout(NULL, b.p, b.len);
    }
    fog_buf_clear(&b);
    if (frc == FOG_ERR_NOT_FOUND) {
        return cli_failf("routing: not found (no daemon is running, and the local repository "
                         "has no record of this name)");
    }
    return frc < 0 && frc != FOG_ERR_CANCELLED ? cli_fail(frc) : CLI_OK;
}

/* The daemon's Type 5 event: its base64 Extra decoded, raw to stdout. */
static int get_answer(json_t *v)
{
    const char *extra = json_string_value(json_object_get(v, "Extra"));
    size_t n = extra != NULL ? strlen(extra) : 0;
    while (n > 0 && extra[n - 1] == '=') {
        n--;
    }
    static uint8_t rec[FOG_STORE_REC_VALUE_MAX];
    int len = n > 0 ? fog_base_decode(FOG_BASE64, extra, n, rec, sizeof rec) : -1;
    if (len <= 0) {
        return cli_failf("the daemon's answer has no record (Extra is not base64)");
    }
    int rc = cli_write_stdout(NULL, rec, (size_t)len);
    return rc < 0 && rc != FOG_ERR_CANCELLED ? cli_fail(rc) : CLI_OK;
}

static int run_get(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_dht_get, a, 1, 1);
    if (rc != 0) {
        return rc;
    }
    uint8_t key[CLI_IPNS_KEY_MAX];
    size_t klen = cli_ipns_key(a->pos[0], key);
    if (klen == 0) {
        return CLI_FAIL;
    }
    json_t *v = NULL;
    rc = cli_api_call(repo, "routing/get", &a->pos[0], 1, NULL, NULL, NULL, &v);
    if (rc == CLI_API_NO_DAEMON) {
        return get_local(repo, key, klen);
    }
    if (rc == CLI_OK) {
        rc = get_answer(v);
    }
    json_decref(v);
    return rc;
}

/* Stages rec under key unless the stored record is preferred (go's PutValue check). */
static int put_stage(fog_store *s, fog_slice key, fog_slice rec)
{
    fog_buf old;
    fog_buf_init(&old);
    uint64_t received = 0;
    int rc = fog_store_record_get(s, key, &received, &old);
    if (rc == 0) {
        fog_slice both[2] = {rec, fog_slice_make(old.p, old.len)};
        size_t best = 0;
        /* a stored record that no longer parses loses to a valid one */
        if (fog_ipns_dht_select(key.p, key.len, both, 2, &best) == 0 && best == 1 &&
            !fog_slice_eq(both[0], both[1])) {
            rc = fog_errf(FOG_ERR_EXISTS, "can't replace a newer value with an older value (the "
                                          "local repository holds a preferred record)");
        }
    }
    rc = rc == FOG_ERR_NOT_FOUND || rc == 0 ? 0 : rc;
    fog_store_batch *b = NULL;
    if (rc == 0 && (rc = fog_store_batch_begin(s, &b)) == 0) {
        rc = fog_store_batch_record_put(b, key, (uint64_t)(fog_wall_ns() / 1000000), rec);
        if (rc == 0) {
            rc = fog_store_batch_commit(b);
        } else {
            fog_store_batch_abort(b);
        }
    }
    fog_buf_clear(&old);
    return rc;
}

/* No daemon: validate rec and store it in the local repository. */
static int put_local(const char *repo, const uint8_t *key, size_t klen, fog_slice rec)
{
    fog_err_clear();
    int rc = fog_ipns_dht_validate(key, klen, rec.p, rec.len, fog_ipns_time_from_ns(fog_wall_ns()));
    if (rc < 0) {
        return cli_failf("invalid record: %s", fog_err_detail(rc));
    }
    fog_store *s = NULL;
    if ((rc = cli_open(repo, FOG_STORE_WRITE, &s)) != CLI_OK) {
        return rc;
    }
    rc = put_stage(s, fog_slice_make(key, klen), rec);
    fog_store_close(s);
    if (rc < 0) {
        return cli_fail(rc);
    }
    char id[128];
    const size_t plen = sizeof FOG_IPNS_KEY_PREFIX - 1;
    if (fog_peer_id_format(key + plen, klen - plen, id, sizeof id) < 0) {
        snprintf(id, sizeof id, "?");
    }
    printf("%s\n", id);
    fprintf(stderr, "offline: no daemon is running; the record is stored in the local "
                    "repository only, not sent to the DHT\n");
    return CLI_OK;
}

static int run_put(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_dht_put, a, 1, 2);
    if (rc != 0) {
        return rc;
    }
    uint8_t key[CLI_IPNS_KEY_MAX];
    size_t klen = cli_ipns_key(a->pos[0], key);
    static uint8_t rec[FOG_IPNS_RECORD_MAX + 1];
    size_t len = 0;
    if (klen == 0 || cli_ipns_read(a->n_pos > 1 ? a->pos[1] : NULL, rec, &len) != CLI_OK) {
        return CLI_FAIL;
    }
    json_t *v = NULL;
    rc = cli_api_call_file(repo, "routing/put", &a->pos[0], 1, rec, len, &v);
    if (rc == CLI_API_NO_DAEMON) {
        return put_local(repo, key, klen, fog_slice_make(rec, len));
    }
    if (rc != CLI_OK) {
        return rc;
    }
    const char *id = json_string_value(json_object_get(v, "ID"));
    printf("%s\n", id != NULL ? id : "?");
    if (json_integer_value(json_object_get(v, "Peers")) == 0) {
        fprintf(stderr, "warning: no peer accepted the record; the daemon stores it and serves "
                        "it from there\n");
    }
    json_decref(v);
    return CLI_OK;
}

const cli_cmd cli_cmd_dht_get = {
    "dht get", "/ipns/NAME", "write the best IPNS record of a name to stdout (kubo routing get)",
    "With a daemon: its stored record and the DHT's (GET_VALUE to the peers closest to the key),\n"
    "the best one as raw bytes ('fog name inspect' reads them). Without one: the record the\n"
    "local repository holds. NAME: k51..., 12D3KooW... or Qm... (the key is /ipns/ + its peer ID).",
    NULL, 0, run_get};

const cli_cmd cli_cmd_dht_put = {
    "dht put", "/ipns/NAME [FILE]", "store an IPNS record in the DHT (kubo routing put)",
    "Sends the record in FILE (or stdin; at most 10240 bytes) to the daemon, which checks it is a\n"
    "valid record of NAME, keeps it and sends it to the peers closest to the key. Prints NAME's\n"
    "peer ID. Without a daemon the record is checked and stored in the local repository only.\n"
    "A record worse than the one kept (a lower sequence) is refused.",
    NULL, 0, run_put};

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
