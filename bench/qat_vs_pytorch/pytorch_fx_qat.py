#!/usr/bin/python3
# Peer side of bench/qat_vs_pytorch: PyTorch 1.13 FX quantization-aware training of the same
# learned_filter net that our side trains with `tinyqat qat`.
#
# What it measures, on the same .npz pairs (`degraded` -> `clean`, [N,1,64,64] float32 in [0,1]):
#   - speed: wall time of every fp32 epoch and every QAT epoch (forward + backward + AdamW step,
#     time.perf_counter around the whole epoch loop), and their medians;
#   - accuracy on EVAL: PSNR vs clean (peak 1, MSE over all pixels) of the degraded input, the
#     fp32 model, the fake-quant (prepared QAT model, eval mode, observers frozen) and the converted
#     int8 model; plcc_drop = PLCC(fp32, clean) - PLCC(int8, clean); fq_vs_int8_gap =
#     1 - PLCC(fake-quant, int8); max |fake-quant - int8|.
#
# Exact command (Debian's python3-torch, hence /usr/bin/python3, not the pyenv shim):
#   ./build/tinyqat data filter-pairs --out /tmp/train.npz
#   ./build/tinyqat data filter-pairs --split eval --count 128 --out /tmp/eval.npz
#   nice -n 10 /usr/bin/python3 bench/qat_vs_pytorch/pytorch_fx_qat.py \
#       --train /tmp/train.npz --eval /tmp/eval.npz --width 16 --blocks 4 \
#       --epochs-fp32 20 --epochs-qat 10 --batch-size 16 --threads 1 --json /tmp/pytorch_fx_qat.json
import argparse
import copy
import json
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization import disable_observer, get_default_qat_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_qat_fx


class LearnedFilter(nn.Module):
    """learned_filter(channels, width, num_blocks), as in src/zoo/learned_filter.cpp."""

    def __init__(self, channels=1, width=16, num_blocks=4):
        super().__init__()
        self.head = nn.Conv2d(channels, width, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(width, width, 3, padding=1))
            for _ in range(num_blocks))
        self.tail = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, x):
        h = self.head(x)
        for block in self.blocks:
            h = h + block(h)  # residual block: Conv -> ReLU -> Conv, + skip
        return torch.clamp(x + self.tail(h), 0.0, 1.0)


