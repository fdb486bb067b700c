"""A ``Segmenter``'s network for a chosen set of names as an ONNX file, and its check.

The file takes ``images`` (B, 3, H, W) float32 RGB in [0, 1] (not normalised) and gives
``scores`` (B, C, H, W) float32 logits, B, H and W dynamic. Its metadata holds the class names
(``class_names``, a JSON list) so a user of the file knows what each of the C channels is.
"""

import copy
import io
import json
import time
import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cagnet.atomic import atomic_write_bytes
from cagnet.errors import CagnetError

INPUT_NAME, OUTPUT_NAME = "images", "scores"
OPSET = 17


class OnnxCheckError(CagnetError):
    """The exported ONNX file disagrees with PyTorch beyond the tolerance."""


def _traceable_same_padding(self: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """TensorFlow "same" padding as tensor arithmetic on the input's size.

    EfficientNet-Lite's ``Conv2dDynamicSamePadding`` computes its padding with ``math.ceil``
    and ``max`` on Python ints, which tracing freezes at the sample's size: a strided layer
    then pads an input of other parity wrongly. Here the same numbers are computed with
    ``//`` and ``clamp``, which the tracer records, so the ONNX graph pads for every size.
    """
    height, width = x.shape[-2:]
    kernel_h, kernel_w = self.weight.shape[-2:]
    (stride_h, stride_w), (dilation_h, dilation_w) = self.stride, self.dilation
    pad_h = ((height + stride_h - 1) // stride_h - 1) * stride_h + (kernel_h - 1) * dilation_h
    pad_w = ((width + stride_w - 1) // stride_w - 1) * stride_w + (kernel_w - 1) * dilation_w
    pad_h, pad_w = pad_h + 1 - height, pad_w + 1 - width
    if torch.is_tensor(pad_h):  # while tracing
        pad_h, pad_w = pad_h.clamp(min=0), pad_w.clamp(min=0)
    else:
        pad_h, pad_w = max(pad_h, 0), max(pad_w, 0)
    x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
    return F.conv2d(
        x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
    )


def traceable_copy(network: nn.Module) -> nn.Module:
    """A deep copy of ``network`` whose size-dependent padding layers trace for any size."""
    network = copy.deepcopy(network).eval()
    for module in network.modules():
        if type(module).__name__ == "Conv2dDynamicSamePadding":
            module.forward = types.MethodType(_traceable_same_padding, module)
    return network


def export_network(
    network: nn.Module,
    class_names: Sequence[str],
    output: Path,
    sample_size: tuple[int, int] = (64, 96),
) -> Path:
    """Trace ``network`` into ``output`` (written atomically) with dynamic batch, height, width.

    Args:
        network: (B, 3, H, W) float32 in [0, 1] -> (B, C, H, W) logits, e.g.
            ``Segmenter.network(classes)``.
        class_names: the C names, stored in the file's metadata.
        output: the ``.onnx`` file to write.
        sample_size: (H, W) of the tracing input; any size works once exported.
    """
    import onnx

    sample = torch.rand(1, 3, *sample_size)
    axes = {0: "batch", 2: "height", 3: "width"}
    exported = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter: no onnxscript needed
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            traceable_copy(network),
            (sample,),
            exported,
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
            opset_version=OPSET,
        )
    proto = onnx.load_from_string(exported.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = "class_names", json.dumps(list(class_names))
    onnx.checker.check_model(proto)
    output = atomic_write_bytes(Path(output), proto.SerializeToString())
    return output


def onnx_session(path: Path, threads: int = 1):
    """An onnxruntime CPU session on ``path`` using ``threads`` threads."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle workers would otherwise spin and take the cores from anything running beside them.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def to_batch(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (1, 3, H, W) float32 in [0, 1], the file's input."""
    return (image.astype(np.float32) / 255.0).transpose(2, 0, 1)[None].copy()


@dataclass(frozen=True)
class OnnxCheck:
    """How the ONNX file's scores compare with PyTorch's on some images."""

    max_abs_diff: float
    argmax_agreement: float  # fraction of pixels with the same top class
    pixels: int

    def passes(self, tolerance: float = 1e-3, agreement: float = 0.999) -> bool:
        return self.max_abs_diff <= tolerance and self.argmax_agreement >= agreement


@torch.no_grad()
def compare_with_torch(
    path: Path, network: nn.Module, images: Sequence[np.ndarray], threads: int = 1
) -> OnnxCheck:
    """Runs each (H, W, 3) uint8 image through both and compares the (C, H, W) scores."""
    session = onnx_session(path, threads)
    worst, same, pixels = 0.0, 0, 0
    for image in images:
        batch = to_batch(image)
        expected = network.eval()(torch.from_numpy(batch)).numpy()
        (actual,) = session.run([OUTPUT_NAME], {INPUT_NAME: batch})
        worst = max(worst, float(np.abs(actual - expected).max()))
        same += int((actual.argmax(1) == expected.argmax(1)).sum())
        pixels += expected.shape[0] * expected.shape[2] * expected.shape[3]
    return OnnxCheck(worst, same / pixels, pixels)


def require_agreement(check: OnnxCheck, tolerance: float = 1e-3, agreement: float = 0.999) -> None:
    """Raises OnnxCheckError naming both numbers when the check fails."""
    if not check.passes(tolerance, agreement):
        raise OnnxCheckError(
            "the ONNX file disagrees with PyTorch: max abs score difference "
            f"{check.max_abs_diff:.2e}"
            f" (limit {tolerance:g}), same top class on {100 * check.argmax_agreement:.3f} % of "
            f"{check.pixels} pixels (need {100 * agreement:g} %); report it with the model file"
        )


@torch.no_grad()
def time_per_image(
    path: Path, network: nn.Module, images: Sequence[np.ndarray], repeats: int = 3, threads: int = 2
) -> tuple[float, float]:
    """(onnxruntime, PyTorch eager) median seconds per image, after one warm-up each."""
    session = onnx_session(path, threads)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        batches = [to_batch(image) for image in images]
        runners = {
            "onnx": lambda b: session.run([OUTPUT_NAME], {INPUT_NAME: b}),
            "torch": lambda b: network.eval()(torch.from_numpy(b)),
        }
        medians = {}
        for name, run in runners.items():
            run(batches[0])
            times = []
            for _ in range(repeats):
                for batch in batches:
                    started = time.perf_counter()
                    run(batch)
                    times.append(time.perf_counter() - started)
            medians[name] = float(np.median(times))
    finally:
        torch.set_num_threads(torch_threads)
    return medians["onnx"], medians["torch"]
