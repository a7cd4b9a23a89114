/* be_poll.h -- raw poll(2), the limit of swiftpoll over its poll(2) backend:
 * a pollfd array with a token beside each entry and an fd -> slot table
 * (O(1) register and deregister: the last entry moves into the hole),
 * poll() for blocking/zero waits, ppoll() for nanosecond timeouts, and an
 * eventfd waker drained when it is reported (poll(2) is level-triggered).
 *
 * What a hand-written poll(2) loop does and no more: level-triggered
 * (every workload reads what it is told about), the scan of revents stops
 * after the `poll` result's count of ready entries, and it resumes after the
 * last reported entry when the capacity cut a wait short, so no fd starves.
 * Not thread-safe beyond the waker (no registration during a wait from
 * another thread): the workloads never need it. */
#include "bench.h"
#include <poll.h>
#include <sys/eventfd.h>

#define BK_NAME "poll"

typedef struct bk {
    struct pollfd *pfd;
    uint64_t *tok;
    int n, alloc;
    int *slot;          /* slot[fd] = index + 1, 0 when not registered */
    int nslot;
    int cap;
    uint64_t *ev;       /* tokens of the last wait */
    int start;          /* next scan starts here */
    int wfd;
} bk;

static void bk_threads(void) {}

static int bk_open(bk *b, int cap) {
    memset(b, 0, sizeof *b);
    b->cap = cap;
    b->wfd = -1;
    b->ev = calloc((size_t)cap, sizeof *b->ev);
    /* sized up front (64 entries, fds below 1024), grown by doubling */
    b->alloc = 64;
    b->pfd = calloc((size_t)b->alloc, sizeof *b->pfd);
    b->tok = calloc((size_t)b->alloc, sizeof *b->tok);
    b->nslot = 1024;
    b->slot = calloc((size_t)b->nslot, sizeof *b->slot);
    return b->ev && b->pfd && b->tok && b->slot ? 0 : -ENOMEM;
}

static void bk_close(bk *b) {
    if (b->wfd >= 0) close(b->wfd);
    free(b->pfd); free(b->tok); free(b->slot); free(b->ev);
}

static inline int bk_add(bk *b, int fd, uint64_t token) {
    if (fd < 0) return -EBADF;
    if (fd >= b->nslot) {
        int ns = b->nslot ? b->nslot : 64;
        while (ns <= fd) ns *= 2;
        int *s = realloc(b->slot, (size_t)ns * sizeof *s);
        if (!s) return -ENOMEM;
        memset(s + b->nslot, 0, (size_t)(ns - b->nslot) * sizeof *s);
        b->slot = s;
        b->nslot = ns;
    }
    if (b->slot[fd]) return -EEXIST;
    if (b->n == b->alloc) {
        int na = b->alloc ? 2 * b->alloc : 64;
        struct pollfd *p = realloc(b->pfd, (size_t)na * sizeof *p);
        if (!p) return -ENOMEM;
        b->pfd = p;
        uint64_t *t = realloc(b->tok, (size_t)na * sizeof *t);
        if (!t) return -ENOMEM;
        b->tok = t;
        b->alloc = na;
    }
    b->pfd[b->n].fd = fd;
    b->pfd[b->n].events = POLLIN;
    b->pfd[b->n].revents = 0;
    b->tok[b->n] = token;
    b->slot[fd] = ++b->n;
    return 0;
}

static inline int bk_commit(bk *b) { (void)b; return 0; }

static inline int bk_del(bk *b, int fd) {
    if (fd < 0 || fd >= b->nslot || !b->slot[fd]) return -ENOENT;
    int i = b->slot[fd] - 1, last = --b->n;
    if (i != last) {
        b->pfd[i] = b->pfd[last];
        b->tok[i] = b->tok[last];
        b->slot[b->pfd[i].fd] = i + 1;
    }
    b->slot[fd] = 0;
    return 0;
}

static inline int bk_wait(bk *b, int64_t timeout_ns) {
    int r;
    if (timeout_ns <= 0) {
        r = poll(b->pfd, (nfds_t)b->n, timeout_ns < 0 ? -1 : 0);
    } else {
        struct timespec ts = { (time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000) };
        r = ppoll(b->pfd, (nfds_t)b->n, &ts, NULL);
    }
    if (r < 0) return -errno;
    int k = 0, n = b->n, i = b->start;
    for (int seen = 0; seen < n && r > 0 && k < b->cap; seen++, i = i + 1 == n ? 0 : i + 1) {
        if (!b->pfd[i].revents) continue;
        r--;
        if (b->pfd[i].fd == b->wfd) {   /* level-triggered: reset the waker */
            uint64_t v;
            (void)!read(b->wfd, &v, sizeof v);
        }
        b->ev[k++] = b->tok[i];
        b->start = i + 1 == n ? 0 : i + 1;
    }
    return k;
}

static inline uint64_t bk_tok(bk *b, int i) { return b->ev[i]; }

typedef void (*bk_fn)(void *ctx, uint64_t token);
static inline int bk_wait_each(bk *b, int64_t timeout_ns, bk_fn fn, void *ctx) {
    int n = bk_wait(b, timeout_ns);
    for (int j = 0; j < n; j++) fn(ctx, b->ev[j]);
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
    return errno == EAGAIN ? 0 : -errno;   /* counter full: already awake */
}
