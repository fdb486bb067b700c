"""One summary line saying why tests were skipped (most skips: ../shared or an extra is absent)."""

from collections import Counter

from helpers import SHARED


def skip_summary(reasons: list[str]) -> str | None:
    """One line counting the skipped tests per reason, most frequent first; None if none."""
    if not reasons:
        return None
    counts = Counter(reason.removeprefix("Skipped: ") for reason in reasons)
    parts = [f"{count} because {reason}" for reason, count in counts.most_common()]
    note = "" if SHARED.is_dir() else f" (../shared is {SHARED}: the data sets, official files)"
    return f"{len(reasons)} skipped: " + "; ".join(parts) + note


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    reasons = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reasons.append(str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr))
    line = skip_summary(reasons)
    if line is not None:
        terminalreporter.write_line(line)
