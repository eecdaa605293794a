//! Hostile and revealing images for the preview tests: a decompression bomb and a photo that
//! carries its GPS position in EXIF.

use std::io::Cursor;

/// The CRC-32 a PNG chunk ends with (ISO 3309, the polynomial zlib uses).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A well-formed PNG that claims `width` × `height` RGBA pixels: a few hundred bytes that would
/// take `4 × width × height` bytes to decode. Its data is a valid zlib stream of zero rows that
/// ends early, as a bomb's would be cut for size.
pub fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // zlib header, then one final stored block of 16 zero bytes, then its Adler-32.
    let mut idat = vec![0x78, 0x01, 0x01, 16, 0, !16u8, 0xFF];
    idat.extend_from_slice(&[0; 16]);
    idat.extend_from_slice(&0x0010_0001u32.to_be_bytes());
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A 64 × 48 JPEG photo with an EXIF segment that records where it was taken (GPS latitude
/// 52° N) and a description containing `canary`.
pub fn jpeg_with_gps(canary: &str) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    });
    let mut jpeg = Vec::new();
    img.write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap_or_default();
    // A little-endian TIFF: IFD0 with ImageDescription and a GPS IFD pointer; the GPS IFD with
    // GPSLatitudeRef "N" and GPSLatitude 52/1 0/1 0/1.
    let desc = format!("{canary}\0");
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    let ifd0_entries = 2u16;
    let ifd0_len = 2 + 12 * u32::from(ifd0_entries) + 4;
    let desc_at = 8 + ifd0_len;
    let gps_at = desc_at + u32::try_from(desc.len()).unwrap_or(0);
    let entry = |tag: u16, kind: u16, count: u32, value: u32| {
        let mut e = Vec::new();
        e.extend_from_slice(&tag.to_le_bytes());
        e.extend_from_slice(&kind.to_le_bytes());
        e.extend_from_slice(&count.to_le_bytes());
        e.extend_from_slice(&value.to_le_bytes());
        e
    };
    tiff.extend_from_slice(&ifd0_entries.to_le_bytes());
    tiff.extend(entry(
        0x010E,
        2,
        u32::try_from(desc.len()).unwrap_or(0),
        desc_at,
    ));
    tiff.extend(entry(0x8825, 4, 1, gps_at));
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(desc.as_bytes());
    let gps_len = 2 + 12 * 2 + 4;
    let rationals_at = gps_at + gps_len;
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend(entry(0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0")));
    tiff.extend(entry(0x0002, 5, 3, rationals_at));
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(52u32, 1u32), (0, 1), (0, 1)] {
        tiff.extend_from_slice(&n.to_le_bytes());
        tiff.extend_from_slice(&d.to_le_bytes());
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let len = u16::try_from(app1.len() + 2).unwrap_or(u16::MAX);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend(app1);
    // The encoder's JPEG without its own start-of-image marker.
    out.extend_from_slice(jpeg.get(2..).unwrap_or_default());
    out
}
