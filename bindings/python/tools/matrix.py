#!/usr/bin/env python3
"""Runs the swiftpoll Python test suite once per CPython >= 3.9 on this machine,
over each of the library's Linux backends (epoll, poll(2)).

    python3 tools/matrix.py --library build/lib/libswiftpoll.so.X.Y.Z \
        [--venvs build/python-venvs] [--backends epoll,poll] [--jobs 2]

`make test-python` calls it.  What it does, in order:

1. Finds the interpreters (never a fixed list): every
   ``<pyenv root>/versions/*/bin/python3.N`` and every ``python3.N`` in a
   directory of ``$PATH`` (pyenv's shim directories excepted: a shim only
   dispatches to a version already found under the pyenv root, and a shim for a
   version that is not pyenv's global one fails).  Each is asked its version;
   not CPython, or older than 3.9: listed and left out.  One interpreter per
   minor version runs (the first found: pyenv's before $PATH's); the others are
   listed.  ``SWIFTPOLL_PYTHONS="path path ..."`` replaces the discovery.
2. Makes (or reuses) one virtual environment per interpreter under --venvs,
   with ``requirements-test.txt`` installed by pip.  A venv is made again only
   when it is missing, or when the requirements file or the interpreter changed
   (a stamp file records both).  An interpreter whose venv cannot be made, or
   that cannot run, is a failed run: named and counted, never skipped.
3. Runs pytest in each venv: the interpreter's own ``test`` package supplies
   CPython's ``test.test_selectors`` and ``test.test_asyncio`` suites; an
   interpreter without it fails its run (the suites would only be skipped).
   The plan (see docs/PYTHON.md for the measured times behind it): over epoll,
   the whole suite on every interpreter; over poll(2), the whole suite on the
   oldest and the newest, the fast subset (FAST_DESELECT left out) on the rest.
   ``SWIFTPOLL_BACKEND`` selects the backend of every ``Poll()`` of a run, and
   the suite's conftest checks the backend it got.
4. Prints ``== Python X.Y.Z ...`` before each run's output and pytest summary,
   a table of the runs with their times, and as the last line
   ``python-matrix: N passed, N failed`` (runs); exits 1 if any run failed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
REQUIREMENTS = os.path.join(PKG, "requirements-test.txt")
MIN_VERSION = (3, 9)

# The fast subset: the whole suite except the files whose subject does not
# depend on the backend or the interpreter's asyncio (packaging, the benchmark
# smoke run) and the slowest backend-independent tests.
FAST_DESELECT = [
    "tests/test_install.py",
    "tests/test_bench_smoke.py",
    "tests/test_examples.py",
]

_PROBE = (
    "import platform, sys; "
    "sys.stdout.write('%s %d.%d.%d %s\\n' % ((platform.python_implementation(),)"
    " + tuple(sys.version_info[:3]) + (sys.executable,)))"
)
_NAME = re.compile(r"^python3\.(\d+)$")


class Interpreter:
    def __init__(self, path, impl=None, version=None, executable=None, error=None):
        self.path = path
        self.impl = impl
        self.version = version  # (major, minor, micro)
        self.executable = executable
        self.error = error

    @property
    def vstr(self):
        return "%d.%d.%d" % self.version if self.version else "?"

    @property
    def minor(self):
        return "%d.%d" % self.version[:2]


def pyenv_root(env=None):
    env = os.environ if env is None else env
    exe = shutil.which("pyenv", path=env.get("PATH", ""))
    if exe:
        try:
            p = subprocess.run([exe, "root"], capture_output=True, text=True, timeout=20, env=dict(env))
            if p.returncode == 0 and p.stdout.strip():
                return p.stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    root = env.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    return root if os.path.isdir(root) else None


def candidates(env=None):
    """Paths of python3.N executables: pyenv's versions first, then $PATH's."""
    env = os.environ if env is None else env
    out = []
    root = pyenv_root(env)
    shim_dirs = set()
    if root:
        shim_dirs.add(os.path.realpath(os.path.join(root, "shims")))
        for d in glob.glob(os.path.join(root, "plugins", "*", "shims")):
            shim_dirs.add(os.path.realpath(d))
        found = glob.glob(os.path.join(root, "versions", "*", "bin", "python3.*"))
        out += sorted((p for p in found if _NAME.match(os.path.basename(p))), key=_natural)
    for d in env.get("PATH", "").split(os.pathsep):
        if not d or not os.path.isdir(d) or os.path.realpath(d) in shim_dirs:
            continue
        names = sorted((n for n in os.listdir(d) if _NAME.match(n)), key=_natural)
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                out.append(p)
    return out


def _natural(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def probe(path, env=None):
    try:
        p = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ if env is None else env))
    except (OSError, subprocess.TimeoutExpired) as e:
        return Interpreter(path, error="does not run: %s" % e)
    parts = p.stdout.split(None, 2)
    if p.returncode != 0 or len(parts) != 3:
        tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["no output"]
        return Interpreter(path, error="does not run (exit %d): %s" % (p.returncode, tail[0]))
    v = tuple(int(x) for x in parts[1].split("."))
    return Interpreter(path, impl=parts[0], version=v, executable=parts[2].strip())


def discover(env=None, log=print):
    """(interpreters to run, broken ones).  Logs what was left out and why."""
    env = os.environ if env is None else env
    explicit = env.get("SWIFTPOLL_PYTHONS", "").split()
    paths = explicit or candidates(env)
    if explicit:
        log("interpreters from SWIFTPOLL_PYTHONS: %s" % " ".join(explicit))
    chosen, broken, seen_exe, by_minor = [], [], set(), {}
    old, other = [], []
    for path in paths:
        it = probe(path, env)
        if it.error:
            broken.append(it)
            continue
        real = os.path.realpath(it.executable or path)
        if real in seen_exe:
            continue
        seen_exe.add(real)
        if it.impl != "CPython":
            other.append(it)
        elif it.version < MIN_VERSION:
            old.append(it)
        elif it.minor in by_minor:
            log("also found %s (%s): same minor version as %s, not run"
                % (path, it.vstr, by_minor[it.minor].path))
        else:
            by_minor[it.minor] = it
            chosen.append(it)
    if old:
        log("left out (older than %d.%d): %s"
            % (MIN_VERSION + (", ".join("%s %s" % (i.vstr, i.path) for i in old),)))
    for it in other:
        log("left out (not CPython: %s): %s %s" % (it.impl, it.vstr, it.path))
    chosen.sort(key=lambda i: i.version)
    return chosen, broken


def _stamp(it):
    with open(REQUIREMENTS, "rb") as f:
        req = hashlib.sha256(f.read()).hexdigest()
    return "requirements %s\ninterpreter %s %s\n" % (req, os.path.realpath(it.executable), it.vstr)


def ensure_venv(it, venvs, log=print):
    """The venv's python for ``it``; raises RuntimeError with the reason."""
    d = os.path.join(venvs, "cpython-" + it.minor)
    py = os.path.join(d, "bin", "python")
    stamp_file = os.path.join(d, ".swiftpoll-stamp")
    want = _stamp(it)
    try:
        with open(stamp_file) as f:
            if f.read() == want and os.access(py, os.X_OK):
                return py
    except OSError:
        pass
    log("making the venv %s for Python %s (%s)" % (d, it.vstr, it.path))
    shutil.rmtree(d, ignore_errors=True)
    steps = [
        [it.path, "-m", "venv", d],
        [py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", REQUIREMENTS],
    ]
    for cmd in steps:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise RuntimeError("%s: %s" % (" ".join(cmd), e))
        if p.returncode != 0:
            tail = " | ".join((p.stderr or p.stdout).strip().splitlines()[-5:])
            raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode, tail))
    with open(stamp_file, "w") as f:
        f.write(want)
    return py


