/* localch.c — configuration, argv and readiness of the private clickhouse-server; see
 * localch.h. */
#include "orchestrate/localch.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "io/fsutil.h"
#include "orchestrate/netprobe.h"
#include "orchestrate/proc.h"

/* ---------------------------------------------------------------- setup */

/* The first of PATH's clickhouse-server, /usr/sbin's, /usr/bin's that is executable. */
static int find_binary(localch *ch)
{
    const char *path = getenv("PATH");
    hdp_buf dirs = HDP_BUF_INIT;
    buf_puts(&dirs, path ? path : "");
    buf_puts(&dirs, ":/usr/sbin:/usr/bin");
    int found = 0;
    char *save = NULL;
    for (char *d = strtok_r(dirs.data, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        int n = snprintf(ch->bin, sizeof(ch->bin), "%s/clickhouse-server", *d ? d : ".");
        found = n < (int)sizeof(ch->bin) && access(ch->bin, X_OK) == 0;
    }
    buf_free(&dirs);
    return found;
}

/* User names are XML element names in users.xml. */
static int xml_name_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

int localch_setup(localch *ch, const char *var_dir, const char *url, hdp_err *e)
{
    memset(ch, 0, sizeof(*ch));
    char why[128];
    if (ch_url_parse(url, &ch->addr, why, sizeof(why)) != 0)
        return hdp_fail(e, "HDP_CLICKHOUSE_URL: %s", why);
    if (ch->addr.https)
        return hdp_fail(e, "HDP_CLICKHOUSE_URL: hdp up runs ClickHouse over http://, not https://");
    if (ch->addr.user[0] && !xml_name_ok(ch->addr.user))
        return hdp_fail(e,
                        "HDP_CLICKHOUSE_URL: hdp up cannot create user '%.60s' (letters, "
                        "digits, _ - . only)",
                        ch->addr.user);
    int n1 = snprintf(ch->dir, sizeof(ch->dir), "%s/clickhouse", var_dir);
    int n2 =
        snprintf(ch->config_path, sizeof(ch->config_path), "%s/clickhouse/config.xml", var_dir);
    int n3 = snprintf(ch->users_path, sizeof(ch->users_path), "%s/clickhouse/users.xml", var_dir);
    int n4 = snprintf(ch->log_path, sizeof(ch->log_path), "%s/log/clickhouse.log", var_dir);
    int n5 = snprintf(ch->err_path, sizeof(ch->err_path), "%s/log/clickhouse.err.log", var_dir);
    int n6 = snprintf(ch->out_path, sizeof(ch->out_path), "%s/log/clickhouse.out.log", var_dir);
    if (n1 >= (int)sizeof(ch->dir) || n2 >= (int)sizeof(ch->config_path) ||
        n3 >= (int)sizeof(ch->users_path) || n4 >= (int)sizeof(ch->log_path) ||
        n5 >= (int)sizeof(ch->err_path) || n6 >= (int)sizeof(ch->out_path))
        return hdp_fail(e, "path too long: %s", var_dir);
    if (!find_binary(ch))
        return hdp_fail(e, "clickhouse-server not found (in PATH, /usr/sbin, /usr/bin); run "
                           "`make deps`, or set HDP_CLICKHOUSE_URL= (empty) to run without "
                           "ClickHouse");
    ch->tcp_port =
        ch->addr.port + LOCALCH_TCP_OFFSET <= 65535 ? ch->addr.port + LOCALCH_TCP_OFFSET : 0;
    snprintf(ch->config_arg, sizeof(ch->config_arg), "--config-file=%s", ch->config_path);
    ch->argv[0] = ch->bin;
    ch->argv[1] = ch->config_arg;
    ch->argv[2] = NULL;
    return HDP_OK;
}

/* ---------------------------------------------------------------- configuration */

static void xml_text(hdp_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_puts(b, "&amp;");
            break;
        case '<':
            buf_puts(b, "&lt;");
            break;
        case '>':
            buf_puts(b, "&gt;");
            break;
        default:
            buf_putc(b, *s);
            break;
        }
    }
}

static void xml_elem(hdp_buf *b, const char *name, const char *value)
{
    buf_printf(b, "  <%s>", name);
    xml_text(b, value);
    buf_printf(b, "</%s>\n", name);
}

/* Writes data to path (mode) through a temporary file and a rename. */
static int write_file(const char *path, const hdp_buf *data, mode_t mode, hdp_err *e)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return hdp_fail(e, "cannot write %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < data->len) {
        ssize_t w = write(fd, data->data + off, data->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = errno;
            close(fd);
            unlink(tmp);
            return hdp_fail(e, "cannot write %s: %s", tmp, strerror(err));
        }
        off += (size_t)w;
    }
    if (fchmod(fd, mode) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return hdp_fail(e, "cannot write %s: %s", path, strerror(err));
    }
    return HDP_OK;
}

