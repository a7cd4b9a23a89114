/*
 * libFuzzer harness for the libswiftpoll C ABI (issue 5, item 3).
 *
 * Each input is decoded into a sequence of up to MAX_OPS calls of the ABI
 * (and of the few syscalls that make fds ready, drain or close them), with
 * hostile arguments: NULL handles and out-pointers, negative, closed and
 * foreign fds, the poll's own epoll fd, regular files, unknown interest bits,
 * LEVEL|ONESHOT, any token, capacities 0 / 1 / odd / huge, timeouts 0 /
 * sub-millisecond / negative / INT64_MAX / INT64_MIN (blocking ones only when
 * a wake is known to be pending, so nothing can hang), clone / free
 * sequences, several polls, wakers outliving their poll.
 *
 * Each poll is made over the backend a byte of the input picks (epoll, poll(2), or
 * the default), so both Linux backends are fuzzed in every run; the model knows
 * what differs (no poll fd on poll(2), its flag formulas, and that a program
 * deregisters before close there).
 *
 * A model of what ABI.md promises checks every return value:
 *   - the exact result (or, where ABI.md leaves the order of checks open,
 *     a result from the set of errors that apply);
 *   - out-parameters written only on success, errno left as it was;
 *   - every event: a token registered on that poll right now (never a
 *     deregistered, replaced or closed one), flags == mio's formulas applied
 *     to raw, no unknown bits, at most `capacity` events, a ONESHOT
 *     registration reported at most once per arming, a wake always followed
 *     by the waker's event;
 *   - at the end of every input, after freeing everything, the process has
 *     exactly the descriptors it had before (ASan/LSan check memory).
 *
 * Build (see mk/reliability.mk, target fuzz):
 *   clang -fsanitize=fuzzer,address,undefined fuzz_abi.c -lswiftpoll (ASan build)
 * A failed check prints "MODEL VIOLATION: ..." and aborts, which libFuzzer
 * records as a crash with the input that caused it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <swiftpoll.h>

#define MAX_OPS 256
#define NPOLL 3
#define NCLONE 3
#define NWAKER 2
#define NFD 10
#define NINST 8       /* epoll instances alive at once: <= NPOLL + NCLONE */
#define EVBUF_BIG 64  /* > every event that can be pending: NFD + NWAKER */

static void violation(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void violation(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "MODEL VIOLATION: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ------------------------------------------------------------ input bytes */

static const uint8_t *in_p;
static size_t in_n;
static uint8_t u8(void) {
    if (!in_n) return 0;
    in_n--;
    return *in_p++;
}
static uint32_t u32(void) {
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) x |= (uint32_t)u8() << (8 * i);
    return x;
}
static uint64_t u64(void) { return (uint64_t)u32() | ((uint64_t)u32() << 32); }

/* ------------------------------------------------------------------ model */

enum fdkind { FK_NONE, FK_EVENTFD, FK_PIPE_R, FK_PIPE_W, FK_SOCK, FK_MEMFD };

struct mfd {             /* a descriptor the harness owns */
    int kind;
    int fd, peer;        /* peer: the other pipe end / socket, or -1 */
};

struct reg {             /* one registration of a harness fd in an instance */
    int on;
    uint64_t token;
    uint32_t interest;
    int armed;           /* ONESHOT: not yet reported since (re)arming */
};

struct inst {            /* an epoll instance or poll(2) table (a poll and its clones) */
    int backend;         /* SWIFTPOLL_BACKEND_EPOLL or _POLL */
    int refs;            /* poll + clones alive */
    int wakers;          /* live wakers (ABI: at most 1) */
    struct reg reg[NFD];
};

static struct inst insts[NINST];
static struct { swiftpoll_poll *h; int inst; } polls[NPOLL];
static struct { swiftpoll_registry *h; int inst; } clones[NCLONE];
static struct { swiftpoll_waker *h; int inst; uint64_t token; int inst_alive; } wakers[NWAKER];
static struct mfd fds[NFD];
static int initialized;

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) violation("opendir /proc/self/fd: %s", strerror(errno));
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1;
}

static int inst_new(void) {
    for (int i = 0; i < NINST; i++)
        if (insts[i].refs == 0) {
            memset(&insts[i], 0, sizeof insts[i]);
            insts[i].refs = 1;
            return i;
        }
    violation("harness: out of instance slots");
}