_CHECK_TEST_PKG = (
    "import sysconfig, os, test, test.test_selectors, test.test_asyncio.test_events; "
    "std = os.path.realpath(sysconfig.get_paths()['stdlib']); "
    "f = os.path.realpath(test.__file__); "
    "assert f.startswith(std + os.sep), '%s is not under %s' % (f, std)"
)


def has_test_package(py):
    p = subprocess.run([py, "-c", _CHECK_TEST_PKG], capture_output=True, text=True, timeout=60,
                       cwd=PKG)
    if p.returncode == 0:
        return None
    return ((p.stderr or p.stdout).strip().splitlines() or ["?"])[-1]


def library_has_backends(library):
    try:
        return hasattr(ctypes.CDLL(library), "swiftpoll_poll_new_backend")
    except OSError:
        return False


class Run:
    def __init__(self, it, backend, scope):
        self.it = it
        self.backend = backend
        self.scope = scope  # "full" or "fast"
        self.ok = False
        self.note = ""
        self.summary = ""
        self.output = ""
        self.seconds = 0.0
        self.cpu = 0.0

    @property
    def title(self):
        where = self.it.path
        return "== Python %s (%s), backend %s, %s suite" % (
            self.it.vstr, where, self.backend, "whole" if self.scope == "full" else "fast")


def plan(interpreters, backends):
    runs = []
    ends = {interpreters[0].minor, interpreters[-1].minor} if interpreters else set()
    for backend in backends:
        for it in interpreters:
            if backend == "epoll" or it.minor in ends:
                runs.append(Run(it, backend, "full"))
            else:
                runs.append(Run(it, backend, "fast"))
    return runs


_SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed|error|errors|skipped).*) in [\d.]+s")


def execute(run, py, library, extra_args):
    env = dict(os.environ)
    env["SWIFTPOLL_LIBRARY"] = library
    env["SWIFTPOLL_BACKEND"] = run.backend
    env["SWIFTPOLL_EXPECT_BACKEND"] = run.backend
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    if run.scope == "fast":
        for f in FAST_DESELECT:
            cmd += ["--ignore", f]
    cmd += extra_args
    t0 = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as out:
        p = subprocess.Popen(cmd, cwd=PKG, env=env, stdout=out, stderr=subprocess.STDOUT)
        # wait4, not wait: the CPU time of this run alone (runs go side by side)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        run.seconds = time.monotonic() - t0
        run.cpu = usage.ru_utime + usage.ru_stime
        out.seek(0)
        run.output = out.read()
    for line in reversed(run.output.splitlines()):
        m = _SUMMARY.match(line.strip())
        if m:
            run.summary = line.strip().strip("= ")
            break
    run.ok = p.returncode == 0
    if not run.ok and not run.note:
        run.note = "pytest exit %d" % p.returncode


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", required=True, help="libswiftpoll.so to test")
    ap.add_argument("--venvs", default=os.path.join(os.path.dirname(os.path.dirname(PKG)),
                                                    "build", "python-venvs"))
    ap.add_argument("--backends", default="epoll,poll")
    ap.add_argument("--jobs", type=int, default=1, help="runs at once (output stays in order)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args(argv)
    t_start = time.monotonic()
    library = os.path.abspath(args.library)
    args.venvs = os.path.abspath(args.venvs)
    log = lambda s: print(s, flush=True)  # noqa: E731

    interpreters, broken = discover(log=log)
    failed_setup = []
    for it in broken:
        failed_setup.append("%s: %s" % (it.path, it.error))
    if not interpreters:
        log("no CPython >= %d.%d found" % MIN_VERSION)
    elif len(interpreters) == 1:
        log("only one CPython >= %d.%d found (%s %s): the matrix is that one interpreter"
            % (MIN_VERSION + (interpreters[0].vstr, interpreters[0].path)))
    log("interpreters: " + ", ".join("%s (%s)" % (i.vstr, i.path) for i in interpreters))

    backends = [b for b in args.backends.split(",") if b]
    if "poll" in backends and not library_has_backends(library):
        log("backend poll: skipped, backend ABI not in this library (%s)" % library)
        backends = [b for b in backends if b != "poll"]

    venv_py, no_test_pkg = {}, set()
    setup_t0 = time.monotonic()
    for it in interpreters:
        try:
            py = ensure_venv(it, args.venvs, log)
        except RuntimeError as e:
            failed_setup.append("Python %s (%s): venv cannot be made: %s" % (it.vstr, it.path, e))
            continue
        missing = has_test_package(py)
        if missing:
            log("Python %s (%s): no CPython test package, so CPython's test_selectors and "
                "asyncio suites cannot run (its runs fail): %s" % (it.vstr, it.path, missing))
            no_test_pkg.add(it.path)
        venv_py[it.path] = py
    setup_s = time.monotonic() - setup_t0

    runs = [r for r in plan(interpreters, backends) if r.it.path in venv_py]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(execute, r, venv_py[r.it.path], library, args.pytest_args) for r in runs]
        for r, fut in zip(runs, futures):
            fut.result()
            if r.it.path in no_test_pkg:
                r.ok, r.note = False, "no CPython test package"
            print(r.title, flush=True)
            sys.stdout.write(r.output)
            print("-- %.1f s (CPU %.1f s)" % (r.seconds, r.cpu), flush=True)

    print("\npython matrix (library %s):" % library)
    for r in runs:
        print("  %-7s %-5s %-5s %-4s %6.1f s (CPU %5.1f s)  %s%s" % (
            r.it.vstr, r.backend, r.scope, "ok" if r.ok else "FAIL", r.seconds, r.cpu,
            r.summary or "(no pytest summary)", "" if r.ok else "  [%s]" % r.note))
    for s in failed_setup:
        print("  FAIL  %s" % s)
    n_fail = sum(1 for r in runs if not r.ok) + len(failed_setup)
    n_pass = sum(1 for r in runs if r.ok)
    print("  venv setup %.1f s; runs %.1f s wall, %.1f s CPU (%d at once); total %.1f s"
          % (setup_s, sum(r.seconds for r in runs), sum(r.cpu for r in runs), max(1, args.jobs),
             time.monotonic() - t_start))
    print("python-matrix: %d passed, %d failed" % (n_pass, n_fail), flush=True)
    return 1 if n_fail or not runs else 0


if __name__ == "__main__":
    sys.exit(main())
