/*
 * t_ffi.c -- the library as an FFI sees it: dlopen by path, dlsym every
 * exported function, and call each through libffi's ffi_call with the exact
 * argument and return types of swiftpoll.h (as Python ctypes, Ruby, Lua,
 * Java's FFI do). A real round trip: poll, pipe, register, write, wait,
 * reregister, deregister, wait_args, try_clone, waker, strerror, frees.
 * Catches a Swift @_cdecl signature that drifted from the header (a token
 * or size_t truncated to 32 bits, an int result not sign-extended, ...).
 *
 * Usage: t_ffi /path/to/libswiftpoll.so.0
 */
#include "check.h"

#include <dlfcn.h>
#include <ffi.h>

_Static_assert(sizeof(size_t) == 8, "size_t is passed as ffi_type_uint64 on LP64");

typedef struct {
    const char *name;
    void *fn;
    ffi_cif cif;
    ffi_type *ret;
    unsigned nargs;
    ffi_type *args[4];
} fn_t;

/* Every function of swiftpoll.h, with its exact C types. */
static fn_t fns[] = {
#define P &ffi_type_pointer
    { "swiftpoll_abi_version", 0, {0}, &ffi_type_uint32, 0, { 0 } },
    { "swiftpoll_version", 0, {0}, P, 0, { 0 } },
    { "swiftpoll_strerror", 0, {0}, P, 1, { &ffi_type_sint } },
    { "swiftpoll_poll_new", 0, {0}, &ffi_type_sint, 1, { P } },
    { "swiftpoll_poll_new_backend", 0, {0}, &ffi_type_sint, 2, { P, &ffi_type_sint } },
    { "swiftpoll_poll_backend", 0, {0}, &ffi_type_sint, 1, { P } },
    { "swiftpoll_backend_name", 0, {0}, P, 1, { &ffi_type_sint } },
    { "swiftpoll_poll_free", 0, {0}, &ffi_type_void, 1, { P } },
    { "swiftpoll_poll_fd", 0, {0}, &ffi_type_sint, 1, { P } },
    { "swiftpoll_poll_registry", 0, {0}, P, 1, { P } },
    { "swiftpoll_poll_wait", 0, {0}, &ffi_type_sint, 4, { P, P, &ffi_type_uint64, &ffi_type_sint64 } },
    { "swiftpoll_poll_wait_args", 0, {0}, &ffi_type_sint, 1, { P } },
    { "swiftpoll_registry_register", 0, {0}, &ffi_type_sint, 4, { P, &ffi_type_sint, &ffi_type_uint64, &ffi_type_uint32 } },
    { "swiftpoll_registry_reregister", 0, {0}, &ffi_type_sint, 4, { P, &ffi_type_sint, &ffi_type_uint64, &ffi_type_uint32 } },
    { "swiftpoll_registry_deregister", 0, {0}, &ffi_type_sint, 2, { P, &ffi_type_sint } },
    { "swiftpoll_registry_try_clone", 0, {0}, &ffi_type_sint, 2, { P, P } },
    { "swiftpoll_registry_free", 0, {0}, &ffi_type_void, 1, { P } },
    { "swiftpoll_waker_new", 0, {0}, &ffi_type_sint, 3, { P, &ffi_type_uint64, P } },
    { "swiftpoll_waker_wake", 0, {0}, &ffi_type_sint, 1, { P } },
    { "swiftpoll_waker_free", 0, {0}, &ffi_type_void, 1, { P } },
#undef P
};
enum { NFNS = sizeof fns / sizeof fns[0] };

static fn_t *fn(const char *name)
{
    for (int i = 0; i < NFNS; i++)
        if (strcmp(fns[i].name, name) == 0)
            return &fns[i];
    fprintf(stderr, "no function %s in the table\n", name);
    exit(2);
}

static int used[NFNS];

/* ffi_call with the return value widened as libffi does (ffi_arg) */
static ffi_arg call(const char *name, void **argv)
{
    fn_t *f = fn(name);
    used[f - fns] = 1;
    ffi_arg rv = 0;
    if (!f->fn)
        return (ffi_arg)-1;
    ffi_call(&f->cif, FFI_FN(f->fn), f->ret == &ffi_type_void ? NULL : &rv, argv);
    return rv;
}
static int call_int(const char *name, void **argv) { return (int)(ffi_sarg)call(name, argv); }
static void *call_ptr(const char *name, void **argv)
{
    fn_t *f = fn(name);
    used[f - fns] = 1;
    void *rv = NULL;
    if (f->fn)
        ffi_call(&f->cif, FFI_FN(f->fn), &rv, argv);
    return rv;
}

