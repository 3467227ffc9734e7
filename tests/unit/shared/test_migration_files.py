from pathlib import Path

import pytest

from shared.db import migration_files

SERVICES = Path(__file__).resolve().parents[3] / "services"


def test_numbered_files_are_ordered(tmp_path: Path) -> None:
    for name in ("0002_more.sql", "0001_init.sql", "0010_later.sql"):
        (tmp_path / name).write_text("SELECT 1;")
    assert [v for v, _ in migration_files(tmp_path)] == [1, 2, 10]


@pytest.mark.parametrize("bad", ["1_init.sql", "0001-init.sql", "0001_Init.sql"])
def test_badly_named_file_is_refused(tmp_path: Path, bad: str) -> None:
    (tmp_path / bad).write_text("SELECT 1;")
    with pytest.raises(ValueError):
        migration_files(tmp_path)


def test_duplicate_numbers_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("")
    (tmp_path / "0001_b.sql").write_text("")
    with pytest.raises(ValueError):
        migration_files(tmp_path)


@pytest.mark.parametrize("service", ["community", "assets", "trainer", "inference"])
def test_every_service_has_valid_migrations(service: str) -> None:
    assert migration_files(SERVICES / service / "migrations")
