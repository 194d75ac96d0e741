//! WHO HLA nomenclature: allele names (`HLA-A*02:01:01:01N`), `XX` codes,
//! serologic antigens (`A2`, `Cw10`, `DR53`, `DQ7`). NMDP MAC codes are
//! recognised only to be rejected: expanding them needs NMDP's allele code table.
//!
//! Nomenclature: Marsh et al., Tissue Antigens 2010;75:291 (colon-separated
//! fields from April 2010); IPD-IMGT/HLA (Barker et al., NAR 2023;51:D948).

use std::fmt;

/// A gene as named in allele names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gene {
    A,
    B,
    C,
    Drb1,
    Drb3,
    Drb4,
    Drb5,
    Dqa1,
    Dqb1,
    Dpa1,
    Dpb1,
}

impl Gene {
    pub const ALL: [Gene; 11] = [
        Gene::A,
        Gene::B,
        Gene::C,
        Gene::Drb1,
        Gene::Drb3,
        Gene::Drb4,
        Gene::Drb5,
        Gene::Dqa1,
        Gene::Dqb1,
        Gene::Dpa1,
        Gene::Dpb1,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Gene::A => "A",
            Gene::B => "B",
            Gene::C => "C",
            Gene::Drb1 => "DRB1",
            Gene::Drb3 => "DRB3",
            Gene::Drb4 => "DRB4",
            Gene::Drb5 => "DRB5",
            Gene::Dqa1 => "DQA1",
            Gene::Dqb1 => "DQB1",
            Gene::Dpa1 => "DPA1",
            Gene::Dpb1 => "DPB1",
        }
    }

    pub fn parse(s: &str) -> Option<Gene> {
        let u = s.to_ascii_uppercase();
        Gene::ALL.iter().copied().find(|g| g.name() == u)
    }

    /// The comparison locus: DRB3, DRB4 and DRB5 are pooled as one locus.
    pub fn locus(self) -> Locus {
        match self {
            Gene::A => Locus::A,
            Gene::B => Locus::B,
            Gene::C => Locus::C,
            Gene::Drb1 => Locus::Drb1,
            Gene::Drb3 | Gene::Drb4 | Gene::Drb5 => Locus::Drb345,
            Gene::Dqa1 => Locus::Dqa1,
            Gene::Dqb1 => Locus::Dqb1,
            Gene::Dpa1 => Locus::Dpa1,
            Gene::Dpb1 => Locus::Dpb1,
        }
    }
}

/// A comparison locus (what mismatches are counted per).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Locus {
    A,
    B,
    C,
    Drb1,
    Drb345,
    Dqa1,
    Dqb1,
    Dpa1,
    Dpb1,
}

impl Locus {
    pub const ALL: [Locus; 9] = [
        Locus::A,
        Locus::B,
        Locus::C,
        Locus::Drb1,
        Locus::Drb345,
        Locus::Dqa1,
        Locus::Dqb1,
        Locus::Dpa1,
        Locus::Dpb1,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Locus::A => "A",
            Locus::B => "B",
            Locus::C => "C",
            Locus::Drb1 => "DRB1",
            Locus::Drb345 => "DRB345",
            Locus::Dqa1 => "DQA1",
            Locus::Dqb1 => "DQB1",
            Locus::Dpa1 => "DPA1",
            Locus::Dpb1 => "DPB1",
        }
    }

    pub fn index(self) -> usize {
        Locus::ALL.iter().position(|&l| l == self).unwrap_or(0)
    }

    pub fn is_class_one(self) -> bool {
        matches!(self, Locus::A | Locus::B | Locus::C)
    }
}

impl serde::Serialize for Locus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for Locus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Expression suffix of an allele name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Expression {
    /// `N`: not expressed. A null allele is never a mismatch.
    Null,
    Low,
    Secreted,
    Cytoplasm,
    Aberrant,
    Questionable,
}

impl Expression {
    fn from_char(c: char) -> Option<Expression> {
        Some(match c {
            'N' => Expression::Null,
            'L' => Expression::Low,
            'S' => Expression::Secreted,
            'C' => Expression::Cytoplasm,
            'A' => Expression::Aberrant,
            'Q' => Expression::Questionable,
            _ => return None,
        })
    }

