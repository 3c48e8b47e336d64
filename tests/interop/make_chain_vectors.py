"""A real chain for judging signage points at confirmation, made with chia-blockchain 2.7.5's own BlockTools.

Writes chain_2_7_5.json: the block records of a main chain exactly as the node's get_block_records answers them
(BlockRecord.to_json_dict), with empty sub-slots in it, and what a pool must conclude about signage points and
ends of sub-slots farmers may have answered:
- every signage point of the main chain (each sub-slot, each index up to the peak), with the reward chain
  challenge the chain had there: on chain;
- the signage points the main chain's blocks were made from, read from the blocks themselves: on chain;
- stale copies: a position with the reward chain challenge of the event before the last one in its sub-slot
  (a block was infused between): reverted;
- the signage points of a fork's blocks that the main chain does not hold: reverted, or not on chain at all
  when their challenge is one only the fork made;
- the ends of sub-slots of the main chain (on chain) and of the fork alone (not on chain).

The truth is worked out here from a timeline of the main chain's reward chain events (block infusions and
ends of sub-slots, placed by chia's own BlockRecord iteration methods), not by the pool's rule; the generator
checks that timeline against the challenges the blocks themselves carry.

Usage: python make_chain_vectors.py <out dir>
Run with the interpreter of a venv holding `pip install chia-blockchain==2.7.5`. It makes test plots (k=18)
under $HOME/.chia: point HOME at a scratch directory.
"""

import asyncio
import json
import re
import sys
from pathlib import Path

from chia.consensus.pot_iterations import calculate_sp_interval_iters, calculate_sp_iters
from chia.simulator.block_tools import create_block_tools_async, load_block_list, test_constants
from chia.simulator.keyring import TempKeyring

C = test_constants


def records_of(chain):
    # load_block_list is memoised, so it takes a tuple.
    height_to_hash, _, records = load_block_list(tuple(chain), C)
    return [records[height_to_hash[h]] for h in sorted(height_to_hash)]


def timeline(chain, records):
    """The main chain's reward chain events, (total iterations, hash), in order; and its sub-slot length."""
    ssi = records[0].sub_slot_iters
    assert all(r.sub_slot_iters == ssi for r in records), "one sub-slot length (no epoch change)"
    events = [(0, bytes(C.GENESIS_CHALLENGE))]
    for block, record in zip(chain, records):
        ends = record.finished_reward_slot_hashes or []
        assert [bytes(s.reward_chain.get_hash()) for s in block.finished_sub_slots] == [bytes(e) for e in ends]
        last_end = record.ip_sub_slot_total_iters(C)
        for i, end in enumerate(reversed(ends)):
            events.append((last_end - i * ssi, bytes(end)))
        events.append((record.total_iters, bytes(record.reward_infusion_new_challenge)))
    events.sort(key=lambda e: e[0])
    return events, ssi


def before(events, position):
    """The last event strictly before `position`, and the one before it."""
    last = prev = None
    for t, h in events:
        if t >= position:
            break
        prev, last = last, (t, h)
    return last, prev


