"""ASGI entry point for deployments: `uvicorn api.main:app` (settings from the environment)."""

from __future__ import annotations

from api.app import create_app
from core.logging import configure_logging
from core.runtime import tune_gc
from core.settings import get_settings

configure_logging(get_settings())  # after uvicorn's own logging setup, so its loggers follow
app = create_app(get_settings())
tune_gc()
