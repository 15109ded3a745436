"""archiver.store.locks: a held folder is seen as held, by another process too, and a holder that
dies holds nothing."""

from __future__ import annotations

import subprocess
import sys

from archiver.store.locks import held, holding


def test_a_free_folder_is_not_held(tmp_path) -> None:
    assert not held(tmp_path) and not held(tmp_path, exclusive=False)
    assert not held(tmp_path / "gone")  # a folder that is no more holds nothing


def test_a_reader_holds_it_shared(tmp_path) -> None:
    with holding(tmp_path):
        assert held(tmp_path)  # prune asks exclusively: a reader keeps it
        assert not held(tmp_path, exclusive=False)  # another reader may read it too
    assert not held(tmp_path)


def test_a_holder_that_is_killed_holds_nothing(tmp_path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from archiver.store.locks import holding\n"
        "with holding(Path(sys.argv[1]), exclusive=True):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        assert held(tmp_path) and held(tmp_path, exclusive=False)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert not held(tmp_path)
