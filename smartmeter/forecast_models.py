"""The forecast's fitted models, kept between runs in the data home.

A refit block's models are a pure function of what they learned from: the hours before the
block's refit day, the meters, the settings and the code (smartmeter/forecast.py). The refit
calendar is fixed (forecast.REFIT_EPOCH), so one more day of data leaves every earlier block's
inputs as they were; the store hands their models back instead of fitting them again. The key is
a digest of every input, so a revised reading, a meter that joins or leaves, other settings or
another version of the code or of LightGBM simply miss and are fitted afresh. A model comes back
as LightGBM wrote it (its text form keeps every number exactly), so its forecasts are the ones a
fresh fit gives, to the last bit.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

SUFFIX = ".lgbm.txt"


class ModelStore:
    """LightGBM models by key in one folder; a run keeps only the models it used."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.used: set[str] = set()
        self.reused = 0

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def get(self, key: str) -> str | None:
        """The model's text, or None when no run has fitted it (or its file is unreadable)."""
        self.used.add(key)
        try:
            text = self._path(key).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        self.reused += 1
        return text

    def put(self, key: str, text: str) -> None:
        """Written whole under a temporary name, then renamed: a stopped run leaves no half
        model behind under a real key."""
        self.used.add(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".partial-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, self._path(key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def keep_only_used(self) -> None:
        """Drop the models this run did not ask for (blocks that left the backtest window)
        and any partial file a stopped run left."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            key = path.name.removesuffix(SUFFIX)
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
