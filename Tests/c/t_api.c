/*
 * t_api.c -- the library functions, every error code of ABI.md, NULL
 * handles, out-parameters written only on success, versions, strerror,
 * swiftpoll_poll_wait_args, and errno preserved by every function.
 */
#include "check.h"

#include <sys/stat.h>

#ifndef PC_VERSION
#error "build with -DPC_VERSION=\"$(pkg-config --modversion swiftpoll)\""
#endif

#define SENTINEL 4242 /* errno before each call: no real errno has this value */
#define BOGUS_PTR(T) ((T *)(uintptr_t)0x5a5a5a5a5a5a5a50ull)

/* errno must be exactly as before every call, also failing ones. */
#define KEEPS_ERRNO(expr)                                                      \
    do {                                                                       \
        errno = SENTINEL;                                                      \
        (void)(expr);                                                          \
        int keeps_errno_ = errno;                                              \
        CHECK_MSG(keeps_errno_ == SENTINEL, "errno changed to %d (%s) by %s",  \
                  keeps_errno_, strerror(keeps_errno_), #expr);                \
    } while (0)

/* Result and errno at once: r = expr, with errno checked. */
#define CALL(r, expr)                                                          \
    do {                                                                       \
        errno = SENTINEL;                                                      \
        (r) = (expr);                                                          \
        int call_errno_ = errno;                                               \
        CHECK_MSG(call_errno_ == SENTINEL, "errno changed to %d (%s) by %s",   \
                  call_errno_, strerror(call_errno_), #expr);                  \
    } while (0)

static void test_versions(void)
{
    uint32_t abi;
    const char *v;
    CALL(abi, swiftpoll_abi_version());
    CHECK_EQ(abi, SWIFTPOLL_ABI_VERSION);
    CHECK_EQ(abi, 1);
    CALL(v, swiftpoll_version());
    CHECK(v != NULL);
    if (!v)
        return;
    CHECK_MSG(strcmp(v, SWIFTPOLL_VERSION_STRING) == 0, "library \"%s\" header \"%s\"", v,
              SWIFTPOLL_VERSION_STRING);
    CHECK_MSG(strcmp(v, PC_VERSION) == 0, "library \"%s\" pkg-config \"%s\"", v, PC_VERSION);
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", SWIFTPOLL_VERSION_MAJOR, SWIFTPOLL_VERSION_MINOR,
             SWIFTPOLL_VERSION_PATCH);
    CHECK_MSG(strcmp(v, want) == 0, "\"%s\" vs MAJOR.MINOR.PATCH macros \"%s\"", v, want);
    CHECK(swiftpoll_version() == v || strcmp(swiftpoll_version(), v) == 0);
}

static void test_strerror(void)
{
    static const int known[] = { EBADF, EEXIST, ENOENT, EINVAL, EINTR, EBUSY, EPERM,
                                 EMFILE, ENFILE, ENOMEM, ENOSPC, ELOOP };
    const char *s, *t;
    CALL(s, swiftpoll_strerror(-EBADF));
    CHECK(s != NULL);
    CHECK_MSG(s && strcmp(s, "Bad file descriptor") == 0, "got \"%s\"", s ? s : "(null)");
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        CALL(s, swiftpoll_strerror(-known[i]));
        CALL(t, swiftpoll_strerror(known[i]));
        CHECK_MSG(s != NULL && t != NULL, "%s", err_name(known[i]));
        if (!s || !t)
            continue;
        CHECK_MSG(strcmp(s, t) == 0, "%s: -e gives \"%s\", e gives \"%s\"", err_name(known[i]),
                  s, t);
        CHECK_MSG(s[0] != '\0', "%s: empty text", err_name(known[i]));
        CHECK_MSG(strncmp(s, "Unknown error", 13) != 0, "%s: \"%s\"", err_name(known[i]), s);
    }
    /* unknown codes: never NULL, "Unknown error", static (not overwritten) */
    static const int unknown[] = { 99999, -99999, 4095, -4095, INT32_MAX, INT32_MIN,
                                   INT32_MIN + 1 };
    const char *first = NULL;
    char saved[128] = "";
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CALL(s, swiftpoll_strerror(unknown[i]));
        CHECK_MSG(s != NULL, "strerror(%d) is NULL", unknown[i]);
        if (!s)
            continue;
        CHECK_MSG(strncmp(s, "Unknown error", 13) == 0, "strerror(%d) = \"%s\"", unknown[i], s);
        if (!first) {
            first = s;
            snprintf(saved, sizeof saved, "%s", s);
        }
    }
    if (first)
        CHECK_MSG(strcmp(first, saved) == 0, "text changed by a later call: \"%s\" -> \"%s\"",
                  saved, first);
    CALL(s, swiftpoll_strerror(0));
    CHECK(s != NULL);
}

