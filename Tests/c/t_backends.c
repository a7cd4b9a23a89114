/*
 * t_backends.c -- backend selection: swiftpoll_poll_new_backend for every
 * value (-EINVAL for unknown ones, -ENOTSUP for kqueue on Linux, *out
 * untouched on error, NULL out), swiftpoll_poll_backend, swiftpoll_backend_name,
 * the SWIFTPOLL_BACKEND environment variable (children run with poll, epoll,
 * an unknown name and kqueue: read once per process, -EINVAL never another
 * backend, nothing printed), and the default's fallback to poll(2) when the
 * kernel refuses epoll_create1 with ENOSYS (a seccomp filter in a child, as
 * t_fallback does for epoll_pwait2).
 *
 * Usage: t_backends                 (the tests)
 *        t_backends child MODE      (run by the tests; results on fd 3)
 */
#include "check.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include "seccomp.h"
#include <sys/syscall.h>
#include <sys/wait.h>

#define BOGUS_POLL ((swiftpoll_poll *)(uintptr_t)0x5a5a5a5a5a5a5a50ull)


static const char *self_path;

/* ---------------------------------------------------------------- the API */

static void test_new_backend(void)
{
    static const int unknown[] = { -1, 4, 5, 100, INT_MAX, INT_MIN, -2 };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        swiftpoll_poll *p = BOGUS_POLL;
        errno = 4242;
        int rc = swiftpoll_poll_new_backend(&p, unknown[i]);
        CHECK_MSG(rc == -EINVAL, "backend %d: %d (%s)", unknown[i], rc, err_name(rc));
        CHECK_MSG(p == BOGUS_POLL, "backend %d: *out written on failure", unknown[i]);
        CHECK_EQ(errno, 4242);
        CHECK_EQ(swiftpoll_poll_new_backend(NULL, unknown[i]), -EINVAL);
    }
    /* kqueue is not built into the Linux library (the make test-kqueue variant has it) */
    SKIP_ON(on_kqueue, "the make test-kqueue variant of the library has kqueue");
    if (!on_kqueue()) {
        swiftpoll_poll *p = BOGUS_POLL;
        errno = 4242;
        int rc = swiftpoll_poll_new_backend(&p, SWIFTPOLL_BACKEND_KQUEUE);
        CHECK_MSG(rc == -ENOTSUP, "kqueue: %d (%s)", rc, err_name(rc));
        CHECK(p == BOGUS_POLL);
        CHECK_EQ(errno, 4242);
        CHECK_EQ(swiftpoll_poll_new_backend(NULL, SWIFTPOLL_BACKEND_KQUEUE), -EINVAL);
    }
    /* every valid value: NULL out is -EINVAL; else a working poll over it */
    static const int valid[] = { SWIFTPOLL_BACKEND_DEFAULT, SWIFTPOLL_BACKEND_EPOLL,
                                 SWIFTPOLL_BACKEND_POLL };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        int b = valid[i];
        CHECK_EQ(swiftpoll_poll_new_backend(NULL, b), -EINVAL);
        swiftpoll_poll *p = BOGUS_POLL;
        errno = 4242;
        int rc = swiftpoll_poll_new_backend(&p, b);
        CHECK_EQ(errno, 4242);
        CHECK_MSG(rc == 0, "backend %d: %d (%s)", b, rc, err_name(rc));
        if (rc != 0)
            continue;
        CHECK(p != NULL && p != BOGUS_POLL);
        /* DEFAULT is exactly swiftpoll_poll_new: the backend under test */
        int want = b == SWIFTPOLL_BACKEND_DEFAULT ? test_backend() : b;
        errno = 4242;
        CHECK_EQ(swiftpoll_poll_backend(p), want);
        CHECK_EQ(errno, 4242);
        int fd = swiftpoll_poll_fd(p);
        if (want == SWIFTPOLL_BACKEND_POLL)
            CHECK_EQ(fd, -ENOTSUP);
        else
            CHECK_MSG(fd >= 0 && fd_is_open(fd), "epoll fd %d", fd);
        /* a round trip on it */
        int efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
        swiftpoll_event ev[4];
        CHECK_EQ(swiftpoll_registry_register(swiftpoll_poll_registry(p), efd, 77, SWIFTPOLL_READABLE), 0);
        int n = swiftpoll_poll_wait(p, ev, 4, -1);
        CHECK_MSG(n == 1 && ev[0].token == 77, "backend %d: wait %d", b, n);
        if (n == 1) {
            uint32_t f = want == SWIFTPOLL_BACKEND_POLL ? expected_flags_poll(ev[0].raw)
                                                        : expected_flags_epoll(ev[0].raw);
            CHECK_MSG(ev[0].flags == f, "backend %d: flags 0x%x raw 0x%x", b, ev[0].flags, ev[0].raw);
        }
        close(efd);
        swiftpoll_poll_free(p);
    }
    errno = 4242;
    CHECK_EQ(swiftpoll_poll_backend(NULL), -EINVAL);
    CHECK_EQ(errno, 4242);
}

