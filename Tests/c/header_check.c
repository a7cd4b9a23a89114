/*
 * header_check.c -- compiled (not linked) as C99, C11, C17 and C++11/14/17/20
 * with gcc and clang under -Wall -Wextra -Wpedantic -Werror by run.sh.
 * Includes the header twice (guard), uses every macro and type, and takes
 * the address of every function with its exact documented type, so a
 * prototype that changes fails to compile in every language mode.
 */
#include <swiftpoll.h>
#include <swiftpoll.h>

#ifdef __cplusplus
#include <cstddef>
#define SP_STATIC_ASSERT(c, m) static_assert(c, m)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define SP_STATIC_ASSERT(c, m) _Static_assert(c, m)
#else
#define SP_CAT2(a, b) a##b
#define SP_CAT(a, b) SP_CAT2(a, b)
#define SP_STATIC_ASSERT(c, m) typedef char SP_CAT(sp_assert_, __LINE__)[(c) ? 1 : -1]
#endif

SP_STATIC_ASSERT(sizeof(swiftpoll_event) == 16, "event size");
SP_STATIC_ASSERT(offsetof(swiftpoll_event, token) == 0, "token offset");
SP_STATIC_ASSERT(offsetof(swiftpoll_event, flags) == 8, "flags offset");
SP_STATIC_ASSERT(offsetof(swiftpoll_event, raw) == 12, "raw offset");
SP_STATIC_ASSERT(sizeof(swiftpoll_token) == 8, "token is 64-bit");
SP_STATIC_ASSERT(sizeof(swiftpoll_interest) == 4, "interest is 32-bit");
SP_STATIC_ASSERT(SWIFTPOLL_ABI_VERSION == 1, "ABI version 1");
SP_STATIC_ASSERT(SWIFTPOLL_READABLE == 0x01u && SWIFTPOLL_WRITABLE == 0x02u &&
                 SWIFTPOLL_PRIORITY == 0x04u && SWIFTPOLL_EDGE == 0x000u &&
                 SWIFTPOLL_LEVEL == 0x100u && SWIFTPOLL_ONESHOT == 0x200u,
                 "interest bits of ABI.md");
SP_STATIC_ASSERT(SWIFTPOLL_EVENT_READABLE == 0x01u && SWIFTPOLL_EVENT_WRITABLE == 0x02u &&
                 SWIFTPOLL_EVENT_ERROR == 0x04u && SWIFTPOLL_EVENT_READ_CLOSED == 0x08u &&
                 SWIFTPOLL_EVENT_WRITE_CLOSED == 0x10u && SWIFTPOLL_EVENT_PRIORITY == 0x20u,
                 "event bits of ABI.md");
SP_STATIC_ASSERT(SWIFTPOLL_BACKEND_DEFAULT == 0 && SWIFTPOLL_BACKEND_EPOLL == 1 &&
                 SWIFTPOLL_BACKEND_POLL == 2 && SWIFTPOLL_BACKEND_KQUEUE == 3,
                 "backend values of ABI.md");
SP_STATIC_ASSERT(SWIFTPOLL_VERSION_MAJOR >= 0 && SWIFTPOLL_VERSION_MINOR >= 0 &&
                 SWIFTPOLL_VERSION_PATCH >= 0, "version macros are integers");
SP_STATIC_ASSERT(sizeof(SWIFTPOLL_VERSION_STRING) >= 6, "version string");