static void test_null_handles(void)
{
    swiftpoll_event ev[4];
    int r;
    swiftpoll_registry *reg;
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *own = swiftpoll_poll_registry(p);
    int pfd[2];
    make_pipe(pfd);

    CALL(r, swiftpoll_poll_new(NULL));
    CHECK_EQ(r, -EINVAL);
    CALL(r, swiftpoll_poll_fd(NULL));
    CHECK_EQ(r, -EINVAL);
    CALL(reg, swiftpoll_poll_registry(NULL));
    CHECK(reg == NULL);
    CALL(r, swiftpoll_poll_wait(NULL, ev, 4, 0));
    CHECK_EQ(r, -EINVAL);
    CALL(r, swiftpoll_poll_wait(p, NULL, 4, 0));
    CHECK_EQ(r, -EINVAL);
    CALL(r, swiftpoll_poll_wait(p, ev, 0, 0));
    CHECK_EQ(r, -EINVAL);
    CALL(r, swiftpoll_poll_wait(p, NULL, 0, 0));
    CHECK_EQ(r, -EINVAL);
    /* -EINVAL also for a blocking wait: it must not block */
    CALL(r, swiftpoll_poll_wait(p, ev, 0, -1));
    CHECK_EQ(r, -EINVAL);
    CALL(r, swiftpoll_poll_wait(p, NULL, 4, -1));
    CHECK_EQ(r, -EINVAL);
    CALL(r, swiftpoll_poll_wait_args(NULL));
    CHECK_EQ(r, -EINVAL);
    CALL(r, swiftpoll_registry_register(NULL, pfd[0], 1, SWIFTPOLL_READABLE));
    CHECK_EQ(r, -EINVAL);
    CALL(r, swiftpoll_registry_reregister(NULL, pfd[0], 1, SWIFTPOLL_READABLE));
    CHECK_EQ(r, -EINVAL);
    CALL(r, swiftpoll_registry_deregister(NULL, pfd[0]));
    CHECK_EQ(r, -EINVAL);

    reg = BOGUS_PTR(swiftpoll_registry);
    CALL(r, swiftpoll_registry_try_clone(NULL, &reg));
    CHECK_EQ(r, -EINVAL);
    CHECK_MSG(reg == BOGUS_PTR(swiftpoll_registry), "out written on failure");
    CALL(r, swiftpoll_registry_try_clone(own, NULL));
    CHECK_EQ(r, -EINVAL);

    swiftpoll_waker *w = BOGUS_PTR(swiftpoll_waker);
    CALL(r, swiftpoll_waker_new(NULL, 1, &w));
    CHECK_EQ(r, -EINVAL);
    CHECK_MSG(w == BOGUS_PTR(swiftpoll_waker), "out written on failure");
    CALL(r, swiftpoll_waker_new(own, 1, NULL));
    CHECK_EQ(r, -EINVAL);
    CALL(r, swiftpoll_waker_wake(NULL));
    CHECK_EQ(r, -EINVAL);

    KEEPS_ERRNO((swiftpoll_poll_free(NULL), 0));
    KEEPS_ERRNO((swiftpoll_registry_free(NULL), 0));
    KEEPS_ERRNO((swiftpoll_waker_free(NULL), 0));

    /* the failed waker_new calls above left no waker behind */
    w = NULL;
    CALL(r, swiftpoll_waker_new(own, 1, &w));
    CHECK_EQ(r, 0);
    CHECK(w != NULL);
    KEEPS_ERRNO((swiftpoll_waker_free(w), 0));

    close(pfd[0]);
    close(pfd[1]);
    KEEPS_ERRNO((swiftpoll_poll_free(p), 0));
}

