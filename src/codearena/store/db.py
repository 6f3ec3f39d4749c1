"""Engines and sessions; a new database is migrated to the latest schema on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from codearena.errors import CodearenaError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA_HEAD = "0017"
"""The newest migration's revision. Opening a database compares it with the stored revision in
one query, and imports Alembic (a fifth of a second) only when there is something to migrate;
``tests/store/test_store.py`` checks that it is Alembic's head."""
SQLITE_BUSY_TIMEOUT_MS = 10_000
POSTGRES_CONNECT_TIMEOUT_S = 10  # unless the URL sets connect_timeout


class StoreError(CodearenaError):
    """The database cannot be opened or migrated; the message says what to do."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL {url!r}: {exc}") from exc
    if parsed.drivername.startswith("postgresql") and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder {folder} for the database {_shown(parsed)}: "
                    f"{exc.strerror}. Check CODEARENA_DATABASE_URL."
                ) from exc
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    psycopg = parsed.drivername in ("postgresql+psycopg", "postgresql+psycopg2")
    if psycopg and "connect_timeout" not in parsed.query:  # an unreachable host fails in seconds
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    try:
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the driver for {parsed.drivername} is not installed: pip install 'codearena[postgres]'"
        ) from exc


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _cannot_open(url: URL, reason: object) -> StoreError:
    """One line saying which database cannot be opened, why, and what to check."""
    why = " ".join(str(reason).split()) or type(reason).__name__
    why += "" if why.endswith((".", "?", "!")) else "."
    if url.drivername.startswith("sqlite"):
        hint = "it must name a SQLite database file, or a path for a new one."
    else:
        hint = "the server must be running and reachable, with this user and password."
    return StoreError(
        f"cannot open the database {_shown(url)}: {why} Check CODEARENA_DATABASE_URL: {hint}"
    )


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """Alembic's own head, read from the migration scripts."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return script.get_current_head()


def _stored_revision(engine: Engine) -> str | None:
    """The revision in ``alembic_version``, or None for a new (or not yet migrated) database,
    without importing Alembic."""
    with engine.connect() as connection:
        if not engine.dialect.has_table(connection, "alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Migrate to the latest schema (a no-op when already there).

    A database that cannot be opened (a file that is not a SQLite database, a server that does
    not answer, a wrong password) or whose schema this version does not know raises
    :class:`StoreError` with a one-line message."""
    try:
        if _stored_revision(engine) == SCHEMA_HEAD:
            return
        from alembic import command
        from alembic.util import CommandError

        try:
            command.upgrade(alembic_config(engine), "head")
        except CommandError as exc:  # e.g. a revision written by a newer codearena
            raise StoreError(
                f"cannot migrate the database {_shown(engine.url)}: {exc}. Is it from a newer "
                "version of codearena? Upgrade codearena, or point CODEARENA_DATABASE_URL "
                "elsewhere."
            ) from exc
    except DBAPIError as exc:
        raise _cannot_open(engine.url, exc.orig) from exc


class Store:
    """The database behind everything the pipeline produces."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