/* every function with its exact type */
typedef uint32_t (*abi_version_fn)(void);
typedef const char *(*version_fn)(void);
typedef const char *(*strerror_fn)(int);
typedef int (*poll_new_fn)(swiftpoll_poll **);
typedef int (*poll_new_backend_fn)(swiftpoll_poll **, int);
typedef int (*poll_backend_fn)(const swiftpoll_poll *);
typedef const char *(*backend_name_fn)(int);
typedef void (*poll_free_fn)(swiftpoll_poll *);
typedef int (*poll_fd_fn)(const swiftpoll_poll *);
typedef swiftpoll_registry *(*poll_registry_fn)(swiftpoll_poll *);
typedef int (*poll_wait_fn)(swiftpoll_poll *, swiftpoll_event *, size_t, int64_t);
typedef int (*poll_wait_args_fn)(const swiftpoll_wait_args *);
typedef int (*register_fn)(swiftpoll_registry *, int, swiftpoll_token, swiftpoll_interest);
typedef int (*deregister_fn)(swiftpoll_registry *, int);
typedef int (*try_clone_fn)(const swiftpoll_registry *, swiftpoll_registry **);
typedef void (*registry_free_fn)(swiftpoll_registry *);
typedef int (*waker_new_fn)(swiftpoll_registry *, swiftpoll_token, swiftpoll_waker **);
typedef int (*waker_wake_fn)(swiftpoll_waker *);
typedef void (*waker_free_fn)(swiftpoll_waker *);

struct sp_all_functions {
    abi_version_fn abi_version;
    version_fn version;
    strerror_fn strerror_;
    poll_new_fn poll_new;
    poll_new_backend_fn poll_new_backend;
    poll_backend_fn poll_backend;
    backend_name_fn backend_name;
    poll_free_fn poll_free;
    poll_fd_fn poll_fd;
    poll_registry_fn poll_registry;
    poll_wait_fn poll_wait;
    poll_wait_args_fn poll_wait_args;
    register_fn reg;
    register_fn rereg;
    deregister_fn dereg;
    try_clone_fn try_clone;
    registry_free_fn registry_free;
    waker_new_fn waker_new;
    waker_wake_fn waker_wake;
    waker_free_fn waker_free;
};

struct sp_all_functions sp_all_functions_table(void);
struct sp_all_functions sp_all_functions_table(void)
{
    struct sp_all_functions t;
    t.abi_version = swiftpoll_abi_version;
    t.version = swiftpoll_version;
    t.strerror_ = swiftpoll_strerror;
    t.poll_new = swiftpoll_poll_new;
    t.poll_new_backend = swiftpoll_poll_new_backend;
    t.poll_backend = swiftpoll_poll_backend;
    t.backend_name = swiftpoll_backend_name;
    t.poll_free = swiftpoll_poll_free;
    t.poll_fd = swiftpoll_poll_fd;
    t.poll_registry = swiftpoll_poll_registry;
    t.poll_wait = swiftpoll_poll_wait;
    t.poll_wait_args = swiftpoll_poll_wait_args;
    t.reg = swiftpoll_registry_register;
    t.rereg = swiftpoll_registry_reregister;
    t.dereg = swiftpoll_registry_deregister;
    t.try_clone = swiftpoll_registry_try_clone;
    t.registry_free = swiftpoll_registry_free;
    t.waker_new = swiftpoll_waker_new;
    t.waker_wake = swiftpoll_waker_wake;
    t.waker_free = swiftpoll_waker_free;
    return t;
}

/* the wait_args struct holds exactly the wait arguments */
swiftpoll_wait_args sp_make_args(swiftpoll_poll *p, swiftpoll_event *e);
swiftpoll_wait_args sp_make_args(swiftpoll_poll *p, swiftpoll_event *e)
{
    swiftpoll_wait_args a;
    a.poll = p;
    a.events = e;
    a.capacity = (size_t)16;
    a.timeout_ns = (int64_t)-1;
    return a;
}

/* interest and flag macros combine into their typedefs without casts */
swiftpoll_interest sp_interest(void);
swiftpoll_interest sp_interest(void)
{
    swiftpoll_interest i = SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE | SWIFTPOLL_PRIORITY |
                           SWIFTPOLL_EDGE | SWIFTPOLL_ONESHOT;
    return i | SWIFTPOLL_LEVEL;
}

int sp_flags(const swiftpoll_event *e);
int sp_flags(const swiftpoll_event *e)
{
    return (e->flags & (SWIFTPOLL_EVENT_READABLE | SWIFTPOLL_EVENT_WRITABLE |
                        SWIFTPOLL_EVENT_ERROR | SWIFTPOLL_EVENT_READ_CLOSED |
                        SWIFTPOLL_EVENT_WRITE_CLOSED | SWIFTPOLL_EVENT_PRIORITY)) != 0;
}
