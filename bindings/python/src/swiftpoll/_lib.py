"""Loading of libswiftpoll and the ctypes declarations of its C ABI.

Lookup order (the first that exists wins):

1. the path in the ``SWIFTPOLL_LIBRARY`` environment variable;
2. ``libswiftpoll.so`` shipped inside this package (what ``pip install`` puts there);
3. the system library, found with ``ctypes.util.find_library("swiftpoll")``.

The library's ``swiftpoll_abi_version()`` must equal :data:`ABI_VERSION`,
otherwise importing :mod:`swiftpoll` raises :class:`ImportError`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Optional, Tuple

__all__ = ["ABI_VERSION", "lib", "lib_path", "WaitArgs", "wait_args_fn", "HAS_BACKENDS", "BACKENDS"]

#: The C ABI version this binding is written for (``SWIFTPOLL_ABI_VERSION``).
ABI_VERSION = 1

_c_void_p = ctypes.c_void_p
_c_int = ctypes.c_int
_c_uint32 = ctypes.c_uint32
_c_uint64 = ctypes.c_uint64
_c_size_t = ctypes.c_size_t
_c_int64 = ctypes.c_int64
_pp = ctypes.POINTER(ctypes.c_void_p)


class WaitArgs(ctypes.Structure):
    """``swiftpoll_wait_args``: the arguments of one wait, built once per
    (poll, events) pair; only ``timeout_ns`` changes between calls."""

    _fields_ = [
        ("poll", _c_void_p),
        ("events", _c_void_p),
        ("capacity", _c_size_t),
        ("timeout_ns", _c_int64),
    ]


def _candidates() -> "list[Tuple[str, str]]":
    out = []
    env = os.environ.get("SWIFTPOLL_LIBRARY")
    if env:
        out.append(("SWIFTPOLL_LIBRARY", env))
        return out  # an explicit choice is never silently replaced
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libswiftpoll.so")
    if os.path.exists(here):
        out.append(("package", here))
    found = ctypes.util.find_library("swiftpoll")
    if found:
        out.append(("system", found))
    return out


def _load() -> "Tuple[ctypes.CDLL, str]":
    cands = _candidates()
    if not cands:
        raise ImportError(
            "swiftpoll: libswiftpoll.so not found (set SWIFTPOLL_LIBRARY to its path, "
            "reinstall the package with pip, or install the library system-wide)"
        )
    errors = []
    for origin, path in cands:
        try:
            # CDLL (not PyDLL): the GIL is released during every call.
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append("%s (%s): %s" % (path, origin, e))
    raise ImportError("swiftpoll: cannot load libswiftpoll: " + "; ".join(errors))


def _declare(lib: ctypes.CDLL) -> None:
    def d(name, restype, *argtypes):
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = argtypes

    d("swiftpoll_abi_version", _c_uint32)
    d("swiftpoll_version", ctypes.c_char_p)
    d("swiftpoll_strerror", ctypes.c_char_p, _c_int)
    d("swiftpoll_poll_new", _c_int, _pp)
    d("swiftpoll_poll_free", None, _c_void_p)
    d("swiftpoll_poll_fd", _c_int, _c_void_p)
    d("swiftpoll_poll_registry", _c_void_p, _c_void_p)
    d("swiftpoll_poll_wait", _c_int, _c_void_p, _c_void_p, _c_size_t, _c_int64)
    d("swiftpoll_poll_wait_args", _c_int, ctypes.POINTER(WaitArgs))
    d("swiftpoll_registry_register", _c_int, _c_void_p, _c_int, _c_uint64, _c_uint32)
    d("swiftpoll_registry_reregister", _c_int, _c_void_p, _c_int, _c_uint64, _c_uint32)
    d("swiftpoll_registry_deregister", _c_int, _c_void_p, _c_int)
    d("swiftpoll_registry_try_clone", _c_int, _c_void_p, _pp)
    d("swiftpoll_registry_free", None, _c_void_p)
    d("swiftpoll_waker_new", _c_int, _c_void_p, _c_uint64, _pp)
    d("swiftpoll_waker_wake", _c_int, _c_void_p)
    d("swiftpoll_waker_free", None, _c_void_p)
    if hasattr(lib, "swiftpoll_poll_new_backend"):  # library 0.2 (an addition to ABI 1)
        d("swiftpoll_poll_new_backend", _c_int, _pp, _c_int)
        d("swiftpoll_poll_backend", _c_int, _c_void_p)
        d("swiftpoll_backend_name", ctypes.c_char_p, _c_int)


#: SWIFTPOLL_BACKEND_* values by name ("default" is swiftpoll_poll_new's choice).
BACKENDS = {"default": 0, "epoll": 1, "poll": 2, "kqueue": 3}


lib, lib_path = _load()
try:
    lib.swiftpoll_abi_version.restype = _c_uint32
    lib.swiftpoll_abi_version.argtypes = ()
    _abi = lib.swiftpoll_abi_version()
    if _abi != ABI_VERSION:
        raise ImportError(
            "swiftpoll: %s has C ABI version %d, this package needs version %d"
            % (lib_path, _abi, ABI_VERSION)
        )
    _declare(lib)
    #: False for a library older than 0.2: it has epoll alone, and no way to choose.
    HAS_BACKENDS = hasattr(lib, "swiftpoll_poll_new_backend")
except AttributeError as e:  # a symbol is missing: not a libswiftpoll of ABI 1
    raise ImportError("swiftpoll: %s is not a usable libswiftpoll: %s" % (lib_path, e)) from None

# The hot wait: a second function object for the same symbol with argtypes
# left undeclared.  It is only ever called with a byref(WaitArgs) made once per
# (poll, events) pair, so no conversion is needed, and skipping the argtypes
# check saves ~200 ns per call (measured: 360 ns against 560 ns declared).
wait_args_fn = lib._FuncPtr(("swiftpoll_poll_wait_args", lib))
wait_args_fn.restype = _c_int


def library_version() -> str:
    """The loaded library's version string, e.g. ``"0.1.0"``."""
    v: Optional[bytes] = lib.swiftpoll_version()
    return v.decode("ascii") if v else ""