static void user_xml(hdp_buf *b, const char *name, const char *password)
{
    buf_printf(b, "    <%s>", name);
    if (password[0]) {
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)password, strlen(password), md);
        buf_puts(b, "<password_sha256_hex>");
        for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
            buf_printf(b, "%02x", md[i]);
        buf_puts(b, "</password_sha256_hex>");
        memset(md, 0, sizeof(md));
    } else {
        buf_puts(b, "<password></password>");
    }
    buf_printf(b,
               "<networks><ip>127.0.0.1</ip><ip>::1</ip></networks>"
               "<profile>default</profile><quota>default</quota></%s>\n",
               name);
}

int localch_write_config(const localch *ch, hdp_err *e)
{
    if (fs_mkdirs(ch->dir, e) != HDP_OK)
        return HDP_ERR;
    hdp_buf b = HDP_BUF_INIT, p = HDP_BUF_INIT;
    buf_puts(&b, "<?xml version=\"1.0\"?>\n<!-- Written by `hdp up` at every start. -->\n"
                 "<yandex>\n  <logger><level>information</level><log>");
    xml_text(&b, ch->log_path);
    buf_puts(&b, "</log><errorlog>");
    xml_text(&b, ch->err_path);
    buf_puts(&b, "</errorlog><size>100M</size><count>3</count><console>0</console></logger>\n");
    buf_printf(&b, "  <http_port>%d</http_port>\n", ch->addr.port);
    if (ch->tcp_port)
        buf_printf(&b, "  <tcp_port>%d</tcp_port>\n", ch->tcp_port);
    xml_elem(&b, "listen_host", ch->addr.host);
    static const char *const dirs[][2] = {{"path", "data"},
                                          {"tmp_path", "tmp"},
                                          {"user_files_path", "user_files"},
                                          {"format_schema_path", "format_schemas"}};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        buf_reset(&p);
        buf_printf(&p, "%s/%s/", ch->dir, dirs[i][1]);
        xml_elem(&b, dirs[i][0], p.data);
    }
    buf_puts(&b, "  <users_config>users.xml</users_config>\n"
                 "  <default_profile>default</default_profile>\n"
                 "  <default_database>default</default_database>\n"
                 "  <timezone>UTC</timezone>\n"
                 "  <mark_cache_size>268435456</mark_cache_size>\n"
                 "  <max_concurrent_queries>100</max_concurrent_queries>\n"
                 "</yandex>\n");
    int rc = write_file(ch->config_path, &b, 0644, e);

    buf_reset(&b);
    buf_puts(&b, "<?xml version=\"1.0\"?>\n<!-- Written by `hdp up` at every start. -->\n"
                 "<yandex>\n  <profiles><default></default></profiles>\n  <users>\n");
    int named = ch->addr.user[0] && strcmp(ch->addr.user, "default") != 0;
    user_xml(&b, "default", named ? "" : ch->addr.password);
    if (named)
        user_xml(&b, ch->addr.user, ch->addr.password);
    buf_puts(&b, "  </users>\n  <quotas><default><interval><duration>3600</duration>"
                 "<queries>0</queries><errors>0</errors><result_rows>0</result_rows>"
                 "<read_rows>0</read_rows><execution_time>0</execution_time></interval>"
                 "</default></quotas>\n</yandex>\n");
    if (rc == HDP_OK)
        rc = write_file(ch->users_path, &b, 0600, e);
    buf_free(&b);
    buf_free(&p);
    return rc;
}

/* ---------------------------------------------------------------- readiness */

int localch_ping(const char *host, int port)
{
    int fd = netprobe_connect(host, port, 1000);
    if (fd < 0)
        return 0;
    int ok = 0;
    static const char req[] = "GET /ping HTTP/1.0\r\n\r\n";
    if (write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char reply[64] = {0};
        if (poll(&p, 1, 1000) == 1 && read(fd, reply, sizeof(reply) - 1) > 12)
            ok = strncmp(reply, "HTTP/1.", 7) == 0 && strncmp(reply + 9, "200", 3) == 0;
    }
    close(fd);
    return ok;
}

int localch_wait_ready(const localch *ch, pid_t pid, volatile int *stop, long timeout_ms,
                       hdp_err *e)
{
    long long deadline = proc_now_ms() + timeout_ms;
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
            char last[256];
            proc_last_line(ch->err_path, last, sizeof(last));
            if (last[0] == '\0')
                proc_last_line(ch->out_path, last, sizeof(last));
            return hdp_fail(e, "clickhouse-server exited at start: %s", last);
        }
        if (localch_ping(ch->addr.host, ch->addr.port))
            return HDP_OK;
        if (stop && *stop)
            return hdp_fail(e, "stopped while waiting for clickhouse-server");
        if (proc_now_ms() >= deadline)
            return hdp_fail(e, "clickhouse-server did not answer /ping on %s:%d within %ld s",
                            ch->addr.host, ch->addr.port, timeout_ms / 1000);
        proc_sleep_ms(100);
    }
}
