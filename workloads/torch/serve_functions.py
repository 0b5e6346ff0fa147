"""PyTorch functions for colo serve (kind python, docs/serve.md): issue 15's scaling benchmark
(bench/gpu/serve-scale.sh) serves them from warm worker pools on a GPU.

    entry: serve_functions:gpt_generate      python_path: [<repo>/workloads/torch]

- gpt_generate(input): train.py's TinyGpt decoder (random weights, seed 0), batch 1, greedily
  generates input["tokens"] (default 64) tokens after a random prompt of input["prompt_len"]
  (default 16) tokens, without a KV cache (as train.py's inference); returns
  {"tokens": n, "seconds": t, "worker": i, "pid": p}.
- resnet50_infer(input): train.py's ResNet-50 (torchvision, 1000 classes), batch 1, one forward
  pass on a random 224x224 image; returns {"seconds": t, "worker": i, "pid": p}.
- sleep_task(input): no torch, no GPU: sleeps input["seconds"] (default 0.02); the stand-in of
  serve-scale.sh's SIM mode (its outputs are labelled SIMULATED).

`seconds` is the function's own time (call to torch.cuda.synchronize()); `worker` is
COLO_SERVE_WORKER (the worker's index in its pool) and `pid` the process, so that a client can
tell which workers are warm. Each model is built once per worker process, on the first call of its
function (the benchmark's untimed warm-up task), so that this module imports without torch; a
call without torch or without CUDA raises RuntimeError saying so (the task's error). Inference
runs under torch.inference_mode with one CPU thread per worker (collocated workers would
oversubscribe the CPU otherwise, as train.py's --threads notes).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # train.py

_MODELS = {}


def _ids():
    return {"worker": int(os.environ.get("COLO_SERVE_WORKER", "-1")), "pid": os.getpid()}


def _torch():
    """torch with CUDA, or RuntimeError naming what is missing."""
    try:
        import torch
    except ImportError as e:
        raise RuntimeError(f"serve_functions: PyTorch is not installed ({e})") from None
    if not torch.cuda.is_available():
        raise RuntimeError(
            "serve_functions: CUDA is not available to PyTorch "
            f"(torch {torch.__version__}, CUDA_VISIBLE_DEVICES="
            f"{os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')})")
    return torch


def _model(name):
    """The worker's model `name` on cuda (built on first use), its input, and torch."""
    if name in _MODELS:
        return _MODELS[name]
    torch = _torch()
    import train

    torch.set_num_threads(1)
    torch.manual_seed(0)
    dev = torch.device("cuda")
    if name == "gpt":
        model = train.TinyGpt().to(dev).eval()
        x = None  # per call: the prompt length is an input
    else:
        torch.backends.cudnn.benchmark = True
        try:
            model = train.build("resnet50", num_classes=1000).to(dev).eval()
        except ImportError as e:
            raise RuntimeError(f"serve_functions: ResNet-50 needs torchvision ({e})") from None
        x = torch.randn(1, 3, 224, 224, device=dev)
    _MODELS[name] = (model, x, torch)
    return _MODELS[name]


def _positive_int(input, key, default):
    v = (input or {}).get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{key} must be a positive integer, got {v!r}")
    return v


def gpt_generate(input):
    tokens = _positive_int(input, "tokens", 64)
    prompt_len = _positive_int(input, "prompt_len", 16)
    model, _, torch = _model("gpt")
    if prompt_len > model.ctx:
        raise ValueError(f"prompt_len must be at most the context, {model.ctx}")
    t0 = time.perf_counter()
    with torch.inference_mode():
        seq = torch.randint(0, 1000, (1, prompt_len), device="cuda")
        for _ in range(tokens):  # greedy, no KV cache (train.py's inference)
            nxt = model(seq[:, -model.ctx:])[:, -1, :].argmax(dim=-1, keepdim=True)
            seq = torch.cat([seq, nxt], dim=1)
        torch.cuda.synchronize()
    return {"tokens": tokens, "seconds": time.perf_counter() - t0, **_ids()}


def resnet50_infer(input):  # noqa: ARG001 - the input is not used (a fixed random image)
    model, x, torch = _model("resnet50")
    t0 = time.perf_counter()
    with torch.inference_mode():
        model(x)
        torch.cuda.synchronize()
    return {"seconds": time.perf_counter() - t0, **_ids()}


def sleep_task(input):
    seconds = (input or {}).get("seconds", 0.02)
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds <= 60:
        raise ValueError(f"seconds must be a number in 0..60, got {seconds!r}")
    t0 = time.perf_counter()
    time.sleep(seconds)
    return {"seconds": time.perf_counter() - t0, **_ids()}
