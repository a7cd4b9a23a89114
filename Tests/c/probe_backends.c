/*
 * probe_backends.c -- for run.sh: prints the backends this library can run
 * here, one name a line, the default's first (what swiftpoll_poll_new picks
 * with SWIFTPOLL_BACKEND unset). A backend is listed if
 * swiftpoll_poll_new_backend gives 0 for it. Exit status 1 if none.
 */
#include <stdio.h>
#include <stdlib.h>

#include <swiftpoll.h>

int main(void)
{
    unsetenv("SWIFTPOLL_BACKEND");
    swiftpoll_poll *p = NULL;
    int dflt = -1;
    if (swiftpoll_poll_new(&p) == 0) {
        dflt = swiftpoll_poll_backend(p);
        swiftpoll_poll_free(p);
        printf("%s\n", swiftpoll_backend_name(dflt));
    }
    int n = dflt > 0;
    for (int b = SWIFTPOLL_BACKEND_EPOLL; b <= SWIFTPOLL_BACKEND_KQUEUE; b++) {
        p = NULL;
        if (b == dflt || swiftpoll_poll_new_backend(&p, b) != 0)
            continue;
        swiftpoll_poll_free(p);
        printf("%s\n", swiftpoll_backend_name(b));
        n++;
    }
    return n > 0 ? 0 : 1;
}
