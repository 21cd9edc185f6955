//! The coach's search page and the offer page. The page speaks the search
//! API's parameters (same names, same checks, same search module): only the
//! commune, typed as a name, and the page number are translated here (and
//! a ROME code put in capitals), and the refusals, into the page's words.

use std::collections::{BTreeMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde_json::{Map, Value};

use super::errors::PageError;
use super::layout;
use super::session::{Csrf, Moment, SignedIn};
use crate::accounts::{self, Account, AccountError, Partner};
use crate::activity;
use crate::agencies::{self, Agency};
use crate::api::AgencyCodes;
use crate::clock::in_paris;
use crate::db::{Database, DbError};
use crate::offers::model::text_at;
use crate::offers::{OfferId, OfferStatus, store};
use crate::referentials::{self, CONTRACT_NATURES, CONTRACT_TYPES};
use crate::referrals::CandidateForm;
use crate::referrals::candidate::{self, FieldProblem};
use crate::search::params::{Context, FACETS, MAX_START, ParamError, ParamProblem, SearchRequest};
use crate::search::query::{self, SearchResults};
use crate::search::{SearchError, SearchIndex};
use crate::text::{self, quantity};

pub const SEARCH_PATH: &str = "/offres";
const PAGE_SIZE: usize = 20;
/// The last page whose first offer the API still reaches.
const LAST_PAGE: usize = MAX_START / PAGE_SIZE + 1;
const DISTANCES: [u32; 7] = [0, 5, 10, 20, 30, 50, 100];

/// The request as the page received it, and as the search API reads it.
struct PageQuery {
    /// Non-empty parameters as sent (for the form and the page links).
    sent: Vec<(String, String)>,
    /// The same, in the API's terms.
    api: Vec<(String, String)>,
    page: usize,
    /// The commune searched around, as found from what was typed.
    commune: Option<&'static referentials::Commune>,
    /// The territory's communes whose names begin with what was typed, when
    /// the commune found is elsewhere (« Salon »: Salon-de-Provence).
    perhaps: Vec<&'static referentials::Commune>,
}

impl PageQuery {
    fn values(&self, name: &str) -> HashSet<&str> {
        self.sent
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .collect()
    }

    fn value(&self, name: &str) -> &str {
        self.sent
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// A search the coach asked for: criteria sent from the form. Paging
    /// links carry `page`, back to the first included: paging through the
    /// same results is not another search. The order and the distance
    /// (without a commune) select nothing: the empty form sends the order.
    fn is_new_search(&self) -> bool {
        const NOT_CRITERIA: [&str; 3] = ["page", "sort", "distance"];
        let sent = |name: &str| self.sent.iter().any(|(n, _)| n == name);
        !sent("page")
            && self
                .sent
                .iter()
                .any(|(name, _)| !NOT_CRITERIA.contains(&name.as_str()))
    }

    /// This search at another page.
    fn page_link(&self, page: usize) -> String {
        self.link_with("page", &page.to_string())
    }

    /// This search with `name` set to `value` instead, from its first page
    /// unless `name` is the page.
    fn link_with(&self, name: &str, value: &str) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .sent
            .iter()
            .filter(|(n, _)| n != "page" && n != name)
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.push((name, value));
        format!(
            "{SEARCH_PATH}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

fn translate(
    pairs: Vec<(String, String)>,
    territory: &Territory,
) -> Result<PageQuery, (PageQuery, String)> {
    // ROME codes are written in capitals: « j1501 » is J1501.
    let sent: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(n, v)| match n.as_str() {
            "codeROME" => (n, rome_in_capitals(v.trim())),
            _ => (n, v.trim().to_owned()),
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let mut query = PageQuery {
        sent,
        api: Vec::new(),
        page: 1,
        commune: None,
        perhaps: Vec::new(),
    };
    // Checkbox groups arrive as repeated parameters; the API wants a list.
    let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut problem = None;
    for (name, value) in &query.sent {
        match name.as_str() {
            "page" => match value.parse::<usize>() {
                Ok(page) if page >= 1 => query.page = page,
                _ => {
                    problem =
                        Some("Le numéro de page doit être un nombre à partir de 1.".to_owned())
                }
            },
            "commune" => match territory.commune_meant(value) {
                Some(commune) => {
                    // Several (an edited address): the field shows the first,
                    // and no other is suggested.
                    match query.commune {
                        None => {
                            query.commune = Some(commune);
                            query.perhaps = territory.perhaps_meant(value, commune);
                        }
                        Some(_) => query.perhaps.clear(),
                    }
                    grouped.entry("commune").or_default().push(&commune.code)
                }
                None => {
                    problem = Some(format!(
                        "Commune « {value} » introuvable : choisissez-la dans la liste des suggestions, \
                         ou donnez son code INSEE."
                    ))
                }
            },
            other => grouped.entry(other).or_default().push(value),
        }
    }
    let start = (query.page - 1) * PAGE_SIZE;
    if start > MAX_START {
        problem = Some(format!(
            "La recherche s'arrête à la page {LAST_PAGE} : précisez-la avec des mots-clés ou des filtres."
        ));
    }
    query.api = grouped
        .into_iter()
        .map(|(name, values)| (name.to_owned(), values.join(",")))
        .collect();
    query.api.push((
        "range".to_owned(),
        format!("{start}-{}", start + PAGE_SIZE - 1),
    ));
    match problem {
        Some(message) => Err((query, message)),
        None => Ok(query),
    }
}

/// Each code of a list, « j1501 » as J1501; anything else as typed, so
/// that a refusal quotes it as the coach wrote it.
fn rome_in_capitals(typed: &str) -> String {
    let values: Vec<String> = typed
        .split(',')
        .map(|value| match value.trim() {
            trimmed if referentials::shaped_like_rome_code(trimmed) => trimmed.to_ascii_uppercase(),
            _ => value.to_owned(),
        })
        .collect();
    values.join(",")
}

/// The departments of the territory's agencies (a SAFIR code starts with
/// its department).
#[derive(Clone)]
struct Territory(HashSet<String>);

impl Territory {
    fn of(agencies: &[Agency]) -> Territory {
        Territory(
            agencies
                .iter()
                .flat_map(Agency::departments)
                .map(str::to_owned)
                .collect(),
        )
    }

    fn holds(&self, commune: &referentials::Commune) -> bool {
        self.0.contains(&commune.department)
    }

    /// Its communes, arrondissements apart, in no order.
    fn members(&self) -> impl Iterator<Item = &'static referentials::Commune> {
        referentials::get()
            .communes
            .iter()
            .filter(|c| !c.is_arrondissement && self.holds(c))
    }

    /// The communes the commune field suggests.
    fn communes(&self) -> Vec<&'static referentials::Commune> {
        let mut communes: Vec<_> = self.members().collect();
        // Accents aside: « Éguilles » among the E.
        communes.sort_by_cached_key(|c| text::fold(&c.name));
        communes
    }

    /// The commune a coach means by what they typed: of communes sharing
    /// the name, the territory's, else the most populous.
    fn commune_meant(&self, typed: &str) -> Option<&'static referentials::Commune> {
        let named = referentials::get().communes_named(typed);
        named
            .iter()
            .find(|c| self.holds(c))
            .or(named.first())
            .copied()
    }

    /// When `found` lies outside the territory and was typed by its name
    /// alone: the territory's communes whose names begin with that name.
    fn perhaps_meant(
        &self,
        typed: &str,
        found: &referentials::Commune,
    ) -> Vec<&'static referentials::Commune> {
        let by_name_alone =
            !typed.trim().ends_with(')') && referentials::get().commune(typed.trim()).is_none();
        if self.holds(found) || !by_name_alone {
            return Vec::new();
        }
        // Articles aside: « Tour » finds La Tour (74), and offers La
        // Tour-d'Aigues (84).
        let bare = |name: &str| referentials::without_article(&text::fold(name)).to_owned();
        let beginning = format!("{} ", bare(&found.name));
        let mut perhaps: Vec<_> = self
            .members()
            .filter(|c| bare(&c.name).starts_with(&beginning))
            .collect();
        // The largest first; of equal size, in the field's order.
        perhaps.sort_by_cached_key(|c| (std::cmp::Reverse(c.population), text::fold(&c.name)));
        perhaps.truncate(3);
        perhaps
    }
}

pub async fn search(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    database: web::Data<Database>,
    index: web::Data<SearchIndex>,
    agency_codes: web::Data<AgencyCodes>,
) -> Result<HttpResponse, PageError> {
    let partner = account.partner_id.clone();
    let agencies = database
        .run(move |conn| {
            accounts::check_offers_service(conn, partner.as_deref())?;
            Ok::<_, AccountError>(agencies::list(conn)?)
        })
        .await?;
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    // An offer's reference typed as keywords, as candidates bring it: its page.
    let reference = pairs
        .iter()
        .find(|(name, _)| name == "motsCles")
        .and_then(|(_, typed)| offer_reference(typed));
    if let Some(id) = reference {
        let wanted = id.clone();
        let exists = database
            .run(move |conn| store::find(conn, &wanted).map(|found| found.is_some()))
            .await?;
        if exists {
            return Ok(layout::see_other(&format!("{SEARCH_PATH}/{}", id.as_str())));
        }
    }
    let csrf = Csrf::of(&req);
    let territory = Territory::of(&agencies);
    // Reading the form looks communes up and may look values up in the
    // index: off the async workers, with the search.
    let (index, agency_codes, reading) = (
        index.into_inner(),
        agency_codes.into_inner(),
        territory.clone(),
    );
    let (query, searched) = tokio::task::spawn_blocking(move || {
        let translated = translate(pairs, &reading).and_then(|query| {
            let context = Context {
                agencies: &agency_codes.0,
                now: Utc::now().timestamp(),
                indexed: &|field, value| index.holds(field, value),
            };
            match SearchRequest::parse(&query.api, &context) {
                Ok(request) => Ok((query, request)),
                Err(error) => Err((query, page_message(&error))),
            }
        });
        match translated {
            Ok((query, request)) => {
                let searched = query::search(&index, &request);
                (query, Ok(searched))
            }
            Err((query, message)) => (query, Err(message)),
        }
    })
    .await
    .map_err(|_| PageError::Unavailable)?;
    let outcome = match searched {
        Ok(Ok(results)) => {
            if let (Some(partner), true) = (account.partner_id.clone(), query.is_new_search()) {
                let (who, now) = (account.id.clone(), Moment::of(&req)?.now);
                database
                    .run(move |conn| activity::record_search(conn, now, &partner, &who))
                    .await?;
            }
            Ok(results)
        }
        Ok(Err(SearchError::Request(error))) => Err(page_message(&error)),
        Ok(Err(error)) => {
            tracing::error!(%error, "search failed");
            return Err(PageError::Unavailable);
        }
        Err(message) => Err(message),
    };
    let status = if outcome.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = layout::signed_in_page(
        "Rechercher des offres",
        &account,
        &csrf,
        search_page(&query, &outcome, &agencies, &territory),
    );
    Ok(layout::respond(&req, status, &csrf, body))
}

fn search_page(
    query: &PageQuery,
    outcome: &Result<SearchResults, String>,
    agencies: &[Agency],
    territory: &Territory,
) -> Markup {
    let communes = territory.communes();
    let sectors = &referentials::get().sectors;
    let facets = outcome
        .as_ref()
        .ok()
        .map(|r| r.facets.as_slice())
        .unwrap_or(&[]);
    html! {
        h1 { "Rechercher des offres" }
        form.search method="get" action=(SEARCH_PATH) role="search" {
            div.search-main {
                div {
                    (label_for("motsCles"))
                    input #motsCles name="motsCles" type="search" value=(query.value("motsCles"))
                        placeholder="ex. aide-soignant, cariste, \"chef de cuisine\"";
                }
                div {
                    (label_for("commune"))
                    input #commune name="commune" type="text" list="communes" autocomplete="off"
                        value=(commune_shown(query));
                    datalist #communes {
                        @for c in &communes { option value={ (c.name) " (" (c.department) ")" } {} }
                    }
                }
                div {
                    (label_for("distance"))
                    select #distance name="distance" {
                        option value="" { "10 km (par défaut)" }
                        @for km in DISTANCES {
                            option value=(km) selected[query.value("distance") == km.to_string()] {
                                @if km == 0 { "la commune seule" } @else { (km) " km" }
                            }
                        }
                    }
                }
                div {
                    (label_for("sort"))
                    select #sort name="sort" {
                        option value="0" selected[query.value("sort") == "0"] { "pertinence" }
                        option value="1" selected[query.value("sort") == "1"] { "date, les plus récentes d'abord" }
                        option value="2" selected[query.value("sort") == "2"] { "distance (avec une commune)" }
                    }
                }
                button type="submit" { "Rechercher" }
            }
            div.search-body {
                aside.facets aria-label="Filtres" {
                    h2 { "Filtrer" }
                    @for (dimension, facet) in FACETS.iter().zip(facets_or_empty(facets)) {
                        fieldset {
                            legend { (field_label(dimension.param).unwrap_or("Filtre")) }
                            @let chosen = query.values(dimension.param);
                            @let shown = facet_choices(facet, &chosen);
                            // A parameter of one value: one choice, or none.
                            @let kind = if dimension.takes_a_list() { "checkbox" } else { "radio" };
                            @if shown.is_empty() { p.hint { "aucune des offres trouvées ne le précise" } }
                            @else if kind == "radio" {
                                label.check {
                                    input type="radio" name=(dimension.param) value="" checked[chosen.is_empty()];
                                    " sans préférence"
                                }
                            }
                            @for (value, count) in &shown {
                                label.check {
                                    input type=(kind) name=(dimension.param) value=(value) checked[chosen.contains(value.as_str())];
                                    " " (facet_value_label(dimension.param, value, agencies))
                                    @if let Some(count) = count { " " span.count { "(" (count) ")" } }
                                }
                            }
                        }
                    }
                    fieldset {
                        legend { "Autres critères" }
                        (label_for("publieeDepuis"))
                        select #publieeDepuis name="publieeDepuis" {
                            option value="" { "toujours" }
                            @for days in ["1", "3", "7", "14", "31"] {
                                option value=(days) selected[query.value("publieeDepuis") == days] { (quantity(days.parse().unwrap_or_default(), "jour", "jours")) }
                            }
                        }
                        (label_for("secteurActivite"))
                        select #secteurActivite name="secteurActivite" {
                            option value="" { "tous" }
                            @for s in sectors {
                                option value=(s.code) selected[query.value("secteurActivite") == s.code] { (s.label) }
                            }
                        }
                        (label_for("codeROME"))
                        input #codeROME name="codeROME" type="text" value=(query.value("codeROME")) placeholder="ex. J1501" size="8";
                        (label_for("tempsPlein"))
                        select #tempsPlein name="tempsPlein" {
                            option value="" { "indifférente" }
                            option value="true" selected[query.value("tempsPlein") == "true"] { "temps plein" }
                            option value="false" selected[query.value("tempsPlein") == "false"] { "temps partiel" }
                        }
                        (label_for("publiee"))
                        select #publiee name="publiee" {
                            option value="" { "publiées ou non" }
                            option value="true" selected[query.value("publiee") == "true"] { "publiées sur le site public" }
                            option value="false" selected[query.value("publiee") == "false"] { "non publiées" }
                        }
                        label.check {
                            input type="checkbox" name="accesTravailleurHandicape" value="true" checked[query.value("accesTravailleurHandicape") == "true"];
                            " accessible aux travailleurs handicapés"
                        }
                        label.check {
                            input type="checkbox" name="iae" value="true" checked[query.value("iae") == "true"];
                            " insertion par l'activité économique (IAE)"
                        }
                    }
                    button type="submit" { "Appliquer les filtres" }
                }
                section.results aria-labelledby="resultats" {
                    @match outcome {
                        Err(message) => {
                            h2 #resultats { "Résultats" }
                            (layout::message(message, true))
                        }
                        Ok(results) => (results_list(query, results)),
                    }
                }
            }
        }
    }
}

