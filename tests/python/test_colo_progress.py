"""Unit tests of the Python client (workloads/python/colo_progress.py); no GPU, no torch."""
import os
import sys
import types
import unittest
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "workloads", "python"))
import colo_progress  # noqa: E402


class FakeAutograd:
    def __init__(self):
        self.calls = []

    def set_multithreading_enabled(self, mode):
        self.calls.append(mode)


class GreenContextTest(unittest.TestCase):
    def setUp(self):
        self.autograd = FakeAutograd()
        self.torch = types.SimpleNamespace(autograd=self.autograd)

    def test_green_context_turns_autograd_multithreading_off(self):
        # Autograd's worker thread would run backward on the primary context (the whole GPU):
        # measured on the H200 as a stall of 6 of 7 processes (bench/results/2026-11-30-h200-green).
        with mock.patch.dict(os.environ, {"COLO_GREEN_SMS": "16", "COLO_GREEN_OFFSET": "32"}), \
                mock.patch.dict(sys.modules, {"torch": self.torch}), \
                mock.patch.object(colo_progress, "_driver_green_context",
                                  return_value=(16, object())) as driver:
            granted = colo_progress.Progress().apply_green_context()
        self.assertEqual(granted, 16)
        driver.assert_called_once_with(16, 32, 0)
        self.assertEqual(self.autograd.calls, [False])

    def test_no_green_context_leaves_autograd_alone(self):
        env = {k: v for k, v in os.environ.items() if k != "COLO_GREEN_SMS"}
        with mock.patch.dict(os.environ, env, clear=True), \
                mock.patch.dict(sys.modules, {"torch": self.torch}):
            self.assertIsNone(colo_progress.Progress().apply_green_context())
        self.assertEqual(self.autograd.calls, [])

    def test_without_torch_imported_nothing_breaks(self):
        with mock.patch.dict(os.environ, {"COLO_GREEN_SMS": "8"}), \
                mock.patch.dict(sys.modules, {"torch": None}), \
                mock.patch.object(colo_progress, "_driver_green_context",
                                  return_value=(8, object())):
            self.assertEqual(colo_progress.Progress().apply_green_context(), 8)


if __name__ == "__main__":
    unittest.main()