static void inst_unref(int i) {
    if (--insts[i].refs == 0) {
        memset(insts[i].reg, 0, sizeof insts[i].reg);
        for (int w = 0; w < NWAKER; w++)
            if (wakers[w].h && wakers[w].inst == i) wakers[w].inst_alive = 0;
    }
}

/* errno must come back unchanged from every call. */
static int saved_errno_probe;
static void errno_arm(void) {
    saved_errno_probe = 1000 + (int)(u8() % 100);
    errno = saved_errno_probe;
}
static void errno_check(const char *fn) {
    if (errno != saved_errno_probe)
        violation("%s changed errno from %d to %d", fn, saved_errno_probe, errno);
}

static int interest_valid(uint32_t in) {
    if (!(in & 7u)) return 0;
    if (in & ~0x307u) return 0;
    if ((in & 0x300u) == 0x300u) return 0;
    return 1;
}

static uint32_t pick_interest(void) {
    uint8_t sel = u8();
    static const uint32_t good[] = {
        SWIFTPOLL_READABLE, SWIFTPOLL_WRITABLE, SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE,
        SWIFTPOLL_READABLE | SWIFTPOLL_PRIORITY, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL,
        SWIFTPOLL_READABLE | SWIFTPOLL_WRITABLE | SWIFTPOLL_LEVEL, SWIFTPOLL_READABLE | SWIFTPOLL_ONESHOT,
        SWIFTPOLL_WRITABLE | SWIFTPOLL_ONESHOT, SWIFTPOLL_PRIORITY,
    };
    static const uint32_t bad[] = {
        0, SWIFTPOLL_LEVEL, SWIFTPOLL_ONESHOT, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL | SWIFTPOLL_ONESHOT,
        0x08, SWIFTPOLL_READABLE | 0x08, SWIFTPOLL_READABLE | 0x400, 0x80000001u, 0xffffffffu,
    };
    if (sel < 160) return good[sel % (sizeof good / sizeof good[0])];
    if (sel < 230) return bad[sel % (sizeof bad / sizeof bad[0])];
    return u32();
}

static uint64_t pick_token(void) {
    uint8_t sel = u8();
    if (sel < 200) return sel % 16; /* small tokens: duplicates happen */
    if (sel < 220) return UINT64_MAX - (sel % 4);
    return u64();
}

/* A registry handle: a poll's own, a clone, or NULL. *inst = -1 for NULL. */
static swiftpoll_registry *pick_registry(int *inst) {
    uint8_t sel = u8();
    *inst = -1;
    if (sel % 8 == 7) return NULL;
    if (sel % 2 == 0) {
        int i = (sel / 8) % NPOLL;
        if (!polls[i].h) return NULL;
        swiftpoll_registry *r = swiftpoll_poll_registry(polls[i].h);
        if (!r) violation("swiftpoll_poll_registry returned NULL for a live poll");
        *inst = polls[i].inst;
        return r;
    }
    int c = (sel / 8) % NCLONE;
    if (!clones[c].h) return NULL;
    *inst = clones[c].inst;
    return clones[c].h;
}

/* The fd argument for register/reregister/deregister, and what it is. */
enum fdclass { FC_SLOT, FC_NEG, FC_CLOSED, FC_OWN_EPOLL, FC_SKIP };
static int pick_fd(int *slot, int *cls, int inst) {
    uint8_t sel = u8();
    *slot = -1;
    if (sel < 200) {
        int s = sel % NFD;
        if (fds[s].kind == FK_NONE) {
            *cls = FC_SKIP;
            return -1;
        }
        *slot = s;
        *cls = FC_SLOT;
        return fds[s].fd;
    }
    if (sel < 215) {
        *cls = FC_NEG;
        return sel & 1 ? -1 : INT_MIN;
    }
    if (sel < 240) {
        /* A number that is closed right now (never one the library or
         * libFuzzer owns: that would make the model unsound). */
        int fd = 3 + (int)(u8() % 200);
        if (sel & 1) fd = 1000000 + (int)(u8());
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) {
            *cls = FC_SKIP;
            return -1;
        }
        *cls = FC_CLOSED;
        return fd;
    }
    /* The epoll fd of the poll whose registry this is (poll(2) has none:
     * -ENOTSUP, which as an fd is a negative one). */
    for (int p = 0; p < NPOLL; p++)
        if (polls[p].h && polls[p].inst == inst) {
            *cls = insts[inst].backend == SWIFTPOLL_BACKEND_POLL ? FC_NEG : FC_OWN_EPOLL;
            return swiftpoll_poll_fd(polls[p].h);
        }
    *cls = FC_SKIP;
    return -1;
}

