#include "io/fsutil.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdirs(const char *path, hdp_err *e)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
        return hdp_fail(e, "path too long: %s", path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return hdp_fail(e, "cannot create folder %s: %s", p, strerror(errno));
        *s = saved;
        if (saved == '\0')
            return HDP_OK;
    }
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void fs_remove_tree(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return;
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
