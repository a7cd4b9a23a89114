/* The OS surface PollCore uses, in one module that works in both normal and
 * Embedded Swift (where Glibc is not available): the system calls, as inline functions
 * returning -errno, the errno accessors, and the strerror table. */
#ifndef CPOLLSYS_H
#define CPOLLSYS_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The public header: its types (swiftpoll_event, swiftpoll_wait_args) and version
 * macros are the single source of truth for the Swift side too. */
#include "../../../include/swiftpoll.h"

/* POLLRDHUP (peer shutdown) is Linux's; <poll.h> shows it only under _GNU_SOURCE. */
#if defined(__linux__)
#define SP_POLLRDHUP 0x2000
#else
#define SP_POLLRDHUP 0
#endif

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441 /* the same number on every architecture */
#endif

static inline int sp_errno(void) { return errno; }
static inline void sp_set_errno(int value) { errno = value; }

/* ---------------------------------------------------------------------------
 * System calls that return -errno and never read or write errno.
 *
 * The C ABI promises to leave the caller's errno as it was (so that wake is safe in a
 * signal handler); issuing the syscall instruction directly keeps errno out of the hot
 * paths entirely, instead of saving and restoring it around libc's wrappers (which also
 * cost a PLT call and, for epoll_wait, a cancellation check: these calls are not pthread
 * cancellation points).  Other architectures use syscall(2) with errno put back.
 * ------------------------------------------------------------------------- */
#if defined(__x86_64__)
static inline long sp_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
    long ret;
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
static inline long sp_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a1;
    register long x1 __asm__("x1") = a2;
    register long x2 __asm__("x2") = a3;
    register long x3 __asm__("x3") = a4;
    register long x4 __asm__("x4") = a5;
    register long x5 __asm__("x5") = a6;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}
#else
static inline long sp_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
    int saved = errno;
    long ret = syscall(n, a1, a2, a3, a4, a5, a6);
    if (ret == -1) ret = -errno;
    errno = saved;
    return ret;
}
#endif

static inline int sp_epoll_create1(int flags) {
    return (int)sp_syscall6(SYS_epoll_create1, flags, 0, 0, 0, 0, 0);
}

/* epoll_ctl with the event built here: Swift never handles the (packed on x86_64)
 * struct epoll_event itself. */
static inline int sp_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return (int)sp_syscall6(SYS_epoll_ctl, epfd, op, fd, (long)&ev, 0, 0);
}

/* epoll_wait as epoll_pwait with no signal mask (aarch64 has no epoll_wait). */
static inline int sp_epoll_wait(int epfd, void *events, int maxevents, int timeout_ms) {
    return (int)sp_syscall6(SYS_epoll_pwait, epfd, (long)events, maxevents, timeout_ms, 0, 8);
}

static inline int sp_epoll_pwait2(int epfd, void *events, int maxevents,
                                  int64_t seconds, int64_t nanoseconds) {
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)nanoseconds;
    return (int)sp_syscall6(SYS_epoll_pwait2, epfd, (long)events, maxevents, (long)&ts, 0, 8);
}

static inline int sp_eventfd(unsigned initial, int flags) {
    return (int)sp_syscall6(SYS_eventfd2, (long)initial, flags, 0, 0, 0, 0);
}

/* fcntl(fd, F_DUPFD_CLOEXEC, 3): a close-on-exec duplicate numbered >= 3. */
static inline int sp_dup_cloexec(int fd) {
    return (int)sp_syscall6(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 3, 0, 0, 0);
}

static inline int sp_close(int fd) { return (int)sp_syscall6(SYS_close, fd, 0, 0, 0, 0, 0); }

static inline long sp_read(int fd, void *buffer, size_t count) {
    return sp_syscall6(SYS_read, fd, (long)buffer, (long)count, 0, 0, 0);
}

static inline long sp_write(int fd, const void *buffer, size_t count) {
    return sp_syscall6(SYS_write, fd, (long)buffer, (long)count, 0, 0, 0);
}

/* ppoll with a relative timeout: seconds < 0 blocks, else {seconds, nanoseconds}.
 * No signal mask (the fifth argument is the kernel's sigset size). */
static inline int sp_ppoll(struct pollfd *fds, unsigned long nfds, int64_t seconds,
                           int64_t nanoseconds) {
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)nanoseconds;
    return (int)sp_syscall6(SYS_ppoll, (long)fds, (long)nfds, seconds < 0 ? 0 : (long)&ts, 0, 8, 0);
}

/* What register needs to know of an fd, in one fstat: -errno, or 0 with *kind
 * 1 for a regular file or directory (which epoll refuses with EPERM), else 0, and
 * the file's identity (to tell a reused descriptor number from the registered one). */
static inline int sp_fd_identity(int fd, int *kind, uint64_t *device, uint64_t *inode) {
    struct stat st;
#if defined(SYS_fstat)
    int r = (int)sp_syscall6(SYS_fstat, fd, (long)&st, 0, 0, 0, 0);
#else
    int r = (int)sp_syscall6(SYS_newfstatat, fd, (long)"", (long)&st, AT_EMPTY_PATH, 0, 0);
#endif
    if (r < 0) return r;
    *kind = (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) ? 1 : 0;
    *device = (uint64_t)st.st_dev;
    *inode = (uint64_t)st.st_ino;
    return 0;
}