#define ERRBIT(e) (1ull << (e))
static void expect_in(const char *fn, int rc, uint64_t allowed_errs, int ok_allowed) {
    if (rc == 0 && ok_allowed) return;
    if (rc < 0 && -rc < 64 && (allowed_errs & ERRBIT(-rc))) return;
    char buf[256];
    int off = snprintf(buf, sizeof buf, "%s", ok_allowed ? "0" : "");
    for (int e = 1; e < 64; e++)
        if (allowed_errs & ERRBIT(e)) off += snprintf(buf + off, sizeof buf - (size_t)off, " -%d", e);
    violation("%s returned %d (%s); expected one of: %s", fn, rc, swiftpoll_strerror(rc), buf);
}

/* ------------------------------------------------------------ operations */

static void op_poll_new(void) {
    int i = u8() % NPOLL;
    if (polls[i].h) return;
    /* The same byte picks the backend: (sel >> 4) & 3 = 0 swiftpoll_poll_new
     * (the default: epoll, or SWIFTPOLL_BACKEND's), 1 epoll, 2 and 3 poll(2). */
    uint8_t sel = u8();
    int which = (sel >> 4) & 3;
    if (sel % 16 == 0) {
        errno_arm();
        int rc = swiftpoll_poll_new(NULL);
        errno_check("swiftpoll_poll_new");
        expect_in("swiftpoll_poll_new(NULL)", rc, ERRBIT(EINVAL), 0);
        return;
    }
    swiftpoll_poll *p = (swiftpoll_poll *)(uintptr_t)0x1;
    errno_arm();
    int rc = which == 0 ? swiftpoll_poll_new(&p)
                        : swiftpoll_poll_new_backend(&p, which == 1 ? SWIFTPOLL_BACKEND_EPOLL
                                                                    : SWIFTPOLL_BACKEND_POLL);
    errno_check("swiftpoll_poll_new");
    expect_in("swiftpoll_poll_new", rc, 0, 1);
    if (!p || p == (swiftpoll_poll *)(uintptr_t)0x1) violation("swiftpoll_poll_new: 0 but no handle");
    int backend = swiftpoll_poll_backend(p);
    if (which == 1 && backend != SWIFTPOLL_BACKEND_EPOLL) violation("asked for epoll, got backend %d", backend);
    if (which >= 2 && backend != SWIFTPOLL_BACKEND_POLL) violation("asked for poll(2), got backend %d", backend);
    if (backend != SWIFTPOLL_BACKEND_EPOLL && backend != SWIFTPOLL_BACKEND_POLL)
        violation("swiftpoll_poll_backend gave %d", backend);
    polls[i].h = p;
    polls[i].inst = inst_new();
    insts[polls[i].inst].backend = backend;
    int fd = swiftpoll_poll_fd(p);
    if (backend == SWIFTPOLL_BACKEND_POLL) {
        if (fd != -ENOTSUP) violation("swiftpoll_poll_fd on poll(2) gave %d, not -ENOTSUP", fd);
    } else {
        if (fd < 0 || fcntl(fd, F_GETFD) < 0) violation("swiftpoll_poll_fd gave %d, not an open fd", fd);
        if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC)) violation("epoll fd %d is not close-on-exec", fd);
    }
}

static void op_poll_free(void) {
    int i = u8() % (NPOLL + 1);
    errno_arm();
    if (i == NPOLL || !polls[i].h) {
        swiftpoll_poll_free(NULL);
        errno_check("swiftpoll_poll_free(NULL)");
        return;
    }
    swiftpoll_poll_free(polls[i].h);
    errno_check("swiftpoll_poll_free");
    polls[i].h = NULL;
    inst_unref(polls[i].inst);
}

