/* be_swiftpoll.h -- swiftpoll through its installed header and shared
 * library (pkg-config swiftpoll): exactly what a C user writes. */
#include "bench.h"
#include <swiftpoll.h>

#ifdef BK_NAME_OVERRIDE
#define BK_NAME BK_NAME_OVERRIDE   /* the reference C build of the ABI (cabi.c) */
#else
#define BK_NAME "swiftpoll"
#endif

/* The backend the library chose (0.2.0+: $SWIFTPOLL_BACKEND picks poll(2)),
 * printed as backend=NAME so that bench/run.py can tell a run over poll(2)
 * from one that silently stayed on epoll.  Before 0.2.0 there is only epoll. */
#if defined(SWIFTPOLL_BACKEND_POLL) && !defined(BK_NAME_OVERRIDE)
static int bk_backend_id = SWIFTPOLL_BACKEND_EPOLL;
#define BK_BACKEND() (swiftpoll_backend_name(bk_backend_id) ? swiftpoll_backend_name(bk_backend_id) : "?")
#define BK_NOTE_BACKEND(p) (bk_backend_id = swiftpoll_poll_backend(p))
#else
#define BK_BACKEND() "epoll"
#define BK_NOTE_BACKEND(p) ((void)(p))
#endif

typedef struct bk {
    swiftpoll_poll *p;
    swiftpoll_registry *r;
    swiftpoll_event *evs;
    size_t cap;
    swiftpoll_waker *w;
} bk;

static void bk_threads(void) {}

static int bk_open(bk *b, int cap) {
    int rc = swiftpoll_poll_new(&b->p);
    if (rc < 0) return rc;
    BK_NOTE_BACKEND(b->p);
    b->r = swiftpoll_poll_registry(b->p);
    b->cap = (size_t)cap;
    b->evs = calloc((size_t)cap, sizeof *b->evs);
    b->w = NULL;
    return b->evs ? 0 : -ENOMEM;
}

static void bk_close(bk *b) {
    swiftpoll_waker_free(b->w);
    swiftpoll_poll_free(b->p);
    free(b->evs);
}

static inline int bk_add(bk *b, int fd, uint64_t token) {
    return swiftpoll_registry_register(b->r, fd, token, SWIFTPOLL_READABLE);
}

static inline int bk_commit(bk *b) { (void)b; return 0; }

static inline int bk_del(bk *b, int fd) {
    return swiftpoll_registry_deregister(b->r, fd);
}

static inline int bk_wait(bk *b, int64_t timeout_ns) {
    return swiftpoll_poll_wait(b->p, b->evs, b->cap, timeout_ns);
}

static inline uint64_t bk_tok(bk *b, int i) { return b->evs[i].token; }

/* Wait, then hand every event's token to fn (for workloads with many
 * events per wait; the callback libraries call fn from their callbacks). */
typedef void (*bk_fn)(void *ctx, uint64_t token);
static inline int bk_wait_each(bk *b, int64_t timeout_ns, bk_fn fn, void *ctx) {
    int n = bk_wait(b, timeout_ns);
    for (int j = 0; j < n; j++) fn(ctx, b->evs[j].token);
    return n;
}

static int bk_waker_new(bk *b, uint64_t token) {
    return swiftpoll_waker_new(b->r, token, &b->w);
}

static inline int bk_wake(bk *b) { return swiftpoll_waker_wake(b->w); }
