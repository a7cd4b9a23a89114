/*
 * Thread stress for libswiftpoll (issue 5, item 2).
 *
 * One thread waits on a poll while
 *   - worker threads create pipes / eventfds / socketpairs, register them
 *     (edge, level or oneshot), make them ready, reregister, deregister and
 *     close them, through the poll's registry and through clones;
 *   - waker threads call swiftpoll_waker_wake together, in rounds, and then
 *     wait until the waiting thread has reported the waker's token;
 *   - a prober thread calls swiftpoll_poll_wait on the same poll with timeout 0
 *     (-EBUSY while the first thread waits; its events are checked too).
 *
 * What must hold (each is a failure with a message and exit status 1):
 *   - no lost wake: after every wake, a wait that returned after the wake
 *     began reports the waker token (bounded by STRESS_WAKE_TIMEOUT_MS);
 *   - no event for a registration after its deregister (or the reregister
 *     that replaced its token, or the close of its fd) returned, from a wait
 *     that began after that.  Tokens are (slot << 32 | generation), so a
 *     reused fd number never masks a stale event;
 *   - every event's flags follow from its raw epoll bits (mio's formulas)
 *     and no token is one that was never issued;
 *   - every call returns what ABI.md promises;
 *   - no fd leak (/proc/self/fd counted before and after);
 *   - no memory growth (RSS after warm-up vs at the end, bound set by
 *     STRESS_RSS_GROWTH_KIB; 0 disables it, as under sanitizers whose
 *     quarantine grows by design).
 *
 * Bounded: STRESS_SECONDS (default 20) of load, then a SIGALRM watchdog at
 * STRESS_SECONDS + 60 kills the process if anything hangs.
 *
 * Environment: STRESS_SECONDS, STRESS_WORKERS (4), STRESS_WAKERS (2),
 * STRESS_RSS_GROWTH_KIB (8192), STRESS_WAKE_TIMEOUT_MS (5000), STRESS_SEED,
 * and SWIFTPOLL_BACKEND (the library's own: make test-stress runs each Linux
 * backend for half of STRESS_SECONDS).  On poll(2) a registered fd is
 * deregistered before it is closed (poll(2) cannot see a close).
 * The last line printed is "N passed, N failed".
 */
#include "rel_common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <swiftpoll.h>

#define SLOTS_PER_WORKER 48
#define MAX_WORKERS 64
#define MAX_WAKERS 64
#define WAKE_TOKEN UINT64_C(0xFFFFFFFFFFFFFFF0)

enum kind { K_EVENTFD, K_PIPE, K_SOCKET };

struct slot {                /* owned by one worker thread */
    int fd, peer;            /* fd is registered; peer makes it ready */
    int kind;
    int registered;
    int oneshot;
    uint32_t gen;            /* generation of the current token */
};

static swiftpoll_poll *g_poll;
static int g_backend; /* SWIFTPOLL_BACKEND_* of g_poll (SWIFTPOLL_BACKEND selects it) */
static swiftpoll_registry *g_reg;
static swiftpoll_waker *g_waker;
static int g_workers = 4, g_wakers = 2;
static double g_seconds = 20;
static long g_wake_timeout_ms = 5000;

static atomic_int g_stop;
static atomic_int g_stop_waiter;
/* Waiter bookkeeping. */
static _Atomic uint64_t g_wait_starts;   /* incremented just before each wait */
static _Atomic uint64_t g_returned;      /* incremented just after each wait */
static _Atomic uint64_t g_covered;       /* highest g_returned index that reported the waker */
static _Atomic uint64_t g_events, g_wake_events, g_slot_events;
/* Per slot: generation issued (before register/reregister) and the newest
 * dead generation packed with the wait-start stamp read after it died. */
static _Atomic uint32_t g_issued[MAX_WORKERS * SLOTS_PER_WORKER];
static _Atomic uint64_t g_dead[MAX_WORKERS * SLOTS_PER_WORKER];
/* Counters for the summary. */
static _Atomic uint64_t g_ops, g_wakes, g_clones, g_private_polls, g_busy, g_rounds;
static pthread_barrier_t g_round_barrier;
static int g_round_stop;
static _Atomic int g_checks_passed;

