/* be_libuv.h -- libuv (Debian's libuv1-dev): one uv_poll_t per fd (initialised
 * once per fd, then started/stopped), uv_async_t as the waker, a uv_timer_t for
 * bounded waits.  A "wait" is one loop turn (UV_RUN_ONCE, or UV_RUN_NOWAIT for
 * a zero timeout); the callbacks record the tokens the turn delivered.
 * libuv registers level-triggered (it has no edge mode), applies
 * registrations lazily at its next loop turn (hence bk_commit), and has
 * millisecond timers (a timeout is rounded up to whole ms). */
#include "bench.h"
#include <uv.h>

#define BK_NAME "libuv"

typedef struct bk {
    uv_loop_t loop;
    uv_poll_t *polls;        /* indexed by fd */
    unsigned char *inited;   /* uv_poll_init done for this fd */
    long nfd;
    uint64_t *toks;          /* tokens delivered by the last turn */
    int n, ntok;
    uv_timer_t timer;
    uv_async_t async;
    int has_async;
    void (*fn)(void *, uint64_t);   /* set during bk_wait_each */
    void *ctx;
} bk;

typedef void (*bk_fn)(void *ctx, uint64_t token);

static void bk_threads(void) {}

static void bk__on_poll(uv_poll_t *h, int status, int events) {
    (void)status; (void)events;
    bk *b = h->loop->data;
    if (b->fn) { b->n++; b->fn(b->ctx, (uint64_t)(uintptr_t)h->data); return; }
    if (b->n < b->ntok) b->toks[b->n++] = (uint64_t)(uintptr_t)h->data;
}

static void bk__on_async(uv_async_t *h) {
    bk *b = h->loop->data;
    if (b->n < b->ntok) b->toks[b->n++] = (uint64_t)(uintptr_t)h->data;
}

/* uv_stop makes the rest of this turn non-blocking.  Without it, a timer that
 * is already due when uv_run starts (the thread was preempted for longer than
 * the timeout) fires before the poll, and the poll then blocks with no timer
 * left: a bounded wait that never returns. */
static void bk__on_timer(uv_timer_t *h) { uv_stop(h->loop); }

static int bk_open(bk *b, int cap) {
    (void)cap;  /* libuv has no per-wait capacity; it reports all it gets */
    memset(b, 0, sizeof *b);
    int rc = uv_loop_init(&b->loop);
    if (rc < 0) return rc;
    b->loop.data = b;
    b->nfd = nofile_limit();
    b->polls = calloc((size_t)b->nfd, sizeof *b->polls);
    b->inited = calloc((size_t)b->nfd, 1);
    b->ntok = (int)b->nfd + 16;
    b->toks = calloc((size_t)b->ntok, sizeof *b->toks);
    if (!b->polls || !b->inited || !b->toks) return -ENOMEM;
    uv_timer_init(&b->loop, &b->timer);
    return 0;
}

static void bk__walk_close(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void bk_close(bk *b) {
    uv_walk(&b->loop, bk__walk_close, NULL);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    uv_loop_close(&b->loop);
    free(b->polls); free(b->inited); free(b->toks);
}

static inline int bk_add(bk *b, int fd, uint64_t token) {
    if (fd < 0 || fd >= b->nfd) return -EBADF;
    uv_poll_t *h = &b->polls[fd];
    if (!b->inited[fd]) {
        int rc = uv_poll_init(&b->loop, h, fd);
        if (rc < 0) return rc;
        b->inited[fd] = 1;
    }
    h->data = (void *)(uintptr_t)token;
    return uv_poll_start(h, UV_READABLE, bk__on_poll);
}

/* libuv calls epoll_ctl(ADD) only in its next loop turn: run one that does
 * not block.  Tokens it delivers are kept for the next bk_wait. */
static inline int bk_commit(bk *b) {
    uv_run(&b->loop, UV_RUN_NOWAIT);
    return 0;
}

static inline int bk_del(bk *b, int fd) {
    if (fd < 0 || fd >= b->nfd || !b->inited[fd]) return -ENOENT;
    return uv_poll_stop(&b->polls[fd]);
}

static inline int bk_wait(bk *b, int64_t timeout_ns) {
    if (b->n > 0) {  /* delivered by a bk_commit turn */
        int n = b->n;
        b->n = 0;
        return n;
    }
    if (timeout_ns < 0) {
        uv_run(&b->loop, UV_RUN_ONCE);
    } else if (timeout_ns == 0) {
        uv_run(&b->loop, UV_RUN_NOWAIT);
    } else {
        uint64_t ms = (uint64_t)((timeout_ns + 999999) / 1000000);
        uv_update_time(&b->loop);  /* else the timer counts from a stale time */
        uv_timer_start(&b->timer, bk__on_timer, ms, 0);
        uv_run(&b->loop, UV_RUN_ONCE);
        uv_timer_stop(&b->timer);
    }
    int n = b->n;
    b->n = 0;
    return n;
}

static inline uint64_t bk_tok(bk *b, int i) { return b->toks[i]; }

/* The handler runs inside libuv's callback (where libuv users do their I/O:
 * level-triggered, an fd not read in its callback is reported again). */
static inline int bk_wait_each(bk *b, int64_t timeout_ns, bk_fn fn, void *ctx) {
    b->fn = fn;
    b->ctx = ctx;
    int n = bk_wait(b, timeout_ns);
    b->fn = NULL;
    return n;
}

static int bk_waker_new(bk *b, uint64_t token) {
    int rc = uv_async_init(&b->loop, &b->async, bk__on_async);
    if (rc < 0) return rc;
    b->async.data = (void *)(uintptr_t)token;
    b->has_async = 1;
    return 0;
}

static inline int bk_wake(bk *b) { return uv_async_send(&b->async); }
