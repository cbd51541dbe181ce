"""The HTTP API and pages (FastAPI): collector endpoints, jobs, estimates."""

from jobcast.service.app import create_app

__all__ = ["create_app"]
