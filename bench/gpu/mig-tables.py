#!/usr/bin/env python3
"""Prints the MIG profile table the NVIDIA driver reports for each GPU (read-only: NVML's
nvmlDeviceGetGpuInstanceProfileInfo v2 and nvmlDeviceGetGpuInstancePossiblePlacements; MIG mode,
instances and settings are left alone). Used to check colo's shipped tables
(src/gpu/mig/mig_profiles.cpp) against the driver. Needs nvidia-ml-py (pynvml). The placements
call was fixed after its first run on the H200 (2026-11-30), where `nvidia-smi mig -lgipp` gave
them instead; the fixed call has not run on a GPU yet."""
import ctypes

import pynvml as n


def placements(h, profile_id):
    """nvmlDeviceGetGpuInstancePossiblePlacements_v2 through pynvml's low-level binding."""
    count = ctypes.c_uint(16)
    arr = (n.c_nvmlGpuInstancePlacement_t * 16)()
    n.nvmlDeviceGetGpuInstancePossiblePlacements(h, profile_id, arr, ctypes.byref(count))
    return [arr[i] for i in range(count.value)]


n.nvmlInit()
print("driver", n.nvmlSystemGetDriverVersion())
for i in range(n.nvmlDeviceGetCount()):
    h = n.nvmlDeviceGetHandleByIndex(i)
    mem = n.nvmlDeviceGetMemoryInfo(h).total >> 20
    try:
        cur, pend = n.nvmlDeviceGetMigMode(h)
    except n.NVMLError as e:
        cur, pend = str(e), ""
    print(f"GPU {i}: {n.nvmlDeviceGetName(h)} {mem} MiB, MIG mode {cur}/{pend}")
    print("enum id name sliceCount instanceCount SMs CE memorySizeMB placements")
    for e in range(0, 16):
        try:
            try:
                p = n.nvmlDeviceGetGpuInstanceProfileInfo(h, e, 2)
                name = p.name.decode() if isinstance(p.name, bytes) else p.name
            except TypeError:
                p = n.nvmlDeviceGetGpuInstanceProfileInfo(h, e)
                name = "?"
        except n.NVMLError as err:
            print(f"{e} - {err}")
            continue
        try:
            pl = placements(h, p.id)
            pls = ",".join(f"{x.start}:{x.size}" for x in pl)
        except Exception as err:  # noqa: BLE001 - report whatever the binding raises
            pls = f"({err})"
        print(f"{e} {p.id} {name} {p.sliceCount} {p.instanceCount} {p.multiprocessorCount} "
              f"{p.copyEngineCount} {p.memorySizeMB} {pls}")
n.nvmlShutdown()
