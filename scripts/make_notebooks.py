"""Write the notebooks in notebooks/ (outputs stripped; CI executes them: tests/test_notebooks.py).

Run: python scripts/make_notebooks.py
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent.parent / "notebooks"

NOTEBOOKS = {
    "01_quickstart.ipynb": [
        ("md", "# Quickstart\n\nLoad the bundled sample (simulated journeys with a known truth), "
               "describe the journeys, fit two models, look at the credit and its uncertainty."),
        ("code", "import attribution as at\nfrom attribution.datasets import load_sample\n\n"
                 "events, truth = load_sample()\nevents.head()"),
        ("code", "j = at.Journeys.from_events(\n    events, journey=\"user_id\", "
                 "time=\"timestamp\", touchpoint=\"touchpoint\", channel=\"channel\",\n"
                 "    stage=\"stage\", "
                 "conversion=\"converted\", value=\"revenue\", lookback=\"30D\",\n)\n"
                 "j.describe()"),
        ("md", "A position-based model (40% first, 40% last, the rest spread) and a Markov "
               "chain, solved exactly:"),
        ("code", "pb = at.PositionBased(first=0.4, last=0.4).fit(j)\npb.result_.summary()"),
        ("code", "mc = at.MarkovChain().fit(j)\nmc.result_.at_level(\"channel\").to_frame()"),
        ("code", "mc.transform(j).head(10)  # credit of every touch of every converting journey"),
        ("md", "Every number gets an interval: 200 bootstrap replicates of journeys."),
        ("code", "ci = at.bootstrap(mc, j, n_boot=200, random_state=0)\n"
                 "ci[[\"entity\", \"share\", \"share_lower\", \"share_upper\"]].round(3)"),
        ("code", "ax = mc.result_.plot()  # bars with their 95% intervals"),
        ("code", "ax = mc.plot_removal_effects()"),
    ],
    "02_compare_models.ipynb": [
        ("md", "# Every model against the truth\n\nThe sample was simulated, so the true "
               "incremental credit of each touchpoint is known (Shapley over the causal lifts)."),
        ("code", "import warnings\n\nimport pandas as pd\n\nimport attribution as at\n"
                 "from attribution.datasets import load_sample\nfrom attribution.plotting "
                 "import plot_compare, plot_lorenz\n\nj, truth = load_sample(as_journeys=True)\n"
                 "placebo = [\"placebo_banner1\"]\ntruth.to_frame().round(2)"),
        ("code", "rows, fitted = [], {}\nwith warnings.catch_warnings():\n"
                 "    warnings.simplefilter(\"ignore\")\n"
                 "    for name in at.available_models():\n"
                 "        m = at.get_model(name)\n"
                 "        if \"random_state\" in m.get_params():\n"
                 "            m.set_params(random_state=0)\n"
                 "        fitted[name] = m.fit(j)\n"
                 "        exposed = m.credit_[m.result_.exposure > 0]\n"
                 "        acc = at.metrics.accuracy(exposed, truth.shapley, placebo=placebo)\n"
                 "        rows.append(dict(model=name, **acc))\n"
                 "pd.DataFrame(rows).sort_values(\"tv_distance\").round(3)"),
        ("md", "Channel shares side by side:"),
        ("code", "models = [\"first\", \"last\", \"linear\", \"markov\", \"logistic\"]\n"
                 "frame = at.compare(models, j, "
                 "level=\"channel\")\nax = plot_compare(frame)"),
        ("md", "Concentration: how much of the credit do the top 20% of touchpoints hold, in "
               "truth and per model?"),
        ("code", "ax = plot_lorenz({k: fitted[k] for k in (\"last\", \"linear\", \"markov\", "
                 "\"logistic\")}, truth=truth)"),
    ],
    "03_concentration.ipynb": [
        ("md", "# Does 20% of touchpoints drive 80% of impact?\n\nThe harness simulates worlds "
               "where the rule holds in truth and worlds where credit is flat, fits every model, "
               "and asks which models recover the truth. This runs the quick grid; "
               "`attribution bench concentration` runs the full one."),
        ("code", "from attribution.evaluation import harness\n\n"
                 "results = harness.run_grid(harness.QUICK_GRID, n_jobs=1, progress=False)\n"
                 "harness.summarise(results).round(3)"),
        ("code", "verdict = results[results[\"model\"] != harness.SKIPPED]\n"
                 "verdict.pivot_table(index=[\"tier\", \"target_top20\"], columns=\"model\", "
                 "values=\"est_top20\").round(2)"),
        ("md", "Lorenz curves of every model in a world with a true 80/20 and in a flat world:"),
        ("code", "import io\n\nfrom IPython.display import Image\n\n"
                 "png = io.BytesIO()  # in memory: running the notebook writes no file\n"
                 "harness.lorenz_figure(png, n_journeys=10_000)\nImage(png.getvalue())"),
    ],
}


def main():
    HERE.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                                 for kind, src in cells])
        for i, cell in enumerate(nb.cells):  # stable ids: regenerating changes nothing
            cell.id = f"{Path(name).stem[:2]}-{i:02d}"
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
