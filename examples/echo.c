/*
 * echo.c -- a TCP echo server and its clients on loopback, all driven by one
 * swiftpoll poll in one thread, edge-triggered (mio's model): after each
 * event, do I/O until the kernel says EAGAIN, and only then wait again.
 *
 * The server listens on 127.0.0.1 (an ephemeral port); CLIENTS clients
 * connect, each sends BYTES bytes of a known pattern and checks that the
 * same bytes come back; the server echoes through a fixed buffer per
 * connection, and all sockets have small kernel buffers, so both sides
 * meet back-pressure: a full buffer stops reading until a WRITABLE edge
 * lets it write, an empty one waits for a READABLE edge. Prints what happens and a
 * final "ok"; exits non-zero on any error or after TIME_LIMIT seconds.
 *
 *   cc echo.c $(pkg-config --cflags --libs swiftpoll) -o echo && ./echo
 */
#define _GNU_SOURCE
#include <swiftpoll.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    CLIENTS = 4,
    BYTES = 1 << 20,    /* per client */
    BUF = 16 * 1024,    /* per server connection */
    TIME_LIMIT = 20,    /* seconds */
};

/* tokens: which object an event is for */
#define TOKEN_LISTENER 0u
#define TOKEN_SERVER(i) (1000u + (unsigned)(i))
#define TOKEN_CLIENT(i) (2000u + (unsigned)(i))

struct server_conn {
    int fd;
    char buf[BUF];
    size_t len;       /* bytes waiting to be echoed */
    int eof;          /* the client finished sending */
    long echoed;
};

struct client {
    int fd;
    int connected;
    long sent, received;
    int done;
};

static swiftpoll_registry *registry;
static struct server_conn servers[CLIENTS];
static int nservers;
static struct client clients[CLIENTS];
static long total_echoed;

/* Small kernel buffers, so that the data cannot all sit in the sockets at
 * once: both sides hit EAGAIN many times and depend on the next edge. */
static void small_buffers(int fd)
{
    int size = 8192;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static char pattern(int client, long offset) { return (char)('a' + (client * 7 + offset) % 26); }

static void die(const char *what, int err)
{
    fprintf(stderr, "echo: %s: %s\n", what, err < 0 ? swiftpoll_strerror(err) : strerror(err));
    exit(1);
}

static void check(int rc, const char *what)
{
    if (rc < 0)
        die(what, rc);
}

/* Accepts every pending connection (until EAGAIN). */
static void on_listener(int listener)
{
    for (;;) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int fd = accept4(listener, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return; /* drained: wait for the next edge */
            die("accept", errno);
        }
        if (nservers == CLIENTS)
            die("accept", EMFILE);
        struct server_conn *s = &servers[nservers];
        s->fd = fd;
        check(swiftpoll_registry_register(registry, fd, TOKEN_SERVER(nservers),
                                          SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE),
              "register connection");
        printf("server: connection %d accepted from 127.0.0.1:%d\n", nservers + 1,
               ntohs(peer.sin_port));
        nservers++;
    }
}

/* Moves bytes until neither reading nor writing can progress: each stop is
 * an EAGAIN (or a full/empty buffer whose other side got EAGAIN), so a later
 * READABLE or WRITABLE edge is guaranteed to bring us back. */
static void on_server(struct server_conn *s, int index)
{
    for (int progress = 1; progress && s->fd >= 0;) {
        progress = 0;
        if (s->len > 0) {
            ssize_t n = send(s->fd, s->buf, s->len, MSG_NOSIGNAL);
            if (n > 0) {
                memmove(s->buf, s->buf + n, s->len - (size_t)n);
                s->len -= (size_t)n;
                s->echoed += n;
                total_echoed += n;
                progress = 1;
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                die("server send", errno);
            }
        }
        if (!s->eof && s->len < BUF) {
            ssize_t n = recv(s->fd, s->buf + s->len, BUF - s->len, 0);
            if (n > 0) {
                s->len += (size_t)n;
                progress = 1;
            } else if (n == 0) {
                s->eof = 1;
                progress = 1;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                die("server recv", errno);
            }
        }
        if (s->eof && s->len == 0) {
            printf("server: connection %d closed by the client after %ld bytes echoed\n",
                   index + 1, s->echoed);
            check(swiftpoll_registry_deregister(registry, s->fd), "deregister connection");
            close(s->fd);
            s->fd = -1;
        }
    }
}

