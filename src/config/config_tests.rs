//! Tests of `pool.toml` parsing and validation, and of `pool.toml.example`.

mod parsing {
    use super::super::*;

    #[test]
    fn empty_file_is_valid() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.server.listen.port(), 8080);
        assert_eq!(c.pool_memoization().unwrap(), vec![0x80]);
        assert_eq!(c.reward_puzzle_hash().unwrap(), None);
    }

    #[test]
    fn errors_name_section_key_and_fix() {
        let cases = [
            ("[pool]\nfee_basis_points = 20000", "fee_basis_points"),
            (
                "[pool]\nrelative_lock_height = 5000",
                "relative_lock_height",
            ),
            ("[pool]\npool_memoization = \"zz\"", "pool_memoization"),
            ("[pool]\npool_memoization = \"ff\"", "pool_memoization"),
            ("[pool]\nreward_address = \"xch1nope\"", "reward_address"),
            ("[payouts]\nfee_address = \"xch1nope\"", "fee_address"),
            ("[server]\ntls_cert = \"a.pem\"", "tls_key"),
            ("[chia]\nnode_url = \"http://localhost:8555\"", "node_url"),
            (
                "[pool]\nmin_difficulty = 10\ndefault_difficulty = 5",
                "default_difficulty",
            ),
        ];
        for (text, key) in cases {
            let err = Config::parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        let err = Config::parse("[pool]\nfee = 1").unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn protocols_default_to_both_and_name_only_v1_and_v2() {
        let c = Config::parse("").unwrap();
        assert!(c.pool.serves(Protocol::V1) && c.pool.serves(Protocol::V2));
        let c = Config::parse("[pool]\nprotocols = [\"v1\"]").unwrap();
        assert!(c.pool.serves(Protocol::V1) && !c.pool.serves(Protocol::V2));
        let err = Config::parse("[pool]\nprotocols = []")
            .unwrap_err()
            .to_string();
        assert!(err.contains("protocols"), "{err}");
        let err = Config::parse("[pool]\nprotocols = [\"v3\"]")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("v3") || err.contains("unknown variant"),
            "{err}"
        );
    }

    #[test]
    fn reward_address_accepts_hex_and_bech32m() {
        let hex = "14149c71b239194d2e7496dcde66fef56f26e53b75eb967f650e9e48becbb2c1";
        let c = Config::parse(&format!("[pool]\nreward_address = \"0x{hex}\"")).unwrap();
        let ph = c.reward_puzzle_hash().unwrap().unwrap();
        assert_eq!(hex::encode(ph), hex);
        let addr = crate::chia::address::encode_puzzle_hash(&ph, "xch");
        let c = Config::parse(&format!("[pool]\nreward_address = \"{addr}\"")).unwrap();
        assert_eq!(c.reward_puzzle_hash().unwrap(), Some(ph));
    }
}

mod example {
    use super::super::Config;

    /// The example `init` writes parses, and spells out exactly the defaults.
    #[test]
    fn example_is_valid_and_matches_defaults() {
        let example = Config::parse(include_str!("../../pool.toml.example")).unwrap();
        let defaults = Config::default();
        assert_eq!(format!("{example:?}"), format!("{defaults:?}"));
    }
}