/* CLOCK_MONOTONIC in nanoseconds (the clock poll and epoll timeouts run on). */
static inline int64_t sp_monotonic_ns(void) {
    struct timespec ts;
    int saved = errno;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    errno = saved;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Memory for the poll(2) backend's tables: NULL on failure, errno left alone (the
 * ABI's promise), so that growth can fail with -ENOMEM instead of trapping. */
static inline void *sp_realloc(void *pointer, size_t size) {
    int saved = errno;
    void *result = realloc(pointer, size);
    errno = saved;
    return result;
}
static inline void sp_free(void *pointer) {
    int saved = errno;
    free(pointer);
    errno = saved;
}

/* A lock in its own allocation (a stable address; Embedded Swift has no Mutex).
 * Linux: a futex lock (0 free, 1 held, 2 held with waiters): uncontended, a lock and an
 * unlock are one atomic instruction each, where glibc's pthread mutex costs ~110
 * instructions a pair (the poll(2) backend takes it twice per wait).  Elsewhere a
 * pthread mutex.  Neither ever sets errno. */
#if defined(__linux__)
#include <linux/futex.h>
typedef struct { int state; } sp_lock_t;
static inline void *sp_mutex_new(void) {
    sp_lock_t *l = (sp_lock_t *)sp_realloc(NULL, sizeof(sp_lock_t));
    if (l) __atomic_store_n(&l->state, 0, __ATOMIC_RELAXED);
    return l;
}
static inline void sp_mutex_lock(void *m) {
    sp_lock_t *l = (sp_lock_t *)m;
    int c = 0;
    if (__atomic_compare_exchange_n(&l->state, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    if (c != 2) c = __atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        (void)sp_syscall6(SYS_futex, (long)&l->state, FUTEX_WAIT_PRIVATE, 2, 0, 0, 0);
        c = __atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE);
    }
}
static inline void sp_mutex_unlock(void *m) {
    sp_lock_t *l = (sp_lock_t *)m;
    if (__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2)
        (void)sp_syscall6(SYS_futex, (long)&l->state, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}
static inline void sp_mutex_free(void *m) { sp_free(m); }
#else
static inline void *sp_mutex_new(void) {
    pthread_mutex_t *m = (pthread_mutex_t *)sp_realloc(NULL, sizeof(pthread_mutex_t));
    if (m && pthread_mutex_init(m, NULL) != 0) { sp_free(m); return NULL; }
    return m;
}
static inline void sp_mutex_lock(void *m) { (void)pthread_mutex_lock((pthread_mutex_t *)m); }
static inline void sp_mutex_unlock(void *m) { (void)pthread_mutex_unlock((pthread_mutex_t *)m); }
static inline void sp_mutex_free(void *m) {
    if (!m) return;
    (void)pthread_mutex_destroy((pthread_mutex_t *)m);
    sp_free(m);
}
#endif

/* getenv, errno left alone; NULL when unset. */
static inline const char *sp_getenv(const char *name) {
    int saved = errno;
    const char *value = getenv(name);
    errno = saved;
    return value;
}

static inline const char *sp_version(void) { return SWIFTPOLL_VERSION_STRING; }

/* Backend names (SWIFTPOLL_BACKEND_*), static; NULL for an unknown value. */
static inline const char *sp_backend_name(int backend) {
    switch (backend) {
    case SWIFTPOLL_BACKEND_DEFAULT: return "default";
    case SWIFTPOLL_BACKEND_EPOLL: return "epoll";
    case SWIFTPOLL_BACKEND_POLL: return "poll";
    case SWIFTPOLL_BACKEND_KQUEUE: return "kqueue";
    default: return 0;
    }
}

/* The SWIFTPOLL_BACKEND_* value of an exact name ("epoll", "poll", "kqueue"), or -1. */
static inline int sp_backend_from_name(const char *name) {
    if (strcmp(name, "epoll") == 0) return SWIFTPOLL_BACKEND_EPOLL;
    if (strcmp(name, "poll") == 0) return SWIFTPOLL_BACKEND_POLL;
    if (strcmp(name, "kqueue") == 0) return SWIFTPOLL_BACKEND_KQUEUE;
    return -1;
}

/* sizeof(struct epoll_event): 12 on x86_64 (packed), 16 elsewhere. */
static inline size_t sp_epoll_event_size(void) { return sizeof(struct epoll_event); }

/* Static text for the error codes of this library; never NULL, either sign. */
static inline const char *sp_strerror(int err) {
    /* In unsigned arithmetic, so that INT_MIN does not overflow. */
    unsigned code = err < 0 ? 0u - (unsigned)err : (unsigned)err;
    switch (code) {
    case 0: return "Success";
    case EPERM: return "Operation not permitted";
    case ENOENT: return "No such file or directory";
    case EINTR: return "Interrupted system call";
    case EIO: return "Input/output error";
    case EBADF: return "Bad file descriptor";
    case EAGAIN: return "Resource temporarily unavailable";
    case ENOMEM: return "Cannot allocate memory";
    case EACCES: return "Permission denied";
    case EFAULT: return "Bad address";
    case EBUSY: return "Device or resource busy";
    case EEXIST: return "File exists";
    case ENODEV: return "No such device";
    case EINVAL: return "Invalid argument";
    case ENFILE: return "Too many open files in system";
    case EMFILE: return "Too many open files";
    case ENOSPC: return "No space left on device";
    case EPIPE: return "Broken pipe";
    case ERANGE: return "Numerical result out of range";
    case ENOSYS: return "Function not implemented";
    case ELOOP: return "Too many levels of symbolic links";
    case EOVERFLOW: return "Value too large for defined data type";
    case ENOTSUP: return "Operation not supported";
    default: return "Unknown error";
    }
}

/* The kqueue calls: empty unless built with -DSWIFTPOLL_KQUEUE. */
#include "CPollKqueue.h"

#endif