static void on_client(struct client *c, int index, const swiftpoll_event *ev)
{
    if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (ev->flags & SWIFTPOLL_EVENT_ERROR))
            die("connect", err ? err : ECONNREFUSED);
        if (!(ev->flags & SWIFTPOLL_EVENT_WRITABLE))
            return;
        c->connected = 1;
        printf("client %d: connected\n", index + 1);
    }
    for (int progress = 1; progress && !c->done;) {
        progress = 0;
        if (c->sent < BYTES) {
            char chunk[8192];
            long want = BYTES - c->sent < (long)sizeof chunk ? BYTES - c->sent : (long)sizeof chunk;
            for (long k = 0; k < want; k++)
                chunk[k] = pattern(index, c->sent + k);
            ssize_t n = send(c->fd, chunk, (size_t)want, MSG_NOSIGNAL);
            if (n > 0) {
                c->sent += n;
                progress = 1;
                if (c->sent == BYTES)
                    shutdown(c->fd, SHUT_WR); /* tell the server we are done */
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                die("client send", errno);
            }
        }
        char in[8192];
        ssize_t n = recv(c->fd, in, sizeof in, 0);
        if (n > 0) {
            for (ssize_t k = 0; k < n; k++)
                if (in[k] != pattern(index, c->received + k)) {
                    fprintf(stderr, "echo: client %d: wrong byte at offset %ld\n", index + 1,
                            c->received + (long)k);
                    exit(1);
                }
            c->received += n;
            progress = 1;
        } else if (n == 0) {
            if (c->received != BYTES) {
                fprintf(stderr, "echo: client %d: connection closed after %ld of %d bytes\n",
                        index + 1, c->received, BYTES);
                exit(1);
            }
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            die("client recv", errno);
        }
        if (c->received == BYTES) {
            printf("client %d: %ld bytes sent, echoed back and verified\n", index + 1, c->received);
            check(swiftpoll_registry_deregister(registry, c->fd), "deregister client");
            close(c->fd);
            c->done = 1;
        }
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    swiftpoll_poll *poll;
    check(swiftpoll_poll_new(&poll), "poll_new");
    registry = swiftpoll_poll_registry(poll);

    /* the server: 127.0.0.1, an ephemeral port */
    struct sockaddr_in addr;
    socklen_t addrlen = sizeof addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener >= 0)
        small_buffers(listener); /* inherited by the accepted connections */
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(listener, CLIENTS) < 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &addrlen) < 0)
        die("listen", errno);
    check(swiftpoll_registry_register(registry, listener, TOKEN_LISTENER, SWIFTPOLL_READABLE),
          "register listener");
    printf("server: listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));

    /* the clients: non-blocking connects, completed by a WRITABLE event */
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (clients[i].fd < 0)
            die("socket", errno);
        small_buffers(clients[i].fd);
        if (connect(clients[i].fd, (struct sockaddr *)&addr, sizeof addr) < 0 &&
            errno != EINPROGRESS)
            die("connect", errno);
        check(swiftpoll_registry_register(registry, clients[i].fd, TOKEN_CLIENT(i),
                                          SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE),
              "register client");
    }

    /* the event loop */
    swiftpoll_event events[64];
    long waits = 0, nevents = 0;
    time_t start = time(NULL);
    int done = 0;
    while (done < CLIENTS) {
        if (time(NULL) - start > TIME_LIMIT) {
            fprintf(stderr, "echo: not finished after %d s\n", TIME_LIMIT);
            return 1;
        }
        int n = swiftpoll_poll_wait(poll, events, 64, 100 * 1000000LL /* 100 ms */);
        waits++;
        if (n == -EINTR)
            continue;
        check(n, "wait");
        nevents += n;
        for (int i = 0; i < n; i++) {
            swiftpoll_token t = events[i].token;
            if (t == TOKEN_LISTENER)
                on_listener(listener);
            else if (t >= TOKEN_SERVER(0) && t < TOKEN_SERVER(CLIENTS))
                on_server(&servers[t - TOKEN_SERVER(0)], (int)(t - TOKEN_SERVER(0)));
            else if (t >= TOKEN_CLIENT(0) && t < TOKEN_CLIENT(CLIENTS))
                on_client(&clients[t - TOKEN_CLIENT(0)], (int)(t - TOKEN_CLIENT(0)), &events[i]);
        }
        done = 0;
        for (int i = 0; i < CLIENTS; i++)
            done += clients[i].done;
    }
    /* let the server side see the last closes (bounded) */
    for (int round = 0; round < 50; round++) {
        int open = 0;
        for (int i = 0; i < nservers; i++)
            open += servers[i].fd >= 0;
        if (open == 0)
            break;
        int n = swiftpoll_poll_wait(poll, events, 64, 100 * 1000000LL);
        waits++;
        for (int i = 0; i < n; i++)
            if (events[i].token >= TOKEN_SERVER(0) && events[i].token < TOKEN_SERVER(CLIENTS))
                on_server(&servers[events[i].token - TOKEN_SERVER(0)],
                          (int)(events[i].token - TOKEN_SERVER(0)));
    }
    int open = 0;
    for (int i = 0; i < nservers; i++)
        open += servers[i].fd >= 0;
    close(listener);
    swiftpoll_poll_free(poll);
    if (nservers != CLIENTS || open != 0 || total_echoed != (long)CLIENTS * BYTES) {
        fprintf(stderr, "echo: %d connections, %d still open, %ld bytes echoed\n", nservers,
                open, total_echoed);
        return 1;
    }
    printf("echo: %d connections, %ld bytes echoed in %ld waits (%ld events): ok\n", CLIENTS,
           total_echoed, waits, nevents);
    return 0;
}
