//! GL String (Milius et al., Hum Immunol 2013;74:1155; version 1.1 operators):
//! precedence, outermost first: `^` loci, `|` alternative genotypes, `+` the two
//! gene copies, `~` haplotype phase, `/` allele ambiguity.
//! `A*01:01+A*02:01^DRB1*15:01~DRB5*01:01+DRB1*04:01~DRB4*01:01`.

use crate::hla::nomenclature::{NameError, TypedItem, parse_item};

/// `^`: one block per locus (or linked loci, when `~` joins them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlString {
    pub loci: Vec<GlLocus>,
}

/// `|`: alternative genotypes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlLocus {
    pub genotypes: Vec<GlGenotype>,
}

/// `+`: the gene copies (haplotypes) of one genotype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlGenotype {
    pub copies: Vec<GlHaplotype>,
}

/// `~`: alleles in phase on one haplotype.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlHaplotype {
    pub alleles: Vec<GlAlleleList>,
}

/// `/`: ambiguous alleles, any one of which is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlAlleleList {
    pub alternatives: Vec<TypedItem>,
}

pub fn parse_gl_string(text: &str) -> Result<GlString, NameError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(NameError("empty GL String".into()));
    }
    let loci = s
        .split('^')
        .map(|locus| {
            let genotypes = locus
                .split('|')
                .map(|genotype| {
                    let copies = genotype
                        .split('+')
                        .map(|copy| {
                            let alleles = copy
                                .split('~')
                                .map(|list| {
                                    let alternatives = list
                                        .split('/')
                                        .map(|name| {
                                            let name = name.trim();
                                            if name.is_empty() {
                                                Err(NameError(format!(
                                                    "GL String '{s}': an operator has nothing on one side"
                                                )))
                                            } else {
                                                parse_item(name)
                                            }
                                        })
                                        .collect::<Result<Vec<_>, _>>()?;
                                    Ok(GlAlleleList { alternatives })
                                })
                                .collect::<Result<Vec<_>, NameError>>()?;
                            Ok(GlHaplotype { alleles })
                        })
                        .collect::<Result<Vec<_>, NameError>>()?;
                    if copies.len() > 2 {
                        return Err(NameError(format!(
                            "GL String '{s}': more than two gene copies joined by '+'"
                        )));
                    }
                    Ok(GlGenotype { copies })
                })
                .collect::<Result<Vec<_>, NameError>>()?;
            Ok(GlLocus { genotypes })
        })
        .collect::<Result<Vec<_>, NameError>>()?;
    Ok(GlString { loci })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &GlAlleleList) -> Vec<String> {
        list.alternatives.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn caret_separates_loci_and_plus_separates_copies() {
        let gl = parse_gl_string("A*01:01+A*02:01^B*07:02+B*08:01^DRB1*15:01+DRB1*04:01").unwrap();
        assert_eq!(gl.loci.len(), 3);
        let a = &gl.loci[0].genotypes[0];
        assert_eq!(a.copies.len(), 2);
        assert_eq!(names(&a.copies[1].alleles[0]), vec!["A*02:01"]);
    }

    #[test]
    fn slash_binds_tighter_than_tilde_which_binds_tighter_than_plus() {
        // DRB1*15:01/15:02 is one ambiguous allele in phase with DRB5 on copy 1.
        let gl = parse_gl_string("DRB1*15:01/DRB1*15:02~DRB5*01:01+DRB1*04:01~DRB4*01:01").unwrap();
        let genotype = &gl.loci[0].genotypes[0];
        assert_eq!(genotype.copies.len(), 2);
        let copy1 = &genotype.copies[0];
        assert_eq!(copy1.alleles.len(), 2, "~ splits the haplotype into 2 loci");
        assert_eq!(names(&copy1.alleles[0]), vec!["DRB1*15:01", "DRB1*15:02"]);
        assert_eq!(names(&copy1.alleles[1]), vec!["DRB5*01:01"]);
    }

    #[test]
    fn pipe_separates_whole_genotypes_below_caret() {
        let gl = parse_gl_string("A*01:01+A*02:01|A*01:02+A*02:05^B*07:02").unwrap();
        assert_eq!(gl.loci.len(), 2);
        assert_eq!(gl.loci[0].genotypes.len(), 2);
        assert_eq!(
            names(&gl.loci[0].genotypes[1].copies[1].alleles[0]),
            vec!["A*02:05"]
        );
    }

    #[test]
    fn dangling_operators_and_bad_names_are_errors() {
        assert!(parse_gl_string("A*01:01+").is_err());
        assert!(parse_gl_string("A*01:01//A*02:01").is_err());
        assert!(parse_gl_string("A*01:01+A*02:01+A*03:01").is_err());
        assert!(
            parse_gl_string("A*01:AB+A*02:01")
                .unwrap_err()
                .0
                .contains("NMDP")
        );
    }
}
