/* stat.c: repository figures for `fog repo stat`.
 * blocks and pins are LMDB's entry counts (mdb_stat, no scan); content_bytes is the counter that
 * every block write and delete updates in the same transaction; repo_bytes is what the files
 * under DIR occupy on disk (st_blocks * 512, as du counts), so it includes LMDB's free pages
 * and the lock files.
 */
#include "internal.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include <sys/stat.h>

#define STAT_MAX_DEPTH 4 /* DIR/blocks/ is one level down; nothing fog writes is deeper */

static uint64_t disk_bytes(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char path[4096];
        struct stat st;
        if (fog__store_path(path, sizeof path, dir, e->d_name) < 0 || lstat(path, &st) < 0) {
            continue; /* a file that vanished meanwhile (config.tmp) counts as nothing */
        }
        if (S_ISREG(st.st_mode)) {
            total += (uint64_t)st.st_blocks * 512u;
        } else if (S_ISDIR(st.st_mode) && depth < STAT_MAX_DEPTH) {
            total += disk_bytes(path, depth + 1);
        }
    }
    closedir(d);
    return total;
}

int fog_store_stat(fog_store *s, fog_repo_stat *out)
{
    memset(out, 0, sizeof *out);
    MDB_txn *txn = NULL;
    int rc = fog__store_read_begin(s, &txn);
    if (rc < 0) {
        return rc;
    }
    MDB_stat bst, pst;
    int mrc = mdb_stat(txn, s->blocks, &bst);
    if (mrc == 0) {
        mrc = mdb_stat(txn, s->pins, &pst);
    }
    if (mrc != 0) {
        mdb_txn_abort(txn);
        return fog__store_mdb_err(s, mrc, "stat");
    }
    rc = fog__store_meta_get(s, txn, "content_bytes", &out->content_bytes);
    mdb_txn_abort(txn);
    if (rc < 0) {
        return rc;
    }
    out->blocks = bst.ms_entries;
    out->pins = pst.ms_entries;
    out->repo_bytes = disk_bytes(s->dir, 0);
    return 0;
}
