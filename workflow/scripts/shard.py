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
    write_shard_rows(batch, transplants, t_rows, index, out_dir)


# Batch files whose rows belong to transplants: a shard gets only its own rows,
# so that `graftscan scan` does not warn about rows of other shards as matching
# nothing. Rows that match no transplant of the whole batch go to shard 0,
# which warns about them once. (file, id column(s) in order of preference,
# the transplant columns that may name the row)
SHARDED_FILES = (
    ("antibodies.csv", ("recipient_id", "transplant_id"), ("transplant_id", "recipient_id")),
    ("typings.csv", ("person_id",), ("recipient_id", "donor_id")),
)


def shard_rows_files(batch):
    """The batch files that write_shard splits (those the batch has)."""
    return [name for name, _, _ in SHARDED_FILES if os.path.isfile(os.path.join(batch, name))]


def write_shard_rows(batch, all_transplants, shard_transplants, index, out_dir):
    for name, id_columns, transplant_columns in SHARDED_FILES:
        src = os.path.join(batch, name)
        if not os.path.isfile(src):
            continue

        def ids(rows):
            return {
                (t.get(c) or "").strip()
                for t in rows
                for c in transplant_columns
                if (t.get(c) or "").strip()
            }

        mine, everyone = ids(shard_transplants), ids(all_transplants)
        with open(src, newline="", encoding="utf-8-sig") as f:
            lines = f.read().splitlines(keepends=True)
        header_at = next(i for i, l in enumerate(lines) if l.strip() and not l.startswith("#"))
        header = next(csv.reader([lines[header_at]]))
        names = [h.strip().lower() for h in header]
        col = next((names.index(c) for c in id_columns if c in names), None)
        kept = lines[: header_at + 1]
        for line in lines[header_at + 1:]:
            if col is None or not line.strip() or line.startswith("#"):
                kept.append(line)
                continue
            fields = next(csv.reader([line]))
            owner = fields[col].strip() if col < len(fields) else ""
            if owner in mine or (index == 0 and owner not in everyone):
                kept.append(line)
        path = os.path.join(out_dir, name)
        tmp = path + ".tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            f.writelines(kept)
        os.replace(tmp, path)
