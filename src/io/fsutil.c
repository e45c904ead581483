#include "io/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
