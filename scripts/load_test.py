#!/usr/bin/env python3
"""Load test of `sparse-tune serve` on loopback (Python standard library only).

Measures throughput and p50/p99 latency of POST /v2/models/{task}/infer at several concurrencies, for one task and
for requests alternating over two tasks that share the backbone, and prints a markdown table. Every setting is
bounded in seconds and in requests.

Without --url it starts the server itself on a free loopback port: with the backbone and two sparse-tuning task
files in --workdir, made there first when missing (`sparse-tune demo --quick` pretrains the demo's small ViT —
width 64, 6 blocks, 64x64 images — and fine-tunes a task; `sparse-tune train` fine-tunes a second one).

    scripts/load_test.py --binary .build/release/sparse-tune --seconds 3
    scripts/load_test.py --url http://127.0.0.1:8080 --tasks a,b
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running server (loopback only); default: start one")
    p.add_argument("--tasks", help="comma-separated task names on --url (default: its ready tasks)")
    p.add_argument("--binary", default=".build/release/sparse-tune", help="sparse-tune to start (default %(default)s)")
    p.add_argument("--workdir", help="where the backbone and task files are made or found (default: a temporary directory)")
    p.add_argument("--concurrency", default="1,8,32", help="client threads per setting (default %(default)s)")
    p.add_argument("--seconds", type=float, default=3.0, help="duration of each setting (default %(default)s)")
    p.add_argument("--max-requests", type=int, default=5000, help="most requests of each setting (default %(default)s)")
    p.add_argument("--batch", type=int, default=1, help="images per request (default %(default)s)")
    p.add_argument("--serve-args", default="--max-batch 8 --max-wait-ms 5 --queue 256",
                   help="extra flags of the started server (default: %(default)s)")
    return p.parse_args()


def run(cmd, log):
    print("$ " + " ".join(cmd), file=sys.stderr)
    with open(log, "ab") as f:
        subprocess.run(cmd, check=True, stdout=f, stderr=f, timeout=900)


def prepare_files(binary, workdir):
    """The backbone and two task files in workdir, made when missing."""
    backbone = os.path.join(workdir, "backbone.safetensors")
    task_a = os.path.join(workdir, "sparse-tuning.safetensors")
    task_b = os.path.join(workdir, "sparse-tuning-b.safetensors")
    log = os.path.join(workdir, "prepare.log")
    if not (os.path.exists(backbone) and os.path.exists(task_a)):
        run([binary, "demo", "--quick", "--out", workdir], log)
    if not os.path.exists(task_b):
        run([binary, "train", "--weights", backbone, "--method", "sparse-tuning", "--data", os.path.join(workdir, "new-shapes"),
             "--epochs", "1", "--seed", "7", "--output", task_b], log)
    return backbone, {"a": task_a, "b": task_b}


def start_server(binary, backbone, tasks, serve_args):
    cmd = [binary, "serve", "--weights", backbone, "--port", "0", "--log-level", "warning"] + serve_args.split()
    for name, path in tasks.items():
        cmd += ["--task", f"{name}={path}"]
    print("$ " + " ".join(cmd), file=sys.stderr)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"serving .* on http://([0-9.]+):(\d+)", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining its log
            return proc, f"http://{m.group(1)}:{m.group(2)}"
    proc.kill()
    raise SystemExit("the server did not start")


def request_json(url, method, path, body=None):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status != 200:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data)


def payload(size, batch, seed):
    rng = random.Random(seed)
    data = [round(rng.gauss(0, 1), 4) for _ in range(batch * 3 * size * size)]
    return json.dumps({"inputs": [{"name": "input", "shape": [batch, 3, size, size], "datatype": "FP32", "data": data}]}).encode()


def load(url, tasks, bodies, concurrency, seconds, max_requests):
    """Runs `concurrency` client threads (keep-alive connections) until the time or request budget is spent."""
    u = urllib.parse.urlparse(url)
    lock = threading.Lock()
    latencies, statuses = [], {}
    issued = [0]
    stop_at = time.perf_counter() + seconds

    def client(k):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        i = k
        while time.perf_counter() < stop_at:
            with lock:
                if issued[0] >= max_requests:
                    break
                issued[0] += 1
            task = tasks[i % len(tasks)]
            i += 1
            start = time.perf_counter()
            try:
                conn.request("POST", f"/v2/models/{task}/infer", body=bodies[task], headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                status = r.status
            except (OSError, http.client.HTTPException):
                status = "conn"
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            elapsed = time.perf_counter() - start
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    latencies.append(elapsed)
        conn.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    latencies.sort()

    def pct(q):
        return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")
    return {"ok": len(latencies), "wall": wall, "p50": pct(0.50), "p99": pct(0.99),
            "errors": {k: v for k, v in statuses.items() if k != 200}}


def main():
    args = parse_args()
    proc = None
    if args.url:
        host = urllib.parse.urlparse(args.url).hostname
        if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
            raise SystemExit("--url must be a loopback address")
        url = args.url
    else:
        workdir = args.workdir or tempfile.mkdtemp(prefix="sparse-tune-load-")
        os.makedirs(workdir, exist_ok=True)
        backbone, files = prepare_files(args.binary, workdir)
        proc, url = start_server(args.binary, backbone, files, args.serve_args)
    try:
        names = args.tasks.split(",") if args.tasks else \
            [e["name"] for e in request_json(url, "POST", "/v2/repository/index", b'{"ready": true}')]
        if not names:
            raise SystemExit("no ready task on the server")
        size = request_json(url, "GET", f"/v2/models/{names[0]}")["inputs"][0]["shape"][2]
        bodies = {n: payload(size, args.batch, seed) for seed, n in enumerate(names)}
        scenarios = [("single task", names[:1])] + ([("mixed tasks", names[:2])] if len(names) > 1 else [])
        rows = []
        for label, tasks in scenarios:
            load(url, tasks, bodies, 2, min(1.0, args.seconds), 50)  # warm-up
            for c in [int(x) for x in args.concurrency.split(",")]:
                r = load(url, tasks, bodies, c, args.seconds, args.max_requests)
                rows.append((label, ", ".join(tasks), c, r))
                print(f"{label} c={c}: {r['ok']} ok in {r['wall']:.1f}s", file=sys.stderr)
        print(f"\nPOST /v2/models/{{task}}/infer, FP32 input ({args.batch}, 3, {size}, {size}), "
              f"{args.seconds:g} s per setting ({args.max_requests} requests at most)\n")
        print("| tasks | concurrency | requests | req/s | img/s | p50 ms | p99 ms | errors |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for label, tasks, c, r in rows:
            rate = r["ok"] / r["wall"]
            errors = ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items(), key=str)) or "0"
            print(f"| {label} ({tasks}) | {c} | {r['ok']} | {rate:.1f} | {rate * args.batch:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | {errors} |")
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