static void op_poll_fd_and_registry(void) {
    errno_arm();
    int rc = swiftpoll_poll_fd(NULL);
    errno_check("swiftpoll_poll_fd");
    expect_in("swiftpoll_poll_fd(NULL)", rc, ERRBIT(EINVAL), 0);
    if (swiftpoll_poll_registry(NULL) != NULL) violation("swiftpoll_poll_registry(NULL) is not NULL");
}

static void op_try_clone(void) {
    int c = u8() % NCLONE;
    int inst;
    swiftpoll_registry *r = pick_registry(&inst);
    int null_out = u8() % 16 == 0;
    if (clones[c].h && !null_out) return;
    swiftpoll_registry *out = (swiftpoll_registry *)(uintptr_t)0x1;
    errno_arm();
    int rc = swiftpoll_registry_try_clone(r, null_out ? NULL : &out);
    errno_check("swiftpoll_registry_try_clone");
    if (!r || null_out) {
        expect_in("swiftpoll_registry_try_clone(NULL...)", rc, ERRBIT(EINVAL), 0);
        if (out != (swiftpoll_registry *)(uintptr_t)0x1) violation("try_clone wrote *out on failure");
        return;
    }
    expect_in("swiftpoll_registry_try_clone", rc, 0, 1);
    if (!out || out == (swiftpoll_registry *)(uintptr_t)0x1) violation("try_clone: 0 but no handle");
    clones[c].h = out;
    clones[c].inst = inst;
    insts[inst].refs++;
}

static void op_registry_free(void) {
    uint8_t sel = u8();
    errno_arm();
    if (sel % 3 == 0) {
        swiftpoll_registry_free(NULL);
    } else if (sel % 3 == 1) {
        /* The poll's own registry: a no-op; the poll stays fully usable. */
        int i = (sel / 3) % NPOLL;
        if (polls[i].h) swiftpoll_registry_free(swiftpoll_poll_registry(polls[i].h));
    } else {
        int c = (sel / 3) % NCLONE;
        if (!clones[c].h) return;
        swiftpoll_registry_free(clones[c].h);
        clones[c].h = NULL;
        inst_unref(clones[c].inst);
    }
    errno_check("swiftpoll_registry_free");
}

static void op_ctl(int which) {
    static const char *names[] = {"swiftpoll_registry_register", "swiftpoll_registry_reregister",
                                  "swiftpoll_registry_deregister"};
    int inst, slot, cls;
    swiftpoll_registry *r = pick_registry(&inst);
    int fd = pick_fd(&slot, &cls, inst);
    if (cls == FC_SKIP) return;
    uint64_t token = which < 2 ? pick_token() : 0;
    uint32_t interest = which < 2 ? pick_interest() : 0;
    errno_arm();
    int rc = which == 0   ? swiftpoll_registry_register(r, fd, token, interest)
             : which == 1 ? swiftpoll_registry_reregister(r, fd, token, interest)
                          : swiftpoll_registry_deregister(r, fd);
    errno_check(names[which]);
    if (!r) {
        expect_in(names[which], rc, ERRBIT(EINVAL), 0);
        return;
    }
    uint64_t errs = 0;
    int ok = 1;
    if (which < 2 && !interest_valid(interest)) errs |= ERRBIT(EINVAL), ok = 0;
    struct reg *rg = slot >= 0 ? &insts[inst].reg[slot] : NULL;
    switch (cls) {
    case FC_NEG:
    case FC_CLOSED: errs |= ERRBIT(EBADF); ok = 0; break;
    case FC_OWN_EPOLL:
        errs |= ERRBIT(EINVAL) | (which ? ERRBIT(ENOENT) : 0);
        ok = 0;
        break;
    default:
        if (fds[slot].kind == FK_MEMFD) {
            errs |= ERRBIT(EPERM) | (which ? ERRBIT(ENOENT) : 0);
            ok = 0;
        } else if (which == 0 && rg->on) {
            errs |= ERRBIT(EEXIST);
            ok = 0;
        } else if (which > 0 && !rg->on) {
            errs |= ERRBIT(ENOENT);
            ok = 0;
        }
    }
    expect_in(names[which], rc, errs, ok);
    if (rc != 0) return;
    if (which == 2) {
        rg->on = 0;
    } else {
        rg->on = 1;
        rg->token = token;
        rg->interest = interest;
        rg->armed = 1;
    }
}

