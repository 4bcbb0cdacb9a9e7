"""
Hole-defect classifier: a small CNN on 128×128 hole-centred crops, multi-label (burr, chipping, crack,
delamination, debris; sigmoid). Data from training/lab/gen-holes.ts. Writes hole-defects.onnx,
parity.json and train-report.json into OUT; training/lab/package.ts then builds the model folder.

  npx tsx training/lab/gen-holes.ts var/training/holes
  /usr/bin/python3 training/lab/train_holes.py var/training/holes var/training/holes-out
"""
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import Clock, TimeCosine, export_onnx, log, normalise, setup

LABELS = ['burr', 'chipping', 'crack', 'delamination', 'debris']
CONFIG = dict(epochs=60, batch=16, lr=2e-3, weight_decay=1e-4, time_budget_s=1080, seed=0,
              schedule='5% warm-up, cosine over steps or wall-clock budget, whichever ends first',
              augment='random flips and 90° rotations')


def block(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class HoleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            block(1, 8, 1),     # 128²: thin cracks are one pixel wide, keep full resolution for one cheap layer
            block(8, 24, 2),    # 64²
            block(24, 32, 2),   # 32²
            block(32, 48, 2),   # 16²
            block(48, 64, 2),   # 8²
            block(64, 96, 1),
        )
        self.head = nn.Linear(96 * 2, len(LABELS))

    def forward(self, x):
        f = self.features(x)
        # max pooling keeps small, local defects (a single chip or crack) from being averaged away
        g = torch.cat([F.adaptive_avg_pool2d(f, 1).flatten(1), F.adaptive_max_pool2d(f, 1).flatten(1)], 1)
        return self.head(g)


def augment(x: torch.Tensor) -> torch.Tensor:
    if np.random.rand() < 0.5:
        x = x.flip(3)
    if np.random.rand() < 0.5:
        x = x.flip(2)
    return torch.rot90(x, int(np.random.randint(4)), (2, 3))


def f1_opt(p: np.ndarray, y: np.ndarray):
    best = (0.5, 0.0)
    for t in np.linspace(0.05, 0.95, 91):
        pred = p >= t
        tp = (pred & (y == 1)).sum()
        fp = (pred & (y == 0)).sum()
        fn = (~pred & (y == 1)).sum()
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if f1 > best[1]:
            best = (float(t), float(f1))
    return best


def main():
    data, out = sys.argv[1], sys.argv[2]
    import os
    os.makedirs(out, exist_ok=True)
    setup(CONFIG['seed'])
    clock = Clock()
    load = lambda n: np.load(f'{data}/{n}.npy')
    xtr, ytr = normalise(load('x_train'))[:, None], load('y_train').astype(np.float32)
    xva, yva = normalise(load('x_val'))[:, None], load('y_val')
    model = HoleNet()
    nparams = sum(p.numel() for p in model.parameters())
    log(clock, f'{len(xtr)} train crops, {nparams} parameters')
    opt = torch.optim.AdamW(model.parameters(), lr=CONFIG['lr'], weight_decay=CONFIG['weight_decay'])
    steps_per_epoch = len(xtr) // CONFIG['batch']
    sched = TimeCosine(opt, CONFIG['lr'], CONFIG['epochs'] * steps_per_epoch, CONFIG['time_budget_s'], clock)
    history = []
    epochs_done = 0
    done = False
    for ep in range(CONFIG['epochs']):
        if done:
            break
        model.train()
        perm = np.random.permutation(len(xtr))
        tot = 0.0
        for s in range(steps_per_epoch):
            if not sched.step():
                done = True
                break
            idx = perm[s * CONFIG['batch']:(s + 1) * CONFIG['batch']]
            xb = augment(torch.from_numpy(xtr[idx]))
            loss = F.binary_cross_entropy_with_logits(model(xb), torch.from_numpy(ytr[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss)
        model.eval()
        with torch.no_grad():
            pv = torch.sigmoid(model(torch.from_numpy(xva))).numpy()
        f1s = [f1_opt(pv[:, k], yva[:, k])[1] for k in range(len(LABELS))]
        history.append(dict(epoch=ep + 1, loss=tot / max(1, s), seconds=round(clock(), 1), val_macro_f1=float(np.mean(f1s))))
        log(clock, f'epoch {ep + 1}: loss {tot / steps_per_epoch:.4f}, val macro F1 {np.mean(f1s):.4f} {np.round(f1s, 3).tolist()}')
        epochs_done = ep + 1
    model.eval()
    with torch.no_grad():
        pv = torch.sigmoid(model(torch.from_numpy(xva))).numpy()
    thresholds = {LABELS[k]: f1_opt(pv[:, k], yva[:, k])[0] for k in range(len(LABELS))}
    export_onnx(model, (1, 1, 128, 128), f'{out}/hole-defects.onnx', 'image', ['logits'])
    xte = normalise(load('x_test')[:4])[:, None]
    seeds = load('seeds_test')[:4]
    # batch-1 outputs, as the runtime runs it
    ys = []
    with torch.no_grad():
        for i in range(4):
            ys.append(model(torch.from_numpy(xte[i:i + 1])).numpy())
    json.dump({'seeds': [int(s) for s in seeds], 'output': 'logits', 'shape': [4, len(LABELS)],
               'values': [float(v) for v in np.concatenate(ys).reshape(-1)]}, open(f'{out}/parity.json', 'w'))
    json.dump(dict(config=CONFIG, epochs_done=epochs_done, parameters=nparams, history=history, thresholds=thresholds,
                   torch=torch.__version__, train_seconds=round(clock(), 1)), open(f'{out}/train-report.json', 'w'), indent=1)
    log(clock, f'exported; thresholds {thresholds}')


if __name__ == '__main__':
    main()
