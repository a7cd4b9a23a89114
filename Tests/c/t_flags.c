/*
 * t_flags.c -- the event flags on real kernel objects: the probe table of
 * mio-behaviour.md (sections 1.4 and 3.6). For each scenario: the raw epoll
 * bits the kernel is known to give, and flags == mio's formula (raw).
 * Also: READABLE asks the kernel for EPOLLRDHUP; PRIORITY with TCP urgent
 * data on loopback.
 */
#include "check.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#define F_R SWIFTPOLL_EVENT_READABLE
#define F_W SWIFTPOLL_EVENT_WRITABLE
#define F_E SWIFTPOLL_EVENT_ERROR
#define F_RC SWIFTPOLL_EVENT_READ_CLOSED
#define F_WC SWIFTPOLL_EVENT_WRITE_CLOSED
#define F_P SWIFTPOLL_EVENT_PRIORITY

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static int tcp_listener(struct sockaddr_in *addr)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof *addr;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr->sin_port = 0;
    if (l < 0 || bind(l, (struct sockaddr *)addr, sizeof *addr) != 0 || listen(l, 16) != 0 ||
        getsockname(l, (struct sockaddr *)addr, &len) != 0) {
        perror("tcp listener");
        exit(2);
    }
    return l;
}

/* A connected loopback TCP pair, both non-blocking. */
static void tcp_pair(int *client, int *server)
{
    struct sockaddr_in a;
    int l = tcp_listener(&a);
    *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(*client, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(2);
    }
    *server = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (*server < 0) {
        perror("accept");
        exit(2);
    }
    set_nonblock(*client);
    close(l);
}

/* After an edge was reported and nothing changed: epoll reports nothing;
 * poll(2) reports edge as level, so the still-ready fd comes again. */
#define QUIET_AFTER_EDGE(p, ev)                                                          \
    do {                                                                                 \
        SKIP_ON(on_poll, "edge is reported as level: a still-ready fd is reported again"); \
        int q_ = wait_checked((p), (ev), 4, 0);                                          \
        if (on_poll())                                                                   \
            CHECK_MSG(q_ >= 1, "level: %d events", q_);                                  \
        else                                                                             \
            CHECK_EQ(q_, 0);                                                             \
    } while (0)

/* Waits up to ~2 s (bounded) for an event with `token`; returns 1 and fills
 * *out if one came. Collects the flags of every event for that token that
 * arrive in the same call. */
static int wait_for(swiftpoll_poll *p, swiftpoll_token token, swiftpoll_event *out)
{
    swiftpoll_event ev[8];
    for (int i = 0; i < 200; i++) {
        int n = wait_checked(p, ev, 8, 10000000);
        const swiftpoll_event *e = find_token(ev, n, token);
        if (e) {
            *out = *e;
            return 1;
        }
    }
    return 0;
}

#define EXPECT(p, token, want_raw, want_flags)                                           \
    do {                                                                                 \
        swiftpoll_event e_;                                                              \
        int got_ = wait_for((p), (token), &e_);                                          \
        CHECK_MSG(got_, "no event for token %d", (int)(token));                          \
        if (got_ && on_kqueue()) {                                                       \
            /* the event came and obeys kqueue's formulas (wait_checked); */             \
            SKIP_ON(on_kqueue, "the table is epoll's raw bits and flags: kqueue's are "  \
                               "KqueueReadinessTests (docs/BACKENDS.md, kqueue)");        \
        } else if (got_) {                                                               \
            CHECK_MSG(e_.raw == (uint32_t)(want_raw), "raw 0x%x, kernel gives 0x%x",     \
                      (unsigned)e_.raw, (unsigned)(want_raw));                           \
            /* epoll: the table's flags; poll(2): its own formulas on the    \
             * same raw bits (t_flags' table is epoll's, mio-behaviour.md) */ \
            uint32_t wf_ = on_poll() ? expected_flags_poll(want_raw) : (want_flags);     \
            CHECK_MSG(e_.flags == wf_, "flags 0x%x, want 0x%x", (unsigned)e_.flags,      \
                      (unsigned)wf_);                                                    \
        }                                                                                \
    } while (0)