fn facets_or_empty(facets: &[query::Facet]) -> Vec<&[query::FacetValue]> {
    FACETS
        .iter()
        .enumerate()
        .map(|(i, _)| facets.get(i).map_or(&[][..], |f| f.values.as_slice()))
        .collect()
}

/// A facet's values with their counts, then any chosen value the facet no
/// longer counts (so that it can still be unticked).
fn facet_choices(
    facet: &[query::FacetValue],
    chosen: &HashSet<&str>,
) -> Vec<(String, Option<u64>)> {
    let mut shown: Vec<(String, Option<u64>)> = facet
        .iter()
        .map(|v| (v.value.clone(), Some(v.count)))
        .collect();
    for value in chosen {
        if !shown.iter().any(|(v, _)| v == value) {
            shown.push(((*value).to_owned(), None));
        }
    }
    shown
}

/// The commune field shows the commune searched around, department
/// included, so that a homonym taken for another is seen; what was typed
/// when no commune has that name.
fn commune_shown(query: &PageQuery) -> String {
    match query.commune {
        Some(c) => format!("{} ({})", c.name, c.department),
        None => query.value("commune").to_owned(),
    }
}

/// The page's name for the field that sends `param`.
fn field_label(param: &str) -> Option<&'static str> {
    let label = match param {
        "motsCles" => "Mots-clés",
        "commune" => "Commune",
        "distance" => "Rayon",
        "sort" => "Trier par",
        "typeContrat" => "Type de contrat",
        "natureContrat" => "Nature du contrat",
        "experience" => "Expérience",
        "qualification" => "Qualification",
        "codeAgence" => "Agence",
        "departement" => "Département",
        "avecPreselection" => "Présélection",
        "contratAide" => "Contrat aidé",
        "publieeDepuis" => "Publiée depuis",
        "secteurActivite" => "Secteur d'activité",
        "codeROME" => "Métier (code ROME)",
        "tempsPlein" => "Durée du travail",
        "publiee" => "Publication",
        "accesTravailleurHandicape" => "Accessible aux travailleurs handicapés",
        "iae" => "Insertion par l'activité économique",
        _ => return None,
    };
    Some(label)
}

