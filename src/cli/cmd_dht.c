/* cmd_dht.c: `fog dht findpeer PEER`: asks the daemon's DHT for a peer's addresses through
 * /api/v0/routing/findpeer (kubo's routing events, newline-delimited JSON; the one of Type 2,
 * FinalPeer, carries {"Responses": [{"ID", "Addrs"}]}) and prints one address per line, as kubo
 * does. A peer the lookup did not find: "error: routing: not found", exit 1.
 */
#include "cli.h"

#include <string.h>

#include <jansson.h>

#include "apiclient.h"

#define ROUTING_FINAL_PEER 2 /* kubo's routing.FinalPeer */

typedef struct {
    bool found;
} findpeer_state;

static bool findpeer_line(void *ud, json_t *v)
{
    findpeer_state *st = ud;
    if (json_integer_value(json_object_get(v, "Type")) != ROUTING_FINAL_PEER) {
        return true;
    }
    json_t *resp = json_array_get(json_object_get(v, "Responses"), 0);
    json_t *addrs = json_object_get(resp, "Addrs");
    for (size_t i = 0; i < json_array_size(addrs); i++) {
        const char *s = json_string_value(json_array_get(addrs, i));
        if (s != NULL) {
            printf("%s\n", s);
            st->found = true;
        }
    }
    return true;
}

static int run_findpeer(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_dht_findpeer, a, 1, 1);
    if (rc != 0) {
        return rc;
    }
    uint8_t id[FOG_PEER_ID_MAX];
    int n = fog_peer_id_parse(a->pos[0], id);
    if (n < 0) {
        return cli_fail(n);
    }
    findpeer_state st = {false};
    rc = cli_api_call(repo, "routing/findpeer", a->pos, 1, NULL, findpeer_line, &st, NULL);
    if (rc == CLI_API_NO_DAEMON) {
        return cli_api_no_daemon();
    }
    if (rc == CLI_OK && !st.found) {
        return cli_failf("routing: not found");
    }
    return rc;
}

const cli_cmd cli_cmd_dht_findpeer = {
    "dht findpeer", "PEER", "find a peer's addresses through the DHT (needs the daemon)",
    "Runs a Kademlia lookup for PEER in the daemon and prints the addresses it learnt, one per\n"
    "line. Exits 1 with \"routing: not found\" when no peer answered with them.",
    NULL, 0, run_findpeer};
