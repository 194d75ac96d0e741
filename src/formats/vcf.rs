//! VCF and bgzipped VCF through noodles: FORMAT/GT (ALT dosage), FORMAT/AD
//! (REF, ALT depths) and INFO/AF, as written by
//! `bcftools mpileup -a AD,DP | bcftools call`.

use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;

use noodles_vcf::{
    self as vcf,
    io::CompressionMethod,
    variant::record::AlternateBases as _,
    variant::record::samples::{
        Sample,
        series::{Value, value::Array},
    },
};

use crate::error::{Error, InputError, Result};
use crate::formats::allele_table::{AlleleTable, SourceFormat};
use crate::formats::input::FirstSeen;
use crate::formats::site::{ChromInterner, SiteKey};

/// Number of header lines, counted only when an error needs a line number.
pub(crate) fn header_line_count(path: &Path, gz: bool) -> u64 {
    let Ok(file) = std::fs::File::open(path) else {
        return 0;
    };
    let reader: Box<dyn BufRead> = if gz {
        Box::new(io::BufReader::new(noodles_bgzf::io::Reader::new(file)))
    } else {
        Box::new(io::BufReader::new(file))
    };
    reader
        .lines()
        .map_while(|l| l.ok())
        .take_while(|l| l.starts_with('#'))
        .count() as u64
}

fn parse_gt_text(text: &str) -> std::result::Result<Option<u8>, String> {
    let alleles: Vec<&str> = text.split(['/', '|']).collect();
    if alleles.len() != 2 {
        // Haploid calls (chrX in males) and polyploid calls are not diploid SNP genotypes.
        return Ok(None);
    }
    let mut dosage = 0u8;
    for a in alleles {
        match a {
            "." => return Ok(None),
            "0" => {}
            "1" => dosage += 1,
            other => {
                if other.parse::<u32>().is_ok() {
                    return Ok(None);
                }
                return Err(format!("malformed genotype '{text}'"));
            }
        }
    }
    Ok(Some(dosage))
}

pub(crate) fn genotype_value(value: Value<'_>) -> std::result::Result<Option<u8>, String> {
    match value {
        Value::String(s) => parse_gt_text(&s),
        Value::Genotype(g) => {
            let mut dosage = 0u8;
            let mut count = 0;
            for allele in g.iter() {
                let (position, _) = allele.map_err(|e| format!("malformed genotype: {e}"))?;
                count += 1;
                match position {
                    None => return Ok(None),
                    Some(0) => {}
                    Some(1) => dosage += 1,
                    Some(_) => return Ok(None),
                }
            }
            Ok(if count == 2 { Some(dosage) } else { None })
        }
        other => Err(format!("GT has an unexpected type: {other:?}")),
    }
}

fn depth_value(value: Value<'_>) -> std::result::Result<Option<[u32; 2]>, String> {
    match value {
        Value::Array(Array::Integer(values)) => {
            let mut out = Vec::with_capacity(2);
            for v in values.iter() {
                let v = v.map_err(|e| format!("malformed AD: {e}"))?;
                match v {
                    None => return Ok(None),
                    Some(x) if x < 0 => return Err(format!("negative allele depth {x}")),
                    Some(x) => out.push(x as u32),
                }
            }
            match out.as_slice() {
                [r, a] => Ok(Some([*r, *a])),
                _ => Err(format!(
                    "AD has {} values for a biallelic site (expected 2)",
                    out.len()
                )),
            }
        }
        Value::Integer(_) => Err("AD has one value (expected REF,ALT)".into()),
        other => Err(format!("AD has an unexpected type: {other:?}")),
    }
}

fn scalar_depth(value: Value<'_>) -> Option<u32> {
    match value {
        Value::Integer(x) if x >= 0 => Some(x as u32),
        _ => None,
    }
}

fn info_af(record: &vcf::Record, header: &vcf::Header) -> Option<f64> {
    use vcf::variant::record::info::field::{Value as InfoValue, value::Array as InfoArray};
    let info = record.info();
    let value = info.get(header, "AF")?.ok()??;
    match value {
        InfoValue::Float(x) => Some(f64::from(x)),
        InfoValue::Array(InfoArray::Float(values)) => {
            let mut it = values.iter();
            let first = it.next()?.ok()??;
            Some(f64::from(first))
        }
        _ => None,
    }
}

/// A VCF reader (bgzip-compressed when `gz`) past its header, with errors
/// naming `path`: the one way counts, panels and cohorts open a VCF.
pub(crate) fn open_vcf(
    path: &Path,
    gz: bool,
) -> Result<(vcf::io::Reader<Box<dyn BufRead>>, vcf::Header)> {
    let method = if gz {
        CompressionMethod::Bgzf
    } else {
        CompressionMethod::None
    };
    let mut reader = vcf::io::reader::Builder::default()
        .set_compression_method(method)
        .build_from_path(path)
        .map_err(|e| Error::io(path, e))?;
    let header = reader
        .read_header()
        .map_err(|e| InputError::new(path, format!("malformed VCF header: {e}")))?;
    Ok((reader, header))
}

