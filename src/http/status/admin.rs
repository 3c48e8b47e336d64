//! The operator view and /metrics, served on `[status] admin_listen` (loopback by default): members with their
//! payout addresses and balances, reward coins and forwards needing attention, payouts pending and past with
//! stuck transactions, a ledger check, recent errors, background jobs and the configuration without secrets.

use maud::html;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::chia::address::encode_puzzle_hash;
use crate::pool::{unix_now, Pool};
use crate::stats::snapshot::{batch_state_name, forward_state_name};
use crate::stats::BatchState;
use crate::stats::ForwardState;

use super::{format, html as html_response, pages, respond, Cache};

/// A payout batch not confirmed this long after its payout was planned is shown as stuck.
const STUCK_SECS: u64 = 3 * 3600;

pub fn routes(pool: Pool) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_pool = warp::any().map(move || pool.clone());
    let page = warp::path::end()
        .and(warp::get())
        .and(with_pool)
        .map(|pool: Pool| operator(&pool));
    let metrics = warp::path!("metrics").and(warp::get()).map(|| {
        respond(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            crate::metrics::global().render(),
            Cache::Private,
        )
    });
    page.or(metrics).unify()
}

fn operator(pool: &Pool) -> Response {
    let snap = pool.stats().snapshot();
    let now = unix_now();
    let prefix = &pool.settings().address_prefix;
    let c = pool.config();
    let attention: Vec<_> = snap
        .blocks
        .iter()
        .filter(|b| {
            b.reward.failed_attempts > 0
                || !matches!(b.reward.state, ForwardState::Forwarded { .. })
        })
        .collect();
    // Ledger: every payout shares exactly its rewards, and every forwarded reward is either shared or waiting.
    let shared: u64 = snap.payouts.iter().map(|p| p.rewards).sum();
    let ledger_payouts_ok = snap
        .payouts
        .iter()
        .all(|p| p.fee + p.lines.iter().map(|l| l.share).sum::<u64>() == p.rewards);
    let ledger_total_ok = snap.rewards.forwarded_mojos == shared + snap.rewards.unpaid_mojos;
    let body = html! {
        section {
            h2 { "Members (" (snap.farmers.len()) ")" }
            table #members {
                tr { th { "Launcher" } th { "PlotNFT" } th { "State" } th.num { "Difficulty" } th.num { "Unpaid points" } th.num { "Pending" } th.num { "Carried" } th { "Payout address" } }
                @for f in &snap.farmers {
                    tr {
                        td.mono { (hex::encode(f.record.launcher_id)) }
                        td { "v" (f.plotnft_version) }
                        td { (format::membership(f.record.membership)) }
                        td.num { (f.record.difficulty) }
                        td.num { (f.record.points) }
                        td.num { (f.pending_points) }
                        td.num { (format::xch(f.record.carried)) }
                        td.mono { (encode_puzzle_hash(&f.record.payout_puzzle_hash.into(), prefix)) }
                    }
                }
            }
        }
        section {
            h2 { "Reward coins needing attention (" (attention.len()) ")" }
            table #attention {
                tr { th { "Coin" } th { "Height" } th.num { "Amount" } th { "State" } th.num { "Refused attempts" } }
                @for b in &attention {
                    tr {
                        td.mono { (hex::encode(b.reward.coin_id)) }
                        td { (b.reward.confirmed_height) }
                        td.num { (format::xch(b.reward.amount)) }
                        td { (forward_state_name(&b.reward.state)) }
                        td.num { (b.reward.failed_attempts) }
                    }
                }
            }
        }
        section {
            h2 { "Payouts" }
            p #ledger {
                "Ledger check: "
                @if ledger_payouts_ok && ledger_total_ok { span.ok { "balanced" } }
                @else { span.bad { "MISMATCH" } }
                " — forwarded " (format::xch(snap.rewards.forwarded_mojos)) " = shared " (format::xch(shared))
                " + waiting " (format::xch(snap.rewards.unpaid_mojos)) "; carried balances " (format::xch(snap.rewards.carried_mojos)) "."
            }
            table #payout-batches {
                tr { th { "Payout" } th { "When" } th.num { "Rewards" } th.num { "Fee" } th { "Transactions" } }
                @for p in &snap.payouts {
                    tr {
                        td { "#" (p.id) }
                        td { (format::ago(Some(p.created_at), now)) }
                        td.num { (format::xch(p.rewards)) }
                        td.num { (format::xch(p.fee)) }
                        td {
                            @for b in &p.batches {
                                @let stuck = !matches!(b.state, BatchState::Confirmed { .. }) && now.saturating_sub(p.created_at) > STUCK_SECS;
                                span class=(if stuck { "bad" } else { "" }) {
                                    (batch_state_name(&b.state)) " (" (b.additions.len()) " payees)" @if stuck { " STUCK" } " "
                                }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Recent errors" }
            @let errors = pool.stats().recent_errors();
            @if errors.is_empty() { p { "None." } }
            table #errors {
                @for (at, message) in &errors {
                    tr { td { (format::ago(Some(*at), now)) } td { (message) } }
                }
            }
            table #jobs {
                tr { th { "Job" } th { "Last success" } th { "Last error" } }
                @for (name, j) in pool.stats().jobs() {
                    tr { td { (name) } td { (format::ago(j.last_success, now)) }
                         td { @if let Some((at, e)) = &j.last_error { (format::ago(Some(*at), now)) ": " (e) } } }
                }
            }
        }
        section {
            h2 { "Configuration" }
            table #config {
                tr { td { "Farmer API" } td { (c.server.listen) (if c.server.tls_cert.is_some() { " (HTTPS)" } else { " (HTTP)" }) } }
                tr { td { "Operator view" } td { (c.status.admin_listen) } }
                tr { td { "Node / wallet" } td { (c.chia.node_url) " / " (c.chia.wallet_url) } }
                tr { td { "Database" } td { (c.store.path.display()) } }
                tr { td { "Pool target" } td.mono { (encode_puzzle_hash(&pool.settings().plotnft_pool.pool_puzzle_hash, prefix)) } }
                tr { td { "Fee" } td { (c.pool.fee_basis_points) " basis points" } }
                tr { td { "Difficulty" } td { "min " (c.pool.min_difficulty) ", default " (c.pool.default_difficulty) } }
                tr { td { "Partials" } td { "time limit " (c.partials.time_limit_secs) " s, confirmed after " (c.partials.confirmation_delay_secs) " s" } }
                tr { td { "Payouts" } td { "every " (c.payouts.interval_secs) " s, minimum " (format::xch(c.payouts.minimum_payout_mojos)) ", depth " (c.payouts.confirmation_depth) } }
            }
        }
    };
    html_response(
        StatusCode::OK,
        pages::layout(pool, "Operator view", None, body),
        Cache::Private,
    )
}
