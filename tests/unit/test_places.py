"""The places of a data home and a bucket's notifications, in process."""

from __future__ import annotations

import json

import pytest


def test_notifications_are_read_for_the_landing_prefix_only():
    from smartmeter.queue_watch import object_keys
    from smartmeter.storage import S3Location

    landing = S3Location("meters", "landing")

    def record(event: str, bucket: str, key: str) -> dict:
        return {"eventName": event, "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}

    body = json.dumps(
        {
            "Records": [
                record("ObjectCreated:Put", "meters", "landing/meter+01%2C+march.csv"),
                record("ObjectCreated:CompleteMultipartUpload", "meters", "landing/big.csv"),
                record("ObjectRemoved:Delete", "meters", "landing/gone.csv"),
                record("ObjectCreated:Put", "meters", "landingzone/not-ours.csv"),
                record("ObjectCreated:Put", "meters", "raw/ab/x/landing/a.csv"),
                record("ObjectCreated:Put", "other", "landing/a.csv"),
                record("ObjectCreated:Put", "meters", "landing/still.csv.part"),
            ]
        }
    )
    expected = ["landing/meter 01, march.csv", "landing/big.csv"]
    assert object_keys(body, landing) == expected
    through_sns = json.dumps({"Type": "Notification", "TopicArn": "arn:t", "Message": body})
    assert object_keys(through_sns, landing) == expected
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "meters"}
    assert object_keys(json.dumps(test_event), landing) == []
    assert object_keys("not json", landing) == []


@pytest.mark.parametrize(
    ("landing", "archive", "problem"),
    [
        ("s3://meters/landing", "s3://meters/landing/raw", "must not lie under"),
        ("s3://meters", "s3://meters/raw", "must not lie under"),
    ],
)
def test_locations_that_cannot_work_are_refused(monkeypatch, tmp_path, landing, archive, problem):
    from smartmeter.home import Home
    from smartmeter.places import home_places
    from smartmeter.storage import ConfigurationError

    monkeypatch.setenv("SMARTMETER_LANDING_URL", landing)
    monkeypatch.setenv("SMARTMETER_ARCHIVE_URL", archive)
    with pytest.raises(ConfigurationError, match=problem):
        home_places(Home.resolve(tmp_path))
