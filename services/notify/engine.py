"""The rule engine: observations in, notifications out — pure, clocked by its caller.

Per (rule, unit, criterion), like Prometheus alerting: a condition that holds becomes
*pending*; after the rule's ``for`` it is *firing* (notify); once false it keeps firing for
``keep_firing_for`` (hysteresis: a flapping value does not resolve and re-fire); then it is
*resolved* (notify). A firing alert is notified again every ``repeat_interval``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.notify.alerts import FIRING, RESOLVED, Alert
from services.notify.conditions import CONDITIONS, Condition
from services.notify.observations import Observations, Scorecard
from services.notify.rules import Rule, RulesConfig
from thidua.contracts.plans import Plans

PENDING = "pending"


@dataclass(slots=True)
class _State:
    state: str  # pending | firing
    active_since: datetime
    condition: Condition
    starts_at: datetime | None = None
    clear_since: datetime | None = None
    last_notified: datetime | None = None


@dataclass(slots=True)
class Engine:
    rules: RulesConfig
    observations: Observations
    labels: Mapping[str, str] = field(default_factory=dict)  # criterion id → label (vi)
    _states: dict[tuple[str, str, str], _State] = field(default_factory=dict)

    @classmethod
    def build(cls, rules: RulesConfig, plans: Plans) -> Engine:
        labels = {c.id: c.label for plan in plans for c in plan.criteria}  # the latest plan's
        return cls(rules, Observations(plans), labels)

    def add(self, scorecard: Scorecard | dict[str, Any]) -> None:
        card = scorecard if isinstance(scorecard, Scorecard) else Scorecard.from_json(scorecard)
        self.observations.add(card)

    def add_all(self, scorecards: Iterable[Scorecard | dict[str, Any]]) -> None:
        for card in scorecards:
            self.add(card)

    def restore(self, published: Iterable[dict[str, Any]]) -> int:
        """Take back alerts that were firing (their last ``alerts`` topic message), so a
        restart neither forgets nor re-announces them; returns how many."""
        rules = {r.name for r in self.rules.rules}
        count = 0
        for body in published:
            if body.get("state") != FIRING or body.get("rule") not in rules:
                continue
            starts = datetime.fromisoformat(str(body["starts_at"]))
            updated = datetime.fromisoformat(str(body.get("updated_at") or body["starts_at"]))
            labels = {k: str(v) for k, v in (body.get("labels") or {}).items() if k != "kind"}
            key = (str(body["rule"]), str(body["unit_id"]), str(body.get("criterion") or ""))
            condition = Condition(str(body.get("summary", "")), labels)
            self._states[key] = _State(FIRING, starts, condition, starts, None, updated)
            count += 1
        return count

    def evaluate(self, now: datetime) -> list[Alert]:
        """Advance every alert's state to ``now``; returns what must be notified."""
        out: list[Alert] = []
        closed = self.observations.closed
        for rule in self.rules.rules:
            holding = CONDITIONS[rule.kind](rule, self.observations, now, self.labels)
            holding = {key: c for key, c in holding.items() if not (key[0] and closed(key[0]))}
            out += self._step(rule, holding, now)
        return out

    def firing(self) -> list[tuple[str, str, str]]:
        return sorted(k for k, s in self._states.items() if s.state == FIRING)

    def pending(self) -> list[tuple[str, str, str]]:
        return sorted(k for k, s in self._states.items() if s.state == PENDING)

    def _step(
        self, rule: Rule, holding: dict[tuple[str, str], Condition], now: datetime
    ) -> list[Alert]:
        out: list[Alert] = []
        for (unit_id, criterion), condition in holding.items():
            key = (rule.name, unit_id, criterion)
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = _State(PENDING, now, condition)
            state.condition, state.clear_since = condition, None
            if state.state == PENDING and now - state.active_since >= rule.for_:
                state.state, state.starts_at, state.last_notified = FIRING, now, now
                out.append(self._alert(rule, key, state, FIRING, now))
            elif state.state == FIRING and state.last_notified is not None:
                if now - state.last_notified >= rule.repeat_interval:
                    state.last_notified = now
                    out.append(replace(self._alert(rule, key, state, FIRING, now), repeat=True))
        for key in [k for k in self._states if k[0] == rule.name and k[1:] not in holding]:
            state = self._states[key]
            if state.state == PENDING:
                del self._states[key]
                continue
            if state.clear_since is None:
                state.clear_since = now
            gone = bool(key[1]) and self.observations.closed(key[1])  # no hysteresis: closed
            if gone or now - state.clear_since >= rule.keep_firing_for:
                del self._states[key]
                out.append(self._alert(rule, key, state, RESOLVED, now))
        return out

    def _alert(
        self, rule: Rule, key: tuple[str, str, str], state: _State, status: str, now: datetime
    ) -> Alert:
        _, unit_id, criterion = key
        assert state.starts_at is not None
        summary = state.condition.summary
        if status == RESOLVED:
            summary = f"Đã hết: {summary}"
        return Alert(
            rule=rule.name,
            unit_id=unit_id,
            criterion=criterion,
            state=status,
            severity=rule.severity,
            summary=summary,
            starts_at=state.starts_at,
            updated_at=now,
            ends_at=now if status == RESOLVED else None,
            labels={**state.condition.labels, "kind": rule.kind},
        )
