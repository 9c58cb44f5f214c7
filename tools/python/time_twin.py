#!/usr/bin/env python3
"""Times a training step of the Python twin and of the C++ model on the same sizes and threads.

    rsd_twin_reference configs/synth_tiny.yaml /tmp/twin
    python tools/python/time_twin.py /tmp/twin --rsd-bench build/bin/rsd_bench --threads 2

The twin's step: forward in train mode, the sum of every output's mean as the loss (the C++
losses are not ported: their targets need the data layer), backward, AdamW (lr 1e-4, as rsd_bench).
The C++ step comes from `rsd_bench train --json` on the same config and batch size: its forward
stages, its backward (which includes the real losses' backward) and its optimiser. Compare the
forward and forward + backward columns; the C++ "loss" stage has no twin counterpart and is
reported apart. Medians over --steps steps after one warm-up step.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rsd_twin.model import E2EModel, TwinOptions  # noqa: E402

FORWARD_STAGES = ("image_encoder", "lift_pool", "bev_encoder", "heads")


def median(values):
    return sorted(values)[len(values) // 2]


def time_twin(folder, steps):
    twin = E2EModel(TwinOptions.load(os.path.join(folder, "model.json")))
    twin.load_state_dict(torch.load(os.path.join(folder, "weights.pt"), weights_only=True))
    twin.train()
    batch = torch.load(os.path.join(folder, "batch.pt"), weights_only=True)
    inputs = [batch[k] for k in ("images", "intrinsics", "img_aug", "cam2ego", "ego_status", "command")]
    optimizer = torch.optim.AdamW(twin.parameters(), lr=1e-4)
    forward, backward, optimiser, total = [], [], [], []
    for _ in range(steps + 1):  # the first is the warm-up
        start = time.perf_counter()
        optimizer.zero_grad()
        outputs = twin(*inputs)
        loss = sum(output.mean() for output in outputs.values())
        after_forward = time.perf_counter()
        loss.backward()
        after_backward = time.perf_counter()
        optimizer.step()
        end = time.perf_counter()
        forward.append(after_forward - start)
        backward.append(after_backward - after_forward)
        optimiser.append(end - after_backward)
        total.append(end - start)
    def ms(values):
        return 1e3 * median(values[1:])

    return {"forward": ms(forward), "backward": ms(backward), "optimiser": ms(optimiser),
            "step": ms(total), "batch": inputs[0].shape[0]}


def time_cpp(rsd_bench, config, batch, steps, threads):
    command = [rsd_bench, "train", "--configs", config, "--batch", str(batch), "--steps", str(steps),
               "--json", "--threads", str(threads)]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    stages = result["results"][0]["stages"]
    return {"forward": sum(stages[s]["ms"] for s in FORWARD_STAGES), "loss": stages["loss"]["ms"],
            "backward": stages["backward"]["ms"], "optimiser": stages["optimiser"]["ms"],
            "step": result["results"][0]["step_ms"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="rsd_twin_reference's output folder (model, weights, batch)")
    parser.add_argument("--rsd-bench", help="rsd_bench to time the C++ step with (optional)")
    parser.add_argument("--config", default="configs/synth_tiny.yaml",
                        help="the config rsd_twin_reference was given, for rsd_bench")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    twin = time_twin(args.folder, args.steps)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {twin['batch']}, "
          f"median of {args.steps} steps (ms)")
    print(f"{'':<8}{'forward':>10}{'loss':>10}{'backward':>10}{'fwd+bwd':>10}{'optimiser':>11}{'step':>10}")
    print(f"{'python':<8}{twin['forward']:>10.1f}{'-':>10}{twin['backward']:>10.1f}"
          f"{twin['forward'] + twin['backward']:>10.1f}{twin['optimiser']:>11.1f}{twin['step']:>10.1f}")
    if args.rsd_bench:
        cpp = time_cpp(args.rsd_bench, args.config, twin["batch"], args.steps, args.threads)
        print(f"{'c++':<8}{cpp['forward']:>10.1f}{cpp['loss']:>10.1f}{cpp['backward']:>10.1f}"
              f"{cpp['forward'] + cpp['backward']:>10.1f}{cpp['optimiser']:>11.1f}{cpp['step']:>10.1f}")
        ratio = (cpp["forward"] + cpp["backward"]) / (twin["forward"] + twin["backward"])
        print(f"time C++ / Python, forward + backward: {ratio:.2f} "
              f"(forward alone {cpp['forward'] / twin['forward']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
