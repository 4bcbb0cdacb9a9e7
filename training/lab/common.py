"""Shared helpers for the lab training scripts (Debian's python3-torch 1.13 + python3-onnx 1.12, CPU only)."""
import json
import os
import time

import numpy as np
import onnx
import torch

MEAN, STD = 0.5, 0.25


def setup(seed: int = 0) -> None:
    # torch defaults to one thread on this machine (shared/reference.md); the box has two cores.
    torch.set_num_threads(int(os.environ.get('LS_TORCH_THREADS', '2')))
    torch.manual_seed(seed)
    np.random.seed(seed)


def normalise(u8: np.ndarray) -> np.ndarray:
    """The runtime's input = (p/255 − mean)/std, in float32 (runtime/inference/preprocess.ts)."""
    return ((u8.astype(np.float32) / 255.0 - MEAN) / STD).astype(np.float32)


def export_onnx(model: torch.nn.Module, shape, path: str, input_name: str, output_names) -> None:
    model.eval()
    dummy = torch.zeros(*shape, dtype=torch.float32)
    torch.onnx.export(model, dummy, path, opset_version=17, input_names=[input_name], output_names=list(output_names),
                      do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)


def write_parity(model: torch.nn.Module, x: np.ndarray, seeds, path: str, output_name: str) -> None:
    """Torch outputs for fixed inputs (generator seeds): the TS test re-renders them and compares in onnxruntime-node."""
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    json.dump({'seeds': [int(s) for s in seeds], 'output': output_name, 'shape': list(y.shape),
               'values': [float(v) for v in y.reshape(-1)]}, open(path, 'w'))


class Clock:
    def __init__(self):
        self.t0 = time.time()

    def __call__(self) -> float:
        return time.time() - self.t0


def log(clock: Clock, msg: str) -> None:
    print(f'[{clock():7.1f}s] {msg}', flush=True)


class TimeCosine:
    """Warm-up then cosine decay over whichever runs out first, the step count or the wall-clock budget: on a
    shared 2-core box the seconds per step vary several-fold, and a step-based one-cycle schedule cut short by
    the time budget ends at a high learning rate."""

    def __init__(self, opt, lr: float, total_steps: int, budget_s: float, clock, warmup: float = 0.05):
        self.opt, self.lr, self.total, self.budget, self.clock, self.warmup = opt, lr, total_steps, budget_s, clock, warmup
        self.step_no = 0

    def progress(self) -> float:
        return max(self.step_no / self.total, self.clock() / self.budget)

    def step(self) -> bool:
        """Sets the learning rate for the next step; False when the schedule is over."""
        import math
        self.step_no += 1
        p = self.progress()
        if p >= 1:
            return False
        f = p / self.warmup if p < self.warmup else 0.5 * (1 + math.cos(math.pi * (p - self.warmup) / (1 - self.warmup)))
        for g in self.opt.param_groups:
            g['lr'] = self.lr * max(f, 0.01)
        return True
