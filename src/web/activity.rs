//! Activity follow-up as pages, charts and CSV: the RGC sees its partner per
//! month, per account and per agency; the platform admin sees every partner
//! per month, and one partner as its RGC does.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::admin::admin_only;
use super::errors::PageError;
use super::layout;
use super::session::{Csrf, Moment, SignedIn};
use super::structure::partner_of;
use crate::accounts::{self, Account, AccountError};
use crate::activity::{self, Counts, Fact, MAX_MONTHS, Measure, Month, Period};
use crate::agencies;
use crate::db::Database;

pub const PARTNER_PATH: &str = "/structure/activite";
pub const ADMIN_PATH: &str = "/admin/activite";
/// Each page's table as CSV, at the page's path with this suffix.
pub const CSV_SUFFIX: &str = ".csv";

#[derive(Deserialize)]
pub struct Query {
    du: Option<String>,
    au: Option<String>,
    /// The admin's choice of one partner.
    structure: Option<String>,
}

/// Whose activity is shown.
#[derive(Clone, PartialEq)]
enum Whose {
    Partner(String),
    Everyone,
}

/// The names behind the identifiers the counts carry.
#[derive(Default)]
struct Names {
    /// Ordered by name, for the admin's choice.
    partners: Vec<(String, String)>,
    /// Login and full name.
    accounts: HashMap<String, (String, Option<String>)>,
    agencies: HashMap<String, String>,
}

impl Names {
    fn known_partner(&self, id: &str) -> Option<&str> {
        self.partners
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, name)| name.as_str())
    }

    fn partner<'a>(&'a self, id: &'a str) -> &'a str {
        self.known_partner(id).unwrap_or(id)
    }

    fn login<'a>(&'a self, id: &str) -> &'a str {
        self.accounts
            .get(id)
            .map_or("compte inconnu", |(login, _)| login.as_str())
    }

    fn full_name<'a>(&'a self, id: &str) -> &'a str {
        self.accounts
            .get(id)
            .and_then(|(_, name)| name.as_deref())
            .unwrap_or("")
    }

    fn agency<'a>(&'a self, code: &'a str) -> &'a str {
        self.agencies.get(code).map_or(code, String::as_str)
    }
}

/// What a page or an export shows: the counts of the period asked, or the
/// French reason they cannot be shown.
struct Follow {
    whose: Whose,
    names: Names,
    shown: Result<(Period, Vec<Fact>), String>,
}

/// Who may see what: the RGC its own partner, the admin anyone.
fn whose(account: &Account, path: &str, query: &Query) -> Result<Whose, PageError> {
    if path == ADMIN_PATH {
        admin_only(account)?;
        return Ok(match query.structure.as_deref().map(str::trim) {
            None | Some("") => Whose::Everyone,
            Some(id) => Whose::Partner(id.to_owned()),
        });
    }
    partner_of(account).map(Whose::Partner)
}

async fn follow(
    req: &HttpRequest,
    account: &Account,
    path: &str,
    query: &Query,
) -> Result<Follow, PageError> {
    let whose = whose(account, path, query)?;
    let period = Period::asked(
        query.du.as_deref(),
        query.au.as_deref(),
        Moment::of(req)?.now,
    );
    let database = req
        .app_data::<web::Data<Database>>()
        .cloned()
        .ok_or(PageError::Unavailable)?;
    let asked = whose.clone();
    Ok(database
        .run(move |conn| {
            let mut names = Names {
                partners: accounts::partner_names(conn)?,
                ..Names::default()
            };
            let partner = match &asked {
                Whose::Partner(id) if names.known_partner(id).is_none() => {
                    let unknown = "Cette structure est inconnue : choisissez-la dans la liste.";
                    return Ok(Follow {
                        whose: asked,
                        names,
                        shown: Err(unknown.to_owned()),
                    });
                }
                Whose::Partner(id) => Some(id.as_str()),
                Whose::Everyone => None,
            };
            let people = accounts::list_for_partners(conn, partner)?
                .into_iter()
                .map(|account| (account.id, (account.login, account.full_name)))
                .collect();
            let shown = match period {
                Ok(period) => Ok((period, activity::facts(conn, period, partner)?)),
                Err(message) => Err(message),
            };
            names.accounts = people;
            names.agencies = agencies::list(conn)?
                .into_iter()
                .map(|a| (a.code, a.name))
                .collect();
            Ok::<_, AccountError>(Follow {
                whose: asked,
                names,
                shown,
            })
        })
        .await?)
}

/// A table row: label cells, then the counts.
type Row = (Vec<Markup>, Counts);

/// A table of counts: label cells, then one cell per measure.
fn counts_table(caption: &str, labels: &[&str], measures: &[Measure], rows: &[Row]) -> Markup {
    html! {
        div.table-scroll {
            table.counts {
                caption { (caption) }
                thead { tr {
                    @for label in labels { th scope="col" { (label) } }
                    @for measure in measures { th.number scope="col" { (measure.label()) } }
                } }
                tbody {
                    @for (cells, counts) in rows {
                        tr {
                            @for cell in cells { td { (cell) } }
                            @for &measure in measures { td.number { (counts.get(measure)) } }
                        }
                    }
                }
            }
        }
    }
}

