#!/usr/bin/env python3
"""Data-parallel scaling figures for docs/DISTRIBUTED.md and the README (development tool; stdlib only).

Runs `sparse-tune train` on synthetic data made by `sparse-tune demo --quick` (its 800-image `new-shapes` task), for
two workloads:
  sparse   sparse-tuning on the demo's pretrained backbone (1 k trainable values: the small all-reduce of the method)
  full     full fine-tuning of a random ViT-S/16 at --image-size (22 M trainable values, 88 MB all-reduced per step)
and three layouts on this machine:
  1x2      one process, 2 threads
  2x1      mpirun -np 2, 1 thread each (shared-memory transport)
  2x1-tcp  the same over TCP on loopback (`--mca btl tcp,self`)
  2x1-net  two "hosts": each rank in a network namespace of its own, joined by a veth pair limited to 10 Gbit/s
           (tc tbf; netem delay too where the kernel has it), made and removed by the script (needs root and
           iproute2); mpirun starts the second rank through `ip netns exec` instead of ssh; TCP over the veth
It prints a markdown table (images/s, all-reduce seconds per step and share of the step, bytes per step) and a
model of the speed-up at 8, 32 and 128 ranks: step(N) = B / (N * r1) + allreduce(N), with r1 the one-rank,
one-thread images/s and a ring all-reduce 2 (N-1)/N * S / bw + 2 (N-1) * lat, bw and lat fitted to the two
two-host measurements (small and large S).

  python3 scripts/bench_mpi_scaling.py [--binary .build/release/sparse-tune] [--epochs 1] [--image-size 96]
"""
import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile

HOSTS = {"10.99.0.1": "st-h1", "10.99.0.2": "st-h2"}
AGENT = """#!/bin/sh
# mpirun's remote-shell agent for the two namespace hosts: runs the command in the host's network namespace.
while [ $# -gt 0 ]; do case "$1" in -*) shift ;; *) break ;; esac; done
host=$1; shift
case "$host" in 10.99.0.1) ns=st-h1 ;; 10.99.0.2) ns=st-h2 ;; *) echo "unknown host $host" >&2; exit 1 ;; esac
exec ip netns exec "$ns" sh -c "$*"
"""


@contextlib.contextmanager
def two_hosts(work):
    """Two network namespaces joined by a netem-shaped veth pair; removed afterwards."""
    sh = lambda c: subprocess.run(c, shell=True, check=True)  # noqa: E731
    subprocess.run("ip netns del st-h1; ip netns del st-h2", shell=True, stderr=subprocess.DEVNULL)
    try:
        sh("ip netns add st-h1 && ip netns add st-h2 && ip link add st-veth1 type veth peer name st-veth2")
        for i, (addr, ns) in enumerate(HOSTS.items(), 1):
            sh(f"ip link set st-veth{i} netns {ns} && ip netns exec {ns} ip addr add {addr}/24 dev st-veth{i} && "
               f"ip netns exec {ns} ip link set st-veth{i} up && ip netns exec {ns} ip link set lo up")
            shaped = subprocess.run(f"ip netns exec {ns} tc qdisc add dev st-veth{i} root netem delay 50us rate 10gbit",
                                    shell=True, stderr=subprocess.DEVNULL).returncode == 0
            if not shaped:  # no sch_netem in this kernel: a 10 Gbit/s token bucket without added delay
                sh(f"ip netns exec {ns} tc qdisc add dev st-veth{i} root tbf rate 10gbit burst 1mb latency 10ms")
            print(f"{ns}: st-veth{i} {addr}, " + ("netem 10 Gbit/s + 50 us" if shaped else "tbf 10 Gbit/s (no netem)"),
                  file=sys.stderr)
        agent = os.path.join(work, "netns-agent.sh")
        with open(agent, "w") as f:
            f.write(AGENT)
        os.chmod(agent, 0o755)
        hosts = os.path.join(work, "hosts")
        with open(hosts, "w") as f:
            f.write("".join(f"{a} slots=1\n" for a in HOSTS))
        # Both "hosts" share this machine's cores: ranks must yield while they wait (as --oversubscribe makes them),
        # or a rank spinning in the all-reduce takes the other's core for a scheduler slice (~10 ms a step here).
        yield ["ip", "netns", "exec", "st-h1", "mpirun", "--allow-run-as-root", "--hostfile", hosts, "-np", "2",
               "--mca", "mpi_yield_when_idle", "1", "--mca", "plm_rsh_agent", agent, "--mca", "btl", "tcp,self", "--mca", "oob_tcp_if_include", "10.99.0.0/24",
               "--mca", "btl_tcp_if_include", "10.99.0.0/24"]
    finally:
        subprocess.run("ip netns del st-h1; ip netns del st-h2", shell=True, stderr=subprocess.DEVNULL)


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
    with two_hosts(work) as net:
        layouts["2x1-net"] = (net, "1")
        measure(args, work, data, workloads, layouts, rows, measured)
    report(rows, measured, workloads)


def measure(args, work, data, workloads, layouts, rows, measured):
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


def report(rows, measured, workloads):
    print("| workload | layout | train img/s | all-reduce ms/step | share of step | MB all-reduced/step |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    for w in workloads:
        print(f"\n{w}: 2 ranks x 1 thread / 1 rank x 2 threads = "
              f"{measured[(w, '2x1')]['ips'] / measured[(w, '1x2')]['ips']:.2f}x")
    # Fit a ring all-reduce over the network (N = 2: one send of S/2 and one of S/2 each way: S / bw + 2 lat).
    a, b = measured[("sparse", "2x1-net")], measured[("full", "2x1-net")]
    bw = (b["bytes"] - a["bytes"]) / max(b["ar"] - a["ar"], 1e-9)
    lat = max((a["ar"] - a["bytes"] / bw) / 2, 1e-6)
    print(f"\nfitted two-host link (veth at 10 Gbit/s): bandwidth {bw / 1e9:.2f} GB/s, latency {lat * 1e6:.0f} us per message")
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
