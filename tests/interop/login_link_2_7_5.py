"""Login links made by chia-blockchain 2.7.5's own Farmer.generate_login_link (what `chia plotnft
get_login_link` prints), for a stub farmer holding one PlotNFT.

Usage: python login_link_2_7_5.py <auth_sk hex> <launcher hex> <pool_url> <target hex> <p2 hex> <timeout>
       <clock offset seconds>; prints the link. The clock offset shifts time.time() as chia's code sees it
(a link made with a wrong clock, or long ago).
"""

import asyncio
import logging
import sys
import time

from chia_rs import PrivateKey
from chia_rs.sized_bytes import bytes32

from chia.farmer.farmer import Farmer
from chia.pools.pool_config import PoolingShareState
from chia.protocols import pool_protocol


async def main(args: list[str]) -> str:
    auth_sk = PrivateKey.from_bytes(bytes.fromhex(args[0]))
    launcher = bytes32.from_hexstr(args[1])
    p2 = bytes32.from_hexstr(args[4])
    offset = float(args[6])
    real_time = time.time
    pool_protocol.time.time = lambda: real_time() + offset
    farmer = Farmer.__new__(Farmer)
    farmer.log = logging.getLogger("farmer")
    farmer.get_authentication_sk = lambda _pool_config: auth_sk
    pool_config = PoolingShareState(
        launcher_id=launcher,
        pool_url=args[2],
        payout_instructions="",
        target_puzzle_hash=bytes32.from_hexstr(args[3]),
        p2_singleton_puzzle_hash=p2,
        owner_public_key=auth_sk.get_g1(),
        key_derivation_index=0,
        version=2,
    )
    farmer.pool_state = {p2: {"pool_config": pool_config, "authentication_token_timeout": int(args[5])}}
    return await farmer.generate_login_link(launcher)


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1:])))
