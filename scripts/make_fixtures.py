#!/usr/bin/env python3
"""Regenerate the PyTorch reference fixtures that the Swift tests compare against.

Run from anywhere:  /work/venv/bin/python scripts/make_fixtures.py [--only vit,checkpoint,image,sparse,training,hf,families,video]

Needs Python >= 3.10 with torch (CPU), numpy, safetensors, pillow; timm (+ torchvision)
for the timm cross-checks and the image fixtures (see scripts/README.md for the venv recipe,
including the torchvision `_meta_registrations.py` workaround of docs/METHOD.md §6). Everything is
seeded, and regenerating gives byte-identical files.

Parts (each a module in scripts/fixtures/ with a main(); a missing module is skipped):

vit  (scripts/fixtures/vit_fixtures.py, reference maths in scripts/fixtures/torch_vit.py)
    -> Tests/SparseTuningTests/Fixtures/vit/
    ops.safetensors
        Per-op inputs, outputs, a random upstream gradient `<op>.dy` and the autograd input
        gradients `<op>.d*`: layernorm (eps 1e-6, weight/bias), softmax (last dim), gelu
        (exact erf), linear (W (out,in)), attention (timm Attention: qkv with bias, heads,
        scale head_dim^-0.5, proj; also `attention.probs` (B,heads,N,N) and a second
        backward `attention.withprobs.*` that includes an upstream gradient on the
        probabilities), block (one timm Block with every intermediate `block.mid.*`, every
        parameter `block.param.*` and its gradient `block.grad.*`), patch_embed (conv
        k=p stride=p, non-square image), pos_resample (timm resample_abs_pos_embed, bicubic,
        align_corners=False, class token kept; `.y` antialias=False, `.y_antialias`
        antialias=True; grid 4x4 to 6x6, 3x3, 3x5, 5x7; gradient for 3x5). Config numbers
        are in __metadata__.
    model_<name>.safetensors   timm state_dict (exact timm names), random weights.
    model_<name>.npz           the same weights in Google's ViT .npz layout (docs/METHOD.md §7) plus
                               pre_logits/{kernel,bias} that the loader must ignore.
    io_<name>.safetensors      x (2,3,H,W), embed.out, pos_embed.used, block.{l}.out,
                               norm.out, features (pooled, pre-head), logits; config in
                               __metadata__ (dim, depth, heads, head_dim, mlp, patch,
                               image_size/_h/_w, pretrain_image_size/_h/_w, classes, pool...).
        names: tiny (48/3/3 heads/mlp 96/patch 8/32px/10 classes/token pool),
               avg (32/2/2/128/8/32px/5/avg pool: final norm, then mean),
               avg_fcnorm (avg's weights, timm's default avg head: mean, then fc_norm.*;
                           no npz),
               resize (32/2/4/128/patch 4/pos_embed made at 32px, run at 40px; plus
                       io_resize_24x40 at a non-square 24x40; io_resize also has
                       alt_antialias.* = the antialiased resample of timm's dynamic_img_size),
               oddhead (45/2/3 heads -> head_dim 15/mlp 72/8/32px/4/token).
    model_tiny_in21k.npz       tiny's backbone with an all-zero 7-class head (+pre_logits),
                               in the style of Google's in21k checkpoints: a 10-class model
                               must drop that head.
sparse  (scripts/fixtures/sparse_fixtures.py, reference maths in scripts/fixtures/sparse_reference.py)
    -> Tests/SparseTuningTests/Fixtures/sparse/<case>.safetensors (21 cases, about 3.2 MB)
        Sparse-Tuning and the methods of docs/METHOD.md §4 on tiny ViTs: EViT sparsification (fused / not,
        no-op, keep 0.5, the double-precision ceil edge 0.56*25), dense adapters (multi-step S
        maps, keep 1), released-code adapters (stage sums), BatchNorm head (train / eval), full,
        linear, adaptformer, Houlsby adapter, LoRA (qkv / q,v), VPT-deep, EViT + adaptformer, ToMe
        + dense adapters. Each file: backbone.<timm name>, the task tensors, x, labels, logits,
        features, loss, tokens, kept.<block>, grad.<trainable>, config JSON in
        __metadata__["case_config"]. The module docstrings hold the full contract; the script
        also prints finite-difference, timm, released-code and float32 cross-checks.
training  (scripts/fixtures/training_fixtures.py, model from scripts/fixtures/sparse_reference.py)
    -> Tests/SparseTuningTests/Fixtures/training/ten_steps.safetensors (about 190 KB)
        Ten AdamW steps of sparse-tuning on one fixed batch, as llm.c's test_gpt2: tiny ViT (32/4/2 heads/
        mlp 48/patch 4/16px/5 classes), dense adapters r=8 + head, EViT keep 0.5 at blocks 1,2 with fusion,
        batch 8, cross-entropy, torch.optim.AdamW (lr 1e-2 constant, betas 0.9/0.999, eps 1e-8, weight
        decay 1e-4 on the 2-D weights only). backbone.<timm name>, init.<trainable>, final.<trainable>
        (after step 10), x, labels, losses (10, before each update), tokens; config JSON in
        __metadata__["case_config"]. Float64 maths, stored F32; a float32 rerun is checked against it.
hf  (scripts/fixtures/hf_fixtures.py)
    -> Tests/SparseTuningTests/Fixtures/hf/ (about 110 KB)
        vit_cls/ (transformers ViTForImageClassification, 24/2 layers/3 heads/48/patch 4/16px/5 labels with
        id2label) and vit_base/ (ViTModel with a pooler, qkv_bias false), each model.safetensors + config.json
        from save_pretrained; io.safetensors: x, cls.logits, base.features (last_hidden_state[:, 0]).
families  (scripts/fixtures/family_fixtures.py)
    -> Tests/SparseTuningTests/Fixtures/families/ (about 150 KB)
        timm-built DeiT distilled, DINOv2 with registers, DINOv2, CLIP QuickGELU backbones (random weights):
        model.safetensors + timm's hub config.json each, io.safetensors with x and timm's logits (DINOv2 run at
        another size than trained: the position grid resampled by timm's checkpoint_filter_fn); and
        clip_quickgelu_noconfig/ (the weights alone). See docs/BACKBONES.md.
sparse variants: deit_distilled_dense, dinov2_registers_dense, clip_full_evit, dinov2_full_bn, deit_vpt (decision 10
        of sparse_reference.py; each backbone checked against timm in float64 by the script).
video_models  (scripts/fixtures/video_model_fixtures.py)
    -> Tests/SparseTuningTests/Fixtures/video_models/ (about 60 KB)
        transformers VideoMAEForVideoClassification (videomae_hf/) and VideoMAEModel (videomae_base_hf/, qkv_bias
        false) from save_pretrained, the classifier's weights under the original VideoMAE names, a timm ViT for the
        per-frame model; io.safetensors: clips x (2, 4, 3, 16, 16), transformers' logits and features, timm per
        frame + mean pooling. sparse cases videomae_dense, perframe_attention_dense (decision 11).
video  (scripts/fixtures/video_fixtures.py; needs only the ffmpeg CLI with libx264 and libvpx)
    -> Tests/SparseTuningTests/Fixtures/video/ (about 220 KB)
        clip_h264.mp4 (B-frames, GOP 4), clip_vp9.webm, clip_mjpeg.avi, clip_mpeg4.avi (B-frames, packets
        without pts), clip_h264.h264 (raw, no timestamps; decodes to clip_h264.rgb): 48x32, 10 frames at 10 fps, a square
        moving one step per frame; clip_*.rgb: ffmpeg's own decode of each (`-fps_mode passthrough -f rawvideo
        -pix_fmt rgb24`), frames of (32, 48, 3) bytes back to back; bad inputs truncated.mp4 (faststart, cut
        in half), truncated_tail.mp4 (cut inside the 9th packet), text.mp4, audio_only.wav, empty.mp4, huge.y4m (claims 12000x10000).
segmentation_model  (scripts/fixtures/segmentation_model_fixtures.py, reference: sparse_reference.py decision 12)
    -> Tests/SparseTuningTests/Fixtures/segmentation/ seg_copy, seg_nearest: Sparse-Tuning with EViT, dense restoration
        by copy / nearest, linear head, bilinear upsampling, pixel cross-entropy with ignore 255; forward and gradients.
segmentation  (scripts/fixtures/segmentation_fixtures.py; needs opencv-python-headless besides torch, numpy, PIL)
    -> Tests/SparseTuningTests/Fixtures/segmentation/ (about 290 KB)
        fixtures.json: torch bilinear F.interpolate forward and autograd backward, mmseg slide_inference on a toy model
        (windows, averaged logits, resize + argmax), mmseg IoUMetric areas and scores, cv2 resizes (bilinear, nearest)
        and 8-bit HSV both ways; mask_*.png: palette 8-bit and 4-bit, grey, grey 16-bit, RGB (rejected). See
        docs/SEGMENTATION.md.
checkpoint  (scripts/fixtures/checkpoint_fixtures.py, owned by its author)
image       (scripts/fixtures/image_fixtures.py, owned by its author)
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_MODULES = [
    ("vit", "vit_fixtures.py"),
    ("checkpoint", "checkpoint_fixtures.py"),
    ("image", "image_fixtures.py"),
    ("sparse", "sparse_fixtures.py"),
    ("training", "training_fixtures.py"),
    ("hf", "hf_fixtures.py"),
    ("families", "family_fixtures.py"),
    ("video_models", "video_model_fixtures.py"),
    ("video", "video_fixtures.py"),
    ("segmentation_model", "segmentation_model_fixtures.py"),
    ("segmentation", "segmentation_fixtures.py"),
]


def load(name: str, filename: str):
    path = os.path.join(HERE, "fixtures", filename)
    if not os.path.exists(path):
        return None
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(f"fixtures_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser(description="Regenerate the reference fixtures of the Swift tests.")
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(n for n, _ in FIXTURE_MODULES))
    ap.add_argument("--list", action="store_true", help="vit: print every tensor name and shape")
    ap.add_argument("--plain", action="store_true", help="vit: use the plain torch reference even if timm imports")
    args = ap.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - {n for n, _ in FIXTURE_MODULES}
    if unknown:
        ap.error(f"unknown part(s): {', '.join(sorted(unknown))}")

    failed = []
    for name, filename in FIXTURE_MODULES:
        if only and name not in only:
            continue
        t0 = time.time()
        mod = load(name, filename)
        if mod is None:
            print(f"[{name}] scripts/fixtures/{filename} not present, skipped")
            continue
        saved_argv = sys.argv
        try:
            if name == "vit":
                vit_args = (["--list"] if args.list else []) + (["--plain"] if args.plain else [])
                mod.main(vit_args)
            else:
                sys.argv = [os.path.join(HERE, "fixtures", filename)]  # their main() may parse argv
                mod.main()
        except Exception as e:  # report and continue with the other parts
            import traceback
            traceback.print_exc()
            failed.append(name)
            print(f"[{name}] FAILED: {type(e).__name__}: {e}")
        finally:
            sys.argv = saved_argv
        print(f"[{name}] done in {time.time() - t0:.1f} s")
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
