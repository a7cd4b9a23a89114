/*
 * workloads.c -- the six benchmark workloads, compiled once per backend
 * (-DBACKEND='"be_epoll.h"' etc.), so the I/O around the poller is the same
 * code for every implementation.
 *
 *   bench-IMPL WORKLOAD [--scale F] [--count N] [--idle N] [--strict-allocs]
 *
 * WORKLOAD: ring burst idle churn waker timeouts.  --scale multiplies the
 * default counts (make bench-quick uses 0.1, the smoke test 0.01); --count
 * sets the main count directly; --idle sets the idle registrations of
 * `idle` (default: as many as RLIMIT_NOFILE allows, at most 100000).
 * --strict-allocs: fail if the timed section allocated (needs alloccount.so
 * preloaded).
 *
 * Every program checks its own work (exact counts, the expected token on
 * every event, every byte read exactly once, in order) and exits 1 with a
 * message on stderr if anything is off.  On success it prints ONE line:
 *
 *   BENCH impl=NAME backend=NAME workload=NAME ops=N ns=N ns_per_op=F allocs=N [k=v ...]
 *
 * ns is the wall time of the timed section, ops the units of work in it,
 * allocs the heap allocations made in it (-1 when not counted).
 */
#include BACKEND
#ifndef BK_BACKEND
#define BK_BACKEND() BK_NAME   /* the selector underneath, when it can vary */
#endif
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#define TOK_BASE  0x5a00000000000000ull  /* tokens far from fd numbers */
#define TOK_IDLE  0x1d00000000000000ull
#define TOK_WAKEA 0xa11ceull
#define TOK_WAKEB 0xb0bull

static double g_scale = 1.0;
static long g_count = -1;
static long g_idle = -1;
static int g_strict_allocs = 0;

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench-%s %s: FAIL: ", BK_NAME, bench_workload);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

#define CHECK(expr) do { if (!(expr)) fail("%s (line %d, errno %d)", #expr, __LINE__, errno); } while (0)
#define CHECKRC(expr) do { int rc_ = (expr); if (rc_ < 0) fail("%s = %d (line %d)", #expr, rc_, __LINE__); } while (0)

static long count_or(long dflt, long minimum) {
    if (g_count > 0) return g_count;
    long n = (long)((double)dflt * g_scale + 0.5);
    return n < minimum ? minimum : n;
}

/* Process CPU time (all threads, user + system) at the start of the timed
 * section: on a shared machine it leaves out the time spent waiting for a
 * CPU, which wall time does not. */
static int64_t g_cpu0;

static void cpu_mark(void) { g_cpu0 = cpu_ns(); }

static void report(long ops, int64_t ns, long allocs, const char *extra_fmt, ...) {
    int64_t cpu1 = cpu_ns();
    if (g_strict_allocs && allocs < 0)
        fail("--strict-allocs needs the allocation counter: LD_PRELOAD=build/bench/alloccount.so");
    if (g_strict_allocs && allocs != 0)
        fail("%ld heap allocations in the timed section (%ld ops); expected 0", allocs, ops);
    printf("BENCH impl=%s backend=%s workload=%s ops=%ld ns=%lld ns_per_op=%.2f allocs=%ld cpu_ns_per_op=%.2f",
           BK_NAME, BK_BACKEND(), bench_workload, ops, (long long)ns, ops ? (double)ns / (double)ops : 0.0, allocs,
           ops ? (double)(cpu1 - g_cpu0) / (double)ops : 0.0);
    if (extra_fmt) {
        va_list ap;
        va_start(ap, extra_fmt);
        putchar(' ');
        vprintf(extra_fmt, ap);
        va_end(ap);
    }
    putchar('\n');
    fflush(stdout);
}

static void make_pipe(int *rd, int *wr) {
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    *rd = p[0];
    *wr = p[1];
}

/* ------------------------------------------------------------------------
 * A ring of P pipes; one byte hops around: each hop is one wait that must
 * return exactly one event (the expected token), one read of exactly that
 * byte, one write to the next pipe.  Shared by `ring` and `idle`.
 * ------------------------------------------------------------------------ */
typedef struct ring {
    int p;
    int *rd, *wr;
} ring;

