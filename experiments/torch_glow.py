#!/usr/bin/env python3
"""Glow peer benchmark: PyTorch on CPU, the network of recipes/glow_fmnist.lua.

Written from Kingma & Dhariwal, "Glow" (NeurIPS 2018) and nvp's layers (lua/nvp/layers/glow.md), for
`nvp bench config=glow-fmnist peer=1`. It follows ../shared/bench/torch_realnvp.py's protocol
(docs/REFERENCE.md section 3): train on random uint8 images, sample, print one JSON line:
  {"config","batch","threads","params","fwd_gflop_per_img","train_img_per_s",
   "sample_img_per_s","peak_rss_mb","torch"}
Usage: python3 torch_glow.py --config glow-fmnist [--steps N] [--batch B] [--threads T]

Architecture (image 1 x 28 x 28, L = 2 levels of K = 10 steps, s/t width 128), as nvp builds it:
Preprocessing as Real NVP's: u = (x + U[0,1)) / 256; p = 0.05 + 0.9 u; y = logit p.
Level l: squeeze A (c,h,w) -> (4c,h/2,w/2); K times:
    actnorm  y = (x + b) exp(logs) per channel, initialised from the first batch (zero mean, unit std);
    1x1 conv W = P L (U + diag(sign_s exp(log_s))) (LU, P fixed), logdet += H W sum log_s;
    affine coupling: parity k % 2 picks the conditioning half (parity 0: the first C/2 channels);
      h = ConvNet(x_cond) = conv3x3(C/2 -> F) -> actnorm -> ReLU -> conv1x1(F -> F) -> actnorm -> ReLU
          -> conv3x3(F -> C, bias, zero-initialised); t = h[:C/2], r = h[C/2:];
      y_change = (x_change + t) sigmoid(r + 2), logdet += sum log sigmoid(r + 2);
  unsqueeze A; between levels: squeeze B, the first half goes on, the second half is factored out.
Prior N(0, I) on every value; loss and bits/dim as Real NVP's. Adam(lr 1e-3), no clipping.
Sampling: z ~ N(0, I), the inverse flow (1x1 conv by W^-1), pixels as Real NVP's.
"""
import argparse, json, math, os, resource, statistics, sys, time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit('torch_glow.py: no torch here; apt-get install python3-torch and use Debian\'s python3')

CONFIGS = {
    'glow-fmnist': dict(channels=1, size=28, levels=2, depth=10, width=128),
}
ALPHA = 0.05
MACS = [0, False]     # conv multiply-add counter, enabled flag


def conv_macs(y, w):
    if MACS[1]:
        MACS[0] += y[0].numel() * w[0].numel()


class ActNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.logs = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer('initialized', torch.tensor(0, dtype=torch.uint8))

    def forward(self, x):
        if self.training and not self.initialized:
            with torch.no_grad():
                mean = x.mean((0, 2, 3), keepdim=True)
                std = x.std((0, 2, 3), keepdim=True, unbiased=False)
                self.bias.copy_(-mean)
                self.logs.copy_(-torch.log(std + 1e-6))
                self.initialized.fill_(1)
        return (x + self.bias) * torch.exp(self.logs)

    def inverse(self, y):
        return y * torch.exp(-self.logs) - self.bias


class ConvNet(nn.Module):
    def __init__(self, cin, cout, width):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(width, width, 1, bias=False)
        self.conv3 = nn.Conv2d(width, cout, 3, padding=1)
        for c in (self.conv1, self.conv2):
            nn.init.normal_(c.weight, 0.0, 0.05)
        nn.init.zeros_(self.conv3.weight)
        nn.init.zeros_(self.conv3.bias)
        self.an1, self.an2 = ActNorm(width), ActNorm(width)

    def forward(self, x):
        h = self.conv1(x)
        conv_macs(h, self.conv1.weight)
        h = F.relu(self.an1(h))
        g = self.conv2(h)
        conv_macs(g, self.conv2.weight)
        g = F.relu(self.an2(g))
        out = self.conv3(g)
        conv_macs(out, self.conv3.weight)
        return out


