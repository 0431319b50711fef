//! `portcullis check`: reports identifiers that could be mistaken for others, which rows made
//! before the current rules may hold: brand keys that are not lowercase ASCII, usernames that
//! clash with another of their brand and kind after Unicode caseless folding, and usernames
//! with characters no new username may have (control, format, mixed scripts…). Read-only; exits
//! non-zero when it finds anything.

use std::collections::BTreeMap;

use portcullis_core::username;
use portcullis_tenancy::{BrandScope, BrandStore, PrincipalKind, PrincipalStore};
use serde::Serialize;

use crate::cli::CheckArgs;
use crate::output;
use crate::platform::Platform;

/// Rows read per page.
const PAGE: u64 = 500;

/// One problem found.
#[derive(Debug, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
enum Finding {
    /// A brand key outside lowercase ASCII letters, digits and `-`.
    BrandKey { brand: String },
    /// Usernames of one brand and kind that fold to the same key (the first created is kept).
    UsernameClash { brand: String, kind: &'static str, usernames: Vec<String>, ids: Vec<String> },
    /// A username that new usernames may not be.
    UsernameInvalid { brand: String, kind: &'static str, username: String, id: String, reason: String },
}

impl Finding {
    fn describe(&self) -> String {
        match self {
            Self::BrandKey { brand } => {
                format!("brand key '{brand}' is not lowercase ASCII letters, digits and '-'")
            }
            Self::UsernameClash { brand, kind, usernames, ids } => format!(
                "brand '{brand}': {kind} usernames {} ({}) are the same name after case and width folding",
                usernames.iter().map(|u| format!("{u:?}")).collect::<Vec<_>>().join(", "),
                ids.join(", ")
            ),
            Self::UsernameInvalid { brand, kind, username, id, reason } => {
                format!("brand '{brand}': {kind} {username:?} ({id}): {reason}")
            }
        }
    }
}

/// The report as `--json` prints it.
#[derive(Debug, Serialize)]
struct Report<'a> {
    findings: &'a [Finding],
}

/// Runs the check and prints its report.
pub(crate) async fn run(platform: &Platform, args: CheckArgs) -> anyhow::Result<()> {
    let findings = findings(platform).await?;
    if args.json {
        output::json(&Report { findings: &findings })?;
    } else if findings.is_empty() {
        output::lines(&["no problems found".to_owned()]);
    } else {
        output::lines(&findings.iter().map(Finding::describe).collect::<Vec<_>>());
    }
    if !findings.is_empty() {
        anyhow::bail!("{} problem(s) found", findings.len());
    }
    Ok(())
}

async fn findings(platform: &Platform) -> anyhow::Result<Vec<Finding>> {
    let store = &platform.grants.store;
    let mut findings = Vec::new();
    let mut after = None;
    loop {
        let brands = store.list_brands(after, PAGE).await?;
        let Some(last) = brands.last() else {
            break;
        };
        after = Some(last.id);
        for brand in brands {
            if !brand.key.is_canonical() {
                findings.push(Finding::BrandKey { brand: brand.key.to_string() });
            }
            let scope = BrandScope::new(brand);
            for kind in [PrincipalKind::User, PrincipalKind::Operator] {
                check_principals(platform, &scope, kind, &mut findings).await?;
            }
        }
    }
    Ok(findings)
}

async fn check_principals(
    platform: &Platform,
    scope: &BrandScope,
    kind: PrincipalKind,
    findings: &mut Vec<Finding>,
) -> anyhow::Result<()> {
    let brand = scope.key().to_string();
    // key → (created_at, username, id) of every principal with it.
    let mut by_key: BTreeMap<String, Vec<(i64, String, String)>> = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = platform.grants.store.list_principals(scope, kind, None, after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.username.clone());
        for principal in page {
            let normalised = username::normalise(&principal.username);
            let reason = match username::check(&normalised) {
                Err(e) => Some(e.to_string()),
                Ok(()) if normalised != principal.username => Some("username is not in Unicode NFC".to_owned()),
                Ok(()) => None,
            };
            if let Some(reason) = reason {
                findings.push(Finding::UsernameInvalid {
                    brand: brand.clone(),
                    kind: kind.as_str(),
                    username: principal.username.clone(),
                    id: principal.id.clone(),
                    reason,
                });
            }
            let entry = (principal.created_at, principal.username, principal.id);
            by_key.entry(username::key(&entry.1)).or_default().push(entry);
        }
    }
    for mut clash in by_key.into_values().filter(|group| group.len() > 1) {
        clash.sort();
        let (usernames, ids) = clash.into_iter().map(|(_, username, id)| (username, id)).unzip();
        findings.push(Finding::UsernameClash { brand: brand.clone(), kind: kind.as_str(), usernames, ids });
    }
    Ok(())
}
