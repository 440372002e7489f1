"""Every metric notify exports, declared once."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

# kpi-results messages read (and whether they parsed)
RESULTS_CONSUMED = Counter(
    "thidua_notify_results_consumed_total", "kpi-results messages read", ["result"]
)
# one per evaluation of every rule
EVALUATIONS = Counter("thidua_notify_evaluations_total", "Rule evaluations")
# alerts firing / pending now, per rule
ALERTS_FIRING = Gauge("thidua_notify_alerts_firing", "Alerts firing", ["rule"])
ALERTS_PENDING = Gauge("thidua_notify_alerts_pending", "Alerts pending", ["rule"])
# state changes and repeats published on the alerts topic
ALERTS_PUBLISHED = Counter(
    "thidua_notify_alerts_published_total", "Alerts published to Kafka", ["state"]
)
# webhook and e-mail deliveries by outcome (silenced ones are counted as 'silenced')
NOTIFICATIONS = Counter(
    "thidua_notify_notifications_total", "Notifications delivered", ["channel", "result"]
)
