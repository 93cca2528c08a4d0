//! A logged histogram's counts, read without building a histogram: the merge adds each interval
//! of every worker into histograms it already holds, so building one full-size histogram per
//! interval (a zeroed counts array of ~170 KB, then added index by index) would be most of its
//! cost. This reads the HdrHistogram V2 encoding (optionally DEFLATE-wrapped, as interval logs
//! carry it) into its header and the non-zero counts, reusing its buffers from one interval to
//! the next.
//!
//! The encoding (HdrHistogram's `EncodableHistogram`, V2): a big-endian header (cookie, payload
//! length, normalizing offset, significant figures, lowest and highest trackable values, the
//! integer-to-double ratio), then the counts array in index order as ZigZag LEB128 numbers (at
//! most 9 bytes, the 9th carrying 8 bits), where a negative number −n stands for n zero counts.

use base64::Engine;

/// Cookie bases; bits 4–7 of a cookie carry a word size, which the V2 form (LEB128) ignores.
const V2_COOKIE: u32 = 0x1c84_9303;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9304;
const WORD_SIZE_BITS: u32 = 0xf0;
/// More than the counts of any histogram model-bench keeps (about 21,000 counts of at most 9
/// bytes), far less than a hostile stream could inflate to.
const MAX_INFLATED: usize = 16 << 20;
/// Cookie, payload length, normalizing offset, significant figures, low, high, ratio.
const HEADER_BYTES: usize = 4 + 4 + 4 + 4 + 8 + 8 + 8;

/// What a histogram's header says about its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Lowest discernible value.
    pub low: u64,
    /// Highest trackable value.
    pub high: u64,
    /// Significant figures.
    pub sigfig: u8,
}

impl Shape {
    /// This shape's layout and the length of its counts array, if it is one a histogram can
    /// have (checked by the hdrhistogram crate itself, which also gives the length).
    fn layout(self) -> Result<(Layout, u64), String> {
        let valid = hdrhistogram::Histogram::<u64>::new_with_bounds(self.low, self.high, self.sigfig)
            .map_err(|_| {
                format!(
                    "the histogram's header is not a valid shape (values {}..{} at {} significant figures)",
                    self.low, self.high, self.sigfig
                )
            })?;
        // HdrHistogram's layout: a first bucket of 2^m sub-buckets, each further bucket half as
        // many at twice the unit.
        let single_unit_range = 2 * 10_u64.pow(u32::from(self.sigfig));
        let sub_bucket_count_magnitude = (single_unit_range as f64).log2().ceil() as u32;
        let layout = Layout {
            unit_magnitude: self.low.ilog2(),
            sub_bucket_half_count_magnitude: sub_bucket_count_magnitude.saturating_sub(1),
        };
        Ok((layout, valid.distinct_values() as u64))
    }
}

#[derive(Debug, Clone, Copy)]
struct Layout {
    unit_magnitude: u32,
    sub_bucket_half_count_magnitude: u32,
}

impl Layout {
    /// Bucket index → the lowest value it holds; recording that value into a histogram of the
    /// same shape lands in the same index. `None` past what a u64 holds.
    fn value_at(self, index: u64) -> Option<u64> {
        let half = 1_u64 << self.sub_bucket_half_count_magnitude;
        let bucket = (index >> self.sub_bucket_half_count_magnitude).saturating_sub(1);
        let sub_bucket = if index < half {
            index
        } else {
            (index & (half - 1)) + half
        };
        let shift = u32::try_from(bucket)
            .ok()?
            .checked_add(self.unit_magnitude)?;
        sub_bucket
            .checked_shl(shift)
            .filter(|v| v >> shift == sub_bucket)
    }
}

/// Reads encoded histograms one after another, keeping its buffers.
#[derive(Default)]
pub struct CountsReader {
    encoded: Vec<u8>,
    inflated: Vec<u8>,
    inflater: Option<flate2::Decompress>,
    counts: Vec<Count>,
    /// The last shape read, its layout and counts length (worked out once per shape).
    shape: Option<(Shape, Layout, u64)>,
}

/// A non-zero bucket: (a value it holds, its count).
pub type Count = (u64, u64);

impl std::fmt::Debug for CountsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountsReader").finish_non_exhaustive()
    }
}

impl CountsReader {
    /// Reads the base64 text of one logged histogram: its shape, and every non-zero count as
    /// (a value of its bucket, count), in bucket order (valid until the next read).
    pub fn read(&mut self, base64_text: &str) -> Result<(Shape, &[Count]), String> {
        self.encoded.clear();
        self.counts.clear();
        base64::engine::general_purpose::STANDARD
            .decode_vec(base64_text, &mut self.encoded)
            .map_err(|e| format!("the histogram is not base64: {e}"))?;
        let plain = match be_u32(&self.encoded, 0)? & !WORD_SIZE_BITS {
            V2_COOKIE => &self.encoded[..],
            V2_DEFLATE_COOKIE => {
                let length = be_u32(&self.encoded, 4)? as usize;
                let deflated = self
                    .encoded
                    .get(8..8 + length)
                    .ok_or("the compressed histogram is shorter than its header says")?;
                inflate(
                    self.inflater
                        .get_or_insert_with(|| flate2::Decompress::new(true)),
                    deflated,
                    &mut self.inflated,
                )?;
                &self.inflated[..]
            }
            _ => return Err("not an HdrHistogram V2 encoding (unknown cookie)".to_owned()),
        };
        let shape = read_plain(plain, &mut self.counts, &mut self.shape)?;
        Ok((shape, &self.counts))
    }
}