static void test_poll_basics(void)
{
    int r, fd;
    swiftpoll_poll *p = BOGUS_PTR(swiftpoll_poll);
    CALL(r, swiftpoll_poll_new(&p));
    CHECK_EQ(r, 0);
    CHECK(p != NULL && p != BOGUS_PTR(swiftpoll_poll));
    CALL(fd, swiftpoll_poll_fd(p));
    if (on_poll()) {
        /* poll(2) has no descriptor of its own to nest */
        SKIP_ON(on_poll, "the poll has no fd (swiftpoll_poll_fd is -ENOTSUP): epoll fd checks");
        CHECK_EQ(fd, -ENOTSUP);
    } else {
        CHECK(fd >= 0);
        CHECK(fd_is_open(fd));
        CHECK_MSG(fcntl(fd, F_GETFD) & FD_CLOEXEC, "the epoll fd is not close-on-exec");
        SKIP_ON(on_kqueue, "the poll's descriptor is a kqueue, not an epoll fd");
        if (!on_kqueue()) {
            /* it is an epoll fd: epoll_ctl accepts it */
            int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
            struct epoll_event e = { .events = EPOLLIN, .data.u64 = 1 };
            CHECK_EQ(epoll_ctl(fd, EPOLL_CTL_ADD, efd, &e), 0);
            CHECK_EQ(epoll_ctl(fd, EPOLL_CTL_DEL, efd, NULL), 0);
            close(efd);
        }
    }
    swiftpoll_registry *reg, *reg2;
    CALL(reg, swiftpoll_poll_registry(p));
    CHECK(reg != NULL);
    CALL(reg2, swiftpoll_poll_registry(p));
    CHECK(reg2 == reg);
    swiftpoll_event ev[4];
    CALL(r, swiftpoll_poll_wait(p, ev, 4, 0));
    CHECK_EQ(r, 0);
    /* never relies on errno: a stale EINTR/EAGAIN in errno changes nothing */
    errno = EINTR;
    CHECK_EQ(swiftpoll_poll_wait(p, ev, 4, 0), 0);
    errno = EAGAIN;
    CHECK_EQ(swiftpoll_poll_wait(p, ev, 4, 0), 0);

    /* registry_free on the poll's own registry is a no-op */
    KEEPS_ERRNO((swiftpoll_registry_free(reg), 0));
    int pfd[2];
    make_pipe(pfd);
    CHECK_EQ(swiftpoll_registry_register(swiftpoll_poll_registry(p), pfd[0], 7,
                                         SWIFTPOLL_READABLE), 0);
    write_byte(pfd[1]);
    r = wait_checked(p, ev, 4, 0);
    CHECK_EQ(r, 1);
    CHECK_EQ(ev[0].token, 7);
    if (fd >= 0)
        CHECK(fd_is_open(fd));
    close(pfd[0]);
    close(pfd[1]);
    KEEPS_ERRNO((swiftpoll_poll_free(p), 0));
    if (fd >= 0)
        CHECK_MSG(!fd_is_open(fd), "poll_free did not close the epoll fd %d", fd);
}