/// A field's label, as refusals name it.
fn label_for(param: &str) -> Markup {
    html! { label for=(param) { (field_label(param).unwrap_or(param)) } }
}

/// A refused search in the page's words: its field's name, not the API's
/// parameter, and no pointer to the API's lists.
fn page_message(error: &ParamError) -> String {
    match (&error.problem, field_label(&error.param)) {
        (ParamProblem::Incorrect { detail, .. }, Some(label)) => format!("{label} : {detail}"),
        _ => format!(
            "Cette adresse de recherche contient un critère que le formulaire ne connaît pas \
             (« {} ») : relancez la recherche depuis le formulaire.",
            error.param
        ),
    }
}

fn facet_value_label(param: &str, value: &str, agencies: &[Agency]) -> String {
    let found = match param {
        "typeContrat" => CONTRACT_TYPES
            .iter()
            .find(|t| t.code == value)
            .map(|t| t.label.to_owned()),
        "natureContrat" => CONTRACT_NATURES
            .iter()
            .find(|n| n.code == value)
            .map(|n| n.label.to_owned()),
        "experience" => match value {
            "0" => Some("non précisée".to_owned()),
            "1" => Some("débutant accepté, moins d'un an".to_owned()),
            "2" => Some("1 à 3 ans".to_owned()),
            "3" => Some("plus de 3 ans".to_owned()),
            _ => None,
        },
        "qualification" => match value {
            "9" => Some("cadre".to_owned()),
            "0" => Some("non-cadre".to_owned()),
            _ => None,
        },
        "codeAgence" => agencies
            .iter()
            .find(|a| a.code == value)
            .map(|a| a.name.clone()),
        "departement" => referentials::get()
            .department(value)
            .map(|d| format!("{} ({})", d.name, d.code)),
        "avecPreselection" => Some(
            if value == "true" {
                "avec présélection"
            } else {
                "sans présélection"
            }
            .to_owned(),
        ),
        "contratAide" => Some(
            if value == "true" {
                "contrat aidé"
            } else {
                "hors contrat aidé"
            }
            .to_owned(),
        ),
        _ => None,
    };
    found.unwrap_or_else(|| value.to_owned())
}