/// Inflates the zlib stream `deflated` into `out` (cleared first).
fn inflate(
    inflater: &mut flate2::Decompress,
    deflated: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    inflater.reset(true);
    out.clear();
    loop {
        if out.len() > MAX_INFLATED {
            return Err(format!(
                "the histogram inflates past {} MiB, more than any histogram's counts",
                MAX_INFLATED >> 20
            ));
        }
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let (read, written) = (inflater.total_in(), out.len());
        let status = inflater
            .decompress_vec(
                &deflated[read as usize..],
                out,
                flate2::FlushDecompress::Finish,
            )
            .map_err(|e| format!("the histogram does not inflate: {e}"))?;
        if status == flate2::Status::StreamEnd {
            return Ok(());
        }
        // No progress with room left to write: the input ended before the stream did.
        if inflater.total_in() == read && out.len() == written {
            return Err("the compressed histogram is cut short".to_owned());
        }
    }
}

/// The uncompressed V2 form: header, then the counts.
fn read_plain(
    bytes: &[u8],
    counts: &mut Vec<Count>,
    known: &mut Option<(Shape, Layout, u64)>,
) -> Result<Shape, String> {
    if be_u32(bytes, 0)? & !WORD_SIZE_BITS != V2_COOKIE {
        return Err("not an HdrHistogram V2 encoding (unknown cookie)".to_owned());
    }
    let payload_length = be_u32(bytes, 4)? as usize;
    if be_u32(bytes, 8)? != 0 {
        return Err("a normalizing offset, which model-bench does not write".to_owned());
    }
    let shape = Shape {
        sigfig: u8::try_from(be_u32(bytes, 12)?).map_err(|_| "bad significant figures")?,
        low: be_u64(bytes, 16)?,
        high: be_u64(bytes, 24)?,
    };
    if f64::from_bits(be_u64(bytes, 32)?) != 1.0 {
        return Err("an integer-to-double ratio, which model-bench does not write".to_owned());
    }
    let (layout, length) = match *known {
        Some((seen, layout, length)) if seen == shape => (layout, length),
        _ => {
            let (layout, length) = shape.layout()?;
            *known = Some((shape, layout, length));
            (layout, length)
        }
    };
    let past_the_end = || "counts past the end of the histogram's counts array".to_owned();
    let mut payload = bytes
        .get(HEADER_BYTES..HEADER_BYTES + payload_length)
        .ok_or("the histogram's counts are shorter than its header says")?;
    let mut index = 0_u64;
    while !payload.is_empty() {
        let (number, used) = leb128(payload)?;
        payload = &payload[used..];
        // ZigZag: even numbers are counts, odd ones runs of zeros.
        let signed = ((number >> 1) as i64) ^ -((number & 1) as i64);
        if signed < 0 {
            index = index
                .checked_add(signed.unsigned_abs())
                .filter(|&end| end <= length)
                .ok_or_else(past_the_end)?;
            continue;
        }
        if index >= length {
            return Err(past_the_end());
        }
        if signed > 0 {
            let value = layout.value_at(index).ok_or_else(past_the_end)?;
            counts.push((value, signed as u64));
        }
        index += 1;
    }
    Ok(shape)
}

/// One LEB128 number of at most 9 bytes (the 9th byte's 8 bits all count): (value, bytes used).
fn leb128(bytes: &[u8]) -> Result<(u64, usize), String> {
    let mut value = 0_u64;
    for (i, &byte) in bytes.iter().take(9).enumerate() {
        if i == 8 {
            return Ok((value | (u64::from(byte) << 56), 9));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("the histogram's counts end inside a number".to_owned())
}

fn be_u32(bytes: &[u8], at: usize) -> Result<u32, String> {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| "the histogram's header is cut short".to_owned())
}

fn be_u64(bytes: &[u8], at: usize) -> Result<u64, String> {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| "the histogram's header is cut short".to_owned())
}

