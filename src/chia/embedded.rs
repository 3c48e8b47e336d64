//! CLVM the PlotNFT needs that no Rust crate ships: five puzzles from the chia-blockchain 2.7.5
//! wheel and the custody architecture's INDEX_WRAPPER, as byte constants with their tree hashes
//! (checked by the tests). The rest comes from `chia_puzzles`.

use clvm_utils::TreeHash;

/// Decodes a hex literal at compile time, so the embedded puzzles stay readable as the `.clsp.hex`
/// files they come from; a malformed literal or wrong length is a build error, not a runtime one.
const fn hex<const N: usize>(s: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("invalid hex digit"),
        }
    }
    let s = s.as_bytes();
    assert!(s.len() == 2 * N, "hex literal has the wrong length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

/// `(a 5 7)`: `PuzzleWithRestrictions`' outer layer, `INDEX_WRAPPER(NONCE, INNER)`. Defined inline
/// in `custody_architecture.py`; not in chia-puzzles.
pub const INDEX_WRAPPER: [u8; 7] = hex("ff02ff05ff0780");
pub const INDEX_WRAPPER_HASH: TreeHash = TreeHash::new(hex(
    "847d971ef523417d555ea9854b1612837155d34d453298defcd310774305f657",
));

/// `chia/wallet/puzzles/custody/heightlock.clsp.hex`: passes the conditions through only if they
/// contain `(82 HEIGHTLOCK …)`. Not chia-puzzles' `TIMELOCK`, which asserts seconds.
pub const HEIGHTLOCK: [u8; 137] = hex(concat!(
    "ff02ffff01ff02ff06ffff04ff02ffff04ff05ffff04ff0bff8080808080ffff04ffff01ff52ff02ffff03ffff02",
    "ffff03ffff09ff23ff0480ffff01ff02ffff03ffff09ff53ff0580ffff01ff0101ff8080ff0180ff8080ff0180ff",
    "ff010bffff01ff04ff13ffff02ff06ffff04ff02ffff04ff05ffff04ff1bff80808080808080ff0180ff018080",
));
pub const HEIGHTLOCK_HASH: TreeHash = TreeHash::new(hex(
    "4c3a0aafc84771bb68405c232fefbb641236f9c8ee791a8f7c9a74d9035678f7",
));

/// `…/custody/fixed_create_coin_destinations.clsp.hex`: fails on any CREATE_COIN whose puzzle hash
/// is not `ALLOWED_PH`.
pub const FIXED_CREATE_COIN_DESTINATIONS: [u8; 177] = hex(concat!(
    "ff02ffff01ff02ff06ffff04ff02ffff04ff05ffff04ff0bffff04ff0bff808080808080ffff04ffff01ff33ff02",
    "ffff03ff0bffff01ff02ffff03ffff09ff23ff0480ffff01ff02ffff03ffff09ff53ff0580ffff01ff02ff06ffff",
    "04ff02ffff04ff05ffff04ff1bffff04ff17ff808080808080ffff01ff088080ff0180ffff01ff02ff06ffff04ff",
    "02ffff04ff05ffff04ff1bffff04ff17ff80808080808080ff0180ffff011780ff0180ff018080",
));
pub const FIXED_CREATE_COIN_DESTINATIONS_HASH: TreeHash = TreeHash::new(hex(
    "9b180c90094b82658705d838a954ad31abeeccf513fcb75b9924caa8d795fd29",
));

/// `…/custody/send_message_banned.clsp.hex`: fails on any SEND_MESSAGE (66). Not chia-puzzles'
/// `PREVENT_CONDITION_OPCODE`.
pub const SEND_MESSAGE_BANNED: [u8; 111] = hex(concat!(
    "ff02ffff01ff02ff06ffff04ff02ffff04ff05ffff04ff05ff8080808080ffff04ffff01ff42ff02ffff03ff05ff",
    "ff01ff02ffff03ffff09ff11ff0480ffff01ff0880ffff01ff02ff06ffff04ff02ffff04ff0dffff04ff0bff8080",
    "80808080ff0180ffff010b80ff0180ff018080",
));
pub const SEND_MESSAGE_BANNED_HASH: TreeHash = TreeHash::new(hex(
    "74d33c679add06271714c1fa88195e32384c86c2b1ff67f3740c8be0f54298ac",
));

/// `chia/pools/claim_pool_rewards_dpuz.clsp.hex`: the pool path's fixed delegated puzzle
/// (recreate the singleton, message one reward coin).
pub const CLAIM_POOL_REWARDS_DPUZ: [u8; 394] = hex(concat!(
    "ff02ffff01ff04ffff04ff08ffff04ffff0bff5effff0bff16ffff0bff16ff6eff0b80ffff0bff16ffff0bff7eff",
    "ff0bff16ffff0bff16ff6eff1780ffff0bff16ffff0bff7effff0bff16ffff0bff16ff6eff81bf80ffff0bff16ff",
    "6eff4e808080ff4e808080ff4e808080ff808080ffff04ffff04ff0cffff04ff81bfffff04ffff0101ffff04ffff",
    "04ff17ff8080ff8080808080ffff04ffff04ff0affff04ffff0117ffff04ff5fffff04ffff30ffff19ffff16ff05",
    "ffff0182008080ffff18ffff019100ffffffffffffffffffffffffffffffffff82017f8080ff2fff8202ff80ff80",
    "80808080ff80808080ffff04ffff01ffff4833ff42ff02ffffa04bf5122f344554c53bde2ebb8cd2b7e3d1600ad6",
    "31c385a5d7cce23c7785459aa09dcf97a184f32623d11a73124ceb99a5709b083721e878a16d78f596718ba7b2ff",
    "a102a12871fee210fb8619291eaea194581cbd2531e4b23759d225f6806923f63222a102a8d5dd63fba471ebcb1f",
    "3e8f7c1e1879b7152a6e7298a91ce119a63400ade7c5ff018080",
));
pub const CLAIM_POOL_REWARDS_DPUZ_HASH: TreeHash = TreeHash::new(hex(
    "a505dffda8f601f2cddf7e01b6272222614c21807d26bbc447256cae220f0e47",
));

/// `chia/pools/forward_to_pool_puzzle_hash_dpuz.clsp.hex`: the reward coin's delegated puzzle,
/// `((73 amount) (51 REWARD_HASH amount . REWARD_REST))`.
pub const FORWARD_TO_POOL_PUZZLE_HASH_DPUZ: [u8; 47] = hex(concat!(
    "ff04ffff04ffff0149ffff04ff0bff808080ffff04ffff04ffff0133ffff04ff02ffff04ff0bff05808080ff8080",
    "80",
));
pub const FORWARD_TO_POOL_PUZZLE_HASH_DPUZ_HASH: TreeHash = TreeHash::new(hex(
    "db11ed2af1ed92c759f99d8cfeeb7a945c2fc81ee846fc0a61b0e048d6aeb770",
));

/// `H((q . ADD_DPUZ_WRAPPER))`, the first curried argument of every ENFORCE_DPUZ_WRAPPERS.
pub const QUOTED_ADD_DPUZ_WRAPPER_HASH: TreeHash = TreeHash::new(hex(
    "defac931f5b54b71afab04e80bdfbd8371a12fc8dd1157b6dd09d0d4d6d043c9",
));

#[cfg(test)]
mod tests {
    use super::super::puzzles::quoted_hash;
    use super::super::puzzles::tests::load;
    use super::*;

    const PUZZLES_JSON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/puzzles.json");

    #[test]
    fn embedded_puzzles_have_their_tree_hashes() {
        let cases: [(&[u8], TreeHash); 6] = [
            (&INDEX_WRAPPER, INDEX_WRAPPER_HASH),
            (&HEIGHTLOCK, HEIGHTLOCK_HASH),
            (
                &FIXED_CREATE_COIN_DESTINATIONS,
                FIXED_CREATE_COIN_DESTINATIONS_HASH,
            ),
            (&SEND_MESSAGE_BANNED, SEND_MESSAGE_BANNED_HASH),
            (&CLAIM_POOL_REWARDS_DPUZ, CLAIM_POOL_REWARDS_DPUZ_HASH),
            (
                &FORWARD_TO_POOL_PUZZLE_HASH_DPUZ,
                FORWARD_TO_POOL_PUZZLE_HASH_DPUZ_HASH,
            ),
        ];
        for (bytes, hash) in cases {
            assert_eq!(clvm_utils::tree_hash_from_bytes(bytes).unwrap(), hash);
        }
        let add_wrapper =
            clvm_utils::tree_hash_from_bytes(&chia_puzzles::ADD_DPUZ_WRAPPER).unwrap();
        assert_eq!(quoted_hash(add_wrapper), QUOTED_ADD_DPUZ_WRAPPER_HASH);
    }

    #[test]
    fn embedded_puzzles_match_the_vector_file() {
        let v = load(PUZZLES_JSON);
        let embedded = v["embedded_puzzles"].as_object().unwrap();
        let ours: [(&str, &[u8]); 2] = [
            ("claim_pool_rewards_dpuz", &CLAIM_POOL_REWARDS_DPUZ),
            (
                "forward_to_pool_puzzle_hash_dpuz",
                &FORWARD_TO_POOL_PUZZLE_HASH_DPUZ,
            ),
        ];
        for (name, bytes) in ours {
            assert_eq!(embedded[name]["hex"].as_str().unwrap(), hex::encode(bytes));
            let hash = clvm_utils::tree_hash_from_bytes(bytes).unwrap();
            assert_eq!(
                hex::encode(hash),
                embedded[name]["tree_hash"].as_str().unwrap()
            );
        }
    }
}
