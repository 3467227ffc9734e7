# syntax=docker/dockerfile:1
# Atelier market service. Build from the repository root:
#   docker build -f deploy/docker/market.Dockerfile -t atelier/market:0.1.0 .
# Core dependencies only.

FROM python:3.11.10-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The package (shared + this one service) with its pinned dependency group.
COPY pyproject.toml ./
COPY requirements/constraints.txt requirements/constraints.txt
COPY shared/ shared/
COPY services/__init__.py services/__init__.py
COPY services/market/ services/market/
RUN pip install --no-compile -c requirements/constraints.txt "."

FROM python:3.11.10-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 atelier \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin atelier
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    ATELIER_HTTP_HOST=0.0.0.0
# Runs from the installed package; the root filesystem can be read-only (only /tmp and
# ATELIER_STATE_DIR are written, both volumes in Kubernetes).
WORKDIR /opt/atelier
USER 10001:10001
EXPOSE 8086
ENTRYPOINT ["python", "-m", "services.market"]
