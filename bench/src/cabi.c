/*
 * cabi.c -- a reference C implementation of the hot part of swiftpoll's C ABI
 * (include/swiftpoll.h), for the benchmarks only: built as its own shared
 * library and linked into "bench-cabi" exactly as libswiftpoll is linked into
 * bench-swiftpoll.  Same contract on the measured paths: caller's errno
 * preserved, -errno results, the one-waiter check (-EBUSY) by an atomic
 * exchange, events widened in place from the kernel's 12-byte entries, an
 * edge-triggered eventfd waker.  It shows what the ABI costs when the
 * library adds nothing else, so the gap between it and bench-swiftpoll is
 * the Swift implementation's own.  Not shipped; not a second implementation
 * of the library (no reregister, try_clone, validation of every argument).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <swiftpoll.h>

struct swiftpoll_registry { int epfd; };
struct swiftpoll_poll { struct swiftpoll_registry reg; int waiting; };
struct swiftpoll_waker { int fd; };

#define API __attribute__((visibility("default")))

API int swiftpoll_poll_new(swiftpoll_poll **out) {
    int saved = errno;
    swiftpoll_poll *p = calloc(1, sizeof *p);
    if (!p) { errno = saved; return -ENOMEM; }
    p->reg.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->reg.epfd < 0) { int e = errno; free(p); errno = saved; return -e; }
    *out = p;
    return 0;
}

API void swiftpoll_poll_free(swiftpoll_poll *p) {
    if (!p) return;
    int saved = errno;
    close(p->reg.epfd);
    free(p);
    errno = saved;
}

API swiftpoll_registry *swiftpoll_poll_registry(swiftpoll_poll *p) { return p ? &p->reg : NULL; }

static inline uint32_t flags_of(uint32_t e) {
    uint32_t in = e & 1, pri = (e >> 1) & 1, out = (e >> 2) & 1, err = (e >> 3) & 1,
             hup = (e >> 4) & 1, rdhup = (e >> 13) & 1, erra = e == EPOLLERR;
    return (in | pri) | out << 1 | err << 2 | (hup | (in & rdhup)) << 3 |
           (hup | (out & err) | erra) << 4 | pri << 5;
}

API int swiftpoll_poll_wait(swiftpoll_poll *p, swiftpoll_event *events, size_t capacity, int64_t timeout_ns) {
    if (!p || !events || !capacity) return -EINVAL;
    if (__atomic_exchange_n(&p->waiting, 1, __ATOMIC_ACQUIRE)) return -EBUSY;
    int saved = errno;
    int max = capacity > (size_t)(0x7fffffff / 12) ? 0x7fffffff / 12 : (int)capacity;
    struct epoll_event *k = (struct epoll_event *)(void *)events;
    int n;
    if (timeout_ns > 0) {
        struct timespec ts = { (time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000) };
        n = epoll_pwait2(p->reg.epfd, k, max, &ts, NULL);
    } else {
        n = epoll_wait(p->reg.epfd, k, max, timeout_ns < 0 ? -1 : 0);
    }
    if (n < 0) {
        n = -errno;
    } else {
        for (int i = n - 1; i >= 0; i--) {
            uint32_t bits = k[i].events;
            uint64_t data = k[i].data.u64;
            events[i].token = data;
            events[i].flags = flags_of(bits);
            events[i].raw = bits;
        }
    }
    errno = saved;
    __atomic_store_n(&p->waiting, 0, __ATOMIC_RELEASE);
    return n;
}

static inline int ctl(swiftpoll_registry *r, int op, int fd, swiftpoll_token token, swiftpoll_interest interest) {
    if (!r || !(interest & 7) || (interest & ~0x307u) || (interest & 0x300) == 0x300) return -EINVAL;
    struct epoll_event ev;
    ev.events = ((interest & 1) ? EPOLLIN | EPOLLRDHUP : 0) | ((interest & 2) ? EPOLLOUT : 0) |
                ((interest & 4) ? EPOLLPRI : 0) |
                ((interest & 0x200) ? EPOLLONESHOT : (interest & 0x100) ? 0 : EPOLLET);
    ev.data.u64 = token;
    int saved = errno;
    int rc = epoll_ctl(r->epfd, op, fd, &ev) == 0 ? 0 : -errno;
    errno = saved;
    return rc;
}

API int swiftpoll_registry_register(swiftpoll_registry *r, int fd, swiftpoll_token t, swiftpoll_interest i) {
    return ctl(r, EPOLL_CTL_ADD, fd, t, i);
}

API int swiftpoll_registry_deregister(swiftpoll_registry *r, int fd) {
    if (!r) return -EINVAL;
    int saved = errno;
    int rc = epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno;
    errno = saved;
    return rc;
}

API int swiftpoll_waker_new(swiftpoll_registry *r, swiftpoll_token token, swiftpoll_waker **out) {
    if (!r || !out) return -EINVAL;
    int saved = errno;
    swiftpoll_waker *w = calloc(1, sizeof *w);
    if (!w) { errno = saved; return -ENOMEM; }
    w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = w->fd < 0 ? -errno : ctl(r, EPOLL_CTL_ADD, w->fd, token, SWIFTPOLL_READABLE);
    if (rc < 0) { if (w->fd >= 0) close(w->fd); free(w); errno = saved; return rc; }
    *out = w;
    errno = saved;
    return 0;
}

API int swiftpoll_waker_wake(swiftpoll_waker *w) {
    if (!w) return -EINVAL;
    int saved = errno;
    uint64_t one = 1, v;
    int rc = 0;
    while (write(w->fd, &one, 8) < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) { rc = -errno; break; }
        (void)!read(w->fd, &v, 8);
    }
    errno = saved;
    return rc;
}

API void swiftpoll_waker_free(swiftpoll_waker *w) {
    if (!w) return;
    int saved = errno;
    close(w->fd);
    free(w);
    errno = saved;
}
