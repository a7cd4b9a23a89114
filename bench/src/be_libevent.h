/* be_libevent.h -- libevent 2.1 (Debian's libevent-dev), epoll backend:
 * one struct event per fd (event_assign + event_add, EV_READ|EV_PERSIST|EV_ET),
 * event_active() on a user event as the waker (libevent's cross-thread
 * wake-up; needs evthread_use_pthreads), a timer event for bounded waits.
 * A "wait" is one loop turn (EVLOOP_ONCE, or EVLOOP_NONBLOCK for a zero
 * timeout); the callbacks record the tokens the turn delivered.  libevent's
 * epoll backend rounds timeouts up to whole milliseconds, and by default
 * (no EVENT_BASE_FLAG_PRECISE_TIMER) reads CLOCK_MONOTONIC_COARSE, so its
 * timers fire on the kernel's tick. */
#include "bench.h"
#include <event2/event.h>
#include <event2/thread.h>

#define BK_NAME "libevent"

typedef struct bk bk;
typedef struct bk_slot { bk *b; uint64_t token; } bk_slot;

struct bk {
    struct event_base *base;
    unsigned char *evmem;    /* nfd struct events, indexed by fd */
    size_t evsize;
    bk_slot *slots;          /* indexed by fd; one more for the waker */
    long nfd;
    uint64_t *toks;
    int n, ntok;
    struct event *timer;
    struct event *user;
    void (*fn)(void *, uint64_t);   /* set during bk_wait_each */
    void *ctx;
};

typedef void (*bk_fn)(void *ctx, uint64_t token);

static void bk_threads(void) { evthread_use_pthreads(); }

static void bk__on_ev(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what;
    bk_slot *s = arg;
    bk *b = s->b;
    if (b->fn) { b->n++; b->fn(b->ctx, s->token); return; }
    if (b->n < b->ntok) b->toks[b->n++] = s->token;
}

static void bk__on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd; (void)what; (void)arg;
}

static int bk_open(bk *b, int cap) {
    (void)cap;  /* libevent sizes its own epoll array and reports all */
    memset(b, 0, sizeof *b);
    b->base = event_base_new();
    if (!b->base) return -ENOMEM;
    if (strcmp(event_base_get_method(b->base), "epoll") != 0) return -ENOSYS;
    b->nfd = nofile_limit();
    b->evsize = event_get_struct_event_size();
    b->evmem = calloc((size_t)b->nfd, b->evsize);
    b->slots = calloc((size_t)b->nfd + 1, sizeof *b->slots);
    b->ntok = (int)b->nfd + 16;
    b->toks = calloc((size_t)b->ntok, sizeof *b->toks);
    b->timer = evtimer_new(b->base, bk__on_timer, NULL);
    if (!b->evmem || !b->slots || !b->toks || !b->timer) return -ENOMEM;
    return 0;
}

static void bk_close(bk *b) {
    for (long fd = 0; fd < b->nfd; fd++)
        if (b->slots[fd].b) event_del((struct event *)(b->evmem + (size_t)fd * b->evsize));
    if (b->user) event_free(b->user);
    event_free(b->timer);
    event_base_free(b->base);
    free(b->evmem); free(b->slots); free(b->toks);
}

static inline struct event *bk__ev(bk *b, int fd) {
    return (struct event *)(b->evmem + (size_t)fd * b->evsize);
}

static inline int bk_add(bk *b, int fd, uint64_t token) {
    if (fd < 0 || fd >= b->nfd) return -EBADF;
    struct event *ev = bk__ev(b, fd);
    if (b->slots[fd].b && event_pending(ev, EV_READ, NULL)) return -EEXIST;
    b->slots[fd].b = b;
    b->slots[fd].token = token;
    if (event_assign(ev, b->base, fd, EV_READ | EV_PERSIST | EV_ET, bk__on_ev, &b->slots[fd]) != 0)
        return -EINVAL;
    return event_add(ev, NULL) == 0 ? 0 : -EIO;
}

static inline int bk_commit(bk *b) { (void)b; return 0; }

static inline int bk_del(bk *b, int fd) {
    if (fd < 0 || fd >= b->nfd || !b->slots[fd].b) return -ENOENT;
    return event_del(bk__ev(b, fd)) == 0 ? 0 : -EIO;
}

static inline int bk_wait(bk *b, int64_t timeout_ns) {
    b->n = 0;
    if (timeout_ns < 0) {
        event_base_loop(b->base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
    } else if (timeout_ns == 0) {
        event_base_loop(b->base, EVLOOP_NONBLOCK);
    } else {
        int64_t us = (timeout_ns + 999) / 1000;
        struct timeval tv = { (time_t)(us / 1000000), (suseconds_t)(us % 1000000) };
        evtimer_add(b->timer, &tv);
        event_base_loop(b->base, EVLOOP_ONCE | EVLOOP_NO_EXIT_ON_EMPTY);
        evtimer_del(b->timer);
    }
    return b->n;
}

static inline uint64_t bk_tok(bk *b, int i) { return b->toks[i]; }

/* The handler runs inside libevent's callback, where libevent users do
 * their I/O. */
static inline int bk_wait_each(bk *b, int64_t timeout_ns, bk_fn fn, void *ctx) {
    b->fn = fn;
    b->ctx = ctx;
    int n = bk_wait(b, timeout_ns);
    b->fn = NULL;
    return n;
}

static int bk_waker_new(bk *b, uint64_t token) {
    bk_slot *s = &b->slots[b->nfd];
    s->b = b;
    s->token = token;
    b->user = event_new(b->base, -1, EV_PERSIST, bk__on_ev, s);
    return b->user ? 0 : -ENOMEM;
}

static inline int bk_wake(bk *b) {
    event_active(b->user, EV_READ, 0);
    return 0;
}