static void test_register_errors(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    int r, pfd[2];
    make_pipe(pfd);

    /* interest: none of the three interest bits, unknown bits, LEVEL|ONESHOT */
    static const uint32_t bad[] = {
        0,
        SWIFTPOLL_EDGE,
        SWIFTPOLL_LEVEL,
        SWIFTPOLL_ONESHOT,
        SWIFTPOLL_LEVEL | SWIFTPOLL_ONESHOT,
        SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL | SWIFTPOLL_ONESHOT,
        SWIFTPOLL_WRITABLE | SWIFTPOLL_LEVEL | SWIFTPOLL_ONESHOT,
        SWIFTPOLL_READABLE | 0x08u,
        SWIFTPOLL_READABLE | 0x10u,
        SWIFTPOLL_READABLE | 0x80u,
        SWIFTPOLL_READABLE | 0x400u,
        SWIFTPOLL_READABLE | 0x10000u,
        SWIFTPOLL_READABLE | 0x80000000u,
        0x08u,
        0xffffffffu,
        EPOLLIN | EPOLLET, /* raw epoll bits are not an interest */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CALL(r, swiftpoll_registry_register(reg, pfd[0], 1, bad[i]));
        CHECK_MSG(r == -EINVAL, "register interest 0x%x: %d (%s)", (unsigned)bad[i], r,
                  err_name(r));
    }
    /* nothing got registered by the failures */
    CALL(r, swiftpoll_registry_deregister(reg, pfd[0]));
    CHECK_EQ(r, -ENOENT);

    /* every valid combination is accepted (on kqueue: PRIORITY is -ENOTSUP) */
    int n_ok = 0, n_want = 21;
    if (on_kqueue())
        SKIP_ON(on_kqueue, "PRIORITY has no kqueue filter: -ENOTSUP, checked instead");
    for (uint32_t bits = 1; bits <= 7; bits++) {
        static const uint32_t modes[] = { SWIFTPOLL_EDGE, SWIFTPOLL_LEVEL, SWIFTPOLL_ONESHOT };
        for (size_t m = 0; m < 3; m++) {
            uint32_t in = bits | modes[m];
            if (on_kqueue() && (bits & SWIFTPOLL_PRIORITY)) {
                CALL(r, swiftpoll_registry_register(reg, pfd[0], 1, in));
                CHECK_MSG(r == -ENOTSUP, "register interest 0x%x: %d (%s)", (unsigned)in, r, err_name(r));
                n_want--;
                continue;
            }
            CALL(r, swiftpoll_registry_register(reg, pfd[0], 1, in));
            CHECK_MSG(r == 0, "register interest 0x%x: %d (%s)", (unsigned)in, r, err_name(r));
            CALL(r, swiftpoll_registry_reregister(reg, pfd[0], 2, in));
            CHECK_MSG(r == 0, "reregister interest 0x%x: %d (%s)", (unsigned)in, r,
                      err_name(r));
            CALL(r, swiftpoll_registry_deregister(reg, pfd[0]));
            CHECK_MSG(r == 0, "deregister after 0x%x: %d (%s)", (unsigned)in, r, err_name(r));
            n_ok += r == 0;
        }
    }
    CHECK_EQ(n_ok, n_want);

    /* -EEXIST */
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 1, SWIFTPOLL_READABLE), 0);
    CALL(r, swiftpoll_registry_register(reg, pfd[0], 2, SWIFTPOLL_READABLE));
    CHECK_EQ(r, -EEXIST);
    CALL(r, swiftpoll_registry_register(reg, pfd[0], 2, SWIFTPOLL_WRITABLE | SWIFTPOLL_LEVEL));
    CHECK_EQ(r, -EEXIST);

    /* reregister: bad interest is -EINVAL and leaves the registration alone */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CALL(r, swiftpoll_registry_reregister(reg, pfd[0], 9, bad[i]));
        CHECK_MSG(r == -EINVAL, "reregister interest 0x%x: %d (%s)", (unsigned)bad[i], r,
                  err_name(r));
    }
    {
        swiftpoll_event ev[4];
        write_byte(pfd[1]);
        int n = wait_checked(p, ev, 4, 0);
        CHECK_EQ(n, 1);
        CHECK_EQ(ev[0].token, 1);
        drain(pfd[0]);
    }

    /* -ENOENT: reregister / deregister of an fd that is not registered */
    CALL(r, swiftpoll_registry_reregister(reg, pfd[1], 1, SWIFTPOLL_WRITABLE));
    CHECK_EQ(r, -ENOENT);
    CALL(r, swiftpoll_registry_deregister(reg, pfd[1]));
    CHECK_EQ(r, -ENOENT);
    CHECK_EQ(swiftpoll_registry_deregister(reg, pfd[0]), 0);
    CALL(r, swiftpoll_registry_deregister(reg, pfd[0]));
    CHECK_EQ(r, -ENOENT);
    CALL(r, swiftpoll_registry_reregister(reg, pfd[0], 1, SWIFTPOLL_READABLE));
    CHECK_EQ(r, -ENOENT);

    /* -EBADF: -1, a large closed number, a just-closed fd */
    int closed_fd = dup(pfd[0]);
    close(closed_fd);
    static const int badfds[] = { -1, -2, INT32_MIN, 1000000 };
    for (size_t i = 0; i < sizeof badfds / sizeof badfds[0]; i++) {
        CALL(r, swiftpoll_registry_register(reg, badfds[i], 1, SWIFTPOLL_READABLE));
        CHECK_MSG(r == -EBADF, "register fd %d: %d (%s)", badfds[i], r, err_name(r));
        CALL(r, swiftpoll_registry_reregister(reg, badfds[i], 1, SWIFTPOLL_READABLE));
        CHECK_MSG(r == -EBADF, "reregister fd %d: %d (%s)", badfds[i], r, err_name(r));
        CALL(r, swiftpoll_registry_deregister(reg, badfds[i]));
        CHECK_MSG(r == -EBADF, "deregister fd %d: %d (%s)", badfds[i], r, err_name(r));
    }
    CALL(r, swiftpoll_registry_register(reg, closed_fd, 1, SWIFTPOLL_READABLE));
    CHECK_EQ(r, -EBADF);

    /* -EPERM: a regular file and a directory */
    char path[] = "/tmp/swiftpoll-t_api-XXXXXX";
    int file = mkstemp(path);
    CHECK(file >= 0);
    unlink(path);
    CALL(r, swiftpoll_registry_register(reg, file, 1, SWIFTPOLL_READABLE));
    CHECK_EQ(r, -EPERM);
    CALL(r, swiftpoll_registry_register(reg, file, 1, SWIFTPOLL_WRITABLE | SWIFTPOLL_LEVEL));
    CHECK_EQ(r, -EPERM);
    close(file);
    int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(dir >= 0);
    CALL(r, swiftpoll_registry_register(reg, dir, 1, SWIFTPOLL_READABLE));
    CHECK_EQ(r, -EPERM);
    close(dir);

    /* -EINVAL: the poll's own fd, also through a clone (a dup of it); on
     * poll(2) there is none (t_pollsem checks its internal notifier instead) */
    SKIP_ON(on_poll, "no poll fd: -EINVAL for the poll's own fd and -ELOOP are epoll-only");
    int own = swiftpoll_poll_fd(p);
    if (on_epoll()) {
        CALL(r, swiftpoll_registry_register(reg, own, 1, SWIFTPOLL_READABLE));
        CHECK_EQ(r, -EINVAL);
        swiftpoll_registry *clone = NULL;
        CHECK_EQ(swiftpoll_registry_try_clone(reg, &clone), 0);
        if (clone) {
            CALL(r, swiftpoll_registry_register(clone, own, 1, SWIFTPOLL_READABLE));
            CHECK_EQ(r, -EINVAL);
            swiftpoll_registry_free(clone);
        }

        /* -ELOOP: two polls watching each other */
        swiftpoll_poll *q = new_poll();
        CHECK_EQ(swiftpoll_registry_register(swiftpoll_poll_registry(q), own, 1, SWIFTPOLL_READABLE),
                 0);
        CALL(r, swiftpoll_registry_register(reg, swiftpoll_poll_fd(q), 2, SWIFTPOLL_READABLE));
        CHECK_EQ(r, -ELOOP);
        swiftpoll_poll_free(q);
    }

    /* the failing calls never relied on errno */
    errno = EEXIST;
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 3, SWIFTPOLL_READABLE), 0);
    errno = 0;
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 3, SWIFTPOLL_READABLE), -EEXIST);
    errno = ENOENT;
    CHECK_EQ(swiftpoll_registry_deregister(reg, pfd[0]), 0);

    close(pfd[0]);
    close(pfd[1]);
    swiftpoll_poll_free(p);
}

