/* cmd_stats.c: `fog stats bw`: the daemon's traffic from /api/v0/stats/bw (kubo's
 * {"TotalIn", "TotalOut", "RateIn", "RateOut"}), as a table: the TCP totals and rates, then one
 * row per protocol with its stream payload bytes (fog's "Protocols" list, all=true). With
 * --proto P only that protocol's row (kubo's `stats bw --proto`).
 */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

#include "apiclient.h"

static uint64_t num(json_t *o, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(o, key));
    return v > 0 ? (uint64_t)v : 0;
}

static void print_row(const char *name, uint64_t in, uint64_t out)
{
    char hi[32], ho[32];
    printf("%-28s %12s %12s\n", name, cli_human_bytes(in, hi, sizeof hi),
           cli_human_bytes(out, ho, sizeof ho));
}

static void print_all(json_t *v)
{
    char ri[32], ro[32];
    printf("%-28s %12s %12s\n", "", "IN", "OUT");
    print_row("total (TCP)", num(v, "TotalIn"), num(v, "TotalOut"));
    double rin = json_number_value(json_object_get(v, "RateIn"));
    double rout = json_number_value(json_object_get(v, "RateOut"));
    printf("%-28s %10s/s %10s/s\n", "rate", cli_human_bytes((uint64_t)rin, ri, sizeof ri),
           cli_human_bytes((uint64_t)rout, ro, sizeof ro));
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(v, "Protocols"), i, p) {
        print_row(json_string_value(json_object_get(p, "Protocol")), num(p, "TotalIn"),
                  num(p, "TotalOut"));
    }
}

static int run_stats_bw(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_stats_bw, a, 0, 0);
    if (rc != 0) {
        return rc;
    }
    const char *proto = cli_value(a, "proto");
    fog_buf q = {0};
    const char *pre = proto != NULL ? "proto=" : "all=true";
    rc = fog_buf_append(&q, pre, strlen(pre));
    for (const unsigned char *s = (const unsigned char *)proto; rc == 0 && s != NULL && *s;
         s++) {
        char e[4];
        bool plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                     (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL;
        snprintf(e, sizeof e, plain ? "%c" : "%%%02X", *s);
        rc = fog_buf_append(&q, e, strlen(e));
    }
    if (rc == 0) {
        rc = fog_buf_u8(&q, '\0');
    }
    if (rc < 0) {
        fog_buf_clear(&q);
        return cli_fail(rc);
    }
    json_t *v = NULL;
    rc = cli_api_call(repo, "stats/bw", NULL, 0, (const char *)q.p, NULL, NULL, &v);
    fog_buf_clear(&q);
    if (rc == CLI_API_NO_DAEMON) {
        return cli_api_no_daemon();
    }
    if (rc != CLI_OK) {
        return rc;
    }
    if (proto != NULL) {
        printf("%-28s %12s %12s\n", "", "IN", "OUT");
        print_row(proto, num(v, "TotalIn"), num(v, "TotalOut"));
    } else {
        print_all(v);
    }
    json_decref(v);
    return CLI_OK;
}

static const cli_opt stats_bw_opts[] = {
    {"proto", 0, OPT_VALUE, "PROTOCOL", "only this protocol (e.g. /ipfs/bitswap/1.2.0)"},
};
const cli_cmd cli_cmd_stats_bw = {"stats bw", "[--proto PROTOCOL]",
                                  "the daemon's traffic: totals and bytes per protocol", NULL,
                                  stats_bw_opts, 1, run_stats_bw};
