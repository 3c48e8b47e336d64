//! Verifier of v1 (chiapos) proofs of space, in Rust: what chiapos' `Verifier::ValidateProof` computes.
//!
//! A proof is 64 x-values of k bits ("proof order"). f1 maps each x through a ChaCha8 keystream keyed by the
//! plot id; tables 2..7 combine pairs with BLAKE3 when their outputs "match"; the last output must start with
//! the challenge's first k bits. The quality string hashes the challenge with two adjacent x-values of the
//! proof in plot order, chosen by the challenge's last five bits. Bit strings are big-endian throughout, as in
//! chiapos' `Bits`.

use sha2::{Digest, Sha256};

const EXTRA_BITS: u32 = 6;
const B: u64 = 119;
const C: u64 = 127;
const BC: u64 = B * C;
const MIN_K: u8 = 18;
const MAX_K: u8 = 50;
/// Metadata length of each table's entries, in multiples of k (index = table).
const VECTOR_LENS: [u32; 8] = [0, 0, 1, 2, 4, 4, 3, 2];

/// The 32-byte quality string of a valid proof; None for an invalid one (never panics).
pub fn validate_proof_v1(
    plot_id: &[u8; 32],
    k: u8,
    challenge: &[u8; 32],
    proof: &[u8],
) -> Option<[u8; 32]> {
    if !(MIN_K..=MAX_K).contains(&k) || proof.len() != usize::from(k) * 8 {
        return None;
    }
    let k32 = u32::from(k);
    let mut xs = [0u64; 64];
    for (i, x) in xs.iter_mut().enumerate() {
        *x = read_bits(proof, i * usize::from(k), k32);
    }

    let keystream = ChaCha8::new(plot_id);
    let mut ys = [0u64; 64];
    let mut metas = [Meta::EMPTY; 64];
    for i in 0..64 {
        ys[i] = f1(&keystream, xs[i], k32);
        metas[i] = Meta::from_value(xs[i], k32);
    }

    let mut count = 64;
    for table in 2..=7u32 {
        for i in 0..count / 2 {
            let (yl, yr) = (ys[2 * i], ys[2 * i + 1]);
            if !matches(yl, yr) {
                return None;
            }
            let (y, meta) = fx(table, k32, yl, &metas[2 * i], &metas[2 * i + 1]);
            ys[i] = y;
            metas[i] = meta;
        }
        count /= 2;
    }

    let challenge_prefix = read_bits(challenge, 0, k32);
    if challenge_prefix != ys[0] >> EXTRA_BITS {
        return None;
    }
    Some(quality_string(&xs, k32, challenge))
}

/// Whether a left and a right table entry match: adjacent buckets, and the right one's position is one of the
/// 64 targets of the left one (`L_targets` in chiapos).
fn matches(yl: u64, yr: u64) -> bool {
    let (bucket_l, bucket_r) = (yl / BC, yr / BC);
    if bucket_r != bucket_l + 1 {
        return false;
    }
    let parity = bucket_l % 2;
    let (r, target_r) = (yl % BC, yr % BC);
    let ind_j = r / C;
    (0..(1u64 << EXTRA_BITS)).any(|m| {
        let base = 2 * m + parity;
        ((ind_j + m) % B) * C + ((base * base + r) % C) == target_r
    })
}

/// f1(x): k bits of the keystream at bit x·k, followed by the top six bits of x.
fn f1(keystream: &ChaCha8, x: u64, k: u32) -> u64 {
    let bit = u128::from(x) * u128::from(k);
    // x < 2^50, so the block index fits u64 and the offset fits 512.
    let block = (bit / 512) as u64;
    let offset = (bit % 512) as usize;
    let mut blocks = [0u8; 128];
    keystream.block(block, &mut blocks[..64]);
    if offset + k as usize > 512 {
        keystream.block(block.wrapping_add(1), &mut blocks[64..]);
    }
    (read_bits(&blocks, offset, k) << EXTRA_BITS) | (x >> (k - EXTRA_BITS))
}

