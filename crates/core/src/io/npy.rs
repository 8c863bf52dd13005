//! Reading and writing NumPy `.npy` arrays, with every check a user's file can fail.
//!
//! Reading memory-maps the file where it can, so a Fortran-order float64 weight
//! matrix (the layout the engine wants) is used without a copy. The header is
//! checked before anything is allocated: element type, shape, a size that fits
//! the machine's memory, and a file long enough to hold it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::resources;

const MAGIC: &[u8] = b"\x93NUMPY";

/// The element types lifsim reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// NumPy `bool` (`|b1`).
    Bool,
    /// `int32`.
    I32,
    /// `int64`.
    I64,
    /// `uint32`.
    U32,
    /// `uint64`.
    U64,
    /// `float32`.
    F32,
    /// `float64`.
    F64,
}

impl Elem {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Elem::Bool => 1,
            Elem::I32 | Elem::U32 | Elem::F32 => 4,
            Elem::I64 | Elem::U64 | Elem::F64 => 8,
        }
    }

    /// NumPy's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            Elem::Bool => "bool",
            Elem::I32 => "int32",
            Elem::I64 => "int64",
            Elem::U32 => "uint32",
            Elem::U64 => "uint64",
            Elem::F32 => "float32",
            Elem::F64 => "float64",
        }
    }

    /// The little-endian `descr` string NumPy writes for this type.
    pub fn descr(self) -> &'static str {
        match self {
            Elem::Bool => "|b1",
            Elem::I32 => "<i4",
            Elem::I64 => "<i8",
            Elem::U32 => "<u4",
            Elem::U64 => "<u8",
            Elem::F32 => "<f4",
            Elem::F64 => "<f8",
        }
    }
}

/// What an `.npy` header says about the array that follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The element type.
    pub elem: Elem,
    /// Whether elements are stored big-endian (they are converted on read).
    pub big_endian: bool,
    /// Column-major (`True`) or row-major (`False`) storage.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Where the data starts in the file.
    pub data_offset: usize,
}

impl Header {
    /// Number of elements (the product of the shape), `None` on overflow.
    pub fn len(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Bytes of data, `None` on overflow.
    pub fn data_bytes(&self) -> Option<usize> {
        self.len()?.checked_mul(self.elem.size())
    }

    /// `"float64 array of shape (3, 4)"`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} array of shape {}",
            self.elem.name(),
            shape_str(&self.shape)
        )
    }
}

/// `(3, 4)` / `(5,)` / `()`, as NumPy prints shapes.
pub fn shape_str(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Parses the header at the start of `bytes` (the whole file, or its first part).
pub fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header> {
    let bad = |msg: String| Error::file(path, msg);
    let (text, end) = header_text(path, bytes)?;
    let descr =
        dict_value(text, "descr").ok_or_else(|| bad("the .npy header has no 'descr'".into()))?;
    let fortran = dict_value(text, "fortran_order")
        .ok_or_else(|| bad("the .npy header has no 'fortran_order'".into()))?;
    let shape =
        dict_value(text, "shape").ok_or_else(|| bad("the .npy header has no 'shape'".into()))?;
    let (elem, big_endian) = parse_descr(descr).map_err(&bad)?;
    let fortran_order = match fortran {
        "True" => true,
        "False" => false,
        other => {
            return Err(bad(format!(
                "bad fortran_order {other:?} in the .npy header"
            )))
        }
    };
    let shape =
        parse_shape(shape).ok_or_else(|| bad(format!("bad shape {shape} in the .npy header")))?;
    Ok(Header {
        elem,
        big_endian,
        fortran_order,
        shape,
        data_offset: end,
    })
}

/// The header's dict text of the `.npy` at the start of `bytes` and where
/// its data begins: the magic, version and length checked.
fn header_text<'b>(path: &Path, bytes: &'b [u8]) -> Result<(&'b str, usize)> {
    let bad = |msg: String| Error::file(path, msg);
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad(
            "not a NumPy .npy file (missing the \\x93NUMPY magic); save arrays with numpy.save"
                .into(),
        ));
    }
    let (len_bytes, start) = match bytes[6] {
        1 => (2, 10),
        2 | 3 => (4, 12),
        v => return Err(bad(format!("unsupported .npy format version {v}"))),
    };
    if bytes.len() < start {
        return Err(bad("truncated .npy header".into()));
    }
    let header_len = if len_bytes == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    let end = start + header_len;
    if bytes.len() < end {
        return Err(bad("truncated .npy header".into()));
    }
    let text = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| bad("the .npy header is not text".into()))?;
    Ok((text, end))
}