/// « Vouliez-vous dire … ? », with the same search around each.
fn perhaps_meant(query: &PageQuery) -> Markup {
    html! {
        @if let Some(found) = query.commune.filter(|_| !query.perhaps.is_empty()) {
            p.hint {
                "Recherche autour " (text::of_place(&found.name)) " (" (found.department) "), hors du territoire. Vouliez-vous dire "
                @for (n, commune) in query.perhaps.iter().enumerate() {
                    @if n + 1 == query.perhaps.len() && n > 0 { " ou " } @else if n > 0 { ", " }
                    a href=(query.link_with("commune", &commune.code)) { (commune.name) " (" (commune.department) ")" }
                }
                " ?"
            }
        }
    }
}

fn results_list(query: &PageQuery, results: &SearchResults) -> Markup {
    let first = (query.page - 1) * PAGE_SIZE;
    let last_page = results.total.div_ceil(PAGE_SIZE).min(LAST_PAGE);
    html! {
        h2 #resultats {
            @match results.total {
                0 => "Aucune offre ne correspond",
                1 => "1 offre",
                n => { (text::grouped(n)) " offres" }
            }
        }
        (perhaps_meant(query))
        @if results.total > 0 && results.offers.is_empty() {
            // A page past the last: a link kept from before offers went.
            p { "Il n'y a pas de page " (query.page) " : ces offres tiennent en " (quantity(last_page as u64, "page", "pages")) ". "
                a href=(query.page_link(last_page)) { "Aller à la dernière page" } }
        } @else if results.total > 0 {
            p.hint { "Offres " (first + 1) " à " (first + results.offers.len()) " sur " (text::grouped(results.total)) "." }
        } @else {
            p { "Essayez avec moins de mots-clés, un rayon plus grand ou moins de filtres." }
        }
        ol.offers start=(first + 1) {
            @for offer in &results.offers {
                (offer_card(&offer.to_value()))
            }
        }
        @if last_page > 1 {
            nav.pages aria-label="Pages de résultats" {
                @if query.page > 1 {
                    a rel="prev" href=(query.page_link(query.page - 1)) { "← Page précédente" }
                }
                @if query.page <= last_page { span { "Page " (query.page) " sur " (last_page) } }
                @if query.page < last_page {
                    a rel="next" href=(query.page_link(query.page + 1)) { "Page suivante →" }
                }
            }
        }
    }
}

