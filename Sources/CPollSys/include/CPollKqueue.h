/* The kqueue system calls, for builds with -DSWIFTPOLL_KQUEUE only (macOS, the BSDs,
 * or Linux against libkqueue: -I<prefix>/include/kqueue -lkqueue). The shipped Linux
 * library never sees this file's contents.
 *
 * As everywhere in CPollSys: -errno is returned, errno is left as it was (kevent and
 * kqueue are libc calls here, so it is saved and restored around them). */
#ifndef CPOLLKQUEUE_H
#define CPOLLKQUEUE_H
#ifdef SWIFTPOLL_KQUEUE

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/event.h>
#include <time.h>
#include <unistd.h>

/* A new kqueue, close-on-exec: atomically where the system can (FreeBSD 14's
 * kqueuex(KQUEUE_CLOEXEC), NetBSD's kqueue1(O_CLOEXEC)), else kqueue + FD_CLOEXEC
 * (macOS, OpenBSD, libkqueue), closed again if that fails. */
static inline int sp_kqueue_new(void) {
    int saved = errno;
    int fd;
#if defined(KQUEUE_CLOEXEC)
    fd = kqueuex(KQUEUE_CLOEXEC);
    if (fd < 0) fd = -errno;
#elif defined(__NetBSD__)
    fd = kqueue1(O_CLOEXEC);
    if (fd < 0) fd = -errno;
#else
    fd = kqueue();
    if (fd < 0) {
        fd = -errno;
    } else if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        int err = errno;
        (void)close(fd);
        fd = -err;
    }
#endif
    errno = saved;
    return fd;
}

/* kevent with a relative timeout: seconds < 0 blocks (NULL timeout), else
 * {seconds, nanoseconds} (the caller clamps seconds). The signature is that of
 * PollCore's KeventFunction seam (context unused), so Swift takes its address. */
static inline int sp_kevent(void *context, int kq, const void *changes, int nchanges,
                            void *events, int nevents, int64_t seconds, int64_t nanoseconds) {
    (void)context;
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)nanoseconds;
    int saved = errno;
    int r = kevent(kq, (const struct kevent *)changes, nchanges, (struct kevent *)events, nevents,
                   seconds < 0 ? NULL : &ts);
    if (r < 0) r = -errno;
    errno = saved;
    return r;
}

/* 1 when this kqueue is libkqueue's emulation (Linux), 0 for the kernel's. */
static inline int sp_kqueue_is_emulated(void) {
#if defined(LIBKQUEUE)
    return 1;
#else
    return 0;
#endif
}

/* sizeof(struct kevent) (32 on macOS and libkqueue, 64 on FreeBSD >= 12). */
static inline size_t sp_kevent_size(void) { return sizeof(struct kevent); }

#endif /* SWIFTPOLL_KQUEUE */
#endif
