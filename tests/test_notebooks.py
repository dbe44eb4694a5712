"""The notebooks run top to bottom (nbclient), are stored without outputs, and write nothing
into the repository when executed where they live (as Jupyter runs them)."""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
nbclient = pytest.importorskip("nbclient")


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` (hidden ones too) with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_there_are_three_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_quickstart.ipynb", "02_compare_models.ipynb",
                                           "03_concentration.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 3
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None


def test_notebooks_are_what_the_script_writes(tmp_path, monkeypatch):
    """The stored notebooks are the output of scripts/make_notebooks.py (edit the script)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks",
                                                  ROOT / "scripts" / "make_notebooks.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "HERE", tmp_path)
    script.main()
    for path in NOTEBOOKS:
        assert (tmp_path / path.name).read_text() == path.read_text(), path.name


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_and_writes_nothing(path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel uses its inline backend
    monkeypatch.setenv("TQDM_DISABLE", "1")
    folder = path.parent
    before, root_before = snapshot(folder), sorted(p.name for p in ROOT.iterdir())
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert images, "each notebook draws at least one figure"
    assert snapshot(folder) == before, "executing the notebook wrote into notebooks/"
    new_at_root = set(p.name for p in ROOT.iterdir()) - set(root_before)
    assert not new_at_root, new_at_root
