"""Training code for the bundled GMNet predictor (needs the ``gainmap[train]`` extra: torch and onnx).

One command: ``python -m gainmap.predict.training --config tiny|cpu|full --seed 0 --out DIR``.
Importing this package does not import torch; :mod:`.data` and :mod:`.splits` are numpy/Pillow only.
"""
