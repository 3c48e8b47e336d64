//! The public pages: the pool overview and a farmer's page (with its private part for a logged-in farmer).
//! Every figure is in the HTML (readable without JavaScript) and marked with `data-k`, its path in the JSON.

use maud::{html, Markup, DOCTYPE};
use warp::http::StatusCode;
use warp::reply::Response;

use crate::chia::address::encode_puzzle_hash;
use crate::pool::Pool;
use crate::stats::snapshot::{forward_state_name, POOL_BUCKET_SECS};

use super::api::{FarmerFigures, PoolFigures};
use super::charts::{histogram, stacked_bars, Bar};
use super::{format, html as html_response, parse_launcher, Cache, CSS_PATH, JS_PATH};

/// The page shell: header with the pool's name and description, then `body`.
pub fn layout(pool: &Pool, title: &str, api: Option<&str>, body: Markup) -> String {
    let c = &pool.config().pool;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (c.name) }
                link rel="stylesheet" href=(CSS_PATH);
                script src=(JS_PATH) defer {}
            }
            body {
                header {
                    h1 { a href="/" { (c.name) } }
                    p #pool-description { (c.description) }
                }
                main data-api=[api] { (body) }
                footer { "chia-pool " (env!("CARGO_PKG_VERSION")) }
            }
        }
    }
    .into_string()
}

