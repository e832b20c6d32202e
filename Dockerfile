# cricket-gnn service image: the API, the training worker and train.py in one image.
#   CPU (default):  docker build -t cricket-gnn .
#   CUDA:           docker build --build-arg TORCH_VARIANT=cu128 -t cricket-gnn:cu128 .
# The CUDA wheels bundle the CUDA runtime; the host needs only the NVIDIA driver and the
# container toolkit (docker-compose.yml reserves the GPUs for the worker).
FROM python:3.11-slim

ARG TORCH_VARIANT=cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CRICKET_GNN_VAR_DIR=/app/var \
    CRICKET_GNN_ARTIFACT_ROOT=/artifacts \
    CRICKET_GNN_DATA=/data/t20s_male_json.zip

WORKDIR /app

# torch first, from the index of the wanted variant: the project pins torch==2.13.0,
# which the local "+cpu"/"+cu128" build satisfies, so pip does not fetch another one.
RUN pip install --index-url "https://download.pytorch.org/whl/${TORCH_VARIANT}" torch==2.13.0

COPY pyproject.toml README.md ./
COPY cricket_gnn ./cricket_gnn
COPY api ./api
COPY worker ./worker
COPY migrations ./migrations
COPY alembic.ini train.py ./
# Editable, so the code stays in /app next to train.py and alembic.ini, where the
# service settings look for them.
RUN pip install -e . \
    && useradd --create-home --uid 1000 cricket \
    && mkdir -p /app/var /artifacts \
    && chown -R cricket:cricket /app/var /artifacts

USER cricket
EXPOSE 8000
# The API; the worker and the migration step override the command (docker-compose.yml).
CMD ["python", "-m", "uvicorn", "--factory", "api.main:create_app", "--host", "0.0.0.0", "--port", "8000"]
