"""storage.revisions reads the same revisions Alembic does (storage.db asks it first)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage import revisions
from storage.db import MIGRATIONS_DIR, Database, _script


def test_the_head_of_the_migration_files_is_alembics() -> None:
    assert revisions.head_of(MIGRATIONS_DIR / "versions") == _script().get_current_head()


def test_a_branch_or_an_unreadable_file_is_left_to_alembic(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    assert revisions.head_of(tmp_path) == "b"
    branch = tmp_path / "branch"
    branch.mkdir()
    for name, down in (("a", "None"), ("b", '"a"'), ("c", '"a"')):
        (branch / f"{name}.py").write_text(f'revision = "{name}"\ndown_revision = {down}\n')
    assert revisions.head_of(branch) is None
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "a.py").write_text("revision = compute()\n")
    assert revisions.head_of(odd) is None


def test_the_current_revision_is_alembics(tmp_path: Path) -> None:
    from alembic.runtime.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'kwa.db'}"
    engine = create_engine(url)
    with engine.connect() as conn:  # never migrated: no version table
        assert revisions.current_revision(conn) is None
        assert MigrationContext.configure(conn).get_current_revision() is None
    assert Database(url).engine is not None  # migrated to head
    with engine.connect() as conn:
        assert revisions.current_revision(conn) == MigrationContext.configure(conn).get_current_revision()
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('other')"))
        with pytest.raises(revisions.Unsure):
            revisions.current_revision(conn)
    engine.dispose()
