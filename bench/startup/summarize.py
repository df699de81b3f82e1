#!/usr/bin/env python3
"""Summarise bench/startup_bench.sh runs: a markdown table (stdout) and optionally a PNG.

  summarize.py --runs runs.jsonl --sizes sizes.json [--plot out.png] [--rate-mbit R --delay-ms D]

Per image/workload/mode: runs, p50 and p95 of the time to workload end, the speed-up of the
p50 against the OCI p50, registry requests and bytes (p50) at the workload's end, the bytes as
a share of the OCI image (sum of its compressed layers), and for Nydus the bytes once the daemon
went quiet (after a running prefetch finished), and the median 1-minute load average of the
machine at the end of the runs (other work on the machine slows every mode).
"""
import argparse
import json
import sys
from collections import OrderedDict

MODES = ["oci", "lazy", "prefetch", "optimized"]
MODE_LABEL = {"oci": "OCI (skopeo+umoci)", "lazy": "Nydus lazy", "prefetch": "Nydus + prefetch list",
              "optimized": "Nydus optimized (prefetch blob)"}
MiB = 1 << 20


def pct(values, q):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--plot")
    ap.add_argument("--rate-mbit", default="?")
    ap.add_argument("--delay-ms", default="?")
    a = ap.parse_args()
    runs = [json.loads(l) for l in open(a.runs) if l.strip()]
    sizes = json.load(open(a.sizes))
    cells = OrderedDict()
    for r in runs:
        cells.setdefault((r["image"], r["workload"]), {}).setdefault(r["mode"], []).append(r)

    print(f"Link: {a.rate_mbit} Mbit/s, {a.delay_ms} ms per request (tests/tools/faultproxy.py); "
          f"every run cold (page cache dropped, fresh daemon and cache dirs).\n")
    print("| image | workload | mode | runs | p50 s | p95 s | speed-up (p50) | requests | MiB fetched "
          "| % of OCI image | MiB incl. prefetch tail | load (1 min) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = []
    for (img, w), modes in cells.items():
        oci_bytes = sizes.get(img, {}).get("bookworm", {}).get("bytes")
        oci_p50 = pct([r["seconds"] for r in modes.get("oci", [])], 50) if "oci" in modes else None
        for m in MODES:
            rs = modes.get(m)
            if not rs:
                continue
            secs = [r["seconds"] for r in rs]
            p50, p95 = pct(secs, 50), pct(secs, 95)
            req = pct([r["requests"] for r in rs], 50)
            byt = pct([r["bytes"] for r in rs], 50)
            tot = pct([r["bytes_total"] for r in rs], 50)
            speed = f"{oci_p50 / p50:.1f}x" if oci_p50 and m != "oci" else ("1.0x" if m == "oci" else "-")
            share = f"{100.0 * byt / oci_bytes:.1f}%" if oci_bytes else "-"
            tail = f"{tot / MiB:.2f}" if m != "oci" else "-"
            loads = [r["loadavg1"] for r in rs if "loadavg1" in r]
            load = f"{pct(loads, 50):.1f}" if loads else "-"
            print(f"| {img}:bookworm | {w} | {MODE_LABEL[m]} | {len(rs)} | {p50:.2f} | {p95:.2f} | "
                  f"{speed} | {req:.0f} | {byt / MiB:.2f} | {share} | {tail} | {load} |")
            summary.append({"image": img, "workload": w, "mode": m, "p50": p50, "p95": p95,
                            "bytes": byt, "requests": req})
    print()
    for img, tags in sizes.items():
        parts = [f"{t} {v['bytes'] / MiB:.1f} MiB in {v['layers']} layers" for t, v in tags.items()]
        print(f"- {img}: " + "; ".join(parts))

    if a.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib missing: no plot", file=sys.stderr)
            return
        groups = list(cells.keys())
        modes = [m for m in MODES if any(m in cells[g] for g in groups)]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
        width = 0.8 / max(1, len(modes))
        colors = {"oci": "#999999", "lazy": "#1f77b4", "prefetch": "#2ca02c", "optimized": "#d62728"}
        for i, m in enumerate(modes):
            xs, p50s, errs, mibs = [], [], [], []
            for gi, g in enumerate(groups):
                s = next((x for x in summary if (x["image"], x["workload"]) == g and x["mode"] == m), None)
                if s is None:
                    continue
                xs.append(gi + (i - (len(modes) - 1) / 2) * width)
                p50s.append(s["p50"])
                errs.append(max(0.0, s["p95"] - s["p50"]))
                mibs.append(max(s["bytes"] / MiB, 0.01))
            ax1.bar(xs, p50s, width, yerr=[[0] * len(errs), errs], capsize=3,
                    label=MODE_LABEL[m], color=colors[m])
            ax2.bar(xs, mibs, width, label=MODE_LABEL[m], color=colors[m])
            for x, v in zip(xs, p50s):
                ax1.text(x, v, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
            for x, v in zip(xs, mibs):
                ax2.text(x, v, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
        labels = [f"{img}\n{w}" for img, w in groups]
        for ax in (ax1, ax2):
            ax.set_xticks(range(len(groups)))
            ax.set_xticklabels(labels)
        ax1.set_ylabel("time to workload end, s (p50, whisker p95)")
        ax1.set_title(f"Start-up time, {a.rate_mbit} Mbit/s + {a.delay_ms} ms/request, cold")
        ax2.set_ylabel("MiB fetched from the registry (p50, log)")
        ax2.set_yscale("log")
        ax2.set_title("Bytes fetched until the workload ends")
        ax1.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(a.plot, dpi=110)
        print(f"plot written to {a.plot}", file=sys.stderr)


if __name__ == "__main__":
    main()