def train_epochs(model, opt, x, y, epochs, batch_size, seed):
    """Runs `epochs` L1 epochs; returns the wall time of each (seconds)."""
    times = []
    for epoch in range(epochs):
        # Fixed-seed shuffled batch order, a different permutation per epoch.
        order = torch.from_numpy(np.random.RandomState(seed + epoch).permutation(len(x)))
        t0 = time.perf_counter()
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = F.l1_loss(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
        print(f"  epoch {epoch + 1}/{epochs}: L1 {loss.item():.5f}  {times[-1]:.2f} s", flush=True)
    return times


@torch.no_grad()
def predict(model, x, batch_size=32):
    return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def psnr(a, clean):
    """PSNR (peak 1) of the mean squared error over all pixels of all samples: the definition
    `tinyqat compare --target` uses, so both sides of the benchmark quote the same number."""
    mse = float(((a.double() - clean.double()) ** 2).mean())
    return 10.0 * np.log10(1.0 / max(mse, 1e-12))


def plcc(a, b):
    """Pearson correlation over all pixels, flattened (float64)."""
    return float(np.corrcoef(a.double().flatten().numpy(), b.double().flatten().numpy())[0, 1])


def main():
    p = argparse.ArgumentParser(description="PyTorch FX QAT peer of `tinyqat qat` (bench/qat_vs_pytorch).")
    p.add_argument("--train", required=True, help="training .npz (degraded, clean)")
    p.add_argument("--eval", required=True, help="evaluation .npz (degraded, clean)")
    p.add_argument("--input", default="degraded", help="model-input array name")
    p.add_argument("--target", default="clean", help="target array name")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--epochs-fp32", type=int, default=20)
    p.add_argument("--epochs-qat", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3, help="fp32 AdamW learning rate")
    p.add_argument("--lr-qat", type=float, default=1e-4, help="QAT AdamW learning rate")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the results here")
    p.add_argument("--verbose", action="store_true", help="print the converted int8 graph's code")
    p.add_argument("--onnx-dir", help="also export the fp32 model (and the int8 one if possible) here")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore", message="Please use quant_min and quant_max")  # x86 reduce_range note
    torch.manual_seed(a.seed)
    # The x86 qconfig mapping is used for QAT; the int8 kernels run on whatever engine this build has
    # (Debian's torch lacks fbgemm/x86, so typically onednn).
    engines = torch.backends.quantized.supported_engines
    engine = next(e for e in ("x86", "fbgemm", "onednn", "qnnpack") if e in engines)
    torch.backends.quantized.engine = engine

    def load(path):
        d = np.load(path)
        return torch.from_numpy(d[a.input].astype(np.float32)), torch.from_numpy(d[a.target].astype(np.float32))
    xtr, ytr = load(a.train)
    xev, yev = load(a.eval)
    print(f"torch {torch.__version__}, {a.threads} thread(s), engine {engine}; "
          f"train {tuple(xtr.shape)}, eval {tuple(xev.shape)}")

    # fp32 phase.
    model = LearnedFilter(xtr.shape[1], a.width, a.blocks)
    print(f"fp32: {a.epochs_fp32} epoch(s), AdamW lr {a.lr}, batch {a.batch_size}")
    fp32_times = train_epochs(model.train(), torch.optim.AdamW(model.parameters(), lr=a.lr),
                              xtr, ytr, a.epochs_fp32, a.batch_size, a.seed)
    fp32 = copy.deepcopy(model).eval()  # prepare_qat_fx would share (and then train) its modules

    # QAT phase: FX prepare (fuses Conv+ReLU, inserts fake-quant), fine-tune, convert to int8.
    example = (xtr[:1],)
    qat = prepare_qat_fx(model.train(), get_default_qat_qconfig_mapping("x86"), example)
    print(f"QAT: {a.epochs_qat} epoch(s), AdamW lr {a.lr_qat}")
    qat_times = train_epochs(qat, torch.optim.AdamW(qat.parameters(), lr=a.lr_qat),
                             xtr, ytr, a.epochs_qat, a.batch_size, a.seed + 1000)
    qat.apply(disable_observer)  # freeze qparams: eval must not move the observers
    qat.eval()
    int8 = convert_fx(copy.deepcopy(qat))
    if a.verbose:
        print(int8.code)

    # Accuracy on EVAL.
    out_fp32, out_fq, out_int8 = predict(fp32, xev), predict(qat, xev), predict(int8, xev)
    res = {
        "torch_version": torch.__version__, "threads": a.threads, "quantized_engine": engine,
        "batch_size": a.batch_size, "epochs_fp32": a.epochs_fp32, "epochs_qat": a.epochs_qat,
        "fp32_epoch_s": fp32_times, "qat_epoch_s": qat_times,
        "fp32_epoch_median_s": statistics.median(fp32_times) if fp32_times else None,
        "qat_epoch_median_s": statistics.median(qat_times) if qat_times else None,
        "psnr": {"degraded": psnr(xev, yev), "fp32": psnr(out_fp32, yev),
                 "fake_quant": psnr(out_fq, yev), "int8": psnr(out_int8, yev)},
        "plcc": {"fp32_vs_clean": plcc(out_fp32, yev), "int8_vs_clean": plcc(out_int8, yev),
                 "fp32_vs_int8": plcc(out_fp32, out_int8), "fake_quant_vs_int8": plcc(out_fq, out_int8)},
        "max_abs_fq_vs_int8": float((out_fq - out_int8).abs().max()),
    }
    res["plcc_drop"] = res["plcc"]["fp32_vs_clean"] - res["plcc"]["int8_vs_clean"]
    res["fq_vs_int8_gap"] = 1.0 - res["plcc"]["fake_quant_vs_int8"]

    pp = res["psnr"]
    print(f"epoch median: fp32 {res['fp32_epoch_median_s']:.3f} s, QAT {res['qat_epoch_median_s']:.3f} s")
    print(f"PSNR dB: degraded {pp['degraded']:.3f}  fp32 {pp['fp32']:.3f}  "
          f"fake-quant {pp['fake_quant']:.3f}  int8 {pp['int8']:.3f}")
    print(f"plcc_drop {res['plcc_drop']:.6f}  fq_vs_int8_gap {res['fq_vs_int8_gap']:.3e}  "
          f"max|fq-int8| {res['max_abs_fq_vs_int8']:.4f}")

    if a.onnx_dir:
        import os
        os.makedirs(a.onnx_dir, exist_ok=True)
        kw = dict(opset_version=17, input_names=["degraded"], output_names=["filtered"],
                  dynamic_axes={"degraded": {0: "N"}, "filtered": {0: "N"}})
        torch.onnx.export(fp32, example, os.path.join(a.onnx_dir, "fp32.onnx"), **kw)
        try:  # quantized FX export is optional: skip silently if this torch cannot do it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(int8, example, os.path.join(a.onnx_dir, "int8.onnx"), **kw)
        except Exception:
            pass
        print(f"ONNX written to {a.onnx_dir}")

    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