/// f_t for tables 2..7: BLAKE3 of y ‖ left metadata ‖ right metadata; the output is its first k+6 bits and
/// the new metadata is either the two metadata concatenated (tables 2, 3) or more bits of the hash.
fn fx(table: u32, k: u32, y: u64, left: &Meta, right: &Meta) -> (u64, Meta) {
    let mut input = Meta::EMPTY;
    input.push(y, k + EXTRA_BITS);
    input.append(left);
    input.append(right);
    let hash = blake3::hash(&input.bytes[..input.len.div_ceil(8) as usize]);
    let hash = hash.as_bytes();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    let f = u64::from_be_bytes(first) >> (64 - (k + EXTRA_BITS));
    let meta = if table < 4 {
        let mut m = *left;
        m.append(right);
        m
    } else if table < 7 {
        let len = k * VECTOR_LENS[table as usize + 1];
        let mut m = Meta::EMPTY;
        m.append_bits_of(hash, (k + EXTRA_BITS) as usize, len);
        m
    } else {
        Meta::EMPTY
    };
    (f, meta)
}

/// sha256(challenge ‖ two adjacent x-values of the proof in plot order).
fn quality_string(proof_order: &[u64; 64], k: u32, challenge: &[u8; 32]) -> [u8; 32] {
    let mut xs = *proof_order;
    // Six levels turn proof order into plot order: each pair of halves is put in order by comparing their
    // x-values from the last one backwards.
    for level in 1..=6u32 {
        let size = 1usize << (level - 1);
        let mut next = [0u64; 64];
        for j in (0..64 / size).step_by(2) {
            let left = &xs[j * size..(j + 1) * size];
            let right = &xs[(j + 1) * size..(j + 2) * size];
            let (first, second) = if left_first(left, right) {
                (left, right)
            } else {
                (right, left)
            };
            next[j * size..(j + 1) * size].copy_from_slice(first);
            next[(j + 1) * size..(j + 2) * size].copy_from_slice(second);
        }
        xs = next;
    }
    let index = usize::from(challenge[31] & 0x1f) << 1;
    let mut pair = Meta::EMPTY;
    pair.push(xs[index], k);
    pair.push(xs[index + 1], k);
    let mut h = Sha256::new();
    h.update(challenge);
    h.update(&pair.bytes[..(2 * k).div_ceil(8) as usize]);
    h.finalize().into()
}

fn left_first(left: &[u64], right: &[u64]) -> bool {
    for (l, r) in left.iter().rev().zip(right.iter().rev()) {
        if l != r {
            return l < r;
        }
    }
    false
}

/// Reads `n` ≤ 64 bits starting at bit `start` (big-endian bit order); bits past the end read as zero.
fn read_bits(bytes: &[u8], start: usize, n: u32) -> u64 {
    let mut out: u128 = 0;
    let first = start / 8;
    let skip = start % 8;
    let needed = (skip + n as usize).div_ceil(8);
    for i in 0..needed {
        out = (out << 8) | u128::from(bytes.get(first + i).copied().unwrap_or(0));
    }
    let total = needed * 8;
    ((out >> (total - skip - n as usize)) & ((1u128 << n) - 1)) as u64
}

/// A bit string of up to 512 bits (the largest BLAKE3 input is (k+6) + 2·4k = 456 bits at k = 50).
#[derive(Clone, Copy)]
struct Meta {
    bytes: [u8; 64],
    len: u32,
}

impl Meta {
    const EMPTY: Meta = Meta {
        bytes: [0; 64],
        len: 0,
    };

    fn from_value(value: u64, bits: u32) -> Self {
        let mut m = Self::EMPTY;
        m.push(value, bits);
        m
    }

    /// Appends the low `bits` bits of `value`.
    fn push(&mut self, value: u64, bits: u32) {
        for i in (0..bits).rev() {
            let bit = (value >> i) & 1;
            let pos = self.len as usize;
            if bit == 1 {
                self.bytes[pos / 8] |= 0x80 >> (pos % 8);
            }
            self.len += 1;
        }
    }

    fn append(&mut self, other: &Meta) {
        self.append_bits_of(&other.bytes, 0, other.len);
    }

    fn append_bits_of(&mut self, bytes: &[u8], start: usize, len: u32) {
        let mut done = 0;
        while done < len {
            let chunk = (len - done).min(64);
            self.push(read_bits(bytes, start + done as usize, chunk), chunk);
            done += chunk;
        }
    }
}

