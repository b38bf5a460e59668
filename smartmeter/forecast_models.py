"""The forecast's fitted models, kept between runs in the data home.

A refit block's models are a pure function of what they learned from: the hours before the
block's refit day, the meters, the settings and the code (smartmeter/forecast.py). The refit
calendar is fixed (forecast.REFIT_EPOCH), so one more day of data leaves every earlier block's
inputs as they were; the store hands their models back instead of fitting them again. The key is
a digest of every input, so a revised reading, a meter that joins or leaves, other settings or
another version of the code or of LightGBM simply miss and are fitted afresh. A model comes back
as LightGBM wrote it (its text form keeps every number exactly), so its forecasts are the ones a
fresh fit gives, to the last bit. A day's forecasts are kept the same way, keyed by their
block's models and the hours their features read: the backtest days that one more day leaves
as they were are not predicted again.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np

SUFFIX = ".lgbm.txt"
ARRAY_SUFFIX = ".npy"


class ModelStore:
    """LightGBM models and forecast arrays by key in one folder; a run keeps only what it
    used."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.used: set[str] = set()
        self.reused = 0  # models loaded back by the caller (ModelStore.get cannot tell)
        self.days_reused = 0  # days' forecasts read back

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def get(self, key: str) -> str | None:
        """The model's text, or None when no run has fitted it (or its file is unreadable)."""
        self.used.add(key)
        try:
            return self._path(key).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, key: str, text: str) -> None:
        self._write(self._path(key), key, text.encode("utf-8"))

    def get_array(self, key: str, shape: tuple[int, ...]) -> np.ndarray | None:
        """A kept array of this shape (a day's forecasts), or None when there is none or it is
        unreadable or of another shape."""
        self.used.add(key)
        try:
            data = (self.folder / f"{key}{ARRAY_SUFFIX}").read_bytes()
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except (OSError, ValueError):
            return None
        if array.shape != shape:
            return None
        self.days_reused += 1
        return array

    def put_array(self, key: str, array: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        self._write(self.folder / f"{key}{ARRAY_SUFFIX}", key, buffer.getvalue())

    def _write(self, path: Path, key: str, data: bytes) -> None:
        """Written whole under a temporary name, then renamed: a stopped run leaves nothing
        half written under a real key."""
        self.used.add(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def keep_only_used(self) -> None:
        """Drop what this run did not ask for (blocks and days that left the backtest window)
        and any partial file a stopped run left."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            key = path.name.removesuffix(SUFFIX).removesuffix(ARRAY_SUFFIX)
            if path.name.startswith(".partial-") or key not in self.used:
                path.unlink(missing_ok=True)


def digest(*parts: bytes | str) -> str:
    """One key for a sequence of inputs; each part is length-prefixed, so no two sequences
    share a key by running into each other."""
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()
