"""infra-operator: AWS infrastructure as Kubernetes custom resources, OpenTelemetry-native."""
