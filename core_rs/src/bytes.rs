//! Little-endian byte cursors for the binary formats (the CDNA record, snapshot sections):
//! a [`Writer`] that appends, and a [`Reader`] that checks every read against the end.

/// Appends little-endian values to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn with_capacity(n: usize) -> Writer {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn f32(&mut self, v: f32) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.bytes(&v.to_le_bytes());
    }
    /// A string as its u32 byte length, then its UTF-8 bytes.
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.bytes(s.as_bytes());
    }
    /// Zeros up to offset `pos` (the start of the next fixed-layout block).
    pub fn pad_to(&mut self, pos: usize) {
        debug_assert!(
            self.buf.len() <= pos,
            "{} bytes written past {pos}",
            self.buf.len()
        );
        self.buf.resize(pos.max(self.buf.len()), 0);
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads little-endian values from a buffer; reading past its end is an error naming
/// `what` was read (e.g. `section LABL ends early`), never a panic.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'a str,
}

type Read<T> = std::result::Result<T, String>;

impl<'a> Reader<'a> {
    /// A reader of `buf`, called `what` in its errors.
    pub fn new(buf: &'a [u8], what: &'a str) -> Reader<'a> {
        Reader { buf, pos: 0, what }
    }
    /// Jump to offset `pos` (the start of a fixed-layout block).
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos;
    }
    pub fn take(&mut self, n: usize) -> Read<&'a [u8]> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.buf.len() => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            _ => Err(format!("{} ends early", self.what)),
        }
    }
    fn array<const N: usize>(&mut self) -> Read<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub fn u8(&mut self) -> Read<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Read<u16> {
        self.array().map(u16::from_le_bytes)
    }
    pub fn u32(&mut self) -> Read<u32> {
        self.array().map(u32::from_le_bytes)
    }
    pub fn u64(&mut self) -> Read<u64> {
        self.array().map(u64::from_le_bytes)
    }
    pub fn f32(&mut self) -> Read<f32> {
        self.array().map(f32::from_le_bytes)
    }
    pub fn f64(&mut self) -> Read<f64> {
        self.array().map(f64::from_le_bytes)
    }
    /// A string written by [`Writer::str`].
    pub fn string(&mut self) -> Read<String> {
        self.str().map(str::to_owned)
    }
    /// A string written by [`Writer::str`], borrowed from the buffer.
    pub fn str(&mut self) -> Read<&'a str> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        std::str::from_utf8(b).map_err(|_| format!("{} holds text that is not UTF-8", self.what))
    }
    /// Everything was read.
    pub fn done(&self) -> Read<()> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(format!(
                "{} has {} unexpected trailing bytes",
                self.what,
                self.buf.len() - self.pos
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let mut w = Writer::default();
        w.u8(7);
        w.u16(0x1234);
        w.u32(u32::MAX);
        w.pad_to(12);
        w.u64(1 << 40);
        w.f32(-1.5);
        w.f64(0.1);
        w.str("dög");
        let b = w.into_inner();
        assert_eq!(&b[..3], &[7, 0x34, 0x12]);
        let mut r = Reader::new(&b, "test");
        assert_eq!(
            (r.u8(), r.u16(), r.u32()),
            (Ok(7), Ok(0x1234), Ok(u32::MAX))
        );
        r.seek(12);
        assert_eq!(
            (r.u64(), r.f32(), r.f64()),
            (Ok(1 << 40), Ok(-1.5), Ok(0.1))
        );
        assert_eq!(r.string().as_deref(), Ok("dög"));
        assert!(r.done().is_ok());
    }

    #[test]
    fn reading_past_the_end_or_leaving_bytes_is_an_error() {
        let b = [1u8, 0, 0, 0, 0xFF];
        let mut r = Reader::new(&b, "section X");
        assert_eq!(
            r.done().unwrap_err(),
            "section X has 5 unexpected trailing bytes"
        );
        assert_eq!(r.u32(), Ok(1));
        assert_eq!(r.u16().unwrap_err(), "section X ends early");
        assert_eq!(r.take(usize::MAX).unwrap_err(), "section X ends early");
        // a string claiming more bytes than there are
        let long = [9u8, 0, 0, 0, b'a'];
        assert_eq!(
            Reader::new(&long, "section X").string().unwrap_err(),
            "section X ends early"
        );
        let bad = [1u8, 0, 0, 0, 0xFF];
        let mut r = Reader::new(&bad, "section Y");
        assert_eq!(
            r.string().unwrap_err(),
            "section Y holds text that is not UTF-8"
        );
    }
}
