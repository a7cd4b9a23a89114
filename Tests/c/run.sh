#!/usr/bin/env bash
# Tests/c/run.sh STAGE_DIR -- the C test suite of libswiftpoll.
#
# Builds every test against the *installed* library in STAGE_DIR (made by
# `make stage STAGE=STAGE_DIR`) through pkg-config, the way users do, links
# them with an rpath to STAGE_DIR/lib, runs them, and ends with the line
# "N passed, N failed" (one unit per test program and backend, header compile
# mode, artifact check, and example and backend). Exit status 0 only if
# nothing failed.
#
# Environment (all optional):
#   CC            C compiler for the test programs (default: cc)
#   EXTRA_CFLAGS  added to every test compile/link (e.g. -fsanitize=address -g)
#   EXTRA_LDFLAGS added to every test link
#   SKIP          space-separated groups to skip: alloc ffi header artifact examples
#                 (e.g. SKIP="alloc artifact" for a sanitized, non-Embedded library:
#                 ASan owns malloc, and such a library is not libc-only)
#   BACKENDS      backends to run the programs and examples over (default: every
#                 one the library can run here, found by probe_backends.c)
#   OUT           build directory (default: build/c-tests under the repository)
#   VERBOSE=1     print every program's output, not only failures
set -u
if [ $# -ne 1 ] || [ ! -f "$1/lib/pkgconfig/swiftpoll.pc" ]; then
    echo "usage: $0 STAGE_DIR   (a prefix with lib/pkgconfig/swiftpoll.pc; see make stage)" >&2
    exit 2
fi
STAGE=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/build/c-tests}
CC=${CC:-cc}
SKIP=" ${SKIP:-} "
EXTRA_CFLAGS=${EXTRA_CFLAGS:-}
EXTRA_LDFLAGS=${EXTRA_LDFLAGS:-}
mkdir -p "$OUT"
export PKG_CONFIG_PATH="$STAGE/lib/pkgconfig"
unset LD_LIBRARY_PATH

PASSED=0
FAILED=0
FAILED_NAMES=()
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1"); echo "FAIL $1${2:+: $2}"; }
skipped() { case "$SKIP" in *" $1 "*) echo "SKIP $1 (SKIP=${SKIP# })"; return 0;; esac; return 1; }

PC_CFLAGS=$(pkg-config --cflags swiftpoll) || { echo "pkg-config cannot find swiftpoll in $STAGE" >&2; exit 2; }
PC_LIBS=$(pkg-config --libs swiftpoll)
PC_VERSION=$(pkg-config --modversion swiftpoll)
RPATH="-Wl,-rpath,$STAGE/lib"
CFLAGS_T="-std=c11 -Wall -Wextra -Werror -g -O1 -D_GNU_SOURCE"
echo "C tests against $STAGE (pkg-config: $PC_CFLAGS $PC_LIBS, version $PC_VERSION), CC=$CC"

# the functions the installed header declares (the name right before "(")
header_functions() {
    sed -n 's/^SWIFTPOLL_API .*[^a-z0-9_]\(swiftpoll_[a-z0-9_]*\)(.*/\1/p' "$STAGE/include/swiftpoll.h" | sort -u
}

# build NAME SRC EXTRA_LIBS...: compile and link one program into $OUT/NAME
build() {
    local name=$1 src=$2
    shift 2
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS_T $EXTRA_CFLAGS -I"$HERE" -DPC_VERSION="\"$PC_VERSION\"" "$src" -o "$OUT/$name" \
        $PC_CFLAGS $PC_LIBS "$RPATH" -pthread "$@" $EXTRA_LDFLAGS >"$OUT/$name.build.log" 2>&1; then
        fail "$name (build)" "$(head -c 3000 "$OUT/$name.build.log")"
        return 1
    fi
    return 0
}

# runprog NAME CMD...: run with a time limit; pass if exit status 0
runprog() {
    local name=$1
    shift
    local log="$OUT/$name.log"
    timeout -k 5 180 "$@" >"$log" 2>&1
    local rc=$?
    if [ $rc -eq 0 ]; then
        pass "$name"
        [ -n "${VERBOSE:-}" ] && sed 's/^/    /' "$log"
    else
        fail "$name" "exit status $rc$([ $rc -eq 124 ] && echo ' (timeout)')"
        grep -v '^PASS' "$log" | head -60 | sed 's/^/    /'
    fi
}

