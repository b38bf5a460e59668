"""The places of a data home: its landing, raw archive and Parquet archive, each a folder of
the home unless the settings (--landing-url, --archive-url, --parquet-url) name another
folder or a bucket."""

from __future__ import annotations

from smartmeter.home import Home
from smartmeter.storage import Places


def home_places(home: Home) -> Places:
    settings = home.settings
    return Places.of(
        settings.landing_url or home.root / "landing",
        settings.archive_url or home.root / "raw",
        settings.parquet_url or home.root / "parquet",
        scratch=home.state / "parquet-staging",
        timeout=settings.s3_timeout_seconds,
    )
