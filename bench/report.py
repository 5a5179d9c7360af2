"""The table `make bench` prints: figure, ratio, target, met or not."""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Target:
    number: str  # "1", "3b"
    title: str
    figure: str  # what Rapport did
    baseline: str  # what it is compared with
    ratio: float | None
    goal: str  # "≥ 0.40", "≤ 3.00"
    met: bool
    notes: list[str] = field(default_factory=list)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def at_least(ratio: float, goal: float) -> bool:
    return not math.isnan(ratio) and ratio >= goal  # NaN is never met


def at_most(ratio: float, goal: float) -> bool:
    return not math.isnan(ratio) and ratio <= goal


def render(targets: list[Target], header: list[str], footer: list[str]) -> str:
    rows = [("#", "target", "rapport", "compared with", "ratio", "goal", "met")]
    for t in targets:
        ratio = "-" if t.ratio is None else f"{t.ratio:.2f}"
        rows.append(
            (
                t.number,
                t.title,
                t.figure,
                t.baseline,
                ratio,
                t.goal,
                "yes" if t.met else "NO",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = list(header)
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [(t.number, note) for t in targets for note in t.notes]
    if notes:
        lines.append("")
        lines += [f"  [{number}] {note}" for number, note in notes]
    lines += footer
    met = sum(t.met for t in targets)
    lines.append(f"bench: {met} of {len(targets)} targets met")
    return "\n".join(lines)
