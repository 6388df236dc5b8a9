"""podgym environments: Kubernetes semantics (envs.kube) and, on top of them, the cluster simulator."""
