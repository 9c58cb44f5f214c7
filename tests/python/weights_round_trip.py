"""Python's side of the weights round trip (tests/cli/test_weights_python.sh, docs/model.md).

  weights_round_trip.py check EXPORTED.pt MANIFEST.json DOUBLED.pt MISSING.pt
      EXPORTED (rsd_export's file) must load with torch.load(weights_only=True) as a plain dict of
      CPU tensors whose names, dtypes, shapes and sums are the manifest's (written by rsd_export
      from the C++ model). Saves every tensor doubled (integers + 1) to DOUBLED with torch.save,
      and the same without its first name to MISSING; prints that name.
  weights_round_trip.py doubled REEXPORTED.pt EXPORTED.pt
      REEXPORTED (the C++ model after strictly loading DOUBLED, exported again) must be EXPORTED
      with every tensor doubled, bit for bit.
Exit status 0 when the checks pass, 1 naming the first failure.
"""
import json
import math
import sys

import torch


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def load_dict(path):
    loaded = torch.load(path, weights_only=True)
    if type(loaded) is not dict:
        fail(f"{path} loads as {type(loaded).__name__}, not a dict")
    for name, tensor in loaded.items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
            fail(f"{path}: entry {name!r} is {type(tensor).__name__}, not a tensor")
        if tensor.device.type != "cpu":
            fail(f"{path}: {name} is on {tensor.device}")
    return loaded


def doubled(tensor):
    return tensor * 2 if tensor.is_floating_point() else tensor + 1


def check(exported_path, manifest_path, doubled_path, missing_path):
    tensors = load_dict(exported_path)
    with open(manifest_path) as file:
        manifest = json.load(file)["tensors"]
    if sorted(tensors) != sorted(manifest):
        only_file = sorted(set(tensors) - set(manifest))[:5]
        only_manifest = sorted(set(manifest) - set(tensors))[:5]
        fail(f"names differ: only in the file {only_file}, only in the manifest {only_manifest}")
    for suffix in ("running_mean", "running_var", "num_batches_tracked", "weight", "bias"):
        if not any(name.endswith("." + suffix) for name in tensors):
            fail(f"no tensor named *.{suffix}: parameters and buffers expected")
    for name, tensor in tensors.items():
        expected = manifest[name]
        if str(tensor.dtype) != "torch." + expected["dtype"]:
            fail(f"{name}: dtype {tensor.dtype}, the manifest says {expected['dtype']}")
        if list(tensor.shape) != expected["shape"]:
            fail(f"{name}: shape {list(tensor.shape)}, the manifest says {expected['shape']}")
        total = tensor.double().sum().item()
        if not math.isclose(total, expected["sum"], rel_tol=1e-9, abs_tol=1e-6):
            fail(f"{name}: sum {total!r}, the manifest says {expected['sum']!r}")
    result = {name: doubled(tensor) for name, tensor in tensors.items()}
    torch.save(result, doubled_path)
    dropped = sorted(result)[0]
    del result[dropped]
    torch.save(result, missing_path)
    print(dropped)


def compare_doubled(reexported_path, exported_path):
    reexported = load_dict(reexported_path)
    original = load_dict(exported_path)
    if sorted(reexported) != sorted(original):
        fail("the re-exported file has other names than the exported one")
    for name, tensor in original.items():
        if reexported[name].dtype != tensor.dtype or not torch.equal(reexported[name], doubled(tensor)):
            fail(f"{name}: not the exported tensor doubled after the import")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "check":
        check(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "doubled":
        compare_doubled(*sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
