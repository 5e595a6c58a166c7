#!/usr/bin/env python3
"""Video inference speed and memory: `sparse-tune bench` against PyTorch, side by side on this machine.

Development tool (not part of the tests). Every measurement is its own process (peak RSS = that process's
getrusage ru_maxrss), one after the other, the same thread count for both sides.

Models (random weights; speed does not depend on them):
  videomae  VideoMAE ViT-B, 16 frames of 224x224, tubelets of 2 (1,568 tokens), K400's 400 classes.
            torch dense : transformers VideoMAEForVideoClassification (VideoMAEConfig defaults, mean pooling), eval,
                          inference_mode, attn_implementation "sdpa"
            torch sparse: scripts/fixtures/sparse_reference.py with decision 11 (no class token, sinusoid table,
                          fc_norm, EViT by received attention + fused token, dense adapters r 32) at keep 0.7 in blocks
                          3, 6, 9; F.scaled_dot_product_attention where no probabilities are needed
            ours        : sparse-tune bench --arch vit-b16 --frames 16 --tubelet 2 --classes 400 [--method sparse-tuning
                          --keep-rate 0.7] --precision P --batch B --json
  perframe  ViT-B/16 per frame, 8 frames of 224x224, mean over frames, 400 classes.
            torch dense : timm vit_base_patch16_224 on the (B*8, 3, 224, 224) frames, mean of the pre-logits, head
            torch sparse: sparse_reference.py (decision 11, per-frame) with EViT per frame + dense adapters
            ours        : sparse-tune bench --arch vit-b16 --frames 8 --classes 400 [--method sparse-tuning ...]
bf16: ours --precision bf16; torch torch.autocast("cpu", dtype=torch.bfloat16).
Each row: clips/s (batch / median time), % of our measured matmul peak of that precision (FLOPs: our fvcore count,
`sparse-tune flops`, the same work for both sides), peak RSS. Ratios: ours / torch at the same precision.

    /work/venv/bin/python scripts/bench_video.py [--models videomae,perframe] [--precision fp32,bf16] [--batch 1]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_common import median_inference_seconds, parse_json  # noqa: E402

TAG = "BENCH_VIDEO_CHILD "
MODELS = {
    "videomae": dict(frames=16, tubelet=2, ts=[3, 6, 9]),
    "perframe": dict(frames=8, tubelet=None, ts=[3, 6, 9]),
}


def child(cfg: dict) -> None:
    import torch
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    m = MODELS[cfg["model"]]
    B, T = cfg["batch"], m["frames"]
    x = torch.randn(B, T, 3, 224, 224)
    if cfg["kind"] == "dense" and cfg["model"] == "videomae":
        from transformers import VideoMAEConfig, VideoMAEForVideoClassification
        model = VideoMAEForVideoClassification(VideoMAEConfig(num_labels=400, attn_implementation="sdpa")).eval()
        run = lambda t: model(pixel_values=t).logits  # noqa: E731
        backend = "transformers VideoMAEForVideoClassification"
    elif cfg["kind"] == "dense":
        import timm
        vit = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=400).eval()

        def run(t):
            f = vit.forward_head(vit.forward_features(t.reshape(B * T, 3, 224, 224)), pre_logits=True)
            return vit.head(f.reshape(B, T, -1).mean(1))
        backend = "timm vit_base_patch16_224 per frame + mean"
    else:
        sys.path.insert(0, os.path.join(HERE, "fixtures"))
        import sparse_reference as sr
        extra = dict(frames=T, tubelet=2, class_token=False, sinusoidal=True, fc_norm=True, pool="avg") \
            if m["tubelet"] else dict(frames=T)
        scfg = sr.make_config(classes=400, method="sparse-tuning", keep_rate=0.7, ts_layers=m["ts"], rank=32,
                              fused_attention=True, **extra)
        g = torch.Generator().manual_seed(0)
        p = {}
        for name, shape in sr.backbone_shapes(scfg) + sr.task_shapes(scfg):
            unit = "norm" in name and name.endswith("weight")  # LayerNorm scales 1, everything else small noise
            p[name] = torch.ones(shape) if unit else torch.randn(shape, generator=g) * 0.02
        run = lambda t: sr.forward(p, t, scfg)["logits"]  # noqa: E731
        backend = "sparse_reference.py decision 11"
    med, iters = median_inference_seconds(run, x, cfg["precision"], cfg["warmup"], cfg["min_iters"], cfg["min_time"])
    print(TAG + json.dumps({"clips_per_s": B / med, "ms": 1000 * med, "iters": iters, "backend": backend,
                            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}), flush=True)


def torch_run(args, model, kind, precision):
    cfg = dict(model=model, kind=kind, precision=precision, batch=args.batch, threads=args.threads,
               warmup=args.warmup, min_iters=args.min_iters, min_time=args.min_time)
    r = subprocess.run([sys.executable, __file__, "--child", json.dumps(cfg)], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.startswith(TAG):
            return json.loads(line[len(TAG):])
    print(f"  torch {model} {kind} {precision} failed: {r.stderr[-400:]}", file=sys.stderr)
    return None


def ours_flags(model, sparse):
    m = MODELS[model]
    f = ["--arch", "vit-b16", "--frames", str(m["frames"]), "--classes", "400"]
    if m["tubelet"]:
        f += ["--tubelet", str(m["tubelet"])]
    if sparse:
        f += ["--method", "sparse-tuning", "--keep-rate", "0.7", "--ts-layers", ",".join(map(str, m["ts"])), "--rank", "32"]
    return f


def ours_run(args, model, sparse, precision):
    cmd = [args.binary, "bench"] + ours_flags(model, sparse) + [
        "--precision", precision, "--batch", str(args.batch), "--threads", str(args.threads), "--warmup", str(args.warmup),
        "--min-runs", str(args.min_iters), "--min-time", str(args.min_time), "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    doc = parse_json(r.stdout)
    if r.returncode != 0 or not doc:
        print(f"  ours {model} failed: {r.stderr[-400:]}", file=sys.stderr)
        return None
    return doc


def gflops(args, model, sparse):
    r = subprocess.run([args.binary, "flops", "--json"] + ours_flags(model, sparse), capture_output=True, text=True)
    return parse_json(r.stdout)["gflops"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child")
    ap.add_argument("--models", default="videomae,perframe")
    ap.add_argument("--precision", default="fp32,bf16")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--min-iters", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=5)
    ap.add_argument("--binary", default=os.path.join(HERE, "..", ".build", "release", "sparse-tune"))
    args = ap.parse_args()
    if args.child:
        return child(json.loads(args.child))
    print(f"threads {args.threads}, batch {args.batch} clip(s); clips/s = batch / median time; % of our measured matmul peak")
    print(f"{'model':9} {'kind':7} {'prec':5} {'GFLOPs':>7} {'torch clips/s':>14} {'ours clips/s':>13} {'ours/torch':>10} "
          f"{'torch %pk':>9} {'ours %pk':>8} {'torch MiB':>9} {'ours MiB':>8}")
    shown_peaks = set()
    for model in args.models.split(","):
        for precision in args.precision.split(","):
            for sparse in (False, True):
                kind = "sparse" if sparse else "dense"
                g = gflops(args, model, sparse)
                o = ours_run(args, model, sparse, precision)
                t = torch_run(args, model, kind, precision)
                res = o["results"][0] if o else None
                peak = res.get("peak_gflop_per_s") if res else None
                if peak and (model, precision) not in shown_peaks:
                    shown_peaks.add((model, precision))
                    print(f"  (our measured {precision} matmul peak: {peak:.0f} GFLOP/s)")
                ours_cps = res["images_per_s"] if res else None
                pct = lambda cps: f"{100 * 2 * g * cps / peak:8.1f}%" if cps and peak else "       -"  # noqa: E731
                print(f"{model:9} {kind:7} {precision:5} {g:7.1f} {t['clips_per_s'] if t else float('nan'):14.3f} "
                      f"{ours_cps or float('nan'):13.3f} {(ours_cps / t['clips_per_s']) if t and ours_cps else float('nan'):10.2f} "
                      f"{pct(t['clips_per_s'] if t else None):>9} {pct(ours_cps):>8} "
                      f"{t['peak_rss_mb'] if t else float('nan'):9.0f} {res['peak_rss_mb'] if res else float('nan'):8.0f}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
