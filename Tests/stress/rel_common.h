/* Helpers shared by the reliability programs (Tests/stress, Tests/fuzz).
 * Plain C11 + POSIX; no dependency but libc, pthreads and libswiftpoll. */
#ifndef REL_COMMON_H
#define REL_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Print "FAIL ..." with file:line and exit(1) at once (no cleanup: the
 * process is going away and the message matters more). */
#define REL_FAIL(...) rel_fail(__FILE__, __LINE__, __VA_ARGS__)
static void rel_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
static void rel_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1);
}

#define REL_CHECK(cond)                                                        \
    do {                                                                       \
        if (!(cond)) REL_FAIL("check `%s` failed", #cond);                     \
    } while (0)

/* Expect a call to return exactly `want`. */
#define REL_EXPECT_RC(call, want)                                              \
    do {                                                                       \
        long rel_rc_ = (long)(call);                                           \
        if (rel_rc_ != (long)(want))                                           \
            REL_FAIL("%s returned %ld, expected %ld", #call, rel_rc_,          \
                     (long)(want));                                            \
    } while (0)

static inline double rel_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Number of open descriptors of this process (entries of /proc/self/fd,
 * not counting the one opendir uses itself). */
static inline int rel_count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) REL_FAIL("opendir(/proc/self/fd): %s", strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1;
}

/* Writes a listing of /proc/self/fd with link targets to stderr, for the
 * failure message of a fd-leak check. */
static inline void rel_dump_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    struct dirent *e;
    char path[300], target[256];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = 0;
        fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
    }
    closedir(d);
}

/* Resident set size in KiB (from /proc/self/statm). */
static inline long rel_rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, rss = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &size, &rss) != 2) rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Hard deadline for the whole program: SIGALRM's default action kills it,
 * so a hang becomes a failure (exit by signal) instead of a stuck CI. */
static inline void rel_watchdog(unsigned seconds) { alarm(seconds); }

static inline long rel_env_long(const char *name, long dflt) {
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    long x = strtol(v, &end, 10);
    return *end ? dflt : x;
}

/* mio's Event::is_* formulas from the epoll bits (ABI.md, "Event flags"). */
static inline uint32_t rel_expected_flags(uint32_t raw) {
    const uint32_t IN = 0x001, PRI = 0x002, OUT = 0x004, ERR = 0x008,
                   HUP = 0x010, RDHUP = 0x2000;
    uint32_t f = 0;
    if (raw & (IN | PRI)) f |= 0x01;
    if (raw & OUT) f |= 0x02;
    if (raw & ERR) f |= 0x04;
    if ((raw & HUP) || ((raw & IN) && (raw & RDHUP))) f |= 0x08;
    if ((raw & HUP) || ((raw & OUT) && (raw & ERR)) || raw == ERR) f |= 0x10;
    if (raw & PRI) f |= 0x20;
    return f;
}

/* mio's poll(2) formulas (selector/poll.rs) on the revents bits: readable =
 * IN|PRI, writable = OUT, error = ERR|NVAL, read_closed = HUP|RDHUP,
 * write_closed = HUP | (OUT&ERR) | (raw == ERR), priority = PRI. */
static inline uint32_t rel_expected_flags_poll(uint32_t raw) {
    const uint32_t IN = 0x001, PRI = 0x002, OUT = 0x004, ERR = 0x008,
                   HUP = 0x010, NVAL = 0x020, RDHUP = 0x2000;
    uint32_t f = 0;
    if (raw & (IN | PRI)) f |= 0x01;
    if (raw & OUT) f |= 0x02;
    if (raw & (ERR | NVAL)) f |= 0x04;
    if (raw & (HUP | RDHUP)) f |= 0x08;
    if ((raw & HUP) || ((raw & OUT) && (raw & ERR)) || raw == ERR) f |= 0x10;
    if (raw & PRI) f |= 0x20;
    return f;
}

/* The formulas of a backend (SWIFTPOLL_BACKEND_POLL = 2; else epoll's). */
static inline uint32_t rel_expected_flags_for(int backend, uint32_t raw) {
    return backend == 2 ? rel_expected_flags_poll(raw) : rel_expected_flags(raw);
}

#endif
