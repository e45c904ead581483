/* fsutil.h — local filesystem helpers shared by the stages (spools, temp files, var dirs). */
#ifndef HDP_FSUTIL_H
#define HDP_FSUTIL_H

#include "core/err.h"

/* Creates path and its missing parents, like mkdir -p (mode 0755). */
int fs_mkdirs(const char *path, hdp_err *e);

/* Removes path and everything below it (rm -rf; symlinks are removed, not followed). A missing
 * path is fine; other failures are ignored (a leftover spool is harmless). */
void fs_remove_tree(const char *path);

#endif
