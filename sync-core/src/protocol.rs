//! The batched sync protocol, sans I/O: typed messages and their wire
//! encoding, with limits. Nothing here opens a file or a socket; the phone
//! store ([`crate::store`]), the server and the simulator ([`crate::sim`])
//! move the bytes and apply the effects.
//!
//! One sync is one round trip, whatever the number of households:
//!
//! ```text
//! phone                                         server
//!   SyncRequest { cursor, outbox changes } ──────▶  apply changes (idempotent), durably
//!   ◀────── SyncResponse { ack, changes since cursor from others,
//!                          or compacted documents, new cursor, more?,
//!                          the campaign's planning terms }
//! ```
//!
//! * The **cursor** is opaque to the phone: the server issues it and reads
//!   it back. Households that did not change cost nothing: the cursor says
//!   what the phone has seen, not per-document heads.
//! * An **initial sync** (no cursor) streams whole compacted documents,
//!   pages of them, in one compressed stream per message.
//! * Each request carries a `request_id` that the response echoes; the phone
//!   only accepts the response to its latest request, so a duplicated,
//!   late or reordered response is refused as [`ProtocolError::Stale`] and
//!   changes nothing. Re-sending changes the server already has is a no-op
//!   (automerge changes are content-addressed).
//! * A **frame** is `MAGIC`, a version byte, a kind byte, the body length
//!   (u32 LE) and the body: a zstd stream with a checksum of a postcard
//!   encoding. A truncated, oversized or hostile frame is a typed error.
//!
//! ```
//! use sync_core::protocol::*;
//! let req = SyncRequest {
//!     request_id: 7,
//!     device: "dev-1".into(),
//!     cursor: None,
//!     outbox_through: 0,
//!     changes: vec![],
//! };
//! let bytes = encode_request(&req).unwrap();
//! assert_eq!(decode_request(&bytes, &Limits::default()).unwrap(), req);
//! // A cut frame is an error, not a panic.
//! assert!(decode_request(&bytes[..bytes.len() - 1], &Limits::default()).is_err());
//! ```

use crate::doc::DocId;
use crate::model::HouseholdId;
use serde::{Deserialize, Serialize};
use std::io::Read;

/// The four bytes every frame starts with.
pub const MAGIC: [u8; 4] = *b"GoCu";
/// Protocol version written by this code. A peer refuses other versions.
pub const PROTOCOL_VERSION: u8 = 2;
const HEADER_LEN: usize = 4 + 1 + 1 + 4;

/// Kind byte of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// Phone → server.
    Request = 1,
    /// Server → phone.
    Response = 2,
}

/// Limits applied when decoding. Both peers enforce them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame on the wire.
    pub max_frame_bytes: usize,
    /// Largest body once decompressed (guards against compression bombs).
    pub max_body_bytes: usize,
    /// Most changes in one message.
    pub max_changes: usize,
    /// Largest single change or document.
    pub max_item_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 16 << 20,
            max_body_bytes: 64 << 20,
            max_changes: 20_000,
            max_item_bytes: 4 << 20,
        }
    }
}

/// Why a frame was refused. No variant carries personal data.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The bytes do not start with the magic, or are shorter than a header.
    #[error("not a Gõ Cửa sync frame")]
    NotAFrame,
    /// Unknown protocol version.
    #[error("unsupported protocol version {0}")]
    Version(u8),
    /// A request where a response was expected, or the reverse.
    #[error("unexpected frame kind {0}")]
    Kind(u8),
    /// The frame ends before its declared length, or has bytes after it.
    #[error("truncated frame: {got} of {expected} bytes")]
    Truncated {
        /// Body bytes declared.
        expected: usize,
        /// Body bytes present.
        got: usize,
    },
    /// Over a limit.
    #[error("message over the limit: {0}")]
    TooLarge(&'static str),
    /// The body does not decompress or decode.
    #[error("malformed message body")]
    Malformed,
    /// A response to an earlier request (duplicated, late or reordered).
    #[error("response to an earlier request")]
    Stale,
    /// A change or document inside the message is not valid automerge.
    #[error("invalid change or document in message")]
    InvalidChange,
}