    pub fn letter(self) -> char {
        match self {
            Expression::Null => 'N',
            Expression::Low => 'L',
            Expression::Secreted => 'S',
            Expression::Cytoplasm => 'C',
            Expression::Aberrant => 'A',
            Expression::Questionable => 'Q',
        }
    }
}

/// A WHO allele name: gene, 1–4 numeric fields, optional expression suffix.
/// `A*02:XX` is kept as one field plus `any_in_group`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlleleName {
    pub gene: Gene,
    pub fields: Vec<String>,
    pub expression: Option<Expression>,
    /// `XX` code: any allele of the first field's group.
    pub any_in_group: bool,
}

impl AlleleName {
    pub fn is_null(&self) -> bool {
        self.expression == Some(Expression::Null)
    }

    /// `A*02:01` from any resolution (an `XX` code stays `A*02:XX`).
    pub fn two_field(&self) -> String {
        if self.any_in_group || self.fields.len() < 2 {
            return self.to_string();
        }
        let mut s = format!("{}*{}:{}", self.gene.name(), self.fields[0], self.fields[1]);
        if let Some(e) = self.expression {
            s.push(e.letter());
        }
        s
    }

    /// The fields as written in IPD files (`02:01:01:01`, without the gene).
    pub fn field_string(&self) -> String {
        self.fields.join(":")
    }
}

impl fmt::Display for AlleleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}*{}", self.gene.name(), self.fields.join(":"))?;
        if self.any_in_group {
            write!(f, ":XX")?;
        }
        if let Some(e) = self.expression {
            write!(f, "{}", e.letter())?;
        }
        Ok(())
    }
}

/// A serologic antigen: its comparison locus and WHO number (`DR53` →
/// (DRB345, 53); `Cw10` → (C, 10)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Antigen {
    pub locus: Locus,
    pub number: u16,
}

impl Antigen {
    pub fn new(locus: Locus, number: u16) -> Antigen {
        Antigen { locus, number }
    }

    /// The prefix used in rel_ser_ser.txt and in antigen names.
    pub fn prefix(locus: Locus) -> &'static str {
        match locus {
            Locus::A => "A",
            Locus::B => "B",
            Locus::C => "Cw",
            Locus::Drb1 | Locus::Drb345 => "DR",
            Locus::Dqa1 | Locus::Dqb1 => "DQ",
            // DPw1–DPw6: cellular (primed lymphocyte) specificities.
            Locus::Dpa1 | Locus::Dpb1 => "DPw",
        }
    }

    /// DPw1–DPw6, the WHO DP specificities (typed by primed-lymphocyte
    /// testing; rel_ser_ser.txt and rel_dna_ser.txt list none of them).
    pub fn is_dp_specificity(&self) -> bool {
        self.locus == Locus::Dpb1 && (1..=6).contains(&self.number)
    }
}

/// The public epitopes Bw4 and Bw6, carried by HLA-B (and some HLA-A)
/// antigens. Typed beside the antigens (`A2 A24 B7 B44 Bw4 Bw6`), they are not
/// a gene copy of any locus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum PublicEpitope {
    Bw4,
    Bw6,
}

impl PublicEpitope {
    pub fn name(self) -> &'static str {
        match self {
            PublicEpitope::Bw4 => "Bw4",
            PublicEpitope::Bw6 => "Bw6",
        }
    }

    /// `Bw4`, `Bw6` (any case, optional `HLA-`).
    pub fn parse(text: &str) -> Option<PublicEpitope> {
        let t = text.trim();
        let t = t.strip_prefix("HLA-").unwrap_or(t);
        match t.to_ascii_uppercase().as_str() {
            "BW4" => Some(PublicEpitope::Bw4),
            "BW6" => Some(PublicEpitope::Bw6),
            _ => None,
        }
    }
}

impl fmt::Display for PublicEpitope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Antigen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Antigen::prefix(self.locus), self.number)
    }
}

/// One typed gene copy: a molecular allele or a serologic antigen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypedItem {
    Allele(AlleleName),
    Antigen(Antigen),
}

impl TypedItem {
    pub fn locus(&self) -> Locus {
        match self {
            TypedItem::Allele(a) => a.gene.locus(),
            TypedItem::Antigen(a) => a.locus,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, TypedItem::Allele(a) if a.is_null())
    }
}

impl fmt::Display for TypedItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypedItem::Allele(a) => a.fmt(f),
            TypedItem::Antigen(a) => a.fmt(f),
        }
    }
}

