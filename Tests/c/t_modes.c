/*
 * t_modes.c -- edge, level and oneshot modes; reregister replaces token and
 * interest and re-arms; deregister stops events; registering a ready fd
 * reports it at once; a capacity smaller than the ready set loses and
 * duplicates nothing (1,000 ready fds read 7 at a time).
 */
#include "check.h"

#include <sys/mman.h>

static void test_edge(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    swiftpoll_event ev[4];
    int pfd[2], n;
    make_pipe(pfd);
    /* SWIFTPOLL_EDGE is 0: the default */
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 10, SWIFTPOLL_READABLE | SWIFTPOLL_EDGE), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    write_byte(pfd[1]);
    n = wait_checked(p, ev, 4, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 10);
    CHECK(ev[0].flags & SWIFTPOLL_EVENT_READABLE);
    CHECK_EQ(ev[0].raw, EPOLLIN);
    /* not drained, nothing new: no second event (poll(2): edge is reported
     * as level, so the fd that stays ready is reported again) */
    if (on_poll()) {
        SKIP_ON(on_poll, "edge is reported as level: an undrained fd is reported again");
        CHECK_EQ(wait_checked(p, ev, 4, 0), 1);
        CHECK_EQ(wait_checked(p, ev, 4, 1000000), 1);
        CHECK_EQ(ev[0].token, 10);
    } else {
        CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
        CHECK_EQ(wait_checked(p, ev, 4, 1000000), 0);
    }
    /* new data: a new edge */
    write_byte(pfd[1]);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 1);
    /* drained until EAGAIN: quiet */
    CHECK_EQ(drain(pfd[0]), 2);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    write_byte(pfd[1]);
    n = wait_checked(p, ev, 4, -1);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 10);
    close(pfd[0]);
    close(pfd[1]);
    swiftpoll_poll_free(p);
}

static void test_level(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    swiftpoll_event ev[4];
    int pfd[2], n;
    make_pipe(pfd);
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 20, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    write_byte(pfd[1]);
    for (int i = 0; i < 5; i++) {
        n = wait_checked(p, ev, 4, 0);
        CHECK_MSG(n == 1 && ev[0].token == 20, "level wait %d: n=%d", i, n);
    }
    CHECK_EQ(drain(pfd[0]), 1);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    /* level + writable: the write end is reported on every wait */
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[1], 21, SWIFTPOLL_WRITABLE | SWIFTPOLL_LEVEL), 0);
    for (int i = 0; i < 3; i++) {
        n = wait_checked(p, ev, 4, 0);
        CHECK_MSG(n == 1 && ev[0].token == 21 && (ev[0].flags & SWIFTPOLL_EVENT_WRITABLE),
                  "level writable wait %d: n=%d", i, n);
    }
    /* reregister level -> edge: reported once more (MOD re-arms), then quiet
     * (poll(2): edge as level, reported every time) */
    CHECK_EQ(swiftpoll_registry_reregister(reg, pfd[1], 22, SWIFTPOLL_WRITABLE), 0);
    n = wait_checked(p, ev, 4, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 22);
    SKIP_ON(on_poll, "edge is reported as level: a writable fd is reported every wait");
    CHECK_EQ(wait_checked(p, ev, 4, 0), on_poll() ? 1 : 0);
    close(pfd[0]);
    close(pfd[1]);
    swiftpoll_poll_free(p);
}

static void test_oneshot(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    swiftpoll_event ev[4];
    int pfd[2], n;
    make_pipe(pfd);
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 30, SWIFTPOLL_READABLE | SWIFTPOLL_ONESHOT), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    write_byte(pfd[1]);
    n = wait_checked(p, ev, 4, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 30);
    /* disarmed: neither the pending data nor new data is reported */
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    write_byte(pfd[1]);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 2000000), 0);
    /* still registered while disarmed */
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 31, SWIFTPOLL_READABLE), -EEXIST);
    /* reregister re-arms, with the new token */
    CHECK_EQ(swiftpoll_registry_reregister(reg, pfd[0], 32, SWIFTPOLL_READABLE | SWIFTPOLL_ONESHOT), 0);
    n = wait_checked(p, ev, 4, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 32);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    /* re-arm while not ready, then data arrives: one event */
    drain(pfd[0]);
    CHECK_EQ(swiftpoll_registry_reregister(reg, pfd[0], 33, SWIFTPOLL_READABLE | SWIFTPOLL_ONESHOT), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    write_byte(pfd[1]);
    n = wait_checked(p, ev, 4, -1);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 33);
    write_byte(pfd[1]);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    /* oneshot -> edge through reregister: armed for good */
    CHECK_EQ(swiftpoll_registry_reregister(reg, pfd[0], 34, SWIFTPOLL_READABLE), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 1);
    write_byte(pfd[1]);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 1);
    write_byte(pfd[1]);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 1);
    /* deregister works on a disarmed oneshot registration */
    CHECK_EQ(swiftpoll_registry_reregister(reg, pfd[0], 35, SWIFTPOLL_READABLE | SWIFTPOLL_ONESHOT), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 1);
    CHECK_EQ(swiftpoll_registry_deregister(reg, pfd[0]), 0);
    CHECK_EQ(swiftpoll_registry_deregister(reg, pfd[0]), -ENOENT);
    close(pfd[0]);
    close(pfd[1]);
    swiftpoll_poll_free(p);
}

