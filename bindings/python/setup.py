"""Build hooks for the swiftpoll wheel (metadata lives in pyproject.toml).

build_py builds the C library and puts it inside the package as
swiftpoll/libswiftpoll.so:
  - SWIFTPOLL_PREBUILT_LIBRARY=/path/to/libswiftpoll.so.X.Y.Z: copy that file;
  - otherwise, inside the swiftpoll repository: run `make lib` at its root and
    copy build/lib/libswiftpoll.so.<version>.
The wheel is tagged py3-none-<platform>: pure Python, but it carries a
platform library.
"""

import os
import re
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py as _build_py

try:  # setuptools >= 70.1
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # pragma: no cover - older setuptools: the wheel package
    try:
        from wheel.bdist_wheel import bdist_wheel as _bdist_wheel
    except ImportError:
        _bdist_wheel = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _license() -> None:
    """The repository's LICENSE, copied next to this file, where setuptools'
    default license patterns find it and put it in the sdist and in the
    wheel's .dist-info.  In an sdist the copy is already there."""
    src = os.path.join(ROOT, "LICENSE")
    dst = os.path.join(HERE, "LICENSE")
    if not os.path.isfile(src):
        return
    with open(src, "rb") as f:
        text = f.read()
    try:
        with open(dst, "rb") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(dst, "wb") as f:
        f.write(text)


_license()


def _library() -> str:
    pre = os.environ.get("SWIFTPOLL_PREBUILT_LIBRARY")
    if pre:
        if not os.path.isfile(pre):
            raise RuntimeError("SWIFTPOLL_PREBUILT_LIBRARY=%s does not exist" % pre)
        return pre
    header = os.path.join(ROOT, "include", "swiftpoll.h")
    if not (os.path.isfile(header) and os.path.isfile(os.path.join(ROOT, "Makefile"))):
        raise RuntimeError(
            "swiftpoll: not inside the swiftpoll repository; set "
            "SWIFTPOLL_PREBUILT_LIBRARY to a built libswiftpoll.so"
        )
    with open(header) as f:
        m = re.search(r'#define SWIFTPOLL_VERSION_STRING "([^"]+)"', f.read())
    if not m:
        raise RuntimeError("swiftpoll: no SWIFTPOLL_VERSION_STRING in %s" % header)
    subprocess.check_call(["make", "--no-print-directory", "-C", ROOT, "lib"])
    return os.path.join(ROOT, "build", "lib", "libswiftpoll.so." + m.group(1))


class build_py(_build_py):
    """Also builds and copies libswiftpoll.so into the package."""

    def run(self):
        super().run()
        src = _library()
        dst = os.path.join(self.build_lib, "swiftpoll", "libswiftpoll.so")
        self.mkpath(os.path.dirname(dst))
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o755)


cmdclass = {"build_py": build_py}

if _bdist_wheel is not None:

    class bdist_wheel(_bdist_wheel):
        """py3-none-<platform>: no extension module, but a platform library."""

        def get_tag(self):
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = bdist_wheel



class BinaryDistribution(Distribution):
    """Not pure: the files go to platlib, next to the platform library."""

    def has_ext_modules(self):
        return True


setup(cmdclass=cmdclass, distclass=BinaryDistribution)
