/*
 * t_threads.c -- timeouts (lower bounds only), -EBUSY for a second waiting
 * thread, a registration from another thread wakes a blocking wait, -EINTR
 * (with and without SA_RESTART), the waker rules (token and READABLE,
 * coalescing, one live waker per poll also through try_clone, a new one after
 * waker_free, wake from a signal handler, from 8 threads at once), and
 * try_clone / wakers used after swiftpoll_poll_free.
 */
#include "check.h"

#include <sys/time.h>

#define WAKER_TOKEN 0xfeedface00000001ull

/* ---------------------------------------------------------------- timeouts */

static void test_timeouts(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_event ev[4];
    /* 0: returns at once with nothing */
    for (int i = 0; i < 100; i++)
        CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    /* > 0: never shorter than asked (epoll_pwait2 ns, or ms rounded UP) */
    static const int64_t ts[] = { 1, 1000, 999999, 1000000, 1000001, 1500000, 1999999,
                                  2500000, 10000000 };
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        for (int rep = 0; rep < (ts[i] == 1500000 ? 20 : 3); rep++) {
            int64_t t0 = now_ns();
            int n = wait_checked(p, ev, 4, ts[i]);
            int64_t dt = now_ns() - t0;
            CHECK_MSG(n == 0, "timeout %" PRId64 " ns: %d", ts[i], n);
            CHECK_MSG(dt >= ts[i], "timeout %" PRId64 " ns returned after %" PRId64 " ns", ts[i],
                      dt);
        }
    }
    /* a ready fd returns before the timeout, whatever it is */
    int efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK_EQ(swiftpoll_registry_register(swiftpoll_poll_registry(p), efd, 1,
                                         SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL), 0);
    static const int64_t big[] = { 1, 1500000, INT32_MAX, (int64_t)INT32_MAX + 1,
                                   (int64_t)1 << 40, INT64_MAX, -1, -2, INT64_MIN };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        int n = wait_checked(p, ev, 4, big[i]);
        CHECK_MSG(n == 1, "timeout %" PRId64 " with a ready fd: %d (%s)", big[i], n, err_name(n));
    }
    close(efd);
    swiftpoll_poll_free(p);
}

/* A huge or negative timeout blocks until another thread makes an fd ready
 * (and not less: the wait returns only after the write). */
struct writer_arg {
    int fd;
    int64_t delay_ns;
    atomic_int written;
};

static void *late_writer(void *a)
{
    struct writer_arg *w = a;
    sleep_ns(w->delay_ns);
    atomic_store(&w->written, 1);
    uint64_t one = 1;
    if (write(w->fd, &one, 8) != 8)
        abort();
    return NULL;
}

static void test_blocking_waits(void)
{
    static const int64_t blocking[] = { -1, -1000, INT64_MIN, INT64_MAX, (int64_t)1 << 40,
                                        (int64_t)INT32_MAX * 1000000 + 1 };
    for (size_t i = 0; i < sizeof blocking / sizeof blocking[0]; i++) {
        swiftpoll_poll *p = new_poll();
        swiftpoll_event ev[4];
        struct writer_arg w = { eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), 50000000, 0 };
        CHECK_EQ(swiftpoll_registry_register(swiftpoll_poll_registry(p), w.fd, 7,
                                             SWIFTPOLL_READABLE), 0);
        pthread_t t;
        pthread_create(&t, NULL, late_writer, &w);
        int n = wait_checked(p, ev, 4, blocking[i]);
        CHECK_MSG(n == 1 && ev[0].token == 7, "timeout %" PRId64 ": %d (%s)", blocking[i], n,
                  err_name(n));
        CHECK_MSG(atomic_load(&w.written), "timeout %" PRId64 ": returned before the write",
                  blocking[i]);
        pthread_join(t, NULL);
        close(w.fd);
        swiftpoll_poll_free(p);
    }
}

/* ---------------------------------------------------------------- EBUSY */

struct waiter_arg {
    swiftpoll_poll *p;
    int64_t timeout;
    atomic_int started;
    atomic_int done;
    int result;
    int busy_retries;
    swiftpoll_event ev[4];
};