static void test_reregister(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    swiftpoll_event ev[4];
    int sv[2], n;
    make_socketpair(sv);
    /* registering an already-ready fd reports it at once */
    CHECK_EQ(swiftpoll_registry_register(reg, sv[0], 40, SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE), 0);
    n = wait_checked(p, ev, 4, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 40);
    CHECK_EQ(ev[0].flags, SWIFTPOLL_EVENT_WRITABLE);
    SKIP_ON(on_poll, "edge is reported as level: a writable fd is reported every wait");
    CHECK_EQ(wait_checked(p, ev, 4, 0), on_poll() ? 1 : 0);
    /* reregister with an interest it is ready for: reported again (MOD re-arms) */
    CHECK_EQ(swiftpoll_registry_reregister(reg, sv[0], 41, SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE), 0);
    n = wait_checked(p, ev, 4, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 41);
    /* replaces entirely (no merge): READABLE only, new token; writability is
     * no longer reported, readability is */
    CHECK_EQ(swiftpoll_registry_reregister(reg, sv[0], 42, SWIFTPOLL_READABLE), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    write_byte(sv[1]);
    n = wait_checked(p, ev, 4, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 42);
    CHECK_EQ(ev[0].flags, SWIFTPOLL_EVENT_READABLE);
    /* readable pending, switch to WRITABLE before the wait: the queued
     * readability is not reported, writability is, with the new token */
    write_byte(sv[1]);
    CHECK_EQ(swiftpoll_registry_reregister(reg, sv[0], 43, SWIFTPOLL_WRITABLE), 0);
    n = wait_checked(p, ev, 4, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 43);
    CHECK_EQ(ev[0].flags & (SWIFTPOLL_EVENT_READABLE | SWIFTPOLL_EVENT_WRITABLE),
             SWIFTPOLL_EVENT_WRITABLE);
    /* an old token never appears after reregister */
    write_byte(sv[1]);
    CHECK_EQ(swiftpoll_registry_reregister(reg, sv[0], 44, SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE), 0);
    n = wait_checked(p, ev, 4, 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(ev[0].token, 44);
    close(sv[0]);
    close(sv[1]);
    swiftpoll_poll_free(p);
}

static void test_deregister(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    swiftpoll_event ev[4];
    int pfd[2];
    make_pipe(pfd);
    static const uint32_t modes[] = { SWIFTPOLL_EDGE, SWIFTPOLL_LEVEL, SWIFTPOLL_ONESHOT };
    for (int m = 0; m < 3; m++) {
        /* nothing ready: deregister, then data: nothing */
        CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 50, SWIFTPOLL_READABLE | modes[m]), 0);
        CHECK_EQ(swiftpoll_registry_deregister(reg, pfd[0]), 0);
        write_byte(pfd[1]);
        CHECK_MSG(wait_checked(p, ev, 4, 0) == 0, "mode 0x%x: event after deregister", modes[m]);
        CHECK_EQ(wait_checked(p, ev, 4, 1000000), 0);
        /* ready and queued but not yet retrieved: deregister drops it */
        CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 51, SWIFTPOLL_READABLE | modes[m]), 0);
        write_byte(pfd[1]);
        CHECK_EQ(swiftpoll_registry_deregister(reg, pfd[0]), 0);
        CHECK_MSG(wait_checked(p, ev, 4, 0) == 0, "mode 0x%x: queued event after deregister",
                  modes[m]);
        write_byte(pfd[1]);
        CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
        /* registered again: works */
        CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 52, SWIFTPOLL_READABLE | modes[m]), 0);
        int n = wait_checked(p, ev, 4, 0);
        CHECK_EQ(n, 1);
        CHECK_EQ(ev[0].token, 52);
        CHECK_EQ(swiftpoll_registry_deregister(reg, pfd[0]), 0);
        drain(pfd[0]);
    }
    /* closing a registered fd removes it silently (no event, no error);
     * poll(2) cannot see a close: POLLNVAL, reported once as an error */
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK_EQ(swiftpoll_registry_register(reg, efd, 53, SWIFTPOLL_READABLE), 0);
    close(efd);
    if (on_poll()) {
        SKIP_ON(on_poll, "a closed registered fd is reported once (POLLNVAL, ERROR), not dropped");
        int k = wait_checked(p, ev, 4, 0);
        CHECK_EQ(k, 1);
        CHECK(k == 1 && ev[0].token == 53 && ev[0].raw == POLLNVAL &&
              ev[0].flags == SWIFTPOLL_EVENT_ERROR);
    }
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    /* the number can be reused and registered again (not on kqueue: its
     * table tells files apart by (st_dev, st_ino), and every eventfd has the
     * same anonymous inode; a pipe, with its own, registers fine) */
    SKIP_ON(on_kqueue, "an eventfd reusing a closed eventfd's number looks like the same file: a pipe instead");
    if (on_kqueue()) {
        int q[2];
        CHECK_EQ(pipe2(q, O_CLOEXEC | O_NONBLOCK), 0);
        int r = q[0] == efd ? q[0] : dup2(q[0], efd);
        if (q[0] != efd)
            close(q[0]);
        CHECK_EQ(write(q[1], "x", 1), 1);
        efd = r;
        close(q[1]);
    } else {
        efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    CHECK_EQ(swiftpoll_registry_register(reg, efd, 54, SWIFTPOLL_READABLE), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 1);
    CHECK_EQ(ev[0].token, 54);
    close(efd);
    close(pfd[0]);
    close(pfd[1]);
    swiftpoll_poll_free(p);
}