/* Checks the events of one wait on poll index p against the model.  Returns
 * whether a waker token (of a live waker of this instance) was among them. */
static int check_events(int p, const swiftpoll_event *ev, int n, size_t cap, uint64_t waker_token,
                        int want_waker) {
    struct inst *I = &insts[polls[p].inst];
    size_t eff_cap = cap > (size_t)INT_MAX / 12 ? (size_t)INT_MAX / 12 : cap;
    if (n < 0 || (size_t)n > eff_cap) violation("swiftpoll_poll_wait returned %d for capacity %zu", n, cap);
    int woke = 0;
    for (int k = 0; k < n; k++) {
        const swiftpoll_event *e = &ev[k];
        if (e->flags & ~0x3fu) violation("event flags %#x have unknown bits", e->flags);
        /* mio's formulas, from the raw epoll bits; poll(2)'s from revents
         * (error includes NVAL 0x020, read_closed is HUP or RDHUP alone) */
        uint32_t raw = e->raw, f = 0;
        int on_poll = I->backend == SWIFTPOLL_BACKEND_POLL;
        if (raw & (0x001 | 0x002)) f |= 0x01;
        if (raw & 0x004) f |= 0x02;
        if (raw & (on_poll ? 0x028u : 0x008u)) f |= 0x04;
        if (on_poll ? (raw & (0x010 | 0x2000)) != 0 : ((raw & 0x010) || ((raw & 0x001) && (raw & 0x2000))))
            f |= 0x08;
        if ((raw & 0x010) || ((raw & 0x004) && (raw & 0x008)) || raw == 0x008) f |= 0x10;
        if (raw & 0x002) f |= 0x20;
        if (e->flags != f)
            violation("event token %llu: flags %#x but raw %#x gives %#x", (unsigned long long)e->token,
                      e->flags, raw, f);
        int matches = 0, match_slot = -1;
        for (int s = 0; s < NFD; s++)
            if (I->reg[s].on && I->reg[s].token == e->token) matches++, match_slot = s;
        int waker_match = 0;
        for (int w = 0; w < NWAKER; w++)
            if (wakers[w].h && wakers[w].inst_alive && wakers[w].inst == polls[p].inst &&
                wakers[w].token == e->token)
                waker_match = 1;
        if (!matches && !waker_match)
            violation("event with token %llu (raw %#x) matches no live registration of this poll",
                      (unsigned long long)e->token, raw);
        if (want_waker && waker_match && e->token == waker_token) {
            if (!matches) {
                if (!(e->flags & SWIFTPOLL_EVENT_READABLE)) violation("waker event not readable");
                woke = 1;
            } else if (e->flags & SWIFTPOLL_EVENT_READABLE) {
                woke = 1; /* a registered fd shares the waker's token: ambiguous, assume the wake */
            }
        }
        if (matches == 1 && !waker_match && (I->reg[match_slot].interest & SWIFTPOLL_ONESHOT)) {
            if (!I->reg[match_slot].armed)
                violation("ONESHOT token %llu reported again without reregister",
                          (unsigned long long)e->token);
            I->reg[match_slot].armed = 0;
        }
    }
    return woke;
}

static size_t pick_capacity(void) {
    uint8_t sel = u8();
    static const size_t caps[] = {1, 1, 2, 3, 7, 16, 64};
    if (sel < 200) return caps[sel % 7];
    if (sel < 215) return 0;
    if (sel < 225) return (size_t)INT_MAX / 12 + 1;
    if (sel < 235) return SIZE_MAX;
    return ((size_t)1 << 40) + sel;
}

static int64_t pick_short_timeout(void) {
    static const int64_t t[] = {0, 0, 0, 1, 999, 250000, 1000000};
    return t[u8() % 7];
}

