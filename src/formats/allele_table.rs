//! One loaded genotype or count file, whatever its format: sites × sample columns
//! with genotypes (ALT dosage) and/or allele depths. Multi-sample files are
//! normal; a column is picked by name.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, InputError, Result};
use crate::formats::input::{check_bgzf_complete, check_input_file, check_text_encoding};
use crate::formats::site::SiteKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Vcf,
    CountTsv,
    GenotypeTsv,
    /// Counts from a BAM or CRAM at the panel's sites (`formats::alignment`).
    Alignments,
}

#[derive(Debug)]
pub struct AlleleTable {
    pub path: PathBuf,
    pub format: SourceFormat,
    /// Column names; a TSV has one unnamed column ("").
    pub samples: Vec<String>,
    pub sites: Vec<SiteKey>,
    /// Population ALT frequency per site from INFO/AF, when the file has it.
    pub alt_frequency: Vec<Option<f64>>,
    /// ALT dosage per (site, sample), row-major; `None` where the file has no GT.
    pub genotypes: Option<Vec<Option<u8>>>,
    /// (REF, ALT) read depths per (site, sample); `None` where the file has no AD.
    pub depths: Option<Vec<Option<[u32; 2]>>>,
    /// Records skipped because they are not biallelic SNPs (indels, multi-allelic).
    pub non_snp_sites: usize,
}

impl AlleleTable {
    /// Column index of `name`. An empty name picks the only column of a
    /// single-sample file.
    pub fn sample_index(&self, name: &str) -> std::result::Result<usize, String> {
        if name.is_empty() {
            if self.samples.len() == 1 {
                return Ok(0);
            }
            return Err(format!(
                "{} has {} samples ({}); name one",
                self.path.display(),
                self.samples.len(),
                self.samples.join(", ")
            ));
        }
        if self.format == SourceFormat::Alignments
            && !self.samples[0].is_empty()
            && self.samples[0] != name
        {
            // The read groups name the sample: a different name in the sheet
            // is a swapped file or a typo, not a label.
            return Err(format!(
                "sample '{name}' is not the sample of {} (its read groups name '{}')",
                self.path.display(),
                self.samples[0]
            ));
        }
        if self.format != SourceFormat::Vcf {
            // TSVs carry one sample; a name given for them is a label only.
            return Ok(0);
        }
        self.samples.iter().position(|s| s == name).ok_or_else(|| {
            format!(
                "sample '{name}' not in {} (samples: {})",
                self.path.display(),
                self.samples.join(", ")
            )
        })
    }

    pub fn genotype(&self, site: usize, sample: usize) -> Option<u8> {
        self.genotypes
            .as_ref()
            .and_then(|g| g[site * self.samples.len() + sample])
    }

    pub fn depth(&self, site: usize, sample: usize) -> Option<[u32; 2]> {
        self.depths
            .as_ref()
            .and_then(|d| d[site * self.samples.len() + sample])
    }
}

pub(crate) fn starts_with_gzip(path: &Path) -> Result<bool> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(|e| Error::io(path, e))?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

/// Read a genotype or count file, detecting VCF (plain or bgzipped) by extension
/// or content, else a TSV by its header.
pub fn read_allele_table(path: &Path) -> Result<AlleleTable> {
    check_input_file(path)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.ends_with(".bcf") {
        return Err(InputError::new(
            path,
            "BCF is not supported; convert with `bcftools view -Oz`",
        )
        .into());
    }
    let gz = starts_with_gzip(path)?;
    if gz {
        check_bgzf_complete(path)?;
    } else {
        check_text_encoding(path)?;
    }
    let is_vcf =
        name.ends_with(".vcf") || name.ends_with(".vcf.gz") || name.ends_with(".vcf.bgz") || {
            let head = crate::formats::tsv::first_line(path, gz)?;
            head.starts_with("##fileformat=VCF")
        };
    if is_vcf {
        crate::formats::vcf::read_vcf(path, gz)
    } else {
        crate::formats::tsv::read_allele_tsv(path, gz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads_table(sample: &str) -> AlleleTable {
        AlleleTable {
            path: PathBuf::from("draw.bam"),
            format: SourceFormat::Alignments,
            samples: vec![sample.to_string()],
            sites: Vec::new(),
            alt_frequency: Vec::new(),
            genotypes: None,
            depths: Some(Vec::new()),
            non_snp_sites: 0,
        }
    }

    #[test]
    fn a_read_group_sample_must_match_the_sheet_name() {
        let t = reads_table("P1");
        assert_eq!(t.sample_index("P1"), Ok(0));
        assert_eq!(t.sample_index(""), Ok(0));
        let err = t.sample_index("P2").unwrap_err();
        assert!(err.contains("'P2'") && err.contains("'P1'"), "{err}");
        // No SM in the read groups: the sheet's name is a label.
        assert_eq!(reads_table("").sample_index("P2"), Ok(0));
    }
}