static void test_tokens(void)
{
    /* any 64-bit value is a token, round-tripped exactly */
    static const uint64_t tokens[] = { 0, 1, 0x7fffffffull, 0x80000000ull, 0xffffffffull,
                                       0x100000000ull, 0xfedcba9876543210ull, UINT64_MAX - 1,
                                       UINT64_MAX };
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    int efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        swiftpoll_event ev[2];
        CHECK_EQ(swiftpoll_registry_register(reg, efd, tokens[i], SWIFTPOLL_READABLE), 0);
        int n = wait_checked(p, ev, 2, 0);
        CHECK_EQ(n, 1);
        CHECK_MSG(n == 1 && ev[0].token == tokens[i], "token 0x%" PRIx64 " came back as 0x%" PRIx64,
                  tokens[i], n == 1 ? (uint64_t)ev[0].token : 0);
        /* and through reregister */
        CHECK_EQ(swiftpoll_registry_reregister(reg, efd, ~tokens[i], SWIFTPOLL_READABLE), 0);
        n = wait_checked(p, ev, 2, 0);
        CHECK_EQ(n, 1);
        CHECK_MSG(n == 1 && ev[0].token == ~tokens[i], "reregistered token 0x%" PRIx64
                  " came back as 0x%" PRIx64, ~tokens[i], n == 1 ? (uint64_t)ev[0].token : 0);
        CHECK_EQ(swiftpoll_registry_deregister(reg, efd), 0);
    }
    close(efd);
    swiftpoll_poll_free(p);
}