static void do_wait(int p, int use_args, size_t cap, int null_events, int64_t timeout,
                    int want_waker, uint64_t waker_token, int *woke) {
    size_t alloc = cap == 0 || cap > EVBUF_BIG ? EVBUF_BIG : cap;
    swiftpoll_event *ev = null_events ? NULL : malloc(alloc * sizeof *ev); /* exact size: ASan sees overruns */
    if (!null_events && !ev) violation("harness: malloc");
    swiftpoll_poll *h = p >= 0 ? polls[p].h : NULL;
    errno_arm();
    int rc;
    if (use_args == 2) {
        rc = swiftpoll_poll_wait_args(NULL);
    } else if (use_args) {
        swiftpoll_wait_args a = {h, ev, cap, timeout};
        rc = swiftpoll_poll_wait_args(&a);
    } else {
        rc = swiftpoll_poll_wait(h, ev, cap, timeout);
    }
    errno_check("swiftpoll_poll_wait");
    if (use_args == 2 || !h || null_events || cap == 0) {
        expect_in("swiftpoll_poll_wait (NULL poll/events, capacity 0, NULL args)", rc, ERRBIT(EINVAL), 0);
    } else if (rc == -EINTR) {
        /* libFuzzer's -timeout runs on SIGALRM: a wait may be interrupted. */
        if (woke) *woke = -1;
    } else {
        int w = check_events(p, ev, rc, cap, waker_token, want_waker);
        if (woke) *woke = w;
    }
    free(ev);
}

static void op_wait(void) {
    uint8_t sel = u8();
    int p = sel % 8 == 7 ? -1 : sel % NPOLL;
    if (p >= 0 && !polls[p].h) p = -1;
    int use_args = (sel / 8) % 5 == 0 ? 1 : (sel / 8) % 17 == 1 ? 2 : 0;
    int null_events = u8() % 32 == 0;
    do_wait(p, use_args, pick_capacity(), null_events, pick_short_timeout(), 0, 0, NULL);
}

static void op_waker_new(void) {
    int w = u8() % NWAKER;
    int inst;
    swiftpoll_registry *r = pick_registry(&inst);
    int null_out = u8() % 16 == 0;
    if (wakers[w].h && !null_out) return;
    uint64_t token = pick_token();
    swiftpoll_waker *out = (swiftpoll_waker *)(uintptr_t)0x1;
    errno_arm();
    int rc = swiftpoll_waker_new(r, token, null_out ? NULL : &out);
    errno_check("swiftpoll_waker_new");
    if (!r || null_out) {
        expect_in("swiftpoll_waker_new(NULL...)", rc, ERRBIT(EINVAL), 0);
        if (out != (swiftpoll_waker *)(uintptr_t)0x1) violation("waker_new wrote *out on failure");
        return;
    }
    if (insts[inst].wakers > 0) {
        expect_in("swiftpoll_waker_new (second live waker)", rc, ERRBIT(EEXIST), 0);
        if (out != (swiftpoll_waker *)(uintptr_t)0x1) violation("waker_new wrote *out on failure");
        return;
    }
    expect_in("swiftpoll_waker_new", rc, 0, 1);
    wakers[w].h = out;
    wakers[w].inst = inst;
    wakers[w].token = token;
    wakers[w].inst_alive = 1;
    insts[inst].wakers++;
}

static void op_wake(void) {
    int w = u8() % (NWAKER + 1);
    errno_arm();
    int rc = swiftpoll_waker_wake(w < NWAKER ? wakers[w].h : NULL);
    errno_check("swiftpoll_waker_wake");
    if (w == NWAKER || !wakers[w].h) expect_in("swiftpoll_waker_wake(NULL)", rc, ERRBIT(EINVAL), 0);
    else expect_in("swiftpoll_waker_wake", rc, 0, 1);
}

static void op_waker_free(void) {
    int w = u8() % (NWAKER + 1);
    errno_arm();
    if (w == NWAKER || !wakers[w].h) {
        swiftpoll_waker_free(NULL);
    } else {
        swiftpoll_waker_free(wakers[w].h);
        if (wakers[w].inst_alive) insts[wakers[w].inst].wakers--;
        wakers[w].h = NULL;
    }
    errno_check("swiftpoll_waker_free");
}

/* Wake, then wait with a blocking timeout (negative, INT64_MIN, INT64_MAX or
 * 2^62 ns): safe because the wake is pending.  The waker's event must come
 * within a bounded number of waits (other ready fds may come first). */
