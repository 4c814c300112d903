# sweep.py: the structure phase of `sbir train` on PACS (src/model/train.c, src/model/dataset.c) written
# in PyTorch, to compare training changes by validation sketch mAP on a GPU in a minute each instead of
# ten on the CPU. Not part of the product (which never needs Python or a GPU): an experiment harness.
# Usage: SWEEP_ROUND=1 python3 sweep.py WORKER NWORKERS OUT.jsonl [name,name,...]   (see README.md)
import json, lzma, math, os, sys, time, traceback
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = os.environ.get("PACS_DIR", os.path.dirname(os.path.abspath(__file__)))
DEV = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_u8(path, shape):
    if os.path.exists(path):
        return np.fromfile(path, dtype=np.uint8).reshape(shape)
    with lzma.open(path + ".xz") as f:
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(shape)


def load(S):
    d = os.path.join(DATA, "p%d" % S)
    il = np.fromfile(os.path.join(d, "img.i32"), dtype=np.int32).reshape(-1, 3)
    sl = np.fromfile(os.path.join(d, "sk.i32"), dtype=np.int32).reshape(-1, 2)
    img = load_u8(os.path.join(d, "img.u8"), (len(il), S, S, 3))
    sk = load_u8(os.path.join(d, "sk.u8"), (len(sl), S, S))
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(DEV)
    return dict(img=t(img).permute(0, 3, 1, 2).contiguous(), img_cls=t(il[:, 0]).long(), img_sty=t(il[:, 1]).long(),
                img_split=t(il[:, 2]).long(), sk=t(sk)[:, None].contiguous(), sk_cls=t(sl[:, 0]).long(),
                sk_split=t(sl[:, 1]).long(), S=S)


# ---- augmentation (dataset.c), batched ----
def affine_nearest(x, scale, dx, dy, flip, rot):
    """x (B,C,S,S) float 0..255; out[y,x] = src[round(v), round(u)], outside white."""
    B, C, S, _ = x.shape
    c = (S - 1) * 0.5
    g = torch.arange(S, device=x.device, dtype=torch.float32) - c
    X, Y = g.view(1, 1, S), g.view(1, S, 1)
    cs, sn = torch.cos(rot).view(B, 1, 1), torch.sin(rot).view(B, 1, 1)
    sc = scale.view(B, 1, 1)
    u = (cs * X - sn * Y) * sc + c + dx.view(B, 1, 1)
    v = (sn * X + cs * Y) * sc + c + dy.view(B, 1, 1)
    u = torch.where(flip.view(B, 1, 1), (S - 1) - u, u)
    sx, sy = torch.round(u).long(), torch.round(v).long()
    valid = (sx >= 0) & (sy >= 0) & (sx < S) & (sy < S)
    idx = (sy.clamp(0, S - 1) * S + sx.clamp(0, S - 1)).view(B, 1, S * S).expand(B, C, S * S)
    out = x.reshape(B, C, S * S).gather(2, idx).view(B, C, S, S)
    return torch.where(valid.view(B, 1, S, S), out, torch.full_like(out, 255.0))


def random_crop(x, cfg, gen):
    B, S = x.shape[0], x.shape[2]
    U = lambda lo, hi: torch.rand(B, device=x.device, generator=gen) * (hi - lo) + lo
    scale = U(cfg["crop_lo"], cfg["crop_hi"])
    slack = (1 - scale).clamp(min=0) * S * 0.5
    dx, dy = (torch.rand(B, device=x.device, generator=gen) * 2 - 1) * slack, (torch.rand(B, device=x.device, generator=gen) * 2 - 1) * slack
    flip = torch.rand(B, device=x.device, generator=gen) < 0.5
    rot = (torch.rand(B, device=x.device, generator=gen) * 2 - 1) * (cfg["rot"] * math.pi / 180)
    return affine_nearest(x, scale, dx, dy, flip, rot)


SOBX = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float32)