/// The raw text of `key`'s value in a Python dict literal like NumPy writes.
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("'{key}'");
    let at = text.find(&pat)? + pat.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = match rest.chars().next()? {
        '\'' => rest[1..].find('\'')? + 2,
        '(' => rest.find(')')? + 1,
        '[' => rest.find(']')? + 1,
        _ => rest.find([',', '}']).unwrap_or(rest.len()),
    };
    Some(rest[..end].trim())
}

fn parse_descr(descr: &str) -> std::result::Result<(Elem, bool), String> {
    let Some(d) = descr.strip_prefix('\'').and_then(|d| d.strip_suffix('\'')) else {
        return Err(format!(
            "structured dtype {descr} is not supported; save a plain numeric array"
        ));
    };
    // The byte-order character is ASCII in every dtype NumPy writes; anything
    // else (a multi-byte character too) is not a dtype, so split on chars.
    let mut chars = d.chars();
    let big = match chars.next() {
        Some('>') => true,
        Some('<' | '|' | '=') => false,
        _ => return Err(format!("unrecognised dtype {d:?}")),
    };
    let code = chars.as_str();
    let elem = match code {
        "b1" => Elem::Bool,
        "i4" => Elem::I32,
        "i8" => Elem::I64,
        "u4" => Elem::U32,
        "u8" => Elem::U64,
        "f4" => Elem::F32,
        "f8" => Elem::F64,
        _ => return Err(format!("dtype {} is not supported", numpy_name(d))),
    };
    Ok((elem, big && elem.size() > 1))
}

/// NumPy's readable name for a `descr` code lifsim does not take.
fn numpy_name(descr: &str) -> String {
    let code = descr.trim_start_matches(['<', '>', '|', '=']);
    let mut chars = code.chars();
    let kind = chars.next();
    let bits = chars
        .as_str()
        .parse::<u64>()
        .ok()
        .and_then(|b| b.checked_mul(8));
    match (kind, bits) {
        (Some('i'), Some(bits)) => format!("int{bits}"),
        (Some('u'), Some(bits)) => format!("uint{bits}"),
        (Some('f'), Some(bits)) => format!("float{bits}"),
        (Some('c'), Some(bits)) => format!("complex{bits}"),
        (Some('O'), _) => "object".to_string(),
        (Some('U' | 'S'), _) => "string".to_string(),
        _ => format!("{descr:?}"),
    }
}

fn parse_shape(text: &str) -> Option<Vec<usize>> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect()
}

