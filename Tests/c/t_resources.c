/*
 * t_resources.c -- no function leaks a file descriptor, on success and on
 * every error path; -EMFILE from swiftpoll_poll_new, swiftpoll_registry_try_clone
 * and swiftpoll_waker_new under a lowered RLIMIT_NOFILE, with nothing leaked,
 * out-parameters untouched, and everything working again once an fd is free.
 * The fds the library makes are close-on-exec.
 */
#include "check.h"

#define BOGUS(T) ((T *)(uintptr_t)0x5a5a5a5a5a5a5a50ull)

/* Every function once, successes and failures. Returns nothing; the caller
 * compares the fd count before and after. */
static void every_function_once(void)
{
    swiftpoll_event ev[4];
    int pfd[2];
    make_pipe(pfd);
    swiftpoll_poll *p = NULL;
    (void)swiftpoll_poll_new(NULL);
    CHECK_EQ(swiftpoll_poll_new(&p), 0);
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    (void)swiftpoll_abi_version();
    (void)swiftpoll_version();
    (void)swiftpoll_strerror(-EBADF);
    (void)swiftpoll_poll_fd(p);
    CHECK_EQ(swiftpoll_poll_wait(p, ev, 4, 0), 0);
    CHECK_EQ(swiftpoll_poll_wait(p, ev, 0, 0), -EINVAL);
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 1, SWIFTPOLL_READABLE), 0);
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[0], 1, SWIFTPOLL_READABLE), -EEXIST);
    CHECK_EQ(swiftpoll_registry_register(reg, -1, 1, SWIFTPOLL_READABLE), -EBADF);
    CHECK_EQ(swiftpoll_registry_register(reg, pfd[1], 1, 0), -EINVAL);
    /* the poll's own fd; poll(2) has none (-ENOTSUP, which as an fd is -EBADF) */
    CHECK_EQ(swiftpoll_registry_register(reg, swiftpoll_poll_fd(p), 1, SWIFTPOLL_READABLE),
             on_poll() ? -EBADF : -EINVAL);
    {
        int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK_EQ(swiftpoll_registry_register(reg, dir, 1, SWIFTPOLL_READABLE), -EPERM);
        close(dir);
    }
    CHECK_EQ(swiftpoll_registry_reregister(reg, pfd[0], 2, SWIFTPOLL_READABLE | SWIFTPOLL_ONESHOT), 0);
    CHECK_EQ(swiftpoll_registry_reregister(reg, pfd[1], 2, SWIFTPOLL_WRITABLE), -ENOENT);
    write_byte(pfd[1]);
    {
        swiftpoll_wait_args a = { p, ev, 4, -1 };
        CHECK_EQ(swiftpoll_poll_wait_args(&a), 1);
    }
    CHECK_EQ(swiftpoll_registry_deregister(reg, pfd[0]), 0);
    CHECK_EQ(swiftpoll_registry_deregister(reg, pfd[0]), -ENOENT);
    swiftpoll_registry *clone = NULL, *clone2 = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(reg, &clone), 0);
    CHECK_EQ(swiftpoll_registry_try_clone(clone, &clone2), 0);
    swiftpoll_waker *w = NULL, *w2 = NULL;
    CHECK_EQ(swiftpoll_waker_new(clone, 9, &w), 0);
    CHECK_EQ(swiftpoll_waker_new(reg, 9, &w2), -EEXIST);
    CHECK_EQ(swiftpoll_waker_new(clone2, 9, &w2), -EEXIST);
    CHECK_EQ(swiftpoll_waker_wake(w), 0);
    CHECK_EQ(swiftpoll_poll_wait(p, ev, 4, -1), 1);
    swiftpoll_registry_free(reg); /* no-op */
    swiftpoll_registry_free(clone2);
    swiftpoll_poll_free(p);
    CHECK_EQ(swiftpoll_registry_register(clone, pfd[1], 3, SWIFTPOLL_WRITABLE), 0);
    swiftpoll_registry_free(clone);
    CHECK_EQ(swiftpoll_waker_wake(w), 0);
    swiftpoll_waker_free(w);
    close(pfd[0]);
    close(pfd[1]);
}

static void test_no_leaks(void)
{
    int before = fd_count();
    for (int i = 0; i < 50; i++)
        every_function_once();
    int after = fd_count();
    CHECK_MSG(after == before, "%d fds before, %d after 50 rounds of every function", before,
              after);
}