def content_aug(x, gen):
    """x (B,3,S,S) float 0..255 after the crop."""
    B = x.shape[0]
    dev = x.device
    u = torch.rand(B, device=dev, generator=gen).view(B, 1, 1, 1)
    lum = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    p = F.pad(lum, (1, 1, 1, 1), mode="replicate")
    kx = SOBX.to(dev).view(1, 1, 3, 3)
    gx, gy = F.conv2d(p, kx), F.conv2d(p, kx.transpose(2, 3))
    mag = torch.sqrt(gx * gx + gy * gy)
    peak = mag.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1)
    edge = torch.floor(255 * (1 - torch.clamp(2 * mag / peak, max=1))).expand(-1, 3, -1, -1)
    xi = x.long()
    grey = ((xi[:, 0:1] * 77 + xi[:, 1:2] * 150 + xi[:, 2:3] * 29) >> 8).float().expand(-1, 3, -1, -1)
    R = lambda lo, hi, *s: torch.rand(B, *s, device=dev, generator=gen) * (hi - lo) + lo
    contrast, bright, gain = R(0.7, 1.3).view(B, 1, 1, 1), R(-25, 25).view(B, 1, 1, 1), R(0.8, 1.2, 3).view(B, 3, 1, 1)
    jit = torch.floor(((x * gain - 128) * contrast + 128 + bright).clamp(0, 255))
    return torch.where(u < 0.2, edge, torch.where(u < 0.5, grey, jit))


def to_input(x):
    return (x / 255.0 - 0.5) * 4.0


# ---- network (net.c): cN = conv3x3-BN-ReLU, p = maxpool 2, g = global average pool, lN = linear ----
class DomBN(nn.Module):
    """Batch norm; with dsbn, one per domain (sketches first half of a training batch)."""

    def __init__(self, c, dsbn):
        super().__init__()
        self.bns = nn.ModuleList([nn.BatchNorm2d(c) for _ in range(2 if dsbn else 1)])

    def forward(self, x, dom):
        if len(self.bns) == 1:
            return self.bns[0](x)
        if dom == "mixed":
            h = x.shape[0] // 2
            return torch.cat([self.bns[0](x[:h]), self.bns[1](x[h:])])
        return self.bns[0 if dom == "sketch" else 1](x)


class Net(nn.Module):
    def __init__(self, spec, dsbn=False, drop=0.0):
        super().__init__()
        self.layers, C = nn.ModuleList(), 3
        self.kinds = []
        for tok in spec.split(","):
            if tok[0] == "c":
                n = int(tok[1:])
                conv = nn.Conv2d(C, n, 3, padding=1, bias=False)
                nn.init.kaiming_normal_(conv.weight)
                self.layers.append(nn.ModuleList([conv, DomBN(n, dsbn)]))
                self.kinds.append("c")
                C = n
            elif tok == "p":
                self.layers.append(nn.MaxPool2d(2)); self.kinds.append("p")
            elif tok == "g":
                self.layers.append(nn.Identity()); self.kinds.append("g")
            elif tok[0] == "l":
                n = int(tok[1:])
                lin = nn.Linear(C, n)
                nn.init.normal_(lin.weight, std=math.sqrt(2.0 / C)); nn.init.zeros_(lin.bias)
                self.layers.append(lin); self.kinds.append("l")
                C = n
        self.out_dim = C
        self.drop = drop

    def forward(self, x, dom="mixed"):
        for k, L in zip(self.kinds, self.layers):
            if k == "c":
                x = F.relu(L[1](L[0](x), dom))
            elif k == "p":
                x = L(x)
            elif k == "g":
                x = x.mean(dim=(2, 3))
                if self.drop > 0:
                    x = F.dropout(x, self.drop, self.training)
            else:
                x = L(x)
        return x


BASE = dict(S=48, steps=3500, batch=64, lr=4e-3, wd=5e-4, margin=0.2, ls=0.0, trip_w=1.0, ce_w=1.0, crop_lo=0.85,
            crop_hi=1.0, rot=0.0, dsbn=False, drop=0.0, seed=1, spec="c32,p,c64,p,c128,p,c256,p,g,l128", sk_crop_lo=None,
            warm=100, lr_min=0.01, prog=0.0, prog_S=32)


def lr_at(step, cfg):
    total, warm, lr = cfg["steps"], min(cfg["warm"], cfg["steps"] // 10), cfg["lr"]
    if step < warm:
        return lr * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    lo = lr * cfg["lr_min"]
    return lo + 0.5 * (lr - lo) * (1 + math.cos(math.pi * p))


def batch_all_triplet(e, labels, margin):
    d = torch.cdist(e, e).pow(2)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=e.device)
    pos, neg = same & ~eye, ~same
    h = margin + d[:, :, None] - d[:, None, :]
    mask = pos[:, :, None] & neg[:, None, :]
    h = torch.where(mask, h, torch.zeros_like(h)).clamp(min=0)
    n = (h > 0).sum()
    return h.sum() / n.clamp(min=1)