class InvConv1x1(nn.Module):
    def __init__(self, c):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(c, c, dtype=torch.float64))
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        self.register_buffer('perm', p.float())
        self.register_buffer('sign_s', torch.sign(s).float())
        self.register_buffer('lower_mask', torch.tril(torch.ones(c, c), -1))
        self.lower = nn.Parameter(lower.float())
        self.upper = nn.Parameter(torch.triu(upper, 1).float())
        self.log_s = nn.Parameter(torch.log(torch.abs(s)).float())

    def weight(self):
        c = self.log_s.numel()
        lower = self.lower * self.lower_mask + torch.eye(c)
        upper = self.upper * self.lower_mask.t() + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.perm @ lower @ upper

    def forward(self, x):
        w = self.weight()
        y = F.conv2d(x, w.unsqueeze(-1).unsqueeze(-1))
        conv_macs(y, w.unsqueeze(-1).unsqueeze(-1))
        return y, x.shape[2] * x.shape[3] * self.log_s.sum()

    def inverse(self, y):
        w_inv = torch.inverse(self.weight().double()).float()
        return F.conv2d(y, w_inv.unsqueeze(-1).unsqueeze(-1))


class AffineCoupling(nn.Module):
    def __init__(self, c, width, parity):
        super().__init__()
        self.half, self.parity = c // 2, parity
        self.net = ConvNet(c // 2, c, width)

    def split(self, x):
        a, b = x[:, :self.half], x[:, self.half:]
        return (a, b) if self.parity == 0 else (b, a)   # (conditioning, changing)

    def join(self, cond, change):
        return torch.cat([cond, change] if self.parity == 0 else [change, cond], 1)

    def forward(self, x):
        cond, change = self.split(x)
        h = self.net(cond)
        t, r = h[:, :self.half], h[:, self.half:]
        scale = torch.sigmoid(r + 2.0)
        return self.join(cond, (change + t) * scale), torch.log(scale).flatten(1).sum(1)

    def inverse(self, y):
        cond, change = self.split(y)
        h = self.net(cond)
        t, r = h[:, :self.half], h[:, self.half:]
        return self.join(cond, change / torch.sigmoid(r + 2.0) - t)


def squeeze_a(x):
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze_a(x):
    n, c4, h, w = x.shape
    x = x.reshape(n, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c4 // 4, 2 * h, 2 * w)


def squeeze_b(x):
    return torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 1::2],
                      x[:, :, 0::2, 1::2], x[:, :, 1::2, 0::2]], 1)