fn text<'a>(offer: &'a Value, path: &[&str]) -> Option<&'a str> {
    offer.as_object().and_then(|fields| text_at(fields, path))
}

fn flag(offer: &Value, key: &str) -> bool {
    offer.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The day of "2026-11-01T08:00:00.000Z" in Paris, as 01/11/2026: an offer
/// created at 23:30 UTC is already of the next day there.
fn french_date(raw: &str) -> String {
    crate::offers::model::parse_date(raw).map_or_else(
        || raw.to_owned(),
        |at| in_paris(at).format("%d/%m/%Y").to_string(),
    )
}

fn badges(offer: &Value) -> Markup {
    html! {
        @if flag(offer, "avecPreselection") { span.badge.preselection { "avec présélection" } }
        @if offer.get("publiee").and_then(Value::as_bool) == Some(false) { span.badge.unpublished { "non publiée" } }
        @if flag(offer, "contratAide") { span.badge.aided { "contrat aidé" } }
    }
}

fn offer_card(offer: &Value) -> Markup {
    let id = text(offer, &["id"]).unwrap_or_default();
    html! {
        li.offer {
            h3 { a href={ (SEARCH_PATH) "/" (id) } { (text(offer, &["intitule"]).unwrap_or("Offre sans intitulé")) } }
            p.meta {
                @if let Some(company) = text(offer, &["entreprise", "nom"]) { span { (company) } " · " }
                span { (text(offer, &["lieuTravail", "libelle"]).unwrap_or("lieu non précisé")) }
                " · " span { (text(offer, &["typeContratLibelle"]).or(text(offer, &["typeContrat"])).unwrap_or("contrat non précisé")) }
                " · " span { "publiée le " (french_date(text(offer, &["dateCreation"]).unwrap_or_default())) }
            }
            p.badges { (badges(offer)) }
        }
    }
}

/// What the offer page needs beyond the offer.
pub(super) struct OfferView {
    pub id: String,
    pub status: Option<OfferStatus>,
    pub document: Map<String, Value>,
    pub agency: Option<Agency>,
    /// The viewer's partner, for partners' accounts.
    pub partner: Option<Partner>,
}

pub(super) async fn load_offer(
    database: &Database,
    account: &Account,
    raw_id: &str,
) -> Result<OfferView, PageError> {
    let id = OfferId::parse(raw_id).ok_or(PageError::NotFound)?;
    let partner_id = account.partner_id.clone();
    let database = database.clone();
    database
        .run(move |conn| {
            let Some(stored) = store::find(conn, &id)? else {
                return Ok(None);
            };
            let document = stored.document();
            let agency_code = document
                .get("codeAgence")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let agency = agencies::find(conn, agency_code)?;
            let partner = match partner_id {
                Some(partner) => accounts::partner(conn, &partner).ok(),
                None => None,
            };
            Ok::<_, DbError>(Some(OfferView {
                id: stored.id.clone(),
                status: stored.status(),
                document,
                agency,
                partner,
            }))
        })
        .await?
        .ok_or(PageError::NotFound)
        .and_then(|view| match &view.partner {
            Some(partner) if !partner.terms.offers_service => {
                Err(PageError::from(AccountError::OffersNotInScope))
            }
            _ => Ok(view),
        })
}

/// Typed keywords that are an offer's reference (« 745JBNB », in any case):
/// one word of letters and digits, both.
fn offer_reference(typed: &str) -> Option<OfferId> {
    let typed = typed.trim();
    let shaped = (5..=12).contains(&typed.len())
        && typed.bytes().all(|b| b.is_ascii_alphanumeric())
        && typed.bytes().any(|b| b.is_ascii_digit())
        && typed.bytes().any(|b| b.is_ascii_alphabetic());
    shaped
        .then(|| OfferId::parse(&typed.to_ascii_uppercase()))
        .flatten()
}

pub async fn show(
    req: HttpRequest,
    SignedIn(account): SignedIn,
    path: web::Path<String>,
    database: web::Data<Database>,
) -> Result<HttpResponse, PageError> {
    let view = match load_offer(&database, &account, &path).await {
        // France Travail writes references in capitals; people type them
        // as they come.
        Err(PageError::NotFound) if path.bytes().any(|b| b.is_ascii_lowercase()) => {
            let upper = path.to_ascii_uppercase();
            load_offer(&database, &account, &upper).await?;
            return Ok(layout::see_other(&format!("{SEARCH_PATH}/{upper}")));
        }
        found => found?,
    };
    let csrf = Csrf::of(&req);
    let body = offer_page(&account, &csrf, &view, &Proposal::blank());
    Ok(layout::respond(&req, StatusCode::OK, &csrf, body))
}

/// `/offres/{id}/{action}` is where the candidate form goes. A refused form
/// leaves that address in the browser's bar; opened again, it is the
/// offer's page.
pub async fn back_to_offer(path: web::Path<(String, String)>) -> Result<HttpResponse, PageError> {
    let id = OfferId::parse(&path.0).ok_or(PageError::NotFound)?;
    Ok(layout::see_other(&format!("{SEARCH_PATH}/{}", id.as_str())))
}

/// The candidate form as it stands: blank, or sent back with its problems.
pub(super) struct Proposal {
    pub form: CandidateForm,
    pub idempotency_key: String,
    pub problems: Vec<FieldProblem>,
    pub refusal: Option<String>,
}

impl Proposal {
    pub fn blank() -> Proposal {
        Proposal {
            form: CandidateForm::default(),
            idempotency_key: crate::secrets::random_token(),
            problems: Vec::new(),
            refusal: None,
        }
    }
}

pub(super) fn offer_page(
    account: &Account,
    csrf: &Csrf,
    view: &OfferView,
    proposal: &Proposal,
) -> Markup {
    let offer = Value::Object(view.document.clone());
    let title = text(&offer, &["intitule"]).unwrap_or("Offre");
    layout::signed_in_page(
        title,
        account,
        csrf,
        html! {
            p { a href=(SEARCH_PATH) { "← Rechercher des offres" } }
            h1 { (title) }
            p.badges { (badges(&offer)) }
            @if view.status != Some(OfferStatus::Active) {
                (layout::message("Cette offre n'est plus active : elle a été suspendue, annulée ou pourvue. Elle n'accepte plus de candidature.", true))
            }
            (offer_details(&view.id, &offer, view.agency.as_ref()))
            section.action aria-labelledby="proposer" {
                (action_section(csrf, view, proposal))
            }
        },
    )
}

/// Every field of the offer, in the order a reader needs them.
pub(super) fn offer_details(id: &str, offer: &Value, agency: Option<&Agency>) -> Markup {
    let yes_no = |key: &str| {
        offer
            .get(key)
            .and_then(Value::as_bool)
            .map(|b| if b { "oui" } else { "non" }.to_owned())
    };
    let number = |key: &str| {
        offer
            .get(key)
            .and_then(Value::as_i64)
            .map(|n| n.to_string())
    };
    let rows: Vec<(&str, Option<String>)> = vec![
        ("Référence", Some(id.to_owned())),
        (
            "Entreprise",
            text(offer, &["entreprise", "nom"]).map(str::to_owned),
        ),
        (
            "Lieu de travail",
            text(offer, &["lieuTravail", "libelle"]).map(str::to_owned),
        ),
        (
            "Métier",
            text(offer, &["appellationlibelle"])
                .or(text(offer, &["romeLibelle"]))
                .map(str::to_owned),
        ),
        ("Code ROME", text(offer, &["romeCode"]).map(str::to_owned)),
        (
            "Contrat",
            text(offer, &["typeContratLibelle"])
                .or(text(offer, &["typeContrat"]))
                .map(str::to_owned),
        ),
        (
            "Nature du contrat",
            text(offer, &["natureContrat"]).map(str::to_owned),
        ),
        (
            "Durée du travail",
            text(offer, &["dureeTravailLibelle"]).map(str::to_owned),
        ),
        (
            "Salaire",
            text(offer, &["salaire", "libelle"]).map(str::to_owned),
        ),
        (
            "Expérience",
            text(offer, &["experienceLibelle"]).map(str::to_owned),
        ),
        (
            "Qualification",
            text(offer, &["qualificationLibelle"]).map(str::to_owned),
        ),
        (
            "Secteur d'activité",
            text(offer, &["secteurActiviteLibelle"])
                .or(text(offer, &["secteurActivite"]))
                .map(str::to_owned),
        ),
        ("Postes à pourvoir", number("nombrePostes")),
        ("Alternance", yes_no("alternance")),
        (
            "Accessible aux travailleurs handicapés",
            yes_no("accessibleTH"),
        ),
        (
            "Publiée le",
            text(offer, &["dateCreation"]).map(french_date),
        ),
        (
            "Mise à jour le",
            text(offer, &["dateActualisation"]).map(french_date),
        ),
        (
            "Agence qui gère l'offre",
            agency.map(|a| format!("{} ({})", a.name, a.code)),
        ),
    ];
    let skills: Vec<&str> = offer
        .get("competences")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(|s| text(s, &["libelle"])).collect())
        .unwrap_or_default();
    html! {
        dl.details {
            @for (label, value) in rows {
                @if let Some(value) = value { dt { (label) } dd { (value) } }
            }
        }
        @if let Some(description) = text(offer, &["description"]) {
            h2 { "Description" }
            @for paragraph in description.split('\n').filter(|p| !p.trim().is_empty()) { p { (paragraph) } }
        }
        @if !skills.is_empty() {
            h2 { "Compétences" }
            ul { @for skill in skills { li { (skill) } } }
        }
    }
}