@torch.no_grad()
def features(net, x_u8, dom, mirror, bs=512):
    out = []
    for i in range(0, len(x_u8), bs):
        x = x_u8[i:i + bs].float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = to_input(x)
        f = net(x, dom)
        if mirror:
            f = 0.5 * (f + net(torch.flip(x, dims=[3]), dom))
        out.append(f)
    return torch.cat(out)


def average_precision(rel_sorted):
    """rel_sorted (Q, N) bool in rank order -> AP (Q); NaN where no relevant item."""
    r = rel_sorted.float()
    hits = r.cumsum(1)
    ranks = torch.arange(1, r.shape[1] + 1, device=r.device).float()
    nrel = r.sum(1)
    ap = (r * hits / ranks).sum(1) / nrel.clamp(min=1)
    return torch.where(nrel > 0, ap, torch.full_like(ap, float("nan")))


def sketch_map(qe, qc, ge, gc, gs, NS):
    """Per style: rank that style's images by 2 - 2 q.g; mean AP over (sketch, style) lists."""
    aps = []
    for s in range(NS):
        m = gs == s
        g, c = ge[m], gc[m]
        dist = 2 - 2 * qe @ g.T
        order = torch.argsort(dist, dim=1, stable=True)
        rel = c[order] == qc[:, None]
        aps.append(average_precision(rel))
    a = torch.cat(aps)
    return a[~torch.isnan(a)].mean().item()


def content_emb(f, head, cw):
    n = F.normalize(f, dim=1, eps=1e-6)
    if cw <= 0:
        return n
    p = F.softmax(head(f), dim=1) * math.sqrt(cw)
    return torch.cat([n, p], 1)


def evaluate(net, head, D, NS):
    net.eval(); head.eval()
    res = {}
    with torch.no_grad():
        fe = {}
        for sp, code in (("val", 1), ("test", 2)):
            im = D["img_split"] == code
            sk = D["sk_split"] == code
            fe[sp] = (features(net, D["img"][im], "image", False), D["img_cls"][im], D["img_sty"][im],
                      features(net, D["sk"][sk], "sketch", True), D["sk_cls"][sk])
        best = None
        for cw in (0, 0.25, 0.5, 1, 2, 4, 8, 16, 32):
            r = {}
            for sp in ("val", "test"):
                gf, gc, gs, qf, qc = fe[sp]
                r[sp] = sketch_map(content_emb(qf, head, cw), qc, content_emb(gf, head, cw), gc, gs, NS)
            res["cw%g" % cw] = r
            if best is None or r["val"] > best[1]["val"]:
                best = (cw, r)
        res["cw"], res["val"], res["test"] = best[0], best[1]["val"], best[1]["test"]
        # class accuracy of sketches / images on val
        gf, gc, gs, qf, qc = fe["val"]
        res["val_img_acc"] = (head(gf).argmax(1) == gc).float().mean().item()
        res["val_sk_acc"] = (head(qf).argmax(1) == qc).float().mean().item()
    net.train(); head.train()
    return res


