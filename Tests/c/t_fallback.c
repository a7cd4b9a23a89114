/*
 * t_fallback.c -- the millisecond fallback: a seccomp filter makes
 * epoll_pwait2 fail with ENOSYS for this whole process (as on kernels
 * before 5.11), so the library must fall back to whole milliseconds rounded
 * UP ("1 ns waits 1 ms; never rounded down to a busy loop"). Lower bounds
 * only: a 1 ns wait lasts >= 1 ms, 1 ms + 1 ns lasts >= 2 ms, 1.5 ms >= 2 ms.
 * Everything else about waiting works as before: events, 0, blocking,
 * huge timeouts, -EINTR.
 */
#include "check.h"

#include "seccomp.h"

#ifndef __NR_epoll_pwait2
#define __NR_epoll_pwait2 441
#endif

static int block_epoll_pwait2(void)
{
    const long nrs[] = { __NR_epoll_pwait2 };
    return fail_with_enosys(nrs, 1);
}

struct writer_arg {
    int fd;
    atomic_int written;
};

static void *late_writer(void *a)
{
    struct writer_arg *w = a;
    sleep_ns(50000000);
    atomic_store(&w->written, 1);
    uint64_t one = 1;
    if (write(w->fd, &one, 8) != 8)
        abort();
    return NULL;
}

static void on_signal(int sig) { (void)sig; }

static void *kick(void *a)
{
    for (int i = 0; i < 20; i++) {
        sleep_ns(5000000);
        pthread_kill(*(pthread_t *)a, SIGUSR2);
    }
    return NULL;
}

int main(void)
{
    watchdog_start("t_fallback");
    int fds0 = fd_count();
    /* a poll made before the filter (a library may probe once at creation),
     * and one made after it */
    swiftpoll_poll *before = new_poll();
    if (block_epoll_pwait2() != 0) {
        CHECK_MSG(0, "cannot install the seccomp filter: %s", strerror(errno));
        return check_done("t_fallback");
    }
    /* the filter works: the test is not void */
    {
        int e = (int)syscall(__NR_epoll_pwait2, swiftpoll_poll_fd(before), NULL, 1, NULL, NULL, 8);
        CHECK_MSG(e == -1 && errno == ENOSYS, "epoll_pwait2 still answers (%d, %s)", e,
                  strerror(errno));
    }
    swiftpoll_poll *after = new_poll();
    swiftpoll_poll *polls[2] = { before, after };
    for (int k = 0; k < 2; k++) {
        swiftpoll_poll *p = polls[k];
        swiftpoll_event ev[4];
        /* whole milliseconds, rounded up */
        static const struct { int64_t t, min; } ts[] = {
            { 1, 1000000 },          { 1000, 1000000 },   { 999999, 1000000 },
            { 1000000, 1000000 },    { 1000001, 2000000 }, { 1500000, 2000000 },
            { 2000000, 2000000 },    { 2500000, 3000000 },
        };
        /* poll(2) uses ppoll, which the filter leaves alone: nanoseconds
         * there, so the lower bound is the timeout itself */
        if (k == 0) {
            SKIP_ON(on_poll, "ppoll keeps nanoseconds: lower bounds are the timeouts, not whole ms");
            SKIP_ON(on_kqueue, "kevent keeps nanoseconds: lower bounds are the timeouts, not whole ms");
        }
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            int64_t min = on_poll() || on_kqueue() ? ts[i].t : ts[i].min;
            for (int rep = 0; rep < 3; rep++) {
                int64_t t0 = now_ns();
                int n = wait_checked(p, ev, 4, ts[i].t);
                int64_t dt = now_ns() - t0;
                CHECK_MSG(n == 0, "poll %d timeout %" PRId64 ": %d (%s)", k, ts[i].t, n,
                          err_name(n));
                CHECK_MSG(dt >= min,
                          "poll %d: timeout %" PRId64 " ns returned after %" PRId64
                          " ns, before %" PRId64 " ns (not rounded up to whole ms)",
                          k, ts[i].t, dt, min);
            }
        }
        /* 0 and events */
        CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        CHECK_EQ(swiftpoll_registry_register(swiftpoll_poll_registry(p), efd, 5, SWIFTPOLL_READABLE), 0);
        uint64_t one = 1;
        CHECK_EQ(write(efd, &one, 8), 8);
        CHECK_EQ(wait_checked(p, ev, 4, 0), 1);
        CHECK_EQ(write(efd, &one, 8), 8);
        CHECK_EQ(wait_checked(p, ev, 4, INT64_MAX), 1);
        /* poll(2) reports edge as level: drained, or the blocking waits
         * below would see the old counter */
        uint64_t counter;
        if (on_poll())
            CHECK_EQ(read(efd, &counter, 8), 8);
        /* blocking (negative and huge) until another thread writes */
        static const int64_t blocking[] = { -1, INT64_MAX, (int64_t)INT32_MAX * 1000000 + 1 };
        for (size_t i = 0; i < sizeof blocking / sizeof blocking[0]; i++) {
            struct writer_arg w = { efd, 0 };
            pthread_t t;
            pthread_create(&t, NULL, late_writer, &w);
            int n = wait_checked(p, ev, 4, blocking[i]);
            CHECK_MSG(n == 1 && ev[0].token == 5, "timeout %" PRId64 ": %d (%s)", blocking[i], n,
                      err_name(n));
            CHECK(atomic_load(&w.written));
            pthread_join(t, NULL);
            if (on_poll())
                CHECK_EQ(read(efd, &counter, 8), 8);
        }
        /* -EINTR */
        struct sigaction sa, old;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR2, &sa, &old);
        pthread_t self = pthread_self(), t;
        pthread_create(&t, NULL, kick, &self);
        int n = swiftpoll_poll_wait(p, ev, 4, 5 * 1000000000ll);
        pthread_join(t, NULL);
        sigaction(SIGUSR2, &old, NULL);
        CHECK_MSG(n == -EINTR, "wait gave %d (%s)", n, err_name(n));
        close(efd);
    }
    swiftpoll_poll_free(before);
    swiftpoll_poll_free(after);
    CHECK_EQ(fd_count(), fds0);
    return check_done("t_fallback");
}
