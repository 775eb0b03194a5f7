"""Where a local model runs: ``--device`` checked against this machine, and the dtype ``auto`` means there.

Used by the hf and vLLM backends and by the trainer; torch is imported only when a function is called.
"""

from __future__ import annotations

from ecombench.errors import EcombenchError


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str) -> str:
    """``--device`` as torch will accept it, or one line saying why this machine cannot use it."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise EcombenchError(f"--device {device}: not a device name (use cpu, cuda, cuda:N or mps)") from exc
    if parsed.type == "cuda":
        if torch.version.cuda is None:
            raise EcombenchError(f"--device {device}: this torch ({torch.__version__}) is built without CUDA; use --device cpu or install a CUDA build")
        if not torch.cuda.is_available() or (parsed.index or 0) >= torch.cuda.device_count():
            raise EcombenchError(f"--device {device}: no such CUDA device visible ({torch.cuda.device_count()} visible)")
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise EcombenchError(f"--device {device}: MPS is not available on this machine")
    elif parsed.type not in ("cpu", "cuda", "mps"):
        raise EcombenchError(f"--device {device}: use cpu, cuda, cuda:N or mps")
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """``auto``: bfloat16 on GPUs that support it, float32 otherwise."""
    if dtype != "auto":
        return dtype
    import torch

    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bfloat16"
    return "float32"
