#!/usr/bin/env python3
"""The study's report: reads what scripts/study.sh wrote under --study and writes summary.json
(every number, machine-readable), results.md (tables, the answer) and plots/*.svg.

Per arm: the mean over seeds, the spread over seeds (sample standard deviation) and a 95 %
bootstrap confidence interval that resamples frames (open loop, frames.jsonl of rsd_eval) or
routes (closed loop, per_route of rsd_drive) with the same draw for every seed: the interval says
how much the number depends on which frames / routes were tested, with seeds averaged.

Python's standard library only; numpy (the project's .venv) makes the bootstrap faster.
"""
import argparse
import json
import math
import os
import random
import sys
import warnings

try:
    import numpy
except ImportError:  # the pure-Python bootstrap below does the same, slower
    numpy = None

HORIZON = "3s"
# (key in metrics.json under planning/<group>/ and in frames.jsonl, label, group)
OPEN_LOOP = [
    ("l2_avg/" + HORIZON, "L2 3s (VAD avg), m", "all"),
    ("l2/" + HORIZON, "L2 3s (UniAD), m", "all"),
    ("obj_box_col/" + HORIZON, "collision 3s (ST-P3 box)", "all"),
    ("collision_cv_avg/" + HORIZON, "collision 3s (const.-vel. agents)", "all"),
    ("l2_avg/" + HORIZON, "high-risk L2 3s, m", "high_risk"),
    ("obj_box_col/" + HORIZON, "high-risk collision 3s", "high_risk"),
]
CLOSED_LOOP = [("driving_score", "Driving Score"), ("success_rate", "Success Rate %"),
               ("route_completion", "Route Completion %"), ("collisions_per_km", "collisions / km")]
REFERENCE_PLANNERS = ["constant_velocity", "ego_linear"]
REFERENCE_AGENTS = ["expert", "constant_velocity", "straight_line"]


def load_json(path):
    with open(path) as f:
        return json.load(f)


def flatten(tree, prefix=""):
    flat = {}
    for key, value in tree.items():
        name = prefix + key
        if isinstance(value, dict):
            flat.update(flatten(value, name + "/"))
        else:
            flat[name] = value
    return flat


def number(value):
    return float("nan") if value is None else float(value)


def nanmean(values):
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else float("nan")


def spread(values):
    kept = [v for v in values if not math.isnan(v)]
    if len(kept) < 2:
        return float("nan")
    mean = sum(kept) / len(kept)
    return math.sqrt(sum((v - mean) ** 2 for v in kept) / (len(kept) - 1))


def bootstrap(rows, statistic, resamples, seed=0):
    """rows[s][i]: the i-th unit (frame or route) of seed s, the same units in every seed.
    statistic(list of units) -> number. Returns the 2.5 and 97.5 percentiles of the seed-mean of
    the statistic over resamples of the units (one draw shared by all seeds)."""
    units = len(rows[0]) if rows else 0
    if units == 0 or resamples <= 0:
        return [float("nan"), float("nan")]
    draw = random.Random(seed)
    means = []
    for _ in range(resamples):
        picks = [draw.randrange(units) for _ in range(units)]
        means.append(nanmean([statistic([row[i] for i in picks]) for row in rows]))
    means = sorted(m for m in means if not math.isnan(m))
    if not means:
        return [float("nan"), float("nan")]
    return [means[int(0.025 * (len(means) - 1))], means[int(0.975 * (len(means) - 1))]]


def bootstrap_means(matrix, resamples, seed=0):
    """matrix[s][i] per-frame values (NaN: the frame does not count): CI of the seed-mean of the
    frame means."""
    if numpy is None:
        return bootstrap(matrix, nanmean, resamples, seed)
    values = numpy.asarray(matrix, dtype=float)
    if values.size == 0 or numpy.all(numpy.isnan(values)):
        return [float("nan"), float("nan")]
    rng = numpy.random.default_rng(seed)
    picks = rng.integers(0, values.shape[1], size=(resamples, values.shape[1]))
    sampled = values[:, picks]  # seeds x resamples x frames
    # A resample without a counted frame gives NaN (dropped below), not a warning.
    with numpy.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        valid = ~numpy.isnan(sampled)
        sums = numpy.where(valid, sampled, 0.0).sum(axis=2)
        counts = valid.sum(axis=2)
        per_seed = numpy.where(counts > 0, sums / numpy.maximum(counts, 1), numpy.nan)
        means = numpy.nanmean(per_seed, axis=0)
    means = means[~numpy.isnan(means)]
    if means.size == 0:
        return [float("nan"), float("nan")]
    return [float(numpy.percentile(means, 2.5)), float(numpy.percentile(means, 97.5))]


