"""verify's report: the JSON document, the summary table printed at the end of a run, and a self-contained HTML
page (the check table, each load run's latency distribution as an inline SVG chart, what was not checked and why).
"""

from __future__ import annotations

import html

from .checks import STATUSES

NOT_CHECKED = ("unavailable", "skipped")


def counts(checks: list[dict]) -> dict[str, int]:
    found = dict.fromkeys(STATUSES, 0)
    for item in checks:
        found[item["status"]] += 1
    return found


def gating_statuses(require_vuln_data: bool) -> list[str]:
    """Statuses that fail the gate: a failed threshold, a check that could not be measured, and (when required)
    a check whose data source (vulnerability DB, advisory service, monitoring history) was unavailable."""
    return ["fail", "error"] + (["unavailable"] if require_vuln_data else [])


def failed(checks: list[dict], gating: list[str]) -> list[str]:
    return [item["name"] for item in checks if item["status"] in gating]


def show(value, unit="") -> str:
    """A value as the table prints it: numbers rounded and with their unit, lists joined."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        number = f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
        return f"{number} {unit or ''}".strip()
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "none"
    return str(value)


def threshold_text(item: dict) -> str:
    return item.get("expected") or f"{item.get('op', '==')} {show(item.get('threshold'), item.get('unit'))}"


def value_text(item: dict) -> str:
    shown = item.get("display")
    return show(item.get("value") if shown is None else shown, item.get("unit"))


def table(checks: list[dict], width: int = 58) -> str:
    """One row per check (check, value, threshold, status); long cells are cut at `width`."""
    rows = [("CHECK", "VALUE", "THRESHOLD", "STATUS")]
    for item in checks:
        status = item["status"].upper()
        if item["status"] in ("unavailable", "skipped", "error") and item.get("detail"):
            status = f"{status}: {item['detail']}"
        rows.append((item["name"], value_text(item), threshold_text(item), status))

    def cut(text):
        return text if len(text) <= width else text[: width - 1] + "…"

    rows = [(cut(a), cut(b), cut(c), d) for a, b, c, d in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(lines)


def failures(report: dict) -> str:
    """One line per check that failed the gate: its value, its threshold and the measurement's detail, so the end
    of a run (a CI log's last lines) says why, not only which."""
    by_name = {item["name"]: item for item in report["checks"]}
    lines = []
    for name in report["failed"]:
        item = by_name[name]
        detail = f": {item['detail']}" if item.get("detail") else ""
        lines.append(f"{name} = {value_text(item)} (needs {threshold_text(item)}){detail}")
    return "\n".join(lines)


def summary(report: dict) -> str:
    c = report["counts"]
    lines = [
        f"verify {report['host']} ({report['project']}): {len(report['checks'])} checks, {c['pass']} passed, "
        f"{c['fail']} failed, {c['error']} errors, {c['unavailable']} unavailable, {c['skipped']} skipped",
        "",
        table(report["checks"]),
        "",
        f"RESULT: FAIL ({', '.join(report['failed'])})\n{failures(report)}" if report["failed"] else "RESULT: PASS",
    ]
    missing = [item["name"] for item in report["checks"] if item["status"] in NOT_CHECKED]
    if missing:
        note = (
            ""
            if "unavailable" in report["gating_statuses"]
            else " (verify_require_vuln_db: false lets the gate pass without them)"
        )
        lines.append(f"NOT CHECKED (not passes): {len(missing)}: {', '.join(missing)}{note}")
    return "\n".join(lines)


def document(built: dict, meta: dict, require_vuln_data: bool, logs: dict | None = None) -> dict:
    """The JSON report: meta (host, project, times, check mode, tags) + result, counts, containers, logs, checks
    and the load runs' latency distributions."""
    gating = gating_statuses(require_vuln_data)
    names = failed(built["checks"], gating)
    return {
        **meta,
        "result": "fail" if names else "pass",
        "failed": names,
        "counts": counts(built["checks"]),
        "gating_statuses": gating,
        "containers": built["units"],
        "logs": logs or {},
        "checks": built["checks"],
        "distributions": built["distributions"],
    }


# --- HTML ---------------------------------------------------------------------------------------------------------
_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "error": "#a40e26", "unavailable": "#9a6700", "skipped": "#57606a"}