fn action_section(csrf: &Csrf, view: &OfferView, proposal: &Proposal) -> Markup {
    let preselection = view
        .document
        .get("avecPreselection")
        .and_then(Value::as_bool)
        == Some(true);
    let Some(partner) = &view.partner else {
        return html! {
            h2 #proposer { "Proposer un candidat" }
            p { "Les mises en relation et les demandes de contact sont faites par les structures partenaires." }
        };
    };
    if view.status != Some(OfferStatus::Active) {
        return html! {};
    }
    let (heading, path, explanation, button) = if preselection {
        (
            "Demander un contact à l'agence",
            "demande-de-contact",
            "Cette offre est avec présélection : l'équipe entreprise de l'agence choisit les candidats. \
             Votre demande lui est envoyée ; elle vous répond dans relais.",
            "Envoyer la demande de contact",
        )
    } else if partner.terms.referrals_service {
        (
            "Mettre en relation un candidat",
            "mise-en-relation",
            "Cette offre est sans présélection : votre structure positionne directement la personne, \
             puis lui remet la fiche de l'offre.",
            "Enregistrer la mise en relation",
        )
    } else {
        return html! {
            h2 #proposer { "Proposer un candidat" }
            p { "La convention de votre structure ne comprend pas la délégation de la mise en relation : "
                "adressez la candidature à l'agence " (view.agency.as_ref().map_or("qui gère l'offre".to_owned(), |a| format!("France Travail {}", a.name))) "." }
        };
    };
    html! {
        h2 #proposer { (heading) }
        p { (explanation) }
        @if let Some(refusal) = &proposal.refusal { (layout::message(refusal, true)) }
        form.form method="post" action={ (SEARCH_PATH) "/" (view.id) "/" (path) } {
            (csrf.field())
            input type="hidden" name="cle" value=(proposal.idempotency_key);
            (candidate_fields(&proposal.form, &proposal.problems))
            button type="submit" { (button) }
        }
        p.hint { "Aucun champ libre : la convention l'interdit sur les formulaires échangés." }
    }
}