int main(int argc, char **argv)
{
    watchdog_start("t_ffi");
    if (argc != 2) {
        fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    CHECK_MSG(lib != NULL, "dlopen %s: %s", argv[1], dlerror());
    if (!lib)
        return check_done("t_ffi");
    for (int i = 0; i < NFNS; i++) {
        fns[i].fn = dlsym(lib, fns[i].name);
        CHECK_MSG(fns[i].fn != NULL, "dlsym %s", fns[i].name);
        CHECK_MSG(ffi_prep_cif(&fns[i].cif, FFI_DEFAULT_ABI, fns[i].nargs, fns[i].ret,
                               fns[i].args) == FFI_OK,
                  "ffi_prep_cif %s", fns[i].name);
    }
    int fds0 = fd_count();

    /* library */
    CHECK_EQ((uint32_t)call("swiftpoll_abi_version", NULL), SWIFTPOLL_ABI_VERSION);
    const char *v = call_ptr("swiftpoll_version", NULL);
    CHECK_MSG(v && strcmp(v, SWIFTPOLL_VERSION_STRING) == 0, "version %s", v ? v : "(null)");
    {
        int e = -EBADF;
        void *a[] = { &e };
        const char *s = call_ptr("swiftpoll_strerror", a);
        CHECK_MSG(s && strcmp(s, "Bad file descriptor") == 0, "strerror %s", s ? s : "(null)");
        e = EBADF;
        const char *s2 = call_ptr("swiftpoll_strerror", a);
        CHECK(s2 && s && strcmp(s, s2) == 0);
    }

    /* poll */
    swiftpoll_poll *p = NULL;
    {
        void *pp = NULL; /* NULL out: -EINVAL, sign-extended through ffi_sarg */
        void *a[] = { &pp };
        CHECK_EQ(call_int("swiftpoll_poll_new", a), -EINVAL);
        pp = &p;
        CHECK_EQ(call_int("swiftpoll_poll_new", a), 0);
    }
    CHECK(p != NULL);
    if (!p)
        return check_done("t_ffi");
    void *a_p[] = { &p };
    int backend = call_int("swiftpoll_poll_backend", a_p);
    CHECK_EQ(backend, test_backend());
    int epfd = call_int("swiftpoll_poll_fd", a_p);
    /* poll(2) has no fd: -ENOTSUP, sign-extended */
    if (backend == SWIFTPOLL_BACKEND_POLL)
        CHECK_EQ(epfd, -ENOTSUP);
    else
        CHECK(epfd >= 0);
    {
        const char *name = call_ptr("swiftpoll_backend_name", (void *[]){ &backend });
        CHECK_MSG(name && strcmp(name, test_backend_name()) == 0, "backend name %s",
                  name ? name : "(null)");
        int unknown = -1;
        CHECK(call_ptr("swiftpoll_backend_name", (void *[]){ &unknown }) == NULL);
        /* a second poll, over the same backend by number; -EINVAL for 4 */
        swiftpoll_poll *q = NULL, **qp = &q;
        CHECK_EQ(call_int("swiftpoll_poll_new_backend", (void *[]){ &qp, &backend }), 0);
        CHECK(q != NULL);
        CHECK_EQ(call_int("swiftpoll_poll_backend", (void *[]){ &q }), backend);
        call("swiftpoll_poll_free", (void *[]){ &q });
        int four = 4;
        q = NULL;
        CHECK_EQ(call_int("swiftpoll_poll_new_backend", (void *[]){ &qp, &four }), -EINVAL);
        CHECK(q == NULL);
        void *nullp = NULL;
        CHECK_EQ(call_int("swiftpoll_poll_backend", (void *[]){ &nullp }), -EINVAL);
    }
    swiftpoll_registry *reg = call_ptr("swiftpoll_poll_registry", a_p);
    CHECK(reg != NULL);

    /* register a pipe with a token that needs all 64 bits */
    int pfd[2];
    make_pipe(pfd);
    swiftpoll_token tok = 0xfedcba9876543210ull;
    uint32_t interest = SWIFTPOLL_READABLE;
    int fd = pfd[0];
    void *a_reg[] = { &reg, &fd, &tok, &interest };
    CHECK_EQ(call_int("swiftpoll_registry_register", a_reg), 0);
    CHECK_EQ(call_int("swiftpoll_registry_register", a_reg), -EEXIST);
    {
        uint32_t bad = SWIFTPOLL_LEVEL | SWIFTPOLL_ONESHOT | SWIFTPOLL_READABLE;
        void *a_bad[] = { &reg, &fd, &tok, &bad };
        CHECK_EQ(call_int("swiftpoll_registry_reregister", a_bad), -EINVAL);
    }
    write_byte(pfd[1]);

    swiftpoll_event ev[8];
    memset(ev, 0, sizeof ev);
    swiftpoll_event *evp = ev;
    size_t cap = 8;
    int64_t timeout = -1;
    void *a_wait[] = { &p, &evp, &cap, &timeout };
    int n = call_int("swiftpoll_poll_wait", a_wait);
    CHECK_EQ(n, 1);
    CHECK_MSG(ev[0].token == tok, "token 0x%" PRIx64, (uint64_t)ev[0].token);
    CHECK_EQ(ev[0].flags, SWIFTPOLL_EVENT_READABLE);
    CHECK_EQ(ev[0].raw, EPOLLIN);
    /* (a capacity above the buffer would be a lie the kernel may answer
     * with EFAULT, so size_t is exercised with honest values only) */
    timeout = 0;
    /* edge: nothing new; poll(2) reports edge as level (the byte is unread) */
    CHECK_EQ(call_int("swiftpoll_poll_wait", a_wait), backend == SWIFTPOLL_BACKEND_POLL ? 1 : 0);
    cap = 0;
    CHECK_EQ(call_int("swiftpoll_poll_wait", a_wait), -EINVAL);
    cap = 8;
    /* a timeout of 2^32 ns (low 32 bits 0) with a level-ready fd, after a
     * reregister with a 64-bit token */
    timeout = (int64_t)1 << 32;
    {
        tok = 0x0123456789abcdefull;
        interest = SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL;
        CHECK_EQ(call_int("swiftpoll_registry_reregister", a_reg), 0);
        n = call_int("swiftpoll_poll_wait", a_wait);
        CHECK_EQ(n, 1);
        CHECK_MSG(ev[0].token == tok, "token 0x%" PRIx64, (uint64_t)ev[0].token);
    }
    /* wait_args */
    {
        swiftpoll_wait_args wa = { p, ev, 8, 0 };
        swiftpoll_wait_args *wap = &wa;
        void *a[] = { &wap };
        CHECK_EQ(call_int("swiftpoll_poll_wait_args", a), 1);
        CHECK_EQ(ev[0].token, tok);
    }
    /* deregister: nothing more */
    void *a_dereg[] = { &reg, &fd };
    CHECK_EQ(call_int("swiftpoll_registry_deregister", a_dereg), 0);
    CHECK_EQ(call_int("swiftpoll_registry_deregister", a_dereg), -ENOENT);
    timeout = 0;
    CHECK_EQ(call_int("swiftpoll_poll_wait", a_wait), 0);

    /* try_clone, register through it */
    swiftpoll_registry *clone = NULL;
    swiftpoll_registry **clonep = &clone;
    void *a_clone[] = { &reg, &clonep };
    CHECK_EQ(call_int("swiftpoll_registry_try_clone", a_clone), 0);
    CHECK(clone != NULL && clone != reg);
    {
        int wfd = pfd[1];
        swiftpoll_token t2 = UINT64_MAX;
        uint32_t in2 = SWIFTPOLL_WRITABLE;
        void *a[] = { &clone, &wfd, &t2, &in2 };
        CHECK_EQ(call_int("swiftpoll_registry_register", a), 0);
        timeout = -1;
        n = call_int("swiftpoll_poll_wait", a_wait);
        CHECK_EQ(n, 1);
        CHECK_EQ(ev[0].token, UINT64_MAX);
        CHECK_EQ(ev[0].flags, SWIFTPOLL_EVENT_WRITABLE);
        void *ad[] = { &clone, &wfd };
        CHECK_EQ(call_int("swiftpoll_registry_deregister", ad), 0);
    }

    /* waker */
    swiftpoll_waker *w = NULL, **wp = &w;
    swiftpoll_token wtok = 0x8000000000000001ull;
    void *a_wnew[] = { &clone, &wtok, &wp };
    CHECK_EQ(call_int("swiftpoll_waker_new", a_wnew), 0);
    CHECK(w != NULL);
    CHECK_EQ(call_int("swiftpoll_waker_new", a_wnew), -EEXIST);
    void *a_w[] = { &w };
    CHECK_EQ(call_int("swiftpoll_waker_wake", a_w), 0);
    CHECK_EQ(call_int("swiftpoll_waker_wake", a_w), 0);
    timeout = -1;
    n = call_int("swiftpoll_poll_wait", a_wait);
    CHECK_EQ(n, 1);
    CHECK_MSG(ev[0].token == wtok, "waker token 0x%" PRIx64, (uint64_t)ev[0].token);
    CHECK(ev[0].flags & SWIFTPOLL_EVENT_READABLE);
    {
        void *nullp = NULL;
        void *a[] = { &nullp };
        CHECK_EQ(call_int("swiftpoll_waker_wake", a), -EINVAL);
        CHECK_EQ(call_int("swiftpoll_poll_fd", a), -EINVAL);
        CHECK(call_ptr("swiftpoll_poll_registry", a) == NULL);
        call("swiftpoll_waker_free", a);
        call("swiftpoll_registry_free", a);
        call("swiftpoll_poll_free", a);
    }

    /* frees */
    call("swiftpoll_waker_free", a_w);
    void *a_cl[] = { &clone };
    call("swiftpoll_registry_free", a_cl);
    void *a_reg_only[] = { &reg };
    call("swiftpoll_registry_free", a_reg_only); /* own registry: no-op */
    call("swiftpoll_poll_free", a_p);
    close(pfd[0]);
    close(pfd[1]);
    CHECK_EQ(fd_count(), fds0);

    for (int i = 0; i < NFNS; i++)
        CHECK_MSG(used[i], "%s never called", fns[i].name);
    dlclose(lib);
    return check_done("t_ffi");
}