static void *waiter(void *a)
{
    struct waiter_arg *w = a;
    atomic_store(&w->started, 1);
    int n;
    /* our own first call may lose against the main thread's probe: retry */
    for (w->busy_retries = 0; w->busy_retries < 1000000; w->busy_retries++) {
        n = swiftpoll_poll_wait(w->p, w->ev, 4, w->timeout);
        if (n != -EBUSY)
            break;
    }
    w->result = n;
    atomic_store(&w->done, 1);
    return NULL;
}

static void test_ebusy(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_waker *wk = NULL;
    CHECK_EQ(swiftpoll_waker_new(swiftpoll_poll_registry(p), WAKER_TOKEN, &wk), 0);
    struct waiter_arg w = { .p = p, .timeout = -1 };
    pthread_t t;
    pthread_create(&t, NULL, waiter, &w);
    swiftpoll_event ev[4];
    int busy = 0, other = 0;
    int64_t deadline = now_ns() + 10 * 1000000000ll;
    while (now_ns() < deadline) {
        int n = swiftpoll_poll_wait(p, ev, 4, 0);
        if (n == -EBUSY) {
            busy = 1;
            break;
        }
        if (n != 0)
            other++;
        sleep_ns(100000);
    }
    CHECK_MSG(busy, "a second thread's wait never got -EBUSY while one waited");
    CHECK_EQ(other, 0);
    /* a blocking second wait gets -EBUSY too, and does not block */
    if (busy && !atomic_load(&w.done))
        CHECK_EQ(swiftpoll_poll_wait(p, ev, 4, -1), -EBUSY);
    CHECK_EQ(swiftpoll_waker_wake(wk), 0);
    pthread_join(t, NULL);
    CHECK_MSG(w.result == 1 && w.ev[0].token == WAKER_TOKEN, "waiter got %d", w.result);
    /* after the waiter left, this thread may wait */
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    CHECK_EQ(swiftpoll_waker_wake(wk), 0);
    CHECK_EQ(wait_checked(p, ev, 4, -1), 1);
    swiftpoll_waker_free(wk);
    swiftpoll_poll_free(p);
}

/* ------------------------------------------- registration during a wait */

struct reg_arg {
    swiftpoll_registry *reg;
    int fd;
    int result;
};

static void *late_register(void *a)
{
    struct reg_arg *r = a;
    sleep_ns(50000000);
    r->result = swiftpoll_registry_register(r->reg, r->fd, 77, SWIFTPOLL_READABLE);
    return NULL;
}

static void test_register_during_wait(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_event ev[4];
    /* an fd that is already ready, registered while the wait blocks with
     * nothing registered at all */
    int efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    struct reg_arg r = { swiftpoll_poll_registry(p), efd, -999 };
    pthread_t t;
    pthread_create(&t, NULL, late_register, &r);
    int n = wait_checked(p, ev, 4, -1);
    pthread_join(t, NULL);
    CHECK_EQ(r.result, 0);
    CHECK_MSG(n == 1 && ev[0].token == 77, "wait got %d", n);
    /* the same through a try_clone'd registry, with a timeout */
    swiftpoll_registry *clone = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(swiftpoll_poll_registry(p), &clone), 0);
    int efd2 = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    struct reg_arg r2 = { clone, efd2, -999 };
    pthread_create(&t, NULL, late_register, &r2);
    n = wait_checked(p, ev, 4, 20 * 1000000000ll);
    pthread_join(t, NULL);
    CHECK_EQ(r2.result, 0);
    CHECK_MSG(n == 1 && ev[0].token == 77, "wait got %d", n);
    swiftpoll_registry_free(clone);
    close(efd);
    close(efd2);
    swiftpoll_poll_free(p);
}

/* ---------------------------------------------------------------- EINTR */

static atomic_int sig_count;
static void count_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&sig_count, 1);
}

struct kicker_arg {
    pthread_t target;
    int sig;
    swiftpoll_waker *waker;
    atomic_int stop;
};

/* Signals the waiting thread every 5 ms for 100 ms (so at least one lands
 * while it waits), then wakes the poll: a library that retried the wait
 * after EINTR would return that wake instead of -EINTR. */
static void *kicker(void *a)
{
    struct kicker_arg *k = a;
    for (int i = 0; i < 20 && !atomic_load(&k->stop); i++) {
        sleep_ns(5000000);
        if (!atomic_load(&k->stop))
            pthread_kill(k->target, k->sig);
    }
    sleep_ns(20000000);
    if (!atomic_load(&k->stop))
        swiftpoll_waker_wake(k->waker);
    return NULL;
}

