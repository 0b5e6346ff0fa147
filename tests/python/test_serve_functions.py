"""Unit tests of colo serve's PyTorch functions (workloads/torch/serve_functions.py) without torch:
the module imports, a call says clearly what is missing, inputs are checked, sleep_task works."""
import os
import sys
import types
import unittest
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "workloads", "torch"))
import serve_functions  # noqa: E402


class ServeFunctionsTest(unittest.TestCase):
    def setUp(self):
        serve_functions._MODELS.clear()

    def test_without_torch_a_call_names_pytorch(self):
        with mock.patch.dict(sys.modules, {"torch": None}):  # import torch raises ImportError
            for fn in (serve_functions.gpt_generate, serve_functions.resnet50_infer):
                with self.assertRaisesRegex(RuntimeError, "PyTorch is not installed"):
                    fn(None)

    def test_without_cuda_a_call_names_cuda(self):
        torch = types.SimpleNamespace(__version__="9.9",
                                      cuda=types.SimpleNamespace(is_available=lambda: False))
        with mock.patch.dict(sys.modules, {"torch": torch}), \
                mock.patch.dict(os.environ, {"CUDA_VISIBLE_DEVICES": "GPU-x"}):
            with self.assertRaisesRegex(RuntimeError, r"CUDA is not available.*9\.9.*GPU-x"):
                serve_functions.gpt_generate({"tokens": 4})

    def test_bad_inputs_are_named(self):
        for bad in ({"tokens": 0}, {"tokens": "64"}, {"prompt_len": True}):
            with self.assertRaises(ValueError) as e:
                serve_functions.gpt_generate(bad)
            self.assertIn(next(iter(bad)), str(e.exception))
        with self.assertRaisesRegex(ValueError, "seconds"):
            serve_functions.sleep_task({"seconds": -1})

    def test_sleep_task_reports_its_time_and_worker(self):
        with mock.patch.dict(os.environ, {"COLO_SERVE_WORKER": "3"}):
            r = serve_functions.sleep_task({"seconds": 0})
        self.assertEqual(r["worker"], 3)
        self.assertEqual(r["pid"], os.getpid())
        self.assertGreaterEqual(r["seconds"], 0)


if __name__ == "__main__":
    unittest.main()
