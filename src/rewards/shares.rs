//! Payout planning: pure integer arithmetic from rewards and points to what each farmer is owed.
//!
//! The pool fee is taken in basis points; the rest is shared by points with the largest-remainder method, so
//! shares add up to the distributable amount exactly (no float, no lost or invented mojo). A farmer's share
//! joins its carried balance; balances at or above the minimum are paid, the others carried to the next
//! payout.

use std::collections::HashMap;

/// One farmer's standing before a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub launcher_id: [u8; 32],
    pub payout_puzzle_hash: [u8; 32],
    /// Confirmed points not yet paid.
    pub points: u64,
    /// Mojo owed from earlier payouts that stayed under the minimum.
    pub carried: u64,
}

/// One farmer's outcome of a payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub launcher_id: [u8; 32],
    pub payout_puzzle_hash: [u8; 32],
    /// The points this payout consumed (all of the farmer's points when there was something to share).
    pub points: u64,
    /// This payout's share of the distributable rewards.
    pub share: u64,
    /// Paid now (carried + share when it reaches the minimum, else 0).
    pub paid: u64,
    /// Owed after this payout.
    pub carried: u64,
}

/// A whole payout: `rewards = fee + Σ share`, and `Σ paid + Σ carried = Σ previous carried + Σ share`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutPlan {
    pub rewards: u64,
    pub fee: u64,
    pub shares: Vec<Share>,
}

impl PayoutPlan {
    /// The payments, one output per puzzle hash (members sharing an address are summed into one output: two
    /// equal outputs of one transaction would be the same coin), the fee as one more payee when it is sent to
    /// `fee_to`; at most `per_batch` outputs to a transaction, in a stable order (first appearance).
    pub fn outputs(&self, fee_to: Option<[u8; 32]>) -> Vec<([u8; 32], u64)> {
        let fee = fee_to.filter(|_| self.fee > 0).map(|ph| (ph, self.fee));
        let mut outputs: Vec<([u8; 32], u64)> = Vec::new();
        let mut index: HashMap<[u8; 32], usize> = HashMap::new();
        let payments = self
            .shares
            .iter()
            .filter(|s| s.paid > 0)
            .map(|s| (s.payout_puzzle_hash, s.paid));
        for (ph, amount) in payments.chain(fee) {
            match index.get(&ph) {
                Some(&i) => outputs[i].1 = outputs[i].1.saturating_add(amount),
                None => {
                    index.insert(ph, outputs.len());
                    outputs.push((ph, amount));
                }
            }
        }
        outputs
    }

    /// `outputs` split into transactions of at most `per_batch` outputs.
    pub fn batches(&self, per_batch: usize, fee_to: Option<[u8; 32]>) -> Vec<Vec<([u8; 32], u64)>> {
        self.outputs(fee_to)
            .chunks(per_batch.max(1))
            .map(<[_]>::to_vec)
            .collect()
    }

    pub fn total_paid(&self) -> u64 {
        self.shares.iter().map(|s| s.paid).sum()
    }
}

