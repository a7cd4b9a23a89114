/* be_epoll.h -- raw epoll, the limit: what swiftpoll does, written by hand.
 * Edge-triggered EPOLLIN|EPOLLRDHUP (mio's and swiftpoll's registration),
 * epoll_wait for blocking/zero waits, epoll_pwait2 for nanosecond timeouts,
 * and an eventfd waker (never drained; reset only on EAGAIN, as mio). */
#include "bench.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>

#define BK_NAME "epoll"

typedef struct bk {
    int epfd;
    int cap;
    struct epoll_event *evs;
    int wfd;
} bk;

static void bk_threads(void) {}

static int bk_open(bk *b, int cap) {
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (b->epfd < 0) return -errno;
    b->cap = cap;
    b->evs = calloc((size_t)cap, sizeof *b->evs);
    b->wfd = -1;
    return b->evs ? 0 : -ENOMEM;
}

static void bk_close(bk *b) {
    if (b->wfd >= 0) close(b->wfd);
    close(b->epfd);
    free(b->evs);
}

static inline int bk_add(bk *b, int fd, uint64_t token) {
    struct epoll_event ev;
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = token;
    return epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

static inline int bk_commit(bk *b) { (void)b; return 0; }

static inline int bk_del(bk *b, int fd) {
    return epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno;
}

static inline int bk_wait(bk *b, int64_t timeout_ns) {
    int n;
    if (timeout_ns < 0) {
        n = epoll_wait(b->epfd, b->evs, b->cap, -1);
    } else if (timeout_ns == 0) {
        n = epoll_wait(b->epfd, b->evs, b->cap, 0);
    } else {
        struct timespec ts = { (time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000) };
        n = epoll_pwait2(b->epfd, b->evs, b->cap, &ts, NULL);
    }
    return n >= 0 ? n : -errno;
}

static inline uint64_t bk_tok(bk *b, int i) { return b->evs[i].data.u64; }

/* Wait, then hand every event's token to fn (for workloads with many
 * events per wait; the callback libraries call fn from their callbacks). */
typedef void (*bk_fn)(void *ctx, uint64_t token);
static inline int bk_wait_each(bk *b, int64_t timeout_ns, bk_fn fn, void *ctx) {
    int n = bk_wait(b, timeout_ns);
    for (int j = 0; j < n; j++) fn(ctx, b->evs[j].data.u64);
    return n;
}

static int bk_waker_new(bk *b, uint64_t token) {
    b->wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->wfd < 0) return -errno;
    return bk_add(b, b->wfd, token);
}

static inline int bk_wake(bk *b) {
    uint64_t one = 1;
    if (write(b->wfd, &one, sizeof one) == (ssize_t)sizeof one) return 0;
    if (errno != EAGAIN) return -errno;
    uint64_t v;  /* counter full: reset it, then wake (as mio does) */
    (void)!read(b->wfd, &v, sizeof v);
    return write(b->wfd, &one, sizeof one) == (ssize_t)sizeof one ? 0 : -errno;
}
