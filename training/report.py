"""Evaluation report: metrics.json of a run rendered as Markdown, with confusion-matrix PNGs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def save_confusion_png(path: Path, confusion: list[list[int]], classes: list[str], title: str) -> None:
    """Counts and row-normalised confusion matrices side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion, float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    n = len(classes)
    fig, axes = plt.subplots(1, 2, figsize=(4 + 1.1 * n, 2.2 + 0.5 * n))
    for ax, data, fmt, sub in ((axes[0], cm, "{:.0f}", "counts"), (axes[1], norm, "{:.2f}", "row-normalised (recall)")):
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(n), classes, rotation=45, ha="right")
        ax.set_yticks(range(n), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(sub)
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    fmt.format(data[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _metrics_table(m: dict) -> list[str]:
    lines = [
        f"top-1 **{_pct(m['top1'])}**, top-2 {_pct(m['top2'])}, n = {m['n']}",
        "",
        "| class | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for c, s in m["per_class"].items():
        lines.append(f"| {c} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |")
    for avg in ("macro", "weighted"):
        s = m[avg]
        lines.append(f"| *{avg} avg* | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {m['n']} |")
    return lines


def render_markdown(metrics: dict, title: str) -> str:
    """The whole report of a run from its metrics.json."""
    lines = [f"# {title}", ""]
    if "model" in metrics:
        lines += ["## Model", ""] + [f"- {k}: {v}" for k, v in metrics["model"].items()] + [""]
    for key, result in metrics.items():
        if not isinstance(result, dict) or "groupings" not in result:
            continue
        lines += [f"## {key}", ""]
        for note in result.get("notes", []):
            lines.append(f"- {note}")
        if result.get("notes"):
            lines.append("")
        for n, m in result["groupings"].items():
            lines += [f"### {n} classes", ""] + _metrics_table(m) + [""]
            png = result.get("pngs", {}).get(n)
            if png:
                lines += [f"![confusion {key} {n} classes]({png})", ""]
        for name, m in result.get("extra", {}).items():
            lines += [f"### {name}", ""] + _metrics_table(m) + [""]
    if "inference" in metrics:
        inf = metrics["inference"]
        lines += ["## Inference time and size (LiteRT)", ""]
        lines += [f"- {k}: {v}" for k, v in inf.items()] + [""]
    for key in sorted(k for k in metrics if k.startswith("preprocessing_time")):
        pt = metrics[key]
        variant = "on" if key.endswith("_on") or "'enabled': True" in str(pt.get("preprocessing")) else "off"
        lines += [f"## Pre-processing time per photo, pre-processing {variant} (thesis §7.4)", ""]
        lines += [f"- {k}: {v}" for k, v in pt.items() if k != "png"]
        if pt.get("png"):
            lines += ["", f"![pre-processing time]({pt['png']})"]
        lines.append("")
    if "activation_maximisation" in metrics:
        lines += [
            "## Activation maximisation (thesis §5.6)",
            "",
            f"![activation maximisation]({metrics['activation_maximisation']['png']})",
            "",
        ]
    if "comparisons" in metrics:
        lines += ["## Comparisons (chi-square)", ""] + [f"- {c}" for c in metrics["comparisons"]] + [""]
    return "\n".join(lines)


def update_metrics(out_dir: Path, key: str, value: dict, title: str = "Evaluation report") -> dict:
    """Merge one result into out_dir/metrics.json and re-render out_dir/report.md."""
    path = out_dir / "metrics.json"
    metrics = json.loads(path.read_text()) if path.is_file() else {}
    metrics[key] = value
    path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.md").write_text(render_markdown(metrics, title) + "\n", encoding="utf-8")
    return metrics
