#!/usr/bin/python3
"""Checks an `actlab export` against actlab: runs the exported module on the test split's raw
inputs and compares its outputs with actlab's, both written by
`actlab export RUN_DIR --pytorch model.py --test-outputs test.csv`.

    /usr/bin/python3 examples/pytorch/check_export.py model.py test.csv

Prints the largest absolute and relative differences; exits 1 above float32 tolerance
(|a - b| <= 1e-5 + 1e-4 |b|, a few float32 roundings through the layers).
"""
import csv
import importlib.util
import sys

import torch


def main(model_path, outputs_path):
    spec = importlib.util.spec_from_file_location("exported", model_path)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    with open(outputs_path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    n_in = sum(1 for name in header if name.startswith("x"))
    x = torch.tensor([[float(v) for v in r[:n_in]] for r in rows], dtype=torch.float32)
    expected = torch.tensor([[float(v) for v in r[n_in:]] for r in rows], dtype=torch.float32)
    model = exported.load()
    with torch.no_grad():
        actual = model(x).reshape(expected.shape)
    diff = (actual - expected).abs()
    worst = diff.max().item()
    relative = (diff / expected.abs().clamp_min(1e-6)).max().item()
    ok = bool((diff <= 1e-5 + 1e-4 * expected.abs()).all())
    print(f"{len(rows)} test rows, {expected.shape[1]} outputs: max |torch - actlab| = {worst:.3g}, "
          f"max relative {relative:.3g}: {'OK' if ok else 'NOT OK'}")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
