"""CPython's own selector test suite (test.test_selectors, shipped with the
interpreter), run on SwiftPollSelector the way the stdlib declares
EpollSelectorTestCase.  Imported, not copied."""

import selectors
import tempfile
import unittest

from swiftpoll.selectors import SwiftPollSelector

from conftest import cpython_suite

test_selectors = cpython_suite("test.test_selectors")


class SwiftPollSelectorTestCase(test_selectors.BaseSelectorTestCase,
                                test_selectors.ScalableSelectorMixIn,
                                unittest.TestCase):

    SELECTOR = SwiftPollSelector

    def test_register_file(self):
        # as EpollSelectorTestCase: epoll cannot watch a regular file (EPERM)
        s = self.SELECTOR()
        self.addCleanup(s.close)
        with tempfile.NamedTemporaryFile() as f:
            with self.assertRaises(IOError):
                s.register(f, selectors.EVENT_READ)
            with self.assertRaises(KeyError):
                s.get_key(f)