/// One small bar chart per measure, each on its own scale: searches run in
/// hundreds where mises en relation run in units.
fn charts(months: &[(Month, Counts)]) -> Markup {
    const BAR: u64 = 18;
    const STEP: u64 = 24;
    const TOP: u64 = 16;
    const BASE: u64 = TOP + 80;
    let width = months.len() as u64 * STEP + 8;
    html! {
        div.charts {
            @for measure in Measure::ALL {
                @let top = months.iter().map(|(_, c)| c.get(measure)).max().unwrap_or(0).max(1);
                @let described = months.iter()
                    .map(|(m, c)| format!("{} : {}", m.label(), c.get(measure)))
                    .collect::<Vec<_>>().join(" ; ");
                figure.chart {
                    figcaption { (measure.label()) " par mois" }
                    svg viewBox={ "0 0 " (width) " " (BASE + 20) } role="img"
                        aria-label={ (measure.label()) " par mois : " (described) } {
                        @for (i, (month, counts)) in (0..).zip(months) {
                            @let value = counts.get(measure);
                            @let height = (value * (BASE - TOP)).div_ceil(top);
                            @let x = 4 + i * STEP;
                            rect x=(x) y=(BASE - height) width=(BAR) height=(height) {
                                title { (month.label()) " : " (value) }
                            }
                            @if value > 0 {
                                text.value x=(x + BAR / 2) y=(BASE - height - 3) { (value) }
                            }
                            // The first and last months, held inside the frame.
                            @if i == 0 {
                                text.month text-anchor="start" x=(x) y=(BASE + 14) { (month.label()) }
                            } @else if i + 1 == months.len() as u64 {
                                text.month text-anchor="end" x=(x + BAR) y=(BASE + 14) { (month.label()) }
                            }
                        }
                        line x1="0" x2=(width) y1=(BASE) y2=(BASE);
                    }
                }
            }
        }
    }
}