# ------------------------------------------------------------ backends
# Every test program and example runs once per backend the library can run
# here (swiftpoll_poll_new_backend gives 0): the default one with
# SWIFTPOLL_BACKEND unset, the others with SWIFTPOLL_BACKEND=NAME. A unit is
# counted as "name [backend]". BACKENDS="poll" restricts the list.
PROBED=""
if build probe_backends "$HERE/probe_backends.c"; then
    PROBED=$("$OUT/probe_backends" 2>&1) || { fail "backend probe" "$PROBED"; PROBED=""; }
fi
DEFAULT_BACKEND=$(echo "$PROBED" | head -n 1)
BACKEND_LIST=${BACKENDS:-$(echo $PROBED)}
echo "backends: $BACKEND_LIST (default: ${DEFAULT_BACKEND:-none})"
[ -n "$PROBED" ] || fail "backend probe" "no backend can make a poll"

# benv B: the env(1) arguments that select backend B, in BENV
benv() {
    if [ "$1" = "$DEFAULT_BACKEND" ]; then BENV=(-u SWIFTPOLL_BACKEND); else BENV=(SWIFTPOLL_BACKEND="$1"); fi
}

# ------------------------------------------------------------ test programs
PROGRAMS="t_api t_modes t_flags t_threads t_resources t_fallback t_backends t_pollsem"
BUILT=""
for t in $PROGRAMS; do
    build "$t" "$HERE/$t.c" && BUILT="$BUILT $t"
done
if ! skipped alloc; then
    build t_alloc "$HERE/t_alloc.c" -rdynamic && BUILT="$BUILT t_alloc"
fi
FFI_BUILT=""
if ! skipped ffi; then
    build t_ffi "$HERE/t_ffi.c" -ldl $(pkg-config --cflags --libs libffi 2>/dev/null || echo -lffi) && FFI_BUILT=1
fi
for b in $BACKEND_LIST; do
    benv "$b"
    for t in $BUILT; do
        runprog "$t [$b]" env "${BENV[@]}" "$OUT/$t"
    done
    # again with fd 0 closed: the poll's own fd (epoll) or its notifier
    # (poll) is then 0, which the library must treat as the valid fd it is
    # (no "0 = no fd" sentinel anywhere)
    for t in t_api t_modes t_threads t_pollsem; do
        case " $BUILT " in *" $t "*)
            runprog "$t (fd 0 closed) [$b]" env "${BENV[@]}" bash -c 'exec 0<&-; exec "$0"' "$OUT/$t";;
        esac
    done
    [ -n "$FFI_BUILT" ] && runprog "t_ffi [$b]" env "${BENV[@]}" "$OUT/t_ffi" "$STAGE/lib/libswiftpoll.so.0"
done
if ! skipped ffi; then
    if [ -n "$FFI_BUILT" ]; then
        # every function the header declares is in the ffi table
        missing=""
        for f in $(header_functions); do
            grep -q "\"$f\"" "$HERE/t_ffi.c" || missing="$missing $f"
        done
        if [ -z "$missing" ]; then pass "ffi table covers the header"; else fail "ffi table covers the header" "missing:$missing"; fi
    fi
fi

