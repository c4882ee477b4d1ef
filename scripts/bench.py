"""Run every bench/*.py and print one table (convention: each prints a final JSON line).

Each bench file prints, as its last non-empty stdout line,
    {"bench": "<stem>", "rows": [{"case", "value", "unit", "baseline", "baseline_case", "ratio"}]}
and exits 0; see docs/benchmarks.md. Exit status: non-zero if any bench failed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / "bench"
BENCH_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Row:
    bench: str
    case: str
    value: str
    baseline: str
    ratio: str


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def parse_report(stem: str, stdout: str) -> list[Row]:
    """Rows from the last non-empty stdout line of one bench run."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("printed nothing")
    report = json.loads(lines[-1])
    if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
        raise ValueError('last line is not {"bench": ..., "rows": [...]}')
    rows = []
    for r in report["rows"]:
        unit = r.get("unit", "")
        baseline = "-"
        if r.get("baseline") is not None:
            baseline = f"{_num(r['baseline'])} {unit}".strip()
            if r.get("baseline_case"):
                baseline += f" ({r['baseline_case']})"
        ratio = f"{r['ratio']:.2f}x" if isinstance(r.get("ratio"), int | float) else "-"
        value = f"{_num(r.get('value'))} {unit}".strip()
        rows.append(Row(report.get("bench", stem), str(r.get("case", "?")), value, baseline, ratio))
    return rows


def render(rows: list[Row]) -> str:
    header = Row("bench", "case", "value", "baseline", "ratio")
    table = [header, *rows]
    widths = [
        max(len(getattr(r, f)) for r in table) for f in ("bench", "case", "value", "baseline")
    ]

    def line(r: Row) -> str:
        cells = (r.bench, r.case, r.value, r.baseline)
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + r.ratio

    rule = "-" * (sum(widths) + 2 * len(widths) + len("ratio"))
    return "\n".join([line(header), rule, *map(line, rows)])


def main() -> int:
    benches = sorted(p for p in BENCH_DIR.glob("*.py") if not p.name.startswith("_"))
    if not benches:
        print("bench: no bench/*.py files yet")
        return 0
    rows: list[Row] = []
    failed: list[str] = []
    for path in benches:
        rel = path.relative_to(REPO)
        print(f"bench: running {rel} ...", flush=True)
        t0 = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, str(rel)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
                timeout=BENCH_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            failed.append(f"{rel}: no result within {BENCH_TIMEOUT_S:.0f} s")
            continue
        took = time.monotonic() - t0
        if done.returncode != 0:
            failed.append(f"{rel}: exited with {done.returncode}")
            continue
        try:
            rows += parse_report(path.stem, done.stdout)
        except ValueError as e:  # json.JSONDecodeError is a ValueError
            failed.append(f"{rel}: {e}")
            continue
        print(f"bench: {rel} done in {took:.1f} s", flush=True)
    print()
    print(render(rows))
    for failure in failed:
        print(f"bench: FAILED {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
