"""Every Python example under examples/ runs, exits 0 and says it worked."""

import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.py")))
EXPECT = {
    "asyncio_echo.py": ["SwiftPollSelector", "client: echoed 3 messages"],
    "poll_echo.py": ["server: accepted", "server: woken, stopping", "echo ok"],
}


def test_examples_exist():
    assert set(EXPECT) <= {os.path.basename(e) for e in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=os.path.basename)
def test_example_runs(path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "bindings", "python", "src") + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    for text in EXPECT.get(os.path.basename(path), []):
        assert text in p.stdout, p.stdout
