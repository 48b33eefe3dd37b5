//! [`Buffer`]: the bytes of a safetensors file, owned or borrowed without copying.

use std::fmt;
use std::sync::Arc;

/// The bytes of a `model.safetensors` file, which the model keeps and reads embedding
/// rows from directly (F32, F16, BF16, F64 and I8 rows are decoded on the fly, so the
/// file is never copied or converted at load time).
///
/// - `Vec<u8>`: owned (what [`StaticModel::from_pretrained`](crate::StaticModel::from_pretrained) reads).
/// - `&'static [u8]`: borrowed, e.g. `include_bytes!` in a binary or wasm module.
/// - [`Buffer::shared`]: any owner of bytes, e.g. a memory map, shared by reference count.
///
/// No alignment is required: elements are read with `from_le_bytes`.
#[derive(Clone)]
pub struct Buffer(Repr);

#[derive(Clone)]
enum Repr {
    Owned(Arc<Vec<u8>>),
    /// Owned, the bytes being `vec[start..start + len]` (placed for alignment).
    OwnedAt(Arc<Vec<u8>>, usize, usize),
    Static(&'static [u8]),
    Shared(Arc<dyn AsRef<[u8]> + Send + Sync>),
}

impl Buffer {
    /// Wraps any shared owner of bytes (a memory map, a `Box<[u8]>`, ...) without copying.
    pub fn shared(owner: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Self {
        Buffer(Repr::Shared(owner))
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Owned(v) => v.as_slice(),
            Repr::OwnedAt(v, start, len) => v.get(*start..start + len).unwrap_or_default(),
            Repr::Static(s) => s,
            Repr::Shared(o) => (**o).as_ref(),
        }
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// `true` when the bytes are borrowed from the caller (static or shared) rather than
    /// owned by the model.
    pub fn is_borrowed(&self) -> bool {
        !matches!(self.0, Repr::Owned(_) | Repr::OwnedAt(..))
    }

    /// Owned bytes `vec[start..start + len]` (an empty view when out of range).
    pub(crate) fn owned_at(vec: Vec<u8>, start: usize, len: usize) -> Self {
        Buffer(Repr::OwnedAt(Arc::new(vec), start, len))
    }
}

impl From<Vec<u8>> for Buffer {
    fn from(v: Vec<u8>) -> Self {
        Buffer(Repr::Owned(Arc::new(v)))
    }
}

impl From<&'static [u8]> for Buffer {
    fn from(s: &'static [u8]) -> Self {
        Buffer(Repr::Static(s))
    }
}

impl<const N: usize> From<&'static [u8; N]> for Buffer {
    fn from(s: &'static [u8; N]) -> Self {
        Buffer(Repr::Static(s))
    }
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 {
            Repr::Owned(_) | Repr::OwnedAt(..) => "owned",
            Repr::Static(_) => "static",
            Repr::Shared(_) => "shared",
        };
        write!(f, "Buffer({kind}, {} bytes)", self.len())
    }
}
