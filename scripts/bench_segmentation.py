#!/usr/bin/env python3
"""Segmentation inference speed and memory at 512x512: `sparse-tune bench --head …` against the same model in PyTorch.

Development tool (not part of the tests). One process per measurement (peak RSS = ru_maxrss), one after the other,
the same thread count on both sides. Model: ViT-B/16 at 512x512 (1,024 patch tokens), 150 classes (ADE20K), the linear
head (LayerNorm + per-patch classifier on the last block, logits upsampled bilinearly to 512x512), or with `--head upernet`
BEiT's pyramid + mmseg's UPerHead (512 channels) on blocks 3, 5, 7, 11 (PyTorch: scripts/fixtures/seg_head_fixtures.py's
module, eval mode; dense features from timm's forward_intermediates).
  dense : torch = timm vit_base_patch16_224(img_size=512) forward_features + the head; ours = bench --head linear
  sparse: torch = scripts/fixtures/sparse_reference.py (EViT keep 0.7 at blocks 3, 6, 9 with fusion, Dense Adapters r 32,
          F.scaled_dot_product_attention where no probabilities are needed) + `copy` restoration written with
          index scatters (decision 12) + the head; ours = bench --head linear --method sparse-tuning --keep-rate 0.7
bf16: ours --precision bf16; torch autocast(bfloat16). Rows: images/s (batch / median time), % of our measured matmul
peak of that precision (FLOPs: our fvcore count of the same model), peak RSS.

    /work/venv/bin/python scripts/bench_segmentation.py [--precision fp32,bf16] [--batch 1]
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

TAG = "BENCH_SEG_CHILD "
S, K, TS = 512, 150, [3, 6, 9]


def child(cfg: dict) -> None:
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    B = cfg["batch"]
    x = torch.randn(B, 3, S, S)
    norm_w, norm_b = torch.ones(768), torch.zeros(768)
    head_w, head_b = torch.randn(K, 768) * 0.02, torch.zeros(K)
    side = S // 16
    upernet = None
    if cfg["head"] == "upernet":
        sys.path.insert(0, os.path.join(HERE, "fixtures"))
        from seg_head_fixtures import Model
        upernet = Model(768, 512, K).eval()

    def head(levels):  # [(B, G, C)] (one level for linear, four for upernet) -> (B, K, S, S)
        if upernet is not None:
            logits = upernet([t.transpose(1, 2).reshape(B, 768, side, side) for t in levels])
        else:
            t = F.linear(F.layer_norm(levels[-1], (768,), norm_w, norm_b, 1e-6), head_w, head_b)
            logits = t.transpose(1, 2).reshape(B, K, side, side)
        return F.interpolate(logits, size=(S, S), mode="bilinear", align_corners=False)
    levels_at = [3, 5, 7, 11] if upernet is not None else [11]

    if cfg["kind"] == "dense":
        import timm
        vit = timm.create_model("vit_base_patch16_224", pretrained=False, img_size=S, num_classes=0).eval()
        if upernet is None:
            run = lambda t: head([vit.forward_features(t)[:, 1:]])  # noqa: E731
        else:
            run = lambda t: head([m.flatten(2).transpose(1, 2) for m in vit.forward_intermediates(  # noqa: E731
                t, indices=levels_at, norm=False, output_fmt="NCHW", intermediates_only=True)])
    else:
        sys.path.insert(0, os.path.join(HERE, "fixtures"))
        import sparse_reference as sr
        scfg = sr.make_config(image_size=S, classes=0, method="sparse-tuning", keep_rate=0.7, ts_layers=TS, rank=32,
                              fused_attention=True)
        g = torch.Generator().manual_seed(0)
        p = {n: (torch.ones(s) if "norm" in n and n.endswith("weight") else torch.randn(s, generator=g) * 0.02)
             for n, s in sr.backbone_shapes(scfg) + sr.task_shapes(scfg)}

        def restore(res, level):  # `copy` restoration of block `level`'s output with index scatters
            G = (S // 16) ** 2
            pos = torch.arange(G).expand(B, G)  # patch behind each token after the class token (-1: fused)
            dense = torch.empty(B, G, 768)
            for l in sorted(k for k in res["maps"] if k <= level):
                m, xin = res["maps"][l], res["reduction_inputs"][l]
                dropped_pos = pos.gather(1, m.dropped)
                rows = xin[:, 1:].gather(1, m.dropped.unsqueeze(-1).expand(-1, -1, 768))
                keep = dropped_pos >= 0
                for b in range(B):
                    dense[b, dropped_pos[b][keep[b]]] = rows[b][keep[b]]
                pos = torch.cat([pos.gather(1, m.kept), torch.full((B, 1), -1)], dim=1)
            final = res["block_outputs"][level][:, 1:]
            for b in range(B):
                alive = pos[b] >= 0
                dense[b, pos[b][alive]] = final[b][alive]
            return dense

        def run(t):
            res = sr.forward(p, t, scfg)
            return head([restore(res, level) for level in levels_at])
    med, _ = median_inference_seconds(run, x, cfg["precision"], cfg["warmup"], cfg["min_iters"], cfg["min_time"])
    print(TAG + json.dumps({"images_per_s": B / med, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}),
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child")
    ap.add_argument("--precision", default="fp32,bf16")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--min-iters", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=5)
    ap.add_argument("--head", default="linear", choices=["linear", "upernet"])
    ap.add_argument("--binary", default=os.path.join(HERE, "..", ".build", "release", "sparse-tune"))
    args = ap.parse_args()
    if args.child:
        return child(json.loads(args.child))
    model = ["--arch", "vit-b16", "--image-size", str(S), "--classes", str(K), "--head", args.head]
    sparse = ["--method", "sparse-tuning", "--keep-rate", "0.7", "--ts-layers", "3,6,9", "--rank", "32"]
    print(f"ViT-B/16 at {S}x{S}, {args.head} head, {K} classes; threads {args.threads}, batch {args.batch}")
    print(f"{'kind':7} {'prec':5} {'GFLOPs':>7} {'torch img/s':>12} {'ours img/s':>11} {'ours/torch':>10} {'torch %pk':>9} "
          f"{'ours %pk':>8} {'torch MiB':>9} {'ours MiB':>8}")
    for precision in args.precision.split(","):
        for kind in ("dense", "sparse"):
            flags = model + (sparse if kind == "sparse" else [])
            g = parse_json(subprocess.run([args.binary, "flops", "--json"] + flags, capture_output=True, text=True).stdout)["gflops"]
            r = subprocess.run([args.binary, "bench"] + flags + ["--precision", precision, "--batch", str(args.batch),
                                "--threads", str(args.threads), "--warmup", str(args.warmup), "--min-runs", str(args.min_iters),
                                "--min-time", str(args.min_time), "--json"], capture_output=True, text=True)
            o = parse_json(r.stdout)
            res = o["results"][0] if o else None
            if res is None:
                print(f"  ours failed: {r.stderr[-300:]}", file=sys.stderr)
            cfg = dict(kind=kind, head=args.head, precision=precision, batch=args.batch, threads=args.threads, warmup=args.warmup,
                       min_iters=args.min_iters, min_time=args.min_time)
            c = subprocess.run([sys.executable, __file__, "--child", json.dumps(cfg)], capture_output=True, text=True)
            t = next((json.loads(l[len(TAG):]) for l in c.stdout.splitlines() if l.startswith(TAG)), None)
            if t is None:
                print(f"  torch failed: {c.stderr[-300:]}", file=sys.stderr)
            peak = res.get("peak_gflop_per_s") if res else None
            if peak and kind == "dense":
                print(f"  (our measured {precision} matmul peak: {peak:.0f} GFLOP/s)")
            ours = res["images_per_s"] if res else float("nan")
            theirs = t["images_per_s"] if t else float("nan")
            pct = lambda v: f"{100 * 2 * g * v / peak:8.1f}%" if peak else "       -"  # noqa: E731
            print(f"{kind:7} {precision:5} {g:7.1f} {theirs:12.3f} {ours:11.3f} {ours / theirs:10.2f} {pct(theirs):>9} {pct(ours):>8} "
                  f"{t['peak_rss_mb'] if t else float('nan'):9.0f} {res['peak_rss_mb'] if res else float('nan'):8.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
