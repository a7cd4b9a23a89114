/*
 * check.h -- the tiny check framework and helpers shared by the C tests.
 *
 * Every CHECK prints "FAIL file:line: ..." when it fails and counts the
 * failure; a test program ends with `return check_done("name");`, which
 * prints one summary line and gives a non-zero exit status on any failure.
 * Every test program starts a watchdog thread (signals blocked) that kills
 * the process after WATCHDOG_SECONDS, so nothing can hang.
 */
#ifndef SWIFTPOLL_TEST_CHECK_H
#define SWIFTPOLL_TEST_CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <swiftpoll.h>

static atomic_int check_failures;
static atomic_int check_count;

#define CHECK_MSG(cond, ...)                                                   \
    do {                                                                       \
        atomic_fetch_add(&check_count, 1);                                     \
        if (!(cond)) {                                                         \
            atomic_fetch_add(&check_failures, 1);                              \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

#define CHECK(cond) CHECK_MSG(cond, "false")

/* a == b for integers, printing both values on failure */
#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);        \
        CHECK_MSG(check_a_ == check_b_, "%lld != %lld (%s)", check_a_,         \
                  check_b_, err_name((int)check_a_));                          \
    } while (0)

/* the name of a (negative or positive) errno, for failure messages */
static inline const char *err_name(int e)
{
    switch (e < 0 ? -e : e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EPERM: return "EPERM";
    case EINTR: return "EINTR";
    case EBUSY: return "EBUSY";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case ELOOP: return "ELOOP";
    case ENOSPC: return "ENOSPC";
    case EAGAIN: return "EAGAIN";
    case ENOSYS: return "ENOSYS";
    default: return "?";
    }
}

static inline int check_done(const char *name)
{
    int f = atomic_load(&check_failures), n = atomic_load(&check_count);
    printf("%s %s (%d checks, %d failed)\n", f ? "FAIL" : "PASS", name, n, f);
    fflush(stdout);
    return f ? 1 : 0;
}

/* ---------------------------------------------------------------- time */

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void sleep_ns(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------ watchdog */

#ifndef WATCHDOG_SECONDS
#define WATCHDOG_SECONDS 60
#endif

static void *watchdog_main(void *arg)
{
    const char *name = (const char *)arg;
    sleep_ns((int64_t)WATCHDOG_SECONDS * 1000000000);
    fprintf(stderr, "FAIL %s: watchdog: still running after %d s (hang)\n", name,
            WATCHDOG_SECONDS);
    fflush(stderr);
    _exit(3);
    return NULL;
}

/* Starts the watchdog with every signal blocked in it, so tests that send
 * process-directed signals never have them handled there. */
static inline void watchdog_start(const char *name)
{
    sigset_t all, old;
    pthread_t t;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&t, NULL, watchdog_main, (void *)name) != 0) {
        fprintf(stderr, "cannot start watchdog\n");
        exit(2);
    }
    pthread_detach(t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
}

/* ------------------------------------------------------------ fds */

/* Number of open file descriptors of this process (the directory's own fd
 * is counted in every call alike). */
static inline int fd_count_now(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static inline int test_backend(void);

/* fd_count_now, except over kqueue (SWIFTPOLL_BACKEND=kqueue, the make
 * test-kqueue variant): libkqueue keeps two descriptors for the process from
 * its first kqueue on (made here first, by the backend probe, so that every
 * count includes them) and releases a closed kqueue's own descriptors
 * asynchronously, so the count is taken once it is steady (bounded: 2 s). */
static inline int fd_count(void)
{
    const char *b = getenv("SWIFTPOLL_BACKEND");
    if (!b || strcmp(b, "kqueue") != 0)
        return fd_count_now();
    (void)test_backend();
    int n = fd_count_now();
    for (int i = 0; i < 100; i++) {
        sleep_ns(20000000);
        int again = fd_count_now();
        if (again == n)
            break;
        n = again;
    }
    return n;
}

static inline int fd_is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

static inline void make_pipe(int p[2])
{
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
        perror("pipe2");
        exit(2);
    }
}

static inline void make_socketpair(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        perror("socketpair");
        exit(2);
    }
}

static inline void write_byte(int fd)
{
    char c = 'x';
    if (write(fd, &c, 1) != 1) {
        perror("write");
        exit(2);
    }
}