impl ProtocolError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::NotAFrame => "sync.not_a_frame",
            ProtocolError::Version(_) => "sync.version",
            ProtocolError::Kind(_) => "sync.kind",
            ProtocolError::Truncated { .. } => "sync.truncated",
            ProtocolError::TooLarge(_) => "sync.too_large",
            ProtocolError::Malformed => "sync.malformed",
            ProtocolError::Stale => "sync.stale",
            ProtocolError::InvalidChange => "sync.invalid_change",
        }
    }
    /// Vietnamese message.
    pub fn message_vi(&self) -> &'static str {
        match self {
            ProtocolError::NotAFrame | ProtocolError::Kind(_) | ProtocolError::Malformed => {
                "Dữ liệu đồng bộ không hợp lệ"
            }
            ProtocolError::Version(_) => {
                "Phiên bản đồng bộ không tương thích, hãy cập nhật ứng dụng"
            }
            ProtocolError::Truncated { .. } => "Dữ liệu đồng bộ bị cắt ngang, hãy thử lại",
            ProtocolError::TooLarge(_) => "Dữ liệu đồng bộ quá lớn",
            ProtocolError::Stale => "Phản hồi đồng bộ đã cũ, bỏ qua",
            ProtocolError::InvalidChange => "Thay đổi trong dữ liệu đồng bộ bị hỏng",
        }
    }
}

/// Changes to one document, as raw automerge change bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocChanges {
    /// Which document.
    pub doc: DocId,
    /// Raw change bytes ([`automerge::Change::raw_bytes`]).
    pub changes: Vec<Vec<u8>>,
}

/// A whole document, saved without compression (the frame compresses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSnapshot {
    /// Which document.
    pub doc: DocId,
    /// `AutoCommit::save_nocompress()` bytes.
    pub bytes: Vec<u8>,
}

/// Phone → server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Echoed by the response; the phone accepts only its latest.
    pub request_id: u64,
    /// The phone install's id (the server checks it against the token).
    pub device: String,
    /// What the server last told this phone; `None` for an initial sync.
    pub cursor: Option<Vec<u8>>,
    /// Highest outbox sequence number included in `changes`.
    pub outbox_through: u64,
    /// Local changes not yet acknowledged.
    pub changes: Vec<DocChanges>,
}

/// Server → phone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SyncResponse {
    /// The request this answers.
    pub request_id: u64,
    /// Every outbox entry up to this one is durably stored on the server.
    pub acked_through: u64,
    /// Compacted documents (initial sync, newly visible households, or
    /// history the server has compacted away).
    pub docs: Vec<DocSnapshot>,
    /// Changes since the cursor, made by others.
    pub changes: Vec<DocChanges>,
    /// Households no longer in this phone's area: delete them locally.
    pub purge: Vec<HouseholdId>,
    /// The cursor to send next time.
    pub cursor: Vec<u8>,
    /// More is waiting: sync again at once.
    pub more: bool,
    /// This device is revoked: wipe every local record.
    pub wipe: bool,
    /// The planning terms of the campaign active in the caller's commune;
    /// `None` means no campaign is active (the phone forgets the terms it
    /// had). Sent with every answer, so the phone always holds the latest.
    pub terms: Option<crate::plan::Terms>,
}

impl SyncRequest {
    /// Number of changes carried.
    pub fn change_count(&self) -> usize {
        self.changes.iter().map(|d| d.changes.len()).sum()
    }
}

impl SyncResponse {
    /// Number of changes and documents carried.
    pub fn item_count(&self) -> usize {
        self.docs.len() + self.changes.iter().map(|d| d.changes.len()).sum::<usize>()
    }
}