static void test_eintr(int flags, int64_t timeout)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, &old);
    swiftpoll_poll *p = new_poll();
    swiftpoll_waker *w = NULL;
    CHECK_EQ(swiftpoll_waker_new(swiftpoll_poll_registry(p), WAKER_TOKEN, &w), 0);
    swiftpoll_event ev[4];
    struct kicker_arg k = { pthread_self(), SIGUSR2, w, 0 };
    atomic_store(&sig_count, 0);
    pthread_t t;
    pthread_create(&t, NULL, kicker, &k);
    errno = 4242;
    int n = swiftpoll_poll_wait(p, ev, 4, timeout);
    int e = errno;
    atomic_store(&k.stop, 1);
    pthread_join(t, NULL);
    CHECK_MSG(n == -EINTR, "SA_RESTART=%d timeout %" PRId64 ": wait gave %d (%s)%s",
              !!(flags & SA_RESTART), timeout, n, err_name(n),
              n == 1 ? ": the wait was retried after EINTR inside the library" : "");
    CHECK(atomic_load(&sig_count) >= 1);
    CHECK_MSG(e == 4242, "errno %d after -EINTR", e);
    /* the poll is fine afterwards */
    n = wait_checked(p, ev, 4, 0);
    CHECK(n == 0 || (n == 1 && ev[0].token == WAKER_TOKEN));
    swiftpoll_waker_free(w);
    swiftpoll_poll_free(p);
    sigaction(SIGUSR2, &old, NULL);
}

/* ---------------------------------------------------------------- waker */

static void test_waker_rules(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    swiftpoll_event ev[8];
    swiftpoll_waker *w = NULL, *w2;
    int n;
    CHECK_EQ(swiftpoll_waker_new(reg, WAKER_TOKEN, &w), 0);
    CHECK(w != NULL);
    CHECK_EQ(wait_checked(p, ev, 8, 0), 0);
    /* one wake: one event, the token, READABLE */
    CHECK_EQ(swiftpoll_waker_wake(w), 0);
    n = wait_checked(p, ev, 8, -1);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, WAKER_TOKEN);
    CHECK(ev[0].flags & SWIFTPOLL_EVENT_READABLE);
    CHECK_EQ(ev[0].flags, SWIFTPOLL_EVENT_READABLE);
    CHECK_EQ(ev[0].raw, on_kqueue() ? 0x04u : EPOLLIN); /* kqueue: its EVFILT_USER bit */
    /* consumed: nothing until the next wake */
    CHECK_EQ(wait_checked(p, ev, 8, 0), 0);
    CHECK_EQ(wait_checked(p, ev, 8, 1000000), 0);
    /* many wakes before a wait: coalesced into one event */
    for (int i = 0; i < 1000; i++)
        if (swiftpoll_waker_wake(w) != 0)
            CHECK_MSG(0, "wake #%d failed", i);
    n = wait_checked(p, ev, 8, -1);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, WAKER_TOKEN);
    CHECK_EQ(wait_checked(p, ev, 8, 0), 0);
    /* wakes keep working after many rounds (the counter is never drained) */
    for (int round = 0; round < 100; round++) {
        CHECK_EQ(swiftpoll_waker_wake(w), 0);
        n = wait_checked(p, ev, 8, -1);
        if (n != 1 || ev[0].token != WAKER_TOKEN)
            CHECK_MSG(0, "round %d: %d", round, n);
    }
    /* one live waker per poll, also through a clone */
    w2 = (swiftpoll_waker *)(uintptr_t)0x10;
    CHECK_EQ(swiftpoll_waker_new(reg, 2, &w2), -EEXIST);
    swiftpoll_registry *clone = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(reg, &clone), 0);
    CHECK_EQ(swiftpoll_waker_new(clone, 3, &w2), -EEXIST);
    CHECK(w2 == (swiftpoll_waker *)(uintptr_t)0x10);
    /* a clone made after: the same */
    swiftpoll_registry *clone2 = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(clone, &clone2), 0);
    CHECK_EQ(swiftpoll_waker_new(clone2, 4, &w2), -EEXIST);
    /* other polls are independent */
    swiftpoll_poll *q = new_poll();
    swiftpoll_waker *wq = NULL;
    CHECK_EQ(swiftpoll_waker_new(swiftpoll_poll_registry(q), 5, &wq), 0);
    swiftpoll_waker_free(wq);
    swiftpoll_poll_free(q);
    /* after waker_free a new one may be made, through any registry */
    swiftpoll_waker_free(w);
    CHECK_EQ(wait_checked(p, ev, 8, 0), 0);
    w = NULL;
    CHECK_EQ(swiftpoll_waker_new(clone, WAKER_TOKEN + 1, &w), 0);
    CHECK_EQ(swiftpoll_waker_new(reg, 6, &w2), -EEXIST);
    CHECK_EQ(swiftpoll_waker_wake(w), 0);
    n = wait_checked(p, ev, 8, -1);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, WAKER_TOKEN + 1);
    swiftpoll_waker_free(w);
    w = NULL;
    CHECK_EQ(swiftpoll_waker_new(reg, WAKER_TOKEN + 2, &w), 0);
    /* wakes not yet reported are lost by waker_free */
    CHECK_EQ(swiftpoll_waker_wake(w), 0);
    swiftpoll_waker_free(w);
    CHECK_EQ(wait_checked(p, ev, 8, 0), 0);
    swiftpoll_registry_free(clone2);
    swiftpoll_registry_free(clone);
    swiftpoll_poll_free(p);
}

