"""Uptime, MTBF and MTTR over the SLO window, from the history Prometheus keeps (issue 11's "verify reads
history"). They describe a service over weeks: a point-in-time reading of one container's restarts says nothing
about them, so without monitoring the three checks are unavailable, never passed.

The role asks Prometheus' HTTP API three instant queries over one 0/1 series S (1 while the service answers;
verify_prometheus_series), W being the SLO window:
  availability  avg(avg_over_time(S[W]))              share of samples that were up
  failures      sum(resets(S[W]))                      1 -> 0 transitions (a gauge going down counts as a reset)
  first_sample  min(min_over_time(timestamp(S)[W:1m])) when the history of S starts inside the window
With less history than the window the values so far are reported with the window they cover, and the status is
unavailable (insufficient history) unless verify_accept_partial_history is true.
"""

from __future__ import annotations

from . import parse

QUERIES = {
    "availability": "avg(avg_over_time({series}[{window}d]))",
    "failures": "sum(resets({series}[{window}d]))",
    "first_sample": "min(min_over_time(timestamp({series})[{window}d:1m]))",
}
# A window counts as covered when history reaches this close to its start (the first scrape, the 1m resolution).
_SLACK_SECONDS = 600


def queries(series: str, window_days) -> dict[str, str]:
    """The PromQL the role sends, by name."""
    return {name: text.format(series=series, window=window_days) for name, text in QUERIES.items()}


def _answer(result):
    """The JSON body of a registered ansible.builtin.uri result (or the body itself)."""
    if isinstance(result, dict) and "json" in result:
        return result["json"]
    if isinstance(result, dict) and "status" in result and isinstance(result.get("status"), int):
        raise parse.ParseError(f"HTTP {result['status']}: {result.get('msg', '')}"[:300])
    return result


def measure(answers: dict, now: float, window_days: float) -> dict:
    """Uptime percent, failures, MTBF (h), MTTR (min) and the history covered, from the three answers."""
    values = {}
    for name in QUERIES:
        if name not in answers:
            raise parse.ParseError(f"no answer to the {name} query")
        samples = parse.prometheus_vector(_answer(answers[name]))
        if not samples:
            raise parse.ParseError(f"the {name} query returned no sample: the series has no history")
        values[name] = samples[0][1]
    window = float(window_days) * 86400
    covered = min(max(now - values["first_sample"], 0.0), window)
    ratio = min(max(values["availability"], 0.0), 1.0)
    failures = round(values["failures"])
    downtime = (1 - ratio) * covered
    return {
        "uptime_percent": round(100 * ratio, 4),
        "failures": failures,
        "covered_hours": round(covered / 3600, 3),
        "window_hours": round(window / 3600, 1),
        "complete": covered >= window - _SLACK_SECONDS,
        "mtbf_hours": round((covered - downtime) / failures / 3600, 3) if failures else None,
        "mttr_minutes": round(downtime / failures / 60, 3) if failures else 0.0,
    }


def checks(section: dict, settings: dict, check) -> list[dict]:
    """availability.uptime, availability.mtbf and availability.mttr."""
    names = (
        ("uptime", "uptime_percent", ">", "slo_availability_percent", "%"),
        ("mtbf", "mtbf_hours", ">", "slo_mtbf_hours", "h"),
        ("mttr", "mttr_minutes", "<", "slo_mttr_minutes", "min"),
    )

    def unavailable(why):
        return [
            check(
                "availability", name, None, op, settings[setting], setting, unit=unit, status="unavailable", detail=why
            )
            for name, _, op, setting, unit in names
        ]

    if not section.get("url"):
        return unavailable(
            "no monitoring history: verify_prometheus_url is empty (uptime, MTBF and MTTR are "
            "measured over the SLO window by Prometheus, not by one verify run)"
        )
    window_days = settings["verify_history_window_days"]
    try:
        history = measure(section.get("answers") or {}, parse.moment(section["now"]).timestamp(), window_days)
    except parse.ParseError as exc:
        return [
            {**item, "status": "error", "detail": f"Prometheus at {section['url']}: {exc}"} for item in unavailable("")
        ]
    covered = f"{history['covered_hours']} h of history in the {history['window_hours']} h window"
    partial = not history["complete"] and not settings["verify_accept_partial_history"]
    status = "unavailable" if partial else ""
    why = f"insufficient history: {covered} (verify_accept_partial_history: false)" if partial else covered
    failures = f"{history['failures']} failures; "
    out = [
        check(
            "availability",
            "uptime",
            history["uptime_percent"],
            ">",
            settings["slo_availability_percent"],
            "slo_availability_percent",
            unit="%",
            status=status,
            detail=why,
        ),
    ]
    if history["failures"]:
        out.append(
            check(
                "availability",
                "mtbf",
                history["mtbf_hours"],
                ">",
                settings["slo_mtbf_hours"],
                "slo_mtbf_hours",
                unit="h",
                status=status,
                detail=failures + why,
            )
        )
    else:
        # No failure: MTBF is at least the history covered, which meets the target only when that is long enough.
        enough = history["covered_hours"] >= settings["slo_mtbf_hours"]
        out.append(
            check(
                "availability",
                "mtbf",
                history["covered_hours"],
                ">",
                settings["slo_mtbf_hours"],
                "slo_mtbf_hours",
                unit="h",
                display=f"no failure in {history['covered_hours']} h",
                status=status or ("pass" if enough else "unavailable"),
                detail=why if enough or status else f"no failure yet, but only {covered}",
            )
        )
    out.append(
        check(
            "availability",
            "mttr",
            history["mttr_minutes"],
            "<",
            settings["slo_mttr_minutes"],
            "slo_mttr_minutes",
            unit="min",
            status=status,
            detail=failures + why,
        )
    )
    return out
