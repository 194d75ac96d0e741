#!/usr/bin/env python3
"""Donor pool for benchmarking `graftscan hla screen --aa-mismatch`: real
allele names drawn from a user-supplied IPD-IMGT/HLA release directory (read at
run time; nothing from it is stored here), at skewed frequencies.

Class II alleles are drawn from the release's protein alignments
(alignments/<GENE>_prot.txt), class I from wmda/rel_dna_ser.txt (amino-acid
mismatch for class I needs alignments/A_prot.txt etc.; without them those
loci are "not compared"). 80 alleles per gene, Zipf-like weights. About 5%
of people have one ambiguous copy
(`a/b`), 2% a null DRB4, 5% a single typed copy (homozygous).

usage: hla_aa_bench_pool.py RELEASE_DIR OUTDIR [N_DONORS] [N_RECIPIENTS]
"""
import os
import random
import sys

release, out = sys.argv[1], sys.argv[2]
n_donors = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
n_recipients = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
rng = random.Random(20261215)
os.makedirs(out, exist_ok=True)


def two_field(name):
    gene, fields = name.split("*")
    parts = fields.split(":")
    return f"{gene}*{parts[0]}:{parts[1]}"


def alignment_alleles(gene):
    names = set()
    path = os.path.join(release, "alignments", f"{gene}_prot.txt")
    with open(path) as f:
        for line in f:
            tok = line.split()
            if tok and tok[0].startswith(gene + "*"):
                name = tok[0]
                if name[-1].isalpha():  # N, Q, L, ...: not in a 2-field pool
                    continue
                names.add(two_field(name))
    return sorted(names)


def serology_alleles(gene):
    names = set()
    with open(os.path.join(release, "wmda", "rel_dna_ser.txt")) as f:
        for line in f:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split(";")
            if fields[0] != gene + "*" or fields[1][-1].isalpha():
                continue
            names.add(two_field(gene + "*" + fields[1]))
    return sorted(names)


pools = {}
for gene in ["A", "B", "C"]:
    pools[gene] = serology_alleles(gene)
for gene in ["DRB1", "DRB3", "DRB4", "DRB5", "DQA1", "DQB1", "DPA1", "DPB1"]:
    pools[gene] = alignment_alleles(gene)
# Skewed frequencies over 80 alleles per gene (a shuffled choice; real pools
# are dominated by a few dozen alleles per locus).
weights = {}
for gene in pools:
    names = pools[gene]
    rng.shuffle(names)
    pools[gene] = names[:80]
    weights[gene] = [1.0 / (1 + i) ** 1.3 for i in range(len(pools[gene]))]


def draw(gene):
    return rng.choices(pools[gene], weights[gene])[0]


def copy(gene):
    if rng.random() < 0.025:
        return f"{draw(gene)}/{draw(gene)}"
    return draw(gene)


def genotype(gene):
    if rng.random() < 0.05:
        return copy(gene)
    return f"{copy(gene)}+{copy(gene)}"


DRB345 = {"03": "DRB3", "05": "DRB3", "06": "DRB3", "11": "DRB3", "12": "DRB3", "13": "DRB3",
          "14": "DRB3", "04": "DRB4", "07": "DRB4", "09": "DRB4", "02": "DRB5", "15": "DRB5",
          "16": "DRB5"}


def person():
    blocks = [genotype(g) for g in ["A", "B", "C"]]
    drb1 = [draw("DRB1"), draw("DRB1")]
    blocks.append("+".join(drb1))
    genes = sorted({DRB345[a.split("*")[1][:2]] for a in drb1 if a.split("*")[1][:2] in DRB345})
    if rng.random() < 0.02:
        blocks.append("DRB4*01:03:01:02N")
    elif genes:
        blocks.append("+".join(draw(g) for g in genes))
    blocks += [genotype(g) for g in ["DQA1", "DQB1", "DPA1", "DPB1"]]
    return "^".join(blocks)


for name, n, prefix in [("donors.csv", n_donors, "D"), ("recipients.csv", n_recipients, "R")]:
    with open(os.path.join(out, name), "w") as f:
        f.write("person_id,gl_string\n")
        for i in range(n):
            f.write(f"{prefix}{i},{person()}\n")