/// Why a name could not be read. The message is meant for the user as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(pub String);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const MAC_TABLE_MESSAGE: &str = "is an NMDP multiple allele code (MAC); expanding it needs NMDP's allele code table (numer.txt / alpha.v3.txt from https://hml.nmdp.org/MacUI/), which graftscan does not read: give the alleles or a GL String instead";

/// Parse a WHO allele name, with or without `HLA-`.
pub fn parse_allele(text: &str) -> Result<AlleleName, NameError> {
    let raw = text.trim();
    let s = raw
        .strip_prefix("HLA-")
        .or_else(|| raw.strip_prefix("hla-"))
        .unwrap_or(raw);
    let Some((gene_text, rest)) = s.split_once('*') else {
        return Err(NameError(format!(
            "'{raw}' is not an allele name (expected GENE*field:field, e.g. A*02:01)"
        )));
    };
    let Some(gene) = Gene::parse(gene_text) else {
        return Err(NameError(format!(
            "'{raw}': unknown or unsupported locus '{gene_text}' (graftscan matches A, B, C, DRB1, DRB3, DRB4, DRB5, DQA1, DQB1, DPA1, DPB1)"
        )));
    };
    if rest.is_empty() {
        return Err(NameError(format!("'{raw}': no allele fields after '*'")));
    }
    if let Some(last) = rest.rsplit(':').next()
        && last.len() > 1
        && (last.ends_with('G') || last.ends_with('P'))
        && last[..last.len() - 1].chars().all(|c| c.is_ascii_digit())
    {
        return Err(NameError(format!(
            "'{raw}' is a {} group designation, not an allele; give the alleles (or a GL String), or compare with --level {}",
            &last[last.len() - 1..],
            if last.ends_with('G') {
                "g-group"
            } else {
                "p-group"
            }
        )));
    }
    let parts: Vec<&str> = rest.split(':').collect();
    if parts.len() > 4 {
        return Err(NameError(format!(
            "'{raw}': more than 4 fields in an allele name"
        )));
    }
    if parts.len() == 1 && parts[0].len() >= 4 && parts[0].chars().all(|c| c.is_ascii_digit()) {
        return Err(NameError(format!(
            "'{raw}' is a pre-2010 name without colons; write it with colon-separated fields (e.g. A*0201 → A*02:01, see Marsh et al. 2010)"
        )));
    }
    let mut fields = Vec::with_capacity(parts.len());
    let mut expression = None;
    let mut any_in_group = false;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut body = *part;
        // The expression suffix is one character, possibly not ASCII in a
        // malformed name: split at its char boundary (found by fuzzing).
        if last
            && let Some((at, c)) = body.char_indices().last()
            && at > 0
            && body[..at].chars().all(|c| c.is_ascii_digit())
            && let Some(e) = Expression::from_char(c.to_ascii_uppercase())
        {
            expression = Some(e);
            body = &body[..at];
        }
        if body.is_empty() {
            return Err(NameError(format!("'{raw}': empty field {}", i + 1)));
        }
        if body.chars().all(|c| c.is_ascii_digit()) {
            if body.len() < 2 {
                return Err(NameError(format!(
                    "'{raw}': field {} must have at least 2 digits",
                    i + 1
                )));
            }
            fields.push(body.to_string());
        } else if body.chars().all(|c| c.is_ascii_alphabetic()) {
            if i == 1 && body.eq_ignore_ascii_case("XX") && last && expression.is_none() {
                any_in_group = true;
            } else if i == 1 && last {
                return Err(NameError(format!("'{raw}' {MAC_TABLE_MESSAGE}")));
            } else {
                return Err(NameError(format!(
                    "'{raw}': field {} ('{body}') is not numeric",
                    i + 1
                )));
            }
        } else {
            return Err(NameError(format!(
                "'{raw}': field {} ('{part}') is malformed",
                i + 1
            )));
        }
    }
    Ok(AlleleName {
        gene,
        fields,
        expression,
        any_in_group,
    })
}