/// Plans a payout of `rewards` mojo among `farmers`. With no points at all nothing is shared: the rewards wait
/// for the next payout (the returned plan then has no fee and zero shares).
pub fn plan(
    rewards: u64,
    fee_basis_points: u16,
    minimum_payout: u64,
    farmers: &[Entitlement],
) -> PayoutPlan {
    let total_points: u128 = farmers.iter().map(|f| u128::from(f.points)).sum();
    if total_points == 0 || rewards == 0 {
        return PayoutPlan {
            rewards: 0,
            fee: 0,
            shares: farmers
                .iter()
                .map(|f| unchanged(f, minimum_payout))
                .collect(),
        };
    }
    let bp = u128::from(fee_basis_points.min(10_000));
    // fee <= rewards, so both fit u64.
    let fee = (u128::from(rewards) * bp / 10_000) as u64;
    let distributable = u128::from(rewards - fee);

    let mut floors: Vec<u128> = Vec::with_capacity(farmers.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(farmers.len());
    for (i, f) in farmers.iter().enumerate() {
        let product = distributable * u128::from(f.points);
        floors.push(product / total_points);
        remainders.push((product % total_points, i));
    }
    let handed_out: u128 = floors.iter().sum();
    // Fewer than farmers.len() mojo are left; they go one each to the largest remainders (ties: list order).
    let mut left = (distributable - handed_out) as usize;
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in &remainders {
        if left == 0 {
            break;
        }
        floors[i] += 1;
        left -= 1;
    }

    let shares = farmers
        .iter()
        .zip(floors)
        .map(|(f, share)| {
            // share <= distributable <= u64::MAX.
            let share = share as u64;
            let owed = f.carried.saturating_add(share);
            let paid = if owed >= minimum_payout && owed > 0 {
                owed
            } else {
                0
            };
            Share {
                launcher_id: f.launcher_id,
                payout_puzzle_hash: f.payout_puzzle_hash,
                points: f.points,
                share,
                paid,
                carried: owed - paid,
            }
        })
        .collect();
    PayoutPlan {
        rewards,
        fee,
        shares,
    }
}

/// A farmer's standing when nothing is shared: carried balances that reached the minimum are still paid.
fn unchanged(f: &Entitlement, minimum_payout: u64) -> Share {
    let paid = if f.carried >= minimum_payout && f.carried > 0 {
        f.carried
    } else {
        0
    };
    Share {
        launcher_id: f.launcher_id,
        payout_puzzle_hash: f.payout_puzzle_hash,
        points: 0,
        share: 0,
        paid,
        carried: f.carried - paid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn farmer(i: u8, points: u64, carried: u64) -> Entitlement {
        Entitlement {
            launcher_id: [i; 32],
            payout_puzzle_hash: [i.wrapping_add(100); 32],
            points,
            carried,
        }
    }

    #[test]
    fn fee_and_largest_remainders() {
        // 1000 mojo, 1 % fee: 10 fee, 990 shared 1:1:1 = 330 each.
        let p = plan(
            1000,
            100,
            0,
            &[farmer(1, 5, 0), farmer(2, 5, 0), farmer(3, 5, 0)],
        );
        assert_eq!(p.fee, 10);
        assert_eq!(
            p.shares.iter().map(|s| s.share).collect::<Vec<_>>(),
            vec![330, 330, 330]
        );
        // 100 shared 1:1:1: 33 each and the one left mojo to the first of the equal remainders.
        let p = plan(
            100,
            0,
            0,
            &[farmer(1, 1, 0), farmer(2, 1, 0), farmer(3, 1, 0)],
        );
        assert_eq!(
            p.shares.iter().map(|s| s.share).collect::<Vec<_>>(),
            vec![34, 33, 33]
        );
        // 10 shared 2:1 → 6.67 / 3.33: the larger remainder gets the extra mojo.
        let p = plan(10, 0, 0, &[farmer(1, 2, 0), farmer(2, 1, 0)]);
        assert_eq!(
            p.shares.iter().map(|s| s.share).collect::<Vec<_>>(),
            vec![7, 3]
        );
    }

    #[test]
    fn minimum_carries_small_balances() {
        let p = plan(1000, 0, 500, &[farmer(1, 7, 0), farmer(2, 3, 150)]);
        assert_eq!((p.shares[0].paid, p.shares[0].carried), (700, 0));
        assert_eq!(
            (p.shares[1].paid, p.shares[1].carried),
            (0, 450),
            "300 + 150 carried stays under 500"
        );
        let p2 = plan(0, 0, 400, &[farmer(2, 0, 450)]);
        assert_eq!(
            (p2.shares[0].paid, p2.shares[0].carried),
            (450, 0),
            "a carried balance over the minimum is paid"
        );
    }

    #[test]
    fn no_points_shares_nothing() {
        let p = plan(1000, 100, 0, &[farmer(1, 0, 0)]);
        assert_eq!((p.rewards, p.fee, p.total_paid()), (0, 0, 0));
        let p = plan(1000, 100, 0, &[]);
        assert_eq!(p.rewards, 0);
    }

    #[test]
    fn batches_respect_the_size() {
        let farmers: Vec<_> = (0..10).map(|i| farmer(i, 1, 0)).collect();
        let p = plan(1_000_000, 0, 1, &farmers);
        let batches = p.batches(4, None);
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
        assert_eq!(
            batches.iter().flatten().map(|(_, a)| a).sum::<u64>(),
            1_000_000
        );
    }

    #[test]
    fn one_output_per_puzzle_hash() {
        // Farmers 1 and 2 share an address, and the fee goes to that same address too.
        let mut farmers: Vec<_> = (1..=3).map(|i| farmer(i, 1, 0)).collect();
        farmers[1].payout_puzzle_hash = farmers[0].payout_puzzle_hash;
        let p = plan(3000, 1000, 1, &farmers);
        assert_eq!(p.fee, 300);
        let shared = farmers[0].payout_puzzle_hash;
        let outputs = p.outputs(Some(shared));
        assert_eq!(outputs.len(), 2, "{outputs:?}");
        assert_eq!(outputs[0], (shared, 900 + 900 + 300));
        assert_eq!(outputs[1], (farmers[2].payout_puzzle_hash, 900));
        assert_eq!(p.outputs(None).len(), 2);
        assert_eq!(p.outputs(None)[0], (shared, 1800));
        // Batches never split one puzzle hash: outputs are made first, then chunked.
        assert_eq!(p.batches(1, Some([0xfe; 32])).len(), 3);
    }

    proptest! {
        #[test]
        fn every_mojo_is_accounted_for(
            rewards in any::<u64>(),
            fee in 0u16..=10_000,
            minimum in any::<u64>(),
            farmers in prop::collection::vec((any::<u64>(), 0u64..u64::MAX / 1024), 0..40),
        ) {
            let farmers: Vec<Entitlement> = farmers
                .iter()
                .enumerate()
                .map(|(i, &(points, carried))| farmer(i as u8, points, carried))
                .collect();
            let p = plan(rewards, fee, minimum, &farmers);
            let shared: u128 = p.shares.iter().map(|s| u128::from(s.share)).sum();
            if p.rewards > 0 {
                prop_assert_eq!(u128::from(p.fee) + shared, u128::from(rewards));
                prop_assert!(u128::from(p.fee) <= u128::from(rewards) * u128::from(fee) / 10_000);
            } else {
                prop_assert_eq!(shared, 0);
            }
            for (s, f) in p.shares.iter().zip(&farmers) {
                prop_assert_eq!(u128::from(s.paid) + u128::from(s.carried), u128::from(f.carried) + u128::from(s.share));
                prop_assert!(s.paid == 0 || s.paid >= minimum);
            }
            // Shares follow points: more points never means a smaller share (beyond the one remainder mojo).
            let mut by_points: Vec<_> = p.shares.iter().map(|s| (s.points, s.share)).collect();
            by_points.sort();
            for w in by_points.windows(2) {
                prop_assert!(w[1].1 + 1 >= w[0].1);
            }
        }
    }
}
