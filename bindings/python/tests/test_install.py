"""Packaging: `pip install bindings/python` into a fresh virtual environment
gives a working package that carries its own library (no Swift toolchain, no
LD_LIBRARY_PATH); `pip wheel` makes a py3-none-<platform> wheel with the
library inside; the library lookup order and the ABI check at import."""

import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(PKG))
with open(os.path.join(PKG, "pyproject.toml")) as _f:
    VERSION = re.search(r'^version = "([^"]+)"', _f.read(), re.M).group(1)
with open(os.path.join(ROOT, "LICENSE"), "rb") as _f:
    LICENSE = _f.read()

CHECK = textwrap.dedent(r"""
    import asyncio, os, selectors, socket, sys
    import swiftpoll, swiftpoll.selectors, swiftpoll.asyncio
    from swiftpoll import Events, Interest, Poll
    assert swiftpoll.lib_path.startswith(sys.prefix), swiftpoll.lib_path
    a, b = socket.socketpair()
    with Poll() as p:
        ev = Events(4)
        p.registry.register(a, 5, Interest.READABLE)
        b.send(b"x")
        assert p.poll(ev, 5.0) == 1 and ev[0].token == 5
    s = swiftpoll.selectors.SwiftPollSelector()
    s.register(a, selectors.EVENT_READ, "data")
    assert [k.data for k, m in s.select(5.0)] == ["data"]
    s.close()
    assert swiftpoll.asyncio.run(asyncio.sleep(0, "ok")) == "ok"
    maps = open("/proc/self/maps").read()
    foreign = {l.split()[-1] for l in maps.splitlines()
               if "swift" in l.lower() and "libswiftpoll.so" not in l}
    assert not foreign, foreign  # no Swift runtime loaded
    print("OK", swiftpoll.library_version(), swiftpoll.lib_path)
""")


@pytest.fixture(autouse=True)
def _one_build_at_a_time():
    """pip and setuptools build in the source tree (build/, *.egg-info, the
    LICENSE copy): when tools/matrix.py runs interpreters side by side, their
    install tests take turns."""
    import fcntl
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    with open(os.path.join(ROOT, "build", ".python-install-tests.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _clean_env(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SWIFTPOLL_LIBRARY", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # no Swift toolchain
    env["HOME"] = str(tmp_path)
    return env


def _run(cmd, timeout=300, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    assert p.returncode == 0, "%s failed:\n%s\n%s" % (cmd, p.stdout[-4000:], p.stderr[-4000:])
    return p


def test_pip_install_in_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = str(venv / "bin" / "python")
    # the documented command: pip fetches the build backend from PyPI and
    # the build step runs `make lib` at the repository root
    env = dict(os.environ)
    env.pop("SWIFTPOLL_LIBRARY", None)
    _run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", PKG], env=env, timeout=400)
    out = _run([py, "-c", CHECK], env=_clean_env(tmp_path), cwd=str(tmp_path)).stdout
    assert out.startswith("OK ")
    installed = os.path.join(str(venv), "lib", "python%d.%d" % sys.version_info[:2],
                             "site-packages", "swiftpoll")
    assert os.path.isfile(os.path.join(installed, "libswiftpoll.so"))
    assert os.path.isfile(os.path.join(installed, "py.typed"))


def test_pip_wheel_carries_the_library(tmp_path):
    out = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
          "--disable-pip-version-check", "-w", str(out), PKG])
    (whl,) = list(out.iterdir())
    assert whl.name.startswith("swiftpoll-%s-py3-none-linux_" % VERSION), whl.name
    with zipfile.ZipFile(str(whl)) as z:
        names = set(z.namelist())
        # the MIT license, in .dist-info/licenses/ (PEP 639) or .dist-info/
        lic = [n for n in names if re.match(r"swiftpoll-[^/]+\.dist-info/(licenses/)?LICENSE$", n)]
        assert len(lic) == 1, sorted(names)
        assert z.read(lic[0]) == LICENSE
        meta = z.read("swiftpoll-%s.dist-info/METADATA" % VERSION).decode()
    assert re.search(r"^License(-Expression)?: MIT", meta, re.M), meta
    assert {"swiftpoll/__init__.py", "swiftpoll/libswiftpoll.so", "swiftpoll/py.typed",
            "swiftpoll/selectors.py", "swiftpoll/asyncio.py"} <= names
    # and it installs offline into another fresh venv
    venv = tmp_path / "venv2"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    site = os.path.join(str(venv), "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
    with zipfile.ZipFile(str(whl)) as z:
        z.extractall(site)  # what an installer does for a wheel like this
    os.chmod(os.path.join(site, "swiftpoll", "libswiftpoll.so"), 0o755)
    _run([str(venv / "bin" / "python"), "-c", CHECK], env=_clean_env(tmp_path), cwd=str(tmp_path))


def test_sdist_carries_the_license(tmp_path):
    # the build backend's own PEP 517 hook, as any frontend calls it
    out = tmp_path / "sdist"
    out.mkdir()
    _run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
          "print(b.build_sdist(sys.argv[1]))", str(out)], cwd=PKG)
    (sdist,) = list(out.iterdir())
    assert sdist.name == "swiftpoll-%s.tar.gz" % VERSION
    with tarfile.open(str(sdist)) as t:
        names = set(t.getnames())
        top = "swiftpoll-%s/" % VERSION
        assert {top + "LICENSE", top + "pyproject.toml", top + "setup.py",
                top + "src/swiftpoll/__init__.py", top + "src/swiftpoll/py.typed"} <= names
        assert t.extractfile(top + "LICENSE").read() == LICENSE
        assert not any(n.endswith(".so") for n in names)  # the library is built, not shipped


def _import_with(env_lib, tmp_path):
    env = _clean_env(tmp_path)
    env["PYTHONPATH"] = os.path.join(PKG, "src")
    if env_lib is not None:
        env["SWIFTPOLL_LIBRARY"] = env_lib
    return subprocess.run([sys.executable, "-c", "import swiftpoll; print(swiftpoll.lib_path)"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=str(tmp_path))


def test_missing_library_is_import_error(tmp_path):
    p = _import_with(str(tmp_path / "nope.so"), tmp_path)
    assert p.returncode != 0 and "ImportError" in p.stderr and "nope.so" in p.stderr


def test_not_a_swiftpoll_library_is_import_error(tmp_path):
    import ctypes.util
    libc = ctypes.util.find_library("c")
    p = _import_with(libc, tmp_path)
    assert p.returncode != 0 and "ImportError" in p.stderr and "not a usable libswiftpoll" in p.stderr


def test_abi_mismatch_is_import_error(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "fake.c"
    src.write_text("unsigned swiftpoll_abi_version(void) { return 2; }\n")
    so = tmp_path / "libfake.so"
    _run([cc, "-shared", "-fPIC", "-o", str(so), str(src)])
    p = _import_with(str(so), tmp_path)
    assert p.returncode != 0 and "ImportError" in p.stderr
    assert "ABI version 2" in p.stderr and "needs version 1" in p.stderr


def test_env_var_wins(tmp_path):
    lib = os.environ.get("SWIFTPOLL_LIBRARY") or os.path.join(ROOT, "build", "lib", "libswiftpoll.so." + VERSION)
    if not os.path.exists(lib):
        pytest.skip("no built library")
    copy = tmp_path / "libswiftpoll-copy.so"
    shutil.copyfile(lib, str(copy))
    p = _import_with(str(copy), tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(copy)
