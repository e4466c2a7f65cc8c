/* common.c: error printing, repository opening, stdout writing and the progress line. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_fail(int rc)
{
    fprintf(stderr, "error: %s\n", fog_err_detail(rc));
    return CLI_FAIL;
}

int cli_failf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return CLI_FAIL;
}

int cli_open(const char *repo, int mode, fog_store **out)
{
    if (repo == NULL) {
        return cli_failf("no repository path: set $FOG_PATH, $HOME or pass --repo DIR");
    }
    int rc = fog_store_open(out, repo, mode);
    return rc < 0 ? cli_fail(rc) : 0;
}

int cli_parse_cid(const char *arg, fog_cid *out)
{
    if (strncmp(arg, "/ipfs/", 6) == 0) {
        arg += 6;
    }
    int rc = fog_cid_parse(out, arg);
    return rc < 0 ? cli_fail(rc) : 0;
}

int cli_each_cid(const cli_cmd *cmd, const char *repo, cli_args *a, cli_cid_fn fn)
{
    int rc = cli_need_pos(cmd, a, 1, CLI_MAX_POS);
    if (rc != 0) {
        return rc;
    }
    fog_store *s;
    if (cli_open(repo, FOG_STORE_WRITE, &s) != 0) {
        return CLI_FAIL;
    }
    for (size_t i = 0; i < a->n_pos && rc == CLI_OK; i++) {
        fog_cid c;
        rc = cli_parse_cid(a->pos[i], &c);
        if (rc == CLI_OK) {
            rc = fn(s, &c, a->pos[i], a);
        }
    }
    fog_store_close(s);
    return rc;
}

int cli_write_stdout(void *ctx, const uint8_t *p, size_t len)
{
    (void)ctx;
    while (len > 0) {
        ssize_t n = write(1, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EPIPE) {
                return FOG_ERR_CANCELLED;
            }
            return fog_errf(FOG_ERR_IO, "writing to standard output: %s", strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

fog_ms cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (fog_ms)ts.tv_sec * 1000u + (fog_ms)ts.tv_nsec / 1000000u;
}

const char *cli_human_bytes(uint64_t n, char *buf, size_t cap)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    if (u == 0) {
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
    } else {
        snprintf(buf, cap, "%.1f %s", v, units[u]);
    }
    return buf;
}

void cli_progress_start(cli_progress *p, bool enabled, uint64_t total, const char *label)
{
    memset(p, 0, sizeof *p);
    p->on = enabled && isatty(2);
    p->total = total;
    p->label = label;
    p->start_ms = cli_now_ms();
}

static void progress_draw(cli_progress *p, fog_ms now)
{
    char done[32], total[32];
    double secs = (double)(now - p->start_ms) / 1000.0;
    double mbps = secs > 0 ? (double)p->done / 1e6 / secs : 0.0;
    cli_human_bytes(p->done, done, sizeof done);
    if (p->total > 0) {
        int pct = (int)((double)p->done * 100.0 / (double)p->total);
        char bar[26];
        int fill = pct / 4;
        for (int i = 0; i < 25; i++) {
            bar[i] = i < fill ? '#' : '.';
        }
        bar[25] = '\0';
        fprintf(stderr, "\r%s [%s] %3d%% %s / %s  %.1f MB/s\033[K", p->label, bar, pct, done,
                cli_human_bytes(p->total, total, sizeof total), mbps);
    } else {
        fprintf(stderr, "\r%s %s  %.1f MB/s\033[K", p->label, done, mbps);
    }
}

void cli_progress_update(cli_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->on) {
        return;
    }
    fog_ms now = cli_now_ms();
    if (now - p->last_ms >= 100) {
        p->last_ms = now;
        progress_draw(p, now);
    }
}

void cli_progress_end(cli_progress *p)
{
    if (p->on) {
        progress_draw(p, cli_now_ms());
        fprintf(stderr, "\n");
    }
}
