/*
 * swiftpoll.h -- the public C interface of libswiftpoll.
 *
 * libswiftpoll is a readiness poller in the model of Rust's mio
 * (Poll / Registry / Events / Token / Interest / Waker) over each operating
 * system's own selector: epoll on Linux, kqueue on macOS and the BSDs, and
 * poll(2) as the portable fallback (see "Backends" below).
 * Register file descriptors with a token and an interest, wait, and get back
 * an array of (token, readiness) events.
 *
 * Copyright (c) 2026 The swiftpoll authors.  MIT License: see the LICENSE
 * file that comes with the library (installed as
 * share/licenses/swiftpoll/LICENSE).
 *
 * Conventions (they hold for every function below):
 *   - A fallible function returns an int: >= 0 on success, a NEGATIVE errno
 *     on failure (-EBADF, -EEXIST, -ENOENT, -EINVAL, -EINTR, ...).
 *     swiftpoll_strerror() gives the text for either sign.
 *   - Every function leaves the caller's errno exactly as it was and never
 *     reads it.  Nothing prints, nothing aborts on bad input.
 *   - Handles are opaque.  NULL where a handle is expected gives -EINVAL
 *     (a no-op for the *_free functions).  Out-parameters are written only
 *     on success.  No function leaks a file descriptor, also on error paths.
 *   - swiftpoll_poll_wait, swiftpoll_registry_register / _reregister /
 *     _deregister and swiftpoll_waker_wake allocate no memory.
 *
 * Link with: cc app.c $(pkg-config --cflags --libs swiftpoll)
 * ABI contract: ABI version 1 (SWIFTPOLL_ABI_VERSION); additions after
 * version 1.0 of the contract are marked "Addition".
 */
#ifndef SWIFTPOLL_H
#define SWIFTPOLL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------ */

#define SWIFTPOLL_VERSION_MAJOR 0
#define SWIFTPOLL_VERSION_MINOR 2
#define SWIFTPOLL_VERSION_PATCH 0
/* "MAJOR.MINOR.PATCH" of this header; swiftpoll_version() gives the library's. */
#define SWIFTPOLL_VERSION_STRING "0.2.0"
/* Incremented only on an incompatible change; swiftpoll_abi_version() gives the library's. */
#define SWIFTPOLL_ABI_VERSION 1

#if defined(__GNUC__) || defined(__clang__)
#define SWIFTPOLL_API __attribute__((visibility("default")))
#else
#define SWIFTPOLL_API
#endif

/* ------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------ */

/* A poll: one selector (an epoll or kqueue instance, or a poll(2) table) and
 * the right to wait on it. */
typedef struct swiftpoll_poll swiftpoll_poll;
/* A registry: adds, changes and removes registrations of a poll. */
typedef struct swiftpoll_registry swiftpoll_registry;
/* A waker: makes a wait return an event from any thread or signal handler. */
typedef struct swiftpoll_waker swiftpoll_waker;

/* Chosen by the caller at registration; returned in every event for that fd.
 * Any value is legal; uniqueness is not checked. */
typedef uint64_t swiftpoll_token;

/* SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE | SWIFTPOLL_PRIORITY, plus at most
 * one trigger mode (SWIFTPOLL_LEVEL or SWIFTPOLL_ONESHOT; edge is the default). */
typedef uint32_t swiftpoll_interest;

/* One readiness event, as written by swiftpoll_poll_wait. */
typedef struct swiftpoll_event {
    swiftpoll_token token; /* offset 0: the token given at registration  */
    uint32_t flags;        /* offset 8: SWIFTPOLL_EVENT_* bits            */
    uint32_t raw;          /* offset 12: the backend's own readiness bits
                              (epoll: the EPOLL* bits the kernel returned) */
} swiftpoll_event;

