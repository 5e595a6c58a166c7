#!/usr/bin/env python3
"""Linear probe, 1,000 images x 30 epochs on the small ViT: `sparse-tune train --method linear` against one forward.

Development tool (not part of the tests). Target of the issue: the whole linear-probe command takes at most
1.5 x (the time of one forward over the images) + 2 s, since the frozen features need computing only once.

Steps
  1. Data: --images random-but-learnable images (class = tint + stripes, plus noise; --file-size px, JPEG by
     default) written in the VTAB-1K layout `sparse-tune train --data` recognises (VTABDataset.swift /
     DatasetLocator.swift): <root>/<task>/images/{train,test}/000123.jpg and the list files train800.txt,
     val200.txt (the 80/20 split), train800val200.txt (all --images, the training split) and test.txt
     (--test-images, only read with --eval), lines `images/train/000123.jpg 7`. The task name (`probe`) is not a
     VTAB task, so the class count is the largest label + 1 = --classes.
     Backbone: `train` needs --weights (only --method full starts from random weights), so a random timm
     VisionTransformer(img_size, patch, dim, depth, heads, mlp, num_classes=0) is saved with safetensors under
     timm's state_dict names (cls_token, pos_embed, patch_embed.proj.*, blocks.N.*, norm.*; no head). The torch
     probe uses the same weights.
  2. ours, timed as the wall time of the whole command (process start to exit; user/sys CPU from
     RUSAGE_CHILDREN):
       <binary> train --data <root>/probe --weights <backbone> --method linear --epochs E --batch B --dim 192
         --depth 6 --heads 3 --mlp 768 --patch 8 --image-size 64 --classes K --threads T --workers W
         --output <tmp>/probe.safetensors --json --no-eval          (--eval: evaluate on test.txt instead)
  3. one forward over the --images images with our bench at the same batch (plain ViT = the linear probe's
     frozen model, random weights):
       <binary> bench --dim 192 --depth 6 --heads 3 --mlp 768 --patch 8 --image-size 64 --classes K --batch B
         --threads T --json --warmup 2 --min-time S --min-runs 3 --no-peak
     forward seconds = images / images_per_s (median batch). Target: probe <= 1.5 x forward + 2 s.
  4. PyTorch, the fast way, in a child process with T threads: decode + preprocess every image once with PIL
     (squash resize to the model size, inception normalisation (x - 0.5) / 0.5, as ours for VTAB), features once
     with the same timm ViT (eval, inference_mode, batch B, class token after the final norm), then E epochs of
     a Linear(dim, K) head on the cached features: AdamW lr 1e-3, weight decay 1e-4 on the weight, betas
     0.9/0.999, linear warm-up 10 epochs (capped at total steps - 1) then cosine to 0 per step, shuffled
     batches of B, last partial batch dropped when images >= B, mean cross-entropy (ours' VTAB recipe).
     Reported: decode, feature and head seconds, their total, and the child's whole wall time (imports too).

Examples
  /work/venv/bin/python scripts/bench_linear_probe.py                                  # 1,000 images x 30 epochs
  /work/venv/bin/python scripts/bench_linear_probe.py --images 100 --epochs 2 --bench-min-time 0.5   # smoke test
  /work/venv/bin/python scripts/bench_linear_probe.py --data-dir /tmp/probe_data --keep-data --json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from bench_common import parse_json

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CHILD_TAG = "LINEAR_PROBE_CHILD "
TASK = "probe"


# ----------------------------------------------------------------------------- data and backbone

def write_dataset(root: str, n_train: int, n_test: int, classes: int, side: int, ext: str, seed: int) -> str:
    """VTAB-1K layout under root/TASK; returns the task folder."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, TASK)
    tint = rng.uniform(0.2, 0.8, size=(classes, 3))
    freq = rng.uniform(0.5, 4.0, size=classes)
    yy, xx = np.mgrid[0:side, 0:side] / side
    lines = {}
    for split, count in (("train", n_train), ("test", n_test)):
        os.makedirs(os.path.join(folder, "images", split), exist_ok=True)
        labels = rng.permutation(np.arange(count) % classes) if count else []
        out = []
        for i, k in enumerate(labels):
            k = int(k)
            stripes = 0.15 * np.sin(2 * math.pi * freq[k] * (xx + yy))[..., None]
            img = tint[k][None, None, :] + stripes + rng.normal(0.0, 0.12, size=(side, side, 3))
            arr = (np.clip(img, 0, 1) * 255).astype(np.uint8)
            rel = f"images/{split}/{i:06d}.{ext}"
            im = Image.fromarray(arr, "RGB")
            if ext == "jpg":
                im.save(os.path.join(folder, rel), quality=95)
            else:
                im.save(os.path.join(folder, rel))
            out.append(f"{rel} {k}")
        lines[split] = out
    train, cut = lines["train"], len(lines["train"]) * 4 // 5

    def write(name, rows):
        with open(os.path.join(folder, name + ".txt"), "w") as f:
            f.write("\n".join(rows) + ("\n" if rows else ""))

    write("train800", train[:cut])
    write("val200", train[cut:])
    write("train800val200", train)
    if lines["test"]:
        write("test", lines["test"])
    return folder


