"""The `lifsim` command installed with the package (`[project.scripts]`).

It is the CLI itself, compiled into the extension module: the same flags,
outputs and errors as the `lifsim` binary built by cargo, except that the
`sonata` output format needs a cargo build with `--features sonata`.
"""

import signal
import sys


def main() -> None:
    """Runs ``lifsim`` with this process's arguments and exits with its status."""
    from ._lifsim import _cli_main

    # The CLI runs as a plain Unix program would: Ctrl-C ends it at once (its
    # outputs are written to temporary files and renamed only when complete),
    # rather than waiting for Python's handler, which cannot run until the
    # Rust code returns.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    argv = ["lifsim", *sys.argv[1:]]
    sys.exit(_cli_main(argv))


if __name__ == "__main__":
    main()