/* 8 threads waking at once, while the poll waits */
struct wake_thread_arg {
    swiftpoll_waker *w;
    pthread_barrier_t *bar;
    int rounds;
    int failures;
};

static void *wake_thread(void *a)
{
    struct wake_thread_arg *t = a;
    pthread_barrier_wait(t->bar);
    for (int i = 0; i < t->rounds; i++)
        t->failures += swiftpoll_waker_wake(t->w) != 0;
    pthread_barrier_wait(t->bar); /* phase 2: every thread one wake at once */
    t->failures += swiftpoll_waker_wake(t->w) != 0;
    return NULL;
}

static void test_waker_threads(void)
{
    enum { T = 8 };
    swiftpoll_poll *p = new_poll();
    swiftpoll_event ev[8];
    swiftpoll_waker *w = NULL;
    CHECK_EQ(swiftpoll_waker_new(swiftpoll_poll_registry(p), WAKER_TOKEN, &w), 0);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, T + 1);
    struct wake_thread_arg args[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        args[i] = (struct wake_thread_arg){ w, &bar, 20000, 0 };
        pthread_create(&th[i], NULL, wake_thread, &args[i]);
    }
    pthread_barrier_wait(&bar);
    /* while they wake: every wait returns the waker's event */
    int bad = 0, waits = 0;
    for (; waits < 200; waits++) {
        int n = wait_checked(p, ev, 8, 1000000);
        if (n < 0 || (n == 1 && ev[0].token != WAKER_TOKEN) || n > 1)
            bad++;
    }
    CHECK_EQ(bad, 0);
    /* drain whatever is left of phase 1 */
    for (int i = 0; i < 100 && wait_checked(p, ev, 8, 0) > 0; i++) {
    }
    /* phase 2: 8 simultaneous wakes, one event */
    pthread_barrier_wait(&bar);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    int n = wait_checked(p, ev, 8, -1);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, WAKER_TOKEN);
    CHECK_EQ(wait_checked(p, ev, 8, 0), 0);
    for (int i = 0; i < T; i++)
        CHECK_EQ(args[i].failures, 0);
    pthread_barrier_destroy(&bar);
    swiftpoll_waker_free(w);
    swiftpoll_poll_free(p);
}

/* a wake from a signal handler */
static swiftpoll_waker *volatile handler_waker;
static atomic_int handler_rc = 999, handler_errno_ok;
static void waking_handler(int sig)
{
    (void)sig;
    int saved = errno;
    errno = 31337;
    atomic_store(&handler_rc, swiftpoll_waker_wake(handler_waker));
    atomic_store(&handler_errno_ok, errno == 31337);
    errno = saved;
}

static void *raise_later(void *a)
{
    (void)a;
    sleep_ns(50000000);
    raise(SIGUSR1); /* to this thread: the handler runs here, not in the waiter */
    return NULL;
}