enum Storage {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

/// An `.npy` array: its header and its data bytes, memory-mapped or owned.
pub struct NpyArray {
    path: PathBuf,
    header: Header,
    storage: Storage,
}

impl NpyArray {
    /// Opens and memory-maps `path`, checking the header, the memory the array
    /// would need and that the file is long enough.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::file(path, "is a directory, not an .npy file"));
        }
        // SAFETY: the mapping is read-only; lifsim never writes to input files, and
        // a file truncated by another process while mapped is outside what we guard.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let header = parse_header(path, &map)?;
        check_size(path, &header, map.len())?;
        Ok(Self {
            path: path.to_path_buf(),
            header,
            storage: Storage::Mapped(map),
        })
    }

    /// An array from the bytes of an `.npy` file (an `.npz` member); `path`
    /// names it in errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self> {
        let header = parse_header(path, &bytes)?;
        check_size(path, &header, bytes.len())?;
        Ok(Self {
            path: path.to_path_buf(),
            header,
            storage: Storage::Owned(bytes),
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file (or `file.npz:member`) this array came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data bytes, in file order.
    pub fn data(&self) -> &[u8] {
        let all: &[u8] = match &self.storage {
            Storage::Mapped(m) => m,
            Storage::Owned(v) => v,
        };
        let start = self.header.data_offset;
        &all[start..start + self.header.data_bytes().unwrap_or(0)]
    }

    /// The data as native-endian `f64` in storage order, without a copy when
    /// the file holds aligned little-endian float64.
    pub fn as_f64_slice(&self) -> Option<&[f64]> {
        self.native_slice(Elem::F64)
    }

    /// Like [`Self::as_f64_slice`] for float32.
    pub fn as_f32_slice(&self) -> Option<&[f32]> {
        self.native_slice(Elem::F32)
    }

    fn native_slice<T: pod::Pod>(&self, elem: Elem) -> Option<&[T]> {
        if self.header.elem != elem || self.header.big_endian || cfg!(target_endian = "big") {
            return None;
        }
        let data = self.data();
        // SAFETY: T is f32/f64 (every bit pattern valid); alignment is checked by
        // align_to, and we only accept the case where nothing is left over.
        let (head, body, tail) = unsafe { data.align_to::<T>() };
        (head.is_empty() && tail.is_empty()).then_some(body)
    }

    /// Every element converted to `f64`, in storage order; integer and bool
    /// arrays convert exactly where `f64` can hold the value.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        let data = self.data();
        let size = self.header.elem.size();
        let big = self.header.big_endian;
        data.chunks_exact(size)
            .map(|c| decode_f64(self.header.elem, c, big))
            .collect()
    }

    /// Every element as `u64`, for index arrays; fails on negative or
    /// non-integer elements.
    pub fn to_u64_vec(&self) -> Result<Vec<u64>> {
        let h = &self.header;
        let size = h.elem.size();
        let mut out = Vec::with_capacity(h.len().unwrap_or(0));
        for c in self.data().chunks_exact(size) {
            let v: i128 = match h.elem {
                Elem::I32 => i32::from_le_bytes(endian(c, h.big_endian)) as i128,
                Elem::I64 => i64::from_le_bytes(endian(c, h.big_endian)) as i128,
                Elem::U32 => u32::from_le_bytes(endian(c, h.big_endian)) as i128,
                Elem::U64 => u64::from_le_bytes(endian(c, h.big_endian)) as i128,
                other => {
                    return Err(Error::file(
                        &self.path,
                        format!("expected an integer array, got {}", other.name()),
                    ))
                }
            };
            if v < 0 {
                return Err(Error::file(&self.path, format!("negative index {v}")));
            }
            out.push(v as u64);
        }
        Ok(out)
    }
}

/// Types every bit pattern of which is valid.
mod pod {
    /// Plain old data.
    pub trait Pod: Copy {}
    impl Pod for f32 {}
    impl Pod for f64 {}
}

fn endian<const N: usize>(c: &[u8], big: bool) -> [u8; N] {
    let mut a: [u8; N] = c.try_into().expect("chunk size matches element size");
    if big {
        a.reverse();
    }
    a
}

fn decode_f64(elem: Elem, c: &[u8], big: bool) -> f64 {
    match elem {
        Elem::Bool => (c[0] != 0) as u8 as f64,
        Elem::I32 => i32::from_le_bytes(endian(c, big)) as f64,
        Elem::I64 => i64::from_le_bytes(endian(c, big)) as f64,
        Elem::U32 => u32::from_le_bytes(endian(c, big)) as f64,
        Elem::U64 => u64::from_le_bytes(endian(c, big)) as f64,
        Elem::F32 => f32::from_le_bytes(endian(c, big)) as f64,
        Elem::F64 => f64::from_le_bytes(endian(c, big)),
    }
}

