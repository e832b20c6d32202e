"""The Celery application of the training workers.

Start one with ``python -m api worker`` (or ``celery -A worker.celery_app worker -Q
training --concurrency 1``). Nothing here imports torch: training runs in a torchrun
subprocess, so the prefork pool never forks a process that ran torch (DESIGN §7).
"""

from __future__ import annotations

from celery import Celery

from api.settings import get_settings

settings = get_settings()
settings.ensure_local_dirs()

app = Celery("cricket_gnn_worker", include=["worker.tasks"])
app.conf.update(settings.celery_config())