static void ring_make(ring *r, int p, bk *b) {
    r->p = p;
    r->rd = calloc((size_t)p, sizeof(int));
    r->wr = calloc((size_t)p, sizeof(int));
    CHECK(r->rd && r->wr);
    for (int i = 0; i < p; i++) {
        make_pipe(&r->rd[i], &r->wr[i]);
        CHECKRC(bk_add(b, r->rd[i], TOK_BASE + (uint64_t)i));
    }
    CHECKRC(bk_commit(b));
}

static void ring_free(ring *r) {
    for (int i = 0; i < r->p; i++) { close(r->rd[i]); close(r->wr[i]); }
    free(r->rd);
    free(r->wr);
}

/* Runs `hops` hops; returns the wall time. */
static int64_t ring_run(ring *r, bk *b, long hops, long *allocs) {
    int cur = 0;
    unsigned char c = 1;
    long got = 0;
    CHECK(write(r->wr[0], &c, 1) == 1);
    long a0 = allocs_now();
    cpu_mark();
    int64_t t0 = now_ns();
    for (long h = 0; h < hops; h++) {
        int n = bk_wait(b, -1);
        if (n != 1) fail("hop %ld: wait returned %d, expected 1 event", h, n);
        uint64_t tok = bk_tok(b, 0);
        if (tok != TOK_BASE + (uint64_t)cur)
            fail("hop %ld: token %#llx, expected %#llx", h, (unsigned long long)tok,
                 (unsigned long long)(TOK_BASE + (uint64_t)cur));
        unsigned char buf[64];
        ssize_t k = read(r->rd[cur], buf, sizeof buf);
        if (k != 1 || buf[0] != c) fail("hop %ld: read %zd bytes (first %u), expected 1 byte %u", h, k, buf[0], c);
        got += k;
        cur = cur + 1 == r->p ? 0 : cur + 1;
        c = (unsigned char)(c == 255 ? 1 : c + 1);
        if (write(r->wr[cur], &c, 1) != 1) fail("hop %ld: write failed (errno %d)", h, errno);
    }
    int64_t t1 = now_ns();
    long a1 = allocs_now();
    *allocs = a0 < 0 ? -1 : a1 - a0;
    /* the byte still in flight is reported, and nothing else anywhere */
    int n = bk_wait(b, 0);
    CHECK(n == 1 && bk_tok(b, 0) == TOK_BASE + (uint64_t)cur);
    unsigned char buf[64];
    CHECK(read(r->rd[cur], buf, sizeof buf) == 1 && buf[0] == c);
    for (int i = 0; i < r->p; i++) CHECK(read(r->rd[i], buf, sizeof buf) == -1 && errno == EAGAIN);
    if (got != hops) fail("read %ld bytes, expected %ld", got, hops);
    CHECK(bk_wait(b, 0) == 0);
    return t1 - t0;
}

static void wl_ring(void) {
    long hops = count_or(500000, 1000);
    bk b;
    CHECKRC(bk_open(&b, 64));
    ring r;
    ring_make(&r, 64, &b);
    long allocs;
    int64_t ns = ring_run(&r, &b, hops, &allocs);
    report(hops, ns, allocs, "pipes=64");
    ring_free(&r);
    bk_close(&b);
}

/* ------------------------------------------------------------------------
 * burst: 4096 pipes; each round writes one byte to every pipe, then waits
 * (capacity 1024) and reads until every pipe has been read exactly once.
 * ------------------------------------------------------------------------ */
typedef struct burst_ctx {
    int *rd;
    long *seen;
    long round;
    unsigned char c;
    int left;
    long events;
} burst_ctx;

/* One event of a burst: the expected token, never twice in a round, one
 * byte read.  Called over the event array, or from the library's callback. */
static void burst_event(void *arg, uint64_t tok) {
    burst_ctx *x = arg;
    enum { P = 4096 };
    uint64_t t = tok - TOK_BASE;
    if (t >= P) fail("round %ld: unexpected token %#llx", x->round, (unsigned long long)tok);
    if (x->seen[t] == x->round) fail("round %ld: pipe %llu reported twice", x->round, (unsigned long long)t);
    x->seen[t] = x->round;
    unsigned char buf[64];
    ssize_t k = read(x->rd[t], buf, sizeof buf);
    if (k != 1 || buf[0] != x->c) fail("round %ld: pipe %llu read %zd", x->round, (unsigned long long)t, k);
    x->left--;
    x->events++;
}