# ------------------------------------------------------------ header modes
if ! skipped header; then
    GCC=${HEADER_GCC:-gcc}
    GXX=${HEADER_GXX:-g++}
    if [ -x /opt/swift/usr/bin/clang ]; then CLANG=/opt/swift/usr/bin/clang; CLANGXX=/opt/swift/usr/bin/clang++
    else CLANG=clang; CLANGXX=clang++; fi
    CLANG=${HEADER_CLANG:-$CLANG}
    CLANGXX=${HEADER_CLANGXX:-$CLANGXX}
    W="-Wall -Wextra -Wpedantic -Werror"
    for pair in "gcc:$GCC" "clang:$CLANG"; do
        label=${pair%%:*} cc=${pair#*:}
        for std in c99 c11 c17; do
            n="header $label -std=$std"
            if ! command -v "$cc" >/dev/null; then fail "$n" "no $cc"; continue; fi
            if out=$("$cc" -x c -std=$std $W $PC_CFLAGS -c "$HERE/header_check.c" -o /dev/null 2>&1); then pass "$n"; else fail "$n" "$out"; fi
        done
    done
    for pair in "g++:$GXX" "clang++:$CLANGXX"; do
        label=${pair%%:*} cxx=${pair#*:}
        for std in c++11 c++14 c++17 c++20; do
            n="header $label -std=$std"
            if ! command -v "$cxx" >/dev/null; then fail "$n" "no $cxx"; continue; fi
            if out=$("$cxx" -x c++ -std=$std $W $PC_CFLAGS -c "$HERE/header_check.c" -o /dev/null 2>&1); then pass "$n"; else fail "$n" "$out"; fi
        done
    done
fi

# ------------------------------------------------------------ the artifact
if ! skipped artifact; then
    LIB="$STAGE/lib/libswiftpoll.so.0"
    VERSION=$(sed -n 's/^#define SWIFTPOLL_VERSION_STRING "\(.*\)"/\1/p' "$STAGE/include/swiftpoll.h")
    # install layout: the real file and its two links
    if [ -f "$STAGE/lib/libswiftpoll.so.$VERSION" ] && [ ! -L "$STAGE/lib/libswiftpoll.so.$VERSION" ] \
        && [ "$(readlink "$STAGE/lib/libswiftpoll.so.0")" = "libswiftpoll.so.$VERSION" ] \
        && [ "$(readlink "$STAGE/lib/libswiftpoll.so")" = "libswiftpoll.so.0" ]; then
        pass "install layout (libswiftpoll.so -> .so.0 -> .so.$VERSION)"
    else
        fail "install layout" "$(ls -l "$STAGE/lib" | tr '\n' ';')"
    fi
    if [ "$PC_VERSION" = "$VERSION" ]; then pass "pkg-config --modversion = header version ($VERSION)"
    else fail "pkg-config --modversion" "pkg-config $PC_VERSION, header $VERSION"; fi

    dyn=$(readelf -d "$LIB" 2>&1)
    soname=$(echo "$dyn" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    if [ "$soname" = "libswiftpoll.so.0" ]; then pass "SONAME libswiftpoll.so.0"; else fail "SONAME" "got '$soname'"; fi
    if echo "$dyn" | grep -Eq '\((RPATH|RUNPATH)\)'; then
        fail "no RPATH/RUNPATH" "$(echo "$dyn" | grep -E 'RPATH|RUNPATH')"
    else pass "no RPATH/RUNPATH"; fi
    needed=$(echo "$dyn" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    bad_needed=$(echo "$needed" | tr ' ' '\n' | grep -v -E '^(libc\.so\.6|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1|)$' | tr '\n' ' ')
    if [ -z "${bad_needed// /}" ]; then pass "NEEDED libc only ($needed)"; else fail "NEEDED libc only" "also: $bad_needed"; fi

    # exported symbols (GLOBAL/WEAK, defined): exactly the header's functions,
    # each versioned SWIFTPOLL_0 (the version node's own ABS symbol aside)
    syms=$(readelf -W --dyn-syms "$LIB" | awk 'NR>3 && $7 != "UND" && $8 != "" {print $4, $5, $7, $8}')
    exported=$(echo "$syms" | awk '($2 == "GLOBAL" || $2 == "WEAK") && !($1 == "OBJECT" && $3 == "ABS") {print $4}' | sort)
    header_fns=$(header_functions)
    bad=$(echo "$exported" | grep -v -E '^swiftpoll_[a-z0-9_]+@@?SWIFTPOLL_0$' | tr '\n' ' ')
    if [ -z "${bad// /}" ]; then pass "only swiftpoll_* exported, each @SWIFTPOLL_0 ($(echo "$exported" | wc -l) symbols)"
    else fail "only swiftpoll_* exported, each @SWIFTPOLL_0" "offending: $(echo "$bad" | head -c 2000)"; fi
    names=$(echo "$exported" | sed 's/@.*//' | sort -u)
    not_exported=$(comm -23 <(echo "$header_fns") <(echo "$names") | tr '\n' ' ')
    not_declared=$(comm -13 <(echo "$header_fns") <(echo "$names") | tr '\n' ' ')
    if [ -z "${not_exported// /}" ] && [ -z "${not_declared// /}" ]; then pass "exports = header functions ($(echo "$header_fns" | wc -l))"
    else fail "exports = header functions" "declared, not exported: [$not_exported]; exported, not declared: [$not_declared]"; fi
    # what users see with nm -D --defined-only: swiftpoll_* and the version
    # node only -- no mangled Swift names, not even LOCAL ones (GNU ld keeps
    # LOCAL entries in .dynsym for GOT relocations against protected symbols)
    nm_other=$(nm -D --defined-only "$LIB" | awk '{print $3}' | grep -v -E '^(swiftpoll_[a-z0-9_]+(@@?SWIFTPOLL_0)?|SWIFTPOLL_0)$' | tr '\n' ' ')
    if [ -z "${nm_other// /}" ]; then pass "nm -D --defined-only: swiftpoll_* only"
    else fail "nm -D --defined-only: swiftpoll_* only" "also lists: $nm_other($(readelf -W --dyn-syms "$LIB" | awk '$5 == "LOCAL" && $8 != "" {print $8 "=" $5 "/" $6}' | tr '\n' ' '))"; fi
    funcs_not_func=$(echo "$syms" | awk '$4 ~ /^swiftpoll_/ && $1 != "FUNC" {print $4}' | tr '\n' ' ')
    if [ -z "${funcs_not_func// /}" ]; then pass "every export is a FUNC"; else fail "every export is a FUNC" "$funcs_not_func"; fi
    # nothing needed from a Swift runtime
    swift_und=$(readelf -W --dyn-syms "$LIB" | awk '$7 == "UND" {print $8}' | grep -E '^(swift_|\$s|_swift|\$e)' | tr '\n' ' ')
    if [ -z "${swift_und// /}" ]; then pass "no undefined Swift runtime symbols"; else fail "no undefined Swift runtime symbols" "$(echo "$swift_und" | head -c 1500)"; fi
    # ldd: libc (and the loader, vdso) only, nothing unresolved
    lddout=$(env -i /usr/bin/ldd "$LIB" 2>&1)
    bad_ldd=$(echo "$lddout" | grep -v -E '^\s*(linux-vdso\.so\.1|libc\.so\.6 =>|/lib6?4?/ld-linux[-a-z0-9_]*\.so\.[0-9]|/lib/[a-z0-9_-]+/ld-linux[-a-z0-9_]*\.so\.[0-9]|statically linked)' | tr '\n' ';')
    if [ -z "$bad_ldd" ]; then pass "ldd: libc only"; else fail "ldd: libc only" "$bad_ldd"; fi
    # loads and works with an empty environment: no toolchain on PATH/LD_LIBRARY_PATH
    if build load_check "$HERE/load_check.c"; then
        runprog "loads with env -i (rpath)" env -i "$OUT/load_check"
    fi
    if $CC -std=c11 -Wall -Wextra -Werror $EXTRA_CFLAGS "$HERE/load_check.c" -o "$OUT/load_check_norpath" $PC_CFLAGS $PC_LIBS $EXTRA_LDFLAGS >"$OUT/load_check_norpath.build.log" 2>&1; then
        runprog "loads with env -i LD_LIBRARY_PATH=stage only" env -i LD_LIBRARY_PATH="$STAGE/lib" "$OUT/load_check_norpath"
    else
        fail "load_check_norpath (build)" "$(cat "$OUT/load_check_norpath.build.log")"
    fi
    if [ -x /usr/bin/python3 ]; then
        runprog "ctypes.CDLL with env -i" env -i /usr/bin/python3 -c "
import ctypes, sys
lib = ctypes.CDLL('$STAGE/lib/libswiftpoll.so.0')
lib.swiftpoll_abi_version.restype = ctypes.c_uint32
lib.swiftpoll_version.restype = ctypes.c_char_p
assert lib.swiftpoll_abi_version() == 1, lib.swiftpoll_abi_version()
assert lib.swiftpoll_version().decode() == '$VERSION', lib.swiftpoll_version()
print('ctypes ok')"
    fi
fi

# ------------------------------------------------------------ examples
if ! skipped examples && [ -d "$ROOT/examples" ]; then
    for src in "$ROOT"/examples/*.c; do
        [ -e "$src" ] || continue
        name=example_$(basename "$src" .c)
        # examples are built exactly as the README says: cc x.c $(pkg-config ...)
        if $CC -std=c11 -Wall -Wextra -Werror $EXTRA_CFLAGS "$src" -o "$OUT/$name" $PC_CFLAGS $PC_LIBS "$RPATH" $EXTRA_LDFLAGS >"$OUT/$name.build.log" 2>&1; then
            for b in $BACKEND_LIST; do
                if [ "$b" = "$DEFAULT_BACKEND" ]; then runprog "$name [$b]" env -i "$OUT/$name"
                else runprog "$name [$b]" env -i SWIFTPOLL_BACKEND="$b" "$OUT/$name"; fi
            done
        else
            fail "$name (build)" "$(head -c 3000 "$OUT/$name.build.log")"
        fi
    done
fi

echo
if [ $FAILED -gt 0 ]; then
    echo "failed:"
    printf '  %s\n' "${FAILED_NAMES[@]}"
fi
echo "$PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ]