fn figure(id: &str, key: &str, label: &str, value: impl maud::Render) -> Markup {
    html! { div { dt { (label) } dd #(id) data-k=(key) { (value) } } }
}

pub fn overview(pool: &Pool) -> Response {
    let f = PoolFigures::compute(pool);
    let s = &f.snap;
    let c = pool.config();
    let peak = pool.chain().peak_status();
    let bars: Vec<Bar> = s
        .pool_buckets
        .iter()
        .enumerate()
        .map(|(i, a)| {
            // Refusals are kept per minute; add up the minutes of this bar.
            let per = (POOL_BUCKET_SECS / 60) as usize;
            let refused: u64 = f
                .refused_series
                .iter()
                .skip(i * per)
                .take(per)
                .map(|r| r.total())
                .sum();
            let back = (s.pool_buckets.len() - 1 - i) as u64 * POOL_BUCKET_SECS;
            Bar {
                accepted: a.partials,
                refused,
                label: format!("{} ago", format::duration(back)),
            }
        })
        .collect();
    let body = html! {
        @if !c.pool.welcome_message.is_empty() {
            section.notice { p #welcome { (c.pool.welcome_message) } }
        }
        section {
            h2 { "Pool" }
            dl.figures {
                (figure("members-active", "members.active_24h", "Members active (24 h)", s.active_members()))
                (figure("members-pooling", "members.pooling", "Members pooling", s.members(crate::stats::Membership::Pooling)))
                div { dt { "Estimated space" } dd #space data-k="estimated_space_bytes" data-unit="bytes" { (format::bytes(f.space_bytes)) } }
                (figure("partials-accepted", "partials_24h.accepted", "Partials accepted (24 h)", s.pool_day.partials))
                (figure("points-24h", "partials_24h.points", "Points (24 h)", s.pool_day.points()))
                (figure("partials-refused", "partials_24h.refused", "Partials refused (since start, 24 h)", f.refused.total()))
                (figure("partials-pending", "partials_24h.pending", "Awaiting confirmation", s.pending_partials))
                (figure("fee", "fee_basis_points", "Fee (basis points)", c.pool.fee_basis_points))
            }
        }
        section {
            h2 { "Partials per 15 minutes, last 24 h" }
            p.legend { span { i.acc {} "accepted" } span { i.rej {} "refused" } }
            (stacked_bars("partials-chart", &bars, "24 h ago", "now"))
            @if f.refused.total() > 0 {
                table #refused-by-code {
                    tr { th { "Refused with" } th.num { "Partials" } }
                    @for (code, n) in f.refused.by_code() {
                        tr { td { (code.name()) } td.num { (n) } }
                    }
                }
            }
        }
        section {
            h2 { "Difficulty of pooling members" }
            (histogram("difficulty-chart", &f.difficulty_rows))
        }
        section {
            h2 { "Blocks" }
            dl.figures {
                (figure("blocks-found", "rewards.found", "Rewards awaiting forwarding", s.rewards.found))
                (figure("round-points", "current_round.points", "Points this round", f.round_points))
                div { dt { "Effort this round" } dd #round-effort { (format::effort(f.round_effort())) } }
            }
            @if s.blocks.is_empty() {
                p { "No block found yet." }
            } @else {
                table #blocks {
                    tr { th { "Height" } th { "Farmer" } th.num { "Reward" } th { "Forwarding" } th.num { "Effort" } }
                    @for b in s.blocks.iter().take(20) {
                        tr {
                            td { (b.reward.confirmed_height) }
                            td.mono { a href=(format!("/farmer/{}", hex::encode(b.reward.launcher_id))) { (hex::encode(&b.reward.launcher_id[..8])) "…" } }
                            td.num { (format::xch(b.reward.amount)) }
                            td { (forward_state_name(&b.reward.state)) }
                            td.num { (format::effort(b.effort)) }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Rewards and payouts" }
            dl.figures {
                div { dt { "Forwarded to the pool" } dd #forwarded { (format::xch(s.rewards.forwarded_mojos)) } }
                div { dt { "Claimed elsewhere (never paid out)" } dd #claimed-elsewhere { (s.rewards.claimed_elsewhere) " rewards, " (format::xch(s.rewards.claimed_elsewhere_mojos)) } }
                div { dt { "Paid to farmers" } dd #paid-out { (format::xch(s.rewards.paid_out_mojos)) } }
                div { dt { "Waiting for the next payout" } dd #unpaid { (format::xch(s.rewards.unpaid_mojos)) } }
                div { dt { "Pool fees" } dd { (format::xch(s.rewards.fees_mojos)) } }
            }
            @if !s.payouts.is_empty() {
                table #payouts {
                    tr { th { "Payout" } th { "When" } th.num { "Shared" } th.num { "Farmers paid" } th { "State" } }
                    @for p in s.payouts.iter().take(10) {
                        tr {
                            td { "#" (p.id) }
                            td { (format::ago(Some(p.created_at), f.now)) }
                            td.num { (format::xch(p.rewards)) }
                            td.num { (p.lines.iter().filter(|l| l.paid > 0).count()) }
                            td { @if p.finished() { "confirmed" } @else { "in progress" } }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Health" }
            dl.figures {
                div { dt { "Node" } dd #node-synced {
                    @match &peak.peak {
                        Some(p) if p.synced => span.ok { "synced" },
                        Some(_) => span.bad { "syncing" },
                        None => span.bad { "no answer" },
                    }
                } }
                div { dt { "Peak height" } dd #peak-height { (peak.peak.as_ref().map_or(0, |p| p.height)) } }
                div { dt { "Version" } dd { (env!("CARGO_PKG_VERSION")) } }
                div { dt { "Up for" } dd #uptime { (format::duration(f.now.saturating_sub(pool.stats().started_at()))) } }
            }
            table #jobs {
                tr { th { "Background job" } th { "Last success" } th { "Last failure" } }
                @for (name, j) in pool.stats().jobs() {
                    tr {
                        td { (name) }
                        td { (format::ago(j.last_success, f.now)) }
                        td { @match &j.last_error { Some((at, _)) => span.warn { (format::ago(Some(*at), f.now)) }, None => "—" } }
                    }
                }
            }
        }
    };
    html_response(
        StatusCode::OK,
        layout(pool, "Status", Some("/api/pool"), body),
        Cache::Public,
    )
}

/// A page that explains a refusal.
pub fn message_page(pool: &Pool, status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        section.error-page { h2 { (title) } p #message { (message) } p { a href="/" { "Back to the pool overview" } } }
    };
    html_response(status, layout(pool, title, None, body), Cache::Private)
}

pub fn farmer(pool: &Pool, id: &str, session: Option<&str>) -> Response {
    let Some(launcher) = parse_launcher(id) else {
        return message_page(
            pool,
            StatusCode::BAD_REQUEST,
            "Not a launcher id",
            "A launcher id is 64 hexadecimal characters (`chia plotnft show` prints it).",
        );
    };
    let snap = pool.stats().snapshot();
    let Some(view) = snap.farmer(&launcher) else {
        return message_page(
            pool,
            StatusCode::NOT_FOUND,
            "Not a member",
            "No member of this pool has this launcher id (new members appear within a refresh).",
        );
    };
    let f = FarmerFigures::compute(pool, view);
    let r = &view.record;
    let now = crate::pool::unix_now();
    let private = session.is_some_and(|s| pool.session_is_for(s, &launcher));
    let bars: Vec<Bar> = view
        .hourly
        .iter()
        .zip(f.refused_hourly.iter())
        .enumerate()
        .map(|(i, (a, rj))| Bar {
            accepted: a.partials,
            refused: rj.total(),
            label: format!("{} h ago", view.hourly.len() - 1 - i),
        })
        .collect();
    let launcher_hex = hex::encode(launcher);
    let body = html! {
        section {
            h2 { "Farmer " span.mono #launcher { (launcher_hex) } }
            dl.figures {
                (figure("membership", "membership", "PlotNFT", format::membership(r.membership)))
                (figure("plotnft-version", "plotnft_version", "PlotNFT version", view.plotnft_version))
                (figure("difficulty", "difficulty", "Difficulty", r.difficulty))
                (figure("points-pending", "points_pending", "Points pending", view.pending_points))
                (figure("points-confirmed", "points_confirmed", "Points confirmed (unpaid)", r.points))
                div { dt { "Estimated space" } dd #space data-k="estimated_space_bytes" data-unit="bytes" { (format::bytes(f.space_bytes)) } }
                (figure("partials-accepted", "partials_24h.accepted", "Partials accepted (24 h)", view.day.partials))
                (figure("partials-refused", "partials_24h.refused", "Partials refused (24 h)", f.refused.total()))
                div { dt { "Last partial" } dd #last-partial { (format::ago(view.last_partial_ms.map(|ms| ms / 1000), now)) } }
            }
            @if let Some(exit) = r.singleton.as_ref().and_then(|s| s.exit_height) {
                p.warn { "Leaving the pool: the PlotNFT may leave the waiting room at height " (exit) "." }
            }
        }
        section {
            h2 { "Partials per hour, last 24 h" }
            p.legend { span { i.acc {} "accepted" } span { i.rej {} "refused" } }
            (stacked_bars("partials-chart", &bars, "24 h ago", "now"))
            @if view.rejected_at_confirmation > 0 {
                p { (view.rejected_at_confirmation) " accepted partials were later dropped because their signage point was undone by a reorg." }
            }
            @if f.refused.total() > 0 {
                table #refused-by-code {
                    tr { th { "Refused with" } th.num { "Partials" } th { "What to do" } }
                    @for (code, n) in f.refused.by_code() {
                        tr { td { (code.name()) } td.num { (n) } td { (format::advice(code)) } }
                    }
                }
            }
            @if let Some((at, code, message)) = &f.last_refusal {
                p #last-refusal { "Last refusal " (format::ago(Some(*at), now)) ": " code { (code.name()) } " — " (message) }
            }
        }
        @if private {
            section.private #private {
                h2 { "Your account" }
                dl.figures {
                    div { dt { "Payout address" } dd.mono #payout-address {
                        (encode_puzzle_hash(&r.payout_puzzle_hash.into(), &pool.settings().address_prefix))
                    } }
                    div { dt { "Balance carried to the next payout" } dd #carried { (format::xch(r.carried)) } }
                    div { dt { "Lifetime points" } dd #lifetime-points { (r.lifetime_points) } }
                }
                table #payout-history {
                    tr { th { "Payout" } th { "When" } th.num { "Points" } th.num { "Share" } th.num { "Paid" } th.num { "Carried" } }
                    @for (id, at, line) in &view.payouts {
                        tr {
                            td { "#" (id) } td { (format::ago(Some(*at), now)) } td.num { (line.points) }
                            td.num { (format::xch(line.share)) } td.num { (format::xch(line.paid)) } td.num { (format::xch(line.carried)) }
                        }
                    }
                }
            }
        } @else {
            section {
                h2 { "Payouts" }
                @if view.payouts.is_empty() { p { "No payout yet." } }
                @else {
                    table #payouts {
                        tr { th { "Payout" } th { "When" } th.num { "Paid" } }
                        @for (id, at, line) in view.payouts.iter().take(5) {
                            tr { td { "#" (id) } td { (format::ago(Some(*at), now)) } td.num { (format::xch(line.paid)) } }
                        }
                    }
                }
                p { "Open a login link (" code { "chia plotnft get_login_link -l " (launcher_hex) } ") to see your payout address and full history." }
            }
        }
    };
    let title = format!("Farmer {}…", &launcher_hex[..8]);
    let api = format!("/api/farmer/{launcher_hex}");
    // Never cached: the same URL shows the private part once the farmer logs in.
    html_response(
        StatusCode::OK,
        layout(pool, &title, Some(&api), body),
        Cache::Private,
    )
}