async def main(out: Path) -> None:
    with TempKeyring(populate=True) as keychain:
        async with create_block_tools_async(constants=C, keychain=keychain, num_v2_plots=0) as bt:
            main_chain = bt.get_consecutive_blocks(40)
            main_chain = bt.get_consecutive_blocks(1, block_list_input=main_chain, skip_slots=2)
            main_chain = bt.get_consecutive_blocks(30, block_list_input=main_chain)
            main_chain = bt.get_consecutive_blocks(1, block_list_input=main_chain, skip_slots=1)
            main_chain = bt.get_consecutive_blocks(40, block_list_input=main_chain)
            # Two forks from height 50: one whose blocks differ from the main chain's only outside the reward
            # chain (a reorg that reverts no signage point), one that waits out a sub-slot (reverts them).
            fork_at = 50
            same_proofs = bt.get_consecutive_blocks(15, block_list_input=main_chain[:fork_at], seed=b"other")
            other_slot = bt.get_consecutive_blocks(
                1, block_list_input=main_chain[:fork_at], skip_slots=1, seed=b"other"
            )
            other_slot = bt.get_consecutive_blocks(20, block_list_input=other_slot, seed=b"other")
            forks = {"fork (same proofs)": same_proofs, "fork (a sub-slot later)": other_slot}

    records = records_of(main_chain)
    events, ssi = timeline(main_chain, records)
    peak = records[-1]
    interval = calculate_sp_interval_iters(C, ssi)
    main_hashes = {h for _, h in events}
    targets = []

    def sp(rc, index, expect, source):
        targets.append(
            {
                "kind": "signage_point",
                "rc_challenge": "0x" + rc.hex(),
                "cc_iterations": int(calculate_sp_iters(C, ssi, index)),
                "expect": expect,
                "source": source,
            }
        )

    # Every signage point of the main chain up to its peak, and a stale copy where a block came between.
    slot_start = 0
    while slot_start < peak.total_iters:
        for index in range(1, C.NUM_SPS_SUB_SLOT):
            position = slot_start + index * interval
            if position >= peak.total_iters or any(t == position for t, _ in events):
                continue
            last, prev = before(events, position)
            sp(last[1], index, "on_chain", "main chain position")
            if prev is not None and prev[0] >= slot_start and prev[1] != last[1]:
                sp(prev[1], index, "reverted", "stale challenge at a main chain position")
        slot_start += ssi

    # The signage points the main chain's blocks were made from.
    for block, record in zip(main_chain, records):
        index = block.reward_chain_block.signage_point_index
        if index == 0:
            continue
        rc = bytes(block.reward_chain_block.reward_chain_sp_vdf.challenge)
        last, _ = before(events, record.sp_total_iters(C))
        assert last[1] == rc, f"block {record.height}: the timeline agrees with the block's own challenge"
        sp(rc, index, "on_chain", f"block {record.height} of the main chain")

    # The forks' blocks, as farmers made them: their signage points judged against the main chain.
    main_ids = {r.header_hash for r in records}
    for name, fork in forks.items():
        for block, record in zip(fork, records_of(fork)):
            index = block.reward_chain_block.signage_point_index
            if record.header_hash in main_ids or index == 0:
                continue
            rc = bytes(block.reward_chain_block.reward_chain_sp_vdf.challenge)
            position = record.sp_total_iters(C)
            if position >= peak.total_iters:
                continue
            last, _ = before(events, position)
            if last[1] == rc:
                expect = "on_chain"
            elif rc in main_hashes:
                expect = "reverted"
            else:
                expect = "not_on_chain"
            sp(rc, index, expect, f"{name} block {record.height}")

    # Ends of sub-slots, by their challenge chain hash (a farmer's sp_hash at index 0).
    main_slots = set()
    for block in main_chain:
        for s in block.finished_sub_slots:
            main_slots.add(bytes(s.challenge_chain.get_hash()))
    for h in sorted(main_slots):
        targets.append({"kind": "end_of_sub_slot", "hash": "0x" + h.hex(), "expect": "on_chain", "source": "main"})
    for name, fork in forks.items():
        for block in fork[fork_at:]:
            for s in block.finished_sub_slots:
                h = bytes(s.challenge_chain.get_hash())
                if h not in main_slots:
                    targets.append({"kind": "end_of_sub_slot", "hash": "0x" + h.hex(), "expect": "not_on_chain", "source": name})

    counts = {}
    for t in targets:
        key = (t["kind"], t["expect"], re.sub(r" \d+", "", t["source"]))
        counts[key] = counts.get(key, 0) + 1
    print("targets:", counts, file=sys.stderr)
    print("sub-slots:", peak.total_iters // ssi + 1, "blocks:", len(records), file=sys.stderr)
    doc = {
        "about": "Block records of a main chain made by chia-blockchain 2.7.5's BlockTools (test constants), as "
        "get_block_records answers them, and the verdict a pool must reach for signage points and ends of "
        "sub-slots: tests/interop/make_chain_vectors.py",
        "num_sps_sub_slot": C.NUM_SPS_SUB_SLOT,
        "genesis_challenge": "0x" + bytes(C.GENESIS_CHALLENGE).hex(),
        "block_records": [r.to_json_dict() for r in records],
        "targets": targets,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "chain_2_7_5.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