def train(cfg, D, log):
    torch.manual_seed(cfg["seed"])
    gen = torch.Generator(device=DEV); gen.manual_seed(cfg["seed"] * 7919 + 1)
    C = int(D["img_cls"].max().item()) + 1
    NS = int(D["img_sty"].max().item()) + 1
    net = Net(cfg["spec"], cfg["dsbn"], cfg["drop"]).to(DEV)
    head = nn.Linear(net.out_dim, C).to(DEV)
    nn.init.normal_(head.weight, std=math.sqrt(1.0 / net.out_dim)); nn.init.zeros_(head.bias)
    params = list(net.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=cfg["wd"])
    tr_img = (D["img_split"] == 0).nonzero().squeeze(1)
    tr_sk = (D["sk_split"] == 0).nonzero().squeeze(1)
    img_by_c = [tr_img[D["img_cls"][tr_img] == c] for c in range(C)]
    sk_by_c = [tr_sk[D["sk_cls"][tr_sk] == c] for c in range(C)]
    half = cfg["batch"] // 2
    sk_cfg = dict(cfg); sk_cfg["crop_lo"] = cfg["sk_crop_lo"] if cfg["sk_crop_lo"] is not None else cfg["crop_lo"]
    lab_cycle = torch.arange(half, device=DEV)

    def table(by_c):
        L = max(len(b) for b in by_c)
        t = torch.zeros(C, L, dtype=torch.long, device=DEV)
        for c, b in enumerate(by_c):
            t[c, :len(b)] = b
        return t, torch.tensor([len(b) for b in by_c], device=DEV)

    sk_tab, sk_len = table(sk_by_c)
    im_tab, im_len = table(img_by_c)
    import random
    prng = random.Random(cfg["seed"])
    t0 = time.time()
    acc_hist = []
    for step in range(cfg["steps"]):
        labels = (lab_cycle + prng.randrange(C)) % C
        ri = torch.rand(half, device=DEV, generator=gen)
        rj = torch.rand(half, device=DEV, generator=gen)
        sk_items = sk_tab[labels, torch.minimum((ri * sk_len[labels]).long(), sk_len[labels] - 1)]
        im_items = im_tab[labels, torch.minimum((rj * im_len[labels]).long(), im_len[labels] - 1)]
        xs = random_crop(D["sk"][sk_items].float(), sk_cfg, gen).expand(-1, 3, -1, -1)
        xi = content_aug(random_crop(D["img"][im_items].float(), cfg, gen), gen)
        x = to_input(torch.cat([xs, xi]))
        if step < cfg["prog"] * cfg["steps"]:
            x = F.interpolate(x, size=(cfg["prog_S"], cfg["prog_S"]), mode="bilinear", align_corners=False, antialias=True)
        y = torch.cat([labels, labels])
        lr = lr_at(step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr
        f = net(x, "mixed")
        logits = head(f)
        loss = cfg["ce_w"] * F.cross_entropy(logits, y, label_smoothing=cfg["ls"])
        if cfg["trip_w"] > 0:
            loss = loss + cfg["trip_w"] * batch_all_triplet(F.normalize(f, dim=1, eps=1e-6), y, cfg["margin"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0:
            acc_hist.append((logits.argmax(1) == y).float().mean().item())
    train_s = time.time() - t0
    res = evaluate(net, head, D, NS)
    res["train_s"] = round(train_s, 1)
    res["train_acc_end"] = float(np.mean(acc_hist[-5:]))
    return res


# The three rounds run on the lent H200 (results/roundN.jsonl), as (name, overrides of BASE).
ROUNDS = {
    "1": [
        ('ls0.1', {"ls": 0.1}),
        ('wd0.05', {"wd": 0.05}),
        ('base_s2', {"seed": 2}),
        ('base', {}),
        ('dsbn', {"dsbn": True}),
        ('crop0.6', {"crop_lo": 0.6}),
        ('rot15', {"rot": 15.0}),
        ('drop0.3', {"drop": 0.3}),
        ('wd0.2', {"wd": 0.2}),
        ('lr0.002', {"lr": 0.002}),
        ('lr0.008', {"lr": 0.008}),
        ('margin0.4', {"margin": 0.4}),
        ('margin0.1', {"margin": 0.1}),
        ('ce_only', {"trip_w": 0.0}),
        ('steps5000', {"steps": 5000}),
        ('crop0.7_rot10', {"crop_lo": 0.7, "rot": 10.0}),
        ('wd0.05_s2', {"wd": 0.05, "seed": 2}),
        ('crop0.6_s2', {"crop_lo": 0.6, "seed": 2}),
        ('dsbn_s2', {"dsbn": True, "seed": 2}),
        ('S64', {"S": 64}),
        ('wide', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128"}),
        ('steps2000', {"steps": 2000}),
        ('sk_crop0.6', {"sk_crop_lo": 0.6}),
        ('ls0.1_s2', {"ls": 0.1, "seed": 2}),
        ('rot15_s2', {"rot": 15.0, "seed": 2}),
        ('batch128', {"batch": 128}),
        ('dsbn_wd0.05_crop0.6', {"dsbn": True, "wd": 0.05, "crop_lo": 0.6}),
        ('base_s3', {"seed": 3}),
        ('deep', {"spec": "c32,c32,p,c64,p,c128,p,c256,p,g,l128"}),
        ('wd0.05_crop0.6_rot10', {"wd": 0.05, "crop_lo": 0.6, "rot": 10.0}),
        ('drop0.3_s2', {"drop": 0.3, "seed": 2}),
        ('lr0.006', {"lr": 0.006}),
    ],
    "2": [
        ('wide_st1780_s2', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "steps": 1780, "seed": 2}),
        ('wide_st1780', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "steps": 1780}),
        ('base_s4', {"seed": 4}),
        ('base_s5', {"seed": 5}),
        ('extra3', {"spec": "c32,p,c64,p,c128,p,c256,p,c256,g,l128"}),
        ('S64_st1970_s2', {"S": 64, "steps": 1970, "seed": 2}),
        ('S64_st1970', {"S": 64, "steps": 1970}),
        ('deep_st2150', {"spec": "c32,c32,p,c64,p,c128,p,c256,p,g,l128", "steps": 2150}),
        ('deep_st2150_s2', {"spec": "c32,c32,p,c64,p,c128,p,c256,p,g,l128", "steps": 2150, "seed": 2}),
        ('wide_s2', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "seed": 2}),
        ('extra3_s2', {"spec": "c32,p,c64,p,c128,p,c256,p,c256,g,l128", "seed": 2}),
        ('last384', {"spec": "c32,p,c64,p,c128,p,c384,p,g,l128"}),
        ('dsbn_s3', {"dsbn": True, "seed": 3}),
        ('mid_s2', {"spec": "c32,p,c64,p,c160,p,c256,p,g,l128", "seed": 2}),
        ('deep_s2', {"spec": "c32,c32,p,c64,p,c128,p,c256,p,g,l128", "seed": 2}),
        ('S64_s2', {"S": 64, "seed": 2}),
        ('mid', {"spec": "c32,p,c64,p,c160,p,c256,p,g,l128"}),
        ('last384_s2', {"spec": "c32,p,c64,p,c128,p,c384,p,g,l128", "seed": 2}),
    ],
    "3": [
        ('wide_b32', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "batch": 32}),
        ('wide_b32_s2', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "batch": 32, "seed": 2}),
        ('wide_prog_s2', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "prog": 0.5, "seed": 2}),
        ('deep_b40', {"spec": "c32,c32,p,c64,p,c128,p,c256,p,g,l128", "batch": 40}),
        ('wide_prog', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "prog": 0.5}),
        ('deep_prog_s2', {"spec": "c32,c32,p,c64,p,c128,p,c256,p,g,l128", "prog": 0.5, "seed": 2}),
        ('deep_prog', {"spec": "c32,c32,p,c64,p,c128,p,c256,p,g,l128", "prog": 0.5}),
        ('deep_b40_s2', {"spec": "c32,c32,p,c64,p,c128,p,c256,p,g,l128", "batch": 40, "seed": 2}),
        ('wide_b40_st2800', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "batch": 40, "steps": 2800}),
        ('wide_b32_lr0.003', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "batch": 32, "lr": 0.0028}),
        ('wide_b32_s3', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "batch": 32, "seed": 3}),
        ('wide_b32_dsbn', {"spec": "c48,p,c96,p,c192,p,c256,p,g,l128", "batch": 32, "dsbn": True}),
        ('dsbn_s4', {"dsbn": True, "seed": 4}),
        ('deep_b40_s3', {"spec": "c32,c32,p,c64,p,c128,p,c256,p,g,l128", "batch": 40, "seed": 3}),
        ('base_prog', {"prog": 0.5}),
        ('base_b32_st7000', {"batch": 32, "steps": 7000}),
    ],
}


def main():
    wid, nw = int(sys.argv[1]), int(sys.argv[2])
    out = sys.argv[3]
    only = sys.argv[4].split(",") if len(sys.argv) > 4 else None
    steps_override = int(os.environ.get("SWEEP_STEPS", "0"))
    torch.backends.cudnn.benchmark = True
    torch.set_num_threads(2)
    data = {}
    todo = [c for c in ROUNDS[os.environ.get("SWEEP_ROUND", "1")] if only is None or c[0] in only]
    for k, (name, over) in enumerate(todo):
        if k % nw != wid:
            continue
        cfg = dict(BASE); cfg.update(over)
        if steps_override:
            cfg["steps"] = steps_override
        try:
            if cfg["S"] not in data:
                data[cfg["S"]] = load(cfg["S"])
            t = time.time()
            r = train(cfg, data[cfg["S"]], None)
            r["name"], r["wall_s"] = name, round(time.time() - t, 1)
            r["cfg"] = over
        except Exception as e:
            r = {"name": name, "error": repr(e), "tb": traceback.format_exc()[-800:]}
        line = json.dumps(r) + "\n"
        with open(out, "a") as f:
            f.write(line)
        print(line, end="", flush=True)


if __name__ == "__main__":
    main()