/* poll(2) only: all `made` fds ready and level-reported; waits of `cap`
 * rotate, so no fd starves. */
static void poll_rotation_check(swiftpoll_poll *p, int made, int cap)
{
    static swiftpoll_event ev[1024];
    static int seen[1000];
    memset(seen, 0, sizeof seen);
    int full = made / cap, all = (made + cap - 1) / cap, dup = 0, missing = 0;
    for (int c = 0; c < all; c++) {
        int n = wait_checked(p, ev, (size_t)cap, 0);
        int want = cap < made ? cap : made;
        CHECK_MSG(n == want, "wait %d: %d events, capacity %d, all %d ready", c, n, cap, made);
        for (int i = 0; i < n; i++) {
            uint64_t t = ev[i].token - 0xabc0000000000000ull;
            if (t < (uint64_t)made) {
                if (c < full && seen[t])
                    dup++;
                seen[t]++;
            }
        }
    }
    for (int i = 0; i < made; i++)
        missing += seen[i] == 0;
    CHECK_MSG(dup == 0 && missing == 0,
              "capacity %d over %d ready fds: %d reported twice in the first %d waits, "
              "%d never in %d waits (starved)", cap, made, dup, full, missing, all);
}

/* 1,000 ready fds read `cap` at a time (7: many calls; 1024: all at once,
 * which exercises the in-place widening of 12-byte kernel entries into
 * 16-byte ABI entries over the whole array): each token exactly once. */
