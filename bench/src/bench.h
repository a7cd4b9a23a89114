/*
 * bench.h -- helpers shared by every benchmark program (all implementations).
 *
 * Each implementation is a backend header (be_epoll.h, be_swiftpoll.h,
 * be_libuv.h, be_libevent.h) with the same small interface, included by
 * workloads.c.  The workloads (and so all I/O around the poller) are one
 * source compiled once per backend: only the poller differs.
 *
 * Backend interface (all static, so raw epoll is inlined: it is the limit):
 *   int      bk_open(bk *b, int capacity)      events per wait; 0 or -errno
 *   void     bk_close(bk *b)
 *   int      bk_add(bk *b, int fd, uint64_t token)   readable interest
 *   int      bk_commit(bk *b)   make registrations effective in the kernel
 *                               (a no-op except for libuv, which applies them
 *                               lazily at its next loop turn)
 *   int      bk_del(bk *b, int fd)
 *   int      bk_wait(bk *b, int64_t timeout_ns)  number of events, or -errno
 *                               (<0 blocks, 0 polls, >0 waits that long)
 *   uint64_t bk_tok(bk *b, int i)   token of event i of the last wait
 *   int      bk_waker_new(bk *b, uint64_t token)
 *   int      bk_wake(bk *b)     from any thread
 *   void     bk_threads(void)   called once before any bk_open by programs
 *                               that wake across threads (libevent needs it)
 */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char *bench_workload __attribute__((unused)) = "?";

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Raise RLIMIT_NOFILE to at least `want` (soft, and hard when we may);
 * returns the soft limit now in force. */
__attribute__((unused)) static long raise_nofile(long want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    if ((long)rl.rlim_cur >= want) return (long)rl.rlim_cur;
    struct rlimit nr = rl;
    nr.rlim_cur = (rlim_t)want;
    if (nr.rlim_max < nr.rlim_cur) nr.rlim_max = nr.rlim_cur;  /* root only */
    if (setrlimit(RLIMIT_NOFILE, &nr) != 0) {
        nr = rl;
        nr.rlim_cur = rl.rlim_max;                              /* soft = hard */
        (void)setrlimit(RLIMIT_NOFILE, &nr);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    return (long)rl.rlim_cur;
}

__attribute__((unused)) static long nofile_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    return (long)rl.rlim_cur;
}

/* Heap allocation counter: defined by alloccount.so when it is LD_PRELOADed,
 * otherwise NULL (the weak reference stays unresolved). */
extern unsigned long bench_alloc_count(void) __attribute__((weak));

static inline long allocs_now(void) {
    return bench_alloc_count ? (long)bench_alloc_count() : -1;
}

#endif
