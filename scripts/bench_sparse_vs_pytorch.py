#!/usr/bin/env python3
"""Sparse-Tuning speed and memory: `sparse-tune bench` against PyTorch eager, same threads, fp32 and/or bf16.

Development tool (not part of the tests). Runs one measurement after the other on the same machine with the
same thread count; every torch measurement is a fresh child process whose getrusage(RUSAGE_SELF).ru_maxrss is
its peak RSS (Python interpreter + libtorch included, as our figure includes our runtime; the child's RSS right
after its imports is reported too, as "torch base MB").

Model: a preset (`--arch`, comma-separated for several: vit-ti16, vit-s16, vit-b16, vit-l16, vit-h14 =
vit_huge_patch14_224: dim 1280, depth 32, heads 16, mlp 5120, patch 14) or a custom ViT (`--dim --depth
--heads [--mlp, default 4 x dim] --patch --image-size`). Sparse-Tuning setting for both sides: EViT keep
`--keep-rate` (0.7) in blocks `--ts-layers` (default, as ours: depth/4, depth/2, 3 depth/4 = 3,6,9 for depth 12)
with the fused token, dense adapters of rank `--rank` (32), `--classes` (100) outputs, token pooling.

(1) inference, per batch size (--batch, default 1,8), images/s = batch / median time of one forward:
    torch dense  : timm `vit_*` (presets) or timm VisionTransformer(...) (custom), random weights, eval(),
                   torch.inference_mode()
    torch sparse : the reference `scripts/fixtures/sparse_reference.py`: EViT + fused token + dense
                   adapters, random weights, F.scaled_dot_product_attention in the blocks that need no
                   probabilities (as timm), explicit softmax in the reducing blocks
    ours         : <binary> bench (--arch A | --dim --depth --heads --mlp --patch) --image-size S
                   --classes K --keep-rate k --ts-layers L --adapter dense --rank r --precision P --batch B
                   --json --threads T --warmup W --min-time S --min-runs R   (one process per batch size)
    ratio printed: ours / torch dense images/s (target >= 3x), and ours / torch sparse.
(2) one training step (forward + backward + AdamW step on the dense adapters and the head, mean cross-entropy,
    --train-batch images, labels i % classes, frozen backbone):
    torch: the same reference, backbone requires_grad False, torch.optim.AdamW(lr 1e-3, betas 0.9/0.999,
           eps 1e-8, weight decay 1e-4 on the 2-D weights only, as our Parameter.defaultWeightDecay),
           zero_grad(set_to_none); adapters initialised as ours (downs kaiming-uniform, ups zero, head
           trunc-normal 0.01). `--train-warmup` untimed steps, then timed steps until `--train-min-time`
           seconds and at least `--train-steps` steps; median.
    ours : <binary> bench --train --method sparse-tuning <model flags> --keep-rate --ts-layers --adapter dense
           --rank --precision P --batch B --classes K --json --threads T --warmup W --min-time S --min-runs R
           (the same protocol; JSON "ms_per_batch" is the median step).
bf16 (`--precision bf16`, or `fp32,bf16` for both): ours --precision bf16; torch
torch.autocast("cpu", dtype=torch.bfloat16) around forward and backward (the AdamW step and the master weights
stay fp32). `--torch-precision` runs the torch side at other precisions (default: those of --precision); the
ratios are printed for every (ours P, torch fp32) and (ours P, torch P) pair.

Every row shows time, images/s, achieved GFLOP/s (2 FLOPs per multiply-accumulate; the FLOPs are our fvcore
count, `sparse-tune flops`, the same work for both sides; training = 2 x forward), % of OUR measured matmul
peak of the row's precision (the "peak" block of our bench JSON: fp32 for fp32 rows, bf16 for bf16/autocast
rows: both sides against the same machine figure), peak RSS, user and system CPU seconds of the timed runs
(getrusage in the process, all threads) and the system share of the timed wall time. `--peak-fp32/--peak-bf16`
give the peak when our binary is skipped.

Issue targets (`--scenario` sets the flags below, unless given, and prints the targets' table at the end):
  (a) ViT-B/16 training step, batch 32: ours fp32 / torch fp32 time <= 0.8; ours bf16 / torch fp32 time <= 0.45;
      peak RSS ours fp32 / torch fp32 <= 0.7:
        /work/venv/bin/python scripts/bench_sparse_vs_pytorch.py --scenario a
        = --arch vit-b16 --skip-infer --train-batch 32 --precision fp32,bf16 --torch-precision fp32
  (b) small ViT dim 192, depth 6, heads 3, patch 8, 64 px, batch 64, dense adapters r 8, keep 0.7 at blocks
      1,3,5: training img/s ours / torch >= 1.3, our system time < 5% of wall:
        /work/venv/bin/python scripts/bench_sparse_vs_pytorch.py --scenario b
        = --dim 192 --depth 6 --heads 3 --mlp 768 --patch 8 --image-size 64 --rank 8 --keep-rate 0.7
          --ts-layers 1,3,5 --skip-infer --train-batch 64 --precision fp32
  (c) ViT-L/16 and ViT-H/14 training steps at batch 16, time and peak memory of both sides:
        /work/venv/bin/python scripts/bench_sparse_vs_pytorch.py --scenario c
        = --arch vit-l16,vit-h14 --skip-infer --train-batch 16 --precision fp32
      (blocks 6,12,18 and 8,16,24; add --precision fp32,bf16 for bf16 too; the torch ViT-H step takes tens of
      seconds on 2 cores: --train-warmup 1 --train-min-time 0 shortens it.)

A missing binary or a failing / unparsable `sparse-tune` command is reported and skipped; the torch numbers are
still printed.

More examples:
  /work/venv/bin/python scripts/bench_sparse_vs_pytorch.py                      # vit-b16 inference b1,8 + training b32
  /work/venv/bin/python scripts/bench_sparse_vs_pytorch.py --quick --skip-ours   # torch side, brief
  /work/venv/bin/python scripts/bench_sparse_vs_pytorch.py --skip-train --batch 8 --precision fp32,bf16 --json
  /work/venv/bin/python scripts/bench_sparse_vs_pytorch.py --dim 64 --depth 4 --heads 2 --patch 8 --image-size 32 \\
      --ts-layers 1,2 --rank 8 --batch 4 --train-batch 8 --quick                 # smoke test, seconds
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

from bench_common import parse_json

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CHILD_TAG = "SPARSE_BENCH_CHILD "
ARCHS = {  # preset -> (timm name, dim, depth, heads, mlp, patch)
    "vit-ti16": ("vit_tiny_patch16_224", 192, 12, 3, 768, 16),
    "vit-s16": ("vit_small_patch16_224", 384, 12, 6, 1536, 16),
    "vit-b16": ("vit_base_patch16_224", 768, 12, 12, 3072, 16),
    "vit-l16": ("vit_large_patch16_224", 1024, 24, 16, 4096, 16),
    "vit-h14": ("vit_huge_patch14_224", 1280, 32, 16, 5120, 14),
}
PRECISIONS = ("fp32", "bf16")
# --scenario: flag values (used unless the flag is given) and the targets of the issue.
SCENARIOS = {
    "a": dict(arch="vit-b16", skip_infer=True, train_batch=32, precision="fp32,bf16", torch_precision="fp32"),
    "b": dict(dim=192, depth=6, heads=3, mlp=768, patch=8, image_size=64, rank=8, keep_rate=0.7, ts_layers="1,3,5",
              skip_infer=True, train_batch=64, precision="fp32", torch_precision="fp32"),
    "c": dict(arch="vit-l16,vit-h14", skip_infer=True, train_batch=16, precision="fp32"),
}
DEFAULTS = dict(arch=None, dim=None, depth=None, heads=None, mlp=None, patch=None, image_size=None, rank=32,
                keep_rate=0.7, ts_layers=None, skip_infer=False, train_batch=32, precision="fp32",
                torch_precision=None, batch="1,8", classes=100)


# ----------------------------------------------------------------------------- torch children

def _rss_now_mb() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _sparse_model(cfg: dict, trainable: bool):
    import torch
    sys.path.insert(0, os.path.join(HERE, "fixtures"))
    import sparse_reference as sr
    m = cfg["model"]
    scfg = sr.make_config(dim=m["dim"], depth=m["depth"], heads=m["heads"], mlp=m["mlp"], patch=m["patch"],
                          image_size=m["image_size"], classes=cfg["classes"], method="sparse-tuning",
                          adapter="dense", keep_rate=cfg["keep_rate"], ts_layers=cfg["ts_layers"], fuse=True,
                          rank=cfg["rank"], pool="token", fused_attention=True)
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
    task = sr.init_task_params(scfg, g)  # training init, as ours: downs kaiming-uniform, ups 0, head trunc-normal
    if not trainable:  # inference: non-zero up projections so the adapters really compute something
        for k, v in task.items():
            if v.dim() == 2 and float(v.abs().max()) == 0:
                task[k] = torch.randn(v.shape, generator=g) * 0.02
    p.update(task)
    names = sr.trainable_names(scfg)  # the adapters and the head (backbone frozen)
    for k, v in p.items():
        v.requires_grad_(trainable and k in names)
    return sr, scfg, p, names


def _dense_model(cfg: dict):
    import timm
    m = cfg["model"]
    if m.get("timm"):
        model = timm.create_model(m["timm"], pretrained=False, img_size=m["image_size"], num_classes=cfg["classes"])
        return model.eval(), f"timm {timm.__version__} {m['timm']}"
    from timm.models.vision_transformer import VisionTransformer
    model = VisionTransformer(img_size=m["image_size"], patch_size=m["patch"], embed_dim=m["dim"], depth=m["depth"],
                              num_heads=m["heads"], mlp_ratio=m["mlp"] / m["dim"], num_classes=cfg["classes"])
    return model.eval(), f"timm {timm.__version__} VisionTransformer (custom)"


def child(cfg: dict) -> None:
    import contextlib
    import resource

    import torch
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    if cfg["kind"] == "dense":
        import timm  # noqa: F401  (imported before the baseline RSS, as the sparse children import nothing more)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    S, B = cfg["model"]["image_size"], cfg["batch"]
    bf16 = cfg["precision"] == "bf16"
    amp = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    x = torch.randn(B, 3, S, S)
    times = []
    out = {"kind": cfg["kind"], "batch": B, "precision": cfg["precision"], "threads": torch.get_num_threads(),
           "torch": torch.__version__, "base_rss_mb": base_rss}

    def stop(n, t_start, min_n, min_t, max_n):
        return n >= max_n or (n >= min_n and time.perf_counter() - t_start >= min_t)

    if cfg["kind"] in ("dense", "sparse"):
        if cfg["kind"] == "dense":
            run, out["backend"] = _dense_model(cfg)
        else:
            sr, scfg, p, _ = _sparse_model(cfg, trainable=False)
            run = lambda t: sr.forward(p, t, scfg)["logits"]  # noqa: E731
            out["backend"] = "sparse_reference.py (EViT + fused token + dense adapters)"
        out["model_rss_mb"] = _rss_now_mb()
        with torch.inference_mode(), amp():
            for _ in range(cfg["warmup"]):
                run(x)
            ru0, t_start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            while True:
                t0 = time.perf_counter()
                run(x)
                times.append(time.perf_counter() - t0)
                if stop(len(times), t_start, cfg["min_iters"], cfg["min_time"], cfg["max_iters"]):
                    break
    elif cfg["kind"] == "train":
        sr, scfg, p, names = _sparse_model(cfg, trainable=True)
        params = [p[n] for n in names]
        out["model_rss_mb"] = _rss_now_mb()
        labels = torch.arange(B) % cfg["classes"]  # as ours: label of sample i = i % classes
        decay = [t for t in params if t.dim() > 1]  # Parameter.defaultWeightDecay: 2-D weights, no biases
        no_decay = [t for t in params if t.dim() <= 1]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        losses = []

        def step():
            with amp():  # autocast around forward and backward; the optimiser step in fp32
                loss = sr.loss_fn(sr.forward(p, x, scfg)["logits"], labels)
                opt.zero_grad(set_to_none=True)
                loss.backward()
            opt.step()
            losses.append(float(loss))

        for _ in range(cfg["train_warmup"]):
            step()
        ru0, t_start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        while True:
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
            if stop(len(times), t_start, cfg["train_steps"], cfg["train_min_time"], cfg["train_max_steps"]):
                break
        out.update(losses=losses, trainable_params=sum(t.numel() for t in params),
                   backend="sparse_reference.py (EViT + fused token + dense adapters), AdamW, frozen backbone"
                           + (", autocast bf16" if bf16 else ""))
    wall = time.perf_counter() - t_start
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    med = statistics.median(times)
    out.update(ms_per_batch=1000 * med, images_per_s=B / med, iters=len(times), times_s=times, wall_s=wall,
               user_s=ru1.ru_utime - ru0.ru_utime, sys_s=ru1.ru_stime - ru0.ru_stime,
               sys_pct_of_wall=100 * (ru1.ru_stime - ru0.ru_stime) / wall if wall > 0 else None,
               peak_rss_mb=ru1.ru_maxrss / 1024.0)
    print(CHILD_TAG + json.dumps(out), flush=True)


def run_child(args, model: dict, kind: str, batch: int, precision: str) -> dict | None:
    cfg = {"kind": kind, "model": model, "batch": batch, "threads": args.threads, "precision": precision,
           "warmup": args.warmup, "min_time": args.min_time, "min_iters": args.min_iters, "max_iters": args.max_iters,
           "keep_rate": args.keep_rate, "ts_layers": model["ts_layers"], "rank": args.rank, "classes": args.classes,
           "train_warmup": args.train_warmup, "train_steps": args.train_steps, "train_min_time": args.train_min_time,
           "train_max_steps": args.train_max_steps}
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    print(f"torch {kind} {precision} batch {batch} ...", file=sys.stderr, flush=True)
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--_child", json.dumps(cfg)],
                       capture_output=True, text=True, env=env)
    for line in reversed(p.stdout.splitlines()):
        if line.startswith(CHILD_TAG):
            return json.loads(line[len(CHILD_TAG):])
    print(f"warning: torch {kind} {precision} child failed (exit {p.returncode}):\n{p.stderr[-3000:]}", file=sys.stderr)
    return None


# ----------------------------------------------------------------------------- ours

def find_binary(path: str) -> str | None:
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    if os.sep not in path:
        return shutil.which(path)
    return None


def run_ours(binary: str, cmd_tail: list, batch: int):
    """(result row for `batch`, whole JSON document) or (None, None)."""
    cmd = [binary] + cmd_tail
    print("running: " + " ".join(cmd), file=sys.stderr, flush=True)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        print(f"warning: could not run {binary}: {e}", file=sys.stderr)
        return None, None
    if p.returncode != 0:
        print(f"warning: `{' '.join(cmd)}` exited {p.returncode}:\n{(p.stderr or p.stdout)[-2000:]}", file=sys.stderr)
        return None, None
    doc = parse_json(p.stdout)
    if not isinstance(doc, dict) or not doc.get("results"):
        print(f"warning: no {{\"results\": [...]}} JSON in our output:\n{p.stdout[-2000:]}", file=sys.stderr)
        return None, None
    for r in doc["results"]:
        if int(r.get("batch", -1)) == batch:
            return r, doc
    return doc["results"][0], doc


def model_flags(model: dict) -> list:
    if model.get("preset"):
        f = ["--arch", model["preset"]]
    else:
        f = ["--dim", str(model["dim"]), "--depth", str(model["depth"]), "--heads", str(model["heads"]),
             "--mlp", str(model["mlp"]), "--patch", str(model["patch"])]
    return f + ["--image-size", str(model["image_size"])]


def sparse_flags(args, model: dict) -> list:
    return ["--keep-rate", str(args.keep_rate), "--ts-layers", ",".join(map(str, model["ts_layers"])),
            "--adapter", "dense", "--rank", str(args.rank)]


def our_flops(binary: str, tail: list) -> float | None:
    """Forward GFLOPs per image (fvcore, 1 MAC = 1 FLOP) from `sparse-tune flops`."""
    try:
        p = subprocess.run([binary, "flops"] + tail, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"total:\s*[\d.]+\s*GFLOPs\s*\((\d+)\)", p.stdout)
    return int(m.group(1)) / 1e9 if (p.returncode == 0 and m) else None


def our_row(o: dict | None) -> dict:
    if not o:
        return {}
    ms = o.get("ms_per_step") or o.get("ms_per_batch")
    return {"ms_per_batch": ms, "images_per_s": float(o["images_per_s"]), "peak_rss_mb": o.get("peak_rss_mb"),
            "gflop_per_s": o.get("achieved_gflop_per_s"), "pct_of_peak": o.get("pct_of_peak"),
            "peak_gflop_per_s": o.get("peak_gflop_per_s"), "user_s": o.get("user_s"), "sys_s": o.get("sys_s"),
            "wall_s": o.get("wall_s"), "sys_pct_of_wall": o.get("sys_pct_of_wall"), "iters": o.get("iterations")}


def torch_row(t: dict | None, gflops_per_image: float | None, peak: float | None) -> dict:
    if not t:
        return {}
    r = {k: t.get(k) for k in ("ms_per_batch", "images_per_s", "peak_rss_mb", "base_rss_mb", "user_s", "sys_s",
                               "wall_s", "sys_pct_of_wall", "iters")}
    if gflops_per_image:
        r["gflop_per_s"] = 2 * gflops_per_image * t["images_per_s"]  # 2 FLOPs per MAC, as our bench
        if peak:
            r["pct_of_peak"] = 100 * r["gflop_per_s"] / peak
            r["peak_gflop_per_s"] = peak
    return r


# ----------------------------------------------------------------------------- main

def ratio(a, b):
    return (a / b) if (isinstance(a, (int, float)) and isinstance(b, (int, float)) and b) else None


def fmt(v, spec=".2f", suffix=""):
    return (format(v, spec) + suffix) if isinstance(v, (int, float)) else "-"


def parse_precisions(text: str, flag: str) -> list:
    out = [t.strip() for t in text.split(",") if t.strip()]
    for t in out:
        if t not in PRECISIONS:
            raise SystemExit(f"{flag}: '{t}' is not fp32 or bf16")
    return out


def build_models(args) -> list:
    custom = [args.dim, args.depth, args.heads, args.patch]
    models = []
    if any(v is not None for v in custom):
        if args.arch:
            raise SystemExit("give --arch or --dim/--depth/--heads/--patch (custom), not both")
        if any(v is None for v in custom):
            raise SystemExit("a custom ViT needs all of --dim, --depth, --heads and --patch")
        mlp = args.mlp or 4 * args.dim
        models.append(dict(preset=None, timm=None, name=f"custom d{args.dim}x{args.depth} h{args.heads} p{args.patch}",
                           dim=args.dim, depth=args.depth, heads=args.heads, mlp=mlp, patch=args.patch,
                           image_size=args.image_size or 224))
    else:
        if args.mlp is not None:
            raise SystemExit("--mlp goes with a custom ViT (--dim/--depth/--heads/--patch)")
        for a in (args.arch or "vit-b16").split(","):
            a = a.strip()
            if a not in ARCHS:
                raise SystemExit(f"--arch {a!r}: expected one of {', '.join(sorted(ARCHS))}")
            tn, C, D, H, M, P = ARCHS[a]
            models.append(dict(preset=a, timm=tn, name=a, dim=C, depth=D, heads=H, mlp=M, patch=P,
                               image_size=args.image_size or 224))
    for m in models:
        if m["image_size"] % m["patch"]:
            raise SystemExit(f"{m['name']}: image size {m['image_size']} is not a multiple of patch {m['patch']}")
        if args.ts_layers is not None:
            ts = sorted({int(t) for t in args.ts_layers.split(",") if t.strip()})
        else:  # ours' default (TuningConfig.reductionBlocks)
            D = m["depth"]
            ts = sorted({D // 4, D // 2, 3 * D // 4})
        if any(t < 0 or t >= m["depth"] for t in ts):
            raise SystemExit(f"{m['name']}: --ts-layers {ts} must be blocks 0..{m['depth'] - 1}")
        m["ts_layers"] = ts
    return models


def run_model(args, model: dict, binary: str | None, flops_binary: str | None) -> dict:
    ts = ",".join(map(str, model["ts_layers"]))
    extra = args.ours_extra.split()
    mf = model_flags(model)
    common = mf + ["--classes", str(args.classes), "--threads", str(args.threads)]
    doc = {"model": model, "threads": args.threads, "keep_rate": args.keep_rate, "ts_layers": model["ts_layers"],
           "rank": args.rank, "classes": args.classes, "precisions": args.precisions,
           "torch_precisions": args.torch_precisions, "peak": None, "inference": [], "train": None}
    # FLOPs per image (the same work on both sides): the sparse model, and the plain one for timm dense.
    gf_sparse = gf_dense = None
    if flops_binary:  # `sparse-tune flops` is instant; used even with --skip-ours
        gf_sparse = our_flops(flops_binary, common + ["--method", "sparse-tuning"] + sparse_flags(args, model))
        gf_dense = our_flops(flops_binary, common)
    doc["gflops_forward_sparse"], doc["gflops_forward_dense"] = gf_sparse, gf_dense
    peaks = {"fp32": args.peak_fp32, "bf16": args.peak_bf16}

    def note_peak(d):
        if d and d.get("peak") and doc["peak"] is None:
            doc["peak"] = d["peak"]
            for pr in PRECISIONS:
                if peaks[pr] is None and isinstance(d["peak"].get(f"{pr}_gflop_per_s"), (int, float)):
                    peaks[pr] = d["peak"][f"{pr}_gflop_per_s"]

    if not args.skip_infer:
        ours_inf, torch_inf = {}, {}
        for b in args.batches:
            for pr in args.precisions:
                if binary:
                    o, d = run_ours(binary, ["bench"] + common + sparse_flags(args, model) + [
                        "--precision", pr, "--batch", str(b), "--json", "--warmup", str(args.warmup),
                        "--min-time", str(args.min_time), "--min-runs", str(args.min_iters)] + extra, b)
                    note_peak(d)
                    ours_inf[(b, pr)] = our_row(o)
            for pr in args.torch_precisions:
                if args.skip_torch:
                    continue
                torch_inf[(b, pr, "dense")] = run_child(args, model, "dense", b, pr)
                if not args.skip_torch_sparse:
                    torch_inf[(b, pr, "sparse")] = run_child(args, model, "sparse", b, pr)
        for b in args.batches:
            for pr in sorted(set(args.precisions) | set(args.torch_precisions), key=PRECISIONS.index):
                row = {"batch": b, "precision": pr}
                if (b, pr) in ours_inf:
                    row["ours"] = ours_inf[(b, pr)]
                row["torch_dense"] = torch_row(torch_inf.get((b, pr, "dense")), gf_dense, peaks[pr])
                row["torch_sparse"] = torch_row(torch_inf.get((b, pr, "sparse")), gf_sparse, peaks[pr])
                doc["inference"].append(row)

    if not args.skip_train:
        B = args.train_batch
        tr = {"batch": B, "ours": {}, "torch": {}, "ratios": []}
        for pr in args.precisions:
            if binary:
                o, d = run_ours(binary, ["bench", "--train", "--method", "sparse-tuning"] + common
                                + sparse_flags(args, model) + [
                                    "--precision", pr, "--batch", str(B), "--json", "--warmup", str(args.train_warmup),
                                    "--min-time", str(args.train_min_time), "--min-runs", str(args.train_steps)]
                                + extra, B)
                note_peak(d)
                if o:
                    tr["ours"][pr] = our_row(o)
        gf_train = 2 * gf_sparse if gf_sparse else None  # as our bench: training = 2 x forward (frozen backbone)
        for pr in args.torch_precisions:
            if args.skip_torch:
                continue
            t = run_child(args, model, "train", B, pr)
            if t:
                tr["torch"][pr] = torch_row(t, gf_train, peaks[pr])
                tr["torch"][pr].update(trainable_params=t["trainable_params"], losses=t["losses"])
        for po in args.precisions:
            for pt in sorted({"fp32", po} & set(tr["torch"]), key=PRECISIONS.index):
                o, t = tr["ours"].get(po, {}), tr["torch"][pt]
                tr["ratios"].append({"ours": po, "torch": pt,
                                     "time": ratio(o.get("ms_per_batch"), t.get("ms_per_batch")),
                                     "images_per_s": ratio(o.get("images_per_s"), t.get("images_per_s")),
                                     "peak_rss": ratio(o.get("peak_rss_mb"), t.get("peak_rss_mb"))})
        doc["train"] = tr
    doc["peaks_used"] = peaks
    return doc


def print_rows(rows: list) -> None:
    head = ["side", "prec", "ms", "img/s", "GFLOP/s", "% peak", "peak MB", "base MB", "user s", "sys s", "wall s",
            "sys %wall", "runs"]
    widths = [14, 5, 9, 9, 8, 7, 8, 8, 7, 6, 7, 9, 5]
    print("  " + " ".join(f"{h:>{w}}" for h, w in zip(head, widths)))
    for side, pr, r in rows:
        cells = [side, pr, fmt(r.get("ms_per_batch"), ".1f"), fmt(r.get("images_per_s"), ".2f"),
                 fmt(r.get("gflop_per_s"), ".1f"), fmt(r.get("pct_of_peak"), ".1f", "%"),
                 fmt(r.get("peak_rss_mb"), ".0f"), fmt(r.get("base_rss_mb"), ".0f"), fmt(r.get("user_s"), ".2f"),
                 fmt(r.get("sys_s"), ".2f"), fmt(r.get("wall_s"), ".2f"), fmt(r.get("sys_pct_of_wall"), ".1f", "%"),
                 fmt(r.get("iters"), "d")]
        print("  " + " ".join(f"{c:>{w}}" for c, w in zip(cells, widths)))


def print_model(args, doc: dict) -> None:
    m = doc["model"]
    ts = ",".join(map(str, doc["ts_layers"]))
    print(f"== {m['name']} (dim {m['dim']}, depth {m['depth']}, heads {m['heads']}, mlp {m['mlp']}, patch "
          f"{m['patch']}, {m['image_size']} px), {args.threads} threads; Sparse-Tuning keep {args.keep_rate} at blocks "
          f"{ts} (fused token), dense adapters r {args.rank}, {args.classes} classes")
    pk = doc.get("peak") or {}
    used = doc["peaks_used"]
    print(f"our measured matmul peak: fp32 {fmt(used.get('fp32'), '.1f')} GFLOP/s, bf16 {fmt(used.get('bf16'), '.1f')} "
          f"GFLOP/s ({pk.get('isa', 'given' if any(used.values()) else 'not measured')}, {pk.get('threads', '-')} threads"
          f"{', CONTENDED' if pk.get('contended') else ''}); % peak = GFLOP/s (2 FLOPs/MAC, our fvcore count for both "
          f"sides) / that peak of the row's precision (torch bf16 = autocast)")
    print(f"GFLOPs/image forward: sparse {fmt(doc['gflops_forward_sparse'], '.3f')}, dense "
          f"{fmt(doc['gflops_forward_dense'], '.3f')}; torch 'base MB' = the child's RSS after its imports, inside its "
          f"peak MB")
    if doc["inference"]:
        print("inference (ms per batch)")
        for b in dict.fromkeys(r["batch"] for r in doc["inference"]):
            rows = []
            for r in (x for x in doc["inference"] if x["batch"] == b):
                for key, side in (("ours", "ours"), ("torch_dense", "torch dense"), ("torch_sparse", "torch sparse")):
                    if r.get(key):
                        rows.append((side, r["precision"], r[key]))
            if rows:
                print(f" batch {b}")
                print_rows(rows)
        for r in doc["inference"]:
            o = r.get("ours", {})
            for pt in sorted({"fp32", r["precision"]}, key=PRECISIONS.index):
                tref = next((x for x in doc["inference"] if x["batch"] == r["batch"] and x["precision"] == pt), {})
                d = ratio(o.get("images_per_s"), tref.get("torch_dense", {}).get("images_per_s"))
                s = ratio(o.get("images_per_s"), tref.get("torch_sparse", {}).get("images_per_s"))
                if d or s:
                    print(f"  batch {r['batch']}: img/s ours {r['precision']} / torch dense {pt} {fmt(d, '.2f', 'x')} "
                          f"(target >= 3x), / torch sparse {pt} {fmt(s, '.2f', 'x')}; our % of {r['precision']} peak "
                          f"{fmt(o.get('pct_of_peak'), '.1f', '%')}")
    tr = doc["train"]
    if tr:
        print(f"training step, batch {tr['batch']} (forward + backward + AdamW on adapters + head, mean CE, frozen "
              f"backbone); ms per step")
        rows = [("ours", pr, tr["ours"][pr]) for pr in PRECISIONS if pr in tr["ours"]]
        rows += [("torch", pr, tr["torch"][pr]) for pr in PRECISIONS if pr in tr["torch"]]
        print_rows(rows)
        for q in tr["ratios"]:
            o, t = tr["ours"].get(q["ours"], {}), tr["torch"][q["torch"]]
            print(f"  ours {q['ours']} / torch {q['torch']}: time {fmt(q['time'], '.3f', 'x')}, img/s "
                  f"{fmt(q['images_per_s'], '.3f', 'x')}, peak RSS {fmt(q['peak_rss'], '.3f', 'x')}; % of peak ours "
                  f"{fmt(o.get('pct_of_peak'), '.1f', '%')} vs torch {fmt(t.get('pct_of_peak'), '.1f', '%')}; sys % of "
                  f"wall ours {fmt(o.get('sys_pct_of_wall'), '.1f', '%')} vs torch "
                  f"{fmt(t.get('sys_pct_of_wall'), '.1f', '%')}")
        if len(rows) and any(r[0] == "torch" for r in rows):
            t = next(r[2] for r in rows if r[0] == "torch")
            if t.get("trainable_params"):
                print(f"  trainable tensors (torch): {t['trainable_params']:,} parameters; torch losses "
                      + ", ".join(f"{v:.4f}" for v in t.get("losses", [])[:6]))


def targets(args, docs: list) -> list:
    """Rows (label, value, target text, met) of the scenario's targets, or the plain figures without one."""
    out = []

    def cmp(v, op, lim):
        if v is None:
            return None
        return v <= lim if op == "<=" else (v >= lim if op == ">=" else v < lim)

    for doc in docs:
        tr = doc["train"]
        if not tr:
            continue
        name = f"{doc['model']['name']} train b{tr['batch']}"
        q = {(x["ours"], x["torch"]): x for x in tr["ratios"]}
        of = tr["ours"].get("fp32", {})
        f32 = q.get(("fp32", "fp32"), {})
        b16 = q.get(("bf16", "fp32"), {})
        if args.scenario == "a":
            out.append((f"(a) {name}: time ours fp32 / torch fp32", f32.get("time"), "<= 0.8",
                        cmp(f32.get("time"), "<=", 0.8)))
            out.append((f"(a) {name}: time ours bf16 / torch fp32", b16.get("time"), "<= 0.45",
                        cmp(b16.get("time"), "<=", 0.45)))
            out.append((f"(a) {name}: peak RSS ours fp32 / torch fp32", f32.get("peak_rss"), "<= 0.7",
                        cmp(f32.get("peak_rss"), "<=", 0.7)))
        elif args.scenario == "b":
            out.append((f"(b) {name}: img/s ours fp32 / torch fp32", f32.get("images_per_s"), ">= 1.3",
                        cmp(f32.get("images_per_s"), ">=", 1.3)))
            out.append((f"(b) {name}: our system time, % of wall", of.get("sys_pct_of_wall"), "< 5",
                        cmp(of.get("sys_pct_of_wall"), "<", 5.0)))
        else:
            tag = "(c) " if args.scenario == "c" else ""
            for (po, pt), x in q.items():
                out.append((f"{tag}{name}: time ours {po} / torch {pt}", x.get("time"), "-", None))
                out.append((f"{tag}{name}: peak RSS ours {po} / torch {pt}", x.get("peak_rss"), "-", None))
            for pr, o in tr["ours"].items():
                out.append((f"{tag}{name}: ours {pr} s/step, peak MB", o.get("ms_per_batch") and o["ms_per_batch"] / 1000,
                            f"{fmt(o.get('peak_rss_mb'), '.0f')} MB", None))
            for pr, t in tr["torch"].items():
                out.append((f"{tag}{name}: torch {pr} s/step, peak MB", t.get("ms_per_batch") and t["ms_per_batch"] / 1000,
                            f"{fmt(t.get('peak_rss_mb'), '.0f')} MB", None))
            if not args.scenario:
                out.append((f"{name}: our system time, % of wall (fp32)", of.get("sys_pct_of_wall"), "-", None))
    return out


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--_child":
        child(json.loads(sys.argv[2]))
        return 0
    ncores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    epilog = next(b for b in __doc__.split("\n\n") if b.startswith("Issue targets"))
    ap = argparse.ArgumentParser(description="Sparse-Tuning: sparse-tune bench vs PyTorch eager (fp32 / bf16).",
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=epilog)
    ap.add_argument("--scenario", choices=sorted(SCENARIOS),
                    help="the issue's measurements: a (ViT-B/16 b32 fp32+bf16), b (small ViT b64), c (ViT-L/H b16); "
                         "sets the flags not given and prints the targets")
    ap.add_argument("--arch", default=None, help=f"preset(s), comma-separated: {', '.join(sorted(ARCHS))} (default vit-b16)")
    ap.add_argument("--dim", type=int, default=None, help="custom ViT width (with --depth --heads --patch)")
    ap.add_argument("--depth", type=int, default=None)
    ap.add_argument("--heads", type=int, default=None)
    ap.add_argument("--mlp", type=int, default=None, help="custom ViT MLP width (default 4 x dim)")
    ap.add_argument("--patch", type=int, default=None)
    ap.add_argument("--image-size", type=int, default=None, help="default 224")
    ap.add_argument("--batch", default=None, help="inference batch sizes (default 1,8)")
    ap.add_argument("--threads", type=int, default=ncores, help=f"threads for both sides (default {ncores})")
    ap.add_argument("--binary", default=os.path.join(REPO, ".build", "release", "sparse-tune"))
    ap.add_argument("--keep-rate", type=float, default=None, help="EViT keep rate, both sides (default 0.7)")
    ap.add_argument("--ts-layers", default=None, help="EViT blocks, both sides (default depth/4,depth/2,3depth/4)")
    ap.add_argument("--rank", type=int, default=None, help="dense adapter rank, both sides (default 32)")
    ap.add_argument("--classes", type=int, default=None, help="classifier outputs, both sides (default 100)")
    ap.add_argument("--precision", default=None, help="ours: fp32, bf16 or fp32,bf16 (default fp32)")
    ap.add_argument("--torch-precision", default=None,
                    help="torch: fp32, bf16 (autocast) or fp32,bf16 (default: as --precision)")
    ap.add_argument("--peak-fp32", type=float, default=None, help="GFLOP/s peak for %% of peak (default: our bench's)")
    ap.add_argument("--peak-bf16", type=float, default=None)
    ap.add_argument("--warmup", type=int, default=2, help="inference warm-up runs (both sides)")
    ap.add_argument("--min-time", type=float, default=3.0, help="inference: timed seconds per batch size (both)")
    ap.add_argument("--min-iters", type=int, default=3, help="inference: at least this many timed runs (both)")
    ap.add_argument("--max-iters", type=int, default=1000, help="torch inference: at most this many timed runs")
    ap.add_argument("--train-batch", type=int, default=None, help="training batch (default 32)")
    ap.add_argument("--train-warmup", type=int, default=2, help="untimed training steps (both sides; default 2)")
    ap.add_argument("--train-steps", type=int, default=3, help="at least this many timed steps (both; median)")
    ap.add_argument("--train-min-time", type=float, default=3.0, help="timed training seconds at least (both)")
    ap.add_argument("--train-max-steps", type=int, default=1000, help="torch: at most this many timed steps")
    ap.add_argument("--quick", action="store_true",
                    help="brief: 2 warm-up + 2 timed runs / steps, no minimum time (smoke tests)")
    ap.add_argument("--ours-extra", default="", help="extra arguments for all of our bench commands")
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--skip-torch-sparse", action="store_true", help="inference: only the dense timm baseline")
    ap.add_argument("--skip-infer", action="store_true", default=None)
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    model_keys = ("arch", "dim", "depth", "heads", "mlp", "patch", "image_size")
    user_model = any(getattr(args, k) is not None for k in model_keys)
    for k, v in SCENARIOS.get(args.scenario, {}).items():
        if getattr(args, k) is None and not (user_model and k in model_keys):  # a given model replaces the scenario's
            setattr(args, k, v)
    for k, v in DEFAULTS.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.quick:
        args.warmup, args.min_time, args.min_iters, args.max_iters = 2, 0.0, 2, 2
        args.train_warmup, args.train_steps, args.train_min_time = 2, 2, 0.0
    args.precisions = parse_precisions(args.precision, "--precision")
    args.torch_precisions = parse_precisions(args.torch_precision or args.precision, "--torch-precision")
    args.batches = [int(b) for b in args.batch.split(",") if b.strip()]
    models = build_models(args)

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
    docs = [run_model(args, m, binary, binary or find_binary(args.binary)) for m in models]
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    summary = targets(args, docs)
    if args.json:
        print(json.dumps({"scenario": args.scenario, "threads": args.threads, "load_average_1min_at_start": load1,
                          "load_average_1min_at_end": load_end, "models": docs,
                          "targets": [{"figure": a, "value": v, "target": t, "met": ok} for a, v, t, ok in summary]},
                         indent=2))
        return 0
    print(f"sparse-tune vs PyTorch eager, {args.threads} threads; load average {fmt(load1)} -> {fmt(load_end)}")
    for doc in docs:
        print_model(args, doc)
    if summary:
        print("summary" + (f" (scenario {args.scenario} targets)" if args.scenario else ""))
        w = max(len(a) for a, *_ in summary)
        for a, v, t, ok in summary:
            met = "-" if ok is None else ("yes" if ok else "NO")
            print(f"  {a:<{w}}  {fmt(v, '.3f'):>8}  {t:>10}  {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
