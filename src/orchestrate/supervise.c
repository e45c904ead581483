/* supervise.c — restart-with-backoff table of children; see supervise.h. */
#include "orchestrate/supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/log.h"

void sup_init(sup_table *t)
{
    memset(t, 0, sizeof(*t));
    t->base_ms = 1000;
    t->max_ms = 30000;
    t->healthy_ms = 60000;
    t->pdeathsig = SIGTERM;
}

int sup_add(sup_table *t, const char *name, const char *const argv[], const char *log_path,
            hdp_err *e)
{
    if (t->n >= SUP_MAX)
        return hdp_fail(e, "too many supervised children");
    int argc = 0;
    while (argv[argc])
        argc++;
    if (argc > SUP_MAX_ARGS)
        return hdp_fail(e, "%s: too many arguments", name);
    sup_child *c = &t->child[t->n];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    for (int i = 0; i < argc; i++)
        c->argv[i] = strdup(argv[i]);
    c->argv[argc] = NULL;
    c->log_path = strdup(log_path);
    c->last_status = -1;
    t->n++;
    return HDP_OK;
}

long sup_backoff_next(const sup_table *t, long prev_ms, long long ran_ms)
{
    if (prev_ms <= 0 || ran_ms >= t->healthy_ms)
        return t->base_ms;
    long next = prev_ms * 2;
    return next > t->max_ms ? t->max_ms : next;
}

/* Starts one child now. */
static int start_child(const sup_table *t, sup_child *c, long long now_ms, hdp_err *e)
{
    proc_opts o = {.log_path = c->log_path, .pdeathsig = t->pdeathsig};
    if (proc_spawn(c->argv, &o, &c->pid, e) != HDP_OK) {
        c->pid = 0;
        hdp_err_prefix(e, "%s: ", c->name);
        return HDP_ERR;
    }
    c->started_ms = now_ms;
    return HDP_OK;
}

int sup_start_all(sup_table *t, hdp_err *e)
{
    long long now = proc_now_ms();
    for (int i = 0; i < t->n; i++)
        if (t->child[i].pid == 0 && start_child(t, &t->child[i], now, e) != HDP_OK)
            return HDP_ERR;
    return HDP_OK;
}

int sup_poll(sup_table *t, long long now_ms)
{
    int exited = 0;
    for (int i = 0; i < t->n; i++) {
        sup_child *c = &t->child[i];
        if (c->pid > 0) {
            int st = 0;
            pid_t r = waitpid(c->pid, &st, WNOHANG);
            if (r == 0 || (r < 0 && errno == EINTR))
                continue;
            exited++;
            c->last_status = r == c->pid ? st : -1;
            long long ran = now_ms - c->started_ms;
            c->delay_ms = sup_backoff_next(t, c->delay_ms, ran);
            c->next_start_ms = now_ms + c->delay_ms;
            c->pid = 0;
            char how[128];
            proc_status_str(c->last_status, how, sizeof(how));
            log_warn("%s %s after %.1f s; restarting in %.1f s (see %s)", c->name, how,
                     (double)ran / 1000.0, (double)c->delay_ms / 1000.0, c->log_path);
        }
        if (c->pid == 0 && c->last_status != -1 && now_ms >= c->next_start_ms) {
            hdp_err e;
            c->restarts++;
            if (start_child(t, c, now_ms, &e) != HDP_OK) {
                c->delay_ms = sup_backoff_next(t, c->delay_ms, 0);
                c->next_start_ms = now_ms + c->delay_ms;
                log_error("%s; next try in %.1f s", e.msg, (double)c->delay_ms / 1000.0);
                continue;
            }
            log_info("restarted %s (restart #%d, pid %d)", c->name, c->restarts, (int)c->pid);
        }
    }
    return exited;
}

void sup_stop(sup_table *t, long grace_ms)
{
    for (int i = 0; i < t->n; i++)
        if (t->child[i].pid > 0 && kill(-t->child[i].pid, SIGTERM) != 0)
            kill(t->child[i].pid, SIGTERM);
    long long deadline = proc_now_ms() + grace_ms;
    for (int i = 0; i < t->n; i++) {
        sup_child *c = &t->child[i];
        if (c->pid <= 0)
            continue;
        long left = (long)(deadline - proc_now_ms());
        int st = -1;
        if (proc_wait(c->pid, left > 0 ? left : 0, NULL, &st) != HDP_OK) {
            log_warn("%s did not stop within %.0f s; killing it", c->name,
                     (double)grace_ms / 1000.0);
            st = proc_terminate(c->pid, 0);
        }
        c->last_status = st;
        c->pid = 0;
    }
}

void sup_free(sup_table *t)
{
    for (int i = 0; i < t->n; i++) {
        for (int j = 0; t->child[i].argv[j]; j++)
            free(t->child[i].argv[j]);
        free(t->child[i].log_path);
    }
    t->n = 0;
}