static void wl_burst(void) {
    enum { P = 4096, CAP = 1024 };
    long rounds = count_or(200, 2);
    raise_nofile(2 * P + 256);
    CHECK(nofile_limit() >= 2 * P + 64);
    int *rd = calloc(P, sizeof(int)), *wr = calloc(P, sizeof(int));
    long *seen = calloc(P, sizeof(long));
    CHECK(rd && wr && seen);
    bk b;
    CHECKRC(bk_open(&b, CAP));
    for (int i = 0; i < P; i++) {
        make_pipe(&rd[i], &wr[i]);
        CHECKRC(bk_add(&b, rd[i], TOK_BASE + (uint64_t)i));
    }
    CHECKRC(bk_commit(&b));
    burst_ctx x = { .rd = rd, .seen = seen };
    long waits = 0;
    long a0 = allocs_now();
    cpu_mark();
    int64_t t0 = now_ns();
    for (long round = 1; round <= rounds; round++) {
        x.round = round;
        x.c = (unsigned char)round;
        for (int i = 0; i < P; i++)
            if (write(wr[i], &x.c, 1) != 1) fail("round %ld: write to pipe %d failed (errno %d)", round, i, errno);
        x.left = P;
        while (x.left > 0) {
            int n = bk_wait_each(&b, -1, burst_event, &x);
            waits++;
            if (n <= 0 || n > P) fail("round %ld: wait returned %d", round, n);
            if (waits > rounds * (P / 8 + 8)) fail("round %ld: too many waits (%ld)", round, waits);
        }
        if (x.left != 0) fail("round %ld: %d events too many", round, -x.left);
    }
    int64_t t1 = now_ns();
    long a1 = allocs_now();
    for (int i = 0; i < P; i++) {
        unsigned char buf[8];
        CHECK(seen[i] == rounds);
        CHECK(read(rd[i], buf, sizeof buf) == -1 && errno == EAGAIN);
    }
    CHECK(bk_wait(&b, 0) == 0);
    CHECK(x.events == rounds * P);
    report(x.events, t1 - t0, a0 < 0 ? -1 : a1 - a0, "pipes=%d rounds=%ld waits=%ld capacity=%d",
           P, rounds, waits, CAP);
    for (int i = 0; i < P; i++) { close(rd[i]); close(wr[i]); }
    bk_close(&b);
    free(rd); free(wr); free(seen);
}

/* ------------------------------------------------------------------------
 * idle: N never-ready eventfds registered, plus a 2-pipe ring.  The hop
 * cost must not depend on N.  Also times the N registrations.
 * ------------------------------------------------------------------------ */
static void wl_idle(void) {
    long hops = count_or(200000, 1000);
    long want = g_idle >= 0 ? g_idle : 100000;
    long lim = raise_nofile(want + 256);
    long n = want;
    if (n > lim - 128) n = lim - 128;
    if (n < 0) n = 0;
    int *efd = calloc((size_t)(n ? n : 1), sizeof(int));
    CHECK(efd);
    for (long i = 0; i < n; i++) {
        efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd[i] < 0) fail("eventfd %ld of %ld: errno %d", i, n, errno);
    }
    bk b;
    CHECKRC(bk_open(&b, 64));
    int64_t r0 = now_ns();
    for (long i = 0; i < n; i++) {
        int rc = bk_add(&b, efd[i], TOK_IDLE + (uint64_t)i);
        if (rc < 0) fail("register idle fd %ld: %d", i, rc);
    }
    CHECKRC(bk_commit(&b));
    int z = bk_wait(&b, 0);
    int64_t r1 = now_ns();
    if (z != 0) fail("idle eventfds reported %d events", z);
    ring r;
    ring_make(&r, 2, &b);
    long allocs;
    int64_t ns = ring_run(&r, &b, hops, &allocs);
    report(hops, ns, allocs, "idle=%ld reg_ns=%lld reg_ns_per_fd=%.1f", n, (long long)(r1 - r0),
           n ? (double)(r1 - r0) / (double)n : 0.0);
    ring_free(&r);
    bk_close(&b);
    for (long i = 0; i < n; i++) close(efd[i]);
    free(efd);
}