static void test_cloexec(void)
{
    swiftpoll_poll *p = new_poll();
    int before = fd_count();
    swiftpoll_registry *clone = NULL;
    swiftpoll_waker *w = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(swiftpoll_poll_registry(p), &clone), 0);
    CHECK_EQ(swiftpoll_waker_new(clone, 1, &w), 0);
    /* epoll: a dup of the epoll fd and the waker's eventfd; poll(2): the
     * clone shares the table and the waker writes the table's notifier: no fd */
    SKIP_ON(on_poll, "try_clone and waker_new make no fd");
    CHECK_EQ(fd_count(), before + (on_poll() ? 0 : 2));
    /* every fd the library owns is close-on-exec (>= 3 is promised for
     * clones only: test_clone_fd_at_least_3) */
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int no_cloexec = 0;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd == dirfd(d))
            continue;
        char path[64], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = 0;
        if (strstr(target, "eventpoll") || strstr(target, "eventfd")) {
            if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC))
                no_cloexec++;
        }
    }
    if (d)
        closedir(d);
    CHECK_EQ(no_cloexec, 0);
    swiftpoll_waker_free(w);
    swiftpoll_registry_free(clone);
    swiftpoll_poll_free(p);
    /* epoll fd or the poll(2) notifier; libkqueue has several of its own */
    SKIP_ON(on_kqueue, "libkqueue keeps several descriptors per kqueue: only no-leak is checked");
    if (!on_kqueue())
        CHECK_EQ(fd_count(), before - 1);
}

/* try_clone's fd is numbered 3 or above (F_DUPFD_CLOEXEC, 3), even when a
 * lower number is free: free fd 0 and see that the clone does not take it. */
static void test_clone_fd_at_least_3(void)
{
    /* fd 0 open while the poll is made (else the poll's own fd may be 0) */
    int opened0 = 0;
    if (!fd_is_open(0)) {
        opened0 = open("/dev/null", O_RDONLY) == 0;
        CHECK(opened0);
    }
    swiftpoll_poll *p = new_poll();
    CHECK(swiftpoll_poll_fd(p) != 0);
    int saved0 = fcntl(0, F_DUPFD_CLOEXEC, 10); /* keep stdin aside */
    close(0);
    CHECK(!fd_is_open(0));
    swiftpoll_registry *clone = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(swiftpoll_poll_registry(p), &clone), 0);
    int took0 = fd_is_open(0);
    CHECK_MSG(!took0, "the clone's fd is 0");
    swiftpoll_registry_free(clone);
    if (took0 && fd_is_open(0))
        close(0);
    if (saved0 >= 0 && !opened0)
        dup2(saved0, 0);
    if (saved0 >= 0)
        close(saved0);
    swiftpoll_poll_free(p);
}

/* Fills every free fd slot below the (lowered) limit; returns how many were
 * opened into fill[]. */
static int fill_fds(int *fill, int max)
{
    int n = 0;
    while (n < max) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            break;
        fill[n++] = fd;
    }
    return n;
}

