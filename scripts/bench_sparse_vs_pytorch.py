#!/usr/bin/env python3
"""Sparse-Tuning speed and memory: `sparse-tune bench` against PyTorch eager, fp32, same threads.

Development tool (not part of the tests). Runs one measurement after the other on the same
machine with the same thread count; every torch measurement is a fresh child process whose
getrusage(RUSAGE_SELF).ru_maxrss is its peak RSS (Python interpreter + libtorch included, as our
figure includes our runtime).

(a) inference, per batch size (default 1 and 8), images/s = batch / median time of one forward:
    torch dense  : timm `vit_base_patch16_224`, random weights, eval(), torch.inference_mode()
    torch sparse : the reference `scripts/fixtures/sparse_reference.py` in fp32: EViT keep 0.7 in
                   blocks 3,6,9 (fused token), dense adapters r=32, random weights; attention
                   through F.scaled_dot_product_attention in the blocks that need no
                   probabilities (as timm), explicit softmax in the reduction blocks
    ours         : <binary> bench --arch vit-b16 --keep-rate 0.7 --ts-layers 3,6,9 --adapter dense
                   --batch B --json --threads T --warmup W --min-time S --min-runs R
                   (one process per batch size), reading
                   {"results": [{"batch": 8, "images_per_s": ..., "peak_rss_mb": ...}]}
    ratio printed: ours / torch dense images/s (target >= 3x), and ours / torch sparse.
(b) one training step (forward + backward + AdamW step on the dense adapters and the head,
    mean cross-entropy, batch 32, 100 classes, keep 0.7, blocks 3,6,9), backbone frozen
    (requires_grad False): torch = the same reference in fp32, --train-warmup untimed steps then
    --train-steps timed steps, median; ours = <binary> bench --train --arch vit-b16 --method
    sparse-tuning --keep-rate 0.7 --batch 32 --classes 100 --json --threads T, reading the same
    JSON plus "ms_per_step". Ratios: ours / torch time per step (target <= 0.5x), ours / torch
    peak RSS (target <= 0.7x).

A missing binary or a failing / unparsable `sparse-tune` command is reported and skipped; the
torch numbers are still printed.

Examples:
  /work/venv/bin/python scripts/bench_sparse_vs_pytorch.py                      # everything, defaults
  /work/venv/bin/python scripts/bench_sparse_vs_pytorch.py --quick --skip-ours   # torch side, brief
  /work/venv/bin/python scripts/bench_sparse_vs_pytorch.py --skip-train --batch 8 --json
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

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CHILD_TAG = "SPARSE_BENCH_CHILD "
ARCHS = {  # preset -> (timm name, dim, depth, heads, mlp, patch)
    "vit-ti16": ("vit_tiny_patch16_224", 192, 12, 3, 768, 16),
    "vit-s16": ("vit_small_patch16_224", 384, 12, 6, 1536, 16),
    "vit-b16": ("vit_base_patch16_224", 768, 12, 12, 3072, 16),
    "vit-l16": ("vit_large_patch16_224", 1024, 24, 16, 4096, 16),
}


# ----------------------------------------------------------------------------- torch children

def _sparse_model(cfg: dict, trainable: bool):
    import torch
    sys.path.insert(0, os.path.join(HERE, "fixtures"))
    import sparse_reference as sr
    _, C, depth, heads, mlp, P = ARCHS[cfg["arch"]]
    scfg = sr.make_config(dim=C, depth=depth, heads=heads, mlp=mlp, patch=P, image_size=cfg["image_size"],
                          classes=cfg["classes"], method="sparse-tuning", keep_rate=cfg["keep_rate"],
                          ts_layers=cfg["ts_layers"], fuse=True, rank=cfg["rank"], fused_attention=True)
    g = torch.Generator().manual_seed(0)
    p = {}
    for name, shape in sr.backbone_shapes(scfg):
        leaf = name.rsplit(".", 1)[-1]
        if "norm" in name and leaf == "weight":
            p[name] = torch.ones(shape)
        elif leaf == "bias":
            p[name] = torch.zeros(shape)
        else:
            p[name] = torch.randn(shape, generator=g) * 0.02
    task = sr.init_task_params(scfg, g)
    if not trainable:  # inference: non-zero up projections so the adapters really compute something
        for k, v in task.items():
            if v.dim() == 2 and float(v.abs().max()) == 0:
                task[k] = torch.randn(v.shape, generator=g) * 0.02
    p.update(task)
    names = sr.trainable_names(scfg)
    for k, v in p.items():
        v.requires_grad_(trainable and k in names)
    return sr, scfg, p, [p[n] for n in names]


def child(cfg: dict) -> None:
    import resource

    import torch
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    S, B = cfg["image_size"], cfg["batch"]
    x = torch.randn(B, 3, S, S)
    times = []
    out = {"kind": cfg["kind"], "batch": B, "threads": torch.get_num_threads(), "torch": torch.__version__}
    if cfg["kind"] in ("dense", "sparse"):
        if cfg["kind"] == "dense":
            import timm
            model = timm.create_model(ARCHS[cfg["arch"]][0], pretrained=False, img_size=S).eval()
            run = model
            out["backend"] = f"timm {timm.__version__} {ARCHS[cfg['arch']][0]}"
        else:
            sr, scfg, p, _ = _sparse_model(cfg, trainable=False)
            run = lambda t: sr.forward(p, t, scfg)["logits"]  # noqa: E731
            out["backend"] = "sparse_reference.py (EViT + dense adapters)"
        with torch.inference_mode():
            for _ in range(cfg["warmup"]):
                run(x)
            t_start = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                run(x)
                times.append(time.perf_counter() - t0)
                n = len(times)
                if n >= cfg["max_iters"] or (n >= cfg["min_iters"] and time.perf_counter() - t_start >= cfg["min_time"]):
                    break
        med = statistics.median(times)
        out.update(images_per_s=B / med, median_s=med)
    elif cfg["kind"] == "train":
        sr, scfg, p, params = _sparse_model(cfg, trainable=True)
        labels = torch.randint(0, cfg["classes"], (B,))
        decay = [t for t in params if t.dim() > 1]
        no_decay = [t for t in params if t.dim() <= 1]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        losses = []
        for i in range(cfg["train_warmup"] + cfg["train_steps"]):
            t0 = time.perf_counter()
            loss = sr.loss_fn(sr.forward(p, x, scfg)["logits"], labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            dt = time.perf_counter() - t0
            losses.append(float(loss))
            if i >= cfg["train_warmup"]:
                times.append(dt)
        med = statistics.median(times)
        out.update(ms_per_step=1000 * med, images_per_s=B / med, losses=losses,
                   trainable_params=sum(t.numel() for t in params),
                   backend="sparse_reference.py (EViT + dense adapters), AdamW, frozen backbone")
    out.update(iters=len(times), times_s=times,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    print(CHILD_TAG + json.dumps(out), flush=True)


def run_child(args, kind: str, batch: int) -> dict | None:
    cfg = {"kind": kind, "arch": args.arch, "image_size": args.image_size, "batch": batch, "threads": args.threads,
           "warmup": args.warmup, "min_time": args.min_time, "min_iters": args.min_iters, "max_iters": args.max_iters,
           "keep_rate": args.keep_rate, "ts_layers": args.ts_layers, "rank": args.rank, "classes": args.classes,
           "train_warmup": args.train_warmup, "train_steps": args.train_steps}
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    print(f"torch {kind} batch {batch} ...", file=sys.stderr, flush=True)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--_child", json.dumps(cfg)],
                       capture_output=True, text=True, env=env)
    for line in reversed(p.stdout.splitlines()):
        if line.startswith(CHILD_TAG):
            return json.loads(line[len(CHILD_TAG):])
    print(f"warning: torch {kind} child failed (exit {p.returncode}):\n{p.stderr[-3000:]}", file=sys.stderr)
    return None


# ----------------------------------------------------------------------------- ours

def find_binary(path: str) -> str | None:
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    if os.sep not in path:
        return shutil.which(path)
    return None


def parse_json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        pass
    dec = json.JSONDecoder()  # tolerate log lines around the document
    for i, ch in enumerate(text):
        if ch == "{":
            try:
                return dec.raw_decode(text[i:])[0]
            except ValueError:
                continue
    return None


def run_ours(binary: str, cmd_tail: list, batch: int) -> dict | None:
    cmd = [binary] + cmd_tail
    print("running: " + " ".join(cmd), file=sys.stderr, flush=True)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        print(f"warning: could not run {binary}: {e}", file=sys.stderr)
        return None
    if p.returncode != 0:
        print(f"warning: `{' '.join(cmd)}` exited {p.returncode}:\n{(p.stderr or p.stdout)[-2000:]}", file=sys.stderr)
        return None
    doc = parse_json(p.stdout)
    if not isinstance(doc, dict) or not doc.get("results"):
        print(f"warning: no {{\"results\": [...]}} JSON in our output:\n{p.stdout[-2000:]}", file=sys.stderr)
        return None
    for r in doc["results"]:
        if int(r.get("batch", -1)) == batch:
            return r
    return doc["results"][0]


# ----------------------------------------------------------------------------- main

def ratio(a, b):
    return (a / b) if (a is not None and b) else None


def fmt(v, spec=".2f", suffix=""):
    return (format(v, spec) + suffix) if isinstance(v, (int, float)) else "-"


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--_child":
        child(json.loads(sys.argv[2]))
        return 0
    ncores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    ap = argparse.ArgumentParser(description="Sparse-Tuning: sparse-tune bench vs PyTorch eager (fp32).")
    ap.add_argument("--arch", default="vit-b16", choices=sorted(ARCHS))
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--batch", default="1,8", help="inference batch sizes (default 1,8)")
    ap.add_argument("--threads", type=int, default=ncores, help=f"threads for both sides (default {ncores})")
    ap.add_argument("--binary", default=os.path.join(REPO, ".build", "release", "sparse-tune"))
    ap.add_argument("--keep-rate", type=float, default=0.7)
    ap.add_argument("--ts-layers", default="3,6,9")
    ap.add_argument("--rank", type=int, default=32, help="dense adapter rank (torch side)")
    ap.add_argument("--warmup", type=int, default=2, help="inference warm-up runs (both sides)")
    ap.add_argument("--min-time", type=float, default=3.0, help="inference: timed seconds per batch size")
    ap.add_argument("--min-iters", type=int, default=3, help="inference: at least this many timed runs")
    ap.add_argument("--max-iters", type=int, default=1000, help="torch inference: at most this many timed runs")
    ap.add_argument("--train-batch", type=int, default=32)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--train-warmup", type=int, default=1, help="torch: untimed training steps")
    ap.add_argument("--train-steps", type=int, default=3, help="torch: timed training steps (median)")
    ap.add_argument("--quick", action="store_true",
                    help="brief: warm-up 1, 2 timed inference runs, 1+2 training steps")
    ap.add_argument("--ours-extra", default="", help="extra arguments for both of our commands")
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--skip-torch-sparse", action="store_true", help="inference: only the dense timm baseline")
    ap.add_argument("--skip-infer", action="store_true")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.warmup, args.min_time, args.min_iters, args.max_iters = 1, 0.0, 2, 2
        args.train_warmup, args.train_steps = 1, 2
    args.ts_layers = [int(t) for t in args.ts_layers.split(",") if t.strip()]
    batches = [int(b) for b in args.batch.split(",") if b.strip()]
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if load1 is not None and load1 > 0.5:
        print(f"warning: 1-minute load average {load1:.2f}: other processes compete for the cores; "
              f"both sides (torch's OpenMP threads most) will read low", file=sys.stderr)
    binary = None
    if not args.skip_ours:
        binary = find_binary(args.binary)
        if binary is None:
            print(f"note: our binary {args.binary!r} is not there; build it with `swift build -c release` or pass "
                  f"--binary. Showing PyTorch only.", file=sys.stderr)
    extra = args.ours_extra.split()
    ts = ",".join(map(str, args.ts_layers))
    doc = {"arch": args.arch, "threads": args.threads, "keep_rate": args.keep_rate, "ts_layers": args.ts_layers,
           "load_average_1min_at_start": load1, "inference": [], "train": None}

    if not args.skip_infer:
        for b in batches:
            row = {"batch": b}
            if binary:
                o = run_ours(binary, ["bench", "--arch", args.arch, "--keep-rate", str(args.keep_rate),
                                      "--ts-layers", ts, "--adapter", "dense", "--batch", str(b), "--json",
                                      "--threads", str(args.threads), "--warmup", str(args.warmup),
                                      "--min-time", str(args.min_time), "--min-runs", str(args.min_iters)] + extra, b)
                if o:
                    row["ours_images_per_s"] = float(o["images_per_s"])
                    row["ours_peak_rss_mb"] = o.get("peak_rss_mb")
            if not args.skip_torch:
                d = run_child(args, "dense", b)
                if d:
                    row["torch_dense_images_per_s"] = d["images_per_s"]
                    row["torch_dense_peak_rss_mb"] = d["peak_rss_mb"]
                    row["torch_dense_iters"] = d["iters"]
                if not args.skip_torch_sparse:
                    s = run_child(args, "sparse", b)
                    if s:
                        row["torch_sparse_images_per_s"] = s["images_per_s"]
                        row["torch_sparse_peak_rss_mb"] = s["peak_rss_mb"]
                        row["torch_sparse_iters"] = s["iters"]
            row["ratio_ours_vs_torch_dense"] = ratio(row.get("ours_images_per_s"), row.get("torch_dense_images_per_s"))
            row["ratio_ours_vs_torch_sparse"] = ratio(row.get("ours_images_per_s"), row.get("torch_sparse_images_per_s"))
            doc["inference"].append(row)

    if not args.skip_train:
        tr = {"batch": args.train_batch, "classes": args.classes}
        if binary:
            o = run_ours(binary, ["bench", "--train", "--arch", args.arch, "--method", "sparse-tuning",
                                  "--keep-rate", str(args.keep_rate), "--batch", str(args.train_batch),
                                  "--classes", str(args.classes), "--json", "--threads", str(args.threads)] + extra,
                         args.train_batch)
            if o:
                ms = o.get("ms_per_step") or o.get("ms_per_batch")
                if ms is None and o.get("images_per_s"):
                    ms = 1000.0 * args.train_batch / float(o["images_per_s"])
                tr["ours_ms_per_step"] = ms
                tr["ours_peak_rss_mb"] = o.get("peak_rss_mb")
        if not args.skip_torch:
            t = run_child(args, "train", args.train_batch)
            if t:
                tr["torch_ms_per_step"] = t["ms_per_step"]
                tr["torch_peak_rss_mb"] = t["peak_rss_mb"]
                tr["torch_steps_timed"] = t["iters"]
                tr["torch_step_times_s"] = t["times_s"]
                tr["torch_trainable_params"] = t["trainable_params"]
        tr["ratio_time_ours_vs_torch"] = ratio(tr.get("ours_ms_per_step"), tr.get("torch_ms_per_step"))
        tr["ratio_rss_ours_vs_torch"] = ratio(tr.get("ours_peak_rss_mb"), tr.get("torch_peak_rss_mb"))
        doc["train"] = tr
    doc["load_average_1min_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"{args.arch}, {args.threads} threads, fp32; Sparse-Tuning keep {args.keep_rate}, blocks {ts}, "
          f"dense adapters; load average {fmt(load1)} -> {fmt(doc['load_average_1min_at_end'])}")
    if doc["inference"]:
        print("inference (images/s; peak RSS MB)")
        head = ["batch", "ours", "torch dense", "torch sparse", "ours/dense", "ours/sparse", "ours MB", "dense MB",
                "sparse MB"]
        print("  ".join(f"{h:>12}" for h in head))
        for r in doc["inference"]:
            cells = [str(r["batch"]), fmt(r.get("ours_images_per_s")), fmt(r.get("torch_dense_images_per_s")),
                     fmt(r.get("torch_sparse_images_per_s")), fmt(r.get("ratio_ours_vs_torch_dense"), ".2f", "x"),
                     fmt(r.get("ratio_ours_vs_torch_sparse"), ".2f", "x"), fmt(r.get("ours_peak_rss_mb"), ".0f"),
                     fmt(r.get("torch_dense_peak_rss_mb"), ".0f"), fmt(r.get("torch_sparse_peak_rss_mb"), ".0f")]
            print("  ".join(f"{c:>12}" for c in cells))
        print("  target: ours / torch dense >= 3x")
    tr = doc["train"]
    if tr:
        print(f"training step, batch {tr['batch']}, {tr['classes']} classes (adapters + head, AdamW)")
        print(f"  ours  {fmt(tr.get('ours_ms_per_step'), '.0f')} ms/step, peak {fmt(tr.get('ours_peak_rss_mb'), '.0f')} MB")
        print(f"  torch {fmt(tr.get('torch_ms_per_step'), '.0f')} ms/step, peak {fmt(tr.get('torch_peak_rss_mb'), '.0f')} MB")
        print(f"  ours/torch time {fmt(tr.get('ratio_time_ours_vs_torch'), '.2f', 'x')} (target <= 0.5x), "
              f"peak RSS {fmt(tr.get('ratio_rss_ours_vs_torch'), '.2f', 'x')} (target <= 0.7x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
