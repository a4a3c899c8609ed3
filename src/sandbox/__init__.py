"""The local sandbox: an AWS endpoint (moto server with fault injection) and a Kubernetes API
emulation on 127.0.0.1, with the operator running against them (`infra-operator sandbox`).
The test harness uses the same servers. The operator and telemetry never import this package."""
