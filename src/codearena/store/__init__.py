"""The persistent store: SQLite by default, PostgreSQL via a URL."""

import codearena.store.api_models
import codearena.store.platform_models
import codearena.store.research_models  # noqa: F401  (every table registered on Base)
from codearena.store.db import Store, StoreError
from codearena.store.models import CatalogModel, Generation, Task

__all__ = ["CatalogModel", "Generation", "Store", "StoreError", "Task"]