/// The query of a link to this period, for the admin with the partner.
fn link_query(period: Period, structure: Option<&str>) -> String {
    let mut pairs = vec![
        ("du", period.first.to_string()),
        ("au", period.last.to_string()),
    ];
    if let Some(id) = structure {
        pairs.push(("structure", id.to_owned()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn filters(path: &str, query: &Query, names: &Names, period: Option<Period>) -> Markup {
    html! {
        form.filters method="get" action=(path) {
            @if path == ADMIN_PATH {
                label for="structure" { "Structure" }
                select #structure name="structure" {
                    option value="" { "toutes" }
                    @for (id, name) in &names.partners {
                        option value=(id) selected[query.structure.as_deref() == Some(id.as_str())] { (name) }
                    }
                }
            }
            label for="du" { "Du mois" }
            input #du name="du" type="month" placeholder="aaaa-mm"
                value=(period.map_or_else(|| query.du.clone().unwrap_or_default(), |p| p.first.to_string()));
            label for="au" { "Au mois" }
            input #au name="au" type="month" placeholder="aaaa-mm"
                value=(period.map_or_else(|| query.au.clone().unwrap_or_default(), |p| p.last.to_string()));
            button type="submit" { "Afficher" }
        }
    }
}

fn detail(whose: &Whose, names: &Names, period: Period, facts: &[Fact]) -> Markup {
    let month_cell = |month: Month| html! { (month.label()) };
    match whose {
        Whose::Partner(_) => {
            let accounts: Vec<_> = activity::tally(facts, |f| Some(f.account.clone()))
                .into_iter()
                .map(|((account, month), counts)| {
                    let who = html! { (names.login(&account)) " " span.muted { (names.full_name(&account)) } };
                    (vec![who, month_cell(month)], counts)
                })
                .collect();
            let agencies: Vec<_> = activity::tally(facts, |f| f.agency.clone())
                .into_iter()
                .map(|((code, month), counts)| {
                    let agency = html! { (names.agency(&code)) " (" (code) ")" };
                    (vec![agency, month_cell(month)], counts)
                })
                .collect();
            html! {
                h2 { "Par compte" }
                (counts_table("Les mois où chaque compte a eu une activité", &["Compte", "Mois"], &Measure::ALL, &accounts))
                h2 { "Par agence" }
                (counts_table("Les demandes adressées à chaque agence, et ses réponses", &["Agence", "Mois"], &Measure::OF_AGENCIES, &agencies))
            }
        }
        Whose::Everyone => {
            let partners: Vec<_> = activity::tally(facts, |f| Some(f.partner.clone()))
                .into_iter()
                .map(|((partner, month), counts)| {
                    let link = format!("{ADMIN_PATH}?{}", link_query(period, Some(&partner)));
                    let name = html! { a href=(link) { (names.partner(&partner)) } };
                    (vec![name, month_cell(month)], counts)
                })
                .collect();
            html! {
                h2 { "Par structure" }
                (counts_table("Les mois où chaque structure a eu une activité", &["Structure", "Mois"], &Measure::ALL, &partners))
            }
        }
    }
}

/// Month by month, then the total.
fn by_month(period: Period, facts: &[Fact]) -> (Vec<(Month, Counts)>, Vec<Row>) {
    let (months, total) = activity::monthly(facts, period);
    let mut rows: Vec<Row> = months
        .iter()
        .map(|(month, counts)| (vec![html! { (month.label()) }], *counts))
        .collect();
    rows.push((vec![html! { strong { "Total" } }], total));
    (months, rows)
}

fn page(path: &str, query: &Query, follow: &Follow) -> Markup {
    let names = &follow.names;
    let partner = match &follow.whose {
        Whose::Partner(id) => names.known_partner(id).map(|name| (id.as_str(), name)),
        Whose::Everyone => None,
    };
    // The admin's links keep the partner chosen; the RGC's has only its own.
    let structure = partner.map(|(id, _)| id).filter(|_| path == ADMIN_PATH);
    html! {
        @match (&follow.whose, partner) {
            (Whose::Everyone, _) => h1 { "Activité des structures partenaires" },
            (Whose::Partner(_), name) => {
                h1 { "Activité de la structure" }
                @if let Some((_, name)) = name { p.lead { (name) } }
            }
        }
        p.hint {
            "Connexions, recherches d'offres, mises en relation, demandes de contact et réponses des agences, "
            "mois par mois (" (MAX_MONTHS) " mois au plus). Les comptages restent quand les données des personnes "
            "accompagnées sont effacées."
        }
        (filters(path, query, names, follow.shown.as_ref().ok().map(|(period, _)| *period)))
        @match &follow.shown {
            Err(message) => (layout::message(message, true)),
            Ok((period, facts)) => {
                p { a href={ (path) (CSV_SUFFIX) "?" (link_query(*period, structure)) } download {
                    "Télécharger le détail (CSV, par mois, compte et agence)" } }
                @let (months, rows) = by_month(*period, facts);
                h2 { "Mois par mois" }
                (charts(&months))
                (counts_table("Toute l'activité de la période", &["Mois"], &Measure::ALL, &rows))
                (detail(&follow.whose, names, *period, facts))
            }
        }
    }
}

/// A cell a spreadsheet would not run as a formula.
fn plain(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Every count by month, partner, account and agency: semicolons and a
/// byte-order mark, as French spreadsheets open them.
fn csv(names: &Names, facts: &[Fact]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer("\u{feff}".as_bytes().to_vec());
    let mut header = vec![
        "Mois",
        "Structure",
        "Identifiant",
        "Nom",
        "Code agence",
        "Agence",
    ];
    header.extend(Measure::ALL.map(Measure::label));
    writer.write_record(&header)?;
    let tally = activity::tally(facts, |f| {
        Some((f.partner.clone(), f.account.clone(), f.agency.clone()))
    });
    let mut rows: Vec<_> = tally.into_iter().collect();
    rows.sort_by(|((a, month_a), _), ((b, month_b), _)| (month_a, a).cmp(&(month_b, b)));
    for (((partner, account, agency), month), counts) in rows {
        let agency_name = agency.as_deref().map_or("", |code| names.agency(code));
        let mut record = vec![
            month.to_string(),
            plain(names.partner(&partner)),
            plain(names.login(&account)),
            plain(names.full_name(&account)),
            agency.clone().unwrap_or_default(),
            plain(agency_name),
        ];
        record.extend(Measure::ALL.map(|m| counts.get(m).to_string()));
        writer.write_record(&record)?;
    }
    writer
        .into_inner()
        .map_err(|error| csv::Error::from(error.into_error()))
}

async fn respond(
    req: HttpRequest,
    account: Account,
    query: Query,
    path: &'static str,
    as_csv: bool,
) -> Result<HttpResponse, PageError> {
    let follow = follow(&req, &account, path, &query).await?;
    if as_csv {
        let (period, facts) = follow
            .shown
            .as_ref()
            .map_err(|message| PageError::BadRequest(message.clone()))?;
        let body = csv(&follow.names, facts).map_err(|error| {
            tracing::error!(%error, "activity export failed");
            PageError::Unavailable
        })?;
        let file = format!("activite-{}-{}.csv", period.first, period.last);
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ))
            .body(body));
    }
    let status = if follow.shown.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let csrf = Csrf::of(&req);
    let body = layout::signed_in_page("Activité", &account, &csrf, page(path, &query, &follow));
    Ok(layout::respond(&req, status, &csrf, body))
}
/// Every activity route: the path says whose activity (the admin's pages
/// or the RGC's), its suffix whether as a page or as CSV.
pub async fn show(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    query: web::Query<Query>,
) -> Result<HttpResponse, PageError> {
    let path = if req.path().starts_with(ADMIN_PATH) {
        ADMIN_PATH
    } else {
        PARTNER_PATH
    };
    let as_csv = req.path().ends_with(CSV_SUFFIX);
    respond(req, account, query.into_inner(), path, as_csv).await
}