/// `histogram` as a worker's record carries one: HdrHistogram's V2 + DEFLATE encoding in
/// base64, as the interval log writes its histograms.
pub fn encode<T: hdrhistogram::Counter>(
    histogram: &hdrhistogram::Histogram<T>,
) -> Result<String, String> {
    use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(|e| format!("{e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Adds the histogram `text` encodes ([`encode`]) into `into`, read through a
/// [`CountsReader`] (which caps what a hostile record can make it inflate or allocate);
/// refused unless it has `into`'s shape. `what` names it in the error.
pub fn decode_into<T: hdrhistogram::Counter>(
    text: &str,
    into: &mut hdrhistogram::Histogram<T>,
    what: &str,
) -> Result<(), String> {
    let mut reader = CountsReader::default();
    let (shape, counts) = reader.read(text).map_err(|e| format!("{what}: {e}"))?;
    let expected = (into.low(), into.high(), into.sigfig());
    if (shape.low, shape.high, shape.sigfig) != expected {
        return Err(format!(
            "{what} of values {}..{} at {} significant figures, where it should be {}..{} at {}",
            shape.low, shape.high, shape.sigfig, expected.0, expected.1, expected.2
        ));
    }
    for &(value, count) in counts {
        T::from_u64(count)
            .and_then(|count| into.record_n(value, count).ok())
            .ok_or_else(|| format!("{what}: a count does not fit"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer, V2Serializer};
    use hdrhistogram::Histogram;

    use super::*;
    use crate::stats::rng::SplitMix64;

    fn read_back(reader: &mut CountsReader, encoded: &[u8]) -> Histogram<u64> {
        let text = base64::engine::general_purpose::STANDARD.encode(encoded);
        let (shape, counts) = reader.read(&text).expect("reads");
        let mut built =
            Histogram::new_with_bounds(shape.low, shape.high, shape.sigfig).expect("valid");
        for &(value, count) in counts {
            built.record_n(value, count).expect("in range");
        }
        built
    }

    /// Every shape model-bench uses and a few others, values spread over the whole range, in
    /// both encodings: what is read back has every bucket's count of the original.
    #[test]
    fn counts_read_back_equal_the_histogram_written() {
        let mut rng = SplitMix64(7);
        let mut reader = CountsReader::default();
        for (low, high, sigfig) in [
            (1_000, 600_000_000_000, 3),
            (1_000, 600_000_000_000, 2),
            (1, 3_600_000_000, 3),
            (1, 1_000, 1),
            (7, 1 << 40, 4),
            (1_024, u64::MAX / 2, 5),
        ] {
            let mut original = Histogram::<u64>::new_with_bounds(low, high, sigfig).expect("valid");
            for _ in 0..2_000 {
                let exponent = rng.next_u64() % u64::from(high.ilog2() + 1);
                let value = (1_u64 << exponent) + rng.next_u64() % (1_u64 << exponent);
                let _ = original.record_n(value.min(high), 1 + rng.next_u64() % 3);
            }
            for deflate in [false, true] {
                let mut encoded = Vec::new();
                if deflate {
                    V2DeflateSerializer::new()
                        .serialize(&original, &mut encoded)
                        .expect("serializes");
                } else {
                    V2Serializer::new()
                        .serialize(&original, &mut encoded)
                        .expect("serializes");
                }
                let read = read_back(&mut reader, &encoded);
                assert_eq!(
                    read, original,
                    "{low}..{high} at {sigfig}, deflate {deflate}"
                );
                assert_eq!(read.max(), original.max());
                assert_eq!(read.min_nz(), original.min_nz());
            }
        }
    }

    #[test]
    fn damaged_encodings_are_errors_not_panics() {
        let mut original = Histogram::<u64>::new_with_bounds(1_000, 1 << 40, 3).expect("valid");
        for value in [1_000, 5_000, 1 << 30] {
            original.record(value).expect("in range");
        }
        let mut encoded = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&original, &mut encoded)
            .expect("serializes");
        let mut reader = CountsReader::default();
        for cut in [0, 3, 10, encoded.len() / 2, encoded.len() - 1] {
            let text = base64::engine::general_purpose::STANDARD.encode(&encoded[..cut]);
            assert!(reader.read(&text).is_err(), "cut at {cut}");
        }
        assert!(reader.read("not base64!").is_err());
        // Hostile headers and counts: errors, never a panic or a count put elsewhere.
        let header = |low: u64, high: u64, sigfig: u32, counts: &[u8]| {
            let mut bytes = Vec::new();
            bytes.extend(0x1c84_9313_u32.to_be_bytes());
            bytes.extend((counts.len() as u32).to_be_bytes());
            bytes.extend(0_u32.to_be_bytes());
            bytes.extend(sigfig.to_be_bytes());
            bytes.extend(low.to_be_bytes());
            bytes.extend(high.to_be_bytes());
            bytes.extend(1.0_f64.to_bits().to_be_bytes());
            bytes.extend(counts);
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        // A run of 2^62 zeros (ZigZag of −2^62, 9 bytes), then a count of 5.
        let long_run = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 10];
        for text in [
            header(u64::MAX / 2 + 1, u64::MAX, 3, &[2]),
            header(0, 1_000, 3, &[2]),
            header(1, 1_000, 9, &[2]),
            header(1_000, 1 << 40, 3, &long_run),
            // Two maximal runs, then a count: the index would overflow.
            header(
                1_000,
                1 << 40,
                3,
                &[long_run[..9].to_vec(), long_run[..9].to_vec(), vec![2]].concat(),
            ),
        ] {
            assert!(reader.read(&text).is_err(), "{text}");
        }
        // The reader still works after errors.
        assert_eq!(read_back(&mut reader, &encoded), original);
    }
}