static void test_capacity(uint32_t mode, int CAP)
{
    enum { N = 1000, MAXCAP = 1024, CANARY = 4 };
    static int fds[N];
    static int seen[N];
    static swiftpoll_event ev[MAXCAP + CANARY];
    raise_nofile(N + 200);
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    int made = 0;
    for (int i = 0; i < N; i++) {
        fds[i] = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fds[i] < 0)
            break;
        made++;
        /* tokens far apart from the fd numbers, with high bits */
        if (swiftpoll_registry_register(reg, fds[i], 0xabc0000000000000ull + (uint64_t)i,
                                        SWIFTPOLL_READABLE | mode) != 0)
            CHECK_MSG(0, "register #%d failed", i);
    }
    CHECK_MSG(made == N, "only %d eventfds (RLIMIT_NOFILE?)", made);
    if (on_poll() && mode == SWIFTPOLL_EDGE) {
        /* edge is level here: every wait is full; the waits rotate through
         * the table, so ceil(N/CAP) waits report each fd at least once and
         * the first floor(N/CAP) report none twice (no fd starves) */
        SKIP_ON(on_poll, "edge is reported as level: capacity checked as rotation, not once-only");
        poll_rotation_check(p, made, CAP);
        for (int i = 0; i < made; i++)
            close(fds[i]);
        swiftpoll_poll_free(p);
        return;
    }
    memset(seen, 0, sizeof seen);
    int total = 0, calls = 0, bad = 0, canary_hits = 0;
    for (; calls < 10 * N; calls++) {
        memset(ev, 0xab, sizeof ev);
        int n = wait_checked(p, ev, (size_t)CAP, 0);
        if (n < 0) {
            CHECK_MSG(0, "wait: %d", n);
            break;
        }
        for (int c = CAP; c < CAP + CANARY; c++) {
            const unsigned char *b = (const unsigned char *)&ev[c];
            for (size_t k = 0; k < sizeof ev[c]; k++)
                canary_hits += b[k] != 0xab;
        }
        if (n == 0)
            break;
        for (int i = 0; i < n; i++) {
            uint64_t t = ev[i].token - 0xabc0000000000000ull;
            if (t >= (uint64_t)N || !(ev[i].flags & SWIFTPOLL_EVENT_READABLE))
                bad++;
            else
                seen[t]++;
        }
        total += n;
    }
    CHECK_MSG(canary_hits == 0, "wait wrote %d bytes beyond capacity", canary_hits);
    CHECK_MSG(bad == 0, "%d events with unknown tokens or without READABLE", bad);
    int missing = 0, dup = 0;
    for (int i = 0; i < made; i++) {
        missing += seen[i] == 0;
        dup += seen[i] > 1;
    }
    CHECK_MSG(missing == 0 && dup == 0 && total == made,
              "mode 0x%x capacity %d: %d events for %d fds in %d calls: %d missing, %d duplicated",
              mode, CAP, total, made, calls, missing, dup);
    CHECK_MSG(calls >= (made + CAP - 1) / CAP, "only %d calls", calls);
    for (int i = 0; i < made; i++)
        close(fds[i]);
    swiftpoll_poll_free(p);
}

/* "A capacity above INT_MAX/12 is treated as INT_MAX/12": give a buffer
 * that really is that large (reserved, not committed: the kernel writes only
 * the events it returns), so that a huge capacity is honest. */
static void test_huge_capacity(void)
{
    size_t cap_max = (size_t)INT32_MAX / 12;
    size_t bytes = (cap_max + 1) * sizeof(swiftpoll_event);
    swiftpoll_event *big = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (big == MAP_FAILED) {
        printf("note: no %zu-byte reservation (overcommit off?): huge capacities not tested\n",
               bytes);
        return;
    }
    swiftpoll_poll *p = new_poll();
    int efd[3];
    for (int i = 0; i < 3; i++) {
        efd[i] = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
        CHECK_EQ(swiftpoll_registry_register(swiftpoll_poll_registry(p), efd[i], (uint64_t)i + 1,
                                             SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL), 0);
    }
    static const size_t caps[] = { (size_t)INT32_MAX / 12, (size_t)INT32_MAX / 12 + 1,
                                   (size_t)INT32_MAX, (size_t)INT32_MAX + 1,
                                   (size_t)UINT32_MAX + 1, SIZE_MAX };
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        int n = wait_checked(p, big, caps[c], 0);
        CHECK_MSG(n == 3, "capacity %zu: %d (%s)", caps[c], n, err_name(n));
        uint64_t sum = 0;
        for (int i = 0; i < n && i < 3; i++)
            sum += big[i].token;
        CHECK_MSG(n != 3 || sum == 6, "capacity %zu: tokens wrong", caps[c]);
    }
    for (int i = 0; i < 3; i++)
        close(efd[i]);
    swiftpoll_poll_free(p);
    munmap(big, bytes);
}

int main(void)
{
    watchdog_start("t_modes");
    int fds0 = fd_count();
    test_edge();
    test_level();
    test_oneshot();
    test_reregister();
    test_deregister();
    test_capacity(SWIFTPOLL_EDGE, 7);
    test_capacity(SWIFTPOLL_ONESHOT, 7);
    test_capacity(SWIFTPOLL_EDGE, 1024);
    test_capacity(SWIFTPOLL_EDGE, 1);
    test_huge_capacity();
    CHECK_EQ(fd_count(), fds0);
    return check_done("t_modes");
}
