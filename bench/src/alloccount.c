/* alloccount.c -- LD_PRELOAD heap allocation counter.
 * Interposes malloc, calloc, realloc, posix_memalign, aligned_alloc,
 * memalign and valloc (everything that can hand out heap memory, which is
 * what Embedded Swift's runtime and libc use), counts each call, and
 * forwards to glibc's own entry points.  bench_alloc_count() returns the
 * count; the benchmarks read it through a weak reference. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);

static unsigned long g_count;

#define COUNT() __atomic_fetch_add(&g_count, 1, __ATOMIC_RELAXED)

__attribute__((visibility("default"))) unsigned long bench_alloc_count(void) {
    return __atomic_load_n(&g_count, __ATOMIC_RELAXED);
}

void *malloc(size_t n) { COUNT(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { COUNT(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { COUNT(); return __libc_realloc(p, n); }
void *memalign(size_t al, size_t n) { COUNT(); return __libc_memalign(al, n); }
void *aligned_alloc(size_t al, size_t n) { COUNT(); return __libc_memalign(al, n); }
void *valloc(size_t n) { COUNT(); return __libc_valloc(n); }
int posix_memalign(void **out, size_t al, size_t n) {
    COUNT();
    if (al < sizeof(void *) || (al & (al - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(al, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
