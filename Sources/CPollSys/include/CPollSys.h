/* The libc surface PollCore uses, in one module that works in both normal and
 * Embedded Swift (where Glibc is not available).  Macros and variadic functions
 * Swift cannot import (errno, fcntl, syscall) are wrapped as inline functions. */
#ifndef CPOLLSYS_H
#define CPOLLSYS_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The public header: its types (swiftpoll_event, swiftpoll_wait_args) and version
 * macros are the single source of truth for the Swift side too. */
#include "../../../include/swiftpoll.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441 /* the same number on every architecture */
#endif

static inline int sp_errno(void) { return errno; }
static inline void sp_set_errno(int value) { errno = value; }

/* fcntl(fd, F_DUPFD_CLOEXEC, 3): a close-on-exec duplicate numbered >= 3. */
static inline int sp_dup_cloexec(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 3); }

/* epoll_pwait2 through syscall(2), so the library does not need glibc >= 2.35. */
static inline int sp_epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
                                  int64_t seconds, int64_t nanoseconds) {
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)nanoseconds;
    return (int)syscall(SYS_epoll_pwait2, epfd, events, maxevents, &ts, (void *)0, (size_t)8);
}

static inline const char *sp_version(void) { return SWIFTPOLL_VERSION_STRING; }

/* sizeof(struct epoll_event): 12 on x86_64 (packed), 16 elsewhere. */
static inline size_t sp_epoll_event_size(void) { return sizeof(struct epoll_event); }

/* Static text for the error codes of this library; never NULL, either sign. */
static inline const char *sp_strerror(int err) {
    if (err < 0) err = -err;
    switch (err) {
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

#endif
