"""The custom-model notebook runs top to bottom (its code cells, in order)."""

import json
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "custom_model.ipynb"


def test_custom_model_notebook_runs_and_its_gradient_check_passes(capsys):
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    namespace = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), str(NOTEBOOK), "exec"), namespace)
    # the notebook's own gradient check: analytic vs central differences
    assert abs(namespace["flat"] - namespace["numeric"]).max() < 1e-6
    assert namespace["result"].log_z_lower_bound <= namespace["log_z"]
    assert "log-likelihood" in capsys.readouterr().out
