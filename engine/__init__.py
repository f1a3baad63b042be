"""Image bytes in, card answers out. See `engine.recognizer.Recognizer`."""

import os

# Thread pools fight over a couple of cores: OpenMP threads that spin while idle (Faiss, and
# torch when present) steal time from ONNX Runtime. Passive waiting must be set before those
# libraries load, hence here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