/* Reads until EAGAIN (or EOF); returns the bytes read. */
static inline long drain(int fd)
{
    char buf[4096];
    long total = 0;
    for (int i = 0; i < 100000; i++) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        total += n;
    }
    return total;
}

/* Raises the soft RLIMIT_NOFILE to at least `want` (up to the hard limit). */
static inline void raise_nofile(rlim_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ------------------------------------------------------------ backends */

/* The backend the tests run over: the one swiftpoll_poll_new picks (run.sh
 * runs every program once per backend, with SWIFTPOLL_BACKEND set for all but
 * the default). Found once, from a probe poll. */
static int test_backend_cached;
static inline int test_backend(void)
{
    if (test_backend_cached == 0) {
        swiftpoll_poll *p = NULL;
        int rc = swiftpoll_poll_new(&p);
        if (rc != 0 || p == NULL) {
            fprintf(stderr, "FAIL swiftpoll_poll_new (backend probe): %d\n", rc);
            exit(1);
        }
        test_backend_cached = swiftpoll_poll_backend(p);
        swiftpoll_poll_free(p);
    }
    return test_backend_cached;
}
static inline int on_epoll(void) { return test_backend() == SWIFTPOLL_BACKEND_EPOLL; }
static inline int on_poll(void) { return test_backend() == SWIFTPOLL_BACKEND_POLL; }
/* kqueue: only in the make test-kqueue variant on Linux (libkqueue). */
static inline int on_kqueue(void) { return test_backend() == SWIFTPOLL_BACKEND_KQUEUE; }
static inline const char *test_backend_name(void)
{
    const char *n = swiftpoll_backend_name(test_backend());
    return n ? n : "?";
}

/* A check that holds on one backend only: say so, once per place. */
#define SKIP_ON(backend_test, reason)                                          \
    do {                                                                       \
        if (backend_test()) {                                                  \
            printf("SKIP on %s: %s:%d: %s\n", test_backend_name(), __FILE__,   \
                   __LINE__, reason);                                          \
        }                                                                      \
    } while (0)

/* ------------------------------------------------------------ events */

/* poll(2)'s bit not among the epoll ones: a closed-but-registered fd. */
#ifndef POLLNVAL
#define POLLNVAL 0x020
#endif

/* mio's Event::is_* formulas (mio-behaviour.md section 3.6) applied to the
 * raw epoll bits: what `flags` must be for an event whose `raw` is r. */
static inline uint32_t expected_flags_epoll(uint32_t r)
{
    uint32_t f = 0;
    if (r & (EPOLLIN | EPOLLPRI))
        f |= SWIFTPOLL_EVENT_READABLE;
    if (r & EPOLLOUT)
        f |= SWIFTPOLL_EVENT_WRITABLE;
    if (r & EPOLLERR)
        f |= SWIFTPOLL_EVENT_ERROR;
    if ((r & EPOLLHUP) || ((r & EPOLLIN) && (r & EPOLLRDHUP)))
        f |= SWIFTPOLL_EVENT_READ_CLOSED;
    if ((r & EPOLLHUP) || ((r & EPOLLOUT) && (r & EPOLLERR)) || r == EPOLLERR)
        f |= SWIFTPOLL_EVENT_WRITE_CLOSED;
    if (r & EPOLLPRI)
        f |= SWIFTPOLL_EVENT_PRIORITY;
    return f;
}

/* mio's poll(2) formulas (src/sys/unix/selector/poll.rs) on the revents bits
 * (numerically the epoll ones on Linux): readable = IN|PRI, writable = OUT,
 * error = ERR|NVAL, read_closed = HUP|RDHUP, write_closed = HUP | (OUT&ERR) |
 * (r == ERR), priority = PRI. */
static inline uint32_t expected_flags_poll(uint32_t r)
{
    uint32_t f = 0;
    if (r & (EPOLLIN | EPOLLPRI))
        f |= SWIFTPOLL_EVENT_READABLE;
    if (r & EPOLLOUT)
        f |= SWIFTPOLL_EVENT_WRITABLE;
    if (r & (EPOLLERR | POLLNVAL))
        f |= SWIFTPOLL_EVENT_ERROR;
    if (r & (EPOLLHUP | EPOLLRDHUP))
        f |= SWIFTPOLL_EVENT_READ_CLOSED;
    if ((r & EPOLLHUP) || ((r & EPOLLOUT) && (r & EPOLLERR)) || r == EPOLLERR)
        f |= SWIFTPOLL_EVENT_WRITE_CLOSED;
    if (r & EPOLLPRI)
        f |= SWIFTPOLL_EVENT_PRIORITY;
    return f;
}

/* mio's kqueue formulas over the kqueue backend's raw bits (docs/BACKENDS.md,
 * kqueue): 0x01 an EVFILT_READ kevent, 0x02 EVFILT_WRITE, 0x04 the waker's
 * EVFILT_USER, 0x10 EV_EOF on READ, 0x20 EV_EOF on WRITE, 0x40 EV_ERROR, 0x80
 * EV_EOF with fflags != 0. readable = READ|USER, writable = WRITE, error =
 * EV_ERROR or EOF with fflags, read_closed = READ&EOF, write_closed = WRITE&EOF,
 * priority never. */
static inline uint32_t expected_flags_kqueue(uint32_t r)
{
    uint32_t f = 0;
    if (r & (0x01u | 0x04u))
        f |= SWIFTPOLL_EVENT_READABLE;
    if (r & 0x02u)
        f |= SWIFTPOLL_EVENT_WRITABLE;
    if (r & (0x40u | 0x80u))
        f |= SWIFTPOLL_EVENT_ERROR;
    if (r & 0x10u)
        f |= SWIFTPOLL_EVENT_READ_CLOSED;
    if (r & 0x20u)
        f |= SWIFTPOLL_EVENT_WRITE_CLOSED;
    return f;
}

/* The formulas of the backend under test. */
static inline uint32_t expected_flags(uint32_t r)
{
    if (on_kqueue())
        return expected_flags_kqueue(r);
    return on_poll() ? expected_flags_poll(r) : expected_flags_epoll(r);
}

/* Every event any test receives must obey the formulas. */
#define CHECK_EVENT_FORMULA(ev)                                                \
    CHECK_MSG((ev).flags == expected_flags((ev).raw),                          \
              "token %" PRIu64 " raw 0x%x: flags 0x%x, formula gives 0x%x",    \
              (uint64_t)(ev).token, (unsigned)(ev).raw, (unsigned)(ev).flags,  \
              (unsigned)expected_flags((ev).raw))

/* Waits with `timeout_ns`, checks every returned event against the
 * formulas; returns the wait's result. */
static inline int wait_checked_impl(swiftpoll_poll *p, swiftpoll_event *ev, size_t cap,
                                    int64_t timeout_ns, const char *file, int line)
{
    int n = swiftpoll_poll_wait(p, ev, cap, timeout_ns);
    atomic_fetch_add(&check_count, 1);
    if (n > 0 && (size_t)n > cap) {
        atomic_fetch_add(&check_failures, 1);
        fprintf(stderr, "FAIL %s:%d: wait returned %d > capacity %zu\n", file, line, n, cap);
    }
    for (int i = 0; i < n && (size_t)i < cap; i++) {
        if (ev[i].flags != expected_flags(ev[i].raw)) {
            atomic_fetch_add(&check_failures, 1);
            fprintf(stderr,
                    "FAIL %s:%d: token %" PRIu64 " raw 0x%x: flags 0x%x, formula gives 0x%x\n",
                    file, line, (uint64_t)ev[i].token, (unsigned)ev[i].raw,
                    (unsigned)ev[i].flags, (unsigned)expected_flags(ev[i].raw));
        }
    }
    return n;
}
#define wait_checked(p, ev, cap, t) wait_checked_impl((p), (ev), (cap), (t), __FILE__, __LINE__)

/* Finds the event with `token` among the first n; NULL if none. */
static inline const swiftpoll_event *find_token(const swiftpoll_event *ev, int n,
                                                swiftpoll_token token)
{
    for (int i = 0; i < n; i++)
        if (ev[i].token == token)
            return &ev[i];
    return NULL;
}

/* Makes a poll or exits: tests need one to run at all. */
static inline swiftpoll_poll *new_poll(void)
{
    swiftpoll_poll *p = NULL;
    int rc = swiftpoll_poll_new(&p);
    if (rc != 0 || p == NULL) {
        fprintf(stderr, "FAIL swiftpoll_poll_new: %d\n", rc);
        exit(1);
    }
    return p;
}

#endif
