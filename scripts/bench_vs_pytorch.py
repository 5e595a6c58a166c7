#!/usr/bin/env python3
"""Inference speed and peak memory: `sparse-tune bench` against PyTorch eager (timm), fp32.

Development tool (not part of the tests). For each batch size it runs

  ours : <binary> bench --arch A --batch B --threads T --json --warmup 2 --min-time S --min-runs R
         [--keep-rate K] [--image-size N], one process per batch size (so its peak RSS is that
         batch's, as for torch), parsing {"results": [{"batch": 8, "images_per_s": ...,
         "peak_rss_mb": ...}, ...]}
  torch: timm `vit_base_patch16_224` (or the --arch mapping), random weights, eval(),
         torch.inference_mode(), torch.set_num_threads(T); the same protocol as our bench:
         2 warm-up runs, then timed runs until --min-time seconds have passed and at least
         --min-iters ran (torch also stops at --max-iters); reported = batch / median time. Every (batch, precision) runs in its own
         child process that only builds and runs the model, and that child's
         getrusage(RUSAGE_SELF).ru_maxrss is its peak RSS (so it includes the Python
         interpreter and libtorch, as ours includes its runtime).
  --bf16 adds a column with torch.autocast("cpu", dtype=torch.bfloat16).

The torch column is always dense (no token sparsification), whatever --keep-rate says.
Works without our binary (prints the torch numbers and says how to build it).

Examples:
  /work/venv/bin/python scripts/bench_vs_pytorch.py                       # vit-b16, batch 1,8
  /work/venv/bin/python scripts/bench_vs_pytorch.py --arch vit-s16 --batch 1,8,32 --bf16 --json
  /work/venv/bin/python scripts/bench_vs_pytorch.py --skip-ours --batch 1 --min-time 0 --max-iters 2
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from bench_common import parse_json

ARCHS = {  # our preset -> (timm name, image size)
    "vit-ti16": ("vit_tiny_patch16_224", 224),
    "vit-s16": ("vit_small_patch16_224", 224),
    "vit-b16": ("vit_base_patch16_224", 224),
    "vit-l16": ("vit_large_patch16_224", 224),
    "vit-h14": ("vit_huge_patch14_224", 224),
}
CHILD_TAG = "BENCH_CHILD_RESULT "


# ----------------------------------------------------------------------------- child

def child(cfg: dict) -> None:
    """Runs in a fresh process: build the model, time it, report images/s and ru_maxrss."""
    import resource

    import torch
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    backend = "timm"
    try:
        import timm
        model = timm.create_model(cfg["timm_name"], pretrained=False, img_size=cfg["image_size"]).eval()
        backend = f"timm {timm.__version__}"
        run = model
    except Exception as e:  # no timm: the plain functional port with random weights
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
        import torch_vit as tv
        dims = {"vit_tiny_patch16_224": (192, 12, 3, 768, 16), "vit_small_patch16_224": (384, 12, 6, 1536, 16),
                "vit_base_patch16_224": (768, 12, 12, 3072, 16), "vit_large_patch16_224": (1024, 24, 16, 4096, 16),
                "vit_huge_patch14_224": (1280, 32, 16, 5120, 14)}[cfg["timm_name"]]
        C, depth, heads, mlp, P = dims
        S = cfg["image_size"]
        vcfg = dict(dim=C, depth=depth, heads=heads, mlp=mlp, patch=P, classes=1000, pool="token",
                    pretrain_hw=(S, S))
        params = {k: torch.randn(s) * 0.02 for k, s in tv.param_shapes(vcfg)}
        backend = f"plain torch_vit.py (timm unavailable: {type(e).__name__})"
        run = lambda x: tv.vit_forward(params, x, vcfg)["logits"]  # noqa: E731

    x = torch.randn(cfg["batch"], 3, cfg["image_size"], cfg["image_size"])
    times = []
    with torch.inference_mode():
        ctx = (torch.autocast("cpu", dtype=torch.bfloat16) if cfg["bf16"] else _nullcontext())
        with ctx:
            for _ in range(cfg["warmup"]):
                run(x)
            t_start = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                run(x)
                times.append(time.perf_counter() - t0)
                n = len(times)
                if n >= cfg["max_iters"]:
                    break
                if n >= cfg["min_iters"] and time.perf_counter() - t_start >= cfg["min_time"]:
                    break
    med = statistics.median(times)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out = {"batch": cfg["batch"], "bf16": cfg["bf16"], "images_per_s": cfg["batch"] / med,
           "median_s": med, "iters": len(times), "peak_rss_mb": rss_kib / 1024.0,
           "backend": backend, "torch": torch.__version__, "threads": torch.get_num_threads()}
    print(CHILD_TAG + json.dumps(out), flush=True)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def run_torch(args, batch: int, bf16: bool) -> dict:
    timm_name, size = ARCHS[args.arch]
    cfg = {"timm_name": timm_name, "image_size": args.image_size or size, "batch": batch, "bf16": bf16,
           "threads": args.threads, "warmup": args.warmup, "min_time": args.min_time,
           "min_iters": args.min_iters, "max_iters": args.max_iters}
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--_child", json.dumps(cfg)],
                       capture_output=True, text=True, env=env)
    for line in reversed(p.stdout.splitlines()):
        if line.startswith(CHILD_TAG):
            return json.loads(line[len(CHILD_TAG):])
    raise RuntimeError(f"torch child failed (exit {p.returncode}):\n{p.stderr[-3000:]}")


# ----------------------------------------------------------------------------- ours

def run_ours(args, batches) -> dict | None:
    """One `bench` process per batch size (like the torch children), so each peak RSS is that batch's
    own; --ours-single-process runs all batch sizes in one process (its peak RSS is then cumulative)."""
    binary = args.binary
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        found = shutil.which(binary) if os.sep not in binary else None
        if not found:
            print(f"note: our binary {binary!r} is not there yet; build it with `swift build -c release` "
                  f"(or pass --binary PATH). Showing PyTorch only.", file=sys.stderr)
            return None
        binary = found
    groups = [batches] if args.ours_single_process else [[b] for b in batches]
    out = {}
    for group in groups:
        cmd = [binary, "bench", "--arch", args.arch, "--batch", ",".join(map(str, group)),
               "--threads", str(args.threads), "--json",
               "--warmup", str(args.warmup), "--min-time", str(args.min_time), "--min-runs", str(args.min_iters)]
        if args.image_size:
            cmd += ["--image-size", str(args.image_size)]
        if args.keep_rate is not None:
            cmd += ["--keep-rate", str(args.keep_rate)]
        if args.ours_extra:
            cmd += args.ours_extra.split()
        print("running: " + " ".join(cmd), file=sys.stderr, flush=True)
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            print(f"warning: {binary} bench exited {p.returncode}:\n{p.stderr[-3000:]}", file=sys.stderr)
            continue
        doc = parse_json(p.stdout)
        if doc is None or "results" not in doc:
            print(f"warning: could not parse JSON from our bench output:\n{p.stdout[-2000:]}", file=sys.stderr)
            continue
        for r in doc["results"]:
            out[int(r["batch"])] = r
    return out or None


# ----------------------------------------------------------------------------- main

def fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--_child":
        child(json.loads(sys.argv[2]))
        return 0
    ncores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    ap = argparse.ArgumentParser(description="sparse-tune bench vs PyTorch eager timm (images/s, peak RSS).")
    ap.add_argument("--arch", default="vit-b16", choices=sorted(ARCHS))
    ap.add_argument("--batch", default="1,8", help="comma-separated batch sizes (default 1,8)")
    ap.add_argument("--threads", type=int, default=ncores, help=f"threads for both (default {ncores} = all cores)")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--binary", default=os.path.join(repo, ".build", "release", "sparse-tune"),
                    help="path to our sparse-tune binary (default <repo>/.build/release/sparse-tune)")
    ap.add_argument("--keep-rate", type=float, default=None, help="passed to our bench; torch stays dense")
    ap.add_argument("--bf16", action="store_true", help="extra torch column with bf16 autocast")
    ap.add_argument("--image-size", type=int, default=None, help="input size for both (default the arch's, 224)")
    ap.add_argument("--warmup", type=int, default=2, help="both: untimed warm-up runs (default 2)")
    ap.add_argument("--min-time", type=float, default=3.0,
                    help="both: time at least this many seconds per batch size (default 3, = our bench's default)")
    ap.add_argument("--min-iters", type=int, default=3, help="both: at least this many timed runs (our --min-runs; default 3)")
    ap.add_argument("--max-iters", type=int, default=1000,
                    help="torch only: stop after this many timed runs even before --min-time (default 1000)")
    ap.add_argument("--ours-extra", default="", help="extra arguments appended to our bench command")
    ap.add_argument("--ours-single-process", action="store_true",
                    help="run all batch sizes in one `bench` process (default: one process per batch size)")
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = ap.parse_args()
    batches = [int(b) for b in args.batch.split(",") if b.strip()]
    if args.min_iters > args.max_iters:
        args.min_iters = args.max_iters

    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if load1 is not None and load1 > 0.5:
        print(f"warning: 1-minute load average is {load1:.2f}: other processes compete for the cores "
              f"and both columns (torch's OpenMP threads most) will read low", file=sys.stderr)
    ours = None if args.skip_ours else run_ours(args, batches)
    rows = []
    for b in batches:
        row = {"batch": b}
        o = (ours or {}).get(b)
        if o:
            row["ours_images_per_s"] = float(o["images_per_s"])
            row["ours_peak_rss_mb"] = float(o["peak_rss_mb"]) if o.get("peak_rss_mb") is not None else None
        if not args.skip_torch:
            print(f"torch fp32 batch {b} ...", file=sys.stderr, flush=True)
            t = run_torch(args, b, False)
            row["torch_images_per_s"] = t["images_per_s"]
            row["torch_peak_rss_mb"] = t["peak_rss_mb"]
            row["torch_iters"] = t["iters"]
            row["torch_backend"] = t["backend"]
            if args.bf16:
                print(f"torch bf16 batch {b} ...", file=sys.stderr, flush=True)
                t = run_torch(args, b, True)
                row["torch_bf16_images_per_s"] = t["images_per_s"]
                row["torch_bf16_peak_rss_mb"] = t["peak_rss_mb"]
        if row.get("ours_images_per_s") and row.get("torch_images_per_s"):
            row["ratio"] = row["ours_images_per_s"] / row["torch_images_per_s"]
        rows.append(row)

    doc = {"arch": args.arch, "timm_name": ARCHS[args.arch][0], "threads": args.threads,
           "keep_rate": args.keep_rate, "torch_dense": True, "load_average_1min": load1,
           "protocol": {"warmup": args.warmup, "min_time_s": args.min_time, "min_iters": args.min_iters,
                        "max_iters": args.max_iters, "statistic": "batch / median iteration time"},
           "results": rows}
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    backend = next((r["torch_backend"] for r in rows if "torch_backend" in r), "-")
    print(f"{args.arch} ({ARCHS[args.arch][0]}), {args.threads} threads; torch: {backend}, eager fp32, dense"
          + (f"; ours keep-rate {args.keep_rate}" if args.keep_rate is not None else ""))
    head = ["batch", "ours img/s", "torch img/s", "ratio", "ours peak MB", "torch peak MB"]
    if args.bf16:
        head += ["torch bf16 img/s", "torch bf16 peak MB"]
    print("  ".join(f"{h:>12}" for h in head))
    for r in rows:
        cells = [str(r["batch"]), fmt(r.get("ours_images_per_s"), ".2f"), fmt(r.get("torch_images_per_s"), ".2f"),
                 fmt(r.get("ratio"), ".2f") + ("x" if "ratio" in r else ""),
                 fmt(r.get("ours_peak_rss_mb"), ".0f"), fmt(r.get("torch_peak_rss_mb"), ".0f")]
        if args.bf16:
            cells += [fmt(r.get("torch_bf16_images_per_s"), ".2f"), fmt(r.get("torch_bf16_peak_rss_mb"), ".0f")]
        print("  ".join(f"{c:>12}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
