"""The chia-blockchain 2.7.5 farmer's own pool client code, pointed at a chia-pool server.

Runs Farmer._pool_get_pool_info, _pool_get_auth, _pool_get_farmer, _pool_post_farmer and _pool_put_farmer of
the released farmer, for a v2 PlotNFT or (spec "version": 1) a v1 one, (not copies of them) on a stub farmer object, then posts the given partials the way
farmer_api.py does and parses every answer with 2.7.5's own Streamable types.

Usage: python farmer_2_7_5.py <input.json>; prints one JSON object with what the farmer saw.
"""

import asyncio
import json
import logging
import sys

import aiohttp
from chia_rs import AugSchemeMPL, G1Element, PrivateKey
from chia_rs.sized_bytes import bytes32

from chia import __version__
from chia.farmer.farmer import Farmer
from chia.pools.pool_config import PoolingShareState
from chia.protocols import pool_protocol


def stub_farmer(auth_sk: PrivateKey) -> Farmer:
    farmer = Farmer.__new__(Farmer)
    farmer.log = logging.getLogger("farmer")
    farmer.authentication_tokens = {}
    farmer.pool_state = {}
    farmer.get_authentication_sk = lambda _pool_config: auth_sk
    return farmer


async def main(spec: dict) -> dict:
    auth_sk = PrivateKey.from_bytes(bytes.fromhex(spec["auth_sk"]))
    # Version 1: the PlotNFT's owner key is found among the farmer's root keys, as 2.7.5 finds it.
    version = spec.get("version", 2)
    owner_public_key = auth_sk.get_g1()
    if version == 1:
        owner_public_key = G1Element.from_bytes(bytes.fromhex(spec["owner_pk"]))
    pool_config = PoolingShareState(
        launcher_id=bytes32.from_hexstr(spec["launcher_id"]),
        pool_url=spec["pool_url"],
        payout_instructions=spec["payout_instructions"],
        target_puzzle_hash=bytes32.from_hexstr(spec["target_puzzle_hash"]),
        p2_singleton_puzzle_hash=bytes32.from_hexstr(spec["reward_puzzle_hash"]),
        owner_public_key=owner_public_key,
        key_derivation_index=0,
        version=version,
    )
    farmer = stub_farmer(auth_sk)
    if version == 1:
        farmer.all_root_sks = [PrivateKey.from_bytes(bytes.fromhex(spec["master_sk"]))]
    seen: dict = {}

    def name(answer) -> str:
        if answer is None:
            return "none"
        if isinstance(answer, pool_protocol.ErrorResponse):
            return f"error {answer.error_code}"
        return type(answer).__name__

    info = await farmer._pool_get_pool_info(pool_config)
    seen["pool_info"] = name(info.pool_info if info else None)
    timeout = info.pool_info.authentication_token_timeout if info else 5
    seen["get_farmer_before"] = name(await farmer._pool_get_farmer(pool_config, timeout))
    seen["post_farmer"] = name(await farmer._pool_post_farmer(pool_config, timeout))
    got = await farmer._pool_get_farmer(pool_config, timeout)
    seen["get_farmer"] = name(got)
    if isinstance(got, pool_protocol.GetFarmerResponse):
        seen["payout_instructions"] = got.payout_instructions
        seen["current_difficulty"] = int(got.current_difficulty)
    pool_config = PoolingShareState(**{**pool_config.__dict__, "payout_instructions": spec["new_payout_instructions"]})
    seen["put_farmer"] = name(await farmer._pool_put_farmer(pool_config, timeout))
    got = await farmer._pool_get_farmer(pool_config, timeout)
    seen["payout_after_put"] = got.payout_instructions if isinstance(got, pool_protocol.GetFarmerResponse) else None

    partial_answers = []
    for partial in spec["partials"]:
        request = pool_protocol.PostPartialRequest.from_json_dict(partial)
        if version == 2:
            token = farmer.authentication_tokens[pool_config.launcher_id][0]
            request = pool_protocol.PostPartialRequest(request.payload, request.aggregate_signature, token)
        async with aiohttp.ClientSession() as session:
            async with session.post(
                farmer._url_for_endpoint(pool_config, "partial"),
                json=request.to_json_dict(),
                headers={
                    "User-Agent": f"Chia Blockchain v.{__version__}",
                    "chia-farmer-version": __version__,
                    "chia-harvester-version": __version__,
                },
            ) as resp:
                body = json.loads(await resp.text())
                if "error_code" in body:
                    partial_answers.append(f"error {body['error_code']}")
                else:
                    answer = pool_protocol.PostPartialResponse.from_json_dict(body)
                    partial_answers.append(f"new_difficulty {answer.new_difficulty}")
    seen["partials"] = partial_answers
    return seen


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    print(json.dumps(asyncio.run(main(spec))))
