//! GS1 keys inside EPCs: enough of the GS1 General Specifications and the
//! EPC Tag Data Standard to find the GTIN of a trade item and the GLN of a
//! location, from EPC URNs (`urn:epc:id:sgtin:...`) and GS1 Digital Link URIs
//! (`https://id.gs1.org/01/...`).

/// GS1 mod-10 check digit of the digits given (without the check digit).
pub use crate::ids::gs1_check_digit as check_digit;

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// GTIN-14 from an EPC URN's "CompanyPrefix.IndicatorAndItemRef" pair.
fn gtin_from_parts(company: &str, item: &str) -> Option<String> {
    if !all_digits(company) || !all_digits(item) || company.len() + item.len() != 13 {
        return None;
    }
    let body = format!("{}{company}{}", &item[..1], &item[1..]);
    Some(format!("{body}{}", check_digit(&body)?))
}

/// The GTIN-14 a trade-item identifier carries, if it carries one:
/// SGTIN/LGTIN URNs and patterns, and Digital Link URIs with AI (01).
pub fn gtin(epc: &str) -> Option<String> {
    for prefix in ["urn:epc:id:sgtin:", "urn:epc:class:lgtin:", "urn:epc:idpat:sgtin:"] {
        if let Some(rest) = epc.strip_prefix(prefix) {
            let mut parts = rest.split('.');
            return gtin_from_parts(parts.next()?, parts.next()?);
        }
    }
    // Digital Link: any host, path .../01/{gtin}/...
    let path = epc.strip_prefix("https://").or_else(|| epc.strip_prefix("http://"))?;
    let mut segs = path.split('/').skip(1);
    while let Some(s) = segs.next() {
        if s == "01" {
            let g = segs.next()?;
            if all_digits(g) && matches!(g.len(), 8 | 12 | 13 | 14) {
                return Some(format!("{g:0>14}"));
            }
            return None;
        }
    }
    None
}

/// A location key normalised as `GLN` or `GLN/extension`, from an SGLN URN
/// or a Digital Link URI with AI (414) and optional (254).
pub fn location_key(id: &str) -> Option<String> {
    if let Some(rest) = id.strip_prefix("urn:epc:id:sgln:") {
        let mut parts = rest.split('.');
        let (company, loc, ext) = (parts.next()?, parts.next()?, parts.next().unwrap_or("0"));
        if !all_digits(company) || !all_digits(loc) || company.len() + loc.len() != 12 {
            return None;
        }
        let body = format!("{company}{loc}");
        let gln = format!("{body}{}", check_digit(&body)?);
        return Some(if ext == "0" || ext.is_empty() { gln } else { format!("{gln}/{ext}") });
    }
    let path = id.strip_prefix("https://").or_else(|| id.strip_prefix("http://"))?;
    let segs: Vec<&str> = path.split('/').collect();
    let i = segs.iter().position(|s| *s == "414")?;
    let gln = segs.get(i + 1).filter(|g| all_digits(g) && g.len() == 13)?;
    match (segs.get(i + 2), segs.get(i + 3)) {
        (Some(&"254"), Some(ext)) if !ext.is_empty() && *ext != "0" => Some(format!("{gln}/{ext}")),
        _ => Some((*gln).to_owned()),
    }
}

/// A GTIN-14 from what a reference file or export gives for one: 8, 12, 13
/// or 14 digits ending in their check digit (padded to 14), or an EPC that
/// carries one (an SGTIN or LGTIN URN, a Digital Link URI). None otherwise.
pub fn gtin14(given: &str) -> Option<String> {
    let given = given.trim();
    let digits = if all_digits(given) && matches!(given.len(), 8 | 12 | 13 | 14) {
        format!("{given:0>14}")
    } else {
        gtin(given)?
    };
    (check_digit(&digits[..13])? == digits[13..].parse::<u32>().ok()?).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtins_from_urns_and_digital_links() {
        // GS1 EPC TDS example: urn:epc:id:sgtin:0614141.107346.2017 is GTIN 10614141073464.
        assert_eq!(gtin("urn:epc:id:sgtin:0614141.107346.2017").as_deref(), Some("10614141073464"));
        assert_eq!(gtin("urn:epc:class:lgtin:4012345.012345.998877").as_deref(), Some("04012345123456"));
        assert_eq!(gtin("https://id.gs1.org/01/09521141012345/21/1").as_deref(), Some("09521141012345"));
        assert_eq!(gtin("https://example.com/01/4012345123456").as_deref(), Some("04012345123456"));
        assert_eq!(gtin("urn:epc:id:sscc:0614141.1234567890"), None);
        assert_eq!(gtin("urn:epc:id:sgtin:0614141.10734.1"), None, "12 digits is not a GTIN");
    }

    #[test]
    fn locations_from_sglns_and_digital_links() {
        // urn:epc:id:sgln:0614141.07346.1234 is GLN 0614141073467 with extension 1234.
        assert_eq!(location_key("urn:epc:id:sgln:0614141.07346.1234").as_deref(), Some("0614141073467/1234"));
        assert_eq!(location_key("urn:epc:id:sgln:0614141.07346.0").as_deref(), Some("0614141073467"));
        assert_eq!(
            location_key("https://id.gs1.org/414/0614141073467/254/1234").as_deref(),
            Some("0614141073467/1234")
        );
        assert_eq!(location_key("https://id.gs1.org/414/0614141073467").as_deref(), Some("0614141073467"));
        assert_eq!(location_key("urn:epc:id:sgln:abc.1.0"), None);
    }

    #[test]
    fn check_digits() {
        assert_eq!(check_digit("1061414107346"), Some(4));
        assert_eq!(check_digit("061414107346"), Some(7));
    }
}
