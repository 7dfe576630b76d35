//! Reading files whose size a header declares, raw or gzip-compressed, without trusting the
//! header: nothing is allocated beyond what the file really holds.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::DataError;

/// The two bytes every gzip file starts with.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Most bytes reserved up front when decompressing; a file that really is larger grows the
/// buffer as it is read.
const MAX_RESERVE: u64 = 16 << 20;

/// Finds `dir/name` or `dir/name.gz`, in that order.
pub(crate) fn find_with_gz(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let tried = vec![dir.join(name), dir.join(format!("{name}.gz"))];
    match tried.iter().find(|p| p.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(DataError::Missing { path: tried[0].clone(), tried }),
    }
}

/// Checks that `dir` is a directory; `hint` says what it should hold.
pub(crate) fn require_dir(dir: &Path, hint: &str) -> Result<(), DataError> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(DataError::NotADirectory { path: dir.to_path_buf(), hint: hint.to_string() })
    }
}

/// A check of a file's first four bytes (its magic number), made as soon as they are read.
pub(crate) type MagicCheck<'a> = &'a dyn Fn([u8; 4]) -> Result<(), DataError>;

/// Reads all of `path`, raw or gzip-compressed (recognised by its first two bytes, whatever its
/// name), whose first `header_len` (at least 4) bytes after decompression determine its full
/// length. `magic` checks the first four bytes as soon as there are four (so that a file of
/// another kind is called that, even when shorter than the header); `expected_len(header)`
/// returns the length in bytes, header included, or an error for a bad header. A file shorter
/// or longer than that is an error ([`DataError::Truncated`], [`DataError::TrailingData`]).
/// Returns the whole (decompressed) contents.
pub(crate) fn read_sized(
    path: &Path,
    header_len: usize,
    magic: MagicCheck<'_>,
    expected_len: impl FnOnce(&[u8]) -> Result<u64, DataError>,
) -> Result<Vec<u8>, DataError> {
    let mut file = File::open(path).map_err(DataError::io(path))?;
    let mut lead = [0u8; 2];
    let got = read_up_to(&mut file, &mut lead).map_err(DataError::io(path))?;
    if got == 2 && lead == GZIP_MAGIC {
        let file = File::open(path).map_err(DataError::io(path))?;
        return read_sized_stream(
            path,
            MultiGzDecoder::new(BufReader::new(file)),
            header_len,
            magic,
            expected_len,
        );
    }
    drop(file);
    // A raw file: its length is known, so the whole of it is the most ever allocated.
    let bytes = std::fs::read(path).map_err(DataError::io(path))?;
    let found = bytes.len() as u64;
    if let [a, b, c, d, ..] = bytes[..] {
        magic([a, b, c, d])?;
    }
    if bytes.len() < header_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: header_len as u64,
            found,
            decompressed: false,
        });
    }
    let expected = expected_len(&bytes[..header_len])?;
    if found < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            found,
            decompressed: false,
        });
    }
    if found > expected {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            expected,
            found,
            decompressed: false,
        });
    }
    Ok(bytes)
}

/// [`read_sized`] for a decompressing stream, whose length is only known once read.
fn read_sized_stream(
    path: &Path,
    mut reader: impl Read,
    header_len: usize,
    magic: MagicCheck<'_>,
    expected_len: impl FnOnce(&[u8]) -> Result<u64, DataError>,
) -> Result<Vec<u8>, DataError> {
    let mut header = vec![0u8; header_len];
    let got = read_up_to(&mut reader, &mut header).map_err(DataError::io(path))?;
    if let [a, b, c, d, ..] = header[..got] {
        magic([a, b, c, d])?;
    }
    if got < header_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected: header_len as u64,
            found: got as u64,
            decompressed: true,
        });
    }
    let expected = expected_len(&header)?;
    let rest = expected.saturating_sub(header_len as u64);
    let mut bytes = Vec::with_capacity(header_len.saturating_add(rest.min(MAX_RESERVE) as usize));
    bytes.extend_from_slice(&header);
    let read =
        (&mut reader).take(rest).read_to_end(&mut bytes).map_err(DataError::io(path))? as u64;
    if read < rest {
        let found = header_len as u64 + read;
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            expected,
            found,
            decompressed: true,
        });
    }
    // Count (without keeping) whatever follows the declared end.
    let extra = io::copy(&mut reader, &mut io::sink()).map_err(DataError::io(path))?;
    if extra > 0 {
        return Err(DataError::TrailingData {
            path: path.to_path_buf(),
            expected,
            found: expected.saturating_add(extra),
            decompressed: true,
        });
    }
    Ok(bytes)
}

/// Reads into `buf` until it is full or the reader ends; returns the bytes read.
pub(crate) fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// `a * b` in `u64`, or a [`DataError::BadHeader`] naming `path` when it overflows.
pub(crate) fn mul(path: &Path, a: u64, b: u64) -> Result<u64, DataError> {
    a.checked_mul(b).ok_or_else(|| DataError::BadHeader {
        path: path.to_path_buf(),
        reason: format!(
            "its dimensions ({a} x {b} ...) are too large to be real; the header is corrupt"
        ),
    })
}

/// The big-endian `u32` at `offset` of `bytes`, which the caller has checked is long enough.
pub(crate) fn be_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_be_bytes(word)
}
