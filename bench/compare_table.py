#!/usr/bin/python3
"""Writes the side-by-side section of bench/RESULTS.md from what bench/compare.sh measured:
one JSON object per line, each actlab-bench's or torch_ref.py's output with "side" added
("actlab", "torch", "memory_actlab", "memory_torch"), plus one {"machine": ...} line.
The section sits between two marker lines and replaces the previous one; the rest of the file
(the ops suite, the readings) stays as it is.

    compare_table.py MEASURED.jsonl RESULTS.md
"""
import json
import os
import sys

BEGIN = "<!-- compare.sh: begin (generated, do not edit by hand) -->"
END = "<!-- compare.sh: end -->"

# Targets for actlab / bound: (1 thread, 2 threads), None where none is set. Issue 6's for
# W1-W5; issue 16's for W6 (op by op) and W6f (one fused expression), whose bound is the copy
# and whose targets are set at 1 thread only; issue 13's for W7 (at 1 thread; at both, faster
# than PyTorch, which the actlab / PyTorch column shows). W7g (generation) has none: its figure
# is tokens per second, listed below the tables.
TARGETS = {"W1": (1.5, 1.5), "W2": (1.5, 1.5), "W3": (1.15, 1.25), "W4": (1.05, 1.10),
           "W5": (1.05, 1.10), "W6": (7.0, None), "W6f": (4.0, None), "W7": (1.3, None),
           "W7g": (None, None)}
MEMORY_TARGET_MIB = 64


def bound_of(r):
    return r.get("gemm_bound_ms", r.get("copy_bound_ms"))


def row(a, t):
    """One workload at one thread count: actlab's figures against PyTorch's and the bound."""
    bound = bound_of(a)
    target = TARGETS[a["workload"]][0 if a["threads"] == 1 else 1]
    ratio = a["median_ms"] / bound
    verdict = "none" if target is None else f"<= {target:g}: {'met' if ratio <= target else 'NOT met'}"
    return (f"| {a['workload']} | {a['median_ms']:.3f} | {t['median_ms']:.3f} | "
            f"**{a['median_ms'] / t['median_ms']:.3f}** | {bound:.3f} | {bound_of(t):.3f} | "
            f"**{ratio:.3f}** | {verdict} | "
            f"{t['median_ms'] / bound:.2f} | {a['peak_rss_mib']:.0f} / {t['peak_rss_mib']:.0f} | "
            f"{a['other_pct']} / {t['other_pct']} |")


def thread_table(runs, threads):
    head = [f"### {threads} thread{'s' if threads > 1 else ''}", "",
            "| id | actlab ms | PyTorch ms | actlab / PyTorch | bound ms | bound via torch.mm ms "
            "| actlab / bound | target | PyTorch / bound | peak RSS MiB actlab / PyTorch "
            "| other work % actlab / PyTorch |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    pick = lambda side: {r["workload"]: r for r in runs if r["side"] == side and r["threads"] == threads}
    actlab, torch = pick("actlab"), pick("torch")
    return head + [row(actlab[w], torch[w]) for w in sorted(actlab) if w in torch] + [""]


def memory_line(runs):
    mem = {r["side"]: r for r in runs if r["side"].startswith("memory_")}
    if len(mem) < 2:
        return []
    a, t = mem["memory_actlab"]["peak_rss_mib"], mem["memory_torch"]["peak_rss_mib"]
    return [f"Peak memory, W4 for 50 timed steps (plus warm-up) alone in a fresh process, "
            f"1 thread, no bound: actlab **{a:.1f} MiB**, PyTorch {t:.1f} MiB (VmHWM); target "
            f"<= {MEMORY_TARGET_MIB} MiB: {'met' if a <= MEMORY_TARGET_MIB else 'NOT met'}.", ""]


def generation_lines(runs):
    """Tokens per second of each generation workload, both sides, at each thread count."""
    out = []
    for a in runs:
        if a["side"] != "actlab" or "tokens_per_s" not in a:
            continue
        t = next((r for r in runs if r["side"] == "torch" and r["workload"] == a["workload"]
                  and r["threads"] == a["threads"]), None)
        if t:
            out.append(f"- {a['workload']} at {a['threads']} thread{'s' if a['threads'] > 1 else ''}: "
                       f"actlab **{a['tokens_per_s']:.1f}** tokens/s, PyTorch {t['tokens_per_s']:.1f}")
    return ["Generation (W7g: 16 tokens at T = 1, each a full forward pass over the last 128):", ""] + out + [""] if out else []


def section(lines):
    machine = next(l["machine"] for l in lines if "machine" in l)
    runs = [l for l in lines if "side" in l]
    out = [BEGIN, f"## Figures: {', '.join(sorted({r['workload'] for r in runs}))} side by side (bench/compare.sh)", "",
           f"Run {machine['date']} at commit {machine['commit']} on {machine['model']}, "
           f"{machine['cores']} cores ({machine['blas']}); 1-minute load average "
           f"{machine['load_start']} at start, {machine['load_end']} at end. Median ms per step; "
           "each workload ran in its own process, actlab then PyTorch, alternating. "
           "\"bound\" is actlab-bench's (raw cblas_sgemm of the step's products, W6 and W6f: "
           "memcpy of 2^24 floats; W7g: the forward products of its 16 passes), timed interleaved with actlab's steps; PyTorch's own bound (the same "
           "products through torch.mm, which adds its dispatch per call) is beside it. "
           "Peak RSS is each process's VmHWM, bound buffers included. \"other work\" is the share "
           "of all CPU time that other processes took while that side ran (a pair above "
           "compare.sh's limit was run again).", ""]
    for threads in sorted({r["threads"] for r in runs if r["side"] == "actlab"}):
        out += thread_table(runs, threads)
    return out + generation_lines(runs) + memory_line(runs) + [END]


def main():
    measured, results = sys.argv[1], sys.argv[2]
    with open(measured) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    with open(results) as f:
        text = f.read()
    new = "\n".join(section(lines))
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + new + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + new + "\n"
    with open(results + ".tmp", "w") as f:
        f.write(text)
    os.replace(results + ".tmp", results)


if __name__ == "__main__":
    main()
