//! Command-line helpers shared by the tasks.

use anyhow::{Context, bail};

/// The value after `flag`, taken from `args`: a whole number of at least 1.
pub(crate) fn positive<'a>(flag: &str, args: &mut impl Iterator<Item = &'a String>) -> anyhow::Result<u64> {
    let value = args.next().with_context(|| format!("{flag} needs a number"))?;
    let n: u64 = value.parse().with_context(|| format!("{flag} {value}: not a whole number"))?;
    if n == 0 {
        bail!("{flag} must be at least 1");
    }
    Ok(n)
}

/// `args` as the owned strings a task's `parse` takes (tests).
#[cfg(test)]
pub(crate) fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}
