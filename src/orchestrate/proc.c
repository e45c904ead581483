/* proc.c — fork/exec of children with log redirection; see proc.h. */
#include "orchestrate/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_POLL_MS 20

int proc_user_lookup(const char *name, proc_user *u, hdp_err *e)
{
    memset(u, 0, sizeof(*u));
    struct passwd pw, *res = NULL;
    char buf[4096];
    int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
    if (rc != 0 || res == NULL)
        return hdp_fail(e, "no OS user '%s'", name);
    u->uid = pw.pw_uid;
    u->gid = pw.pw_gid;
    snprintf(u->name, sizeof(u->name), "%s", name);
    int n = PROC_MAX_GROUPS;
    if (getgrouplist(name, pw.pw_gid, u->groups, &n) < 0) {
        u->groups[0] = pw.pw_gid; /* more groups than we keep: the primary one is enough */
        n = 1;
    }
    u->ngroups = n;
    return HDP_OK;
}

/* Runs in the child between fork and exec: only async-signal-safe calls. Never returns. */
static void child_exec(char *const argv[], const proc_opts *o, pid_t parent, int in_fd, int out_fd,
                       int err_fd, int report_fd)
{
    int saved;
    sigset_t all;
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        goto fail;
    /* report_fd is close-on-exec and > 2; everything else above 2 goes now. */
    if (report_fd > 3)
        close_range(3, (unsigned)report_fd - 1, 0);
    close_range((unsigned)report_fd + 1, ~0U, 0);
    if (o->cwd && chdir(o->cwd) != 0)
        goto fail;
    if (o->user) {
        if (setgroups((size_t)o->user->ngroups, o->user->groups) != 0 ||
            setgid(o->user->gid) != 0 || setuid(o->user->uid) != 0)
            goto fail;
    }
    /* After the credential switch, which clears it. */
    if (o->pdeathsig) {
        prctl(PR_SET_PDEATHSIG, o->pdeathsig);
        if (getppid() != parent)
            _exit(127);
    }
    execvp(argv[0], argv);
fail:
    saved = errno;
    if (write(report_fd, &saved, sizeof(saved)) < 0) {
        /* nothing more we can do */
    }
    _exit(127);
}

/* Forks argv with the given stdout and stderr descriptors (the caller keeps them). */
static int spawn_fds(char *const argv[], const proc_opts *o, int out_fd, int err_fd, pid_t *pid,
                     hdp_err *e)
{
    int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in_fd < 0)
        return hdp_fail(e, "open /dev/null: %s", strerror(errno));
    int rep[2];
    if (pipe2(rep, O_CLOEXEC) != 0) {
        close(in_fd);
        return hdp_fail(e, "pipe: %s", strerror(errno));
    }
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0)
        child_exec(argv, o, parent, in_fd, out_fd, err_fd, rep[1]);
    int fork_errno = errno;
    close(in_fd);
    close(rep[1]);
    if (child < 0) {
        close(rep[0]);
        return hdp_fail(e, "fork: %s", strerror(fork_errno));
    }
    setpgid(child, child); /* also here, so the group exists before we signal it */
    int child_errno = 0;
    ssize_t n;
    do {
        n = read(rep[0], &child_errno, sizeof(child_errno));
    } while (n < 0 && errno == EINTR);
    close(rep[0]);
    if (n == (ssize_t)sizeof(child_errno)) {
        int st;
        while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
        }
        return hdp_fail(e, "cannot run %s: %s", argv[0], strerror(child_errno));
    }
    *pid = child;
    return HDP_OK;
}

int proc_spawn(char *const argv[], const proc_opts *o, pid_t *pid, hdp_err *e)
{
    static const proc_opts none = {0};
    if (o == NULL)
        o = &none;
    if (o->inherit_output)
        return spawn_fds(argv, o, STDOUT_FILENO, STDERR_FILENO, pid, e);
    const char *path = o->log_path ? o->log_path : "/dev/null";
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return hdp_fail(e, "open %s: %s", path, strerror(errno));
    int rc = spawn_fds(argv, o, fd, fd, pid, e);
    close(fd);
    return rc;
}

