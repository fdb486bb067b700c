"""Use a trained model: the portable model file, ``Segmenter`` and ``cagnet predict``."""

from cagnet.inference.adapt import AdaptSettings, ClassNameError
from cagnet.inference.export import build_model, export_model
from cagnet.inference.model_file import ModelFile, ModelFileError, load_model_file
from cagnet.inference.segmenter import Prediction, SegmentationNetwork, Segmenter

__all__ = [
    "AdaptSettings",
    "ClassNameError",
    "ModelFile",
    "ModelFileError",
    "Prediction",
    "SegmentationNetwork",
    "Segmenter",
    "build_model",
    "export_model",
    "load_model_file",
]