/// The ChaCha8 keystream chiapos uses: key = 0x01 ‖ plot_id[..31], zero nonce, 64-bit block counter.
struct ChaCha8 {
    input: [u32; 16],
}

impl ChaCha8 {
    fn new(plot_id: &[u8; 32]) -> Self {
        let mut key = [0u8; 32];
        key[0] = 1;
        key[1..].copy_from_slice(&plot_id[..31]);
        let mut input = [0u32; 16];
        for (i, chunk) in b"expand 32-byte k".chunks(4).enumerate() {
            input[i] = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        for (i, chunk) in key.chunks(4).enumerate() {
            input[4 + i] = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Self { input }
    }

    /// Keystream block number `counter` into `out` (64 bytes).
    fn block(&self, counter: u64, out: &mut [u8]) {
        let mut j = self.input;
        j[12] = counter as u32;
        j[13] = (counter >> 32) as u32;
        let mut x = j;
        for _ in 0..4 {
            quarter_round(&mut x, 0, 4, 8, 12);
            quarter_round(&mut x, 1, 5, 9, 13);
            quarter_round(&mut x, 2, 6, 10, 14);
            quarter_round(&mut x, 3, 7, 11, 15);
            quarter_round(&mut x, 0, 5, 10, 15);
            quarter_round(&mut x, 1, 6, 11, 12);
            quarter_round(&mut x, 2, 7, 8, 13);
            quarter_round(&mut x, 3, 4, 9, 14);
        }
        for (i, word) in x.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&word.wrapping_add(j[i]).to_le_bytes());
        }
    }
}

fn quarter_round(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn vectors() -> serde_json::Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/proofs_v1.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn h(v: &serde_json::Value) -> Vec<u8> {
        hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
    }

    #[test]
    fn every_vector_proof_verifies_and_tampering_fails() {
        let v = vectors();
        for p in v["partials"].as_array().unwrap() {
            let pos = &p["proof_of_space_json"];
            let mut plot_id = Sha256::new();
            plot_id.update(h(&pos["pool_contract_puzzle_hash"]));
            plot_id.update(h(&pos["plot_public_key"]));
            let plot_id: [u8; 32] = plot_id.finalize().into();
            let k = u8::try_from(pos["size"].as_u64().unwrap()).unwrap();
            let challenge: [u8; 32] = h(&pos["challenge"]).try_into().unwrap();
            let proof = h(&pos["proof"]);
            let quality = validate_proof_v1(&plot_id, k, &challenge, &proof).expect("valid proof");
            assert_eq!(quality.to_vec(), h(&p["quality_string"]));
            let tampered = h(&p["tampered_proof_bytes"]);
            assert_eq!(
                validate_proof_v1(&plot_id, k, &challenge, &tampered).is_some(),
                p["tampered_verdict"].as_bool().unwrap()
            );
            let mut other = challenge;
            other[0] ^= 0x80;
            assert_eq!(validate_proof_v1(&plot_id, k, &other, &proof), None);
            assert_eq!(validate_proof_v1(&plot_id, k + 1, &challenge, &proof), None);
            assert_eq!(
                validate_proof_v1(&plot_id, k, &challenge, &proof[..proof.len() - 1]),
                None
            );
            assert_eq!(validate_proof_v1(&[0; 32], k, &challenge, &proof), None);
        }
    }

    #[test]
    fn any_size_is_refused_without_panicking() {
        for k in [0u8, 1, 17, 51, 255] {
            assert_eq!(
                validate_proof_v1(&[1; 32], k, &[2; 32], &vec![0xff; usize::from(k) * 8]),
                None
            );
        }
        assert_eq!(validate_proof_v1(&[1; 32], 32, &[2; 32], &[]), None);
        assert_eq!(
            validate_proof_v1(&[1; 32], 50, &[2; 32], &[0xff; 400]),
            None
        );
    }

    #[test]
    fn read_bits_is_big_endian() {
        let bytes = [0b1010_0000, 0xff];
        assert_eq!(read_bits(&bytes, 0, 3), 0b101);
        assert_eq!(read_bits(&bytes, 6, 4), 0b0011);
        assert_eq!(read_bits(&bytes, 12, 8), 0xf0);
    }
}