static uint64_t token_of(int slot, uint32_t gen) { return ((uint64_t)slot << 32) | gen; }

static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* ---------------------------------------------------------------- waiter */

static void check_event(const swiftpoll_event *e, uint64_t wait_index) {
    if (e->flags & ~UINT32_C(0x3f))
        REL_FAIL("event token %#llx has unknown flag bits %#x",
                 (unsigned long long)e->token, e->flags);
    if (e->flags != rel_expected_flags_for(g_backend, e->raw))
        REL_FAIL("event token %#llx: flags %#x, but raw %#x gives %#x (mio formulas)",
                 (unsigned long long)e->token, e->flags, e->raw,
                 rel_expected_flags_for(g_backend, e->raw));
    if (e->token == WAKE_TOKEN) {
        if (!(e->flags & SWIFTPOLL_EVENT_READABLE))
            REL_FAIL("waker event without SWIFTPOLL_EVENT_READABLE (flags %#x)", e->flags);
        atomic_fetch_add(&g_wake_events, 1);
        return;
    }
    uint64_t slot = e->token >> 32;
    uint32_t gen = (uint32_t)e->token;
    if (slot >= (uint64_t)g_workers * SLOTS_PER_WORKER)
        REL_FAIL("event with a token never issued: %#llx", (unsigned long long)e->token);
    if (gen == 0 || gen > atomic_load(&g_issued[slot]))
        REL_FAIL("event with a generation never issued: slot %llu gen %u (issued %u)",
                 (unsigned long long)slot, gen, atomic_load(&g_issued[slot]));
    uint64_t dead = atomic_load(&g_dead[slot]);
    uint32_t dead_gen = (uint32_t)(dead >> 32);
    uint32_t dead_stamp = (uint32_t)dead;
    if (gen <= dead_gen && (uint32_t)wait_index > dead_stamp)
        REL_FAIL("stale event: slot %llu gen %u reported by wait #%llu, which began "
                 "after the deregister/reregister/close of gen %u returned (stamp %u)",
                 (unsigned long long)slot, gen, (unsigned long long)wait_index,
                 dead_gen, dead_stamp);
    atomic_fetch_add(&g_slot_events, 1);
}

/* One wait and the bookkeeping of its events.  Returns the wait's result. */
static int wait_once(swiftpoll_event *ev, size_t cap, int64_t timeout_ns) {
    uint64_t start = atomic_fetch_add(&g_wait_starts, 1) + 1;
    int n = swiftpoll_poll_wait(g_poll, ev, cap, timeout_ns);
    uint64_t r = atomic_fetch_add(&g_returned, 1) + 1;
    if (n == -EBUSY) return n;
    if (n < 0) REL_FAIL("swiftpoll_poll_wait returned %d (%s)", n, swiftpoll_strerror(n));
    if ((size_t)n > cap) REL_FAIL("swiftpoll_poll_wait returned %d > capacity %zu", n, cap);
    int woke = 0;
    for (int i = 0; i < n; i++) {
        check_event(&ev[i], start);
        if (ev[i].token == WAKE_TOKEN) woke = 1;
    }
    atomic_fetch_add(&g_events, (uint64_t)n);
    if (woke) {
        uint64_t c = atomic_load(&g_covered);
        while (c < r && !atomic_compare_exchange_weak(&g_covered, &c, r)) {}
    }
    return n;
}

static void *waiter_main(void *arg) {
    (void)arg;
    static const size_t caps[] = {1, 2, 3, 64};
    swiftpoll_event ev[64];
    uint64_t seed = 0x9e3779b97f4a7c15u;
    while (!atomic_load(&g_stop_waiter)) {
        size_t cap = caps[xorshift(&seed) % 4];
        if (wait_once(ev, cap, 20 * 1000 * 1000) == -EBUSY) atomic_fetch_add(&g_busy, 1);
    }
    return NULL;
}

