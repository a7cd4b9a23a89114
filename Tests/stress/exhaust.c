/*
 * Resource exhaustion for libswiftpoll (issue 5, item 4).
 *
 *   emfile      With RLIMIT_NOFILE lowered so that 0, 1, 2 or 3 descriptors
 *               are free, swiftpoll_poll_new, swiftpoll_registry_try_clone
 *               and swiftpoll_waker_new either succeed or return -EMFILE;
 *               with 0 free they return -EMFILE, leave *out untouched and
 *               errno as it was, and consume no descriptor; a failed
 *               waker_new does not count as a live waker.
 *   many        EXHAUST_N (default 10240; on poll(2) EXHAUST_N_POLL, 4096:
 *               its waits are O(registrations), and 10240 there takes 20 s
 *               instead of 1.5) eventfds registered on one poll;
 *               a wait with capacity 1 over all of them ready delivers each
 *               exactly once (edge), again after a reregister with new tokens
 *               (capacity 7), ONESHOT delivers once and then nothing until
 *               reregistered, deregistered fds are never reported, and a
 *               large capacity drains them in a few calls.
 * The backend is SWIFTPOLL_BACKEND's (make test-exhaust runs each).  On
 * poll(2), try_clone and waker_new need no descriptor (they succeed at the
 * limit), and edge is reported as level: the capacity drains check that the
 * waits rotate (each fd once per round) and that draining the fds makes the
 * poll quiet.
 * Every descriptor count is compared before and after.  Bounded: every loop
 * has a fixed bound, and a SIGALRM watchdog ends the process after 120 s.
 * The last line printed is "N passed, N failed".
 */
#include "rel_common.h"

#include <sys/eventfd.h>
#include <sys/resource.h>

#include <swiftpoll.h>

static int g_passed;
static void passed(const char *what) {
    printf("ok   %s\n", what);
    g_passed++;
}

/* Counts open descriptors below `limit` with fcntl, which (unlike opendir)
 * needs no free descriptor itself. */
static int count_fds_below(int limit) {
    int n = 0;
    for (int fd = 0; fd < limit; fd++)
        if (fcntl(fd, F_GETFD) >= 0) n++;
    return n;
}

static int highest_fd(void) {
    int hi = -1;
    for (int fd = 0; fd < 65536; fd++)
        if (fcntl(fd, F_GETFD) >= 0) hi = fd;
    return hi;
}

/* ------------------------------------------------------------------ emfile */

enum which { W_POLL_NEW, W_TRY_CLONE, W_WAKER_NEW };
static const char *which_name[] = {"swiftpoll_poll_new", "swiftpoll_registry_try_clone",
                                   "swiftpoll_waker_new"};