static void test_backend_names(void)
{
    static const struct { int b; const char *name; } t[] = {
        { SWIFTPOLL_BACKEND_DEFAULT, "default" },
        { SWIFTPOLL_BACKEND_EPOLL, "epoll" },
        { SWIFTPOLL_BACKEND_POLL, "poll" },
        { SWIFTPOLL_BACKEND_KQUEUE, "kqueue" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        errno = 4242;
        const char *n = swiftpoll_backend_name(t[i].b);
        CHECK_EQ(errno, 4242);
        CHECK_MSG(n && strcmp(n, t[i].name) == 0, "name(%d) = %s", t[i].b, n ? n : "(null)");
        CHECK_MSG(n == swiftpoll_backend_name(t[i].b), "name(%d) is not static", t[i].b);
    }
    static const int unknown[] = { -1, 4, INT_MAX, INT_MIN };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK_MSG(swiftpoll_backend_name(unknown[i]) == NULL, "name(%d) is not NULL", unknown[i]);
}

/* ------------------------------------------------------------- children */

/* Runs `self child MODE` with SWIFTPOLL_BACKEND = env (NULL: unset); the
 * child's results (one line) come back in `res`; its stdout and stderr must
 * stay empty (the library prints nothing, also for a bad name). */
static int run_child(const char *mode, const char *env, char *res, size_t cap)
{
    int rp[2], op[2];
    make_pipe(rp);
    make_pipe(op);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(op[1], 1);
        dup2(op[1], 2);
        dup2(rp[1], 3);
        if (env)
            setenv("SWIFTPOLL_BACKEND", env, 1);
        else
            unsetenv("SWIFTPOLL_BACKEND");
        execl(self_path, self_path, "child", mode, (char *)NULL);
        _exit(127);
    }
    close(rp[1]);
    close(op[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    /* the pipes are non-blocking: everything was written before the exit */
    ssize_t n = read(rp[0], res, cap - 1);
    res[n > 0 ? n : 0] = 0;
    char out[512];
    ssize_t m = read(op[0], out, sizeof out - 1);
    out[m > 0 ? m : 0] = 0;
    CHECK_MSG(m <= 0, "child %s SWIFTPOLL_BACKEND=%s printed: \"%s\"", mode, env ? env : "(unset)", out);
    close(rp[0]);
    close(op[0]);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %s %s: status 0x%x", mode,
              env ? env : "(unset)", status);
    return n > 0;
}

static void child_result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void child_result(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (write(3, buf, (size_t)n) != n)
        _exit(2);
}

/* swiftpoll_poll_new once, then with the variable changed (read once per
 * process: the same answer), and the explicit backends (not affected). */
static int child_env(void)
{
    swiftpoll_poll *p = BOGUS_POLL, *q = BOGUS_POLL;
    int rc1 = swiftpoll_poll_new(&p);
    int b1 = rc1 == 0 ? swiftpoll_poll_backend(p) : 0;
    int untouched = rc1 == 0 || p == BOGUS_POLL;
    int rcd = swiftpoll_poll_new_backend(&q, SWIFTPOLL_BACKEND_DEFAULT);
    if (rcd == 0)
        swiftpoll_poll_free(q);
    const char *was = getenv("SWIFTPOLL_BACKEND");
    setenv("SWIFTPOLL_BACKEND", was && strcmp(was, "epoll") == 0 ? "poll" : "epoll", 1);
    q = BOGUS_POLL;
    int rc2 = swiftpoll_poll_new(&q);
    int b2 = rc2 == 0 ? swiftpoll_poll_backend(q) : 0;
    if (rc2 == 0)
        swiftpoll_poll_free(q);
    if (rc1 == 0)
        swiftpoll_poll_free(p);
    int rce = swiftpoll_poll_new_backend(&q, SWIFTPOLL_BACKEND_EPOLL);
    int be = rce == 0 ? swiftpoll_poll_backend(q) : 0;
    if (rce == 0)
        swiftpoll_poll_free(q);
    int rcp = swiftpoll_poll_new_backend(&q, SWIFTPOLL_BACKEND_POLL);
    int bp = rcp == 0 ? swiftpoll_poll_backend(q) : 0;
    if (rcp == 0)
        swiftpoll_poll_free(q);
    child_result("%d %d %d %d %d %d %d %d %d %d", rc1, b1, untouched, rcd, rc2, b2, rce, be, rcp, bp);
    return 0;
}

/* epoll_create1 (and epoll_create where it exists) fail with ENOSYS, as in
 * a sandbox that forbids epoll */
static int block_epoll_create(void)
{
#ifdef SYS_epoll_create
    const long nrs[] = { SYS_epoll_create1, SYS_epoll_create };
#else
    const long nrs[] = { SYS_epoll_create1 };
#endif
    return fail_with_enosys(nrs, (int)(sizeof nrs / sizeof nrs[0]));
}

static int child_noepoll(void)
{
    if (block_epoll_create() != 0)
        return 3;
    /* the filter works: the test is not void */
    int e = (int)syscall(SYS_epoll_create1, EPOLL_CLOEXEC);
    int filtered = e == -1 && errno == ENOSYS;
    swiftpoll_poll *p = BOGUS_POLL, *q = BOGUS_POLL;
    int rc1 = swiftpoll_poll_new(&p);
    int b1 = rc1 == 0 ? swiftpoll_poll_backend(p) : 0;
    int rce = swiftpoll_poll_new_backend(&q, SWIFTPOLL_BACKEND_EPOLL);
    int untouched = q == BOGUS_POLL;
    int rcp = swiftpoll_poll_new_backend(&q, SWIFTPOLL_BACKEND_POLL);
    if (rcp == 0)
        swiftpoll_poll_free(q);
    /* the fallback poll works: register, wake, wait */
    int works = 0;
    if (rc1 == 0) {
        int pfd[2];
        swiftpoll_event ev[4];
        swiftpoll_waker *w = NULL;
        make_pipe(pfd);
        write_byte(pfd[1]);
        works = swiftpoll_registry_register(swiftpoll_poll_registry(p), pfd[0], 5, SWIFTPOLL_READABLE) == 0
                && swiftpoll_poll_wait(p, ev, 4, -1) == 1 && ev[0].token == 5
                && swiftpoll_waker_new(swiftpoll_poll_registry(p), 6, &w) == 0
                && swiftpoll_registry_deregister(swiftpoll_poll_registry(p), pfd[0]) == 0
                && swiftpoll_waker_wake(w) == 0
                && swiftpoll_poll_wait(p, ev, 4, -1) == 1 && ev[0].token == 6;
        swiftpoll_waker_free(w);
        close(pfd[0]);
        close(pfd[1]);
        swiftpoll_poll_free(p);
    }
    child_result("%d %d %d %d %d %d %d", filtered, rc1, b1, rce, untouched, rcp, works);
    return 0;
}

static void test_env(void)
{
    char r[256];
    int rc1, b1, untouched, rcd, rc2, b2, rce, be, rcp, bp;
    static const struct { const char *env; int rc, backend; } t[] = {
        { "poll", 0, SWIFTPOLL_BACKEND_POLL },
        { "epoll", 0, SWIFTPOLL_BACKEND_EPOLL },
        { NULL, 0, SWIFTPOLL_BACKEND_EPOLL },       /* unset: the system's best */
        { "bogus", -EINVAL, 0 },
        { "kqueue", -EINVAL, 0 },                    /* not in the Linux library */
        { "", -EINVAL, 0 },                          /* names no backend */
        { "POLL", -EINVAL, 0 },                      /* exact names only */
        { "poll ", -EINVAL, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *name = t[i].env ? t[i].env : "(unset)";
        if (!run_child("env", t[i].env, r, sizeof r)) {
            CHECK_MSG(0, "SWIFTPOLL_BACKEND=%s: no result from the child", name);
            continue;
        }
        if (sscanf(r, "%d %d %d %d %d %d %d %d %d %d", &rc1, &b1, &untouched, &rcd, &rc2, &b2, &rce,
                   &be, &rcp, &bp) != 10) {
            CHECK_MSG(0, "SWIFTPOLL_BACKEND=%s: child said \"%s\"", name, r);
            continue;
        }
        if (on_kqueue() && t[i].env && strcmp(t[i].env, "kqueue") == 0) {
            /* the make test-kqueue variant has kqueue */
            SKIP_ON(on_kqueue, "SWIFTPOLL_BACKEND=kqueue names a backend this variant has");
            CHECK_MSG(rc1 == 0 && b1 == SWIFTPOLL_BACKEND_KQUEUE, "SWIFTPOLL_BACKEND=kqueue: poll_new %d backend %d",
                      rc1, b1);
            continue;
        }
        CHECK_MSG(rc1 == t[i].rc && b1 == t[i].backend, "SWIFTPOLL_BACKEND=%s: poll_new %d backend %d",
                  name, rc1, b1);
        CHECK_MSG(untouched, "SWIFTPOLL_BACKEND=%s: *out written on failure", name);
        CHECK_MSG(rcd == rc1, "SWIFTPOLL_BACKEND=%s: new_backend(DEFAULT) %d, poll_new %d", name, rcd, rc1);
        /* read once per process: changing it later changes nothing */
        CHECK_MSG(rc2 == rc1 && b2 == b1, "SWIFTPOLL_BACKEND=%s, then changed: %d backend %d", name,
                  rc2, b2);
        /* explicit backends ignore the variable */
        CHECK_MSG(rce == 0 && be == SWIFTPOLL_BACKEND_EPOLL, "SWIFTPOLL_BACKEND=%s: EPOLL %d/%d", name,
                  rce, be);
        CHECK_MSG(rcp == 0 && bp == SWIFTPOLL_BACKEND_POLL, "SWIFTPOLL_BACKEND=%s: POLL %d/%d", name,
                  rcp, bp);
    }
}

static void test_no_epoll(void)
{
    char r[256];
    int filtered, rc1, b1, rce, untouched, rcp, works;
    /* unset: the default falls back to poll(2); EPOLL asked for is -ENOTSUP */
    if (!run_child("noepoll", NULL, r, sizeof r)) {
        CHECK_MSG(0, "noepoll: no result from the child");
        return;
    }
    CHECK_MSG(sscanf(r, "%d %d %d %d %d %d %d", &filtered, &rc1, &b1, &rce, &untouched, &rcp, &works) == 7,
              "child said \"%s\"", r);
    CHECK_MSG(filtered, "the seccomp filter did not make epoll_create1 fail with ENOSYS");
    CHECK_MSG(rc1 == 0 && b1 == SWIFTPOLL_BACKEND_POLL, "no epoll: poll_new %d backend %d", rc1, b1);
    CHECK_MSG(rce == -ENOTSUP && untouched, "no epoll: new_backend(EPOLL) %d", rce);
    CHECK_EQ(rcp, 0);
    CHECK_MSG(works, "no epoll: the fallback poll does not work");
    /* SWIFTPOLL_BACKEND=epoll where epoll is refused: -EINVAL, never poll(2) */
    if (!run_child("noepoll", "epoll", r, sizeof r)) {
        CHECK_MSG(0, "noepoll epoll: no result from the child");
        return;
    }
    CHECK_MSG(sscanf(r, "%d %d %d %d %d %d %d", &filtered, &rc1, &b1, &rce, &untouched, &rcp, &works) == 7,
              "child said \"%s\"", r);
    CHECK_MSG(rc1 == -EINVAL, "SWIFTPOLL_BACKEND=epoll without epoll: poll_new %d backend %d", rc1, b1);
    CHECK_MSG(rce == -ENOTSUP, "new_backend(EPOLL) %d", rce);
    CHECK_EQ(rcp, 0);
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc == 3 && strcmp(argv[1], "child") == 0) {
        if (strcmp(argv[2], "env") == 0)
            return child_env();
        if (strcmp(argv[2], "noepoll") == 0)
            return child_noepoll();
        return 2;
    }
    watchdog_start("t_backends");
    int fds0 = fd_count();
    printf("backend under test: %s\n", test_backend_name());
    test_new_backend();
    test_backend_names();
    test_env();
    test_no_epoll();
    CHECK_EQ(fd_count(), fds0);
    return check_done("t_backends");
}
