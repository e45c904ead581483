/* supervise.h — a table of long-running children kept alive with exponential backoff.
 *
 * A child that exits while the table runs is restarted after a delay: base, doubling up to
 * max, and back to base once it had been running for `healthy` before it exited. Each exit
 * and restart is logged (one line on stderr). The table owns its children: sup_stop()
 * terminates and reaps all of them, sup_free() releases the memory. */
#ifndef HDP_SUPERVISE_H
#define HDP_SUPERVISE_H

#include <sys/types.h>

#include "core/err.h"
#include "orchestrate/proc.h"

#define SUP_MAX      8
#define SUP_MAX_ARGS 24

typedef struct sup_child {
    char name[32];
    char *argv[SUP_MAX_ARGS + 1]; /* owned copies, NULL-terminated */
    char *log_path;               /* owned */
    pid_t pid;                    /* 0 while not running */
    long long started_ms;         /* when the current run began */
    long long next_start_ms;      /* while not running: when to start again */
    long delay_ms;                /* the last backoff delay, 0 before the first restart */
    int restarts;
    int last_status; /* wait status of the last exit, -1 before the first */
} sup_child;

typedef struct sup_table {
    sup_child child[SUP_MAX];
    int n;
    long base_ms, max_ms, healthy_ms;
    int pdeathsig;
} sup_table;

/* An empty table with the production schedule: 1 s doubling to 30 s, reset after 60 s of
 * healthy running, children get SIGTERM when their parent dies. */
void sup_init(sup_table *t);

/* Adds a child (not started yet). argv and log_path are copied. */
int sup_add(sup_table *t, const char *name, const char *const argv[], const char *log_path,
            hdp_err *e);

/* The delay before the next start of a child whose previous delay was prev_ms (0: none yet)
 * and which ran ran_ms before it exited. Pure. */
long sup_backoff_next(const sup_table *t, long prev_ms, long long ran_ms);

/* Starts every child that is not running. HDP_ERR when one cannot be spawned at all (no
 * such program); the ones already started keep running. */
int sup_start_all(sup_table *t, hdp_err *e);

/* Reaps children that exited, schedules their restart, and starts those that are due.
 * Returns how many children exited during this call. Call it regularly. */
int sup_poll(sup_table *t, long long now_ms);

/* Terminates every running child at once (SIGTERM to each, then SIGKILL to those still
 * alive after grace_ms) and reaps them. */
void sup_stop(sup_table *t, long grace_ms);

void sup_free(sup_table *t);

#endif