#if defined(__cplusplus) && __cplusplus >= 201103L
static_assert(sizeof(swiftpoll_event) == 16, "swiftpoll_event is 16 bytes");
static_assert(alignof(swiftpoll_event) == 8, "swiftpoll_event is 8-aligned");
static_assert(offsetof(swiftpoll_event, flags) == 8, "flags at offset 8");
static_assert(offsetof(swiftpoll_event, raw) == 12, "raw at offset 12");
#else
/* C99 has no _Static_assert: a negative array size fails the build instead. */
typedef char swiftpoll_assert_event_size[sizeof(swiftpoll_event) == 16 ? 1 : -1];
typedef char swiftpoll_assert_event_token[offsetof(swiftpoll_event, token) == 0 ? 1 : -1];
typedef char swiftpoll_assert_event_flags[offsetof(swiftpoll_event, flags) == 8 ? 1 : -1];
typedef char swiftpoll_assert_event_raw[offsetof(swiftpoll_event, raw) == 12 ? 1 : -1];
#endif

/* ------------------------------------------------------------------------
 * Interest: what to watch, and the trigger mode
 * ------------------------------------------------------------------------ */

#define SWIFTPOLL_READABLE 0x01u  /* readable (also reports peer shutdown)   */
#define SWIFTPOLL_WRITABLE 0x02u  /* writable                                */
#define SWIFTPOLL_PRIORITY 0x04u  /* priority / out-of-band data (EPOLLPRI)  */
#define SWIFTPOLL_EDGE     0x000u /* edge-triggered: the default, mio's mode */
#define SWIFTPOLL_LEVEL    0x100u /* level-triggered, as selectors/asyncio   */
#define SWIFTPOLL_ONESHOT  0x200u /* report once, then disarmed until
                                     swiftpoll_registry_reregister          */

/* ------------------------------------------------------------------------
 * Event flags (swiftpoll_event.flags); mio's Event::is_* formulas
 * ------------------------------------------------------------------------ */

#define SWIFTPOLL_EVENT_READABLE     0x01u /* EPOLLIN or EPOLLPRI                     */
#define SWIFTPOLL_EVENT_WRITABLE     0x02u /* EPOLLOUT                                */
#define SWIFTPOLL_EVENT_ERROR        0x04u /* EPOLLERR                                */
#define SWIFTPOLL_EVENT_READ_CLOSED  0x08u /* EPOLLHUP, or EPOLLIN with EPOLLRDHUP    */
#define SWIFTPOLL_EVENT_WRITE_CLOSED 0x10u /* EPOLLHUP, or EPOLLOUT with EPOLLERR,
                                              or EPOLLERR alone                       */
#define SWIFTPOLL_EVENT_PRIORITY     0x20u /* EPOLLPRI                                */

/* ------------------------------------------------------------------------
 * Library
 * ------------------------------------------------------------------------ */

/* The library's ABI version; equals SWIFTPOLL_ABI_VERSION (1) for a library
 * this header fits.  Never fails.  Thread-safe. */
SWIFTPOLL_API uint32_t swiftpoll_abi_version(void);

/* The library's version, "MAJOR.MINOR.PATCH"; static storage, never NULL.
 * Thread-safe. */
SWIFTPOLL_API const char *swiftpoll_version(void);

/* The text for an error code of this library, given as -EBADF or EBADF alike
 * ("Bad file descriptor").  Static storage, never NULL, never changes;
 * unknown codes give "Unknown error".  Thread-safe and async-signal-safe. */
SWIFTPOLL_API const char *swiftpoll_strerror(int err);