static void test_emfile(void) {
    struct rlimit saved;
    REL_CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);

    swiftpoll_poll *p0 = NULL;
    REL_EXPECT_RC(swiftpoll_poll_new(&p0), 0);
    swiftpoll_registry *r0 = swiftpoll_poll_registry(p0);
    REL_CHECK(r0 != NULL);
    /* poll(2): a clone shares the table and a waker writes its notifier, so
     * only poll_new needs a descriptor (the notifier) */
    int on_poll = swiftpoll_poll_backend(p0) == SWIFTPOLL_BACKEND_POLL;

    int limit = highest_fd() + 40;
    struct rlimit low = {(rlim_t)limit, saved.rlim_max};
    REL_CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);

    /* Fill every free descriptor slot. */
    int *fillers = malloc(sizeof(int) * (size_t)limit), nfill = 0;
    REL_CHECK(fillers != NULL);
    for (;;) {
        int fd = eventfd(0, EFD_CLOEXEC);
        if (fd < 0) {
            REL_CHECK(errno == EMFILE);
            break;
        }
        if (nfill == limit) REL_FAIL("could not exhaust descriptors below %d", limit);
        fillers[nfill++] = fd;
    }
    REL_CHECK(nfill >= 4);

    for (int w = W_POLL_NEW; w <= W_WAKER_NEW; w++) {
        for (int free_fds = 0; free_fds <= 3; free_fds++) {
            /* Open up exactly `free_fds` slots. */
            for (int i = 0; i < free_fds; i++) close(fillers[nfill - 1 - i]);
            int before = count_fds_below(limit);
            void *sentinel = (void *)(uintptr_t)0x5ee5;
            void *out = sentinel;
            errno = 4242;
            int rc;
            switch (w) {
            case W_POLL_NEW: rc = swiftpoll_poll_new((swiftpoll_poll **)&out); break;
            case W_TRY_CLONE: rc = swiftpoll_registry_try_clone(r0, (swiftpoll_registry **)&out); break;
            default: rc = swiftpoll_waker_new(r0, 99, (swiftpoll_waker **)&out); break;
            }
            if (errno != 4242)
                REL_FAIL("%s with %d free fds changed errno to %d", which_name[w], free_fds, errno);
            int needs_fd = !on_poll || w == W_POLL_NEW;
            if (free_fds == 0 && needs_fd && rc != -EMFILE)
                REL_FAIL("%s with no free fd returned %d, expected -EMFILE (%d)", which_name[w], rc, -EMFILE);
            if (free_fds == 0 && !needs_fd && rc != 0)
                REL_FAIL("%s (poll(2): needs no fd) with no free fd returned %d", which_name[w], rc);
            if (free_fds == 1 && rc != 0)
                REL_FAIL("%s with one free fd returned %d; the ABI describes it as one descriptor",
                         which_name[w], rc);
            if (rc == -EMFILE) {
                if (out != sentinel) REL_FAIL("%s wrote *out on failure", which_name[w]);
                int after = count_fds_below(limit);
                if (after != before)
                    REL_FAIL("%s failed with -EMFILE but the fd count went %d -> %d",
                             which_name[w], before, after);
            } else if (rc == 0) {
                if (out == sentinel || out == NULL) REL_FAIL("%s returned 0 without *out", which_name[w]);
                if (w == W_POLL_NEW) swiftpoll_poll_free(out);
                else if (w == W_TRY_CLONE) swiftpoll_registry_free(out);
                else swiftpoll_waker_free(out);
                int after = count_fds_below(limit);
                if (after != before)
                    REL_FAIL("%s then free: fd count went %d -> %d", which_name[w], before, after);
            } else {
                REL_FAIL("%s with %d free fds returned %d (%s)", which_name[w], free_fds, rc,
                         swiftpoll_strerror(rc));
            }
            /* Fill the slots again. */
            for (int i = 0; i < free_fds; i++) {
                int fd = eventfd(0, EFD_CLOEXEC);
                REL_CHECK(fd >= 0);
                fillers[nfill - 1 - i] = fd;
            }
        }
    }
    passed(on_poll ? "poll_new at RLIMIT_NOFILE: -EMFILE, *out and errno untouched, no fd leak; "
                     "try_clone / waker_new need no fd on poll(2)"
                   : "poll_new / try_clone / waker_new at RLIMIT_NOFILE: -EMFILE, *out and errno untouched, no fd leak");

    /* A failed waker_new must not count as a live waker, and existing
     * handles keep working at the limit. */
    close(fillers[--nfill]);
    swiftpoll_waker *w = NULL;
    REL_EXPECT_RC(swiftpoll_waker_new(r0, 5, &w), 0);
    REL_EXPECT_RC(swiftpoll_waker_wake(w), 0);
    swiftpoll_event ev[4];
    int n = swiftpoll_poll_wait(p0, ev, 4, 2000LL * 1000 * 1000);
    if (n != 1 || ev[0].token != 5) REL_FAIL("wake at the fd limit gave %d events", n);
    /* No fd free now (the waker took it; on poll(2) close the last one): a
     * second poll_new still fails cleanly. */
    int extra = -1;
    if (on_poll) extra = eventfd(0, EFD_CLOEXEC);
    swiftpoll_poll *p1 = NULL;
    REL_EXPECT_RC(swiftpoll_poll_new(&p1), -EMFILE);
    REL_CHECK(p1 == NULL);
    if (extra >= 0) close(extra);
    swiftpoll_waker_free(w);
    passed("after -EMFILE: waker_new succeeds once a fd is free; wait works at the limit");

    while (nfill > 0) close(fillers[--nfill]);
    free(fillers);
    swiftpoll_poll_free(p0);
    REL_CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
}

/* -------------------------------------------------------------------- many */

static int g_level_edges; /* poll(2): edge is reported as level */
static const int *g_fds;
static void write_all(const int *fds, int nfd);

