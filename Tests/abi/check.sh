#!/usr/bin/env bash
# ABI guard for libswiftpoll (issue 5, item 5).
#
#   Tests/abi/check.sh check  LIB HEADER_DIR OUT_DIR   compare with the baseline
#   Tests/abi/check.sh update LIB HEADER_DIR OUT_DIR   rewrite the baseline (an intended change)
#
# Three parts, each against a committed file in Tests/abi/:
#   libswiftpoll.abi   abidw's dump of the shipped library: SONAME, needed libraries and
#                      every exported symbol with its version (abidiff explains a change)
#   header-decls.txt   every swiftpoll_ declaration of the preprocessed header, normalised
#                      (a changed parameter or return type shows here)
#   layout.txt         sizeof / alignof / offsetof of the public types and the macro values,
#                      printed by layout.c compiled against the header and run against LIB
# Any difference fails: removals and changes are ABI breaks; additions must be recorded
# with `make abi-baseline` in the commit that makes them (see docs/RELIABILITY.md).
set -euo pipefail
mode=$1 lib=$2 inc=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}
CXX=${CXX:-c++}
mkdir -p "$out"
status=0

abidw --no-show-locs --no-corpus-path "$lib" > "$out/libswiftpoll.abi"
"$CC" -E -P -std=c11 "$inc/swiftpoll.h" | python3 "$here/normalize_decls.py" > "$out/header-decls.txt"
"$CC" -std=c11 -Wall -Wextra -Werror -I"$inc" -o "$out/layout" "$here/layout.c" \
    -L"$(dirname "$lib")" -l:"$(basename "$lib")" -Wl,-rpath,"$(dirname "$lib")"
"$out/layout" > "$out/layout.txt"
# The header's own static_asserts, in C++ too.
printf '#include <swiftpoll.h>\nint main(){return 0;}\n' > "$out/cxx.cc"
"$CXX" -std=c++11 -Wall -Wextra -Wpedantic -Werror -I"$inc" -fsyntax-only "$out/cxx.cc"

if [ "$mode" = update ]; then
    cp "$out/libswiftpoll.abi" "$out/header-decls.txt" "$out/layout.txt" "$here/"
    echo "abi-guard: baseline updated in $here (commit it with the change that made it)"
    exit 0
fi

if ! abidiff "$here/libswiftpoll.abi" "$out/libswiftpoll.abi" > "$out/abidiff.txt" 2>&1; then
    echo "abi-guard: abidiff reports a change of the exported symbols:"
    cat "$out/abidiff.txt"
    status=1
fi
for f in libswiftpoll.abi header-decls.txt layout.txt; do
    if ! diff -u "$here/$f" "$out/$f" > "$out/$f.diff"; then
        echo "abi-guard: $f differs from the baseline (- baseline, + now):"
        cat "$out/$f.diff"
        status=1
    fi
done
nsym=$(grep -c '<elf-symbol ' "$out/libswiftpoll.abi" || true)
if [ $status -ne 0 ]; then
    echo "abi-guard: FAILED. If this change is intended, follow 'Changing the ABI' in docs/RELIABILITY.md"
    echo "abi-guard: 0 passed, 1 failed"
    exit 1
fi
echo "abi-guard: $nsym exported symbols, header declarations and type layout match the baseline"
echo "abi-guard: 1 passed, 0 failed"
