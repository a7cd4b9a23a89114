/*
 * hello.c -- the quick start: a pipe, register, write, wait, print the event.
 *
 *   cc hello.c $(pkg-config --cflags --libs swiftpoll) -o hello && ./hello
 */
#include <swiftpoll.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    swiftpoll_poll *poll;
    int err = swiftpoll_poll_new(&poll);
    if (err < 0) {
        fprintf(stderr, "poll_new: %s\n", swiftpoll_strerror(err));
        return 1;
    }
    swiftpoll_registry *registry = swiftpoll_poll_registry(poll); /* borrowed */

    int fds[2];
    if (pipe(fds) < 0)
        return 1;
    err = swiftpoll_registry_register(registry, fds[0], 42, SWIFTPOLL_READABLE);
    if (err < 0) {
        fprintf(stderr, "register: %s\n", swiftpoll_strerror(err));
        return 1;
    }
    if (write(fds[1], "x", 1) != 1)
        return 1;

    swiftpoll_event events[64];
    int n = swiftpoll_poll_wait(poll, events, 64, -1 /* block until an event */);
    for (int i = 0; i < n; i++)
        printf("token %llu readable=%d writable=%d read_closed=%d\n",
               (unsigned long long)events[i].token,
               !!(events[i].flags & SWIFTPOLL_EVENT_READABLE),
               !!(events[i].flags & SWIFTPOLL_EVENT_WRITABLE),
               !!(events[i].flags & SWIFTPOLL_EVENT_READ_CLOSED));

    swiftpoll_poll_free(poll);
    close(fds[0]);
    close(fds[1]);
    if (n == 1 && events[0].token == 42) {
        printf("hello: ok (libswiftpoll %s)\n", swiftpoll_version());
        return 0;
    }
    fprintf(stderr, "hello: unexpected wait result %d\n", n);
    return 1;
}
