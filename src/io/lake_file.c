/* lake_file.c — the file:// lake backend: one regular file per object under a root folder.
 *
 * A put writes "<dir>/.tmp-<pid>-<random>" next to its target, fsyncs it, renames it over
 * the target and fsyncs the folder: readers see the old object or the whole new one, and a
 * crash leaves at most a temporary file, which listings never show. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/lake_impl.h"
#include "io/fsutil.h"

#define TMP_PREFIX ".tmp-"

typedef struct file_lake {
    char *root; /* absolute, no trailing '/' */
} file_lake;

static file_lake *fl_of(hdp_lake *lk)
{
    return lk->impl;
}

static char *path_of(const file_lake *fl, const char *key)
{
    hdp_buf b = HDP_BUF_INIT;
    buf_printf(&b, "%s/%s", fl->root, key);
    return buf_detach(&b);
}

/* ------------------------------------------------------------------ open/close */

static int file_open(hdp_lake *lk, const char *rest, const hdp_lake_conf *cfg, hdp_err *e)
{
    hdp_buf root = HDP_BUF_INIT;
    if (*rest == '\0')
        return hdp_fail(e, "lake: file:// URL names no folder");
    if (rest[0] != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return hdp_fail(e, "lake: cannot resolve '%.200s': %s", rest, strerror(errno));
        buf_puts(&root, cwd);
        while (rest[0] == '.' && rest[1] == '/')
            rest += 2;
        if (strcmp(rest, ".") != 0 && *rest != '\0') {
            if (root.len == 0 || root.data[root.len - 1] != '/')
                buf_putc(&root, '/');
            buf_puts(&root, rest);
        }
    } else {
        buf_puts(&root, rest);
    }
    while (root.len > 1 && root.data[root.len - 1] == '/')
        root.data[--root.len] = '\0';
    file_lake *fl = xcalloc(1, sizeof(*fl));
    fl->root = buf_detach(&root);
    lk->impl = fl;
    hdp_buf d = HDP_BUF_INIT;
    buf_printf(&d, "file://%s", fl->root);
    lk->desc = buf_detach(&d);
    return HDP_OK;
}

static void file_close(hdp_lake *lk)
{
    file_lake *fl = fl_of(lk);
    free(fl->root);
    free(fl);
    lk->impl = NULL;
}

/* ------------------------------------------------------------------ helpers */

