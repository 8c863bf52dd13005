"""The `lifsim` command that `pip install ./crates/python` installs (the
CLI compiled into the extension module, `lifsim._cli`) is the same program
as the cargo-built binary: same version, same spikes, same errors, and a
checkpoint it writes records its own command line, so it resumes."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_outputs import kill_after_first_checkpoint

ROOT = Path(__file__).resolve().parent.parent
# pip puts console scripts beside the interpreter of the environment.
COMMAND = Path(sys.executable).parent / "lifsim"

pytestmark = pytest.mark.skipif(
    not COMMAND.exists(), reason=f"no `lifsim` command beside {sys.executable} (package not installed)")


def run(cmd, *args, check=True):
    proc = subprocess.run([str(cmd), *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def cuba(tmp_path):
    text = (ROOT / "examples" / "cuba.toml").read_text()
    net = tmp_path / "cuba.toml"
    net.write_text(re.sub(r"(?m)^duration = .*$", "duration = 3000.0", text))
    return net


def test_the_command_is_installed_as_a_console_script():
    # Not the cargo binary copied in: a Python script whose entry point is lifsim._cli.
    head = COMMAND.read_bytes()[:200]
    assert head.startswith(b"#!") and b"python" in head.split(b"\n")[0], head


def test_version_and_help_match_the_binary(lifsim_bin):
    assert run(COMMAND, "--version").stdout == run(lifsim_bin, "--version").stdout
    assert run(COMMAND, "run", "--help").stdout == run(lifsim_bin, "run", "--help").stdout


def test_a_network_run_gives_the_binarys_spikes(tmp_path, lifsim_bin, cuba):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    run(COMMAND, "run", cuba, "--out", a, "--quiet")
    run(lifsim_bin, "run", cuba, "--out", b, "--quiet")
    a, b = np.load(a), np.load(b)
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k])
    assert len(a["times"]) > 10_000


def test_errors_are_the_binarys(tmp_path, lifsim_bin):
    missing = tmp_path / "missing.toml"
    for args in (["run", missing], ["run", "--bogus"], ["frobnicate"]):
        mine, theirs = run(COMMAND, *args, check=False), run(lifsim_bin, *args, check=False)
        assert mine.returncode == theirs.returncode == 2, (args, mine.stderr)
        assert mine.stderr == theirs.stderr and mine.stderr.count("\n") == 1, mine.stderr


def test_a_checkpoint_it_writes_resumes_bit_identically(tmp_path, lifsim_bin, cuba):
    """The checkpoint records the run's flags from the command line the CLI
    was given, not the interpreter's argv, so the binary can resume it."""
    full = tmp_path / "full.npz"
    run(lifsim_bin, "run", cuba, "--out", full, "--quiet")
    ck, out = tmp_path / "ck.npz", tmp_path / "s.npz"
    kill_after_first_checkpoint([COMMAND, "run", cuba, "--out", out, "--checkpoint", ck,
                                 "--checkpoint-every", 100, "--quiet"], ck, out)
    resumed = tmp_path / "resumed.npz"
    run(lifsim_bin, "resume", ck, "--out", resumed, "--quiet")
    a, b = np.load(full), np.load(resumed)
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k])
