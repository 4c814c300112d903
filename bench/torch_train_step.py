#!/usr/bin/python3
"""torch_train_step.py — the PyTorch peer of `sbir bench train-step`.

Builds the network of an sbir net spec (src/nn/net.h) in PyTorch, identically: cN = Conv2d(3x3,
pad 1, no bias) -> BatchNorm2d -> ReLU, p = MaxPool2d(2), a = AvgPool2d(2), g = global average
pooling, lN = Linear (flattening first), r = ReLU; the same loss (softmax cross-entropy of the
features against random labels) and optimiser (SGD, momentum 0.9, weight decay 5e-4).

It is a persistent child driven over a pipe so that the C and PyTorch timing blocks can alternate:
after building the model and running the warm-up steps it prints "ready <info>"; then each line
"run K" on stdin makes it time K training steps and print "times <ms> <ms> ..."; "quit" (or EOF)
ends it. On a problem it prints "error <reason>" and exits non-zero.

Standalone: /usr/bin/python3 bench/torch_train_step.py --once 5  (prints the median of 5 steps).
"""
import argparse
import sys
import time


def build(spec, in_c, size, nn):
    layers, c, h, w, flat = [], in_c, size, size, False
    for tok in spec.split(","):
        tok = tok.strip()
        if tok[0] == "c":
            n = int(tok[1:])
            layers += [nn.Conv2d(c, n, 3, padding=1, bias=False), nn.BatchNorm2d(n), nn.ReLU(inplace=True)]
            c = n
        elif tok == "p":
            layers.append(nn.MaxPool2d(2, 2))
            h, w = h // 2, w // 2
        elif tok == "a":
            layers.append(nn.AvgPool2d(2, 2))
            h, w = h // 2, w // 2
        elif tok == "g":
            layers.append(nn.AdaptiveAvgPool2d(1))
            h = w = 1
        elif tok[0] == "l":
            n = int(tok[1:])
            if not flat:
                layers.append(nn.Flatten())
            layers.append(nn.Linear(c * h * w, n))
            c, h, w, flat = n, 1, 1, True
        elif tok == "r":
            layers.append(nn.ReLU())
        else:
            raise ValueError("bad layer %r" % tok)
    return nn.Sequential(*layers), c * h * w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default="c32,c32,p,c64,c64,p,c128,c128,p,c256,p,g,l128")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--once", type=int, default=0, help="time this many steps, print the median, exit")
    a = ap.parse_args()
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError as e:
        print("error PyTorch is not installed for %s (%s)" % (sys.executable, e), flush=True)
        sys.exit(1)
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    model, dim = build(a.spec, a.channels, a.size, nn)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, a.channels, a.size, a.size)
    y = torch.randint(0, dim, (a.batch,))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def timed(k):
        out = []
        for _ in range(k):
            t = time.perf_counter()
            step()
            out.append((time.perf_counter() - t) * 1e3)
        return out

    for _ in range(a.warmup):
        step()
    if a.once:
        t = sorted(timed(a.once))
        print("torch %s batch %d size %d threads %d: median %.2f ms" % (a.spec, a.batch, a.size, a.threads, t[len(t) // 2]))
        return
    print("ready torch %s threads %d" % (torch.__version__, torch.get_num_threads()), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "run":
            print("times " + " ".join("%.4f" % t for t in timed(int(cmd[1]))), flush=True)
        else:
            print("error unknown command %r" % line.strip(), flush=True)


if __name__ == "__main__":
    main()