static void test_waker_signal(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_event ev[4];
    swiftpoll_waker *w = NULL;
    CHECK_EQ(swiftpoll_waker_new(swiftpoll_poll_registry(p), WAKER_TOKEN, &w), 0);
    handler_waker = w;
    struct sigaction sa, old_usr1, old_alrm;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = waking_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old_usr1);
    sigaction(SIGALRM, &sa, &old_alrm);

    /* 1. the handler runs in another thread; this thread blocks SIGUSR1 and
     *    its wait returns the waker's event (no EINTR here) */
    sigset_t usr1, oldmask;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_t t;
    pthread_create(&t, NULL, raise_later, NULL); /* inherits an unblocked mask */
    pthread_sigmask(SIG_BLOCK, &usr1, &oldmask);
    atomic_store(&handler_rc, 999);
    int n = wait_checked(p, ev, 4, -1);
    pthread_join(t, NULL);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    CHECK_MSG(n == 1 && ev[0].token == WAKER_TOKEN, "wait got %d (%s)", n, err_name(n));
    CHECK_EQ(atomic_load(&handler_rc), 0);
    CHECK_MSG(atomic_load(&handler_errno_ok), "wake in a handler changed errno");

    /* 2. SIGALRM from setitimer interrupts this thread's own blocked wait:
     *    -EINTR, then the retry returns the wake the handler made */
    atomic_store(&handler_rc, 999);
    struct itimerval it = { { 0, 0 }, { 0, 50000 } };
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    int eintr = 0;
    for (int i = 0; i < 10; i++) {
        n = wait_checked(p, ev, 4, -1);
        if (n != -EINTR)
            break;
        eintr++;
    }
    CHECK_MSG(n == 1 && ev[0].token == WAKER_TOKEN, "wait got %d (%s)", n, err_name(n));
    CHECK_EQ(atomic_load(&handler_rc), 0);
    CHECK_MSG(atomic_load(&handler_errno_ok), "wake in a handler changed errno");
    (void)eintr; /* the signal may land before the wait starts: EINTR optional */

    sigaction(SIGUSR1, &old_usr1, NULL);
    sigaction(SIGALRM, &old_alrm, NULL);
    swiftpoll_waker_free(w);
    swiftpoll_poll_free(p);
}

/* ------------------------------------------------ after swiftpoll_poll_free */

static void test_after_poll_free(void)
{
    /* a clone keeps the epoll instance alive: nest it in an outer poll to
     * see that registrations made through the clone after the free work */
    swiftpoll_poll *outer = new_poll();
    swiftpoll_poll *p = new_poll();
    swiftpoll_event ev[4];
    swiftpoll_registry *clone = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(swiftpoll_poll_registry(p), &clone), 0);
    CHECK(clone != NULL);
    CHECK(clone != swiftpoll_poll_registry(p));
    swiftpoll_waker *w = NULL;
    CHECK_EQ(swiftpoll_waker_new(clone, WAKER_TOKEN, &w), 0);
    CHECK_EQ(swiftpoll_registry_register(swiftpoll_poll_registry(outer), swiftpoll_poll_fd(p), 100,
                                         SWIFTPOLL_READABLE), 0);
    CHECK_EQ(wait_checked(outer, ev, 4, 0), 0);
    swiftpoll_poll_free(p);
    CHECK_EQ(wait_checked(outer, ev, 4, 0), 0);
    /* the waker stays valid: its wake makes the (still living) epoll
     * instance readable */
    CHECK_EQ(swiftpoll_waker_wake(w), 0);
    int n = wait_checked(outer, ev, 4, -1);
    CHECK_MSG(n == 1 && ev[0].token == 100, "outer got %d", n);
    /* register / reregister / deregister through the clone */
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint64_t one = 1;
    CHECK_EQ(swiftpoll_registry_register(clone, efd, 5, SWIFTPOLL_READABLE), 0);
    CHECK_EQ(swiftpoll_registry_register(clone, efd, 5, SWIFTPOLL_READABLE), -EEXIST);
    CHECK_EQ(write(efd, &one, 8), 8);
    n = wait_checked(outer, ev, 4, -1);
    CHECK_MSG(n == 1 && ev[0].token == 100, "outer got %d", n);
    CHECK_EQ(swiftpoll_registry_reregister(clone, efd, 6, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL), 0);
    CHECK_EQ(swiftpoll_registry_deregister(clone, efd), 0);
    CHECK_EQ(swiftpoll_registry_deregister(clone, efd), -ENOENT);
    /* a second waker is still refused while the first lives; allowed after */
    swiftpoll_waker *w2 = NULL;
    CHECK_EQ(swiftpoll_waker_new(clone, 9, &w2), -EEXIST);
    swiftpoll_waker_free(w);
    CHECK_EQ(swiftpoll_waker_new(clone, 9, &w2), 0);
    /* clone of a clone after the poll is gone */
    swiftpoll_registry *clone2 = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(clone, &clone2), 0);
    swiftpoll_registry_free(clone);
    CHECK_EQ(swiftpoll_registry_register(clone2, efd, 7, SWIFTPOLL_READABLE), 0);
    swiftpoll_registry_free(clone2);
    /* the instance is gone with the last registry; the waker still wakes
     * harmlessly */
    CHECK_EQ(swiftpoll_waker_wake(w2), 0);
    swiftpoll_waker_free(w2);
    close(efd);
    swiftpoll_poll_free(outer);
}

