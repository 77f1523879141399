#!/usr/bin/env python3
"""results.jsonl -> a Markdown table: a row per run, a column per link,
each cell `Mbit/s = fraction of the link (CPU ms/MiB)`."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
links = list(dict.fromkeys(r["link"] for r in rows))
runs = list(dict.fromkeys(r["run"] for r in rows))
cell = {(r["run"], r["link"]): r for r in rows}
print("| run | how | " + " | ".join(links) + " |")
print("|---|---|" + "---|" * len(links))
for run in runs:
    how = next(r["how"] for r in rows if r["run"] == run)
    cells = []
    for link in links:
        r = cell.get((run, link))
        cells.append(f"{r['mbit']} = {r['of_link']:.2f} ({r['cpu_ms_per_mib']} ms/MiB)" if r else "")
    print(f"| {run} | {how} | " + " | ".join(cells) + " |")