/* ------------------------------------------------------------------------
 * Backends (Addition, library 0.2)
 *
 * A poll runs over one backend, chosen when it is made:
 *   SWIFTPOLL_BACKEND_EPOLL   Linux epoll: O(1) per wait in the number of
 *                             registrations; the default on Linux.
 *   SWIFTPOLL_BACKEND_POLL    poll(2): any POSIX system; O(registrations)
 *                             per wait.  Edge-triggered registrations are
 *                             reported as level-triggered (an fd that stays
 *                             ready is reported by every wait: never a lost
 *                             wakeup, possibly a repeated one); the poll has
 *                             no file descriptor (swiftpoll_poll_fd gives
 *                             -ENOTSUP).
 *   SWIFTPOLL_BACKEND_KQUEUE  kqueue: macOS and the BSDs; the default there.
 *                             SWIFTPOLL_PRIORITY is -ENOTSUP.
 * What differs per backend (event flags, `raw` bits, timeouts, limits) is in
 * docs/BACKENDS.md.  Every function keeps the contract written here on every
 * backend unless its text names a backend.
 * ------------------------------------------------------------------------ */

#define SWIFTPOLL_BACKEND_DEFAULT 0 /* swiftpoll_poll_new's choice            */
#define SWIFTPOLL_BACKEND_EPOLL   1
#define SWIFTPOLL_BACKEND_POLL    2
#define SWIFTPOLL_BACKEND_KQUEUE  3

/* Addition: the name of a backend value: "epoll", "poll", "kqueue", or
 * "default" for SWIFTPOLL_BACKEND_DEFAULT; static storage.  NULL for an
 * unknown value.  Thread-safe. */
SWIFTPOLL_API const char *swiftpoll_backend_name(int backend);

/* ------------------------------------------------------------------------
 * Poll
 * ------------------------------------------------------------------------ */

/* Creates a poll over the default backend (close-on-exec) and stores it in
 * *out.  The default is the environment variable SWIFTPOLL_BACKEND if it is
 * set ("epoll", "poll" or "kqueue"; read once per process), else the
 * system's best: epoll on Linux (poll(2) if the kernel refuses epoll with
 * ENOSYS, as a seccomp sandbox may), kqueue on macOS and the BSDs.
 * Returns 0, or:
 *   -EINVAL  out is NULL; SWIFTPOLL_BACKEND names an unknown backend or one
 *            not usable here (never silently another backend)
 *   -EMFILE, -ENFILE  no file descriptor left
 *   -ENOMEM  out of memory
 * *out is written only on success.  Free with swiftpoll_poll_free.
 * Thread-safe. */
SWIFTPOLL_API int swiftpoll_poll_new(swiftpoll_poll **out);

/* Addition: swiftpoll_poll_new over the given backend (SWIFTPOLL_BACKEND_*;
 * SWIFTPOLL_BACKEND_DEFAULT is exactly swiftpoll_poll_new).
 * Returns 0, or as swiftpoll_poll_new, or:
 *   -EINVAL   backend is not a SWIFTPOLL_BACKEND_* value
 *   -ENOTSUP  the backend is not built into this library or the system
 *             refuses it
 * Thread-safe. */
SWIFTPOLL_API int swiftpoll_poll_new_backend(swiftpoll_poll **out, int backend);

/* Addition: the backend of a poll (SWIFTPOLL_BACKEND_EPOLL, _POLL or
 * _KQUEUE, never _DEFAULT), or -EINVAL if poll is NULL.  Thread-safe. */
SWIFTPOLL_API int swiftpoll_poll_backend(const swiftpoll_poll *poll);

/* Frees a poll: closes its epoll fd and frees its registry.  NULL: no-op.
 * Registries made by swiftpoll_registry_try_clone and wakers stay valid.
 * Must not race with any other call on the same poll or its own registry. */
SWIFTPOLL_API void swiftpoll_poll_free(swiftpoll_poll *poll);

/* The poll's epoll (or kqueue) file descriptor, to nest it in another
 * poller; owned by the poll: do not close it.  -EINVAL if poll is NULL,
 * -ENOTSUP on the poll(2) backend, which has none.  Thread-safe. */
SWIFTPOLL_API int swiftpoll_poll_fd(const swiftpoll_poll *poll);

/* The poll's own registry, borrowed: valid until swiftpoll_poll_free;
 * swiftpoll_registry_free on it does nothing.  NULL if poll is NULL.
 * Thread-safe. */
