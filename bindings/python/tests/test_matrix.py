"""tools/matrix.py, the interpreter matrix of `make test-python`: which
interpreters it finds and leaves out, and that an interpreter it cannot use
fails the matrix instead of being skipped.  Real executables in a scratch
PATH and pyenv root (links to this interpreter, and scripts)."""

import importlib.util
import os
import subprocess
import sys

import pytest

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")
spec = importlib.util.spec_from_file_location("swiftpoll_matrix", os.path.join(TOOLS, "matrix.py"))
matrix = importlib.util.module_from_spec(spec)
spec.loader.exec_module(matrix)

ME = "%d.%d.%d" % sys.version_info[:3]
MINOR = sys.version_info[1]


def _script(path, body):
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def _fake(path, version):
    """An executable that answers the probe as CPython `version` would."""
    return _script(path, "echo 'CPython %s %s'" % (version, path))


@pytest.fixture
def world(tmp_path):
    root = tmp_path / "pyenv"
    shims = root / "shims"
    shims.mkdir(parents=True)
    vbin = root / "versions" / ME / "bin"
    vbin.mkdir(parents=True)
    os.symlink(os.path.realpath(sys.executable), str(vbin / ("python3.%d" % MINOR)))
    old = root / "versions" / "3.8.18" / "bin"
    old.mkdir(parents=True)
    _fake(old / "python3.8", "3.8.18")
    # a shim, as pyenv makes them for versions that are not global: fails
    _script(shims / "python3.40", "echo 'pyenv: python3.40: command not found' >&2; exit 127")
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    _fake(bin_ / "python3.40", "3.40.1")  # a newer one on PATH
    _script(bin_ / "python3.41", "exit 3")  # broken
    _fake(bin_ / "python3.x", "3.50.0")  # not a python3.N name
    _fake(bin_ / ("python3.%d" % MINOR), "%d.%d.99" % sys.version_info[:2])  # same minor
    env = {"PATH": os.pathsep.join([str(shims), str(bin_)]), "PYENV_ROOT": str(root),
           "HOME": str(tmp_path)}
    return env, tmp_path


def test_discovery(world):
    env, tmp = world
    log = []
    chosen, broken = matrix.discover(env, log=log.append)
    assert [(i.vstr, i.path) for i in chosen] == [
        (ME, str(tmp / "pyenv" / "versions" / ME / "bin" / ("python3.%d" % MINOR))),
        ("3.40.1", str(tmp / "bin" / "python3.40")),
    ]
    assert [b.path for b in broken] == [str(tmp / "bin" / "python3.41")]
    assert "exit 3" in broken[0].error
    text = "\n".join(log)
    assert "older than 3.9" in text and "3.8.18" in text
    assert "same minor version" in text and "%d.%d.99" % sys.version_info[:2] in text
    assert "shims" not in text and "3.50.0" not in text


def test_explicit_list_replaces_discovery(world):
    env, tmp = world
    env = dict(env, SWIFTPOLL_PYTHONS=str(tmp / "bin" / "python3.40"))
    chosen, broken = matrix.discover(env, log=lambda s: None)
    assert [i.vstr for i in chosen] == ["3.40.1"] and broken == []


def test_plan_full_on_the_ends_fast_between(world):
    env, _ = world
    its = [matrix.Interpreter("p%d" % m, "CPython", (3, m, 0), "p%d" % m) for m in (9, 10, 11, 12, 13)]
    runs = [(r.it.minor, r.backend, r.scope) for r in matrix.plan(its, ["epoll", "poll"])]
    assert runs[:5] == [("3.%d" % m, "epoll", "full") for m in (9, 10, 11, 12, 13)]
    assert runs[5:] == [("3.9", "poll", "full"), ("3.10", "poll", "fast"), ("3.11", "poll", "fast"),
                        ("3.12", "poll", "fast"), ("3.13", "poll", "full")]


def test_an_interpreter_without_a_venv_fails_the_matrix(tmp_path):
    # it answers the probe, but `-m venv` fails: named, counted, exit 1
    bad = _script(tmp_path / "python3.9", 'case "$2" in venv) echo "no ensurepip" >&2; exit 1;; '
                  "esac; echo 'CPython 3.9.0 %s'" % (tmp_path / "python3.9"))
    lib = os.environ.get("SWIFTPOLL_LIBRARY") or "none.so"
    env = dict(os.environ, SWIFTPOLL_PYTHONS=bad)
    p = subprocess.run([sys.executable, os.path.join(TOOLS, "matrix.py"), "--library", lib,
                        "--venvs", str(tmp_path / "venvs"), "--backends", "epoll"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1] == "python-matrix: 0 passed, 1 failed"
    assert any("venv cannot be made" in l and "no ensurepip" in l for l in lines), p.stdout
    assert any("only one CPython" in l for l in lines)