static void test_pipes(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    int a[2], b[2];
    swiftpoll_event ev[4];

    /* pipe read end, data written: IN */
    make_pipe(a);
    CHECK_EQ(swiftpoll_registry_register(reg, a[0], 1, SWIFTPOLL_READABLE), 0);
    write_byte(a[1]);
    EXPECT(p, 1, EPOLLIN, F_R);
    /* writer closed, data still unread: IN HUP */
    close(a[1]);
    EXPECT(p, 1, EPOLLIN | EPOLLHUP, F_R | F_RC | F_WC);
    /* drained: HUP alone */
    drain(a[0]);
    CHECK_EQ(swiftpoll_registry_reregister(reg, a[0], 2, SWIFTPOLL_READABLE), 0);
    EXPECT(p, 2, EPOLLHUP, F_RC | F_WC);
    close(a[0]);

    /* pipe write end, W, just registered: OUT */
    make_pipe(b);
    CHECK_EQ(swiftpoll_registry_register(reg, b[1], 3, SWIFTPOLL_WRITABLE), 0);
    EXPECT(p, 3, EPOLLOUT, F_W);
    QUIET_AFTER_EDGE(p, ev);
    /* reader closed: OUT ERR */
    close(b[0]);
    EXPECT(p, 3, EPOLLOUT | EPOLLERR, F_W | F_E | F_WC);
    close(b[1]);

    /* a full pipe, write end W|R-interest not ready: ERR alone once the reader
     * closes (EPOLLERR without EPOLLOUT is impossible for pipes; skip) */

    /* write end of a full pipe: not writable; reader drains: OUT */
    make_pipe(b);
    {
        char buf[4096];
        memset(buf, 'z', sizeof buf);
        for (int i = 0; i < 10000 && write(b[1], buf, sizeof buf) > 0; i++) {
        }
    }
    CHECK_EQ(swiftpoll_registry_register(reg, b[1], 4, SWIFTPOLL_WRITABLE), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    drain(b[0]);
    EXPECT(p, 4, EPOLLOUT, F_W);
    close(b[0]);
    close(b[1]);
    swiftpoll_poll_free(p);
}

static void test_eventfd(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    swiftpoll_event ev[4];
    uint64_t one = 1;
    CHECK_EQ(swiftpoll_registry_register(reg, efd, 5, SWIFTPOLL_READABLE), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    CHECK_EQ(write(efd, &one, 8), 8);
    EXPECT(p, 5, EPOLLIN, F_R);
    QUIET_AFTER_EDGE(p, ev);
    /* second write, counter never read: a new event */
    CHECK_EQ(write(efd, &one, 8), 8);
    EXPECT(p, 5, EPOLLIN, F_R);
    /* two writes before one wait: one event */
    CHECK_EQ(write(efd, &one, 8), 8);
    CHECK_EQ(write(efd, &one, 8), 8);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 1);
    QUIET_AFTER_EDGE(p, ev);
    close(efd);
    swiftpoll_poll_free(p);
}

static void test_tcp(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    swiftpoll_event ev[4];
    int c, s;
    const uint32_t RW = SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE;

    /* connected, R|W, just registered: OUT */
    tcp_pair(&c, &s);
    CHECK_EQ(swiftpoll_registry_register(reg, s, 10, RW), 0);
    EXPECT(p, 10, EPOLLOUT, F_W);
    /* peer shutdown(SHUT_WR) (FIN): IN OUT RDHUP -- READ_CLOSED needs RDHUP,
     * which READABLE must ask the kernel for */
    CHECK_EQ(shutdown(c, SHUT_WR), 0);
    EXPECT(p, 10, EPOLLIN | EPOLLOUT | EPOLLRDHUP, F_R | F_W | F_RC);
    close(c);
    close(s);

    /* peer close with nothing unread: FIN, same as above */
    tcp_pair(&c, &s);
    CHECK_EQ(swiftpoll_registry_register(reg, s, 11, RW), 0);
    EXPECT(p, 11, EPOLLOUT, F_W);
    close(c);
    EXPECT(p, 11, EPOLLIN | EPOLLOUT | EPOLLRDHUP, F_R | F_W | F_RC);
    close(s);

    /* READABLE alone: peer FIN is IN RDHUP, still READ_CLOSED */
    tcp_pair(&c, &s);
    CHECK_EQ(swiftpoll_registry_register(reg, s, 12, SWIFTPOLL_READABLE), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    CHECK_EQ(shutdown(c, SHUT_WR), 0);
    EXPECT(p, 12, EPOLLIN | EPOLLRDHUP, F_R | F_RC);
    close(c);
    close(s);

    /* local shutdown(SHUT_WR): OUT only, no close indication */
    tcp_pair(&c, &s);
    CHECK_EQ(swiftpoll_registry_register(reg, s, 13, RW), 0);
    EXPECT(p, 13, EPOLLOUT, F_W);
    CHECK_EQ(shutdown(s, SHUT_WR), 0);
    EXPECT(p, 13, EPOLLOUT, F_W);
    close(c);
    close(s);

    /* local shutdown(SHUT_RD): IN OUT RDHUP */
    tcp_pair(&c, &s);
    CHECK_EQ(swiftpoll_registry_register(reg, s, 14, RW), 0);
    EXPECT(p, 14, EPOLLOUT, F_W);
    CHECK_EQ(shutdown(s, SHUT_RD), 0);
    EXPECT(p, 14, EPOLLIN | EPOLLOUT | EPOLLRDHUP, F_R | F_W | F_RC);
    close(c);
    close(s);

    /* local shutdown(SHUT_RDWR): IN OUT RDHUP HUP */
    tcp_pair(&c, &s);
    CHECK_EQ(swiftpoll_registry_register(reg, s, 15, RW), 0);
    EXPECT(p, 15, EPOLLOUT, F_W);
    CHECK_EQ(shutdown(s, SHUT_RDWR), 0);
    EXPECT(p, 15, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP, F_R | F_W | F_RC | F_WC);
    close(c);
    close(s);

    /* peer closes with unread data: RST: IN OUT RDHUP HUP ERR */
    tcp_pair(&c, &s);
    CHECK_EQ(swiftpoll_registry_register(reg, s, 16, RW), 0);
    EXPECT(p, 16, EPOLLOUT, F_W);
    CHECK_EQ(write(s, "unread", 6), 6);
    sleep_ns(20000000); /* let the data reach the client's receive queue */
    close(c);
    EXPECT(p, 16, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP | EPOLLERR,
           F_R | F_W | F_E | F_RC | F_WC);
    close(s);

    /* urgent data (MSG_OOB), interest READABLE|PRIORITY: PRI only;
     * mio's formula makes PRI readable as well */
    if (on_kqueue()) {
        SKIP_ON(on_kqueue, "PRIORITY has no kqueue filter: -ENOTSUP, checked instead");
        tcp_pair(&c, &s);
        CHECK_EQ(swiftpoll_registry_register(reg, s, 17, SWIFTPOLL_READABLE | SWIFTPOLL_PRIORITY), -ENOTSUP);
        CHECK_EQ(swiftpoll_registry_register(reg, s, 18, SWIFTPOLL_PRIORITY), -ENOTSUP);
        close(c);
        close(s);
        goto after_priority;
    }
    tcp_pair(&c, &s);
    CHECK_EQ(swiftpoll_registry_register(reg, s, 17, SWIFTPOLL_READABLE | SWIFTPOLL_PRIORITY), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    CHECK_EQ(send(c, "!", 1, MSG_OOB), 1);
    EXPECT(p, 17, EPOLLPRI, F_R | F_P);
    {
        char u;
        CHECK_EQ(recv(s, &u, 1, MSG_OOB), 1);
        CHECK_EQ(u, '!');
    }
    close(c);
    close(s);

    /* urgent data, interest PRIORITY alone (a valid interest) */
    tcp_pair(&c, &s);
    CHECK_EQ(swiftpoll_registry_register(reg, s, 18, SWIFTPOLL_PRIORITY), 0);
    CHECK_EQ(wait_checked(p, ev, 4, 0), 0);
    CHECK_EQ(send(c, "?", 1, MSG_OOB), 1);
    EXPECT(p, 18, EPOLLPRI, F_R | F_P);
    close(c);
    close(s);
after_priority:

    /* connection refused, interest W: OUT HUP ERR */
    {
        struct sockaddr_in a;
        int l = tcp_listener(&a);
        close(l); /* nothing listens on that port now */
        c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int r = connect(c, (struct sockaddr *)&a, sizeof a);
        CHECK(r == 0 || errno == EINPROGRESS || errno == ECONNREFUSED);
        if (r != 0 && errno == EINPROGRESS) {
            CHECK_EQ(swiftpoll_registry_register(reg, c, 19, SWIFTPOLL_WRITABLE), 0);
            EXPECT(p, 19, EPOLLOUT | EPOLLHUP | EPOLLERR, F_W | F_E | F_RC | F_WC);
        }
        close(c);
    }

    /* a listener: W only sees nothing for a pending connection; MOD to R
     * gives IN with the new token */
    {
        struct sockaddr_in a;
        int l = tcp_listener(&a);
        set_nonblock(l);
        CHECK_EQ(swiftpoll_registry_register(reg, l, 20, SWIFTPOLL_WRITABLE), 0);
        c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK_EQ(connect(c, (struct sockaddr *)&a, sizeof a), 0);
        CHECK_EQ(wait_checked(p, ev, 4, 5000000), 0);
        CHECK_EQ(swiftpoll_registry_reregister(reg, l, 21, SWIFTPOLL_READABLE), 0);
        EXPECT(p, 21, EPOLLIN, F_R);
        QUIET_AFTER_EDGE(p, ev);
        close(c);
        close(l);
    }
    swiftpoll_poll_free(p);
}

/* EPOLLERR alone: a connected UDP socket whose datagram to a closed
 * loopback port comes back as ICMP port unreachable has a pending error;
 * with PRIORITY interest only, the kernel mask leaves just ERR (ERR and HUP
 * are always reported). With WRITABLE: OUT ERR. */
static void test_udp_error(void)
{
    swiftpoll_poll *p = new_poll();
    swiftpoll_registry *reg = swiftpoll_poll_registry(p);
    for (int variant = 0; variant < 2; variant++) {
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        int hole = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK_EQ(bind(hole, (struct sockaddr *)&a, sizeof a), 0);
        CHECK_EQ(getsockname(hole, (struct sockaddr *)&a, &len), 0);
        close(hole); /* nothing listens on that port now */
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        CHECK_EQ(connect(u, (struct sockaddr *)&a, sizeof a), 0);
        uint32_t interest = variant == 0 ? SWIFTPOLL_PRIORITY : SWIFTPOLL_WRITABLE;
        if (variant == 0 && on_kqueue()) {
            SKIP_ON(on_kqueue, "PRIORITY has no kqueue filter: -ENOTSUP, checked instead");
            CHECK_EQ(swiftpoll_registry_register(reg, u, 30, interest), -ENOTSUP);
            close(u);
            continue;
        }
        CHECK_EQ(swiftpoll_registry_register(reg, u, 30 + (uint64_t)variant, interest), 0);
        if (variant == 1)
            EXPECT(p, 31, EPOLLOUT, F_W);
        CHECK_EQ(send(u, "x", 1, 0), 1);
        if (variant == 0)
            EXPECT(p, 30, EPOLLERR, F_E | F_WC);
        else
            EXPECT(p, 31, EPOLLOUT | EPOLLERR, F_W | F_E | F_WC);
        close(u);
    }
    swiftpoll_poll_free(p);
}

/* The formulas themselves on every combination that can reach a caller are
 * checked by CHECK_EVENT_FORMULA in every test; here, a table spot check of
 * expected_flags against mio-behaviour.md section 3.6, so that the helper
 * itself cannot drift. */
static void test_formula_table(void)
{
    static const struct { uint32_t raw, flags; } t[] = {
        { EPOLLIN, F_R },
        { EPOLLOUT, F_W },
        { EPOLLIN | EPOLLHUP, F_R | F_RC | F_WC },
        { EPOLLOUT | EPOLLERR, F_W | F_E | F_WC },
        { EPOLLIN | EPOLLOUT | EPOLLRDHUP, F_R | F_W | F_RC },
        { EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP, F_R | F_W | F_RC | F_WC },
        { EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP | EPOLLERR, F_R | F_W | F_E | F_RC | F_WC },
        { EPOLLOUT | EPOLLHUP | EPOLLERR, F_W | F_E | F_RC | F_WC },
        { EPOLLPRI, F_R | F_P },
        { EPOLLERR, F_E | F_WC },
        { EPOLLHUP, F_RC | F_WC },
        { EPOLLRDHUP, 0 },
        { EPOLLOUT | EPOLLRDHUP, F_W },
        { EPOLLERR | EPOLLIN, F_R | F_E },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        CHECK_MSG(expected_flags_epoll(t[i].raw) == t[i].flags, "raw 0x%x", (unsigned)t[i].raw);
    /* mio's poll(2) formulas (selector/poll.rs): RDHUP alone is READ_CLOSED,
     * NVAL is an error */
    static const struct { uint32_t raw, flags; } tp[] = {
        { EPOLLIN, F_R },
        { EPOLLOUT, F_W },
        { EPOLLIN | EPOLLHUP, F_R | F_RC | F_WC },
        { EPOLLOUT | EPOLLERR, F_W | F_E | F_WC },
        { EPOLLIN | EPOLLOUT | EPOLLRDHUP, F_R | F_W | F_RC },
        { EPOLLOUT | EPOLLHUP | EPOLLERR, F_W | F_E | F_RC | F_WC },
        { EPOLLPRI, F_R | F_P },
        { EPOLLERR, F_E | F_WC },
        { EPOLLHUP, F_RC | F_WC },
        { EPOLLRDHUP, F_RC },
        { EPOLLOUT | EPOLLRDHUP, F_W | F_RC },
        { EPOLLERR | EPOLLIN, F_R | F_E },
        { POLLNVAL, F_E },
    };
    for (size_t i = 0; i < sizeof tp / sizeof tp[0]; i++)
        CHECK_MSG(expected_flags_poll(tp[i].raw) == tp[i].flags, "poll raw 0x%x", (unsigned)tp[i].raw);
}

int main(void)
{
    watchdog_start("t_flags");
    signal(SIGPIPE, SIG_IGN);
    int fds0 = fd_count();
    test_formula_table();
    test_pipes();
    test_eventfd();
    test_tcp();
    test_udp_error();
    CHECK_EQ(fd_count(), fds0);
    return check_done("t_flags");
}
