#!/usr/bin/env python3
"""Runs the Python twin on what rsd_twin_reference wrote and compares every output with the C++
model's (tools/python/README.md).

    rsd_twin_reference configs/synth_tiny.yaml /tmp/twin     # C++: weights, batch, outputs
    python tools/python/compare_twin.py /tmp/twin             # exit 0 when every output matches

An output matches when max |twin - C++| <= atol + rtol * max |C++| (float32 defaults below).
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsd_twin.model import E2EModel, TwinOptions  # noqa: E402

# float32 throughout; the two sides differ only in the order of sums (see README.md).
DEFAULT_RTOL = 1e-4
DEFAULT_ATOL = 1e-5


def load(folder, name):
    return torch.load(os.path.join(folder, name), weights_only=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="rsd_twin_reference's output folder")
    parser.add_argument("--rtol", type=float, default=DEFAULT_RTOL,
                        help="tolerance relative to the output's largest magnitude")
    parser.add_argument("--atol", type=float, default=DEFAULT_ATOL)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    twin = E2EModel(TwinOptions.load(os.path.join(args.folder, "model.json")))
    twin.load_state_dict(load(args.folder, "weights.pt"), strict=True)
    twin.eval()
    batch = load(args.folder, "batch.pt")
    expected = load(args.folder, "outputs.pt")
    with torch.no_grad():
        actual = twin(batch["images"], batch["intrinsics"], batch["img_aug"], batch["cam2ego"],
                      batch["ego_status"], batch["command"])

    if set(actual) != set(expected):
        print(f"FAIL: outputs {sorted(actual)} vs the C++ model's {sorted(expected)}")
        return 1
    failed = []
    print(f"{'output':<22}{'shape':<26}{'max |C++|':>12}{'max abs err':>14}{'rel err':>12}")
    for name in sorted(expected):
        want, got = expected[name], actual[name]
        if want.shape != got.shape:
            print(f"FAIL: {name}: shape {tuple(got.shape)} vs the C++ model's {tuple(want.shape)}")
            failed.append(name)
            continue
        scale = want.abs().max().item()
        error = (got.double() - want.double()).abs().max().item()
        relative = error / max(scale, 1e-30)
        ok = error <= args.atol + args.rtol * scale
        print(f"{name:<22}{str(tuple(want.shape)):<26}{scale:>12.4g}{error:>14.3g}{relative:>12.3g}"
              f"  {'ok' if ok else 'FAIL'}")
        if not ok:
            failed.append(name)
    if failed:
        print(f"FAIL: {', '.join(failed)} beyond rtol {args.rtol} (atol {args.atol})")
        return 1
    print(f"the twin matches the C++ model: {len(expected)} outputs within rtol {args.rtol} "
          f"(atol {args.atol}) of each output's largest magnitude")
    return 0


if __name__ == "__main__":
    sys.exit(main())
