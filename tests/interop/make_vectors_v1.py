"""Golden vectors for pool protocol v1 and PlotNFT v1, made with chia-blockchain 2.7.5's own classes.

The requests are the ones the released farmer builds: Farmer._pool_get_farmer, _pool_post_farmer,
_pool_put_farmer and generate_login_link run on a stub farmer (not copies of them), and the request object each
hands to make_pool_protocol_request is captured. The partial is signed the way farmer_api.py signs it (plot key
2/2 with taproot, plus the authentication key). The puzzles come from chia/pools/pool_puzzles.py and
pool_wallet.py's launcher layout; the lineage spends are create_travel_spend and create_absorb_spend.

Usage: python make_vectors_v1.py <out dir>   (writes messages_v1.json and puzzles_v1.json)
Run with the interpreter of a venv holding `pip install chia-blockchain==2.7.5`.
"""

import asyncio
import json
import logging
import sys
import time
from pathlib import Path

import yarl
from chia_rs import AugSchemeMPL, CoinSpend, G1Element, PrivateKey, ProofOfSpace
from chia_rs.sized_bytes import bytes32
from chia_rs.sized_ints import uint8, uint16, uint32, uint64

import chia.farmer.farmer as farmer_module
from chia.consensus.default_constants import DEFAULT_CONSTANTS
from chia.farmer.farmer import Farmer, PutFarmerPayloadBackCompat
from chia.pools import pool_puzzles
from chia.pools.pool_config import PoolingShareState
from chia.pools.pool_wallet_info import FARMING_TO_POOL, LEAVING_POOL, SELF_POOLING, PoolState, create_pool_state
from chia.protocols import pool_protocol
from chia.types.blockchain_format.coin import Coin
from chia.types.blockchain_format.program import Program
from chia.types.blockchain_format.proof_of_space import generate_plot_public_key, generate_taproot_sk
from chia.util.hash import std_hash
from chia.wallet.derive_keys import master_sk_to_pooling_authentication_sk, master_sk_to_singleton_owner_sk
from chia.wallet.puzzles.singleton_top_layer import SINGLETON_LAUNCHER, SINGLETON_LAUNCHER_HASH, SINGLETON_MOD_HASH
from chia.wallet.puzzles.singleton_top_layer_v1_1 import SINGLETON_MOD_HASH as SINGLETON_V1_1_MOD_HASH

# A fixed clock: every token below is computed from it (pool_protocol reads time.time()).
NOW = 1_765_000_000.0
TIMEOUT = 5
POOL_URL = "https://pool.example"
GENESIS = DEFAULT_CONSTANTS.GENESIS_CHALLENGE
DELAY_TIME = 604800  # pool_wallet.py's default p2_singleton delay
RELATIVE_LOCK_HEIGHT = 100


def sk(seed_byte: int) -> PrivateKey:
    return AugSchemeMPL.key_gen(bytes([seed_byte]) * 32)


def msg(m) -> dict:
    """A message's wire JSON, Streamable bytes and get_hash."""
    return {"json": m.to_json_dict(), "bytes": bytes(m).hex(), "get_hash": m.get_hash().hex()}


def coin_spend_json(cs: CoinSpend) -> dict:
    return {
        "coin": {
            "parent_coin_info": cs.coin.parent_coin_info.hex(),
            "puzzle_hash": cs.coin.puzzle_hash.hex(),
            "amount": cs.coin.amount,
            "coin_id": cs.coin.name().hex(),
        },
        "puzzle_reveal": bytes(cs.puzzle_reveal).hex(),
        "solution": bytes(cs.solution).hex(),
    }


def pool_state_json(ps: PoolState | None):
    if ps is None:
        return None
    return {
        "bytes": bytes(ps).hex(),
        "version": ps.version,
        "state": ps.state,
        "target_puzzle_hash": ps.target_puzzle_hash.hex(),
        "owner_pubkey": bytes(ps.owner_pubkey).hex(),
        "pool_url": ps.pool_url,
        "relative_lock_height": ps.relative_lock_height,
    }


