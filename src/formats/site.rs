//! SNP identity: chromosome, position, REF and ALT bases. Sites are joined across
//! files on all four; only biallelic single-nucleotide variants are used.

use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteKey {
    pub chrom: Arc<str>,
    pub pos: u64,
    pub ref_base: u8,
    pub alt_base: u8,
}

/// A single A/C/G/T base, upper-cased; anything else is not a SNP allele.
pub fn snp_base(allele: &str) -> Option<u8> {
    match allele.as_bytes() {
        [b] => match b.to_ascii_uppercase() {
            c @ (b'A' | b'C' | b'G' | b'T') => Some(c),
            _ => None,
        },
        _ => None,
    }
}

impl SiteKey {
    pub fn new(chrom: Arc<str>, pos: u64, ref_allele: &str, alt_allele: &str) -> Option<SiteKey> {
        let ref_base = snp_base(ref_allele)?;
        let alt_base = snp_base(alt_allele)?;
        if ref_base == alt_base {
            return None;
        }
        Some(SiteKey {
            chrom,
            pos,
            ref_base,
            alt_base,
        })
    }
}

impl std::fmt::Display for SiteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} {}>{}",
            self.chrom, self.pos, self.ref_base as char, self.alt_base as char
        )
    }
}

/// Interns chromosome names so that millions of sites share a handful of strings.
#[derive(Debug, Default)]
pub struct ChromInterner {
    names: Vec<Arc<str>>,
}

impl ChromInterner {
    pub fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.names.iter().find(|n| &***n == name) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(name);
        self.names.push(n.clone());
        n
    }
}