static void test_wait_args(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    int efd1 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), efd2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    swiftpoll_event ev[8], ev2[8];
    swiftpoll_wait_args a;
    int r;
    CHECK_EQ(swiftpoll_registry_register(reg, efd1, 11, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL), 0);
    CHECK_EQ(swiftpoll_registry_register(reg, efd2, 22, SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE |
                                                        SWIFTPOLL_LEVEL), 0);
    /* bad arguments: as swiftpoll_poll_wait */
    a.poll = NULL; a.events = ev; a.capacity = 8; a.timeout_ns = 0;
    CALL(r, swiftpoll_poll_wait_args(&a));
    CHECK_EQ(r, -EINVAL);
    a.poll = p; a.events = NULL;
    CALL(r, swiftpoll_poll_wait_args(&a));
    CHECK_EQ(r, -EINVAL);
    a.events = ev; a.capacity = 0;
    CALL(r, swiftpoll_poll_wait_args(&a));
    CHECK_EQ(r, -EINVAL);
    /* timeout: nothing readable, efd2 writable (level: reported every time) */
    a.capacity = 8;
    a.timeout_ns = 0;
    CALL(r, swiftpoll_poll_wait_args(&a));
    int r2 = wait_checked(p, ev2, 8, 0);
    CHECK_EQ(r, 1);
    CHECK_EQ(r2, 1);
    if (r == 1 && r2 == 1) {
        CHECK_EQ(ev[0].token, 22);
        CHECK(memcmp(&ev[0], &ev2[0], sizeof ev[0]) == 0);
    }
    /* both ready: the same two events from both entry points */
    uint64_t one = 1;
    CHECK_EQ(write(efd1, &one, 8), 8);
    a.timeout_ns = 1000000;
    CALL(r, swiftpoll_poll_wait_args(&a));
    r2 = wait_checked(p, ev2, 8, 1000000);
    CHECK_EQ(r, 2);
    CHECK_EQ(r2, 2);
    for (int i = 0; i < r; i++) {
        CHECK_EVENT_FORMULA(ev[i]);
        const swiftpoll_event *o = find_token(ev2, r2, ev[i].token);
        CHECK_MSG(o && o->flags == ev[i].flags && o->raw == ev[i].raw, "token %" PRIu64,
                  (uint64_t)ev[i].token);
    }
    /* the capacity is honoured */
    a.capacity = 1;
    ev[1].token = 0xdeadull;
    CALL(r, swiftpoll_poll_wait_args(&a));
    CHECK_EQ(r, 1);
    CHECK_EQ(ev[1].token, 0xdeadull);
    /* the struct is not modified */
    CHECK(a.poll == p && a.events == ev && a.capacity == 1 && a.timeout_ns == 1000000);
    close(efd1);
    close(efd2);
    swiftpoll_poll_free(p);
}

static void test_errno_everywhere(void)
{
    /* the success paths not covered above, each with errno checked */
    int r, pfd[2];
    swiftpoll_poll *p;
    CALL(r, swiftpoll_poll_new(&p));
    CHECK_EQ(r, 0);
    swiftpoll_registry *reg;
    CALL(reg, swiftpoll_poll_registry(p));
    make_pipe(pfd);
    CALL(r, swiftpoll_registry_register(reg, pfd[0], 1, SWIFTPOLL_READABLE));
    CHECK_EQ(r, 0);
    CALL(r, swiftpoll_registry_reregister(reg, pfd[0], 2, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL));
    CHECK_EQ(r, 0);
    write_byte(pfd[1]);
    swiftpoll_event ev[2];
    CALL(r, swiftpoll_poll_wait(p, ev, 2, -1));
    CHECK_EQ(r, 1);
    CALL(r, swiftpoll_poll_wait(p, ev, 2, 1000));
    CHECK_EQ(r, 1);
    CALL(r, swiftpoll_registry_deregister(reg, pfd[0]));
    CHECK_EQ(r, 0);
    CALL(r, swiftpoll_poll_wait(p, ev, 2, 1000));
    CHECK_EQ(r, 0);
    swiftpoll_registry *clone;
    CALL(r, swiftpoll_registry_try_clone(reg, &clone));
    CHECK_EQ(r, 0);
    swiftpoll_waker *w, *w2 = BOGUS_PTR(swiftpoll_waker);
    CALL(r, swiftpoll_waker_new(reg, 5, &w));
    CHECK_EQ(r, 0);
    CALL(r, swiftpoll_waker_new(clone, 6, &w2));
    CHECK_EQ(r, -EEXIST);
    CHECK(w2 == BOGUS_PTR(swiftpoll_waker));
    CALL(r, swiftpoll_waker_wake(w));
    CHECK_EQ(r, 0);
    CALL(r, swiftpoll_waker_wake(w));
    CHECK_EQ(r, 0);
    KEEPS_ERRNO((swiftpoll_waker_free(w), 0));
    KEEPS_ERRNO((swiftpoll_registry_free(clone), 0));
    KEEPS_ERRNO((swiftpoll_poll_free(p), 0));
    close(pfd[0]);
    close(pfd[1]);
}

