"""Installation hygiene: compiled-kernel caches never land inside the installed package.

A regular install followed by an editable one (the README's two commands in one clone) once left
Numba cache files in ``site-packages/pgm/``, which then shadowed the editable install as an empty
namespace package. ``.ci/run`` checks the two commands end to end; these tests check the cause.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _numba_cache_dir(env_updates):
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(env_updates)
    env["PYTHONPATH"] = str(ROOT)
    code = "import pgm, numba.core.config as c; print(c.CACHE_DIR)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_numba_cache_defaults_to_the_user_cache(tmp_path):
    got = _numba_cache_dir({"XDG_CACHE_HOME": str(tmp_path)})
    assert Path(got) == tmp_path / "pgm" / "numba"
    assert not str(got).startswith(str(ROOT / "pgm"))


def test_a_users_numba_cache_dir_is_kept(tmp_path):
    mine = tmp_path / "mine"
    assert Path(_numba_cache_dir({"NUMBA_CACHE_DIR": str(mine)})) == mine


def test_packaging_excludes_output_folders_and_ships_a_license():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'include = ["pgm", "pgm.*"]' in text
    assert "Copyright (c) 2026 the pgm developers" in (ROOT / "LICENSE").read_text()
