"""On-disk cache of road graphs and travel-cost tables, keyed by the hashes of their inputs.

A second scenario on the same county reuses the parsed road file and the cost tables instead of
recomputing them. Entries are plain files (NumPy ``.npz`` without pickles, Parquet) under one
folder: ``$SCHOOLPLAN_CACHE`` if set, else ``~/.cache/schoolplan``. Every write goes to a
temporary file in that folder and is moved into place with :func:`os.replace`, so a reader never
sees half a file, and two runs writing the same entry at once leave one whole copy.

Deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

ENV_VAR = "SCHOOLPLAN_CACHE"
#: Bumped whenever the meaning of a cached file changes; old entries are then ignored.
FORMAT_VERSION = "1"


def default_dir() -> Path:
    """The cache folder: ``$SCHOOLPLAN_CACHE`` if set, else ``~/.cache/schoolplan``."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path.home() / ".cache" / "schoolplan"


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def key(*parts: object) -> str:
    """A hex SHA-256 over ``parts``: strings, numbers, mappings, lists and NumPy arrays.

    Arrays are hashed by dtype, shape and bytes; everything else through sorted-key JSON, so
    equal settings always give equal keys.
    """
    h = hashlib.sha256(FORMAT_VERSION.encode())
    for part in parts:
        if isinstance(part, np.ndarray):
            arr = np.ascontiguousarray(part)
            if arr.dtype.kind == "O":
                arr = arr.astype(str)
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(arr.tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()


@contextmanager
def _atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_table(
    df: pd.DataFrame, path: str | Path, *, meta: Mapping[str, Any] | None = None
) -> None:
    """Write ``df`` to ``path`` (Parquet, or CSV when the name ends in ``.csv``) atomically.

    ``meta`` is stored as JSON in the Parquet file's key-value metadata (ignored for CSV).
    """
    path = Path(path)
    with _atomic_path(path) as tmp:
        if path.suffix.lower() == ".csv":
            df.to_csv(tmp, index=False, encoding="utf-8")
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        extra = {b"schoolplan": json.dumps(dict(meta or {}), default=str).encode()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
        pq.write_table(table, tmp)


def read_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a Parquet table written by :func:`write_table` and its ``meta``."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(b"schoolplan", b"{}")
    return table.to_pandas(), json.loads(raw)


def write_arrays(
    path: str | Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
) -> None:
    """Save named arrays and JSON ``meta`` as one ``.npz`` file, atomically (no pickles)."""
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload["__meta__"] = np.array(json.dumps(dict(meta), default=str))
    with _atomic_path(Path(path)) as tmp, tmp.open("wb") as f:
        np.savez(f, **payload)  # type: ignore[arg-type]


def read_arrays(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load what :func:`write_arrays` saved."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
        meta = json.loads(str(data["__meta__"]))
    return arrays, meta


def entry(kind: str, digest: str, suffix: str, *, cache_dir: str | Path | None = None) -> Path:
    """Path of the cache entry ``kind/digest.suffix`` under ``cache_dir`` (default folder)."""
    root = Path(cache_dir) if cache_dir is not None else default_dir()
    return root / kind / f"{digest}{suffix}"


def store(write: Any, *args: Any, **kwargs: Any) -> None:
    """Call a ``write_*`` function for a cache entry; a failure (read-only home, full disk) is
    logged and otherwise ignored, since the cache only saves time."""
    try:
        write(*args, **kwargs)
    except OSError as exc:
        logger.warning("could not write the cache entry: %s", exc)


def try_read_arrays(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """:func:`read_arrays`, or None when the entry is missing or unreadable (then recomputed)."""
    if not path.exists():
        return None
    try:
        return read_arrays(path)
    except Exception as exc:  # a damaged entry is recomputed, never fatal
        logger.warning("ignoring unreadable cache entry %s: %s", path, exc)
        return None


def try_read_table(path: Path) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """:func:`read_table`, or None when the entry is missing or unreadable (then recomputed)."""
    if not path.exists():
        return None
    try:
        return read_table(path)
    except Exception as exc:  # a damaged entry is recomputed, never fatal
        logger.warning("ignoring unreadable cache entry %s: %s", path, exc)
        return None
