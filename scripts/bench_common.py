"""Helpers shared by the development benchmark scripts (not part of the package)."""
from __future__ import annotations

import json


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


def median_inference_seconds(run, x, precision: str, warmup: int, min_iters: int, min_time: float):
    """Median seconds of `run(x)` under torch.inference_mode (and bf16 autocast for precision "bf16"): `warmup`
    untimed calls, then timed ones until at least `min_iters` ran and `min_time` seconds passed. Returns
    (median, number of timed calls)."""
    import contextlib
    import statistics
    import time

    import torch
    amp = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "bf16" else contextlib.nullcontext
    times = []
    with torch.inference_mode(), amp():
        for _ in range(warmup):
            run(x)
        t_start = time.perf_counter()
        while len(times) < min_iters or time.perf_counter() - t_start < min_time:
            t0 = time.perf_counter()
            run(x)
            times.append(time.perf_counter() - t0)
    return statistics.median(times), len(times)
