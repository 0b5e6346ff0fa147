#!/usr/bin/env python3
"""A warm PyTorch model for colo's pipeline `worker` stage (docs/pipeline.md).

Loads the model once, says {"ready": true}, then for each request line {"query": ID,
"samples": N} runs one inference forward pass (or one training step) on a batch of
`--batch` x N samples, waits for the GPU (torch.cuda.synchronize) and answers {"ok": true},
or {"error": "..."} when the step fails. Reads stdin until it closes.
  python3 pipeline_worker.py --model mlp|transformer [--mode infer|train] [--batch 1]
      [--width 4096] [--layers 8] [--seq 128] [--precision fp32|bf16]
On colo's green-context mode it applies its SM partition (COLO_GREEN_SMS) through colo's Python
client before building the model. Needs CUDA (a GPU); --device cpu for a check without one.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))


def build(args, torch):
    if args.model == "mlp":
        layers = []
        for _ in range(args.layers):
            layers += [torch.nn.Linear(args.width, args.width), torch.nn.GELU()]
        model = torch.nn.Sequential(*layers)

        def batch(n):
            return torch.randn(n, args.width, device=args.device, dtype=args.dtype)
    else:
        layer = torch.nn.TransformerEncoderLayer(d_model=args.width, nhead=max(1, args.width // 128),
                                                 dim_feedforward=4 * args.width, batch_first=True)
        model = torch.nn.TransformerEncoder(layer, num_layers=args.layers)

        def batch(n):
            return torch.randn(n, args.seq, args.width, device=args.device, dtype=args.dtype)
    model = model.to(device=args.device, dtype=args.dtype)
    opt = torch.optim.SGD(model.parameters(), lr=1e-4) if args.mode == "train" else None
    model.train(args.mode == "train")
    return model, batch, opt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["mlp", "transformer"], default="mlp")
    ap.add_argument("--mode", choices=["infer", "train"], default="infer")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--width", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    import torch

    if args.device == "cuda" and os.environ.get("COLO_GREEN_SMS"):
        from colo_progress import Progress
        Progress().apply_green_context()
    args.dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    torch.manual_seed(0)
    model, batch, opt = build(args, torch)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    with torch.no_grad():  # warm-up: kernels chosen, memory allocated, before ready
        model(batch(args.batch))
    sync()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        try:
            n = args.batch * max(1, int(json.loads(line).get("samples", 1)))
            if opt is None:
                with torch.no_grad():
                    model(batch(n))
            else:
                opt.zero_grad(set_to_none=True)
                model(batch(n)).float().pow(2).mean().backward()
                opt.step()
            sync()
            print('{"ok": true}', flush=True)
        except Exception as e:  # noqa: BLE001 - the stage names the failure per query
            print(json.dumps({"error": f"{type(e).__name__}: {e}"[:500]}), flush=True)


if __name__ == "__main__":
    main()