/* A second thread waiting on the same poll with timeout 0: ABI.md says it gets
 * -EBUSY while the first waits; when it gets in, its events are checked like
 * the first thread's. */
static void *prober_main(void *arg) {
    (void)arg;
    swiftpoll_event ev[8];
    struct timespec pause = {0, 50 * 1000};
    while (!atomic_load(&g_stop)) {
        if (wait_once(ev, 8, 0) == -EBUSY) atomic_fetch_add(&g_busy, 1);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* ----------------------------------------------------------------- wakers */

/* Wakes come in rounds: all waker threads pass a barrier and wake at once (the
 * wakes race with each other and with the wait returning), then each waits
 * until a wait that returned after its own wake began has reported the waker.
 * The last wake of a round has no later wake to hide behind, so a wake the
 * library drops is seen as a timeout. */
static void *waker_main(void *arg) {
    (void)arg;
    struct timespec pause = {0, 20 * 1000};
    for (;;) {
        if (pthread_barrier_wait(&g_round_barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
            g_round_stop = atomic_load(&g_stop);
            atomic_fetch_add(&g_rounds, 1);
        }
        pthread_barrier_wait(&g_round_barrier);
        if (g_round_stop) break;
        if (atomic_load(&g_rounds) & 1) {
            /* Odd rounds aim at the gap between two waits: spin (up to 2 ms)
             * until a wait returns, then wake at once. */
            uint64_t seen = atomic_load(&g_returned);
            double s0 = rel_now();
            while (atomic_load(&g_returned) == seen && rel_now() - s0 < 0.002) {}
        }
        uint64_t before = atomic_load(&g_returned);
        REL_EXPECT_RC(swiftpoll_waker_wake(g_waker), 0);
        atomic_fetch_add(&g_wakes, 1);
        double t0 = rel_now();
        while (atomic_load(&g_covered) <= before) {
            if ((rel_now() - t0) * 1000 > (double)g_wake_timeout_ms)
                REL_FAIL("lost wake: no waker event within %ld ms after a wake "
                         "(waits returned since: %llu)", g_wake_timeout_ms,
                         (unsigned long long)(atomic_load(&g_returned) - before));
            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- workers */

static void mark_dead(int slot, uint32_t gen) {
    /* Read after the deregister/reregister/close returned: any wait that
     * starts later has a larger index. */
    uint64_t stamp = atomic_load(&g_wait_starts);
    atomic_store(&g_dead[slot], ((uint64_t)gen << 32) | (uint32_t)stamp);
}

static swiftpoll_interest pick_interest(uint64_t *seed, struct slot *s) {
    uint64_t x = xorshift(seed);
    swiftpoll_interest in = SWIFTPOLL_READABLE;
    if (x & 1) in |= SWIFTPOLL_WRITABLE;
    if ((x & 6) == 6) in |= SWIFTPOLL_PRIORITY;
    unsigned mode = (unsigned)(x >> 8) % 10;
    s->oneshot = 0;
    if (mode == 0) in |= SWIFTPOLL_LEVEL;
    else if (mode < 3) { in |= SWIFTPOLL_ONESHOT; s->oneshot = 1; }
    return in;
}

static void open_slot(struct slot *s, uint64_t *seed) {
    int fds[2];
    s->kind = (int)(xorshift(seed) % 3);
    switch (s->kind) {
    case K_EVENTFD:
        s->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->fd < 0) REL_FAIL("eventfd: %s", strerror(errno));
        s->peer = -1;
        break;
    case K_PIPE:
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) REL_FAIL("pipe2: %s", strerror(errno));
        s->fd = fds[0];
        s->peer = fds[1];
        break;
    default:
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
            REL_FAIL("socketpair: %s", strerror(errno));
        s->fd = fds[0];
        s->peer = fds[1];
        break;
    }
}

static void make_ready(struct slot *s) {
    uint64_t one = 1;
    char c = 'x';
    ssize_t n;
    if (s->kind == K_EVENTFD) n = write(s->fd, &one, sizeof one);
    else n = write(s->peer, &c, 1);
    if (n < 0 && errno != EAGAIN) REL_FAIL("write: %s", strerror(errno));
}

static void drain(struct slot *s) {
    char buf[256];
    for (int i = 0; i < 64; i++)
        if (read(s->fd, buf, sizeof buf) <= 0) break;
}

static void close_slot(struct slot *s) {
    if (s->peer >= 0) close(s->peer);
    close(s->fd);
    s->fd = s->peer = -1;
}

static void private_poll_churn(void) {
    /* A short-lived poll with a waker: allocation and fd churn for the leak
     * and RSS checks. */
    swiftpoll_poll *p = NULL;
    swiftpoll_waker *w = NULL;
    swiftpoll_event ev[4];
    REL_EXPECT_RC(swiftpoll_poll_new(&p), 0);
    REL_EXPECT_RC(swiftpoll_waker_new(swiftpoll_poll_registry(p), 7, &w), 0);
    REL_EXPECT_RC(swiftpoll_waker_wake(w), 0);
    int n = swiftpoll_poll_wait(p, ev, 4, 1000 * 1000 * 1000);
    if (n != 1 || ev[0].token != 7)
        REL_FAIL("private poll: wake gave %d events (first token %llu)", n,
                 n > 0 ? (unsigned long long)ev[0].token : 0ULL);
    swiftpoll_waker_free(w);
    swiftpoll_poll_free(p);
    atomic_fetch_add(&g_private_polls, 1);
}

static void *worker_main(void *arg) {
    int id = (int)(intptr_t)arg;
    uint64_t seed = (uint64_t)rel_env_long("STRESS_SEED", 12345) * 2654435761u + (uint64_t)id * 97 + 1;
    struct slot slots[SLOTS_PER_WORKER];
    swiftpoll_registry *clone = NULL;
    REL_EXPECT_RC(swiftpoll_registry_try_clone(g_reg, &clone), 0);
    for (int i = 0; i < SLOTS_PER_WORKER; i++) slots[i] = (struct slot){-1, -1, 0, 0, 0, 0};

    uint64_t ops = 0;
    while (!atomic_load(&g_stop)) {
        int i = (int)(xorshift(&seed) % SLOTS_PER_WORKER);
        int slot = id * SLOTS_PER_WORKER + i;
        struct slot *s = &slots[i];
        swiftpoll_registry *r = (xorshift(&seed) & 1) ? g_reg : clone;
        unsigned op = (unsigned)(xorshift(&seed) % 100);
        ops++;
        if (s->fd < 0) {
            open_slot(s, &seed);
            if (op < 30) make_ready(s); /* ready before registration */
            s->gen++;
            atomic_store(&g_issued[slot], s->gen);
            REL_EXPECT_RC(swiftpoll_registry_register(r, s->fd, token_of(slot, s->gen),
                                                      pick_interest(&seed, s)), 0);
            s->registered = 1;
            continue;
        }
        if (!s->registered) {
            /* Registered once, deregistered, fd still open: register again. */
            s->gen++;
            atomic_store(&g_issued[slot], s->gen);
            REL_EXPECT_RC(swiftpoll_registry_register(r, s->fd, token_of(slot, s->gen),
                                                      pick_interest(&seed, s)), 0);
            s->registered = 1;
            continue;
        }
        if (op < 35) {
            make_ready(s);
        } else if (op < 45) {
            drain(s);
        } else if (op < 60) {
            uint32_t old = s->gen;
            s->gen++;
            atomic_store(&g_issued[slot], s->gen);
            REL_EXPECT_RC(swiftpoll_registry_reregister(r, s->fd, token_of(slot, s->gen),
                                                        pick_interest(&seed, s)), 0);
            mark_dead(slot, old);
        } else if (op < 72) {
            REL_EXPECT_RC(swiftpoll_registry_deregister(r, s->fd), 0);
            mark_dead(slot, s->gen);
            s->registered = 0;
            if (op < 66) {
                REL_EXPECT_RC(swiftpoll_registry_deregister(r, s->fd), -ENOENT);
                REL_EXPECT_RC(swiftpoll_registry_reregister(r, s->fd, 1, SWIFTPOLL_READABLE), -ENOENT);
                close_slot(s);
            }
        } else if (op < 82) {
            /* Close while registered: epoll drops the registration. poll(2)
             * cannot see a close (the entry would report POLLNVAL, or a new
             * file that takes the number, under the old token): there a
             * program deregisters first, as mio requires. */
            if (g_backend == SWIFTPOLL_BACKEND_POLL)
                REL_EXPECT_RC(swiftpoll_registry_deregister(r, s->fd), 0);
            close_slot(s);
            mark_dead(slot, s->gen);
            s->registered = 0;
        } else if (op < 86) {
            REL_EXPECT_RC(swiftpoll_registry_register(r, s->fd, 1, SWIFTPOLL_READABLE), -EEXIST);
        } else if (op < 90) {
            /* Interest validation must not disturb the registration. */
            REL_EXPECT_RC(swiftpoll_registry_reregister(r, s->fd, 1, 0), -EINVAL);
            REL_EXPECT_RC(swiftpoll_registry_reregister(r, s->fd, 1,
                                                        SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL | SWIFTPOLL_ONESHOT),
                          -EINVAL);
        } else if (op < 96) {
            swiftpoll_registry_free(clone);
            clone = NULL;
            REL_EXPECT_RC(swiftpoll_registry_try_clone(g_reg, &clone), 0);
            atomic_fetch_add(&g_clones, 1);
        } else if (op < 97) {
            private_poll_churn();
        } else {
            sched_yield();
        }
    }
    for (int i = 0; i < SLOTS_PER_WORKER; i++) {
        struct slot *s = &slots[i];
        int slot = id * SLOTS_PER_WORKER + i;
        if (s->fd < 0) continue;
        if (s->registered) {
            REL_EXPECT_RC(swiftpoll_registry_deregister(clone, s->fd), 0);
            mark_dead(slot, s->gen);
        }
        close_slot(s);
    }
    swiftpoll_registry_free(clone);
    atomic_fetch_add(&g_ops, ops);
    if (ops < 100) REL_FAIL("worker %d made only %llu operations", id, (unsigned long long)ops);
    return NULL;
}

/* ------------------------------------------------------------------- main */

static void passed(const char *what) {
    printf("ok   %s\n", what);
    atomic_fetch_add(&g_checks_passed, 1);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_seconds = (double)rel_env_long("STRESS_SECONDS", 20);
    g_workers = (int)rel_env_long("STRESS_WORKERS", 4);
    g_wakers = (int)rel_env_long("STRESS_WAKERS", 2);
    g_wake_timeout_ms = rel_env_long("STRESS_WAKE_TIMEOUT_MS", 5000);
    long rss_growth_limit = rel_env_long("STRESS_RSS_GROWTH_KIB", 8192);
    if (g_workers < 1 || g_workers > MAX_WORKERS || g_wakers < 1 || g_wakers > MAX_WAKERS || g_seconds < 1)
        REL_FAIL("bad STRESS_* settings");
    rel_watchdog((unsigned)g_seconds + 60);

    int fds_before = rel_count_fds();
    REL_EXPECT_RC(swiftpoll_poll_new(&g_poll), 0);
    g_backend = swiftpoll_poll_backend(g_poll);
    printf("stress: %d workers, %d wakers, %.0f s, backend %s (libswiftpoll %s)\n", g_workers,
           g_wakers, g_seconds, swiftpoll_backend_name(g_backend), swiftpoll_version());
    g_reg = swiftpoll_poll_registry(g_poll);
    REL_CHECK(g_reg != NULL);
    REL_EXPECT_RC(swiftpoll_waker_new(g_reg, WAKE_TOKEN, &g_waker), 0);

    pthread_t waiter, prober, workers[MAX_WORKERS], wakers[MAX_WAKERS];
    pthread_barrier_init(&g_round_barrier, NULL, (unsigned)g_wakers);
    pthread_create(&waiter, NULL, waiter_main, NULL);
    pthread_create(&prober, NULL, prober_main, NULL);
    for (int i = 0; i < g_workers; i++)
        pthread_create(&workers[i], NULL, worker_main, (void *)(intptr_t)i);
    for (int i = 0; i < g_wakers; i++) pthread_create(&wakers[i], NULL, waker_main, NULL);

    double t0 = rel_now();
    struct timespec tick = {0, 50 * 1000 * 1000};
    long rss_warm = -1;
    while (rel_now() - t0 < g_seconds) {
        nanosleep(&tick, NULL);
        if (rss_warm < 0 && rel_now() - t0 >= g_seconds * 0.25) rss_warm = rel_rss_kib();
    }
    long rss_end = rel_rss_kib();
    atomic_store(&g_stop, 1);
    for (int i = 0; i < g_wakers; i++) pthread_join(wakers[i], NULL);
    for (int i = 0; i < g_workers; i++) pthread_join(workers[i], NULL);
    pthread_join(prober, NULL);
    pthread_barrier_destroy(&g_round_barrier);
    passed("no lost wake (every wake followed by a waker event)");

    /* Quiesced: one more wake must come out of the next wait. */
    uint64_t cov = atomic_load(&g_covered);
    REL_EXPECT_RC(swiftpoll_waker_wake(g_waker), 0);
    for (int i = 0; i < 500 && atomic_load(&g_covered) <= cov; i++) nanosleep(&tick, NULL);
    if (atomic_load(&g_covered) <= cov) REL_FAIL("lost wake after quiescence");
    atomic_store(&g_stop_waiter, 1);
    pthread_join(waiter, NULL);
    passed("no stale event after deregister/reregister/close; flags match raw bits");

    /* Everything is deregistered or closed: a wait must report nothing but
     * (possibly) the waker. */
    swiftpoll_event ev[64];
    int n = swiftpoll_poll_wait(g_poll, ev, 64, 0);
    REL_CHECK(n >= 0);
    for (int i = 0; i < n; i++)
        if (ev[i].token != WAKE_TOKEN)
            REL_FAIL("event for token %#llx after every fd was deregistered or closed",
                     (unsigned long long)ev[i].token);
    passed("quiet after teardown");

    swiftpoll_waker_free(g_waker);
    swiftpoll_poll_free(g_poll);
    int fds_after = rel_count_fds();
    if (fds_after != fds_before) {
        rel_dump_fds();
        REL_FAIL("fd leak: %d open before, %d after", fds_before, fds_after);
    }
    passed("no fd leak");

    if (rss_growth_limit > 0) {
        if (rss_warm < 0 || rss_end < 0) REL_FAIL("could not read RSS");
        if (rss_end - rss_warm > rss_growth_limit)
            REL_FAIL("memory growth: RSS %ld KiB after warm-up, %ld KiB at the end (limit +%ld)",
                     rss_warm, rss_end, rss_growth_limit);
        passed("no memory growth");
    }
    printf("stress: %llu worker ops, %llu wakes in %llu rounds, %llu waits (%llu -EBUSY), "
           "%llu events (%llu waker, %llu fd), %llu clones, %llu private polls, RSS %ld -> %ld KiB\n",
           (unsigned long long)g_ops, (unsigned long long)g_wakes, (unsigned long long)g_rounds,
           (unsigned long long)g_returned, (unsigned long long)g_busy,
           (unsigned long long)g_events,
           (unsigned long long)g_wake_events, (unsigned long long)g_slot_events,
           (unsigned long long)g_clones, (unsigned long long)g_private_polls, rss_warm, rss_end);
    if (g_wakes < 10 || g_slot_events < 10) REL_FAIL("too little work done to mean anything");
    printf("%d passed, 0 failed\n", atomic_load(&g_checks_passed));
    return 0;
}
