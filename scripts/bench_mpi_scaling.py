#!/usr/bin/env python3
"""Data-parallel scaling figures for docs/DISTRIBUTED.md and the README (development tool; stdlib only).

Runs `sparse-tune train` on synthetic data made by `sparse-tune demo --quick` (its 800-image `new-shapes` task), for
two workloads:
  sparse   sparse-tuning on the demo's pretrained backbone (1 k trainable values: the small all-reduce of the method)
  full     full fine-tuning of a random ViT-S/16 at --image-size (22 M trainable values, 88 MB all-reduced per step)
and three layouts on this machine:
  1x2      one process, 2 threads
  2x1      mpirun -np 2, 1 thread each (shared-memory transport)
  2x1-tcp  the same over TCP on loopback (`--mca btl tcp,self`): what a network between hosts adds
It prints a markdown table (images/s, all-reduce seconds per step and share of the step, bytes per step) and a
model of the speed-up at 8, 32 and 128 ranks: step(N) = B / (N * r1) + allreduce(N), with r1 the one-rank,
one-thread images/s and a ring all-reduce 2 (N-1)/N * S / bw + 2 (N-1) * lat, bw and lat fitted to the two TCP
measurements (small and large S).

  python3 scripts/bench_mpi_scaling.py [--binary .build/release/sparse-tune] [--epochs 1] [--image-size 96]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=".build/release/sparse-tune")
    ap.add_argument("--work", default=None)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--image-size", type=int, default=96)
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="mpi-scaling-")
    if not os.path.exists(os.path.join(work, "backbone.safetensors")):
        run([args.binary, "demo", "--quick", "--out", work, "--methods", "linear"])
    data = os.path.join(work, "new-shapes")
    workloads = {
        "sparse": ["--weights", os.path.join(work, "backbone.safetensors"), "--method", "sparse-tuning"],
        "full": ["--arch", "vit-s16", "--method", "full", "--image-size", str(args.image_size)],
    }
    layouts = {
        "1x2": ([], "2"),
        "2x1": (["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", "--bind-to", "none"], "1"),
        "2x1-tcp": (["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", "--bind-to", "none",
                     "--mca", "btl", "tcp,self"], "1"),
    }
    rows, measured = [], {}
    for w, flags in workloads.items():
        for name, (launcher, threads) in layouts.items():
            out = os.path.join(work, f"{w}-{name}.safetensors")
            cmd = launcher + [args.binary, "train", "--data", data, "--epochs", str(args.epochs), "--batch", str(args.batch),
                              "--warmup-epochs", "0", "--no-eval", "--threads", threads, "--workers", "1", "--json",
                              "--output", out] + flags
            s = json.loads([l for l in run(cmd).splitlines() if l.startswith("{")][0])
            steps = max(s["steps"], 1)
            step_s = s["seconds"] / steps
            ar = s["allreduce_seconds"] / steps
            measured[(w, name)] = dict(ips=s["train_images_per_s"], ar=ar, step=step_s, bytes=s["allreduce_bytes_per_step"])
            rows.append(f"| {w} | {name} | {s['train_images_per_s']:.1f} | {ar * 1e3:.2f} | {100 * ar / step_s:.1f}% | "
                        f"{s['allreduce_bytes_per_step'] / 1e6:.3f} |")
    print("| workload | layout | train img/s | all-reduce ms/step | share of step | MB all-reduced/step |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    for w in workloads:
        print(f"\n{w}: 2 ranks x 1 thread / 1 rank x 2 threads = "
              f"{measured[(w, '2x1')]['ips'] / measured[(w, '1x2')]['ips']:.2f}x")
    # Fit a ring all-reduce over the network (N = 2: one send of S/2 and one of S/2 each way: S / bw + 2 lat).
    a, b = measured[("sparse", "2x1-tcp")], measured[("full", "2x1-tcp")]
    bw = (b["bytes"] - a["bytes"]) / max(b["ar"] - a["ar"], 1e-9)
    lat = max((a["ar"] - a["bytes"] / bw) / 2, 1e-6)
    print(f"\nfitted TCP loopback: bandwidth {bw / 1e9:.2f} GB/s, latency {lat * 1e6:.0f} us per message")
    print("\n| workload | global batch | ranks | modelled img/s | speed-up over 1 rank | all-reduce share |")
    print("|---|---:|---:|---:|---:|---:|")
    for w in workloads:
        r1 = measured[(w, "2x1")]["ips"] / 2  # one rank, one thread
        size = measured[(w, "2x1")]["bytes"]
        for batch in (64, 1024):
            for n in (8, 32, 128):
                ar = 2 * (n - 1) / n * size / bw + 2 * (n - 1) * lat
                step = batch / (n * r1) + ar
                print(f"| {w} | {batch} | {n} | {batch / step:.0f} | {batch / step / r1:.1f}x | {100 * ar / step:.0f}% |")


if __name__ == "__main__":
    main()