static void op_wake_then_block(void) {
    int w = u8() % NWAKER;
    static const int64_t blocking[] = {-1, INT64_MIN, INT64_MAX, (int64_t)1 << 62, -1000};
    int64_t timeout = blocking[u8() % 5];
    size_t cap = 1 + u8() % 4;
    if (!wakers[w].h || !wakers[w].inst_alive) return;
    int p = -1;
    for (int i = 0; i < NPOLL; i++)
        if (polls[i].h && polls[i].inst == wakers[w].inst) p = i;
    if (p < 0) return;
    errno_arm();
    int rc = swiftpoll_waker_wake(wakers[w].h);
    errno_check("swiftpoll_waker_wake");
    expect_in("swiftpoll_waker_wake", rc, 0, 1);
    for (int round = 0, interrupted = 0; round < 2 * NFD + 4; round++) {
        int woke = 0;
        do_wait(p, round & 1, cap, 0, timeout, 1, wakers[w].token, &woke);
        if (woke > 0) return;
        if (woke < 0 && ++interrupted < 8) round--; /* -EINTR: retry, as callers do */
    }
    violation("lost wake: %d waits after a wake, no event with the waker's token", 2 * NFD + 4);
}

/* A registry of instance i (its poll's own or a clone), or NULL. */
static swiftpoll_registry *inst_registry(int i) {
    for (int p = 0; p < NPOLL; p++)
        if (polls[p].h && polls[p].inst == i) return swiftpoll_poll_registry(polls[p].h);
    for (int c = 0; c < NCLONE; c++)
        if (clones[c].h && clones[c].inst == i) return clones[c].h;
    return NULL;
}

static void fd_close_slot(int s) {
    /* Closing the only descriptor of a file drops its epoll registrations.
     * poll(2) cannot see a close (its entry would report POLLNVAL, or a new
     * file that takes the number, under the old token): deregister there
     * first, as a program over poll(2) must. */
    for (int i = 0; i < NINST; i++) {
        if (insts[i].refs > 0 && insts[i].reg[s].on && insts[i].backend == SWIFTPOLL_BACKEND_POLL) {
            swiftpoll_registry *r = inst_registry(i);
            if (!r) violation("harness: live poll(2) instance %d without a registry", i);
            errno_arm();
            int rc = swiftpoll_registry_deregister(r, fds[s].fd);
            errno_check("swiftpoll_registry_deregister");
            expect_in("swiftpoll_registry_deregister (poll(2), before close)", rc, 0, 1);
        }
        insts[i].reg[s].on = 0;
    }
    if (fds[s].peer >= 0) close(fds[s].peer);
    close(fds[s].fd);
    fds[s].kind = FK_NONE;
    fds[s].fd = fds[s].peer = -1;
}

static void op_fd_open(void) {
    int s = u8() % NFD;
    int kind = 1 + u8() % 5;
    if (fds[s].kind != FK_NONE) return;
    int p[2] = {-1, -1};
    fds[s].peer = -1;
    switch (kind) {
    case FK_EVENTFD: fds[s].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); break;
    case FK_PIPE_R:
    case FK_PIPE_W:
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) violation("harness: pipe2");
        fds[s].fd = kind == FK_PIPE_R ? p[0] : p[1];
        fds[s].peer = kind == FK_PIPE_R ? p[1] : p[0];
        break;
    case FK_SOCK:
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p) < 0)
            violation("harness: socketpair");
        fds[s].fd = p[0];
        fds[s].peer = p[1];
        break;
    default: fds[s].fd = memfd_create("fuzz", MFD_CLOEXEC); break;
    }
    if (fds[s].fd < 0) violation("harness: could not open fd kind %d", kind);
    fds[s].kind = kind;
}

