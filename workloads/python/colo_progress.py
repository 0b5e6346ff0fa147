"""colo's progress protocol for Python workloads (docs/progress-protocol.md).

One file, standard library only. Outside colo (COLO_PROGRESS unset) every call is a no-op.

    from colo_progress import Progress
    p = Progress()
    ... build the model, warm up ...
    p.ready()            # blocks until colo releases all workloads together
    for batch in data:
        train_step(batch)
        p.step(samples=len(batch), loss=float(loss))

Green contexts (colo mode `green`): colo sets COLO_GREEN_SMS; call `p.apply_green_context()`
after importing torch and before creating tensors to restrict this process to that many SMs
(the CUDA driver's green contexts through ctypes; PyTorch >= 2.11). It also turns PyTorch's
multithreaded autograd off, so that backward runs on the calling thread, inside the green
context: autograd's worker thread would otherwise run backward on the primary context, the whole
GPU (measured on the H200: 7 processes so split stalled, bench/results/2026-11-30-h200-green).
Other threads that launch CUDA work must make the context current themselves.
"""
import json
import math
import os

__all__ = ["Progress"]


def _fd(name):
    value = os.environ.get(name, "")
    if not value.startswith("fd:"):
        return None
    try:
        return int(value[3:])
    except ValueError:
        return None


class Progress:
    """Reports steps to colo. Not thread-safe: report from one thread."""

    def __init__(self):
        self._out = _fd("COLO_PROGRESS")
        self._start = _fd("COLO_START")
        self._step = 0
        self._green = None
        # Says at once that this workload speaks the protocol (progress: auto waits
        # hello_timeout for a first line, then measures silent workloads by wall time).
        self._write({"event": "hello"})

    @property
    def active(self):
        return self._out is not None

    def _write(self, obj):
        if self._out is None:
            return
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        try:
            while data:
                n = os.write(self._out, data)
                data = data[n:]
        except OSError:
            self._out = None  # colo went away

    def ready(self):
        """Initialization done: tell colo, then wait for the start barrier."""
        self._write({"event": "ready"})
        if self._start is not None:
            try:
                os.read(self._start, 1)
            finally:
                os.close(self._start)
                self._start = None

    def step(self, samples, loss=None, latency_ms=None):
        """One step done with `samples` samples processed."""
        self._step += 1
        event = {"event": "step", "step": self._step, "samples": samples}
        # JSON has no NaN/Infinity: colo would ignore the whole line as malformed (and lose the
        # step), so a non-finite value is left out instead.
        if loss is not None and math.isfinite(float(loss)):
            event["loss"] = float(loss)
        if latency_ms is not None and math.isfinite(float(latency_ms)):
            event["latency_ms"] = float(latency_ms)
        self._write(event)

    def error(self, kind, message):
        """A failure colo should classify: kind "oom", "gpu_fault" or another word."""
        self._write({"event": "error", "kind": kind, "message": str(message)[:1000]})

    def done(self):
        self._write({"event": "done"})

    def apply_green_context(self, device=0):
        """Restricts this process's CUDA work to COLO_GREEN_SMS SMs starting at COLO_GREEN_OFFSET;
        returns the SM count granted or None. Call after importing torch, before any CUDA work.

        Processes given disjoint ranges run on disjoint SMs (side by side under MPS).
        torch.cuda.green_contexts cannot choose which SMs (every process would get the same
        first ones), so the green context is made with the CUDA driver through ctypes and made
        current, as torch's own GreenContext.set_context() does.
        """
        sms = os.environ.get("COLO_GREEN_SMS")
        if not sms:
            return None
        offset = int(os.environ.get("COLO_GREEN_OFFSET", "0"))
        granted, self._green = _driver_green_context(int(sms), offset, device)
        _autograd_on_calling_thread()
        return granted


def _autograd_on_calling_thread():
    """Backward on the thread that calls it (the one whose current context is green)."""
    import sys  # noqa: PLC0415

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.autograd.set_multithreading_enabled(False)


def _driver_green_context(sms, offset, device):
    """Green context of `sms` SMs from SM `offset`, made current; (SMs granted, handle)."""
    import ctypes  # noqa: PLC0415

    class SmResource(ctypes.Structure):  # CUdevSmResource (CUDA 13)
        _fields_ = [("smCount", ctypes.c_uint), ("minSmPartitionSize", ctypes.c_uint),
                    ("smCoscheduledAlignment", ctypes.c_uint)]

    class DevResource(ctypes.Structure):  # CUdevResource: type, 92 bytes, 48-byte union
        _fields_ = [("type", ctypes.c_int), ("_pad", ctypes.c_ubyte * 92), ("sm", SmResource),
                    ("_rest", ctypes.c_ubyte * (48 - ctypes.sizeof(SmResource)))]

    cu = ctypes.CDLL("libcuda.so.1")

    def check(r, what):
        if r != 0:
            raise RuntimeError(f"colo green context: {what} failed (CUresult {r})")

    check(cu.cuInit(0), "cuInit")
    dev = ctypes.c_int()
    check(cu.cuDeviceGet(ctypes.byref(dev), device), "cuDeviceGet")
    whole = DevResource()
    check(cu.cuDeviceGetDevResource(dev, ctypes.byref(whole), 1), "cuDeviceGetDevResource")
    granule = whole.sm.minSmPartitionSize or 8
    n = ctypes.c_uint(whole.sm.smCount // granule)
    groups = (DevResource * n.value)()
    check(cu.cuDevSmResourceSplitByCount(groups, ctypes.byref(n), ctypes.byref(whole), None, 0,
                                         granule), "cuDevSmResourceSplitByCount")
    count = min(-(-sms // granule), n.value)
    first = min(offset // granule, n.value - count)
    desc = ctypes.c_void_p()
    start = ctypes.cast(ctypes.addressof(groups) + first * ctypes.sizeof(DevResource),
                        ctypes.POINTER(DevResource))
    check(cu.cuDevResourceGenerateDesc(ctypes.byref(desc), start, count),
          "cuDevResourceGenerateDesc")
    green = ctypes.c_void_p()
    check(cu.cuGreenCtxCreate(ctypes.byref(green), desc, dev, 1), "cuGreenCtxCreate")
    ctx = ctypes.c_void_p()
    check(cu.cuCtxFromGreenCtx(ctypes.byref(ctx), green), "cuCtxFromGreenCtx")
    check(cu.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
    return sum(groups[i].sm.smCount for i in range(first, first + count)), green