/// Refuses arrays the machine cannot hold, then arrays the file cannot hold.
fn check_size(path: &Path, header: &Header, file_len: usize) -> Result<()> {
    let bytes = header.data_bytes();
    resources::check_allocation(
        format!("{}: {}", path.display(), header.describe()),
        bytes.map(|b| b as u64),
        "the header declares more data than this machine can hold; is the file corrupt?",
    )?;
    let bytes = bytes.unwrap_or(usize::MAX);
    let have = file_len.saturating_sub(header.data_offset);
    if have < bytes {
        return Err(Error::file(
            path,
            format!(
                "truncated: the header declares a {} ({bytes} bytes of data) but the file holds {have}",
                header.describe()
            ),
        ));
    }
    Ok(())
}

/// The bytes of an `.npy` header (version 1.0, padded to 64 bytes as NumPy does).
pub fn header_bytes(elem: Elem, fortran_order: bool, shape: &[usize]) -> Vec<u8> {
    header_bytes_of(elem.descr(), fortran_order, shape)
}

/// An `.npy` header for any NumPy type string `descr` (such as `<U8`).
fn header_bytes_of(descr: &str, fortran_order: bool, shape: &[usize]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}",
        descr,
        if fortran_order { "True" } else { "False" },
        shape_str(shape)
    );
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let mut out = Vec::with_capacity(unpadded + pad);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&((dict.len() + pad + 1) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    out
}

/// The `.npy` bytes of a 1-D array of strings, NumPy's fixed-width Unicode
/// (`<U{width}`: UCS-4, zero-padded), which `np.load` reads without pickles.
pub fn strings_npy(values: &[&str]) -> Vec<u8> {
    let width = values
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut out = header_bytes_of(&format!("<U{width}"), false, &[values.len()]);
    for s in values {
        let chars = s.chars().count();
        for c in s.chars() {
            out.extend_from_slice(&(c as u32).to_le_bytes());
        }
        out.extend(std::iter::repeat_n(0u8, 4 * (width - chars)));
    }
    out
}

/// The strings of a 1-D `<U{width}` `.npy` (what [`strings_npy`] writes);
/// `label` names the array in errors.
pub fn read_strings(label: &Path, bytes: &[u8]) -> Result<Vec<String>> {
    let bad = |msg: &str| Error::file(label, msg.to_string());
    let not = || bad("is not a 1-D array of strings (NumPy '<U')");
    let (text, end) = header_text(label, bytes)?;
    let width: usize = dict_value(text, "descr")
        .and_then(|d| d.strip_prefix("'<U")?.strip_suffix('\'')?.parse().ok())
        .ok_or_else(not)?;
    let count = match dict_value(text, "shape").and_then(parse_shape).as_deref() {
        Some(&[count]) => count,
        _ => return Err(not()),
    };
    let data = &bytes[end..];
    let need = count.checked_mul(width).and_then(|c| c.checked_mul(4));
    if need.is_none_or(|need| data.len() < need) {
        return Err(bad("is shorter than its shape says"));
    }
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let mut s = String::new();
        for c in data[4 * k * width..4 * (k + 1) * width].chunks_exact(4) {
            let c = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if c == 0 {
                break;
            }
            s.push(char::from_u32(c).ok_or_else(|| bad("holds a character that is not Unicode"))?);
        }
        out.push(s);
    }
    Ok(out)
}

/// Element types that can be written into an `.npy` file as little-endian bytes.
pub trait NpyElem: Copy {
    /// The matching [`Elem`].
    const ELEM: Elem;
    /// Appends the little-endian bytes of `values`.
    fn write_le(values: &[Self], out: &mut dyn Write) -> std::io::Result<()>;
}

macro_rules! npy_elem {
    ($t:ty, $e:expr) => {
        impl NpyElem for $t {
            const ELEM: Elem = $e;
            fn write_le(values: &[Self], out: &mut dyn Write) -> std::io::Result<()> {
                let mut buf = Vec::with_capacity(8192);
                for chunk in values.chunks(1024) {
                    buf.clear();
                    for v in chunk {
                        buf.extend_from_slice(&v.to_le_bytes());
                    }
                    out.write_all(&buf)?;
                }
                Ok(())
            }
        }
    };
}
npy_elem!(f64, Elem::F64);
npy_elem!(f32, Elem::F32);
npy_elem!(u64, Elem::U64);
npy_elem!(u32, Elem::U32);
npy_elem!(i64, Elem::I64);
npy_elem!(i32, Elem::I32);

