//! The JSON report.

use std::io::Write;

/// `{"Evaluations": [...]}`, copied from the spool the evaluations were written to.
pub(in crate::dryrun) fn write_json(out: &mut dyn Write, mut spool: std::fs::File) -> std::io::Result<()> {
    use std::io::Seek;
    spool.rewind()?;
    let empty = spool.metadata()?.len() == 0;
    out.write_all(if empty { b"{\n  \"Evaluations\": []" } else { b"{\n  \"Evaluations\": [\n" })?;
    std::io::copy(&mut spool, out)?;
    out.write_all(if empty { b"\n}\n" } else { b"\n  ]\n}\n" })
}