static void drain_expect(swiftpoll_poll *p, size_t cap, int nfd, uint64_t base,
                         const unsigned char *want, const char *what) {
    /* Collect events until every wanted token came once; each at most once. */
    unsigned char *seen = calloc((size_t)nfd, 1);
    swiftpoll_event *ev = malloc(cap * sizeof *ev);
    REL_CHECK(seen && ev);
    int expected = 0, got = 0;
    for (int i = 0; i < nfd; i++) expected += want[i];
    long calls = 0, max_calls = (long)expected + 16;
    while (got < expected) {
        if (++calls > max_calls)
            REL_FAIL("%s: %d of %d events after %ld waits (capacity %zu)", what, got, expected,
                     calls - 1, cap);
        int n = swiftpoll_poll_wait(p, ev, cap, 1000LL * 1000 * 1000);
        if (n < 0) REL_FAIL("%s: wait returned %d", what, n);
        if (n == 0) REL_FAIL("%s: wait timed out with %d of %d events", what, got, expected);
        if ((size_t)n > cap) REL_FAIL("%s: wait returned %d > capacity %zu", what, n, cap);
        for (int k = 0; k < n; k++) {
            uint64_t t = ev[k].token - base;
            if (ev[k].token < base || t >= (uint64_t)nfd || !want[t])
                REL_FAIL("%s: unexpected token %llu", what, (unsigned long long)ev[k].token);
            if (seen[t]) {
                /* level (poll(2)): after a full round the waits wrap around */
                if (g_level_edges && got == expected) continue;
                REL_FAIL("%s: token %llu reported twice", what, (unsigned long long)ev[k].token);
            }
            if (!(ev[k].flags & SWIFTPOLL_EVENT_READABLE))
                REL_FAIL("%s: token %llu not readable (flags %#x)", what,
                         (unsigned long long)ev[k].token, ev[k].flags);
            seen[t] = 1;
            got++;
        }
    }
    if (g_level_edges && strncmp(what, "oneshot", 7) != 0) {
        /* Edge reported as level: the fds are still ready until read.  The
         * waits rotated (no duplicate above); a caller who drains gets quiet. */
        uint64_t c;
        for (int i = 0; i < nfd; i++)
            if (want[i] && read(g_fds[i], &c, sizeof c) != sizeof c) REL_FAIL("%s: drain", what);
    }
    int n = swiftpoll_poll_wait(p, ev, cap, 0);
    if (n != 0) REL_FAIL("%s: %d more events after every fd was reported once (first token %llu)",
                         what, n, (unsigned long long)ev[0].token);
    if (g_level_edges && strncmp(what, "oneshot", 7) != 0) {
        /* ready again, as the epoll run leaves them (edge consumed, data unread) */
        for (int i = 0; i < nfd; i++)
            if (want[i]) write_all(&g_fds[i], 1);
    }
    free(seen);
    free(ev);
}

static void write_all(const int *fds, int nfd) {
    uint64_t one = 1;
    for (int i = 0; i < nfd; i++)
        if (write(fds[i], &one, sizeof one) != sizeof one) REL_FAIL("eventfd write: %s", strerror(errno));
}