impl NpyElem for bool {
    const ELEM: Elem = Elem::Bool;
    fn write_le(values: &[Self], out: &mut dyn Write) -> std::io::Result<()> {
        // SAFETY: bool is one byte holding 0 or 1, exactly NumPy's `|b1`.
        let bytes =
            unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), values.len()) };
        out.write_all(bytes)
    }
}

/// Writes `values` with `shape` (row-major unless `fortran_order`) as an `.npy` stream.
pub fn write_npy<T: NpyElem>(
    out: &mut dyn Write,
    values: &[T],
    shape: &[usize],
    fortran_order: bool,
) -> std::io::Result<()> {
    debug_assert_eq!(shape.iter().product::<usize>(), values.len());
    out.write_all(&header_bytes(T::ELEM, fortran_order, shape))?;
    T::write_le(values, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_bytes<T: NpyElem>(values: &[T], shape: &[usize], fortran: bool) -> Vec<u8> {
        let mut out = Vec::new();
        write_npy(&mut out, values, shape, fortran).unwrap();
        out
    }

    #[test]
    fn round_trips_float64() {
        let bytes = npy_bytes(&[1.0f64, 2.0, 3.0, 4.5, 5.0, 6.0], &[2, 3], true);
        assert_eq!(bytes.len() % 16, 0);
        let a = NpyArray::from_bytes(Path::new("x.npy"), bytes).unwrap();
        assert_eq!(a.header().shape, vec![2, 3]);
        assert!(a.header().fortran_order);
        assert_eq!(a.to_f64_vec(), vec![1.0, 2.0, 3.0, 4.5, 5.0, 6.0]);
    }

    #[test]
    fn header_is_what_numpy_writes() {
        // numpy.save of np.zeros((2, 3)) starts with exactly this header.
        let h = header_bytes(Elem::F64, false, &[2, 3]);
        let text = String::from_utf8_lossy(&h[10..]);
        assert_eq!(h.len(), 128);
        assert!(text.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(text.ends_with(" \n"));
    }

    /// An `.npy` file with any header dict text (for headers NumPy never writes).
    fn raw_npy(dict: &str, data_len: usize) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&((dict.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.push(b'\n');
        out.extend(std::iter::repeat_n(0u8, data_len));
        out
    }

    #[test]
    fn odd_dtypes_are_errors_not_panics() {
        let p = Path::new("w.npy");
        // Multi-byte characters where the byte order or the type code goes,
        // and a size whose bit count overflows.
        let cases = [
            ("'\u{e9}8'", "unrecognised dtype"),
            ("'\u{1f980}8'", "unrecognised dtype"),
            ("'<\u{e9}8'", "is not supported"),
            ("'<\u{1f980}'", "is not supported"),
            ("'|'", "is not supported"),
            ("''", "unrecognised dtype"),
            ("'<i4611686018427387904'", "is not supported"),
            ("'<f99999999999999999999999'", "is not supported"),
        ];
        for (descr, want) in cases {
            let dict = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}");
            let e = NpyArray::from_bytes(p, raw_npy(&dict, 64)).err().unwrap();
            let e = e.to_string();
            assert!(e.starts_with("w.npy: ") && e.contains(want), "{descr}: {e}");
        }
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        let p = Path::new("w.npy");
        let msg = |bytes: Vec<u8>| NpyArray::from_bytes(p, bytes).err().unwrap().to_string();
        assert!(msg(b"hello world, not numpy".to_vec()).contains("not a NumPy .npy file"));
        let mut truncated = npy_bytes(&[1.0f64; 8], &[8], false);
        truncated.truncate(truncated.len() - 3);
        assert!(msg(truncated).contains("truncated"));
        let mut complex = header_bytes(Elem::F64, false, &[1]);
        let at = complex.windows(3).position(|w| w == b"<f8").unwrap();
        complex[at + 1] = b'c';
        complex.extend_from_slice(&[0; 8]);
        assert!(msg(complex).contains("dtype complex64 is not supported"));
    }
}
