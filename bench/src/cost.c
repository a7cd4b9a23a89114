/*
 * cost.c -- the hot calls in isolation, for valgrind --tool=callgrind:
 * user-space instructions per wait / register / deregister / wake.
 * Each call sits in its own noinline function (op_*), so callgrind's
 * inclusive count of that function divided by the number of calls is the
 * cost of one call (the wrapper adds the same few instructions to every
 * implementation).  Compiled once per backend, like workloads.c.
 *
 *   cost-IMPL [N]     (default N = 10000)   prints "COST ok n=N"
 */
#include BACKEND
#include <sys/eventfd.h>
#include <sys/socket.h>

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cost-%s: FAIL: ", BK_NAME);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* One event ready: the wait that reports it. */
__attribute__((noinline)) int op_wait(bk *b) { return bk_wait(b, -1); }
/* Register so that the kernel has it (libuv: plus its loop turn). */
__attribute__((noinline)) int op_register(bk *b, int fd, uint64_t t) {
    int rc = bk_add(b, fd, t);
    return rc < 0 ? rc : bk_commit(b);
}
__attribute__((noinline)) int op_deregister(bk *b, int fd) { return bk_del(b, fd); }
__attribute__((noinline)) int op_wake(bk *b) { return bk_wake(b); }
/* Not measured: consumes the wake so the next one is a real one. */
__attribute__((noinline)) int after_wake(bk *b) { return bk_wait(b, -1); }

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000;
    alarm(600);
    bk b;
    if (bk_open(&b, 8) < 0) fail("open");
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0 || bk_add(&b, efd, 1) < 0 || bk_commit(&b) < 0) fail("eventfd");
    uint64_t one = 1, v;
    for (long i = 0; i < n; i++) {
        if (write(efd, &one, 8) != 8) fail("write");
        int k = op_wait(&b);
        if (k != 1 || bk_tok(&b, 0) != 1) fail("wait %ld: %d events", i, k);
        if (read(efd, &v, 8) != 8) fail("read");
    }
    if (bk_del(&b, efd) < 0) fail("del");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) fail("socketpair");
    for (long i = 0; i < n; i++) {
        if (op_register(&b, sv[0], 100 + (uint64_t)i) < 0) fail("register %ld", i);
        if (op_deregister(&b, sv[0]) < 0) fail("deregister %ld", i);
    }
    bk_close(&b);

    /* wakes: the way the waker workload uses them (libevent: threads on) */
    bk_threads();
    bk w;
    if (bk_open(&w, 8) < 0 || bk_waker_new(&w, 7) < 0) fail("waker");
    for (long i = 0; i < n; i++) {
        if (op_wake(&w) < 0) fail("wake %ld", i);
        int k = after_wake(&w);
        if (k != 1 || bk_tok(&w, 0) != 7) fail("after wake %ld: %d events", i, k);
    }
    bk_close(&w);
    close(efd); close(sv[0]); close(sv[1]);
    printf("COST ok n=%ld\n", n);
    return 0;
}