/// The candidate's fields, with the form's problems: to put them forward,
/// or to correct them on a record.
pub(super) fn candidate_fields(form: &CandidateForm, problems: &[FieldProblem]) -> Markup {
    let problem = |field: &str| {
        problems
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.message.clone())
    };
    let field = |name: &'static str,
                 label: &str,
                 kind: &str,
                 value: &str,
                 hint: Option<&str>,
                 required: bool| {
        let error = problem(name);
        html! {
            label for=(name) { (label) }
            @if let Some(hint) = hint { span.hint #{ (name) "-aide" } { (hint) } }
            @if let Some(error) = &error { span.field-error #{ (name) "-erreur" } { (error) } }
            input #(name) name=(name) type=(kind) value=(value) autocomplete="off" required[required]
                maxlength=[candidate::max_length(name)]
                aria-invalid=[error.as_ref().map(|_| "true")]
                aria-describedby=[error.as_ref().map(|_| format!("{name}-erreur")).or(hint.map(|_| format!("{name}-aide")))];
        }
    };
    html! {
        @if !problems.is_empty() {
            div.alert role="alert" {
                p { "Le formulaire contient " (quantity(problems.len() as u64, "erreur", "erreurs")) " :" }
                ul { @for p in problems { li { a href={ "#" (p.field) } { (p.message) } } } }
            }
        }
        (field("nom", "Nom de famille", "text", &form.nom, None, true))
        (field("prenom", "Prénom", "text", &form.prenom, None, true))
        (field("identifiant", "Identifiant France Travail", "text", &form.identifiant, Some("7 chiffres et une lettre, par exemple 1234567A"), true))
        label.check for="consentement" {
            input #consentement type="checkbox" name="consentement" value="oui" checked[form.consents()];
            " La personne accepte que ses coordonnées soient transmises"
        }
        @if let Some(error) = problem("consentement") { span.field-error { (error) } }
        (field("courriel", "Adresse électronique de la personne (avec son accord)", "email", &form.courriel, None, false))
        (field("telephone", "Téléphone de la personne (avec son accord)", "tel", &form.telephone, None, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_dates_are_days_in_paris() {
        assert_eq!(french_date("2026-11-30T23:30:00.000Z"), "01/12/2026");
        assert_eq!(french_date("2026-07-31T21:59:00Z"), "31/07/2026");
        assert_eq!(french_date("2026-07-31T22:00:00Z"), "01/08/2026");
        assert_eq!(french_date("hier"), "hier");
    }
}
