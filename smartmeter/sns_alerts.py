"""Alerts published to an SNS topic when SMARTMETER_ALERT_SNS_TOPIC_ARN is set (the webhook and
the log line stay). SNS fans them out to e-mail, SMS, chat or a queue. A topic that cannot be
reached is retried by botocore (3 attempts) and then logged: an alert sink never fails a run,
and the alert itself stays in ops.alerts and the alert log."""

from __future__ import annotations

import json
import logging

from smartmeter.storage import aws

log = logging.getLogger("smartmeter.alerts")


def publish(payload: dict, arn: str | None, timeout: float) -> bool:
    """Publish one alert (its payload) to the topic; returns whether it was sent."""
    if not arn:
        return False
    parts = arn.split(":")
    region = parts[3] if len(parts) > 5 and parts[3] else None
    subject = f"[{str(payload.get('severity', '')).upper()}] smartmeter {payload.get('kind')}"
    try:
        aws.client("sns", region=region, timeout=timeout).publish(
            TopicArn=arn,
            Subject=subject[:100],
            Message=json.dumps(payload, sort_keys=True, default=str),
            MessageAttributes={
                key: {"DataType": "String", "StringValue": str(payload.get(key) or "-")}
                for key in ("kind", "severity")
            },
        )
    except Exception as exc:  # any failure of the sink: logged, never raised
        log.warning("could not publish the alert to SNS topic %s: %s", arn, exc)
        return False
    return True
