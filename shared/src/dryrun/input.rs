//! The inputs: files and directories (read recursively, sorted), gzip (told by its magic
//! bytes), the embedded sample; and the errors of single inputs and entries, which are reported
//! and counted rather than stopping the run.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use super::error::Error;

/// One input problem: which file, and what (naming the item and the field where it can).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub(super) struct InputError {
    pub(super) file: String,
    pub(super) message: String,
}

/// Every file below `paths`, sorted within each directory; the embedded sample without paths.
pub(super) fn input_files(paths: &[PathBuf]) -> Result<Vec<Input>, Error> {
    if paths.is_empty() {
        return Ok(vec![Input::Sample]);
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_dir(path, &mut files)?;
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(Error::NoSuchPath(path.clone()));
        }
    }
    Ok(files.into_iter().map(Input::File).collect())
}

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    let error = |source| Error::ReadDir { path: dir.to_owned(), source };
    // An entry that cannot be listed is an error: skipped, its files would be missing unseen.
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(error)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>().map_err(error)?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_dir(&entry, files)?;
        } else if entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".json") || n.ends_with(".json.gz"))
        {
            files.push(entry);
        }
    }
    Ok(())
}

/// Where items come from: a file, or the embedded sample.
#[derive(Debug, Clone)]
pub(super) enum Input {
    File(PathBuf),
    Sample,
}

impl Input {
    /// The input's bytes, inflated, counted on the progress bar if there is one.
    pub(super) fn open(&self, progress: Option<&indicatif::ProgressBar>) -> std::io::Result<Box<dyn Read>> {
        match self {
            Input::File(path) => open(path, progress),
            Input::Sample => Ok(Box::new(super::SAMPLE.as_bytes())),
        }
    }

    /// The length of the input's file now; `None` for the embedded sample, or a file whose
    /// length cannot be read.
    pub(super) fn file_length(&self) -> Option<u64> {
        match self {
            // Harmless when the metadata cannot be read: `None` only means that the places of
            // this input's users and roles are not trusted, and every input is split again.
            Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Input::Sample => None,
        }
    }

    /// The input's file, opened to be read at places ([`super::places`]), when it is a file
    /// of `length` bytes that is not gzip (whose places are in the inflated text); `None`
    /// otherwise.
    pub(super) fn plain_file(&self, length: u64) -> std::io::Result<Option<std::fs::File>> {
        let Input::File(path) = self else { return Ok(None) };
        let mut file = std::fs::File::open(path)?;
        if file.metadata()?.len() != length {
            return Ok(None);
        }
        let mut magic = [0u8; 2];
        let read = file.read(&mut magic)?;
        Ok((read < magic.len() || !is_gzip(&magic)).then_some(file))
    }

    /// The input's name in messages: its path.
    pub(super) fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Sample => "(embedded sample)".into(),
        }
    }
}

/// A progress bar over the input bytes, on standard error when it is a terminal.
pub(super) fn progress_bar(inputs: &[Input]) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = inputs
        .iter()
        .filter_map(|i| match i {
            Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Input::Sample => None,
        })
        .sum();
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {eta} {msg}") {
        bar.set_style(style);
    }
    Some(bar)
}

/// Opens a file for streaming, inflating gzip (told by its magic bytes, not its name).
fn open(path: &Path, progress: Option<&indicatif::ProgressBar>) -> std::io::Result<Box<dyn Read>> {
    let file = std::fs::File::open(path)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let magic = std::io::BufRead::fill_buf(&mut reader)?;
    let gzipped = is_gzip(magic);
    let counted: Box<dyn Read> = match progress {
        Some(bar) => Box::new(bar.wrap_read(reader)),
        None => Box::new(reader),
    };
    Ok(match gzipped {
        true => Box::new(std::io::BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(counted))),
        false => counted,
    })
}

/// Does a file that starts with `bytes` hold gzip (told by its magic bytes, not its name)?
fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}
