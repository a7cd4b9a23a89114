"""CPython's own asyncio event-loop suites (shipped with the interpreter as
test.test_asyncio), run on a SelectorEventLoop over SwiftPollSelector, the way
the stdlib declares EPollEventLoopTests.  Imported, not copied."""

import asyncio
import sys

from swiftpoll.selectors import SwiftPollSelector

from conftest import cpython_suite

_events = cpython_suite("test.test_asyncio.test_events")
_sock = cpython_suite("test.test_asyncio.test_sock_lowlevel")
_sendfile = cpython_suite("test.test_asyncio.test_sendfile")
_subprocess = cpython_suite("test.test_asyncio.test_subprocess")
_utils = cpython_suite("test.test_asyncio.utils")


def _loop():
    return asyncio.SelectorEventLoop(SwiftPollSelector())


class _OurLoop:
    def create_event_loop(self):
        return _loop()


def teardown_module():
    asyncio.set_event_loop_policy(None)


class SwiftPollEventLoopTests(_OurLoop, _events.UnixEventLoopTestsMixin,
                              _events.SubprocessTestsMixin, _utils.TestCase):
    def test_runs_on_swiftpoll(self):
        self.assertIsInstance(self.loop._selector, SwiftPollSelector)


class SwiftPollSockTests(_OurLoop, _sock.BaseSockTestsMixin, _utils.TestCase):
    pass


class SwiftPollSendfileTests(_OurLoop, _sendfile.SockSendfileMixin, _sendfile.SendfileMixin,
                             _utils.TestCase):
    pass


if sys.version_info < (3, 12) and hasattr(_subprocess, "SubprocessThreadedWatcherTests"):
    class SwiftPollSubprocessTests(_subprocess.SubprocessMixin, _utils.TestCase):
        """SubprocessMixin with the threaded child watcher, on our loop."""

        def setUp(self):
            super().setUp()
            policy = asyncio.get_event_loop_policy()
            self.loop = _loop()
            self.set_event_loop(self.loop)
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                watcher = asyncio.ThreadedChildWatcher()
                watcher.attach_loop(self.loop)
                policy.set_child_watcher(watcher)

        def tearDown(self):
            super().tearDown()
            policy = asyncio.get_event_loop_policy()
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                watcher = policy.get_child_watcher()
                policy.set_child_watcher(None)
            watcher.attach_loop(None)
            watcher.close()
else:  # pragma: no cover - 3.12+: no watchers, the loop's own mechanism
    class SwiftPollSubprocessTests(_subprocess.SubprocessMixin, _utils.TestCase):
        def setUp(self):
            super().setUp()
            self.loop = _loop()
            self.set_event_loop(self.loop)
