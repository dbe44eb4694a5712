"""Tables for people on the terminal: numbers with thousands separators ("39,908"), shares in
%, rows sorted by credit with the rows outside the entities (``(baseline)``, ...) last, and
footnotes that explain negative credit and ``(baseline)``. Files keep the raw numbers.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

__all__ = ["credit_table", "human_number", "is_extra", "plain_table", "share_table"]

#: terminal tables longer than this show the rows of most credit and say how many are left
MAX_ROWS = 500


def is_extra(names) -> np.ndarray:
    """Rows outside the entities: names in parentheses, such as ``(baseline)``."""
    s = pd.Series(names, dtype=object).astype(str)
    return (s.str.startswith("(") & s.str.endswith(")")).to_numpy()


def _decimals(x: np.ndarray) -> int:
    finite = np.abs(x[np.isfinite(x)])
    top = finite.max() if len(finite) else 0.0
    if len(finite) and np.allclose(finite, np.round(finite), rtol=0, atol=1e-9):
        return 0
    return 0 if top >= 1000 else 1 if top >= 10 else 2


def human_number(x: float, decimals: int = 0) -> str:
    """``x`` with thousands separators (``39,908``); blank when missing."""
    return "" if pd.isna(x) else f"{x:,.{decimals}f}"


def _numbers(col: pd.Series) -> list:
    x = col.to_numpy(dtype=float)
    d = _decimals(x)
    return [human_number(v, d) for v in x]


def _percents(col: pd.Series) -> list:
    return ["" if pd.isna(v) else f"{100 * v:.1f}%" for v in col.to_numpy(dtype=float)]


def _text(frame: pd.DataFrame, text_columns) -> str:
    """``frame`` of strings: ``text_columns`` left-aligned, the others right-aligned."""
    out = {}
    for c in frame.columns:
        col = frame[c].astype(str)
        width = max([len(str(c)), *col.str.len()])
        left = c in text_columns
        out[c] = [str(c).ljust(width) if left else str(c).rjust(width)] + [
            v.ljust(width) if left else v.rjust(width) for v in col]
    return "\n".join("  ".join(row).rstrip() for row in zip(*out.values(), strict=True))


def _formatted(frame: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame(index=frame.index)
    for c in frame.columns:
        col = frame[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            shown[c] = col.astype(str)
        elif "share" in str(c) or str(c) in ("TRUTH",):
            shown[c] = _percents(col)
        else:
            shown[c] = _numbers(col)
    return shown


def _sorted(frame: pd.DataFrame, by: pd.Series) -> pd.DataFrame:
    """Rows by ``by`` descending within each model (in order of appearance), extra rows last."""
    group = pd.factorize(frame["model"])[0] if "model" in frame else np.zeros(len(frame))
    key = pd.DataFrame({"g": group, "x": is_extra(frame["entity"]),
                        "k": -by.to_numpy(dtype=float)}, index=frame.index)
    return frame.loc[key.sort_values(["g", "x", "k"], kind="stable").index]


def _cut(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if len(frame) <= MAX_ROWS:
        return frame, ""
    return frame.head(MAX_ROWS), (f"... and {len(frame) - MAX_ROWS:,} more rows of less credit; "
                                  "write them all with -o")


def _negative_note(items: list, level: str) -> str:
    if not items:
        return ""
    shown = ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")
    return (f"Negative credit ({shown}): the model estimates fewer conversions with these "
            f"{level}s than without them (journeys with them convert less often than it "
            f"predicts without them). It is part of the totals: the other rows are larger by "
            f"as much. On a {level} with no effect it is often noise; `attribution fit "
            f"--n-boot 200` gives its interval.")


_BASELINE = ("(baseline): the conversions the model expects without any touch (its credit is "
             "incremental); part of the total.")


def _notes(notes) -> str:
    text = [textwrap.fill(n, 100, subsequent_indent="  ") for n in notes if n]
    return ("\n\n" + "\n".join(text)) if text else ""


def _total(frame: pd.DataFrame) -> float:
    first = frame[frame["model"] == frame["model"].iloc[0]] if "model" in frame else frame
    return float(first["conversions"].sum())


def credit_table(frame: pd.DataFrame, level: str = "entity") -> str:
    """The credit frame of ``fit`` (one model or several, with or without intervals) for a
    person: a title with the conversions, numbers with separators, shares in %, rows by
    credit with the extra rows last, and footnotes.
    """
    total = _total(frame)
    rows = _sorted(frame, frame["conversions"])
    rows, more = _cut(rows)
    neg = rows[(rows["conversions"] < 0) & ~is_extra(rows["entity"])]
    items = [f"{e} {100 * s:.1f}%" if "model" not in neg else f"{m}: {e} {100 * s:.1f}%"
             for e, s, m in zip(neg["entity"], neg["share"],
                                neg["model"] if "model" in neg else neg["entity"], strict=True)]
    title = (f"Credit of {human_number(total, _decimals(np.array([total])))} conversions by "
             f"{level}, most first:")
    text = [c for c in rows.columns if not pd.api.types.is_numeric_dtype(rows[c])]
    shown = _formatted(rows)
    if level in ("touchpoint", "channel") and level not in rows:
        shown = shown.rename(columns={"entity": level})
        text = [level if c == "entity" else c for c in text]
    return (title + "\n" + _text(shown, text) + (f"\n{more}" if more else "")
            + _notes([_negative_note(items, level),
                      _BASELINE if (rows["entity"] == "(baseline)").any() else ""]))


def share_table(wide: pd.DataFrame, total: float, level: str) -> str:
    """The share table of ``compare`` (entities x models, shares 0-1, maybe ``TRUTH``) for a
    person: shares in %, rows by their mean share over the models, extra rows last.
    """
    models = [c for c in wide.columns if c != "TRUTH"]
    frame = wide.rename_axis("entity").reset_index()
    frame.columns = [str(c) for c in frame.columns]
    rows = _sorted(frame, frame[models].mean(axis=1, skipna=True))
    rows, more = _cut(rows)
    shown = rows.copy()
    for c in frame.columns[1:]:
        keep = ~is_extra(rows["entity"]) | (rows["entity"] == "(baseline)") | (c != "TRUTH")
        shown[c] = _percents(rows[c].where(keep))  # the truth has a baseline, no other extra
    shown = shown.rename(columns={"entity": level})
    ent = rows[~is_extra(rows["entity"])]
    items = [f"{m}: {e} {100 * v:.1f}%" for m in models
             for e, v in zip(ent["entity"], ent[m], strict=True) if v < 0]
    title = (f"Share of the {human_number(total, _decimals(np.array([total])))} conversions "
             f"by {level} (%), by model, most credited first:")
    return (title + "\n" + _text(shown, [level])
            + (f"\n{more}" if more else "")
            + _notes([_negative_note(items, level),
                      _BASELINE if (rows["entity"] == "(baseline)").any() else ""]))


def plain_table(frame: pd.DataFrame, title: str) -> str:
    """Any table for a person, rows in their order: ``title``, numbers with separators,
    shares in % (``fit --spend`` and ``fit --by``).
    """
    rows, more = _cut(frame)
    text = [c for c in rows.columns if not pd.api.types.is_numeric_dtype(rows[c])]
    return title + "\n" + _text(_formatted(rows), text) + (f"\n{more}" if more else "")
