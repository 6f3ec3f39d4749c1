"""The persistent store: SQLite by default, PostgreSQL via a URL."""

from codearena.store.db import Store, StoreError
from codearena.store.models import CatalogModel, Generation, Task

__all__ = ["CatalogModel", "Generation", "Store", "StoreError", "Task"]