def timm_vit(a):
    from timm.models.vision_transformer import VisionTransformer
    return VisionTransformer(img_size=a["image_size"], patch_size=a["patch"], embed_dim=a["dim"], depth=a["depth"],
                             num_heads=a["heads"], mlp_ratio=a["mlp"] / a["dim"], num_classes=0)


def write_backbone(path: str, a: dict) -> None:
    import torch
    from safetensors.torch import save_file
    torch.manual_seed(0)
    sd = {k: v.detach().contiguous().clone() for k, v in timm_vit(a).state_dict().items()}
    save_file(sd, path)


# ----------------------------------------------------------------------------- torch child

def child(cfg: dict) -> None:
    t_proc = time.perf_counter()
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from safetensors.torch import load_file
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(0)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t_imports = time.perf_counter() - t_proc
    S, B, E, K = cfg["image_size"], cfg["batch"], cfg["epochs"], cfg["classes"]
    folder = cfg["folder"]
    with open(os.path.join(folder, "train800val200.txt")) as f:
        rows = [ln.rsplit(None, 1) for ln in f.read().splitlines() if ln.strip()]

    t0 = time.perf_counter()  # (a) decode + preprocess once
    x = torch.empty(len(rows), 3, S, S)
    for i, (rel, _) in enumerate(rows):
        im = Image.open(os.path.join(folder, rel)).convert("RGB")
        if im.size != (S, S):
            im = im.resize((S, S), Image.BILINEAR)
        x[i] = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)
    x = (x - 0.5) / 0.5
    y = torch.tensor([int(lbl) for _, lbl in rows])
    t_decode = time.perf_counter() - t0

    model = timm_vit(cfg).eval()
    model.load_state_dict(load_file(cfg["backbone"]))
    t0 = time.perf_counter()  # (b) frozen features once
    with torch.inference_mode():
        feats = torch.cat([model(x[i:i + B]) for i in range(0, len(x), B)])  # (N, C): class token after norm
    t_features = time.perf_counter() - t0

    t0 = time.perf_counter()  # (c) the head, E epochs
    feats = feats.clone()
    head = torch.nn.Linear(cfg["dim"], K)
    torch.nn.init.trunc_normal_(head.weight, std=0.01)
    torch.nn.init.zeros_(head.bias)
    opt = torch.optim.AdamW([{"params": [head.weight], "weight_decay": 1e-4},
                             {"params": [head.bias], "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    n = len(feats)
    drop_last = n >= B
    steps_per_epoch = n // B if drop_last else math.ceil(n / B)
    total = E * steps_per_epoch
    warm = max(0, min(int(10 * steps_per_epoch), total - 1))
    g = torch.Generator().manual_seed(0)
    step, loss = 0, torch.tensor(0.0)
    for _ in range(E):
        order = torch.randperm(n, generator=g)
        for s in range(steps_per_epoch):
            idx = order[s * B:(s + 1) * B]
            if step < warm:
                lr = 1e-3 * step / warm
            else:
                lr = 0.5 * 1e-3 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            for grp in opt.param_groups:
                grp["lr"] = lr
            loss = F.cross_entropy(head(feats[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
    with torch.no_grad():
        acc = float((head(feats).argmax(1) == y).float().mean())
    t_head = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    out = {"decode_s": t_decode, "features_s": t_features, "head_s": t_head,
           "total_s": t_decode + t_features + t_head, "imports_s": t_imports,
           "user_s": ru1.ru_utime - ru0.ru_utime, "sys_s": ru1.ru_stime - ru0.ru_stime,
           "peak_rss_mb": ru1.ru_maxrss / 1024.0, "steps": step, "final_loss": float(loss), "train_accuracy": acc,
           "threads": torch.get_num_threads(), "torch": torch.__version__}
    print(CHILD_TAG + json.dumps(out), flush=True)


# ----------------------------------------------------------------------------- helpers


def timed_run(cmd: list, env=None):
    """(completed process, wall s, user s, sys s) of one child command."""
    print("running: " + " ".join(cmd), file=sys.stderr, flush=True)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return p, wall, r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime


def fmt(v, spec=".2f", suffix=""):
    return (format(v, spec) + suffix) if isinstance(v, (int, float)) else "-"


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--_child":
        child(json.loads(sys.argv[2]))
        return 0
    ncores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    ap = argparse.ArgumentParser(description="Linear probe (sparse-tune train --method linear) vs one forward, "
                                             "and PyTorch's cached-feature probe.")
    ap.add_argument("--images", type=int, default=1000, help="training images (default 1000)")
    ap.add_argument("--test-images", type=int, default=200, help="test images (read only with --eval)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--dim", type=int, default=192)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--mlp", type=int, default=None, help="default 4 x dim")
    ap.add_argument("--patch", type=int, default=8)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--file-size", type=int, default=None, help="side of the stored images (default --image-size)")
    ap.add_argument("--format", choices=("jpg", "png"), default="jpg")
    ap.add_argument("--threads", type=int, default=ncores, help=f"threads for both sides (default {ncores})")
    ap.add_argument("--workers", type=int, default=2, help="our image-decoding threads (train --workers)")
    ap.add_argument("--binary", default=os.path.join(REPO, ".build", "release", "sparse-tune"))
    ap.add_argument("--data-dir", default=None, help="where to write the data (default: a temporary folder)")
    ap.add_argument("--keep-data", action="store_true", help="keep the data, backbone and outputs")
    ap.add_argument("--eval", action="store_true", help="ours: evaluate on test.txt (default --no-eval)")
    ap.add_argument("--bench-warmup", type=int, default=2)
    ap.add_argument("--bench-min-time", type=float, default=3.0, help="our forward bench: timed seconds")
    ap.add_argument("--ours-extra", default="", help="extra arguments for our train command")
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--skip-forward", action="store_true")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    a = dict(dim=args.dim, depth=args.depth, heads=args.heads, mlp=args.mlp or 4 * args.dim, patch=args.patch,
             image_size=args.image_size)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if load1 is not None and load1 > 0.5:
        print(f"warning: 1-minute load average {load1:.2f}: other processes compete for the cores", file=sys.stderr)
    binary = args.binary if (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)) else shutil.which(args.binary)
    if binary is None and not (args.skip_ours and args.skip_forward):
        print(f"note: our binary {args.binary!r} is not there; showing PyTorch only", file=sys.stderr)

    root = args.data_dir or tempfile.mkdtemp(prefix="linear_probe_")
    os.makedirs(root, exist_ok=True)
    t0 = time.perf_counter()
    folder = write_dataset(root, args.images, args.test_images, args.classes, args.file_size or args.image_size,
                           args.format, seed=0)
    backbone = os.path.join(root, "backbone.safetensors")
    write_backbone(backbone, a)
    print(f"wrote {args.images} + {args.test_images} images and the backbone to {root} in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    mflags = ["--dim", str(a["dim"]), "--depth", str(a["depth"]), "--heads", str(a["heads"]), "--mlp", str(a["mlp"]),
              "--patch", str(a["patch"]), "--image-size", str(a["image_size"]), "--classes", str(args.classes),
              "--threads", str(args.threads)]
    doc = {"images": args.images, "epochs": args.epochs, "batch": args.batch, "classes": args.classes, "model": a,
           "threads": args.threads, "data": folder, "load_average_1min_at_start": load1}
    try:
        if binary and not args.skip_ours:
            out = os.path.join(root, "probe.safetensors")
            cmd = [binary, "train", "--data", folder, "--weights", backbone, "--method", "linear",
                   "--epochs", str(args.epochs), "--batch", str(args.batch)] + mflags + [
                   "--workers", str(args.workers), "--output", out, "--json"] + ([] if args.eval else ["--no-eval"]) \
                + args.ours_extra.split()
            p, wall, user, sys_s = timed_run(cmd)
            if p.returncode != 0:
                print(f"warning: our train exited {p.returncode}:\n{(p.stderr or p.stdout)[-3000:]}", file=sys.stderr)
            else:
                s = parse_json(p.stdout) or {}
                doc["ours"] = {"wall_s": wall, "user_s": user, "sys_s": sys_s, "command": " ".join(cmd),
                               "trainer_seconds": s.get("seconds"), "peak_rss_mb": s.get("peak_rss_mb"),
                               "final_loss": s.get("final_loss"), "train_accuracy": s.get("train_accuracy"),
                               "eval_top1": s.get("eval_top1"), "steps": s.get("steps")}
        if binary and not args.skip_forward:
            cmd = [binary, "bench"] + mflags + ["--batch", str(args.batch), "--json", "--warmup",
                                                str(args.bench_warmup), "--min-time", str(args.bench_min_time),
                                                "--min-runs", "3", "--no-peak"]
            p, *_ = timed_run(cmd)
            d = parse_json(p.stdout) if p.returncode == 0 else None
            if not d or not d.get("results"):
                print(f"warning: our bench failed (exit {p.returncode}):\n{(p.stderr or p.stdout)[-3000:]}",
                      file=sys.stderr)
            else:
                r = d["results"][0]
                ips = float(r["images_per_s"])
                doc["forward"] = {"images_per_s": ips, "seconds": args.images / ips, "ms_per_batch": r.get("ms_per_batch"),
                                  "command": " ".join(cmd)}
        if not args.skip_torch:
            cfg = dict(a, folder=folder, backbone=backbone, batch=args.batch, epochs=args.epochs, classes=args.classes,
                       threads=args.threads)
            env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
            p, wall, *_ = timed_run([sys.executable, os.path.abspath(__file__), "--_child", json.dumps(cfg)], env=env)
            t = None
            for line in reversed(p.stdout.splitlines()):
                if line.startswith(CHILD_TAG):
                    t = json.loads(line[len(CHILD_TAG):])
                    break
            if t is None:
                print(f"warning: torch child failed (exit {p.returncode}):\n{p.stderr[-3000:]}", file=sys.stderr)
            else:
                t["process_wall_s"] = wall
                doc["torch"] = t
    finally:
        if not args.keep_data and not args.data_dir:
            shutil.rmtree(root, ignore_errors=True)
        elif not args.keep_data:
            shutil.rmtree(folder, ignore_errors=True)
            for f in ("backbone.safetensors", "probe.safetensors", "probe.metrics.jsonl", "probe.resume.safetensors"):
                try:
                    os.remove(os.path.join(root, f))
                except OSError:
                    pass

    ours, fwd, tch = doc.get("ours"), doc.get("forward"), doc.get("torch")
    target = 1.5 * fwd["seconds"] + 2.0 if fwd else None
    doc["target_s"] = target
    doc["target_met"] = (ours["wall_s"] <= target) if (ours and target) else None
    doc["load_average_1min_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"linear probe: {args.images} images x {args.epochs} epochs, batch {args.batch}, {args.classes} classes; "
          f"ViT dim {a['dim']}, depth {a['depth']}, heads {a['heads']}, mlp {a['mlp']}, patch {a['patch']}, "
          f"{a['image_size']} px; {args.threads} threads; load average {fmt(load1)} -> "
          f"{fmt(doc['load_average_1min_at_end'])}")
    if ours:
        print(f"  ours probe (whole `sparse-tune train --method linear`, wall): {ours['wall_s']:.2f} s  "
              f"(user {ours['user_s']:.2f} s, sys {ours['sys_s']:.2f} s; trainer's own {fmt(ours['trainer_seconds'])} s; "
              f"peak RSS {fmt(ours['peak_rss_mb'], '.0f')} MB; train acc {fmt(ours['train_accuracy'], '.3f')}, "
              f"loss {fmt(ours['final_loss'], '.4f')}"
              + (f"; eval top-1 {fmt(ours['eval_top1'], '.3f')}" if ours.get("eval_top1") is not None else "") + ")")
    if fwd:
        print(f"  one forward over {args.images} images (our bench, batch {args.batch}: {fwd['images_per_s']:.1f} img/s): "
              f"{fwd['seconds']:.2f} s")
        print(f"  target: probe <= 1.5 x forward + 2 s = {target:.2f} s"
              + (f" -> {'met' if doc['target_met'] else 'NOT met'} (probe / target {ours['wall_s'] / target:.2f})"
                 if ours else ""))
    if tch:
        print(f"  torch fast probe (features once, then the head): {tch['total_s']:.2f} s = decode "
              f"{tch['decode_s']:.2f} + features {tch['features_s']:.2f} + head {tch['head_s']:.2f} s "
              f"({tch['steps']} steps); whole child process {tch['process_wall_s']:.2f} s incl. imports "
              f"{tch['imports_s']:.2f} s; user {tch['user_s']:.2f} s, sys {tch['sys_s']:.2f} s; peak RSS "
              f"{tch['peak_rss_mb']:.0f} MB; train acc {tch['train_accuracy']:.3f}, loss {tch['final_loss']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
