/*
 * Prints the layout of the public types and the values of the public macros
 * of swiftpoll.h, one "name value" per line.  Tests/abi/check.sh compares
 * the output with the committed baseline Tests/abi/layout.txt, so a change in
 * a struct's size, alignment or field offsets, or in a flag value, fails CI.
 * Also compiled as C++ by check.sh, where the header's static_asserts run.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>

#include <swiftpoll.h>

#define TYPE(t) printf("sizeof %s %zu\nalignof %s %zu\n", #t, sizeof(t), #t, (size_t)alignof(t))
#define FIELD(t, f) printf("offsetof %s.%s %zu\nsizeof %s.%s %zu\n", #t, #f, offsetof(t, f), #t, #f, sizeof(((t *)0)->f))
#define MACRO(m) printf("macro %s %llu\n", #m, (unsigned long long)(m))

int main(void) {
    TYPE(swiftpoll_token);
    TYPE(swiftpoll_interest);
    TYPE(swiftpoll_event);
    FIELD(swiftpoll_event, token);
    FIELD(swiftpoll_event, flags);
    FIELD(swiftpoll_event, raw);
    TYPE(swiftpoll_wait_args);
    FIELD(swiftpoll_wait_args, poll);
    FIELD(swiftpoll_wait_args, events);
    FIELD(swiftpoll_wait_args, capacity);
    FIELD(swiftpoll_wait_args, timeout_ns);
    MACRO(SWIFTPOLL_ABI_VERSION);
    MACRO(SWIFTPOLL_READABLE);
    MACRO(SWIFTPOLL_WRITABLE);
    MACRO(SWIFTPOLL_PRIORITY);
    MACRO(SWIFTPOLL_EDGE);
    MACRO(SWIFTPOLL_LEVEL);
    MACRO(SWIFTPOLL_ONESHOT);
    MACRO(SWIFTPOLL_EVENT_READABLE);
    MACRO(SWIFTPOLL_EVENT_WRITABLE);
    MACRO(SWIFTPOLL_EVENT_ERROR);
    MACRO(SWIFTPOLL_EVENT_READ_CLOSED);
    MACRO(SWIFTPOLL_EVENT_WRITE_CLOSED);
    MACRO(SWIFTPOLL_EVENT_PRIORITY);
    MACRO(SWIFTPOLL_BACKEND_DEFAULT);
    MACRO(SWIFTPOLL_BACKEND_EPOLL);
    MACRO(SWIFTPOLL_BACKEND_POLL);
    MACRO(SWIFTPOLL_BACKEND_KQUEUE);
    /* The running library must agree with the header it was built from. */
    printf("library abi_version %u\n", swiftpoll_abi_version());
    return 0;
}