/* ------------------------------------------------------------------------
 * churn: register + deregister one socket, 1M times.  Every 1024th time the
 * registration is proved live (a byte is pending: the wait must report it
 * with this iteration's token) and the deregistration proved effective (a
 * new byte: the wait must report nothing).
 * ------------------------------------------------------------------------ */
static void wl_churn(void) {
    long iters = count_or(1000000, 2048);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    bk b;
    CHECKRC(bk_open(&b, 8));
    long verified = 0;
    long a0 = allocs_now();
    cpu_mark();
    int64_t t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        uint64_t tok = TOK_BASE + (uint64_t)i;
        int verify = (i & 1023) == 0;
        char c = 'v', buf[8];
        if (verify) CHECK(write(sv[1], &c, 1) == 1);
        int rc = bk_add(&b, sv[0], tok);
        if (rc < 0) fail("iteration %ld: register = %d", i, rc);
        rc = bk_commit(&b);
        if (rc < 0) fail("iteration %ld: commit = %d", i, rc);
        if (verify) {
            int n = bk_wait(&b, 0);
            if (n != 1 || bk_tok(&b, 0) != tok) fail("iteration %ld: registration not live (n=%d)", i, n);
            CHECK(read(sv[0], buf, sizeof buf) == 1);
        }
        rc = bk_del(&b, sv[0]);
        if (rc < 0) fail("iteration %ld: deregister = %d", i, rc);
        if (verify) {
            CHECK(write(sv[1], &c, 1) == 1);
            int n = bk_wait(&b, 0);
            if (n != 0) fail("iteration %ld: %d events after deregister", i, n);
            CHECK(read(sv[0], buf, sizeof buf) == 1);
            verified++;
        }
    }
    int64_t t1 = now_ns();
    long a1 = allocs_now();
    CHECK(verified == (iters + 1023) / 1024);
    report(iters, t1 - t0, a0 < 0 ? -1 : a1 - a0, "verified=%ld", verified);
    close(sv[0]); close(sv[1]);
    bk_close(&b);
}

/* ------------------------------------------------------------------------
 * waker: two threads, each with its own poll and waker, ping-pong.
 * ------------------------------------------------------------------------ */
typedef struct side {
    bk b;
    uint64_t tok;
    long count, waits;
} side;

static side g_a, g_b;
static volatile int g_stop;
static long g_rounds;

static void *waker_thread_b(void *arg) {
    (void)arg;
    for (;;) {
        int n = bk_wait(&g_b.b, -1);
        g_b.waits++;
        if (n < 0) fail("B: wait = %d", n);
        if (g_b.waits > 4 * g_rounds + 16) fail("B: too many waits");
        for (int j = 0; j < n; j++)
            if (bk_tok(&g_b.b, j) != TOK_WAKEB) fail("B: token %#llx", (unsigned long long)bk_tok(&g_b.b, j));
        if (n == 0) continue;
        if (__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) break;
        g_b.count++;
        int rc = bk_wake(&g_a.b);
        if (rc < 0) fail("B: wake = %d", rc);
    }
    return NULL;
}

static void wl_waker(void) {
    g_rounds = count_or(200000, 1000);
    bk_threads();
    CHECKRC(bk_open(&g_a.b, 8));
    CHECKRC(bk_open(&g_b.b, 8));
    CHECKRC(bk_waker_new(&g_a.b, TOK_WAKEA));
    CHECKRC(bk_waker_new(&g_b.b, TOK_WAKEB));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, waker_thread_b, NULL) == 0);
    long a0 = allocs_now();
    cpu_mark();
    int64_t t0 = now_ns();
    for (long i = 0; i < g_rounds; i++) {
        int rc = bk_wake(&g_b.b);
        if (rc < 0) fail("A: wake = %d", rc);
        for (;;) {
            int n = bk_wait(&g_a.b, -1);
            g_a.waits++;
            if (n < 0) fail("A: wait = %d", n);
            if (g_a.waits > 4 * g_rounds + 16) fail("A: too many waits");
            if (n == 0) continue;
            if (n != 1 || bk_tok(&g_a.b, 0) != TOK_WAKEA)
                fail("A: round %ld: %d events, token %#llx", i, n, (unsigned long long)bk_tok(&g_a.b, 0));
            break;
        }
        g_a.count++;
    }
    int64_t t1 = now_ns();
    long a1 = allocs_now();
    __atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
    CHECKRC(bk_wake(&g_b.b));
    CHECK(pthread_join(th, NULL) == 0);
    if (g_a.count != g_rounds || g_b.count != g_rounds)
        fail("round trips: A %ld, B %ld, expected %ld", g_a.count, g_b.count, g_rounds);
    report(g_rounds, t1 - t0, a0 < 0 ? -1 : a1 - a0, "waits_a=%ld waits_b=%ld", g_a.waits, g_b.waits);
    bk_close(&g_a.b);
    bk_close(&g_b.b);
}