/// A record's POS (1-based); the caller adds the line to the error.
pub(crate) fn record_position(
    record: &vcf::Record,
    path: &Path,
) -> std::result::Result<u64, InputError> {
    match record.variant_start().transpose() {
        Ok(Some(p)) => Ok(usize::from(p) as u64),
        Ok(None) | Err(_) => {
            Err(InputError::new(path, "missing or malformed position").in_field("POS"))
        }
    }
}

/// A record's ALT alleles; the caller adds the line to the error.
pub(crate) fn record_alts(
    record: &vcf::Record,
    path: &Path,
) -> std::result::Result<Vec<String>, InputError> {
    record
        .alternate_bases()
        .iter()
        .map(|a| a.map(str::to_string))
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| InputError::new(path, format!("malformed ALT: {e}")).in_field("ALT"))
}

pub fn read_vcf(path: &Path, gz: bool) -> Result<AlleleTable> {
    let (mut reader, header) = open_vcf(path, gz)?;
    let samples: Vec<String> = header.sample_names().iter().cloned().collect();
    let has_gt = header.formats().contains_key("GT");
    let has_ad = header.formats().contains_key("AD");
    let has_dp = header.formats().contains_key("DP");
    let has_af = header.infos().contains_key("AF");

    let mut chroms = ChromInterner::default();
    let mut sites = Vec::new();
    let mut afs = Vec::new();
    let mut genotypes = Vec::new();
    let mut depths = Vec::new();
    let mut non_snp = 0usize;
    let mut seen: FirstSeen<(Arc<str>, u64)> = FirstSeen::default();
    let mut header_lines: Option<u64> = None;
    let mut line_of = |idx: usize| -> u64 {
        let h = *header_lines.get_or_insert_with(|| header_line_count(path, gz));
        h + idx as u64 + 1
    };

    for (idx, result) in reader.records().enumerate() {
        let record = result.map_err(|e| {
            InputError::new(path, format!("malformed VCF record: {e}")).at_line(line_of(idx))
        })?;
        let pos = record_position(&record, path).map_err(|e| e.at_line(line_of(idx)))?;
        let alts = record_alts(&record, path).map_err(|e| e.at_line(line_of(idx)))?;
        let site = match alts.as_slice() {
            [alt] => SiteKey::new(
                chroms.get(record.reference_sequence_name()),
                pos,
                record.reference_bases(),
                alt,
            ),
            _ => None,
        };
        let Some(site) = site else {
            non_snp += 1;
            continue;
        };
        if let Err(first_idx) = seen.insert((site.chrom.clone(), site.pos), idx as u64) {
            let first = line_of(first_idx as usize);
            return Err(InputError::new(
                path,
                format!("site {site} is listed twice (first at line {first}); each site once (join split records with `bcftools norm -m+`)"),
            )
            .at_line(line_of(idx))
            .in_field("POS")
            .into());
        }
        let af = if has_af {
            info_af(&record, &header)
        } else {
            None
        };
        if let Some(q) = af
            && !(0.0..=1.0).contains(&q)
        {
            return Err(
                InputError::new(path, format!("{q} is not a frequency in [0, 1]"))
                    .at_line(line_of(idx))
                    .in_field("INFO/AF")
                    .into(),
            );
        }
        afs.push(af);
        let record_samples = record.samples();
        for (i, sample_name) in samples.iter().enumerate() {
            let sample = record_samples.get_index(i);
            let field_err = |field: &str, msg: String| {
                InputError::new(path, format!("sample '{sample_name}': {msg}"))
                    .in_field(format!("FORMAT/{field}"))
            };
            if has_gt {
                let gt = match sample.as_ref().and_then(|s| s.get(&header, "GT")) {
                    None => None,
                    Some(Err(e)) => {
                        return Err(field_err("GT", e.to_string()).at_line(line_of(idx)).into());
                    }
                    Some(Ok(None)) => None,
                    Some(Ok(Some(v))) => genotype_value(v)
                        .map_err(|m| Error::from(field_err("GT", m).at_line(line_of(idx))))?,
                };
                genotypes.push(gt);
            }
            if has_ad {
                let ad = match sample.as_ref().and_then(|s| s.get(&header, "AD")) {
                    None => None,
                    Some(Err(e)) => {
                        return Err(field_err("AD", e.to_string()).at_line(line_of(idx)).into());
                    }
                    Some(Ok(None)) => None,
                    Some(Ok(Some(v))) => depth_value(v)
                        .map_err(|m| Error::from(field_err("AD", m).at_line(line_of(idx))))?,
                };
                if let (Some([_, alt]), true) = (ad, has_dp) {
                    let dp = sample
                        .as_ref()
                        .and_then(|s| s.get(&header, "DP"))
                        .and_then(|r| r.ok().flatten())
                        .and_then(scalar_depth);
                    if let Some(dp) = dp
                        && alt > dp
                    {
                        return Err(field_err(
                            "AD",
                            format!("ALT depth {alt} exceeds the total depth DP={dp}"),
                        )
                        .at_line(line_of(idx))
                        .into());
                    }
                }
                depths.push(ad);
            }
        }
        sites.push(site);
    }
    Ok(AlleleTable {
        path: path.to_path_buf(),
        format: SourceFormat::Vcf,
        samples,
        sites,
        alt_frequency: afs,
        genotypes: has_gt.then_some(genotypes),
        depths: has_ad.then_some(depths),
        non_snp_sites: non_snp,
    })
}