SWIFTPOLL_API swiftpoll_registry *swiftpoll_poll_registry(swiftpoll_poll *poll);

/* Waits for events and writes up to `capacity` of them to `events`.
 * timeout_ns < 0 blocks until an event comes; 0 returns at once; > 0 waits
 * at least that long unless events come first: nanosecond precision through
 * epoll_pwait2 where the kernel has it, else milliseconds rounded UP (1 ns
 * waits 1 ms; never rounded down to a busy loop); poll(2) and kqueue wait
 * with nanosecond timespecs (kqueue: at most 100,000,000 s per wait).
 * Returns the number of events written (0 on timeout), or:
 *   -EINVAL  poll or events is NULL, or capacity is 0
 *   -EINTR   a signal interrupted the wait (never retried inside: retry,
 *            with the remaining time, after handling it)
 *   -EBUSY   another thread is waiting on this poll right now
 * Events left over beyond `capacity` are reported by the next call (poll(2):
 * the next call starts after the last fd reported, so none starves).  A
 * capacity above INT_MAX/12 is treated as INT_MAX/12.  Allocates nothing
 * (poll(2): after registrations grew the table, the first wait may free the
 * waiter's old copy of it).
 * Not a pthread cancellation point (the system call is issued directly).
 * Thread-safety: one waiting thread per poll (others get -EBUSY); any thread
 * may use the registry and wakers meanwhile, and a registration made during
 * a wait is seen by that wait (poll(2): the wait is woken and goes on with
 * the time that is left). */
SWIFTPOLL_API int swiftpoll_poll_wait(swiftpoll_poll *poll, swiftpoll_event *events,
                                      size_t capacity, int64_t timeout_ns);

/* Addition: the arguments of swiftpoll_poll_wait in one struct, for bindings
 * whose cost grows with the number of arguments per call (ctypes, libffi):
 * build it once, change timeout_ns as needed, pass its address. */
typedef struct swiftpoll_wait_args {
    swiftpoll_poll *poll;
    swiftpoll_event *events;
    size_t capacity;
    int64_t timeout_ns;
} swiftpoll_wait_args;

/* Addition: swiftpoll_poll_wait(args->poll, args->events, args->capacity,
 * args->timeout_ns), with the same results; -EINVAL if args is NULL. */
SWIFTPOLL_API int swiftpoll_poll_wait_args(const swiftpoll_wait_args *args);

/* ------------------------------------------------------------------------
 * Registry
 * ------------------------------------------------------------------------ */

/* Watches fd for `interest`; events for it carry `token`.  If fd is already
 * ready, the first wait reports it at once.  The kernel is always asked for
 * EPOLLRDHUP with READABLE, so a peer's shutdown is reported as READ_CLOSED.
 * Returns 0, or:
 *   -EINVAL  r is NULL; interest has none of READABLE/WRITABLE/PRIORITY, an
 *            unknown bit, or LEVEL and ONESHOT together; fd is the poll's
 *            own epoll fd
 *   -EEXIST  fd is already registered with this poll
 *   -EBADF   fd is not an open file descriptor
 *   -EPERM   fd is a regular file or a directory (epoll cannot watch them;
 *            the other backends refuse them too, for one behaviour)
 *   -ENOSPC  the user's epoll watch limit is reached (epoll)
 *   -ELOOP   registering fd would make a loop of epoll instances (epoll)
 *   -ENOMEM  the poll(2) or kqueue table could not grow (nothing registered)
 *   -ENOTSUP SWIFTPOLL_PRIORITY on kqueue, which has no priority filter
 * Allocates nothing (poll(2) and kqueue: only when their table grows,
 * doubling).  Thread-safe, also during a wait.
 * poll(2) watches descriptor NUMBERS: if fd is closed while registered, a
 * wait reports it once as SWIFTPOLL_EVENT_ERROR (POLLNVAL) and disarms it;
 * reregister / deregister then answer -EBADF (or -ENOENT if another file
 * has the number) and drop it, as epoll would, and registering the number
 * for a new file replaces it.  Deregister before close to avoid all this. */
