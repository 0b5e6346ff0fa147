#!/usr/bin/env python3
"""colo serve's worker for functions of kind `python` (docs/serve.md).

    python3 colo_serve_worker.py module:function

Imports `module` once (so a model it loads at import time loads once per worker), then reads one
task per line on stdin ({"id", "attempt", "input"}) and writes one answer per line on stdout:
{"result": function(input)} or {"error": "<exception type>: <message>"}. Anything the function
prints goes to stderr, so that stdout carries the protocol only. Exits 0 at EOF.
"""
import importlib
import json
import sys
import traceback


def load(entry):
    module_name, _, func_name = entry.partition(":")
    if not module_name or not func_name:
        raise SystemExit(f"colo_serve_worker: expected module:function, got {entry!r}")
    module = importlib.import_module(module_name)
    func = getattr(module, func_name, None)
    if not callable(func):
        raise SystemExit(f"colo_serve_worker: {module_name} has no callable {func_name!r}")
    return func


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: colo_serve_worker.py module:function")
    func = load(argv[1])
    out = sys.stdout
    sys.stdout = sys.stderr  # the function's prints must not break the protocol
    for line in sys.stdin:
        try:
            task = json.loads(line)
            answer = {"result": func(task.get("input"))}
            text = json.dumps(answer)
        except Exception as e:  # noqa: BLE001 - every failure becomes the task's error
            traceback.print_exc(file=sys.stderr)
            text = json.dumps({"error": f"{type(e).__name__}: {e}"})
        out.write(text + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
