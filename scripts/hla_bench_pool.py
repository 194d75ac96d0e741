#!/usr/bin/env python3
"""Synthetic pool for benchmarking `graftscan hla screen`: invented allele names
(field 90), an invented eplet table, no IPD or Eplet Registry data.

usage: hla_bench_pool.py OUTDIR [N_DONORS] [N_RECIPIENTS] [N_EPLETS]
"""
import os
import random
import sys

out = sys.argv[1]
n_donors = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
n_recipients = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
n_eplets = int(sys.argv[4]) if len(sys.argv) > 4 else 400
rng = random.Random(20261129)
os.makedirs(out, exist_ok=True)

genes = ["A", "B", "C", "DRB1", "DQA1", "DQB1", "DPA1", "DPB1"]
groups = {"A": "ABC", "B": "ABC", "C": "ABC", "DRB1": "DR", "DRB3": "DR", "DRB4": "DR",
          "DRB5": "DR", "DQA1": "DQ", "DQB1": "DQ", "DPA1": "DP", "DPB1": "DP"}
alleles = {g: [f"{g}*90:{i:02d}" for i in range(1, 41)] for g in genes}
for g in ["DRB3", "DRB4", "DRB5"]:
    alleles[g] = [f"{g}*90:{i:02d}" for i in range(1, 6)]
# Eplets: a pool per group, plus a few interlocus class II ones.
eplet_pool = {}
per_group = n_eplets // 5
names = iter(f"{i}X{chr(65 + i % 26)}" for i in range(n_eplets + 10))
for grp in ["ABC", "DR", "DQ", "DP", "interlocus"]:
    eplet_pool[grp] = [(next(names), rng.random() < 0.4) for _ in range(per_group)]
with open(os.path.join(out, "eplets.csv"), "w") as f:
    f.write("# version: synthetic HLAMatchmaker 3.1\nallele,eplet,group,antibody_verified\n")
    for g, names_ in alleles.items():
        grp = groups[g]
        for a in names_:
            chosen = rng.sample(eplet_pool[grp], 20)
            if grp != "ABC" and rng.random() < 0.5:
                chosen += rng.sample(eplet_pool["interlocus"], 2)
                gname = lambda e: "interlocus" if e in eplet_pool["interlocus"] else grp
            else:
                gname = lambda e: grp
            for e, verified in chosen:
                f.write(f"{a},{e},{gname((e, verified))},{'yes' if verified else 'no'}\n")

cols = ["A", "B", "C", "DRB1", "DRB345", "DQA1", "DQB1", "DPA1", "DPB1"]


def person(pid):
    row = [pid]
    for c in cols:
        if c == "DRB345":
            g = rng.choice(["DRB3", "DRB4", "DRB5"])
            row += [rng.choice(alleles[g]), ""]
        else:
            # Skewed frequencies, as in real pools.
            pick = lambda: alleles[c][min(int(rng.expovariate(0.15)), 39)]
            row += [pick(), pick()]
    return ",".join(row)


header = "person_id," + ",".join(f"{c}_{i}" for c in cols for i in (1, 2))
for name, n, prefix in [("donors.csv", n_donors, "D"), ("recipients.csv", n_recipients, "R")]:
    with open(os.path.join(out, name), "w") as f:
        f.write(header + "\n")
        for i in range(n):
            f.write(person(f"{prefix}{i:05d}") + "\n")