/* ------------------------------------------------------------------------
 * timeouts: waits of 50 us, 1 ms and 1.5 ms with nothing ready.  Achieved
 * sleep against requested (never early), and CPU burned (never spinning).
 * ------------------------------------------------------------------------ */
static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void wl_timeouts(void) {
    static const int64_t req[3] = { 50000, 1000000, 1500000 };
    static const char *name[3] = { "t50us", "t1ms", "t1500us" };
    long k = count_or(200, 3);
    int64_t *wall = calloc((size_t)k, sizeof(int64_t));
    CHECK(wall);
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);  /* registered, never ready */
    CHECK(efd >= 0);
    bk b;
    CHECKRC(bk_open(&b, 8));
    CHECKRC(bk_add(&b, efd, TOK_IDLE));
    CHECKRC(bk_commit(&b));
    CHECK(bk_wait(&b, 0) == 0);
    char extra[1024];
    size_t off = 0;
    int64_t total = 0;
    long allocs = 0;
    cpu_mark();
    for (int r = 0; r < 3; r++) {
        long early = 0;
        long a0 = allocs_now();
        int64_t c0 = cpu_ns();
        for (long i = 0; i < k; i++) {
            int64_t t0 = now_ns();
            int n = bk_wait(&b, req[r]);
            int64_t t1 = now_ns();
            if (n != 0) fail("%s wait %ld returned %d", name[r], i, n);
            wall[i] = t1 - t0;
            if (wall[i] < req[r]) early++;
        }
        int64_t c1 = cpu_ns();
        long a1 = allocs_now();
        allocs = a0 < 0 ? -1 : allocs + (a1 - a0);
        int64_t sum = 0;
        for (long i = 0; i < k; i++) sum += wall[i];
        total += sum;
        qsort(wall, (size_t)k, sizeof *wall, cmp_i64);
        off += (size_t)snprintf(extra + off, sizeof extra - off,
                                "%s%s_req=%lld %s_med=%lld %s_min=%lld %s_max=%lld %s_early=%ld %s_cpu_ns=%lld %s_cpu_pct=%.1f",
                                r ? " " : "", name[r], (long long)req[r], name[r], (long long)wall[k / 2],
                                name[r], (long long)wall[0], name[r], (long long)wall[k - 1], name[r], early,
                                name[r], (long long)((c1 - c0) / k), name[r],
                                sum ? 100.0 * (double)(c1 - c0) / (double)sum : 0.0);
    }
    report(3 * k, total, allocs, "%s", extra);
    bk_close(&b);
    close(efd);
    free(wall);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s ring|burst|idle|churn|waker|timeouts [--scale F] [--count N] [--idle N] [--strict-allocs]\n", argv[0]);
        return 2;
    }
    bench_workload = argv[1];
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--scale") && i + 1 < argc) g_scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--count") && i + 1 < argc) g_count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--idle") && i + 1 < argc) g_idle = atol(argv[++i]);
        else if (!strcmp(argv[i], "--strict-allocs")) g_strict_allocs = 1;
        else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }
    signal(SIGPIPE, SIG_IGN);
    alarm(600);  /* no run may hang: the largest takes seconds */
    if (!strcmp(bench_workload, "ring")) wl_ring();
    else if (!strcmp(bench_workload, "burst")) wl_burst();
    else if (!strcmp(bench_workload, "idle")) wl_idle();
    else if (!strcmp(bench_workload, "churn")) wl_churn();
    else if (!strcmp(bench_workload, "waker")) wl_waker();
    else if (!strcmp(bench_workload, "timeouts")) wl_timeouts();
    else { fprintf(stderr, "unknown workload %s\n", bench_workload); return 2; }
    return 0;
}