fn encode<T: Serialize>(kind: FrameKind, msg: &T) -> Result<Vec<u8>, ProtocolError> {
    let plain = postcard::to_stdvec(msg).map_err(|_| ProtocolError::Malformed)?;
    let mut enc = zstd::stream::Encoder::new(Vec::with_capacity(plain.len() / 3 + 64), 3)
        .map_err(|_| ProtocolError::Malformed)?;
    enc.include_checksum(true)
        .map_err(|_| ProtocolError::Malformed)?;
    enc.set_pledged_src_size(Some(plain.len() as u64))
        .map_err(|_| ProtocolError::Malformed)?;
    std::io::Write::write_all(&mut enc, &plain).map_err(|_| ProtocolError::Malformed)?;
    let body = enc.finish().map_err(|_| ProtocolError::Malformed)?;
    let len = u32::try_from(body.len()).map_err(|_| ProtocolError::TooLarge("frame"))?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.push(PROTOCOL_VERSION);
    out.push(kind as u8);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

fn decode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    kind: FrameKind,
    limits: &Limits,
) -> Result<T, ProtocolError> {
    if bytes.len() > limits.max_frame_bytes {
        return Err(ProtocolError::TooLarge("frame"));
    }
    if bytes.len() < HEADER_LEN || bytes[..4] != MAGIC {
        return Err(ProtocolError::NotAFrame);
    }
    if bytes[4] != PROTOCOL_VERSION {
        return Err(ProtocolError::Version(bytes[4]));
    }
    if bytes[5] != kind as u8 {
        return Err(ProtocolError::Kind(bytes[5]));
    }
    let declared = u32::from_le_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]) as usize;
    let body = &bytes[HEADER_LEN..];
    if body.len() != declared {
        return Err(ProtocolError::Truncated {
            expected: declared,
            got: body.len(),
        });
    }
    let decoder = zstd::stream::Decoder::new(body).map_err(|_| ProtocolError::Malformed)?;
    let mut plain = Vec::new();
    decoder
        .take(limits.max_body_bytes as u64 + 1)
        .read_to_end(&mut plain)
        .map_err(|_| ProtocolError::Malformed)?;
    if plain.len() > limits.max_body_bytes {
        return Err(ProtocolError::TooLarge("body"));
    }
    let (msg, rest) =
        postcard::take_from_bytes::<T>(&plain).map_err(|_| ProtocolError::Malformed)?;
    if !rest.is_empty() {
        return Err(ProtocolError::Malformed);
    }
    Ok(msg)
}

fn check_items<'a>(
    changes: impl Iterator<Item = &'a DocChanges>,
    docs: impl Iterator<Item = &'a DocSnapshot>,
    limits: &Limits,
) -> Result<(), ProtocolError> {
    let mut count = 0usize;
    for d in changes {
        for c in &d.changes {
            count += 1;
            if c.len() > limits.max_item_bytes {
                return Err(ProtocolError::TooLarge("change"));
            }
        }
    }
    for d in docs {
        count += 1;
        if d.bytes.len() > limits.max_item_bytes {
            return Err(ProtocolError::TooLarge("document"));
        }
    }
    if count > limits.max_changes {
        return Err(ProtocolError::TooLarge("change count"));
    }
    Ok(())
}

/// Encodes a request frame.
pub fn encode_request(req: &SyncRequest) -> Result<Vec<u8>, ProtocolError> {
    encode(FrameKind::Request, req)
}

/// Decodes and checks a request frame.
pub fn decode_request(bytes: &[u8], limits: &Limits) -> Result<SyncRequest, ProtocolError> {
    let req: SyncRequest = decode(bytes, FrameKind::Request, limits)?;
    check_items(req.changes.iter(), std::iter::empty(), limits)?;
    Ok(req)
}

/// Encodes a response frame.
pub fn encode_response(resp: &SyncResponse) -> Result<Vec<u8>, ProtocolError> {
    encode(FrameKind::Response, resp)
}

/// Decodes and checks a response frame.
pub fn decode_response(bytes: &[u8], limits: &Limits) -> Result<SyncResponse, ProtocolError> {
    let resp: SyncResponse = decode(bytes, FrameKind::Response, limits)?;
    check_items(resp.changes.iter(), resp.docs.iter(), limits)?;
    Ok(resp)
}