SWIFTPOLL_API int swiftpoll_registry_register(swiftpoll_registry *r, int fd,
                                              swiftpoll_token token,
                                              swiftpoll_interest interest);

/* Replaces the token and the interest of a registered fd entirely (no merge)
 * and re-arms a ONESHOT registration.  If fd is ready for the new interest an
 * event is reported, even if it was reported before.
 * Returns 0, or -EINVAL (as for register), -ENOENT (fd is not registered),
 * -EBADF.  Allocates nothing.  Thread-safe, also during a wait. */
SWIFTPOLL_API int swiftpoll_registry_reregister(swiftpoll_registry *r, int fd,
                                                swiftpoll_token token,
                                                swiftpoll_interest interest);

/* Stops watching fd.  After it returns no later wait reports fd.
 * Returns 0, or -EINVAL (r is NULL), -ENOENT (fd is not registered), -EBADF.
 * Closing an fd also removes it on epoll and kqueue, unless another
 * descriptor (dup) refers to the same open file; on poll(2) see
 * swiftpoll_registry_register.  Allocates nothing.  Thread-safe, also
 * during a wait. */
SWIFTPOLL_API int swiftpoll_registry_deregister(swiftpoll_registry *r, int fd);

/* Makes an independent registry of the same poll (a duplicate of the epoll
 * or kqueue fd, close-on-exec, numbered 3 or above; on poll(2) a second
 * handle on the poll's registration table) and stores it in *out.  It stays
 * usable after the poll is freed (the selector lives until the last
 * registry is freed).  Free it with swiftpoll_registry_free.
 * Returns 0, or -EINVAL (r or out is NULL), -EMFILE, -ENFILE.
 * *out is written only on success.  Thread-safe. */
SWIFTPOLL_API int swiftpoll_registry_try_clone(const swiftpoll_registry *r,
                                               swiftpoll_registry **out);

/* Frees a registry made by swiftpoll_registry_try_clone.  NULL, or the
 * poll's own registry (swiftpoll_poll_registry): no-op.  Must not race with
 * other calls on the same registry. */
SWIFTPOLL_API void swiftpoll_registry_free(swiftpoll_registry *r);

/* ------------------------------------------------------------------------
 * Waker
 * ------------------------------------------------------------------------ */

/* Makes a waker for the poll of r: an eventfd registered with `token`
 * (epoll), an EVFILT_USER event (kqueue), or writes to the poll's internal
 * notifier, told from the registrations' own writes by their count
 * (poll(2): no descriptor of its own, so no -EMFILE there).
 * One live waker per poll (over all its registries): while one lives, a
 * second gives -EEXIST; after swiftpoll_waker_free a new one may be made.
 * The waker stays valid after the poll is freed (its wakes then go nowhere).
 * Returns 0, or -EINVAL (r or out NULL), -EEXIST, -EMFILE, -ENFILE, -ENOMEM.
 * *out is written only on success.  Thread-safe. */
SWIFTPOLL_API int swiftpoll_waker_new(swiftpoll_registry *r, swiftpoll_token token,
                                      swiftpoll_waker **out);

/* Makes a wait return an event with the waker's token and
 * SWIFTPOLL_EVENT_READABLE.  Wakes before a wait coalesce into at least one
 * event.  Never blocks, never fails because of earlier wakes.
 * Returns 0, or -EINVAL (w is NULL).  Allocates nothing.
 * Thread-safe and async-signal-safe (errno is preserved). */
SWIFTPOLL_API int swiftpoll_waker_wake(swiftpoll_waker *w);

/* Frees a waker and closes its eventfd; wakes not yet reported are lost.
 * NULL: no-op.  Must not race with swiftpoll_waker_wake on the same waker. */
SWIFTPOLL_API void swiftpoll_waker_free(swiftpoll_waker *w);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SWIFTPOLL_H */
