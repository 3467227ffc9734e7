"""The architecture holds: services stay apart, shared/ stays below them, no module imports in a circle.

The boundaries are import-linter contracts in pyproject.toml (also run by `make lint`); the cycle
check below looks at every module, imports inside functions included (grimp reads them all).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "shared", "deploy", "demo")


def test_import_linter_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph(*PACKAGES)
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported == importer or imported.startswith(importer + "."):
                continue  # a package importing its own submodules is not a cycle
            chain = graph.find_shortest_chain(importer=imported, imported=importer)
            if chain and not any(importer.startswith(m + ".") for m in chain):
                cycles.append(" -> ".join((importer, *chain)))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(set(cycles))[:20])
