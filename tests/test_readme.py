"""The README's ```python blocks run as written, in order, in one namespace (keeps the tour
true). Blocks fenced as ```py are illustrations that need outside resources (a cluster)."""

import re
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_blocks_run(tmp_path, monkeypatch):
    assert len(BLOCKS) >= 3
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tour shows what is dropped; warnings are fine here
        for i, block in enumerate(BLOCKS):
            exec(compile(block, f"README python block {i}", "exec"), namespace)
    plt.close("all")