/* Fsyncs a folder so that a rename or unlink in it survives a crash. */
static int fsync_dir(const char *dir, hdp_err *e)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return hdp_fail(e, "lake: cannot open folder %s: %s", dir, strerror(errno));
    int rc = HDP_OK;
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = hdp_fail(e, "lake: fsync %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Copies src_fd to its end into fd. */
static int copy_fd(int src_fd, int fd)
{
    char chunk[65536];
    for (;;) {
        ssize_t r = read(src_fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        if (write_all(fd, chunk, (size_t)r) != 0)
            return -1;
    }
}

/* Writes the object key from memory (data, len) or, when src_fd >= 0, from that file:
 * temporary file, fsync, rename over the target, fsync the folder. With created != NULL the
 * write is create-only: link(2) instead of rename, so an existing object is never replaced
 * (*created = 0 then). */
static int write_atomic(file_lake *fl, const char *key, const void *data, size_t len, int src_fd,
                        int *created, hdp_err *e)
{
    char *path = path_of(fl, key);
    char *dir = xstrdup(path);
    *strrchr(dir, '/') = '\0';
    unsigned char rnd[8] = {0};
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        static unsigned counter;
        memcpy(rnd, &counter, sizeof(counter));
        counter++;
    }
    hdp_buf tmp = HDP_BUF_INIT;
    buf_printf(&tmp, "%s/" TMP_PREFIX "%ld-", dir, (long)getpid());
    for (size_t i = 0; i < sizeof(rnd); i++)
        buf_printf(&tmp, "%02x", rnd[i]);

    int rc = fs_mkdirs(dir, e);
    int fd = -1;
    if (rc == HDP_OK) {
        fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            rc = hdp_fail(e, "lake: cannot create %s: %s", tmp.data, strerror(errno));
    }
    if (rc == HDP_OK) {
        int w = src_fd >= 0 ? copy_fd(src_fd, fd) : write_all(fd, data, len);
        if (w != 0)
            rc = hdp_fail(e, "lake: writing %s: %s", tmp.data, strerror(errno));
    }
    if (rc == HDP_OK && fsync(fd) != 0)
        rc = hdp_fail(e, "lake: fsync %s: %s", tmp.data, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && rc == HDP_OK)
        rc = hdp_fail(e, "lake: closing %s: %s", tmp.data, strerror(errno));
    if (rc == HDP_OK && created != NULL) {
        *created = link(tmp.data, path) == 0;
        if (!*created && errno != EEXIST)
            rc = hdp_fail(e, "lake: cannot link into %s: %s", path, strerror(errno));
        unlink(tmp.data);
    } else if (rc == HDP_OK && rename(tmp.data, path) != 0) {
        rc = hdp_fail(e, "lake: cannot rename into %s: %s", path, strerror(errno));
    }
    if (rc == HDP_OK)
        rc = fsync_dir(dir, e);
    else if (fd >= 0)
        unlink(tmp.data);
    buf_free(&tmp);
    free(dir);
    free(path);
    return rc;
}

/* ------------------------------------------------------------------ operations */

static int file_ensure(hdp_lake *lk, hdp_err *e)
{
    return fs_mkdirs(fl_of(lk)->root, e);
}

static int file_put(hdp_lake *lk, const char *key, const void *data, size_t len, hdp_err *e)
{
    return write_atomic(fl_of(lk), key, data, len, -1, NULL, e);
}

static int file_put_new(hdp_lake *lk, const char *key, const void *data, size_t len, int *created,
                        hdp_err *e)
{
    return write_atomic(fl_of(lk), key, data, len, -1, created, e);
}

static int file_put_file(hdp_lake *lk, const char *key, const char *local, hdp_err *e)
{
    int src = open(local, O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return hdp_fail(e, "lake: cannot open %s: %s", local, strerror(errno));
    int rc = write_atomic(fl_of(lk), key, NULL, 0, src, NULL, e);
    close(src);
    return rc;
}

static int file_get(hdp_lake *lk, const char *key, hdp_buf *out, hdp_err *e)
{
    char *path = path_of(fl_of(lk), key);
    int rc = HDP_OK;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        rc = hdp_fail(e, "lake: '%.300s' not found in %s", key, lake_describe(lk));
    else if (fd < 0)
        rc = hdp_fail(e, "lake: cannot open %s: %s", path, strerror(errno));
    else if (fstat(fd, &st) != 0)
        rc = hdp_fail(e, "lake: stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = hdp_fail(e, "lake: '%.300s' not found in %s", key, lake_describe(lk));
    if (rc == HDP_OK) {
        buf_reserve(out, (size_t)st.st_size);
        for (;;) {
            buf_reserve(out, 65536);
            ssize_t r = read(fd, out->data + out->len, out->cap - out->len - 1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                rc = hdp_fail(e, "lake: reading %s: %s", path, strerror(errno));
                break;
            }
            if (r == 0)
                break;
            out->len += (size_t)r;
            out->data[out->len] = '\0';
        }
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

static int file_head(hdp_lake *lk, const char *key, int *found, uint64_t *size, hdp_err *e)
{
    char *path = path_of(fl_of(lk), key);
    struct stat st;
    int rc = HDP_OK;
    if (stat(path, &st) == 0) {
        *found = S_ISREG(st.st_mode);
        *size = *found ? (uint64_t)st.st_size : 0;
    } else if (errno != ENOENT && errno != ENOTDIR) {
        rc = hdp_fail(e, "lake: stat %s: %s", path, strerror(errno));
    }
    free(path);
    return rc;
}

static int file_del(hdp_lake *lk, const char *key, hdp_err *e)
{
    char *path = path_of(fl_of(lk), key);
    int rc = HDP_OK;
    if (unlink(path) == 0) {
        *strrchr(path, '/') = '\0';
        rc = fsync_dir(path, e);
    } else if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR) {
        rc = hdp_fail(e, "lake: cannot delete %s: %s", path, strerror(errno));
    }
    free(path);
    return rc;
}

/* ------------------------------------------------------------------ listing */

typedef struct entry {
    char *key;
    uint64_t size;
    int64_t mtime;
} entry;

typedef struct entries {
    entry *v;
    size_t n, cap;
} entries;

static void entries_free(entries *es)
{
    for (size_t i = 0; i < es->n; i++)
        free(es->v[i].key);
    free(es->v);
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

/* True when a key under folder rel (with '/' appended) may start with prefix. */
static int may_match(const char *rel, size_t rel_len, const char *prefix, size_t plen)
{
    size_t n = rel_len < plen ? rel_len : plen;
    return strncmp(rel, prefix, n) == 0;
}

/* Collects regular files under root/rel (rel is "" or ends in '/') whose keys start with
 * prefix; temporary files and symbolic links are skipped. */
static int walk(const char *root, hdp_buf *rel, const char *prefix, entries *es, hdp_err *e)
{
    hdp_buf dirpath = HDP_BUF_INIT;
    buf_printf(&dirpath, "%s/%s", root, rel->data ? rel->data : "");
    DIR *d = opendir(dirpath.data);
    if (d == NULL) {
        int rc = HDP_OK;
        if (errno != ENOENT && errno != ENOTDIR)
            rc = hdp_fail(e, "lake: cannot list %s: %s", dirpath.data, strerror(errno));
        buf_free(&dirpath);
        return rc;
    }
    int rc = HDP_OK;
    size_t plen = strlen(prefix);
    size_t base = rel->len;
    while (rc == HDP_OK) {
        const struct dirent *de = readdir(d);
        if (de == NULL)
            break;
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* gone meanwhile */
        rel->len = base;
        buf_puts(rel, name);
        if (S_ISDIR(st.st_mode)) {
            buf_putc(rel, '/');
            if (may_match(rel->data, rel->len, prefix, plen))
                rc = walk(root, rel, prefix, es, e);
        } else if (S_ISREG(st.st_mode) && rel->len >= plen &&
                   strncmp(rel->data, prefix, plen) == 0) {
            if (es->n == es->cap) {
                es->cap = es->cap ? es->cap * 2 : 64;
                es->v = xrealloc(es->v, es->cap * sizeof(*es->v));
            }
            es->v[es->n].key = xstrdup(rel->data);
            es->v[es->n].size = (uint64_t)st.st_size;
            es->v[es->n].mtime = (int64_t)st.st_mtime;
            es->n++;
        }
    }
    rel->len = base;
    if (rel->data)
        rel->data[base] = '\0';
    closedir(d);
    buf_free(&dirpath);
    return rc;
}

static int file_list(hdp_lake *lk, const char *prefix, lake_list_cb cb, void *ctx, hdp_err *e)
{
    file_lake *fl = fl_of(lk);
    hdp_buf rel = HDP_BUF_INIT;
    const char *slash = strrchr(prefix, '/');
    if (slash)
        buf_append(&rel, prefix, (size_t)(slash - prefix + 1));
    entries es = {0};
    int rc = walk(fl->root, &rel, prefix, &es, e);
    if (rc == HDP_OK) {
        if (es.n > 1)
            qsort(es.v, es.n, sizeof(*es.v), entry_cmp);
        for (size_t i = 0; i < es.n && rc == HDP_OK; i++)
            rc = cb(ctx, es.v[i].key, es.v[i].size, es.v[i].mtime);
    }
    entries_free(&es);
    buf_free(&rel);
    return rc;
}

const lake_backend lake_file_backend = {
    .scheme = "file://",
    .open = file_open,
    .close = file_close,
    .ensure = file_ensure,
    .put = file_put,
    .put_new = file_put_new,
    .put_file = file_put_file,
    .get = file_get,
    .head = file_head,
    .del = file_del,
    .list = file_list,
};
