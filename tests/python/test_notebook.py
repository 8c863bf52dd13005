"""examples/notebook.ipynb runs clean from top to bottom (nbclient, a fresh
kernel of this venv's Python): CUBA built, V of 10 neurons and the
population rate recorded, 500 + 500 ms with a changed input, plots, pandas
and Neo. Its own cells assert what they show."""

from pathlib import Path

import pytest

import lifsim_testing  # noqa: F401  (a clear message when lifsim is not installed)

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_notebook_runs_clean():
    nb = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(EXAMPLES)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    # The printed rates show the input change took effect.
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "second 500 ms" in text and "spike trains" in text, text
