/* test_proc.c — real child processes: exit codes, log redirection, exec failures,
 * termination, and the supervisor's backoff schedule and restarts. */
#include "unit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orchestrate/proc.h"
#include "orchestrate/supervise.h"

static void tmp_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "/tmp/hdp_test_proc_%d_%s", (int)getpid(), name);
    unlink(out);
}

static void test_true_exits_zero(void **state)
{
    (void)state;
    char *argv[] = {"/bin/true", NULL};
    hdp_err e;
    int st = -1;
    assert_int_equal(proc_run(argv, NULL, NULL, &st, &e), HDP_OK);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_exit_code_is_reported(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "exit 3", NULL};
    hdp_err e;
    int st = -1;
    assert_int_equal(proc_run(argv, NULL, NULL, &st, &e), HDP_ERR);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3);
    assert_non_null(strstr(e.msg, "exited with status 3"));
}

static void test_log_redirection_appends(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "log");
    proc_opts o = {.log_path = path};
    char *a1[] = {"/bin/sh", "-c", "echo first; echo oops >&2", NULL};
    char *a2[] = {"/bin/echo", "second", NULL};
    hdp_err e;
    assert_int_equal(proc_run(a1, &o, NULL, NULL, &e), HDP_OK);
    assert_int_equal(proc_run(a2, &o, NULL, NULL, &e), HDP_OK);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[256] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, "first\noops\nsecond\n");
    char last[64];
    proc_last_line(path, last, sizeof(last));
    assert_string_equal(last, "second");
    unlink(path);
}

static void test_no_inherited_fds(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "fds");
    proc_opts o = {.log_path = path};
    /* An fd the parent holds without O_CLOEXEC must be closed in the child. `test` is a
     * builtin, so /proc/self is the shell itself (a pipeline would race with the shell's
     * own pipe fds). */
    int fd = dup2(STDERR_FILENO, 47);
    assert_int_equal(fd, 47);
    char *argv[] = {"/bin/sh", "-c",
                    "if test -e /proc/self/fd/47; then echo leaked; else echo closed; fi", NULL};
    hdp_err e;
    int rc = proc_run(argv, &o, NULL, NULL, &e);
    close(fd);
    assert_int_equal(rc, HDP_OK);
    char line[128];
    proc_last_line(path, line, sizeof(line));
    assert_string_equal(line, "closed");
    unlink(path);
}

static void test_missing_program_fails_at_spawn(void **state)
{
    (void)state;
    char *argv[] = {"/nonexistent/hdp-nothing", NULL};
    hdp_err e;
    pid_t pid = 0;
    assert_int_equal(proc_spawn(argv, NULL, &pid, &e), HDP_ERR);
    assert_non_null(strstr(e.msg, "No such file"));
}

static void test_capture_stdout(void **state)
{
    (void)state;
    char *argv[] = {"/bin/echo", "hello world", NULL};
    char out[64];
    hdp_err e;
    assert_int_equal(proc_capture(argv, out, sizeof(out), &e), HDP_OK);
    assert_string_equal(out, "hello world");
}

static void test_terminate_and_own_group(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sleep", "100", NULL};
    hdp_err e;
    pid_t pid;
    assert_int_equal(proc_spawn(argv, NULL, &pid, &e), HDP_OK);
    assert_int_equal(getpgid(pid), pid);
    int st = 0;
    assert_int_equal(proc_wait(pid, 0, NULL, &st), HDP_RETRY);
    st = proc_terminate(pid, 10000);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGTERM);
    assert_int_equal(kill(pid, 0), -1);
}

static void test_backoff_schedule(void **state)
{
    (void)state;
    sup_table t;
    sup_init(&t);
    long want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    long d = 0;
    for (int i = 0; i < 7; i++) {
        d = sup_backoff_next(&t, d, 500);
        assert_int_equal(d, want[i]);
    }
    /* 60 s of healthy running resets the schedule; 59.999 s does not. */
    assert_int_equal(sup_backoff_next(&t, 30000, 59999), 30000);
    assert_int_equal(sup_backoff_next(&t, 30000, 60000), 1000);
    sup_free(&t);
}

static void test_supervisor_restarts_crashing_child(void **state)
{
    (void)state;
    sup_table t;
    sup_init(&t);
    t.base_ms = 5;
    t.max_ms = 20;
    char path[256];
    tmp_path(path, sizeof(path), "sup");
    const char *argv[] = {"/bin/sh", "-c", "echo ran; exit 3", NULL};
    hdp_err e;
    assert_int_equal(sup_add(&t, "crasher", argv, path, &e), HDP_OK);
    assert_int_equal(sup_start_all(&t, &e), HDP_OK);
    long seen[8] = {0};
    int exits = 0;
    while (exits < 5) {
        if (sup_poll(&t, proc_now_ms()) > 0)
            seen[exits++] = t.child[0].delay_ms;
        proc_sleep_ms(1);
    }
    assert_int_equal(seen[0], 5);
    assert_int_equal(seen[1], 10);
    assert_int_equal(seen[2], 20);
    assert_int_equal(seen[3], 20);
    assert_true(WIFEXITED(t.child[0].last_status));
    assert_int_equal(WEXITSTATUS(t.child[0].last_status), 3);
    assert_true(t.child[0].restarts >= 4);
    sup_stop(&t, 1000);
    assert_int_equal(t.child[0].pid, 0);
    /* Every run appended to the same log. */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int lines = 0;
    char line[64];
    while (fgets(line, sizeof(line), f))
        lines++;
    fclose(f);
    assert_true(lines >= 5);
    unlink(path);
    sup_free(&t);
}

static void test_supervisor_stop_terminates(void **state)
{
    (void)state;
    sup_table t;
    sup_init(&t);
    const char *argv[] = {"/bin/sleep", "100", NULL};
    hdp_err e;
    assert_int_equal(sup_add(&t, "a", argv, "/dev/null", &e), HDP_OK);
    assert_int_equal(sup_add(&t, "b", argv, "/dev/null", &e), HDP_OK);
    assert_int_equal(sup_start_all(&t, &e), HDP_OK);
    pid_t a = t.child[0].pid, b = t.child[1].pid;
    assert_int_equal(sup_poll(&t, proc_now_ms()), 0);
    sup_stop(&t, 10000);
    assert_true(WIFSIGNALED(t.child[0].last_status));
    assert_true(WIFSIGNALED(t.child[1].last_status));
    assert_int_equal(kill(a, 0), -1);
    assert_int_equal(kill(b, 0), -1);
    sup_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_true_exits_zero),
        cmocka_unit_test(test_exit_code_is_reported),
        cmocka_unit_test(test_log_redirection_appends),
        cmocka_unit_test(test_no_inherited_fds),
        cmocka_unit_test(test_missing_program_fails_at_spawn),
        cmocka_unit_test(test_capture_stdout),
        cmocka_unit_test(test_terminate_and_own_group),
        cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_supervisor_restarts_crashing_child),
        cmocka_unit_test(test_supervisor_stop_terminates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
