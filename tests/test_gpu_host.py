"""A GPU server simulated on the CPU (tests/fake_cuda_host.py): CPU runs never touch CUDA,
GPU runs get TF32, the device list shows the GPUs."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from tests.fake_cuda_host import GIB, FakeCuda
from tests.trainer_fakes import Recorder, blobs_bundle
from trainers.config import default_config
from trainers.devices import available_devices, prepare_device, resolve_device
from trainers.loop import Trainer, default_callbacks

ROOT = Path(__file__).resolve().parents[1]

# The worker process's own sequence (niceness, threads, memory cap, the real train_run) on a
# fake GPU host, in a fresh interpreter so the cap cannot reach the test process.
CHILD = textwrap.dedent("""
    import json, threading
    from multiprocessing import Pipe
    from tests.fake_cuda_host import FakeCuda
    fake = FakeCuda().install()
    from builder.templates import load_template
    from trainers.config import RunSpec, TrainConfig
    from trainers.control import RunControl
    from trainers.process_worker import _child_main
    spec = RunSpec(graph=load_template("mlp_digits").to_dict(), dataset="digits",
                   config=TrainConfig(epochs=1))
    receive, send = Pipe(duplex=False)
    events = []
    def read():
        try:
            while True:
                events.append(receive.recv())
        except EOFError:
            pass
    reader = threading.Thread(target=read)
    reader.start()
    _child_main("trainers.loop:train_run", spec, RunControl.for_thread(), send, 1, 1536)
    reader.join()
    print(json.dumps({"kinds": [e["kind"] for e in events],
                      "failure": [e["error"] for e in events if e["kind"] == "_failed"],
                      "cuda_calls": fake.calls}))
""")


def test_a_cpu_run_in_a_process_worker_on_a_gpu_host_never_touches_cuda():
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["failure"] == []
    assert report["kinds"][-1] == "done" and "epoch" in report["kinds"]
    assert report["cuda_calls"] == []


def test_a_cpu_run_asks_cuda_nothing(monkeypatch):
    fake = FakeCuda().install(monkeypatch)
    assert resolve_device("cpu") == torch.device("cpu")
    trainer = Trainer(torch.nn.Linear(8, 3), blobs_bundle(), default_config(
        "classification", epochs=1), default_callbacks(Recorder()))
    assert trainer.fit()["status"] == "finished"
    assert fake.calls == []


def test_the_device_list_shows_each_gpu_and_an_auto_choice_when_there_are_several(monkeypatch):
    FakeCuda(gpus=1).install(monkeypatch)
    assert [d.id for d in available_devices()[:2]] == ["cpu", "cuda:0"]
    assert available_devices()[1].name == "Fake H100 (80 GiB)"
    assert available_devices()[1].amp_modes == ("off", "bf16", "fp16")
    FakeCuda(gpus=2, major=7).install(monkeypatch)
    devices = available_devices()
    assert [d.id for d in devices[:4]] == ["cpu", "cuda", "cuda:0", "cuda:1"]
    assert devices[1].name == "GPU (auto: least busy of 2)" and devices[1].amp_modes == ("off", "fp16")
    assert resolve_device("cuda:1", amp="fp16") == torch.device("cuda:1")
    with pytest.raises(ValueError, match="amp 'bf16' is not offered on cuda:0"):
        resolve_device("cuda:0", amp="bf16")


@pytest.fixture
def precision_kept():
    """TF32 settings are process-wide: put them back after the test."""
    matmul, cudnn = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    yield
    torch.set_float32_matmul_precision(matmul)
    torch.backends.cudnn.allow_tf32 = cudnn


@pytest.mark.parametrize("major, tf32", [(9, True), (8, True), (7, False)])
def test_a_cuda_run_uses_tf32_on_gpus_that_have_it(monkeypatch, precision_kept, major, tf32):
    FakeCuda(major=major).install(monkeypatch)
    torch.set_float32_matmul_precision("highest")
    prepare_device(torch.device("cuda:0"))
    assert torch.backends.cuda.matmul.allow_tf32 is tf32
    assert torch.get_float32_matmul_precision() == ("high" if tf32 else "highest")


def test_a_cpu_run_leaves_float32_precision_alone(precision_kept):
    torch.set_float32_matmul_precision("highest")
    prepare_device(torch.device("cpu"))
    assert torch.get_float32_matmul_precision() == "highest"


def test_the_train_page_shows_live_gpu_use_a_gpu_batch_size_and_a_launch_bound_hint(monkeypatch):
    from tests.test_train_page import open_page, rerun, set_widget
    monkeypatch.setenv("LAYERLOOM_WORKER", "thread")
    FakeCuda(gpus=2, used=[12 * GIB, 0]).install(monkeypatch)
    app = open_page("cnn_seed")
    device = next(box for box in app.selectbox if box.label == "Device")
    labels = device.options  # as shown
    assert labels[:2] == ["CPU", "GPU (auto: least busy of 2)"]
    assert labels[2] == "Fake H100 (80 GiB) · 12.0 GiB of 80.0 GiB in use"
    batch = next(s for s in app.select_slider if s.label == "Batch size")
    assert batch.value == 64 and not [c for c in app.caption if "little work" in c.value]
    set_widget(app, device.key, "cuda:1")
    rerun(app)
    batch = next(s for s in app.select_slider if s.label == "Batch size")
    assert batch.value == 256
    hint = [c.value for c in app.caption if "little work per step for a GPU" in c.value]
    assert hint and "batch size of 1024 or more" in hint[0]
    set_widget(app, batch.key, 1024)
    rerun(app)
    assert not [c for c in app.caption if "little work" in c.value]