def _svg(run: dict, width: int = 560, height: int = 220) -> str:
    """The latency distribution of one load run: latency (ms, y) at each percentile (x), as an inline SVG."""
    points = sorted((float(p), ms) for p, ms in run["percentiles"].items())
    left, right, top, bottom = 50, 10, 10, 30
    top_ms = max(ms for _, ms in points) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom
    middle = top + plot_h / 2

    def x(p):
        return left + plot_w * p / 100

    def y(ms):
        return top + plot_h * (1 - ms / top_ms)

    path = " ".join(f"{'M' if i == 0 else 'L'}{x(p):.1f},{y(ms):.1f}" for i, (p, ms) in enumerate(points))
    marks = "".join(
        f'<circle cx="{x(p):.1f}" cy="{y(ms):.1f}" r="3"><title>p{p:g}: {ms:g} ms</title></circle>' for p, ms in points
    )
    ticks = "".join(
        f'<text x="{x(p):.1f}" y="{height - 10}" text-anchor="middle">{p:g}</text>' for p in (0, 25, 50, 75, 90, 99)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="latency" width="{width}" height="{height}" '
        f'role="img" aria-label="latency distribution of {html.escape(run["target"])}">'
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#f6f8fa" stroke="#d0d7de"/>'
        f'<text x="{left - 5}" y="{top + 10}" text-anchor="end">{top_ms:g}</text>'
        f'<text x="{left - 5}" y="{top + plot_h}" text-anchor="end">0</text>'
        f'<text x="12" y="{middle}" transform="rotate(-90 12 {middle})" text-anchor="middle">ms</text>'
        f'{ticks}<path d="{path}" fill="none" stroke="#0969da" stroke-width="2"/>{marks}</svg>'
    )


def html_page(report: dict) -> str:
    """A self-contained page (no external resource): the check table, the latency charts, what was not checked."""
    esc = html.escape
    rows = "".join(
        f'<tr data-check="{esc(item["name"])}" data-status="{item["status"]}"><td>{esc(item["name"])}</td>'
        f"<td>{esc(value_text(item))}</td><td>{esc(threshold_text(item))}</td>"
        f'<td class="status" style="color:{_COLOURS[item["status"]]}">{item["status"].upper()}</td>'
        f"<td>{esc(item.get('setting') or '')}</td><td>{esc(str(item.get('detail') or ''))}</td></tr>"
        for item in report["checks"]
    )
    charts = (
        "".join(
            f'<figure data-run="{esc(run["phase"])} {esc(run["target"])}"><figcaption>{esc(run["phase"])} run on '
            f"{esc(run['target'])} ({esc(run['tool'])}): {run['rps']} req/s, "
            f"p95 {run['p95_ms']} ms, p99 {run['p99_ms']} ms, "
            f"{run['failed']} of {run['attempts']} failed</figcaption>{_svg(run)}</figure>"
            for run in report.get("distributions") or []
        )
        or "<p>No load run in this report.</p>"
    )
    missing = [item for item in report["checks"] if item["status"] in NOT_CHECKED]
    not_checked = (
        "<ul>"
        + "".join(
            f'<li data-check="{esc(i["name"])}"><b>{esc(i["name"])}</b> ({i["status"]}): '
            f"{esc(str(i.get('detail') or ''))}</li>"
            for i in missing
        )
        + "</ul>"
        if missing
        else "<p>Everything was checked.</p>"
    )
    counts_text = ", ".join(f"{n} {s}" for s, n in report["counts"].items())
    result = report["result"].upper()
    failed_text = (" Failed: " + esc(", ".join(report["failed"]))) if report["failed"] else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>verify {esc(report["host"])}: {result}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #1f2328; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; }} td.status {{ font-weight: bold; }}
#result {{ font-size: 1.4em; font-weight: bold; color: {_COLOURS["pass" if result == "PASS" else "fail"]}; }}
figure {{ display: inline-block; margin: 0 1em 1em 0; }} svg text {{ font-size: 10px; }}
</style></head><body>
<h1>verify {esc(report["host"])} ({esc(report["project"])})</h1>
<p id="result" data-result="{report["result"]}">RESULT: {result}</p>
<p>{esc(report.get("started", ""))} .. {esc(report.get("finished", ""))}; check mode: {report.get("check_mode")};
{len(report["checks"])} checks: {esc(counts_text)}.{failed_text}</p>
<h2>Checks</h2>
<table id="checks"><thead><tr><th>check</th><th>value</th><th>threshold</th><th>status</th><th>setting</th>
<th>detail</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Latency distribution of each load run</h2>{charts}
<h2>Not checked, and why</h2><div id="not-checked">{not_checked}</div>
</body></html>
"""