def unsqueeze_b(x):
    n, c4, h, w = x.shape
    q00, q11, q01, q10 = x.chunk(4, 1)
    even = torch.stack([q00, q01], -1).reshape(n, c4 // 4, h, 2 * w)
    odd = torch.stack([q10, q11], -1).reshape(n, c4 // 4, h, 2 * w)
    return torch.stack([even, odd], 3).reshape(n, c4 // 4, 2 * h, 2 * w)


class Glow(nn.Module):
    def __init__(self, channels, size, levels, depth, width):
        super().__init__()
        self.levels = nn.ModuleList()
        c = channels
        for level in range(levels):
            steps = nn.ModuleList()
            for k in range(1, depth + 1):
                steps.append(nn.ModuleList([ActNorm(4 * c), InvConv1x1(4 * c),
                                            AffineCoupling(4 * c, width, k % 2)]))
            self.levels.append(steps)
            c = 2 * c   # the half of squeeze B's 4c that goes on

    def level_forward(self, steps, x):
        x, logdet = squeeze_a(x), 0.0
        for an, inv, cp in steps:
            x = an(x)
            logdet = logdet + x.shape[2] * x.shape[3] * an.logs.sum()
            x, ld = inv(x)
            logdet = logdet + ld
            x, ld = cp(x)
            logdet = logdet + ld
        return unsqueeze_a(x), logdet

    def level_inverse(self, steps, z):
        z = squeeze_a(z)
        for an, inv, cp in reversed(steps):
            z = an.inverse(inv.inverse(cp.inverse(z)))
        return unsqueeze_a(z)

    def flow(self, x):
        logdet, parked = 0.0, []
        for l, steps in enumerate(self.levels):
            x, ld = self.level_forward(steps, x)
            logdet = logdet + ld
            if l < len(self.levels) - 1:
                x, zl = squeeze_b(x).chunk(2, 1)
                parked.append(zl)
        for zl in reversed(parked):
            x = unsqueeze_b(torch.cat([x, zl], 1))
        return x, logdet

    def inverse(self, z):
        parked = []
        for _ in range(len(self.levels) - 1):
            z, zl = squeeze_b(z).chunk(2, 1)
            parked.append(zl)
        for l in reversed(range(len(self.levels))):
            if l < len(self.levels) - 1:
                z = unsqueeze_b(torch.cat([z, parked[l]], 1))
            z = self.level_inverse(self.levels[l], z)
        return z

    @staticmethod
    def preprocess(x_u8):
        p = ALPHA + (1 - 2 * ALPHA) * (x_u8.float() + torch.rand(x_u8.shape)) / 256.0
        y = torch.log(p) - torch.log1p(-p)
        ld = math.log(1 - 2 * ALPHA) - torch.log(p) - torch.log1p(-p)
        return y, ld.flatten(1).sum(1)

    def nll(self, x_u8):
        y, ld0 = self.preprocess(x_u8)
        z, ld = self.flow(y)
        d = z[0].numel()
        log_pz = -0.5 * (z * z + math.log(2 * math.pi)).flatten(1).sum(1)
        nll = (-(log_pz + ld0 + ld) + d * math.log(256.0)).mean()
        return nll, nll.item() / (d * math.log(2.0))

    @torch.no_grad()
    def sample(self, n, channels, size):
        y = self.inverse(torch.randn(n, channels, size, size))
        u = (torch.sigmoid(y) - ALPHA) / (1 - 2 * ALPHA)
        return (u * 256.0).floor().clamp(0, 255).to(torch.uint8)


MODEL = Glow  # the class experiments/torch_latency.py builds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--config', choices=sorted(CONFIGS), default='glow-fmnist')
    ap.add_argument('--steps', type=int, default=10, help='timed training steps')
    ap.add_argument('--warmup', type=int, default=3, help='untimed training steps first')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--threads', type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument('--sample-reps', type=int, default=3, help='timed sampling batches')
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    if a.steps < 1 or a.sample_reps < 1 or a.batch < 2:
        ap.error('need --steps >= 1, --sample-reps >= 1, --batch >= 2')
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = CONFIGS[a.config]
    C, S = cfg['channels'], cfg['size']
    model = Glow(**cfg)
    params = sum(p.numel() for p in model.parameters())

    x = torch.randint(0, 256, (a.batch, C, S, S), dtype=torch.uint8)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss, bpd = model.nll(x)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if i >= a.warmup:
            times.append(dt)
        print(f'train step {i}: {dt:.3f} s, {bpd:.3f} bits/dim', file=sys.stderr, flush=True)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    model.eval()                       # conv multiply-adds of one forward pass (actnorms initialised)
    MACS[1] = True
    with torch.no_grad():
        model.flow(torch.zeros(1, C, S, S))
    MACS[1] = False
    fwd_gflop = 2 * MACS[0] / 1e9

    stimes = []
    for i in range(1 + a.sample_reps):
        t0 = time.perf_counter()
        model.sample(a.batch, C, S)
        dt = time.perf_counter() - t0
        if i >= 1:
            stimes.append(dt)
        print(f'sample batch {i}: {dt:.3f} s', file=sys.stderr, flush=True)

    print(json.dumps({
        'config': a.config, 'batch': a.batch, 'threads': a.threads, 'params': params,
        'fwd_gflop_per_img': round(fwd_gflop, 4),
        'train_img_per_s': round(a.batch / statistics.median(times), 3),
        'sample_img_per_s': round(a.batch / statistics.median(stimes), 3),
        'peak_rss_mb': round(peak_rss_mb), 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