async def farmer_requests(master: PrivateKey, config: PoolingShareState) -> dict:
    """Runs the 2.7.5 farmer's v1 request builders and returns what each would send."""
    captured: list = []

    async def capture(*, self, pool_config, method, endpoint_name, request, response_type):
        captured.append((method, endpoint_name, request))
        return None, None

    farmer_module.make_pool_protocol_request = capture
    farmer = Farmer.__new__(Farmer)
    farmer.log = logging.getLogger("farmer")
    farmer.all_root_sks = [master]
    farmer.authentication_keys = {}
    farmer.authentication_tokens = {}
    farmer.pool_state = {config.p2_singleton_puzzle_hash: {"pool_config": config, "authentication_token_timeout": TIMEOUT}}
    await farmer._pool_get_farmer(config, uint8(TIMEOUT))
    await farmer._pool_post_farmer(config, uint8(TIMEOUT))
    await farmer._pool_put_farmer(config, uint8(TIMEOUT))
    login = await farmer.generate_login_link(config.launcher_id)
    return {"captured": captured, "login_link": login}


def main(out: Path) -> None:
    pool_protocol.time.time = lambda: NOW
    master = sk(1)
    owner_sk = master_sk_to_singleton_owner_sk(master, uint32(0))
    auth_sk = master_sk_to_pooling_authentication_sk(master, uint32(0), uint32(0))
    owner_pk = owner_sk.get_g1()
    auth_pk = auth_sk.get_g1()
    pool_target = std_hash(b"pool target puzzle hash")
    delay_ph = std_hash(b"owner's delayed puzzle hash")
    self_pool_ph = std_hash(b"owner's self-pooling puzzle hash")

    # The PlotNFT: launcher coin, its states and puzzles.
    origin = Coin(std_hash(b"origin parent"), std_hash(b"origin puzzle"), uint64(1_000_000))
    launcher_coin = Coin(origin.name(), SINGLETON_LAUNCHER_HASH, uint64(1))
    launcher_id = launcher_coin.name()
    p2_ph = pool_puzzles.launcher_id_to_p2_puzzle_hash(launcher_id, uint64(DELAY_TIME), delay_ph)
    farming = create_pool_state(FARMING_TO_POOL, pool_target, owner_pk, POOL_URL, uint32(RELATIVE_LOCK_HEIGHT))
    leaving = create_pool_state(LEAVING_POOL, pool_target, owner_pk, POOL_URL, uint32(RELATIVE_LOCK_HEIGHT))
    self_pooling = create_pool_state(SELF_POOLING, self_pool_ph, owner_pk, "", uint32(0))
    no_url = PoolState(uint8(1), uint8(SELF_POOLING), self_pool_ph, owner_pk, None, uint32(0))

    def puzzles_for(ps: PoolState) -> dict:
        inner = pool_puzzles.pool_state_to_inner_puzzle(ps, launcher_id, GENESIS, uint64(DELAY_TIME), delay_ph)
        full = pool_puzzles.create_full_puzzle(inner, launcher_id)
        waiting = pool_puzzles.create_waiting_room_inner_puzzle(
            ps.target_puzzle_hash, ps.relative_lock_height, ps.owner_pubkey, launcher_id, GENESIS,
            uint64(DELAY_TIME), delay_ph,
        )
        return {
            "pool_state": pool_state_json(ps),
            "inner_puzzle_kind": "pool_member" if pool_puzzles.is_pool_member_inner_puzzle(inner) else "waiting_room",
            "inner_puzzle_hash": inner.get_tree_hash().hex(),
            "waiting_room_inner_puzzle_hash": waiting.get_tree_hash().hex(),
            "full_puzzle_hash": full.get_tree_hash().hex(),
        }

    # Launcher spend laid out as pool_wallet.py generate_launcher_spend does it.
    inner = pool_puzzles.pool_state_to_inner_puzzle(farming, launcher_id, GENESIS, uint64(DELAY_TIME), delay_ph)
    full_ph = pool_puzzles.create_full_puzzle(inner, launcher_id).get_tree_hash()
    extra_data = Program.to([("p", bytes(farming)), ("t", DELAY_TIME), ("h", delay_ph)])
    launcher_solution = Program.to([full_ph, launcher_coin.amount, extra_data])
    launcher_cs = CoinSpend(launcher_coin, SINGLETON_LAUNCHER.to_serialized(), launcher_solution.to_serialized())
    seconds, dph = pool_puzzles.get_delayed_puz_info_from_launcher_spend(launcher_cs)
    assert (seconds, dph) == (DELAY_TIME, delay_ph)

    # Later lineage: an absorb of a reward, leaving the pool, then self-pooling.
    height = uint32(5_000_000)
    absorb = pool_puzzles.create_absorb_spend(
        launcher_cs, farming, launcher_coin, height, GENESIS, uint64(DELAY_TIME), delay_ph
    )
    leave, _ = pool_puzzles.create_travel_spend(
        absorb[0], launcher_coin, farming, leaving, GENESIS, uint64(DELAY_TIME), delay_ph
    )
    go_self, _ = pool_puzzles.create_travel_spend(
        leave, launcher_coin, leaving, self_pooling, GENESIS, uint64(DELAY_TIME), delay_ph
    )
    absorb_waiting = pool_puzzles.create_absorb_spend(
        leave, leaving, launcher_coin, uint32(height + 10), GENESIS, uint64(DELAY_TIME), delay_ph
    )
    lineage = []
    for name, cs in [
        ("launcher", launcher_cs),
        ("absorb_pool_member", absorb[0]),
        ("absorb_p2_singleton", absorb[1]),
        ("travel_member_to_waiting_room", leave),
        ("absorb_waiting_room", absorb_waiting[0]),
        ("travel_waiting_room_to_self_pooling", go_self),
    ]:
        is_singleton = name != "absorb_p2_singleton"
        child = pool_puzzles.get_most_recent_singleton_coin_from_coin_spend(cs) if is_singleton else None
        lineage.append({
            "name": name,
            "coin_spend": coin_spend_json(cs),
            "solution_to_pool_state": pool_state_json(pool_puzzles.solution_to_pool_state(cs)) if is_singleton else None,
            "singleton_child": None if child is None else {
                "coin_id": child.name().hex(), "puzzle_hash": child.puzzle_hash.hex(), "amount": child.amount,
            },
        })

    puzzles = {
        "meta": {
            "produced_with": "chia-blockchain 2.7.5 (PyPI), chia_rs 0.48.0, chia-puzzles-py 0.20.3",
            "script": "tests/interop/make_vectors_v1.py",
            "note": "v1 PlotNFTs use singleton_top_layer v1.0 (SINGLETON_TOP_LAYER), not v1.1. The lineage is one "
            "chain: launcher, absorb (with its p2_singleton spend), travel to the waiting room; the last two "
            "entries are alternative spends of the waiting-room coin (an absorb, or the travel to self-pooling).",
        },
        "constants": {
            "singleton_mod_hash_v1_0": SINGLETON_MOD_HASH.hex(),
            "singleton_mod_hash_v1_1": SINGLETON_V1_1_MOD_HASH.hex(),
            "singleton_launcher_hash": SINGLETON_LAUNCHER_HASH.hex(),
            "pool_member_mod_hash": pool_puzzles.POOL_MEMBER_HASH.hex(),
            "pool_waiting_room_mod_hash": pool_puzzles.POOL_WAITING_ROOM_HASH.hex(),
            "p2_singleton_or_delayed_mod_hash": pool_puzzles.P2_SINGLETON_HASH.hex(),
        },
        "inputs": {
            "genesis_challenge": GENESIS.hex(),
            "launcher_parent": origin.name().hex(),
            "launcher_amount": 1,
            "launcher_id": launcher_id.hex(),
            "owner_pk": bytes(owner_pk).hex(),
            "pool_target_puzzle_hash": pool_target.hex(),
            "relative_lock_height": RELATIVE_LOCK_HEIGHT,
            "delay_time": DELAY_TIME,
            "delay_puzzle_hash": delay_ph.hex(),
            "pool_reward_prefix": (GENESIS[:16] + b"\x00" * 16).hex(),
        },
        "p2_singleton_puzzle_hash": p2_ph.hex(),
        "p2_singleton_cases": [
            {
                "launcher_id": lid.hex(), "delay_time": t, "delay_puzzle_hash": ph.hex(),
                "p2_singleton_puzzle_hash": pool_puzzles.launcher_id_to_p2_puzzle_hash(lid, uint64(t), ph).hex(),
            }
            for lid, t, ph in [
                (launcher_id, 0, delay_ph), (launcher_id, 127, delay_ph), (launcher_id, 128, delay_ph),
                (std_hash(b"other launcher"), 604800, self_pool_ph), (launcher_id, 2**63, delay_ph),
            ]
        ],
        "states": {
            "farming_to_pool": puzzles_for(farming),
            "leaving_pool": puzzles_for(leaving),
            "self_pooling": puzzles_for(self_pooling),
            "self_pooling_no_url": puzzles_for(no_url),
        },
        "launcher": {
            "solution": bytes(launcher_solution).hex(),
            "extra_data": bytes(extra_data).hex(),
            "singleton_puzzle_hash": full_ph.hex(),
            "delay_time": seconds,
            "delay_puzzle_hash": dph.hex(),
        },
        "lineage": lineage,
        "absorb": {"height": height, "reward_amount": absorb[1].coin.amount},
    }

    # Messages: the farmer's own request builders.
    config = PoolingShareState(
        launcher_id=launcher_id,
        pool_url=POOL_URL,
        payout_instructions="xch1" + "q" * 58,
        target_puzzle_hash=pool_target,
        p2_singleton_puzzle_hash=p2_ph,
        owner_public_key=owner_pk,
        key_derivation_index=0,
        version=1,
    )
    result = asyncio.run(farmer_requests(master, config))
    (get_m, get_e, get_farmer), (post_m, post_e, post_farmer), (put_m, put_e, put_farmer) = result["captured"]
    assert (get_m, get_e, post_m, post_e, put_m, put_e) == ("GET", "farmer", "POST", "farmer", "PUT", "farmer")
    token = pool_protocol.get_current_authentication_token(uint8(TIMEOUT))
    get_farmer_auth = pool_protocol.AuthenticationPayloadV1("get_farmer", launcher_id, pool_target, token)
    login_auth = pool_protocol.AuthenticationPayloadV1("get_login", launcher_id, pool_target, token)
    # aiohttp sends GET params through yarl, as here.
    get_query = yarl.URL(f"{POOL_URL}/farmer").with_query(get_farmer.to_json_dict()).raw_query_string
    back_compat = PutFarmerPayloadBackCompat(
        launcher_id=put_farmer.payload.launcher_id,
        authentication_token=put_farmer.payload.authentication_token,
        authentication_public_key=put_farmer.payload.authentication_public_key,
        payout_instructions=put_farmer.payload.payout_instructions,
        suggested_difficulty=put_farmer.payload.suggested_difficulty,
    )

    # A partial signed as farmer_api.py signs it for a pool-contract (v1 PlotNFT) plot.
    local_sk, farmer_sk = sk(2), sk(3)
    plot_pk = generate_plot_public_key(local_sk.get_g1(), farmer_sk.get_g1(), True)
    proof = ProofOfSpace(
        std_hash(b"challenge"), None, p2_ph, plot_pk, uint8(0), uint16(0), uint8(0), uint8(0), uint8(18),
        bytes(range(18 * 8)),
    )
    payload = pool_protocol.PostPartialPayload(
        launcher_id, token, proof, std_hash(b"signage point"), False, std_hash(b"harvester")
    )
    m = payload.get_hash()
    plot_sig = AugSchemeMPL.aggregate([
        AugSchemeMPL.sign(farmer_sk, m, plot_pk),
        AugSchemeMPL.sign(local_sk, m, plot_pk),
        AugSchemeMPL.sign(generate_taproot_sk(local_sk.get_g1(), farmer_sk.get_g1()), m, plot_pk),
    ])
    agg = AugSchemeMPL.aggregate([plot_sig, AugSchemeMPL.sign(auth_sk, m)])
    partial = pool_protocol.PostPartialRequest(payload, agg, str(token))

    pool_info = pool_protocol.GetPoolInfoResponse(
        "Example Pool", "https://pool.example/logo.png", uint64(1), uint32(RELATIVE_LOCK_HEIGHT), uint8(1),
        "0.01", "An example pool", pool_target, uint8(TIMEOUT),
    )
    pool_info_reference_json = {k: v for k, v in pool_info.to_json_dict().items() if k != "pool_memoization"}
    assert pool_protocol.GetPoolInfoResponse.from_json_dict(pool_info_reference_json) == pool_info

    def verdict(pk: G1Element, message: bytes, sig) -> bool:
        return AugSchemeMPL.verify(pk, message, sig)

    tokens = []
    for t, timeout in [(NOW, 5), (NOW, 1), (NOW, 255), (0.0, 5), (59.9, 1), (60.0, 1), (1_765_000_123.4, 7)]:
        pool_protocol.time.time = lambda t=t: t
        tokens.append({"time": t, "timeout": timeout,
                       "token": pool_protocol.get_current_authentication_token(uint8(timeout))})
    validity = []
    for t, timeout, tok in [(NOW, 5, token), (NOW, 5, token + 5), (NOW, 5, token - 5), (NOW, 5, token + 6),
                            (NOW, 5, token - 6), (NOW, 5, 0), (NOW, 1, token * 5 + 1)]:
        pool_protocol.time.time = lambda t=t: t
        validity.append({"time": t, "timeout": timeout, "token": tok,
                         "valid": pool_protocol.validate_authentication_token(uint64(tok), uint8(timeout))})
    pool_protocol.time.time = lambda: NOW

    messages = {
        "meta": {
            "produced_with": "chia-blockchain 2.7.5 (PyPI), chia_rs 0.48.0",
            "script": "tests/interop/make_vectors_v1.py",
            "now": NOW,
            "authentication_token_timeout": TIMEOUT,
            "note": "Requests are the objects 2.7.5's Farmer._pool_get_farmer/_pool_post_farmer/_pool_put_farmer "
            "hand to make_pool_protocol_request for a version-1 PoolingShareState. The partial's proof bytes are "
            "not a real proof (signatures only).",
        },
        "keys": {
            "master_sk": bytes(master).hex(),
            "owner_sk": bytes(owner_sk).hex(),
            "owner_pk": bytes(owner_pk).hex(),
            "authentication_sk": bytes(auth_sk).hex(),
            "authentication_pk": bytes(auth_pk).hex(),
            "launcher_id": launcher_id.hex(),
            "pool_target_puzzle_hash": pool_target.hex(),
            "p2_singleton_puzzle_hash": p2_ph.hex(),
        },
        "authentication_tokens": tokens,
        "authentication_token_validity": validity,
        "current_token": token,
        "messages": {
            "AuthenticationPayloadV1_get_farmer": msg(get_farmer_auth),
            "AuthenticationPayloadV1_get_login": msg(login_auth),
            "GetFarmerRequestV1": {**msg(get_farmer), "query_string": get_query},
            "PostFarmerPayload_v1": msg(post_farmer.payload),
            "PostFarmerRequest_v1": msg(post_farmer),
            "PutFarmerPayload_v1": msg(put_farmer.payload),
            "PutFarmerRequest_v1": msg(put_farmer),
            "PutFarmerPayloadBackCompat": msg(back_compat),
            "PostPartialPayload_v1": msg(payload),
            "PostPartialRequest_v1": msg(partial),
            "GetPoolInfoResponse_v1": {**msg(pool_info), "json_pool_reference": pool_info_reference_json},
        },
        "signatures": {
            "get_farmer": {
                "message": std_hash(get_farmer_auth).hex(),
                "signature": bytes(get_farmer.signature).hex(),
                "verify_with_authentication_pk": verdict(auth_pk, std_hash(get_farmer_auth), get_farmer.signature),
                "verify_with_owner_pk": verdict(owner_pk, std_hash(get_farmer_auth), get_farmer.signature),
            },
            "post_farmer": {
                "message": post_farmer.payload.get_hash().hex(),
                "signature": bytes(post_farmer.signature).hex(),
                "verify_with_owner_pk": verdict(owner_pk, post_farmer.payload.get_hash(), post_farmer.signature),
                "verify_with_authentication_pk": verdict(auth_pk, post_farmer.payload.get_hash(), post_farmer.signature),
            },
            "put_farmer": {
                "message": back_compat.get_hash().hex(),
                "signature": bytes(put_farmer.signature).hex(),
                "verify_with_owner_pk": verdict(owner_pk, back_compat.get_hash(), put_farmer.signature),
                "verify_over_full_payload_hash": verdict(owner_pk, put_farmer.payload.get_hash(), put_farmer.signature),
            },
            "login": {
                "link": result["login_link"],
                "message": std_hash(login_auth).hex(),
                "verify_with_authentication_pk": True,
            },
            "post_partial": {
                "message": m.hex(),
                "plot_public_key": bytes(plot_pk).hex(),
                "aggregate_signature": bytes(agg).hex(),
                "aggregate_verify_plot_and_authentication_pk": AugSchemeMPL.aggregate_verify(
                    [plot_pk, auth_pk], [m, m], agg),
                "aggregate_verify_plot_and_owner_pk": AugSchemeMPL.aggregate_verify([plot_pk, owner_pk], [m, m], agg),
            },
        },
    }
    sig_hex = result["login_link"].split("signature=")[1]
    login_sig = bytes.fromhex(sig_hex)
    from chia_rs import G2Element

    messages["signatures"]["login"]["verify_with_authentication_pk"] = verdict(
        auth_pk, std_hash(login_auth), G2Element.from_bytes(login_sig))
    messages["signatures"]["login"]["signature"] = sig_hex

    out.mkdir(parents=True, exist_ok=True)
    (out / "messages_v1.json").write_text(json.dumps(messages, indent=1, sort_keys=True) + "\n")
    (out / "puzzles_v1.json").write_text(json.dumps(puzzles, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