long long proc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void proc_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int proc_wait(pid_t pid, long timeout_ms, volatile int *stop, int *status)
{
    long long deadline = proc_now_ms() + timeout_ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) {
            *status = r == pid ? st : -1;
            return HDP_OK;
        }
        if (stop && *stop)
            return HDP_RETRY;
        if (timeout_ms >= 0 && proc_now_ms() >= deadline)
            return HDP_RETRY;
        proc_sleep_ms(WAIT_POLL_MS);
    }
}

int proc_terminate(pid_t pid, long grace_ms)
{
    int st = -1;
    if (kill(-pid, SIGTERM) != 0)
        kill(pid, SIGTERM);
    if (proc_wait(pid, grace_ms, NULL, &st) == HDP_OK)
        return st;
    if (kill(-pid, SIGKILL) != 0)
        kill(pid, SIGKILL);
    proc_wait(pid, -1, NULL, &st);
    return st;
}

void proc_status_str(int status, char *out, size_t outlen)
{
    if (status == -1)
        snprintf(out, outlen, "ended (status unknown)");
    else if (WIFEXITED(status))
        snprintf(out, outlen, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, outlen, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, outlen, "ended with wait status %d", status);
}

int proc_run(char *const argv[], const proc_opts *o, volatile int *stop, int *status, hdp_err *e)
{
    pid_t pid;
    int st = -1;
    if (status)
        *status = -1;
    if (proc_spawn(argv, o, &pid, e) != HDP_OK)
        return HDP_ERR;
    if (proc_wait(pid, -1, stop, &st) != HDP_OK) {
        proc_terminate(pid, 5000);
        return hdp_fail(e, "%s: stopped", argv[0]);
    }
    if (status)
        *status = st;
    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return HDP_OK;
    char how[128];
    proc_status_str(st, how, sizeof(how));
    return hdp_fail(e, "%s %s", argv[0], how);
}

int proc_capture(char *const argv[], char *out, size_t outlen, hdp_err *e)
{
    static const proc_opts none = {0};
    out[0] = '\0';
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return hdp_fail(e, "pipe: %s", strerror(errno));
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd < 0) {
        close(p[0]);
        close(p[1]);
        return hdp_fail(e, "open /dev/null: %s", strerror(errno));
    }
    pid_t pid;
    int rc = spawn_fds(argv, &none, p[1], null_fd, &pid, e);
    close(p[1]);
    close(null_fd);
    if (rc != HDP_OK) {
        close(p[0]);
        return rc;
    }
    size_t len = 0;
    for (;;) {
        char chunk[512];
        ssize_t n = read(p[0], chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t take = (size_t)n;
        if (outlen > 0 && take > outlen - 1 - len)
            take = outlen - 1 - len;
        memcpy(out + len, chunk, take);
        len += take;
    }
    close(p[0]);
    out[len] = '\0';
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' ' || out[len - 1] == '\r'))
        out[--len] = '\0';
    int st = -1;
    proc_wait(pid, -1, NULL, &st);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char how[128];
        proc_status_str(st, how, sizeof(how));
        return hdp_fail(e, "%s %s", argv[0], how);
    }
    return HDP_OK;
}

void proc_last_line(const char *path, char *out, size_t outlen)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char tail[4096];
    size_t n = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > (long)sizeof(tail) - 1 ? size - (long)sizeof(tail) + 1 : 0;
        if (fseek(f, from, SEEK_SET) == 0)
            n = fread(tail, 1, sizeof(tail) - 1, f);
    }
    fclose(f);
    tail[n] = '\0';
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r' || tail[n - 1] == ' '))
        tail[--n] = '\0';
    char *start = strrchr(tail, '\n');
    snprintf(out, outlen, "%s", start ? start + 1 : tail);
}
