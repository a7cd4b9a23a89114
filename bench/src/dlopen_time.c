/* dlopen_time.c -- time one cold dlopen(RTLD_NOW) + dlsym of a library in a
 * fresh process: prints "DLOPEN path=... ns=N".  The driver runs it many
 * times and takes the median. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s LIB SYMBOL\n", argv[0]); return 2; }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    void *s = h ? dlsym(h, argv[2]) : NULL;
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (!h || !s) { fprintf(stderr, "dlopen_time: %s\n", dlerror()); return 1; }
    long long ns = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("DLOPEN path=%s ns=%lld\n", argv[1], ns);
    return 0;
}
