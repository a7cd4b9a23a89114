/*
 * t_alloc.c -- no heap allocation on the hot paths: swiftpoll_poll_wait,
 * swiftpoll_poll_wait_args, swiftpoll_registry_register / reregister /
 * deregister and swiftpoll_waker_wake, on their success and error paths,
 * from their very first call (no lazy initialisation).
 *
 * This program defines malloc and friends itself, forwarding to glibc's
 * __libc_* entry points; the library's calls bind to these definitions, and
 * a thread-local switch counts only the calls made inside the measured
 * region on this thread. (Not usable under ASan, which owns malloc: run.sh
 * skips it when told to.)
 */
#include "check.h"

#include <malloc.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static _Thread_local int counting;
static atomic_long n_heap_calls;

#define COUNT() do { if (counting) atomic_fetch_add(&n_heap_calls, 1); } while (0)

void *malloc(size_t n) { COUNT(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { COUNT(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { COUNT(); return __libc_realloc(p, n); }
void free(void *p) { if (p) COUNT(); __libc_free(p); }
void *memalign(size_t al, size_t n) { COUNT(); return __libc_memalign(al, n); }
void *aligned_alloc(size_t al, size_t n) { COUNT(); return __libc_memalign(al, n); }
void *valloc(size_t n) { COUNT(); return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n); }
void *pvalloc(size_t n)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    COUNT();
    return __libc_memalign(ps, (n + ps - 1) / ps * ps);
}
int posix_memalign(void **out, size_t al, size_t n)
{
    COUNT();
    if (al < sizeof(void *) || (al & (al - 1)) != 0)
        return EINVAL;
    void *p = __libc_memalign(al, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

static long counted_calls;
#define MEASURE(label, expr)                                                   \
    do {                                                                       \
        long before_ = atomic_load(&n_heap_calls);                             \
        counting = 1;                                                          \
        (void)(expr);                                                          \
        counting = 0;                                                          \
        long used_ = atomic_load(&n_heap_calls) - before_;                     \
        counted_calls++;                                                       \
        CHECK_MSG(used_ == 0, "%s: %ld heap calls", label, used_);             \
    } while (0)

/* The counter must see allocations made anywhere in the process, including
 * in a shared library (the library's own handles): else the test is void. */
static void test_counter_works(void)
{
    void *(*volatile m)(size_t) = malloc;
    long before = atomic_load(&n_heap_calls);
    counting = 1;
    void *x = m(32);
    free(x);
    void *y = NULL;
    if (posix_memalign(&y, 64, 64) == 0)
        free(y);
    counting = 0;
    CHECK_MSG(atomic_load(&n_heap_calls) - before == 4, "counter saw %ld of 4",
              atomic_load(&n_heap_calls) - before);
    /* poll_new must allocate its handle somewhere: through our malloc
     * family, which proves the library's calls reach the counter */
    swiftpoll_poll *p = NULL;
    before = atomic_load(&n_heap_calls);
    counting = 1;
    int r = swiftpoll_poll_new(&p);
    counting = 0;
    CHECK_EQ(r, 0);
    CHECK_MSG(atomic_load(&n_heap_calls) - before > 0,
              "swiftpoll_poll_new made no heap call: the interposition does not reach the "
              "library, so this test would prove nothing");
    counting = 1;
    swiftpoll_poll_free(p);
    counting = 0;
}

static void *wake_soon(void *a)
{
    sleep_ns(20000000);
    swiftpoll_waker_wake((swiftpoll_waker *)a);
    return NULL;
}

static void test_hot_paths(void)
{
    swiftpoll_event ev[16];
    int pfd[2], sv[2], r;
    make_pipe(pfd);
    make_socketpair(sv);
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    swiftpoll_registry *clone = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(reg, &clone), 0);
    swiftpoll_waker *w = NULL;
    CHECK_EQ(swiftpoll_waker_new(reg, 99, &w), 0);

    /* first calls first: no lazy allocation */
    MEASURE("first wait (0)", r = swiftpoll_poll_wait(p, ev, 16, 0));
    CHECK_EQ(r, 0);
    MEASURE("first register", r = swiftpoll_registry_register(reg, pfd[0], 1, SWIFTPOLL_READABLE));
    CHECK_EQ(r, 0);
    MEASURE("first reregister", r = swiftpoll_registry_reregister(reg, pfd[0], 2, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL));
    CHECK_EQ(r, 0);
    MEASURE("first deregister", r = swiftpoll_registry_deregister(reg, pfd[0]));
    CHECK_EQ(r, 0);
    MEASURE("first wake", r = swiftpoll_waker_wake(w));
    CHECK_EQ(r, 0);
    MEASURE("wait (-1) with a wake pending", r = swiftpoll_poll_wait(p, ev, 16, -1));
    CHECK_EQ(r, 1);
    {
        swiftpoll_wait_args a = { p, ev, 16, 0 };
        MEASURE("first wait_args", r = swiftpoll_poll_wait_args(&a));
        CHECK_EQ(r, 0);
    }

    /* steady state, each mode and both registries, with events delivered */
    for (int i = 0; i < 200; i++) {
        swiftpoll_registry *rg = (i & 1) ? clone : reg;
        uint32_t mode = (i % 3 == 0) ? SWIFTPOLL_EDGE : (i % 3 == 1) ? SWIFTPOLL_LEVEL : SWIFTPOLL_ONESHOT;
        MEASURE("register", r = swiftpoll_registry_register(rg, sv[0], (uint64_t)i,
                                                            SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE | mode));
        CHECK_EQ(r, 0);
        write_byte(sv[1]);
        MEASURE("wait with events", r = swiftpoll_poll_wait(p, ev, 16, 1000000));
        CHECK_EQ(r, 1);
        MEASURE("reregister", r = swiftpoll_registry_reregister(rg, sv[0], (uint64_t)i + 1000,
                                                                SWIFTPOLL_READABLE | mode));
        CHECK_EQ(r, 0);
        MEASURE("wait after reregister", r = swiftpoll_poll_wait(p, ev, 1, 0));
        CHECK_EQ(r, 1);
        MEASURE("wake", r = swiftpoll_waker_wake(w));
        MEASURE("wait for the wake", r = swiftpoll_poll_wait(p, ev, 16, -1));
        CHECK(r >= 1);
        MEASURE("deregister", r = swiftpoll_registry_deregister(rg, sv[0]));
        CHECK_EQ(r, 0);
        drain(sv[0]);
    }

    /* a wait that blocks and is woken from another thread */
    pthread_t t;
    pthread_create(&t, NULL, wake_soon, w);
    MEASURE("blocking wait woken by a thread", r = swiftpoll_poll_wait(p, ev, 16, -1));
    CHECK_EQ(r, 1);
    pthread_join(t, NULL);
    MEASURE("timed-out wait (1.5 ms)", r = swiftpoll_poll_wait(p, ev, 16, 1500000));
    CHECK_EQ(r, 0);

    /* error paths of the hot functions */
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 1, SWIFTPOLL_READABLE), 0);
    MEASURE("register -EEXIST", r = swiftpoll_registry_register(reg, pfd[0], 1, SWIFTPOLL_READABLE));
    CHECK_EQ(r, -EEXIST);
    MEASURE("register -EBADF", r = swiftpoll_registry_register(reg, -1, 1, SWIFTPOLL_READABLE));
    CHECK_EQ(r, -EBADF);
    MEASURE("register -EINVAL", r = swiftpoll_registry_register(reg, pfd[1], 1, 0));
    CHECK_EQ(r, -EINVAL);
    MEASURE("reregister -ENOENT", r = swiftpoll_registry_reregister(reg, pfd[1], 1, SWIFTPOLL_WRITABLE));
    CHECK_EQ(r, -ENOENT);
    MEASURE("deregister -ENOENT", r = swiftpoll_registry_deregister(reg, pfd[1]));
    CHECK_EQ(r, -ENOENT);
    MEASURE("register NULL", r = swiftpoll_registry_register(NULL, pfd[1], 1, SWIFTPOLL_WRITABLE));
    MEASURE("wait -EINVAL", r = swiftpoll_poll_wait(p, ev, 0, 0));
    CHECK_EQ(r, -EINVAL);
    MEASURE("wait NULL", r = swiftpoll_poll_wait(NULL, ev, 16, 0));
    MEASURE("wake NULL", r = swiftpoll_waker_wake(NULL));

    swiftpoll_waker_free(w);
    swiftpoll_registry_free(clone);
    swiftpoll_poll_free(p);
    close(pfd[0]);
    close(pfd[1]);
    close(sv[0]);
    close(sv[1]);
}

/* Registrations may allocate when they outgrow what the poll has (the
 * poll(2) backend's table doubles; epoll's kernel side is not ours to
 * count): at a size reached before, register/deregister allocate nothing,
 * and waits over a large table neither. */
static void test_after_growth(void)
{
    enum { N = 200 };
    int fds[N], r;
    swiftpoll_event ev[16];
    raise_nofile(N + 100);
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    for (int i = 0; i < N; i++) {
        fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        CHECK_EQ(swiftpoll_registry_register(reg, fds[i], (uint64_t)i, SWIFTPOLL_READABLE), 0);
    }
    for (int i = 0; i < N; i++)
        CHECK_EQ(swiftpoll_registry_deregister(reg, fds[i]), 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            MEASURE("register after growth", r = swiftpoll_registry_register(reg, fds[i], (uint64_t)i,
                                                                            SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL));
            CHECK_EQ(r, 0);
        }
        uint64_t one = 1;
        CHECK_EQ(write(fds[N - 1], &one, 8), 8);
        MEASURE("wait over a large table", r = swiftpoll_poll_wait(p, ev, 16, 0));
        CHECK_EQ(r, 1);
        CHECK_EQ(read(fds[N - 1], &one, 8), 8);
        for (int i = 0; i < N; i++) {
            MEASURE("deregister after growth", r = swiftpoll_registry_deregister(reg, fds[i]));
            CHECK_EQ(r, 0);
        }
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
    swiftpoll_poll_free(p);
}

int main(void)
{
    watchdog_start("t_alloc");
    test_counter_works();
    test_hot_paths();
    test_after_growth();
    CHECK_MSG(counted_calls > 1000, "only %ld measured calls", counted_calls);
    return check_done("t_alloc");
}