/* poll(2): no fd to nest, and no waiting without the poll; the clone and
 * the waker share the poll's table, which lives until the last of them is
 * freed: every call on them still answers as the ABI says (ASan and TSan
 * runs of this suite see any use after free). */
static void test_after_poll_free_poll(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *clone = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(swiftpoll_poll_registry(p), &clone), 0);
    CHECK(clone != NULL && clone != swiftpoll_poll_registry(p));
    swiftpoll_waker *w = NULL;
    CHECK_EQ(swiftpoll_waker_new(clone, WAKER_TOKEN, &w), 0);
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK_EQ(swiftpoll_registry_register(clone, efd, 4, SWIFTPOLL_READABLE), 0);
    CHECK_EQ(swiftpoll_waker_wake(w), 0); /* pending when the poll goes */
    swiftpoll_poll_free(p);
    CHECK_EQ(swiftpoll_waker_wake(w), 0);
    CHECK_EQ(swiftpoll_registry_register(clone, efd, 5, SWIFTPOLL_READABLE), -EEXIST);
    CHECK_EQ(swiftpoll_registry_reregister(clone, efd, 6, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL), 0);
    CHECK_EQ(swiftpoll_registry_deregister(clone, efd), 0);
    CHECK_EQ(swiftpoll_registry_deregister(clone, efd), -ENOENT);
    CHECK_EQ(swiftpoll_registry_register(clone, efd, 5, SWIFTPOLL_READABLE), 0);
    swiftpoll_waker *w2 = NULL;
    CHECK_EQ(swiftpoll_waker_new(clone, 9, &w2), -EEXIST);
    swiftpoll_waker_free(w);
    CHECK_EQ(swiftpoll_waker_new(clone, 9, &w2), 0);
    swiftpoll_registry *clone2 = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(clone, &clone2), 0);
    swiftpoll_registry_free(clone);
    CHECK_EQ(swiftpoll_registry_deregister(clone2, efd), 0);
    CHECK_EQ(swiftpoll_registry_register(clone2, efd, 7, SWIFTPOLL_READABLE), 0);
    swiftpoll_registry_free(clone2);
    /* the waker is the table's last owner now */
    CHECK_EQ(swiftpoll_waker_wake(w2), 0);
    swiftpoll_waker_free(w2);
    close(efd);
}

int main(void)
{
    watchdog_start("t_threads");
    int fds0 = fd_count();
    test_timeouts();
    test_blocking_waits();
    test_ebusy();
    test_register_during_wait();
    test_eintr(0, -1);
    test_eintr(SA_RESTART, -1);
    test_eintr(0, 30 * 1000000000ll);
    test_eintr(SA_RESTART, 30 * 1000000000ll);
    test_waker_rules();
    test_waker_threads();
    test_waker_signal();
    if (on_poll()) {
        SKIP_ON(on_poll, "no poll fd to nest: clones and wakers after poll_free checked without events");
        test_after_poll_free_poll();
    } else if (on_kqueue()) {
        /* libkqueue's kqueue fd never becomes readable: nesting would block forever */
        SKIP_ON(on_kqueue, "libkqueue cannot be nested: clones and wakers after poll_free checked without events");
        test_after_poll_free_poll();
    } else {
        test_after_poll_free();
    }
    CHECK_EQ(fd_count(), fds0);
    return check_done("t_threads");
}
