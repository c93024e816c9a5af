"""A simulated CUDA host for CPU-only CI: torch.cuda answers as if GPUs were there.

Like a real driver, the fake fails with "cudaGetDeviceCount() ... out of memory" when it is
first asked something under an address-space cap (RLIMIT_AS), which is how CPU runs in process
workers died on GPU servers. Every call is recorded in `calls`, so a test can also demand that
a CPU run asks CUDA nothing at all.
"""
from __future__ import annotations

import resource
from types import SimpleNamespace

import torch

GIB = 2**30


class FakeCuda:
    def __init__(self, gpus: int = 1, total: int = 80 * GIB, used: list[int] | None = None,
                 major: int = 9):
        self.gpus, self.total, self.major = gpus, total, major
        self.used = list(used or [0] * gpus)
        self.calls: list[str] = []

    def _called(self, name: str) -> None:
        self.calls.append(name)
        if resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY:
            raise RuntimeError("Unexpected error from cudaGetDeviceCount(). Did you run some cuda "
                               "functions before calling NumCudaDevices() that might have already "
                               "set an error? Error 2: out of memory")

    def is_available(self) -> bool:
        self._called("is_available")
        return True

    def device_count(self) -> int:
        self._called("device_count")
        return self.gpus

    def get_device_properties(self, index=0):
        self._called("get_device_properties")
        return SimpleNamespace(name="Fake H100", major=self.major, minor=0, total_memory=self.total)

    def get_device_capability(self, device=None):
        self._called("get_device_capability")
        return (self.major, 0)

    def mem_get_info(self, index=0):
        self._called("mem_get_info")
        index = index.index if isinstance(index, torch.device) else int(index or 0)
        return self.total - self.used[index], self.total

    def patches(self) -> dict:
        return {name: getattr(self, name) for name in
                ("is_available", "device_count", "get_device_properties",
                 "get_device_capability", "mem_get_info")}

    def install(self, monkeypatch=None) -> FakeCuda:
        """Patch torch.cuda (through `monkeypatch` in a test, for good in a subprocess)."""
        for name, fake in self.patches().items():
            if monkeypatch is None:
                setattr(torch.cuda, name, fake)
            else:
                monkeypatch.setattr(torch.cuda, name, fake)
        return self
