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
(PyTorch >= 2.11, torch.cuda.green_contexts).
"""
import json
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
        if loss is not None:
            event["loss"] = float(loss)
        if latency_ms is not None:
            event["latency_ms"] = float(latency_ms)
        self._write(event)

    def error(self, kind, message):
        """A failure colo should classify: kind "oom", "gpu_fault" or another word."""
        self._write({"event": "error", "kind": kind, "message": str(message)[:1000]})

    def done(self):
        self._write({"event": "done"})

    def apply_green_context(self, device=0):
        """Restricts this process's CUDA work to COLO_GREEN_SMS SMs; returns the SM count or None."""
        sms = os.environ.get("COLO_GREEN_SMS")
        if not sms:
            return None
        import torch  # noqa: PLC0415 (only needed in green mode)

        ctx = torch.cuda.green_contexts.GreenContext.create(int(sms), device)
        ctx.set_context()
        self._green = ctx
        return int(sms)