static void op_fd_poke(void) {
    int s = u8() % NFD;
    uint8_t what = u8();
    struct mfd *m = &fds[s];
    if (m->kind == FK_NONE) return;
    uint64_t one = 1;
    char buf[512];
    switch (what % 6) {
    case 0: /* make readable (or, for a pipe's write end, less writable) */
        if (m->kind == FK_EVENTFD) (void)!write(m->fd, &one, 8);
        else if (m->kind == FK_PIPE_W) (void)!write(m->fd, buf, sizeof buf);
        else if (m->peer >= 0) (void)!write(m->peer, "x", 1);
        break;
    case 1: /* drain */
        if (m->kind == FK_PIPE_W) {
            for (int i = 0; i < 256 && read(m->peer, buf, sizeof buf) > 0; i++) {}
        } else {
            for (int i = 0; i < 256 && read(m->fd, buf, sizeof buf) > 0; i++) {}
        }
        break;
    case 2: /* peer shuts down writing: READ_CLOSED via EPOLLRDHUP */
        if (m->kind == FK_SOCK && m->peer >= 0) shutdown(m->peer, SHUT_WR);
        break;
    case 3: /* peer closes: HUP (pipe reader / socket) or ERR (pipe writer) */
        if (m->peer >= 0) {
            close(m->peer);
            m->peer = -1;
        }
        break;
    case 4: /* local shutdown of both halves */
        if (m->kind == FK_SOCK) shutdown(m->fd, SHUT_RDWR);
        break;
    default: /* fill a pipe's write end so it stops being writable */
        if (m->kind == FK_PIPE_W)
            for (int i = 0; i < 256 && write(m->fd, buf, sizeof buf) > 0; i++) {}
        break;
    }
}

static void op_fd_close(void) {
    int s = u8() % NFD;
    if (fds[s].kind != FK_NONE) fd_close_slot(s);
}

static void op_misc(void) {
    int e = (int)u32();
    errno_arm();
    const char *s = swiftpoll_strerror(e);
    errno_check("swiftpoll_strerror");
    if (!s || !*s) violation("swiftpoll_strerror(%d) gave %s", e, s ? "\"\"" : "NULL");
    if (e > INT_MIN && strcmp(s, swiftpoll_strerror(-e)) != 0)
        violation("swiftpoll_strerror(%d) and (%d) differ", e, -e);
    if (swiftpoll_abi_version() != SWIFTPOLL_ABI_VERSION) violation("abi_version");
    if (strcmp(swiftpoll_version(), SWIFTPOLL_VERSION_STRING) != 0) violation("version string");
}

static void teardown(void) {
    for (int w = 0; w < NWAKER; w++)
        if (wakers[w].h) swiftpoll_waker_free(wakers[w].h), wakers[w].h = NULL;
    for (int c = 0; c < NCLONE; c++)
        if (clones[c].h) swiftpoll_registry_free(clones[c].h), clones[c].h = NULL;
    for (int p = 0; p < NPOLL; p++)
        if (polls[p].h) swiftpoll_poll_free(polls[p].h), polls[p].h = NULL;
    memset(insts, 0, sizeof insts); /* every handle is gone: so are the registrations */
    for (int s = 0; s < NFD; s++)
        if (fds[s].kind != FK_NONE) fd_close_slot(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!initialized) {
        signal(SIGPIPE, SIG_IGN); /* writes to pipes whose reader the input closed */
        for (int s = 0; s < NFD; s++) fds[s].kind = FK_NONE, fds[s].fd = fds[s].peer = -1;
        initialized = 1;
    }
    /* Counted per input: libFuzzer itself opens descriptors between inputs
     * (its symbolizer's pipes, for instance). */
    int baseline_fds = count_fds();
    in_p = data;
    in_n = size;
    for (int i = 0; i < MAX_OPS && in_n > 0; i++) {
        switch (u8() % 20) {
        case 0: op_poll_new(); break;
        case 1: op_poll_free(); break;
        case 2: op_poll_fd_and_registry(); break;
        case 3: op_try_clone(); break;
        case 4: op_registry_free(); break;
        case 5: case 6: op_ctl(0); break;
        case 7: op_ctl(1); break;
        case 8: op_ctl(2); break;
        case 9: case 10: op_wait(); break;
        case 11: op_waker_new(); break;
        case 12: op_wake(); break;
        case 13: op_waker_free(); break;
        case 14: op_wake_then_block(); break;
        case 15: case 16: op_fd_open(); break;
        case 17: op_fd_poke(); break;
        case 18: op_fd_close(); break;
        default: op_misc(); break;
        }
    }
    teardown();
    int now = count_fds();
    if (now != baseline_fds) violation("fd leak: %d descriptors before this input, %d after", baseline_fds, now);
    return 0;
}