/// Parse a serologic antigen: `A2`, `B44`, `Cw7` (or `C7`), `DR15`, `DR51/52/53`
/// (→ DRB5/3/4, pooled locus), `DQ7`, `DPw1`–`DPw6` (or `DP1`). An optional
/// `HLA-` prefix is accepted. `Bw4`/`Bw6` are public epitopes, read by
/// [`PublicEpitope::parse`] where a typing is read.
pub fn parse_antigen(text: &str) -> Result<Antigen, NameError> {
    let raw = text.trim();
    let s = raw.strip_prefix("HLA-").unwrap_or(raw);
    if PublicEpitope::parse(s).is_some() {
        return Err(NameError(format!(
            "'{raw}' is a public epitope, not an antigen of one locus: list it with the antigens (e.g. 'A2 A24 B7 B44 Bw4 Bw6') or as its own GL String block; see --bw4-bw6"
        )));
    }
    let split = s.find(|c: char| c.is_ascii_digit()).ok_or_else(|| {
        NameError(format!(
            "'{raw}' is not a serologic antigen (e.g. A2, DR15)"
        ))
    })?;
    let (prefix, digits) = s.split_at(split);
    if !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 4 {
        return Err(NameError(format!(
            "'{raw}' is not a serologic antigen (e.g. A2, DR15)"
        )));
    }
    let number: u16 = digits
        .parse()
        .map_err(|_| NameError(format!("'{raw}': bad antigen number")))?;
    if number == 0 {
        return Err(NameError(format!("'{raw}': antigen number 0")));
    }
    let locus = match prefix.to_ascii_uppercase().as_str() {
        "A" => Locus::A,
        "B" => Locus::B,
        "C" | "CW" => Locus::C,
        "DR" if matches!(number, 51..=53) => Locus::Drb345,
        "DR" => Locus::Drb1,
        "DQ" => Locus::Dqb1,
        "DP" | "DPW" if (1..=6).contains(&number) => Locus::Dpb1,
        "DP" | "DPW" => {
            return Err(NameError(format!(
                "'{raw}': the DP specificities are DPw1 to DPw6"
            )));
        }
        "" => return Err(NameError(format!("'{raw}': no locus before the number"))),
        other => {
            return Err(NameError(format!(
                "'{raw}': unknown or unsupported serologic locus '{other}' (A, B, Cw, DR, DQ, DPw)"
            )));
        }
    };
    Ok(Antigen { locus, number })
}

/// An allele name (has `*`) or a serologic antigen.
pub fn parse_item(text: &str) -> Result<TypedItem, NameError> {
    if text.contains('*') {
        parse_allele(text).map(TypedItem::Allele)
    } else {
        parse_antigen(text).map(TypedItem::Antigen)
    }
}

/// DRB3/4/5 genes predicted by a DRB1 allele family (first field):
/// 03/05/06/11/12/13/14 → DRB3; 04/07/09 → DRB4; 02/15/16 → DRB5; 01/08/10 → none.
pub fn drb345_expected_from_drb1_family(family: u16) -> Option<Option<Gene>> {
    Some(match family {
        3 | 5 | 6 | 11 | 12 | 13 | 14 => Some(Gene::Drb3),
        4 | 7 | 9 => Some(Gene::Drb4),
        2 | 15 | 16 => Some(Gene::Drb5),
        1 | 8 | 10 => None,
        _ => return None,
    })
}

