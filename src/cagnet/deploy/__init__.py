"""Deploying a model outside Python: ONNX export and its check (extra ``onnx``)."""
