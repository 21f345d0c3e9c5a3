#!/usr/bin/env python3
"""Batch-1 latency of a PyTorch peer model: the time to sample one image and to encode one.

For `nvp bench ... peer=1`, beside the peer's own run (../shared/bench/torch_realnvp.py, or
experiments/torch_glow.py): imports the peer script given by --script, builds its --config model
(RealNVP, or the script's MODEL), and in evaluation mode times, with torch.no_grad(), 2 reps + 1
calls after an untimed one (as nvp.bench.race.latency does): sample(1) and flow(preprocess(x)) of
one random image. Prints one JSON line {"sample1_ms", "encode1_ms", "cpu_capability"}; the last is
the "CPU capability usage" line of torch.__config__.show() (ATEN_CPU_CAPABILITY took effect?).
Usage: python3 torch_latency.py --script PEER.py --config NAME [--threads T] [--reps R] [--seed S]
"""
import argparse, importlib.util, json, statistics, sys, time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--script', required=True)
    ap.add_argument('--config', required=True)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location('peer', a.script)
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    torch = peer.torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = peer.CONFIGS[a.config]
    model = getattr(peer, 'MODEL', None) or peer.RealNVP
    model = model(**cfg)
    model.eval()
    c, s = cfg['channels'], cfg['size']
    x = torch.randint(0, 256, (1, c, s, s), dtype=torch.uint8)
    sample_t, encode_t = [], []
    with torch.no_grad():
        for i in range(2 * a.reps + 2):
            t0 = time.perf_counter()
            model.sample(1, c, s)
            if i > 0:
                sample_t.append((time.perf_counter() - t0) * 1e3)
        for i in range(2 * a.reps + 2):
            t0 = time.perf_counter()
            y, _ = model.preprocess(x)
            model.flow(y)
            if i > 0:
                encode_t.append((time.perf_counter() - t0) * 1e3)
    capability = 'unknown'
    for line in torch.__config__.show().splitlines():
        if 'CPU capability usage' in line:
            capability = line.split(':', 1)[1].strip()
    print(f'batch 1: sample {statistics.median(sample_t):.2f} ms, encode {statistics.median(encode_t):.2f} ms',
          file=sys.stderr)
    print(json.dumps({'sample1_ms': round(statistics.median(sample_t), 2),
                      'encode1_ms': round(statistics.median(encode_t), 2), 'cpu_capability': capability}))


if __name__ == '__main__':
    main()
