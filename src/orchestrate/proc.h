/* proc.h — child processes without a shell: spawn with the output appended to a log file,
 * wait with a deadline, terminate with a grace period, run as another OS user.
 *
 * Every child gets its own process group (so a Ctrl-C on the terminal reaches only the
 * parent, which then stops its children in order), stdin from /dev/null, no inherited file
 * descriptors beyond 0-2, default signal dispositions, and optionally a parent-death signal. */
#ifndef HDP_PROC_H
#define HDP_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

#define PROC_MAX_GROUPS 64

/* An OS account to run a child as (credentials are switched in the child after fork). */
typedef struct proc_user {
    uid_t uid;
    gid_t gid;
    gid_t groups[PROC_MAX_GROUPS];
    int ngroups;
    char name[64];
} proc_user;

typedef struct proc_opts {
    const char *log_path;  /* stdout and stderr appended here; NULL: /dev/null */
    const char *cwd;       /* working directory of the child; NULL: inherited */
    const proc_user *user; /* run as this user; NULL: as the caller */
    int pdeathsig;         /* signal the child gets when its parent dies; 0: none */
    int inherit_output;    /* stdout and stderr are the caller's (log_path is ignored) */
} proc_opts;

/* Looks up an OS user and its supplementary groups. HDP_ERR when it does not exist. */
int proc_user_lookup(const char *name, proc_user *u, hdp_err *e);

/* Forks and execs argv[0] (searched in PATH when it has no '/'). On HDP_OK *pid is the
 * child; an exec failure (no such program) is reported here as HDP_ERR, not as an exit. */
int proc_spawn(char *const argv[], const proc_opts *o, pid_t *pid, hdp_err *e);

/* Waits for pid to exit for at most timeout_ms (< 0: no limit), giving up early when stop is
 * not NULL and *stop becomes nonzero. HDP_OK with *status (a waitpid status) when it exited,
 * HDP_RETRY when it is still running. */
int proc_wait(pid_t pid, long timeout_ms, volatile int *stop, int *status);

/* Sends SIGTERM to pid's process group, waits up to grace_ms, then SIGKILLs the group and
 * reaps pid. Returns the wait status. */
int proc_terminate(pid_t pid, long grace_ms);

/* Spawns argv and waits for it (stop as in proc_wait; the child is terminated then).
 * HDP_OK when it exited 0; otherwise HDP_ERR with e saying how it ended; *status (may be
 * NULL) gets the wait status, or -1 when it never ran or was stopped. */
int proc_run(char *const argv[], const proc_opts *o, volatile int *stop, int *status, hdp_err *e);

/* Runs argv and copies its stdout, trailing whitespace removed, into out. HDP_OK only when
 * it exited 0. stderr goes to /dev/null. */
int proc_capture(char *const argv[], char *out, size_t outlen, hdp_err *e);

/* Describes a wait status: "exited with status 3", "killed by signal 9". */
void proc_status_str(int status, char *out, size_t outlen);

/* Copies the last non-empty line of a text file into out (empty when none). */
void proc_last_line(const char *path, char *out, size_t outlen);

/* Milliseconds on a monotonic clock. */
long long proc_now_ms(void);

/* Sleeps ms milliseconds or until a signal arrives. */
void proc_sleep_ms(long ms);

#endif
