# The operator image: `docker build -t infra-operator:0.1.0 .` from the repository root.
# Installs the project from its own files only; runs as a numeric non-root user, so the
# Deployment's runAsNonRoot holds without naming a user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /install /usr/local
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["infra-operator", "run"]
