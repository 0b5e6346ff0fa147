#!/usr/bin/env python3
"""Synthetic-data PyTorch workload for colo: training or inference of ResNet-18/50, a small ViT,
a transformer encoder, and a small GPT-style decoder (inference generates tokens).

Reports every step to colo through colo_progress; works standalone too.
  python3 train.py --model resnet18 --batch 64 [--mode train|infer] [--precision fp32|amp]
Samples: images or sequences per second; for `--model gpt --mode infer`, generated tokens.
Exit codes: 0 done or stopped by SIGTERM; 1 error (CUDA OOM is reported to colo as "oom",
illegal memory access as "gpu_fault").
"""
import argparse
import os
import faulthandler
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from colo_progress import Progress  # noqa: E402

STOP = False


def _on_term(_sig, _frame):
    global STOP
    STOP = True


def _tiny_gpt_class():
    import torch

    class TinyGpt(torch.nn.Module):
        """GPT-style decoder: token + position embeddings, causal self-attention blocks."""

        def __init__(self, vocab=1000, d=256, layers=4, heads=8, ctx=256):
            super().__init__()
            self.ctx = ctx
            self.tok = torch.nn.Embedding(vocab, d)
            self.pos = torch.nn.Embedding(ctx, d)
            layer = torch.nn.TransformerEncoderLayer(d_model=d, nhead=heads, dim_feedforward=4 * d,
                                                     batch_first=True, norm_first=True)
            self.blocks = torch.nn.TransformerEncoder(layer, num_layers=layers)
            self.head = torch.nn.Linear(d, vocab)

        def forward(self, x):
            t = x.shape[1]
            h = self.tok(x) + self.pos(torch.arange(t, device=x.device))
            mask = torch.nn.Transformer.generate_square_subsequent_mask(t, device=x.device)
            return self.head(self.blocks(h, mask=mask, is_causal=True))

    return TinyGpt


def TinyGpt():  # noqa: N802 (factory named like the class it makes)
    return _tiny_gpt_class()()


def build(model_name, num_classes=10):
    import torch
    import torchvision

    if model_name == "resnet18":
        return torchvision.models.resnet18(num_classes=num_classes)
    if model_name == "resnet50":
        return torchvision.models.resnet50(num_classes=num_classes)
    if model_name == "vit":
        return torchvision.models.VisionTransformer(image_size=32, patch_size=4, num_layers=6,
                                                    num_heads=8, hidden_dim=256, mlp_dim=512,
                                                    num_classes=num_classes)
    if model_name == "gpt":
        return TinyGpt()
    if model_name == "transformer":
        layer = torch.nn.TransformerEncoderLayer(d_model=256, nhead=8, dim_feedforward=1024,
                                                 batch_first=True)
        enc = torch.nn.TransformerEncoder(layer, num_layers=4)

        class Classifier(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = torch.nn.Embedding(1000, 256)
                self.enc = enc
                self.head = torch.nn.Linear(256, num_classes)

            def forward(self, x):
                return self.head(self.enc(self.embed(x)).mean(dim=1))

        return Classifier()
    raise SystemExit(f"train.py: unknown --model '{model_name}' "
                     "(resnet18, resnet50, vit, transformer, gpt)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--mode", choices=["train", "infer"], default="train")
    ap.add_argument("--new-tokens", type=int, default=32, help="gpt inference: tokens per step")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--precision", choices=["fp32", "amp"], default="fp32")
    ap.add_argument("--steps", type=int, default=0, help="0: until stopped")
    ap.add_argument("--warmup-steps", type=int, default=10, help="before the start barrier")
    ap.add_argument("--threads", type=int, default=1,
                    help="PyTorch CPU threads (default 1: collocated copies would oversubscribe "
                         "the CPU; measured on the H100, bench/results/)")
    ap.add_argument("--sync-every", type=int, default=10,
                    help="synchronize and report every N steps (N x batch samples)")
    args = ap.parse_args()
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1` prints every thread's stack to stderr
    signal.signal(signal.SIGTERM, _on_term)

    progress = Progress()
    import torch

    if not torch.cuda.is_available():
        print("train.py: CUDA is not available", file=sys.stderr)
        return 1
    torch.set_num_threads(max(1, args.threads))
    granted = progress.apply_green_context()
    if granted:
        print(f"train.py: green context of {granted} SMs from SM "
              f"{os.environ.get('COLO_GREEN_OFFSET', '0')}; autograd multithreading "
              f"{'on' if torch._C._is_multithreading_enabled() else 'off'}", file=sys.stderr)
    dev = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    model = build(args.model).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    if args.model in ("transformer", "gpt"):
        x = torch.randint(0, 1000, (args.batch, args.seq_len if args.model == "transformer" else 16),
                          device=dev)
    else:
        x = torch.randn(args.batch, 3, args.image_size, args.image_size, device=dev)
    y = torch.randint(0, 10 if args.model != "gpt" else 1000, (args.batch,), device=dev)
    use_amp = args.precision == "amp"
    samples_per_step = args.batch
    if args.mode == "infer":
        model.eval()

    def train_step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            out = model(x)
            if args.model == "gpt":
                loss = loss_fn(out[:, -1, :], y)
            else:
                loss = loss_fn(out, y)
        loss.backward()
        opt.step()
        return loss

    @torch.no_grad()
    def infer_step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            if args.model != "gpt":
                return model(x).float().mean()
            seq = x
            for _ in range(args.new_tokens):  # greedy generation, no KV cache
                nxt = model(seq[:, -model.ctx:])[:, -1, :].argmax(dim=-1, keepdim=True)
                seq = torch.cat([seq, nxt], dim=1)
            return seq.float().mean()

    if args.mode == "infer" and args.model == "gpt":
        samples_per_step = args.batch * args.new_tokens
    step = infer_step if args.mode == "infer" else train_step

    try:
        for _ in range(args.warmup_steps):
            step()
        torch.cuda.synchronize()
        progress.ready()
        n = 0
        every = max(1, args.sync_every)
        while not STOP and (args.steps == 0 or n < args.steps):
            t0 = time.perf_counter()
            for _ in range(every):
                loss = step()
            torch.cuda.synchronize()
            n += every
            # latency_ms: mean time of one step over the last `every` steps
            progress.step(samples_per_step * every,
                          latency_ms=(time.perf_counter() - t0) * 1e3 / every,
                          loss=loss.item() if n % (5 * every) == 0 else None)
    except torch.cuda.OutOfMemoryError as e:
        progress.error("oom", e)
        print(f"train.py: CUDA out of memory: {e}", file=sys.stderr)
        return 1
    except RuntimeError as e:
        if "illegal memory access" in str(e) or "unspecified launch failure" in str(e):
            progress.error("gpu_fault", e)
        print(f"train.py: {e}", file=sys.stderr)
        return 1
    progress.done()
    return 0


if __name__ == "__main__":
    sys.exit(main())
