"""The README's examples run as written: every python block holding a test is a downstream test file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
TEST_BLOCKS = [b for b in BLOCKS if re.search(r"^def test_", b, re.MULTILINE)]


def test_readme_has_examples():
    assert len(TEST_BLOCKS) >= 3


@pytest.mark.parametrize("block", TEST_BLOCKS, ids=[re.search(r"def (test_\w+)", b)[1] for b in TEST_BLOCKS])
def test_readme_example_passes(pytester, block):
    if "curl" in block and shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    # a README test runs as written, and checks something: a body of "..." would pass vacuously
    assert not re.search(r"^\s+\.\.\.\s*$", block, re.MULTILINE), block
    pytester.makepyfile(test_example=block)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=len(re.findall(r"^def test_", block, re.MULTILINE)))


def test_outside_pytest_snippet_runs():
    block = next(b for b in BLOCKS if "run_server(seed=1)" in b)
    namespace: dict[str, object] = {}
    exec(compile(block, "README", "exec"), namespace)  # noqa: S102 (the README's own example)
    namespace["check"]()  # the decorated function runs inside the patch, and gets the handle as `am`


def test_readme_curl_output_is_real():
    """The console block near the top: the documented curl, run against ``mock-as serve --seed 1``."""
    import subprocess
    import sys

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    block = re.search(r"```console\n\$ (curl .*?)\n(\{.*?\})\n```", README.read_text(), re.DOTALL)
    assert block is not None
    command, printed = block[1].replace("\\\n", " "), block[2]
    with subprocess.Popen(
        [sys.executable, "-m", "mock_as", "serve", "--seed", "1", "--port", "0", "-q"],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            base = proc.stdout.readline().strip()
            command = command.replace("http://127.0.0.1:8080/openam", base)
            out = subprocess.run(
                command + " --silent", shell=True, capture_output=True, text=True, check=True
            )
            assert out.stdout == printed
        finally:
            proc.terminate()
