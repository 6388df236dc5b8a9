"""The deployable scheduler: an ONNX scorer, a kube-scheduler extender server, a secondary scheduler and
manifests. It depends on numpy, onnxruntime, an HTTP server and the official kubernetes client, and never
imports torch or stable-baselines3 (DESIGN rule 6)."""
