"""Start-up benchmark: leadcli's light commands against the bare cost of their imports.

    python bench/startup.py [--leads 100000] [--runs 15]

Targets (ratio to the peer, median wall time): `leadcli --help` vs `python -c "import typer, rich"`;
`leadcli add ...` and `leadcli list --limit 20` on a 100k-lead database vs
`python -c "import typer, rich, sqlmodel"`; each ≤ 1.3.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LEADCLI, PY, build_lead_db, median_time, table  # noqa: E402


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        build_lead_db(path, args.leads)
        env = {"LEADCLI_DB": str(path)}
        base_light = median_time([PY, "-c", "import typer, rich"], args.runs)
        base_db = median_time([PY, "-c", "import typer, rich, sqlmodel"], args.runs)
        helps = median_time(LEADCLI + ["--help"], args.runs, env)
        adds = median_time(None, args.runs, env, vary=lambda i: LEADCLI + [
            "-q", "add", f"Bench {i}", "--email", f"bench{i + 1000}@startup.io", "--source", "web"])
        lists = median_time(LEADCLI + ["list", "--limit", "20"], args.runs, env)
    rows = [
        {"command": "leadcli --help", "leadcli s": f"{helps:.3f}", "peer": "python -c 'import typer, rich'",
         "peer s": f"{base_light:.3f}", "ratio": f"{helps / base_light:.2f}", "target": "≤ 1.3"},
        {"command": f"leadcli add … ({args.leads:,} leads)", "leadcli s": f"{adds:.3f}",
         "peer": "python -c 'import typer, rich, sqlmodel'", "peer s": f"{base_db:.3f}",
         "ratio": f"{adds / base_db:.2f}", "target": "≤ 1.3"},
        {"command": f"leadcli list --limit 20 ({args.leads:,} leads)", "leadcli s": f"{lists:.3f}",
         "peer": "python -c 'import typer, rich, sqlmodel'", "peer s": f"{base_db:.3f}",
         "ratio": f"{lists / base_db:.2f}", "target": "≤ 1.3"},
    ]
    print(table(rows, ["command", "leadcli s", "peer", "peer s", "ratio", "target"]))
    return rows


if __name__ == "__main__":
    main()
