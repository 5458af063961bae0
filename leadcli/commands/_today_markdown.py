"""`today --format markdown`: the agenda as a mail digest (what cron sends)."""

from __future__ import annotations


def markdown(rows: list[dict], counts: dict[str, int], titles: dict[str, str], count_text) -> None:
    from leadcli import output
    from leadcli.agenda import SECTIONS

    if not rows:
        output.line("Nothing due today, and every open lead has a next action.")
        return
    for section in SECTIONS:
        part = [r for r in rows if r["section"] == section]
        if not part:
            continue
        output.line(f"## {titles[section]} ({count_text(counts, section)})\n")
        for r in part:
            who = f"**{_md(r['name'])}**" + (f" ({_md(r['company'])})" if r["company"] else "")
            bits = [who, f"`{r['phone']}`" if r["phone"] else None]
            if r["activity_id"] is not None:
                bits += [f"{r['type']}: {_md(r['text'] or '')}", f"{r['due_local']} ({r['late']})",
                         f"#{r['activity_id']}"]
            else:
                score = f"score {r['score']}" if r["score"] is not None else None
                bits += [r["status"], score, f"lead #{r['lead_id']}"]
            output.line("- " + " · ".join(b for b in bits if b))
        if counts[section] > len(part):
            where = "leadcli list --no-next-action" if section == "no-next-action" else "leadcli today --format csv"
            more = "more" if section == "no-next-action" else f"{counts[section] - len(part):,} more"
            output.line(f"- … and {more} (`{where}`)")
        output.line("")


def _md(text: str | None) -> str:
    return (text or "").replace("*", "\\*").replace("_", "\\_").replace("`", "'")