static void test_many(void) {
    /* poll(2) is O(registrations) per wait and the capacity-1 drains make
     * N waits: N^2 pollfd scans, so that backend runs a smaller N. */
    int poll_backend = 0;
    {
        swiftpoll_poll *probe = NULL;
        REL_EXPECT_RC(swiftpoll_poll_new(&probe), 0);
        poll_backend = swiftpoll_poll_backend(probe) == SWIFTPOLL_BACKEND_POLL;
        swiftpoll_poll_free(probe);
    }
    int nfd = (int)rel_env_long(poll_backend ? "EXHAUST_N_POLL" : "EXHAUST_N", poll_backend ? 4096 : 10240);
    g_level_edges = poll_backend;
    struct rlimit saved, rl;
    REL_CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rl = saved;
    if (rl.rlim_cur < (rlim_t)nfd + 256) {
        rl.rlim_cur = (rlim_t)nfd + 256;
        if (rl.rlim_max < rl.rlim_cur) rl.rlim_max = rl.rlim_cur; /* needs root */
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            REL_FAIL("cannot raise RLIMIT_NOFILE to %d (%s); run as root or raise `ulimit -n`",
                     nfd + 256, strerror(errno));
    }
    int fds_before = rel_count_fds();
    int *fds = malloc((size_t)nfd * sizeof *fds);
    unsigned char *all = malloc((size_t)nfd), *odd = malloc((size_t)nfd);
    REL_CHECK(fds && all && odd);
    g_fds = fds;
    for (int i = 0; i < nfd; i++) {
        fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fds[i] < 0) REL_FAIL("eventfd #%d: %s", i, strerror(errno));
        all[i] = 1;
        odd[i] = (unsigned char)(i & 1);
    }
    swiftpoll_poll *p = NULL;
    REL_EXPECT_RC(swiftpoll_poll_new(&p), 0);
    swiftpoll_registry *r = swiftpoll_poll_registry(p);

    for (int i = 0; i < nfd; i++)
        REL_EXPECT_RC(swiftpoll_registry_register(r, fds[i], 1000000 + (uint64_t)i, SWIFTPOLL_READABLE), 0);
    REL_EXPECT_RC(swiftpoll_registry_register(r, fds[nfd / 2], 1, SWIFTPOLL_READABLE), -EEXIST);
    swiftpoll_event ev[8];
    REL_EXPECT_RC(swiftpoll_poll_wait(p, ev, 8, 0), 0);
    printf("     %d registrations on one poll\n", nfd);
    passed("EXHAUST_N (10240; 4096 on poll(2)) registrations on one poll");

    write_all(fds, nfd);
    drain_expect(p, 1, nfd, 1000000, all, "edge, capacity 1");
    passed("capacity 1 over all of them ready: every one exactly once");

    for (int i = 0; i < nfd; i++)
        REL_EXPECT_RC(swiftpoll_registry_reregister(r, fds[i], 2000000 + (uint64_t)i, SWIFTPOLL_READABLE), 0);
    drain_expect(p, 7, nfd, 2000000, all, "reregister, capacity 7");
    passed("reregister with new tokens re-reports each ready fd once, new token only");

    for (int i = 0; i < nfd; i++)
        REL_EXPECT_RC(swiftpoll_registry_reregister(r, fds[i], 3000000 + (uint64_t)i,
                                                    SWIFTPOLL_READABLE | SWIFTPOLL_ONESHOT), 0);
    drain_expect(p, 1, nfd, 3000000, all, "oneshot, capacity 1");
    write_all(fds, nfd);
    REL_EXPECT_RC(swiftpoll_poll_wait(p, ev, 8, 0), 0);
    passed("oneshot: once each, then disarmed");

    for (int i = 0; i < nfd; i += 2) REL_EXPECT_RC(swiftpoll_registry_deregister(r, fds[i]), 0);
    for (int i = 1; i < nfd; i += 2)
        REL_EXPECT_RC(swiftpoll_registry_reregister(r, fds[i], 4000000 + (uint64_t)i, SWIFTPOLL_READABLE), 0);
    for (int i = 0; i < nfd; i += 2) REL_EXPECT_RC(swiftpoll_registry_reregister(r, fds[i], 1, SWIFTPOLL_READABLE), -ENOENT);
    write_all(fds, nfd);
    drain_expect(p, 1, nfd, 4000000, odd, "half deregistered, capacity 1");
    passed("deregistered fds are never reported");

    for (int i = 1; i < nfd; i += 2)
        REL_EXPECT_RC(swiftpoll_registry_reregister(r, fds[i], 5000000 + (uint64_t)i, SWIFTPOLL_READABLE), 0);
    drain_expect(p, 4096, nfd, 5000000, odd, "capacity 4096");
    passed("large capacity drains them all, each once");

    swiftpoll_poll_free(p);
    for (int i = 0; i < nfd; i++) close(fds[i]);
    free(fds);
    free(all);
    free(odd);
    int fds_after = rel_count_fds();
    if (fds_after != fds_before) {
        rel_dump_fds();
        REL_FAIL("fd leak: %d before, %d after", fds_before, fds_after);
    }
    passed("no fd leak after EXHAUST_N registrations");
    REL_CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    rel_watchdog(120);
    int fds_before = rel_count_fds();
    test_emfile();
    test_many();
    if (rel_count_fds() != fds_before) {
        rel_dump_fds();
        REL_FAIL("fd leak over the whole run: %d before, %d after", fds_before, rel_count_fds());
    }
    printf("%d passed, 0 failed\n", g_passed);
    return 0;
}