/// DRB1 family of a DR antigen (DR17 → 03, DR1403 → 14); `None` if unknown.
pub fn drb1_family_of_dr_antigen(number: u16) -> Option<u16> {
    Some(match number {
        1 | 103 => 1,
        2 | 15 | 16 => 15,
        3 | 17 | 18 => 3,
        4 => 4,
        5 | 11 => 11,
        12 => 12,
        6 | 13 => 13,
        14 | 1403 | 1404 => 14,
        7 => 7,
        8 => 8,
        9 => 9,
        10 => 10,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_ascii_last_character_is_an_error_not_a_panic() {
        // Found by the hla_names fuzz target (fuzz/regressions/hla_names/).
        assert!(parse_allele("A*02:0\u{cf}").is_err());
        assert!(parse_allele("A*0\u{1}\u{0}:01\u{cf}\u{ce}").is_err());
        assert_eq!(parse_allele("A*24:02N").unwrap().to_string(), "A*24:02N");
    }

    #[test]
    fn allele_names_parse_with_or_without_hla_prefix() {
        let a = parse_allele("HLA-A*02:01:01:01").unwrap();
        assert_eq!(a.gene, Gene::A);
        assert_eq!(a.fields, vec!["02", "01", "01", "01"]);
        assert_eq!(parse_allele("A*02:01:01:01").unwrap(), a);
        assert_eq!(parse_allele("DRB1*15").unwrap().fields, vec!["15"]);
        assert_eq!(a.two_field(), "A*02:01");
    }

    #[test]
    fn expression_suffixes_are_read() {
        let n = parse_allele("A*01:01:01:02N").unwrap();
        assert!(n.is_null());
        assert_eq!(n.fields, vec!["01", "01", "01", "02"]);
        for (name, e) in [
            ("A*24:02:01:02L", Expression::Low),
            ("B*44:02:01:02S", Expression::Secreted),
            ("A*24:09N", Expression::Null),
            ("C*04:09N", Expression::Null),
            ("A*32:11Q", Expression::Questionable),
            ("B*39:01:01:02C", Expression::Cytoplasm),
            ("A*01:01:01:99A", Expression::Aberrant),
        ] {
            assert_eq!(parse_allele(name).unwrap().expression, Some(e), "{name}");
        }
    }

    #[test]
    fn xx_codes_mean_any_allele_of_the_group() {
        let x = parse_allele("A*02:XX").unwrap();
        assert!(x.any_in_group);
        assert_eq!(x.fields, vec!["02"]);
        assert_eq!(x.to_string(), "A*02:XX");
    }

    #[test]
    fn mac_codes_are_rejected_naming_the_nmdp_table() {
        let e = parse_allele("A*01:AB").unwrap_err();
        assert!(e.0.contains("NMDP"), "{e}");
        assert!(e.0.contains("code table"), "{e}");
    }

    #[test]
    fn g_and_p_group_designations_are_rejected_clearly() {
        assert!(
            parse_allele("A*01:01:01G")
                .unwrap_err()
                .0
                .contains("G group")
        );
        assert!(parse_allele("A*02:01P").unwrap_err().0.contains("P group"));
    }

    #[test]
    fn pre_2010_names_are_rejected_clearly() {
        let e = parse_allele("A*0201").unwrap_err();
        assert!(e.0.contains("pre-2010"), "{e}");
    }

    #[test]
    fn malformed_and_unknown_loci_are_rejected() {
        assert!(parse_allele("Q*01:01").unwrap_err().0.contains("unknown"));
        assert!(parse_allele("A*01:").is_err());
        assert!(parse_allele("A*1:01").is_err());
        assert!(parse_allele("A*01:01:01:01:01").is_err());
        assert!(parse_allele("A02:01").is_err());
    }

    #[test]
    fn serologic_antigens_parse() {
        let cases = [
            ("A2", Locus::A, 2),
            ("B44", Locus::B, 44),
            ("Cw7", Locus::C, 7),
            ("DR15", Locus::Drb1, 15),
            ("DR51", Locus::Drb345, 51),
            ("DR52", Locus::Drb345, 52),
            ("DR53", Locus::Drb345, 53),
            ("DQ7", Locus::Dqb1, 7),
        ];
        for (text, locus, number) in cases {
            let a = parse_antigen(text).unwrap();
            assert_eq!((a.locus, a.number), (locus, number), "{text}");
            assert_eq!(a.to_string(), text);
        }
        assert!(parse_antigen("X5").is_err());
        assert!(parse_antigen("A").is_err());
    }

    #[test]
    fn dp_specificities_and_public_epitopes_are_recognised() {
        for text in ["DPw3", "DP3", "HLA-DPw3"] {
            let a = parse_antigen(text).unwrap();
            assert_eq!((a.locus, a.number), (Locus::Dpb1, 3), "{text}");
            assert_eq!(a.to_string(), "DPw3");
            assert!(a.is_dp_specificity());
        }
        assert!(
            parse_antigen("DPw7")
                .unwrap_err()
                .0
                .contains("DPw1 to DPw6")
        );
        assert_eq!(PublicEpitope::parse("bw4"), Some(PublicEpitope::Bw4));
        assert_eq!(PublicEpitope::parse("HLA-Bw6"), Some(PublicEpitope::Bw6));
        assert_eq!(PublicEpitope::parse("B4"), None);
        assert!(
            parse_antigen("Bw4")
                .unwrap_err()
                .0
                .contains("public epitope")
        );
    }
}
