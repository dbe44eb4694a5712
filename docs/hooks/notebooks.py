"""mkdocs hook: the tutorial pages are the notebooks in notebooks/, turned into markdown at
build time (so the site never drifts from them).

Markdown cells are kept as they are, code cells become ``python`` blocks, and, when the notebooks
can be executed (nbclient and a Python kernel are installed, as ``make docs`` does, and
``DOCS_EXECUTE`` is not ``0``), each cell's outputs follow it: text as a block, tables as
HTML, figures as inline PNG. A cell that raises fails the build.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
TARGET = "tutorial"


def _executed(path: Path) -> dict:
    """The notebook as a dict, executed (with outputs) when that is possible and wanted."""
    if os.environ.get("DOCS_EXECUTE", "1") != "0":
        try:
            import nbclient
            import nbformat
        except ImportError:
            nbclient = None
        if nbclient is not None:
            nb = nbformat.read(path, as_version=4)
            env = {"TQDM_DISABLE": "1"}
            old = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                        resources={"metadata": {"path": str(path.parent)}}
                                        ).execute()
            finally:
                for k, v in old.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            return json.loads(nbformat.writes(nb))
    return json.loads(path.read_text())


def _text(src) -> str:
    return "".join(src) if isinstance(src, list) else src


def _output(out: dict) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return f"```text\n{_text(out['text']).rstrip()}\n```"
    if kind == "error":
        raise RuntimeError(f"a notebook cell failed: {out.get('ename')}: {out.get('evalue')}")
    data = out.get("data", {})
    if "image/png" in data:
        png = _text(data["image/png"]).strip()
        return f'<img alt="figure" src="data:image/png;base64,{png}">'
    if "text/html" in data:
        return f'<div class="notebook-output">\n{_text(data["text/html"]).strip()}\n</div>'
    if "text/plain" in data:
        return f"```text\n{_text(data['text/plain']).rstrip()}\n```"
    return ""


def notebook_markdown(nb: dict, name: str) -> str:
    """One notebook as a markdown page."""
    parts = []
    for cell in nb["cells"]:
        src = _text(cell["source"]).rstrip()
        if cell["cell_type"] == "markdown":
            parts.append(src)
        elif cell["cell_type"] == "code":
            parts.append(f"```python\n{src}\n```")
            parts += [o for o in map(_output, cell.get("outputs", [])) if o]
    link = f"`notebooks/{html.escape(name)}`"
    parts.insert(1, f"*This page is the notebook {link}; run it yourself with Jupyter.*")
    return "\n\n".join(parts) + "\n"


def on_files(files, config):
    """Add one generated page per notebook under ``tutorial/``."""
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        page = notebook_markdown(_executed(path), path.name)
        files.append(File.generated(config, f"{TARGET}/{path.stem}.md", content=page))
    return files