static void test_emfile(void)
{
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    int fill[512];
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    /* the highest fd in use decides the limit we can set */
    int maxfd = 0;
    {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL)
            if (e->d_name[0] != '.' && atoi(e->d_name) > maxfd)
                maxfd = atoi(e->d_name);
        if (d)
            closedir(d);
    }
    low = old;
    low.rlim_cur = (rlim_t)maxfd + 64;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    int before = fd_count();
    int nfill = fill_fds(fill, 512);
    CHECK_MSG(nfill > 0 && nfill < 512, "filled %d", nfill);
    CHECK_EQ(open("/dev/null", O_RDONLY), -1);

    swiftpoll_poll *p2 = BOGUS(swiftpoll_poll);
    errno = 4242;
    CHECK_EQ(swiftpoll_poll_new(&p2), -EMFILE);
    CHECK_EQ(errno, 4242);
    CHECK(p2 == BOGUS(swiftpoll_poll));

    swiftpoll_registry *clone = BOGUS(swiftpoll_registry);
    swiftpoll_waker *w = BOGUS(swiftpoll_waker);
    if (on_poll()) {
        /* poll(2): try_clone and waker_new need no descriptor: they work at
         * the limit */
        SKIP_ON(on_poll, "try_clone and waker_new make no fd: no -EMFILE from them");
        CHECK_EQ(swiftpoll_registry_try_clone(reg, &clone), 0);
        CHECK(clone != BOGUS(swiftpoll_registry));
        CHECK_EQ(swiftpoll_waker_new(clone, 1, &w), 0);
        CHECK(w != BOGUS(swiftpoll_waker));
        swiftpoll_event ev[4];
        CHECK_EQ(swiftpoll_waker_wake(w), 0);
        CHECK_EQ(wait_checked(p, ev, 4, -1), 1);
        swiftpoll_waker_free(w);
        swiftpoll_registry_free(clone);
        for (int i = 0; i < 20; i++)
            CHECK_EQ(swiftpoll_poll_new(&p2), -EMFILE);
        CHECK(p2 == BOGUS(swiftpoll_poll));
        close(fill[--nfill]);
        p2 = NULL;
        CHECK_EQ(swiftpoll_poll_new(&p2), 0);
        CHECK(p2 != NULL && p2 != BOGUS(swiftpoll_poll));
        swiftpoll_poll_free(p2);
        for (int i = 0; i < nfill; i++)
            close(fill[i]);
        CHECK_EQ(fd_count(), before);
        setrlimit(RLIMIT_NOFILE, &old);
        swiftpoll_poll_free(p);
        return;
    }
    errno = 4242;
    CHECK_EQ(swiftpoll_registry_try_clone(reg, &clone), -EMFILE);
    CHECK_EQ(errno, 4242);
    CHECK(clone == BOGUS(swiftpoll_registry));

    if (on_kqueue()) {
        /* A kernel kqueue's waker needs no descriptor; libkqueue's EVFILT_USER
         * makes an eventfd and answers EBADF when none is left, and its
         * kqueue() needs several: the rest of this sequence counts epoll's. */
        SKIP_ON(on_kqueue, "waker and poll_new under exhaustion count epoll's descriptors");
        for (int i = 0; i < nfill; i++)
            close(fill[i]);
        setrlimit(RLIMIT_NOFILE, &old);
        swiftpoll_poll_free(p);
        return;
    }
    errno = 4242;
    CHECK_EQ(swiftpoll_waker_new(reg, 1, &w), -EMFILE);
    CHECK_EQ(errno, 4242);
    CHECK(w == BOGUS(swiftpoll_waker));
    /* repeatedly: still no leak, still -EMFILE (not -EEXIST from a waker
     * half-made by the failed call) */
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(swiftpoll_poll_new(&p2), -EMFILE);
        CHECK_EQ(swiftpoll_registry_try_clone(reg, &clone), -EMFILE);
        CHECK_EQ(swiftpoll_waker_new(reg, 1, &w), -EMFILE);
    }
    /* the hot paths need no fd: wait, register (a filler), deregister */
    swiftpoll_event ev[4];
    CHECK_EQ(swiftpoll_poll_wait(p, ev, 4, 0), 0);
    /* (fd_count() itself needs a free fd: counted once a slot is free) */

    /* one slot free: each works (and the failures left no state behind) */
    close(fill[--nfill]);
    CHECK_EQ(fd_count(), before + nfill);
    w = NULL;
    CHECK_EQ(swiftpoll_waker_new(reg, 1, &w), 0);
    CHECK(w != NULL && w != BOGUS(swiftpoll_waker));
    if (w) {
        CHECK_EQ(swiftpoll_waker_wake(w), 0);
        CHECK_EQ(wait_checked(p, ev, 4, -1), 1);
        /* the waker took the slot: the others fail again */
        CHECK_EQ(swiftpoll_poll_new(&p2), -EMFILE);
        swiftpoll_waker_free(w);
    }
    clone = NULL;
    CHECK_EQ(swiftpoll_registry_try_clone(reg, &clone), 0);
    CHECK(clone != NULL && clone != BOGUS(swiftpoll_registry));
    swiftpoll_registry_free(clone);
    p2 = NULL;
    CHECK_EQ(swiftpoll_poll_new(&p2), 0);
    CHECK(p2 != NULL && p2 != BOGUS(swiftpoll_poll));
    swiftpoll_poll_free(p2);

    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    CHECK_EQ(fd_count(), before);
    setrlimit(RLIMIT_NOFILE, &old);
    swiftpoll_poll_free(p);
}

int main(void)
{
    watchdog_start("t_resources");
    int fds0 = fd_count();
    test_no_leaks();
    test_cloexec();
    test_clone_fd_at_least_3();
    test_emfile();
    CHECK_EQ(fd_count(), fds0);
    return check_done("t_resources");
}
