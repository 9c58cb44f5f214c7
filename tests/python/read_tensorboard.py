"""Checks a run's TensorBoard events (<run>/tb/) with tensorboard's own reader.

Every number of every metrics.jsonl line must be the scalar <mode>/<key> at the line's step (to
float32 precision, as TensorBoard stores scalars), and no other train/ or val/ scalar may exist;
lr/<group> follows each train line (the group at multiplier 1 equals the line's lr); the config
text of the newest run is its config.yaml; validation pictures, when written, are PNGs at validation steps.

Usage: read_tensorboard.py RUN_DIR [--expect-files N] [--expect-pictures]
"""
import argparse
import json
import math
import os
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def same_float32(expected, actual):
    if expected is None:  # metrics.jsonl writes NaN and infinities as null
        return not math.isfinite(actual)
    return math.isclose(actual, expected, rel_tol=2e-7, abs_tol=1e-30) or \
        abs(actual - expected) <= abs(expected) * 2 ** -23


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--expect-files", type=int, default=1)
    parser.add_argument("--expect-pictures", action="store_true",
                        help="a BEV and a camera picture at every validation step")
    args = parser.parse_args()
    tb_dir = os.path.join(args.run_dir, "tb")
    files = sorted(f for f in os.listdir(tb_dir) if "tfevents" in f)
    check(len(files) == args.expect_files,
          f"expected {args.expect_files} events files in {tb_dir}, found {files}")

    events = EventAccumulator(tb_dir, size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    scalars = {tag: {e.step: e.value for e in events.Scalars(tag)} for tag in tags["scalars"]}

    with open(os.path.join(args.run_dir, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    expected_tags = set()
    train_steps, val_steps, compared = [], [], 0
    for line in lines:
        mode, step = line["mode"], line["step"]
        (train_steps if mode == "train" else val_steps).append(step)
        for key, value in line.items():
            if key in ("mode", "step") or isinstance(value, (str, bool)):
                continue
            tag = f"{mode}/{key}"
            expected_tags.add(tag)
            series = scalars.get(tag, {})
            if step not in series:
                failures.append(f"{tag} has no value at step {step} (has {sorted(series)})")
                continue
            check(same_float32(value, series[step]),
                  f"{tag} at step {step}: {series[step]!r} in TensorBoard, {value!r} in metrics.jsonl")
            compared += 1
    check(train_steps and val_steps, f"metrics.jsonl lacks train or val lines: {lines}")
    written = {t for t in scalars if t.startswith(("train/", "val/"))}
    check(written == expected_tags,
          f"train/val scalars differ from metrics.jsonl: extra {sorted(written - expected_tags)}, "
          f"missing {sorted(expected_tags - written)}")

    lr_tags = sorted(t for t in scalars if t.startswith("lr/"))
    check(len(lr_tags) >= 1, f"no lr/<group> scalars: {sorted(scalars)}")
    for tag in lr_tags:
        check(sorted(scalars[tag]) == sorted(train_steps),
              f"{tag} at steps {sorted(scalars[tag])}, train lines at {sorted(train_steps)}")
    schedule = {line["step"]: line["lr"] for line in lines if line["mode"] == "train"}
    check("lr/rest" in scalars and all(same_float32(schedule[s], v) for s, v in scalars["lr/rest"].items()),
          f"lr/rest {scalars.get('lr/rest')} is not the schedule's rate {schedule}")

    check("config" in tags["tensors"], f"no config text: tensors {tags['tensors']}")
    if "config" in tags["tensors"]:
        with open(os.path.join(args.run_dir, "config.yaml")) as f:
            config_yaml = f.read()
        texts = [e.tensor_proto.string_val[0].decode() for e in events.Tensors("config")]
        check(len(texts) == args.expect_files, f"{len(texts)} config texts for {args.expect_files} runs")
        for text in texts:
            check(text.startswith("```yaml\n") and text.endswith("```\n"), "config text not a YAML block")
        # Each run writes its own config; config.yaml holds the newest run's.
        check(texts and texts[-1] == "```yaml\n" + config_yaml + "```\n",
              f"the newest config text is not the run's config.yaml:\n{texts[-1][:300] if texts else ''}")

    for tag in tags["images"]:
        for image in events.Images(tag):
            check(image.encoded_image_string.startswith(b"\x89PNG"), f"{tag} at {image.step} is not a PNG")
            check(image.step in val_steps, f"picture {tag} at step {image.step}, no validation there")
            check(image.width > 0 and image.height > 0, f"{tag} has no size")

    if args.expect_pictures:
        for kind in ("_bev", "_camera"):
            kind_tags = [t for t in tags["images"] if t.startswith("pictures/") and t.endswith(kind)]
            check(kind_tags, f"no pictures/*{kind} images: {tags['images']}")
            for tag in kind_tags:
                steps = sorted(image.step for image in events.Images(tag))
                check(steps == sorted(val_steps), f"{tag} at steps {steps}, validations at {sorted(val_steps)}")

    print(f"{len(files)} events file(s); {compared} scalars compared with metrics.jsonl; "
          f"tags: scalars {sorted(scalars)}, images {sorted(tags['images'])}, text {sorted(tags['tensors'])}")
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    print("tensorboard events match metrics.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
