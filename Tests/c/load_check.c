/*
 * load_check.c -- the smallest real user of the library: run by run.sh with
 * an empty environment (no Swift toolchain on PATH or LD_LIBRARY_PATH) to
 * show that the installed library loads and works on libc alone.
 */
#include <stdio.h>
#include <string.h>
#include <swiftpoll.h>

int main(void)
{
    swiftpoll_poll *p = NULL;
    swiftpoll_waker *w = NULL;
    swiftpoll_event ev[2];
    if (swiftpoll_abi_version() != SWIFTPOLL_ABI_VERSION ||
        strcmp(swiftpoll_version(), SWIFTPOLL_VERSION_STRING) != 0 ||
        swiftpoll_poll_new(&p) != 0 ||
        swiftpoll_waker_new(swiftpoll_poll_registry(p), 42, &w) != 0 ||
        swiftpoll_waker_wake(w) != 0 || swiftpoll_poll_wait(p, ev, 2, -1) != 1 ||
        ev[0].token != 42) {
        printf("load_check: FAIL\n");
        return 1;
    }
    swiftpoll_waker_free(w);
    swiftpoll_poll_free(p);
    printf("load_check: ok (libswiftpoll %s)\n", swiftpoll_version());
    return 0;
}
