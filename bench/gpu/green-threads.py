"""Green contexts and PyTorch's autograd threads (diagnostic for bench/gpu/green-probe.sh).

Makes a green context of COLO_GREEN_SMS SMs from COLO_GREEN_OFFSET current on the main thread
(as colo_progress.apply_green_context does), trains ResNet-18 for --steps steps and prints which
CUDA context each thread that runs backward nodes has current. --variant:
  none      as colo_progress does today;
  hook      a pre-hook on the loss's grad_fn makes the green context current in the backward thread;
  nomt      torch._C._set_multithreading_enabled(False): backward runs on the calling thread.
Prints "done STEPS in SECONDS" on success.
"""
import argparse
import ctypes
import faulthandler
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "workloads", "python"))
import torch  # noqa: E402
import torchvision  # noqa: E402
from colo_progress import _driver_green_context  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--variant", default="none", choices=["none", "hook", "nomt"])
ap.add_argument("--steps", type=int, default=300)
a = ap.parse_args()
faulthandler.register(signal.SIGUSR1)
cu = ctypes.CDLL("libcuda.so.1")
if a.variant == "nomt":
    torch._C._set_multithreading_enabled(False)
green_ctx = None
if os.environ.get("COLO_GREEN_SMS"):
    granted, _ = _driver_green_context(int(os.environ["COLO_GREEN_SMS"]),
                                       int(os.environ.get("COLO_GREEN_OFFSET", "0")), 0)
    green_ctx = ctypes.c_void_p()
    cu.cuCtxGetCurrent(ctypes.byref(green_ctx))
seen = set()


def ctx_now():
    c = ctypes.c_void_p()
    cu.cuCtxGetCurrent(ctypes.byref(c))
    return c.value or 0


def prehook(grad_outputs):
    t = threading.get_ident()
    if a.variant == "hook" and green_ctx is not None and ctx_now() != green_ctx.value:
        cu.cuCtxSetCurrent(green_ctx)
    if t not in seen:
        seen.add(t)
        where = "main" if t == threading.main_thread().ident else "other"
        print(f"backward node on {where} thread: context {ctx_now():#x}, green "
              f"{(green_ctx.value if green_ctx else 0):#x}", file=sys.stderr, flush=True)


model = torchvision.models.resnet18().cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(64, 3, 224, 224, device="cuda")
y = torch.randint(0, 1000, (64,), device="cuda")
t0 = time.time()
for i in range(a.steps):
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.grad_fn.register_prehook(prehook)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if i % 50 == 0:
        torch.cuda.synchronize()
        print(f"step {i} {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
torch.cuda.synchronize()
print(f"done {a.steps} in {time.time() - t0:.1f} s", flush=True)
