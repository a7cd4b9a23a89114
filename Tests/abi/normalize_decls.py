#!/usr/bin/env python3
"""Reads preprocessed swiftpoll.h on stdin; prints every declaration that
names a swiftpoll_ identifier (prototypes, typedefs, struct bodies), one per
line with whitespace normalised, sorted.  The ABI guard diffs this against
Tests/abi/header-decls.txt, so a changed parameter or return type fails."""
import re
import sys

text = sys.stdin.read()
text = re.sub(r'__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)', '', text)
# Split into top-level declarations at ';' outside braces.
decls, depth, cur = [], 0, []
for ch in text:
    cur.append(ch)
    if ch == '{':
        depth += 1
    elif ch == '}':
        depth -= 1
    elif ch == ';' and depth == 0:
        decls.append(''.join(cur))
        cur = []
out = set()
for d in decls:
    d = ' '.join(d.split())
    d = re.sub(r'\s*([(),;*{}\[\]])\s*', r'\1', d)
    d = d.replace('extern"C"{', '')
    if 'swiftpoll_' in d and 'swiftpoll_assert_' not in d:
        out.add(d)
for d in sorted(out):
    print(d)
