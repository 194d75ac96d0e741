#!/usr/bin/env python3
"""Synthetic paired-end reads on a reference, for the pileup benchmark
(BENCHMARKS.md, "Pileup"). Writes SAM to stdout: fragments of 120-400 bp,
2 x 100 bp reads (short fragments give overlapping mates), 0.5% substitutions,
Phred 10-40 qualities, ~5% duplicates flagged 0x400. Alignments are the true
positions (no aligner needed): the benchmark times reading and counting.

    python3 scripts/simulate_reads.py REF.fa PAIRS SEED | samtools sort -o sim.bam
"""
import random
import sys


def read_fasta(path):
    seqs, name, buf = {}, None, []
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            if name:
                seqs[name] = "".join(buf).upper()
            name, buf = line[1:].split()[0], []
        else:
            buf.append(line)
    if name:
        seqs[name] = "".join(buf).upper()
    return seqs


def main():
    ref_path, pairs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    seqs = read_fasta(ref_path)
    name, seq = max(seqs.items(), key=lambda kv: len(kv[1]))
    comp = str.maketrans("ACGTN", "TGCAN")
    out = sys.stdout
    out.write("@HD\tVN:1.6\tSO:unsorted\n")
    for n, s in seqs.items():
        out.write(f"@SQ\tSN:{n}\tLN:{len(s)}\n")
    out.write("@RG\tID:sim\tSM:SIM1\n")
    L = 100
    for i in range(pairs):
        flen = rng.randint(120, 400)
        start = rng.randint(0, len(seq) - flen - 1)
        frag = seq[start:start + flen]
        dup = 0x400 if rng.random() < 0.05 else 0
        for mate in (1, 2):
            if mate == 1:
                pos, bases = start, frag[:L]
            else:
                pos, bases = start + flen - L, frag[-L:]
            bases = list(bases)
            for j in range(L):
                if rng.random() < 0.005:
                    bases[j] = rng.choice("ACGT")
            qual = "".join(chr(33 + rng.randint(10, 40)) for _ in range(L))
            flag = 0x1 | 0x2 | dup | (0x40 if mate == 1 else 0x80) | (0x20 if mate == 1 else 0x10)
            mpos = start + flen - L if mate == 1 else start
            tlen = flen if mate == 1 else -flen
            out.write(f"r{i}\t{flag}\t{name}\t{pos + 1}\t60\t{L}M\t=\t{mpos + 1}\t{tlen}\t{''.join(bases)}\t{qual}\tRG:Z:sim\n")


if __name__ == "__main__":
    main()
