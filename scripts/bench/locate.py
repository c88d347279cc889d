"""Benchmark point-to-grid-cell lookup (app.areas.geo.LocateIndex) and print a table.

Usage: python scripts/bench/locate.py [--cells 12800,200000] [--points 100000]

For each cell count it measures: building the index; locating GCJ-02 points batched
(gcj02_to_wgs84_many + locate_many, ids included) and one at a time (gcj02_to_wgs84 +
locate); the raw shapely STRtree bulk query on the same WGS-84 points (the floor); and
a naive Python loop of polygon.contains over all cells (what unindexed code costs).
See docs/benchmarks.md for the targets.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _common, from any working directory

import _common as common  # puts the repository root on sys.path
import numpy as np
import shapely

from app.areas.demo_grid import synthetic_cells
from app.areas.geo import (
    LocateIndex,
    gcj02_to_wgs84,
    gcj02_to_wgs84_many,
    wgs84_to_gcj02_many,
)

BUILD_TARGET_S = 2.0
BATCH_VS_RAW_TARGET = 0.50
SINGLE_MEDIAN_TARGET_US = 100.0


@dataclass
class Result:
    """Measurements for one cell count."""

    cells: int
    build_s: float
    batched_pps: float
    raw_pps: float
    single_median_us: float
    single_pps: float
    naive_pps: float
    naive_points: int
    hit_rate: float
    disagreements: int


def _best_of_interleaved(repeats: int, *fns: Callable[[], object]) -> list[float]:
    """Fastest wall time in seconds of each of `fns` over `repeats` rounds.

    The functions run alternately within each round, so a burst of load from other
    processes hits all of them alike and their ratio stays meaningful.
    """
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def run_one(
    n_cells: int,
    n_points: int,
    n_single: int,
    n_naive: int,
    naive_budget_s: float,
    repeats: int,
    seed: int,
) -> Result:
    """Measure every variant for `n_cells` cells and return the figures."""
    cells = synthetic_cells(n_cells, seed)
    areas = list(enumerate(cells, start=1))

    t0 = time.perf_counter()
    index = LocateIndex(areas)
    build_s = time.perf_counter() - t0

    # Random WGS-84 points over the grid, handed to our code as GCJ-02 like WeChat does.
    rng = np.random.default_rng(seed + 1)
    minx, miny, maxx, maxy = index.bounds
    wgs_lng = rng.uniform(minx, maxx, n_points)
    wgs_lat = rng.uniform(miny, maxy, n_points)
    gcj_lng, gcj_lat = wgs84_to_gcj02_many(wgs_lng, wgs_lat)

    # Ours, batched: CRS conversion + lookup + mapping to area ids.
    def batched() -> None:
        lng, lat = gcj02_to_wgs84_many(gcj_lng, gcj_lat)
        index.locate_many(lng, lat)

    # Floor: GEOS bulk query alone, on prebuilt points already in WGS-84.
    tree = shapely.STRtree(np.array(cells, dtype=object))
    points = shapely.points(wgs_lng, wgs_lat)

    def raw() -> None:
        tree.query(points, predicate="intersects")

    batched_s, raw_s = _best_of_interleaved(repeats, batched, raw)
    ids, _, _ = index.locate_many(*gcj02_to_wgs84_many(gcj_lng, gcj_lat))
    hit_rate = float(np.mean(ids >= 0))

    # Ours, one at a time.
    sample = min(n_single, n_points)
    timings = []
    single_ids = []
    t_all = time.perf_counter()
    for lng, lat in zip(gcj_lng[:sample].tolist(), gcj_lat[:sample].tolist(), strict=True):
        t0 = time.perf_counter_ns()
        hit = index.locate(*gcj02_to_wgs84(lng, lat))
        timings.append(time.perf_counter_ns() - t0)
        single_ids.append(-1 if hit is None else hit.area_id)
    single_total_s = time.perf_counter() - t_all
    single_median_us = statistics.median(timings) / 1000.0
    # Both paths must give the same answers, or the speed comparison is meaningless.
    disagreements = int(np.count_nonzero(np.array(single_ids) != ids[:sample]))

    # Naive: scan polygons until one contains the point (first hit wins, which is the
    # most favourable version of it); stop early when the time budget is spent.
    polys = [geom for _, geom in areas]
    done = 0
    t0 = time.perf_counter()
    for lng, lat in zip(wgs_lng[:n_naive].tolist(), wgs_lat[:n_naive].tolist(), strict=True):
        point = shapely.Point(lng, lat)
        for poly in polys:
            if poly.contains(point):
                break
        done += 1
        if time.perf_counter() - t0 > naive_budget_s:
            break
    naive_s = time.perf_counter() - t0

    return Result(
        cells=n_cells,
        build_s=build_s,
        batched_pps=n_points / batched_s,
        raw_pps=n_points / raw_s,
        single_median_us=single_median_us,
        single_pps=sample / single_total_s,
        naive_pps=done / naive_s,
        naive_points=done,
        hit_rate=hit_rate,
        disagreements=disagreements,
    )


def print_table(results: list[Result], n_points: int, n_single: int) -> None:
    """Print the measurements and the target verdicts."""
    print(
        f"python {platform.python_version()}, shapely {shapely.__version__} "
        f"(GEOS {'.'.join(map(str, shapely.geos_version))}), numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs; {n_points:,} batched points, {n_single:,} single lookups"
    )
    header = (
        f"{'cells':>9} | {'build s':>7} | {'batched pts/s':>13} | {'raw STRtree pts/s':>17} | "
        f"{'batch/raw':>9} | {'single med us':>13} | {'single pts/s':>12} | "
        f"{'naive pts/s':>11} | {'batched/naive':>13} | {'hits':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.cells:>9,} | {r.build_s:>7.3f} | {r.batched_pps:>13,.0f} | {r.raw_pps:>17,.0f} | "
            f"{r.batched_pps / r.raw_pps:>9.0%} | {r.single_median_us:>13.1f} | "
            f"{r.single_pps:>12,.0f} | {r.naive_pps:>11,.1f} | "
            f"{r.batched_pps / r.naive_pps:>12,.0f}x | {r.hit_rate:>6.1%}"
        )
    print()
    for r in results:
        print(
            f"{r.cells:,} cells: build <= {BUILD_TARGET_S:g} s {common.mark(r.build_s <= BUILD_TARGET_S)}; "
            f"batched >= {BATCH_VS_RAW_TARGET:.0%} of raw "
            f"{common.mark(r.batched_pps / r.raw_pps >= BATCH_VS_RAW_TARGET)}; "
            f"single median <= {SINGLE_MEDIAN_TARGET_US:g} us "
            f"{common.mark(r.single_median_us <= SINGLE_MEDIAN_TARGET_US)}; "
            f"naive sampled on {r.naive_points} points; "
            f"single vs batched answers differ on {r.disagreements} points"
        )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run every cell count, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cells",
        default="12800,200000",
        help="comma-separated cell counts (default: 12800,200000)",
    )
    parser.add_argument("--points", type=int, default=100_000, help="points per batched run")
    parser.add_argument("--single", type=int, default=20_000, help="points timed one at a time")
    parser.add_argument("--naive", type=int, default=50, help="points for the naive loop")
    parser.add_argument(
        "--naive-budget",
        type=float,
        default=5.0,
        help="seconds after which the naive loop stops early",
    )
    parser.add_argument("--repeats", type=int, default=5, help="best-of runs for batched timings")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    counts = [int(c.replace("_", "")) for c in args.cells.split(",") if c.strip()]
    results = [
        run_one(n, args.points, args.single, args.naive, args.naive_budget, args.repeats, args.seed)
        for n in counts
    ]
    print_table(results, args.points, args.single)


if __name__ == "__main__":
    main()