/* "nothing prints": stdout and stderr go to a pipe during bad calls, which
 * must stay empty */
static void test_nothing_printed(void)
{
    int pp[2];
    make_pipe(pp);
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2);
    dup2(pp[1], 1);
    dup2(pp[1], 2);
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    swiftpoll_event ev[2];
    swiftpoll_registry *r2;
    swiftpoll_waker *w;
    int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rs[24], k = 0;
    rs[k++] = swiftpoll_poll_new(NULL);
    rs[k++] = swiftpoll_poll_fd(NULL);
    rs[k++] = swiftpoll_poll_wait(NULL, ev, 2, 0);
    rs[k++] = swiftpoll_poll_wait(p, NULL, 2, 0);
    rs[k++] = swiftpoll_poll_wait(p, ev, 0, 0);
    rs[k++] = swiftpoll_poll_wait_args(NULL);
    rs[k++] = swiftpoll_registry_register(NULL, 0, 0, 1);
    rs[k++] = swiftpoll_registry_register(reg, -1, 0, 1);
    rs[k++] = swiftpoll_registry_register(reg, dir, 0, 1);
    rs[k++] = swiftpoll_registry_register(reg, pp[0], 0, 0xffffffffu);
    rs[k++] = swiftpoll_registry_register(reg, swiftpoll_poll_fd(p), 0, 1);
    rs[k++] = swiftpoll_registry_reregister(reg, pp[0], 0, 1);
    rs[k++] = swiftpoll_registry_reregister(NULL, pp[0], 0, 1);
    rs[k++] = swiftpoll_registry_deregister(reg, pp[0]);
    rs[k++] = swiftpoll_registry_deregister(reg, -5);
    rs[k++] = swiftpoll_registry_try_clone(NULL, &r2);
    rs[k++] = swiftpoll_registry_try_clone(reg, NULL);
    rs[k++] = swiftpoll_waker_new(NULL, 0, &w);
    rs[k++] = swiftpoll_waker_new(reg, 0, NULL);
    rs[k++] = swiftpoll_waker_wake(NULL);
    (void)swiftpoll_poll_registry(NULL);
    (void)swiftpoll_strerror(INT32_MIN);
    swiftpoll_poll_free(NULL);
    swiftpoll_registry_free(NULL);
    swiftpoll_registry_free(reg);
    swiftpoll_waker_free(NULL);
    swiftpoll_poll_free(p);
    close(dir);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    close(pp[1]);
    char buf[512];
    ssize_t n = read(pp[0], buf, sizeof buf - 1);
    close(pp[0]);
    CHECK_MSG(n <= 0, "the library printed: \"%.*s\"", (int)(n > 0 ? n : 0), buf);
    for (int i = 0; i < k; i++)
        CHECK_MSG(rs[i] < 0, "bad call #%d returned %d", i, rs[i]);
}

int main(void)
{
    watchdog_start("t_api");
    int fds0 = fd_count();
    test_versions();
    test_strerror();
    test_null_handles();
    test_poll_basics();
    test_register_errors();
    test_tokens();
    test_wait_args();
    test_errno_everywhere();
    test_nothing_printed();
    CHECK_EQ(fd_count(), fds0);
    return check_done("t_api");
}