def read_frames(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def frame_matrix(records_by_seed, planner, metric, group):
    """Per seed, the per-frame values of `metric` for `planner`, frames in one shared order; only
    frames in `group` ("all": every frame)."""
    keys = sorted({(r["clip"], r["frame"]) for records in records_by_seed for r in records})
    matrix = []
    for records in records_by_seed:
        by_key = {(r["clip"], r["frame"]): r for r in records}
        row = []
        for key in keys:
            record = by_key.get(key)
            inside = record is not None and (group == "all" or group in record["groups"])
            row.append(number(record[planner].get(metric)) if inside else float("nan"))
        matrix.append(row)
    return matrix


def summarise(per_seed, interval):
    return {"mean": nanmean(per_seed), "std": spread(per_seed), "ci95": interval,
            "per_seed": per_seed}


def open_loop(study, arms, seeds, sets, resamples):
    tables = {}
    for data_set in sets:
        rows = {}
        for arm in arms:
            runs = [f"{study}/eval/{data_set}/{arm}_s{seed}" for seed in seeds]
            metrics = [flatten(load_json(f"{run}/metrics.json")["metrics"]) for run in runs]
            records = [read_frames(f"{run}/frames.jsonl") for run in runs]
            row = {}
            for key, label, group in OPEN_LOOP:
                per_seed = [number(m.get(f"planning/{group}/{key}")) for m in metrics]
                interval = bootstrap_means(frame_matrix(records, "model", key, group), resamples)
                row[f"{group}/{key}"] = summarise(per_seed, interval)
            row["risk/auroc"] = summarise([number(m.get("risk/auroc")) for m in metrics],
                                          [float("nan"), float("nan")])
            row["frames"] = nanmean([number(m.get("eval/frames")) for m in metrics])
            row["high_risk_frames"] = nanmean([number(m.get("planning/high_risk/frames"))
                                               for m in metrics])
            row["gt_box_col"] = nanmean([number(m.get(f"planning/all/gt_box_col/{HORIZON}"))
                                         for m in metrics])
            rows[arm] = row
        # The ego-status reference planners, scored once (in the first base run's evaluation).
        reference_run = f"{study}/eval/{data_set}/{arms[0]}_s{seeds[0]}"
        metrics = flatten(load_json(f"{reference_run}/metrics.json")["metrics"])
        records = [read_frames(f"{reference_run}/frames.jsonl")]
        for planner in REFERENCE_PLANNERS:
            row = {}
            for key, label, group in OPEN_LOOP:
                value = number(metrics.get(f"reference/{planner}/planning/{group}/{key}"))
                present = all(planner in r for r in records[0])
                interval = (bootstrap_means(frame_matrix(records, planner, key, group), resamples)
                            if present else [float("nan"), float("nan")])
                row[f"{group}/{key}"] = summarise([value], interval)
            rows["ref:" + planner] = row
        tables[data_set] = rows
    return tables


def route_collisions(route):
    return sum(count for name, count in route["infractions"].items() if "collision" in name)


def closed_loop_row(metrics_by_seed, resamples):
    routes_by_seed = [m["per_route"] for m in metrics_by_seed]
    names = sorted({r["route"] for routes in routes_by_seed for r in routes})
    aligned = [[{r["route"]: r for r in routes}[name] for name in names]
               for routes in routes_by_seed]
    statistics = {
        "driving_score": lambda rs: nanmean([number(r["driving_score"]) for r in rs]),
        "success_rate": lambda rs: 100.0 * nanmean([1.0 if r["success"] else 0.0 for r in rs]),
        "route_completion": lambda rs: nanmean([number(r["route_completion"]) for r in rs]),
        "collisions_per_km": lambda rs: (sum(route_collisions(r) for r in rs) /
                                         max(sum(number(r["distance"]) for r in rs) / 1000.0,
                                             1e-9)),
    }
    row = {}
    for key, statistic in statistics.items():
        per_seed = [statistic(routes) for routes in aligned]
        row[key] = summarise(per_seed, bootstrap(aligned, statistic, resamples))
    row["routes"] = len(names)
    abilities = {}
    for m in metrics_by_seed:
        for name, ability in m.get("abilities", {}).items():
            abilities.setdefault(name, []).append(number(ability["driving_score"]))
    row["abilities"] = {name: nanmean(values) for name, values in abilities.items()}
    scenarios = {}
    for routes in aligned:
        for route in routes:
            scenarios.setdefault(route["scenario"], []).append(number(route["driving_score"]))
    row["scenarios"] = {name: nanmean(values) for name, values in scenarios.items()}
    return row


def closed_loop(study, arms, seeds, resamples):
    rows = {}
    for arm in arms:
        metrics = [load_json(f"{study}/drive/{arm}_s{seed}/metrics.json") for seed in seeds]
        rows[arm] = closed_loop_row(metrics, resamples)
    for agent in REFERENCE_AGENTS:
        rows["ref:" + agent] = closed_loop_row([load_json(f"{study}/drive/{agent}/metrics.json")],
                                               resamples)
    return rows


def fmt(value, digits=3):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def cell(summary, digits=3):
    text = fmt(summary["mean"], digits)
    if not math.isnan(summary["std"]):
        text += f" ± {fmt(summary['std'], digits)}"
    low, high = summary["ci95"]
    if not math.isnan(low):
        text += f" [{fmt(low, digits)}, {fmt(high, digits)}]"
    return text


def row_label(name):
    return f"*{name[4:]}* (reference)" if name.startswith("ref:") else f"`{name}`"


def svg_bars(path, title, rows, key):
    """A bar chart (one bar per row: mean, whisker: 95 % CI) as a small standalone SVG."""
    entries = [(name, rows[name][key]) for name in rows if key in rows[name]]
    values = [v for _, s in entries for v in [s["mean"], *s["ci95"]] if not math.isnan(v)]
    top = max(values + [1e-9]) * 1.15
    width, height, left, bottom, bar = 120 + 90 * len(entries), 300, 60, 60, 50
    plot_h = height - bottom - 40
    y = lambda v: height - bottom - plot_h * (v / top)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="13">{title}</text>',
             f'<line x1="{left}" y1="{y(0)}" x2="{width - 20}" y2="{y(0)}" stroke="black"/>']
    for tick in range(5):
        v = top * tick / 4
        parts.append(f'<text x="{left - 5}" y="{y(v) + 4}" text-anchor="end">{v:.3g}</text>')
    for i, (name, s) in enumerate(entries):
        x = left + 20 + 90 * i
        colour = "#999999" if name.startswith("ref:") else "#3b75af"
        if not math.isnan(s["mean"]):
            parts.append(f'<rect x="{x}" y="{y(s["mean"])}" width="{bar}" '
                         f'height="{y(0) - y(s["mean"])}" fill="{colour}"/>')
        low, high = s["ci95"]
        if not math.isnan(low):
            mid = x + bar / 2
            parts.append(f'<line x1="{mid}" y1="{y(low)}" x2="{mid}" y2="{y(high)}" '
                         'stroke="black"/>')
        label = name[4:] if name.startswith("ref:") else name
        parts.append(f'<text x="{x + bar / 2}" y="{height - bottom + 15}" '
                     f'text-anchor="middle">{label}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def separated(a, b):
    """-1 / +1 when a's interval lies wholly below / above b's, 0 when they overlap."""
    if any(math.isnan(v) for v in a["ci95"] + b["ci95"]):
        return 0
    if a["ci95"][1] < b["ci95"][0]:
        return -1
    if a["ci95"][0] > b["ci95"][1]:
        return 1
    return 0


def answer(summary, arms):
    """The answer, stated by rule from the intervals (no judgement beyond them)."""
    lines = []
    ood = summary["open_loop"].get("ood", {})
    drive = summary["closed_loop"]
    checks = [("OOD collision 3s", ood, "all/obj_box_col/" + HORIZON, "lower"),
              ("OOD high-risk collision 3s", ood, "high_risk/obj_box_col/" + HORIZON, "lower"),
              ("Driving Score", drive, "driving_score", "higher")]
    for label, table, key, better in checks:
        for arm in [a for a in arms if a != "base"]:
            if arm not in table or "base" not in table:
                continue
            side = separated(table[arm][key], table["base"][key])
            if side == 0:
                verdict = "no measurable difference from `base` (the 95 % intervals overlap)"
            elif (side < 0) == (better == "lower"):
                verdict = "better than `base` (intervals apart)"
            else:
                verdict = "worse than `base` (intervals apart)"
            lines.append(f"- {label}: `{arm}` {fmt(table[arm][key]['mean'])} vs `base` "
                         f"{fmt(table['base'][key]['mean'])}: {verdict}.")
        if "rsd" in table and "control" in table:
            side = separated(table["rsd"][key], table["control"][key])
            lines.append(f"- {label}: `rsd` vs `control` (the teacher's information itself): "
                         + ("no measurable difference." if side == 0 else
                            ("`rsd` better." if (side < 0) == (better == "lower")
                             else "`rsd` worse.")))
    return lines


def write_markdown(path, summary, args):
    arms = args.arms
    out = ["# Does the RiskHead help? A controlled study", ""]
    if args.quick:
        out += ["> **Quick pipeline check** (`scripts/study.sh --quick`): tiny data, a few training "
                "steps, one seed. The numbers mean nothing; only that every table is filled.", ""]
    out += ["## Question", "",
            "Does distilling the rule teacher's BEV risk maps into a RiskHead make the planner "
            "drive better, and is the gain (if any) the teacher's information, or the extra head "
            "and auxiliary loss that come with it? The `control` arm answers the second part: the "
            "same head and loss weight, trained against the teacher's maps shuffled across frames "
            "(`data.risk_target_control: shuffle_frames`: right statistics, wrong scene).", "",
            "## Setup", "",
            "| arm | config (relative to `configs/synth_tiny.yaml`) |", "|---|---|",
            "| `base` | `model.risk_head.enabled: false` |",
            "| `rsd` | as is: RiskHead + distillation loss against the rule teacher |",
            "| `rsd_attention` | `model.risk_head.risk_attention: true` |",
            "| `control` | `data.risk_target_control: shuffle_frames` |", "",
            f"Seeds {' '.join(str(s) for s in args.seeds)}; {args.steps} training steps. "
            f"Training scenario types: {', '.join(args.train_scenarios)}. In-distribution (ID) "
            "test set: the same types, worlds from seeds never used for training. "
            f"Out-of-distribution (OOD) test set: {', '.join(args.ood_scenarios)}, held out of "
            "training (a crossing, a cut-in, emergency braking: a planner that ignores the other "
            "road users collides there). Closed loop: "
            f"{summary['closed_loop'][arms[0]]['routes']} of rsd_drive's held-out routes "
            "(cycling through every scenario type, in worlds no training clip uses; default "
            "seed and timeline). The configs are in `configs/` of the study folder; the commands "
            "are `scripts/study.sh`'s.", "",
            "Cells: mean over seeds ± standard deviation over seeds [95 % bootstrap interval over "
            "frames (open loop) or routes (closed loop), one resample shared by all seeds]. "
            "Reference rows read only the ego status (no images): *constant_velocity* keeps "
            "speed and yaw rate; *ego_linear* is a least-squares fit from ego status + command "
            "to the waypoints on the training clips (AD-MLP's inputs, a closed-form fit instead "
            "of an MLP). Collision rates are fractions of frames.", ""]
    for data_set in ("id", "ood"):
        table = summary["open_loop"][data_set]
        title = {"id": "in-distribution", "ood": "out-of-distribution"}[data_set]
        out += [f"## Open loop, {title} set ({data_set})", ""]
        labels = [label for _, label, _ in OPEN_LOOP]
        out += ["| planner | " + " | ".join(labels) + " | risk AUROC |",
                "|---|" + "---|" * (len(labels) + 1)]
        for name, row in table.items():
            cells = [cell(row[f"{group}/{key}"]) for key, _, group in OPEN_LOOP]
            auroc = cell(row["risk/auroc"]) if "risk/auroc" in row else "n/a"
            out.append(f"| {row_label(name)} | " + " | ".join(cells) + f" | {auroc} |")
        base = table.get(arms[0], {})
        out += ["", f"Frames: {fmt(base.get('frames'), 0)}, with a high-risk object: "
                f"{fmt(base.get('high_risk_frames'), 0)}; the ground-truth trajectory's collision "
                f"3s: {fmt(base.get('gt_box_col'))}.", "",
                f"![{data_set} collision](plots/{data_set}_collision.svg)", ""]
    drive = summary["closed_loop"]
    out += ["## Closed loop (rsd_drive, held-out routes)", "",
            "| agent | " + " | ".join(label for _, label in CLOSED_LOOP) + " |",
            "|---|" + "---|" * len(CLOSED_LOOP)]
    for name, row in drive.items():
        out.append(f"| {row_label(name)} | " +
                   " | ".join(cell(row[key], 2) for key, _ in CLOSED_LOOP) + " |")
    abilities = sorted({a for row in drive.values() for a in row["abilities"]})
    out += ["", "![driving score](plots/driving_score.svg)", "", "### Driving Score per ability "
            "(mean over seeds)", "", "| agent | " + " | ".join(abilities) + " |",
            "|---|" + "---|" * len(abilities)]
    for name, row in drive.items():
        out.append(f"| {row_label(name)} | " +
                   " | ".join(fmt(row["abilities"].get(a), 1) for a in abilities) + " |")
    scenarios = sorted({a for row in drive.values() for a in row["scenarios"]})
    marked = [f"{name} (OOD)" if name in args.ood_scenarios else name for name in scenarios]
    out += ["", "### Driving Score per scenario type (mean over routes and seeds; OOD: held out "
            "of training)", "", "| agent | " + " | ".join(marked) + " |",
            "|---|" + "---|" * len(scenarios)]
    for name, row in drive.items():
        out.append(f"| {row_label(name)} | " +
                   " | ".join(fmt(row["scenarios"].get(a), 1) for a in scenarios) + " |")
    out += ["", "## Answer", "",
            "Stated by rule from the intervals above (overlapping 95 % intervals: no measurable "
            "difference):", ""] + answer(summary, arms)
    out += ["", "## The same study on real Bench2Drive", "",
            "1. Risk cache: `rsd_cache_risk --config configs/b2d_base.yaml` (the rule teacher; "
            "`teacher.type: vlm` with `teacher.vlm.endpoints` for the paper's VLM teacher, "
            "docs/teachers.md). Build it once; every arm reads it.",
            "2. Train the arms on the official split, each with seeds 1 2 3 (`--set run.seed=S "
            "--set run.name=<arm>_sS`): `base` = `configs/b2d_base_no_risk.yaml`; `rsd` = "
            "`configs/b2d_base.yaml`; `rsd_attention` = `configs/b2d_base.yaml --set "
            "model.risk_head.risk_attention=true`; `control` = `configs/b2d_base.yaml --set "
            "data.risk_target_control=shuffle_frames`.",
            "3. Open loop: `rsd_eval --config configs/b2d_base.yaml --checkpoint <run>/checkpoints/"
            "best.pt --split val --set eval.frame_records=true` (and once "
            "`--set eval.reference_planners=true` for the ego-status references); the val split's "
            "`high_risk` group and the per-ability groups replace the synthetic OOD set.",
            "4. Closed loop: Bench2Drive's 220 routes in CARLA with the librsd agent "
            "(docs/carla-agent.md); the Driving Score and Success Rate per arm and seed.",
            "5. `tools/study/report.py` reads the same folder layout (eval/<set>/<arm>_s<seed>/, "
            "drive/<arm>_s<seed>/) and writes the same tables.", ""]
    out += ["## Cost", "", "| stage | seconds |", "|---|---|"]
    out += [f"| {stage} | {seconds} |" for stage, seconds in summary["timing"]]
    out += [f"| **total** | {sum(s for _, s in summary['timing'])} |", ""]
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def read_timing(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [(stage, int(seconds)) for stage, seconds in
                (line.rstrip("\n").split("\t") for line in f if line.strip())]


def jsonable(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", required=True)
    parser.add_argument("--arms", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, required=True)
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--train-scenarios", nargs="+", default=[])
    parser.add_argument("--ood-scenarios", nargs="+", default=[])
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    summary = {
        "arms": args.arms, "seeds": args.seeds, "steps": args.steps, "quick": args.quick,
        "bootstrap_resamples": args.bootstrap, "horizon": HORIZON,
        "train_scenarios": args.train_scenarios, "ood_scenarios": args.ood_scenarios,
        "open_loop": open_loop(args.study, args.arms, args.seeds, ["id", "ood"], args.bootstrap),
        "closed_loop": closed_loop(args.study, args.arms, args.seeds, args.bootstrap),
        "timing": read_timing(os.path.join(args.study, "timing.tsv")),
    }
    plots = os.path.join(args.study, "plots")
    os.makedirs(plots, exist_ok=True)
    for data_set in ("id", "ood"):
        svg_bars(os.path.join(plots, f"{data_set}_collision.svg"),
                 f"{data_set.upper()}: collision 3s (ST-P3 box), 95 % CI",
                 summary["open_loop"][data_set], "all/obj_box_col/" + HORIZON)
    svg_bars(os.path.join(plots, "driving_score.svg"), "Closed loop: Driving Score, 95 % CI",
             summary["closed_loop"], "driving_score")
    summary["answer"] = answer(summary, args.arms)
    with open(os.path.join(args.study, "summary.json"), "w") as f:
        json.dump(jsonable(summary), f, indent=1)
    write_markdown(os.path.join(args.study, "results.md"), summary, args)
    print(f"report: {args.study}/results.md, {args.study}/summary.json")


if __name__ == "__main__":
    sys.exit(main())