/// Parses raw change bytes; any invalid change refuses the whole message.
pub fn parse_changes(raw: &[Vec<u8>]) -> Result<Vec<automerge::Change>, ProtocolError> {
    raw.iter()
        .map(|b| automerge::Change::from_bytes(b.clone()).map_err(|_| ProtocolError::InvalidChange))
        .collect()
}

/// The server's cursor as the reference server ([`crate::sim`]) and the
/// Gõ Cửa server write it. Phones never look inside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ServerCursor {
    /// Every change with a sequence number up to this one has been sent.
    pub seq: u64,
    /// Set while an initial sync is streaming documents in pages.
    pub snapshot_after: Option<HouseholdId>,
    /// Snapshot still in progress (distinguishes "no page yet" from "done").
    pub in_snapshot: bool,
    /// Version of the caller's area when the cursor was issued: a change of
    /// area makes the server send the newly visible households whole.
    pub area_version: u64,
}

impl ServerCursor {
    /// Encodes for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }
    /// Decodes; an unreadable cursor means "start again" (`None`).
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        postcard::from_bytes(b).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::DocPart;

    fn sample() -> SyncResponse {
        SyncResponse {
            request_id: 42,
            acked_through: 9,
            docs: vec![DocSnapshot {
                doc: DocId {
                    household: HouseholdId::new(),
                    part: DocPart::Main,
                },
                bytes: vec![1, 2, 3],
            }],
            changes: vec![],
            purge: vec![HouseholdId::new()],
            cursor: ServerCursor {
                seq: 5,
                ..Default::default()
            }
            .to_bytes(),
            more: false,
            wipe: false,
            terms: Some(crate::plan::Terms {
                campaign: "c1".into(),
                name: "Cao điểm 50 ngày, đêm".into(),
                start_day: 20_000,
                end_day: 20_050,
                min_age: 14,
                daily_cap: 40,
                recheck_after_days: 14,
            }),
        }
    }

    #[test]
    fn response_round_trips() {
        let r = sample();
        let b = encode_response(&r).unwrap();
        assert_eq!(decode_response(&b, &Limits::default()).unwrap(), r);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = encode_response(&sample()).unwrap();
        for n in 0..b.len() {
            assert!(
                decode_response(&b[..n], &Limits::default()).is_err(),
                "cut at {n}"
            );
        }
    }

    #[test]
    fn kind_and_version_are_checked() {
        let b = encode_response(&sample()).unwrap();
        assert_eq!(
            decode_request(&b, &Limits::default()),
            Err(ProtocolError::Kind(2))
        );
        let mut v = b.clone();
        v[4] = 9;
        assert_eq!(
            decode_response(&v, &Limits::default()),
            Err(ProtocolError::Version(9))
        );
        // A version-1 peer (responses without terms) is refused, not misread.
        v[4] = 1;
        assert_eq!(
            decode_response(&v, &Limits::default()),
            Err(ProtocolError::Version(1))
        );
        assert_eq!(ProtocolError::Version(1).code(), "sync.version");
    }

    #[test]
    fn flipped_body_bytes_never_panic() {
        let b = encode_response(&sample()).unwrap();
        for i in HEADER_LEN..b.len() {
            let mut x = b.clone();
            x[i] ^= 0x5a;
            let _ = decode_response(&x, &Limits::default());
        }
    }

    #[test]
    fn compression_bombs_are_refused() {
        let big = SyncRequest {
            request_id: 1,
            device: "d".into(),
            cursor: Some(vec![0; 2 << 20]),
            outbox_through: 0,
            changes: vec![],
        };
        let b = encode_request(&big).unwrap();
        assert!(b.len() < 4096, "zeros compress well");
        let limits = Limits {
            max_body_bytes: 1 << 20,
            ..Limits::default()
        };
        assert_eq!(
            decode_request(&b, &limits),
            Err(ProtocolError::TooLarge("body"))
        );
    }
}
