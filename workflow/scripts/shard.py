"""Split a graftscan batch into shard sheets, by transplant.

Each transplant and all its draws go to one shard: contiguous blocks of the
transplants sheet, as even as the count allows. Paths inside the sheets are
made absolute (sheets resolve paths relative to themselves), and a draw whose
counts are a BAM/CRAM points at the count TSV the workflow's pileup step
wrote for it. Standard library only: Snakemake imports it at parse time.
"""

import csv
import os

PATH_COLUMNS_TRANSPLANTS = ("recipient_genotypes", "donor_genotypes", "donor2_genotypes")
ALIGNMENT_SUFFIXES = (".bam", ".cram")


def read_sheet(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = [h for h in (reader.fieldnames or [])]
        rows = [r for r in reader if any((v or "").strip() for v in r.values())]
    return fields, rows


def is_alignment(path):
    return path.strip().lower().endswith(ALIGNMENT_SUFFIXES)


def alignment_draws(batch):
    """sample_id -> absolute BAM/CRAM path, for draws whose counts are reads."""
    _, samples = read_sheet(os.path.join(batch, "samples.csv"))
    out = {}
    for r in samples:
        c = (r.get("counts") or "").strip()
        if c and is_alignment(c):
            out[r["sample_id"].strip()] = os.path.abspath(os.path.join(batch, c))
    return out


def shard_blocks(transplant_ids, shards):
    """Contiguous blocks of ids, sizes differing by at most one."""
    n = len(transplant_ids)
    k = max(1, min(shards, n))
    blocks, start = [], 0
    for i in range(k):
        size = n // k + (1 if i < n % k else 0)
        blocks.append(transplant_ids[start:start + size])
        start += size
    return blocks


def shard_count(batch, shards):
    _, transplants = read_sheet(os.path.join(batch, "transplants.csv"))
    return max(1, min(shards, len(transplants)))


def write_sheet(path, fields, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in fields})
    os.replace(tmp, path)


def write_shard(batch, shards, index, pileup_tsv, out_dir):
    """Write shard `index` (0-based) of `shards` into out_dir.

    pileup_tsv(sample_id) gives the count TSV for a draw with BAM/CRAM counts.
    """
    t_fields, transplants = read_sheet(os.path.join(batch, "transplants.csv"))
    s_fields, samples = read_sheet(os.path.join(batch, "samples.csv"))
    ids = [t["transplant_id"].strip() for t in transplants]
    mine = set(shard_blocks(ids, shards)[index])
    t_rows = []
    for t in transplants:
        if t["transplant_id"].strip() not in mine:
            continue
        t = dict(t)
        for col in PATH_COLUMNS_TRANSPLANTS:
            if (t.get(col) or "").strip():
                t[col] = os.path.abspath(os.path.join(batch, t[col].strip()))
        t_rows.append(t)
    s_rows = []
    for s in samples:
        if s["transplant_id"].strip() not in mine:
            continue
        s = dict(s)
        c = s["counts"].strip()
        if is_alignment(c):
            s["counts"] = os.path.abspath(pileup_tsv(s["sample_id"].strip()))
        else:
            s["counts"] = os.path.abspath(os.path.join(batch, c))
        s_rows.append(s)
    write_sheet(os.path.join(out_dir, "transplants.csv"), t_fields, t_rows)
    write_sheet(os.path.join(out_dir, "samples.csv"), s_fields, s_rows)
