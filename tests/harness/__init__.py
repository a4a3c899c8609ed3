"""The shared end-to-end test harness: AWS (moto over HTTP with fault injection) and Kubernetes
(an API server emulation on kmock, or a real cluster from KUBECONFIG). See README.md."""
