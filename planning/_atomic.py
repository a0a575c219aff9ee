"""Output folders written whole or not at all.

A run writes into ``.<name>.tmp-<pid>-*`` beside the output folder and swaps it in when complete
(the previous folder waits as ``.<name>.old-<pid>`` for the moment of the swap). A run that is
killed cannot tidy up; the next run removes what dead processes left, and puts an ``.old``
folder back if a kill landed between the two renames.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path


def temp_folder(out: Path) -> Path:
    """A fresh hidden folder beside ``out`` to write into (stale ones removed first)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))


def swap_into_place(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp``; if anything fails between the renames, restore ``out``."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        if old is not None and not out.exists():
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_stale(out: Path) -> None:
    """Remove temporary folders of dead runs beside ``out``; restore a lost ``out``."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.(tmp|old)-(\d+)")
    for path in sorted(out.parent.glob(f".{out.name}.*")):
        match = pattern.match(path.name)
        if not match or _alive(int(match.group(2))):
            continue
        if match.group(1) == "old" and not out.exists():
            path.rename(out)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill would end the process on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))  # type: ignore[attr-defined]
        ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
