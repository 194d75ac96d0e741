#!/usr/bin/env python3
"""graftscan beside allomix 0.4.2 on the shared SRP434573 mixture series, in one
run on one machine (BENCHMARKS.md, "Against allomix").

    python3 scripts/allomix_compare.py GRAFTSCAN ALLOMIX SRP434573_DIR WORK [REPEATS]

GRAFTSCAN is the graftscan binary, ALLOMIX the `allomix` entry point of an
environment with `pip install allomix==0.4.2`. allomix runs the way its README
describes: one `allomix detect` per mixture series (host = major contributor,
donor = minor one) with every draw of the series as a `--sample`, TSV output.
graftscan scans the same draws once per mode: two-genome (both genotypes),
recipient-only (donor genotypes withheld) and genotype-free (no genotypes).
Per draw = wall time of the whole run / draws (load, estimate, write for
graftscan; process start, VCF parsing and estimation for allomix). Prints a
Markdown table and the per-draw estimates of both tools in two-genome mode.
"""

import csv
import os
import subprocess
import sys
import time


def truth_rows(data):
    with open(os.path.join(data, "truth.tsv")) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def series(rows):
    out = {}
    for r in rows:
        out.setdefault(r["mixture"], []).append(r)
    return out


def run_allomix(allomix, data, groups, work):
    g = os.path.join(data, "genotypes")
    estimates = {}
    total = 0.0
    for mixture, rows in groups.items():
        first = rows[0]
        tsv = os.path.join(work, f"{mixture}.allomix.tsv")
        cmd = [
            allomix, "detect",
            "--genotype-vcf", os.path.join(g, first["genotype_vcf"]),
            "--admix-vcf", os.path.join(g, first["mixture_file"]),
            "--host-sample", first["recipient"],
            "--donor-sample", first["donor"],
            "--tsv", tsv,
        ]
        for r in rows:
            cmd += ["--sample", r["sample"]]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        total += time.perf_counter() - t
        with open(tsv) as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                if fields[0] == "sample":
                    header = fields
                    continue
                rec = dict(zip(header, fields))
                estimates[(mixture, rec["sample"])] = float(rec["donor_pct"]) / 100.0
    return total, estimates


def write_sheets(data, groups, work, mode):
    g = os.path.join(data, "genotypes")
    d = os.path.join(work, mode)
    os.makedirs(d, exist_ok=True)
    header = "transplant_id,organ,transplant_date,relationship,recipient_genotypes,recipient_sample,donor_genotypes,donor_sample\n"
    with open(os.path.join(d, "transplants.csv"), "w") as t, open(
        os.path.join(d, "samples.csv"), "w"
    ) as s:
        t.write(header)
        s.write("sample_id,transplant_id,collected,counts,counts_sample\n")
        for mixture, rows in groups.items():
            first = rows[0]
            vcf = os.path.join(g, first["genotype_vcf"])
            rec = (vcf, first["recipient"]) if mode != "genotype_free" else ("", "")
            don = (vcf, first["donor"]) if mode == "two_genome" else ("", "")
            t.write(f"{mixture},kidney,2024-01-01,unrelated,{rec[0]},{rec[1]},{don[0]},{don[1]}\n")
            for r in rows:
                counts = os.path.join(g, r["mixture_file"])
                s.write(f"{mixture}:{r['sample']},{mixture},2024-02-01,{counts},{r['sample']}\n")
    return d


def run_graftscan(graftscan, folder):
    # Results beside the batch folder (scan never writes into its inputs).
    out = folder.rstrip("/") + "-out"
    t = time.perf_counter()
    subprocess.run(
        [graftscan, "scan", folder, "--out", out, "--quiet", "--backend", "cpu", "--force"],
        check=True,
    )
    wall = time.perf_counter() - t
    estimates = {}
    with open(os.path.join(out, "samples.csv")) as f:
        for rec in csv.DictReader(f):
            mixture, sample = rec["sample_id"].split(":", 1)
            estimates[(mixture, sample)] = float(rec["donor_fraction_pct"]) / 100.0
    return wall, estimates


def mare(estimates, rows):
    errs = [
        abs(estimates[(r["mixture"], r["sample"])] - float(r["known_minor_fraction"]))
        / float(r["known_minor_fraction"])
        for r in rows
        if float(r["known_minor_fraction"]) > 0 and (r["mixture"], r["sample"]) in estimates
    ]
    return sum(errs) / len(errs) if errs else float("nan")


def main():
    graftscan, allomix, data, work = sys.argv[1:5]
    repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    os.makedirs(work, exist_ok=True)
    rows = truth_rows(data)
    groups = series(rows)
    draws = len(rows)
    times = {}
    estimates = {}
    for mode in ["two_genome", "recipient_only", "genotype_free"]:
        folder = write_sheets(data, groups, work, mode)
        best = None
        for _ in range(repeats):
            wall, est = run_graftscan(graftscan, folder)
            best = wall if best is None else min(best, wall)
        times[mode] = best
        estimates[mode] = est
    a_wall, a_est = run_allomix(allomix, data, groups, work)
    print(f"draws: {draws} (SRP434573, {len(groups)} series); graftscan: best of {repeats} runs; allomix: one run")
    print()
    print("| mode | graftscan per draw | allomix 0.4.2 per draw | allomix / graftscan | graftscan MARE | allomix MARE |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode in ["two_genome", "recipient_only", "genotype_free"]:
        per = 1e3 * times[mode] / draws
        if mode == "two_genome":
            a = 1e3 * a_wall / draws
            print(f"| {mode} | {per:.2f} ms | {a:.0f} ms | {a / per:.0f}× | {100 * mare(estimates[mode], rows):.1f}% | {100 * mare(a_est, rows):.1f}% |")
        else:
            print(f"| {mode} | {per:.2f} ms | – (cannot) | – | {100 * mare(estimates[mode], rows):.1f}% | – |")
    print()
    print("| draw | known | graftscan two-genome | allomix |")
    print("|---|---:|---:|---:|")
    for r in rows:
        key = (r["mixture"], r["sample"])
        print(f"| {r['sample']} | {100 * float(r['known_minor_fraction']):.2f}% | {100 * estimates['two_genome'].get(key, float('nan')):.3f}% | {100 * a_est.get(key, float('nan')):.3f}% |")


if __name__ == "__main__":
    main()
