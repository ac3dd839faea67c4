//! The OpenAPI 3.1 document, generated from the handlers and their types (utoipa), served at
//! `/api/v1/openapi.json`, and the Swagger UI at `/docs` from the assets compiled into the
//! binary (no CDN). Every operation carries `x-required-role` and, besides its own answers,
//! the problem+json errors any request can get (400, 401, 403, 413, 415, 422, 429, 500, 503).

use super::problem::Problem;
use super::routes::{
    bootstrap, cdna, connections, events, graph, grid, semantic, system, table, tokens, ws,
};
use super::routes::{views, views_graph, views_search};
use super::{assets, AppState};
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Doc, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

/// Where the document is served.
pub const SPEC_PATH: &str = "/api/v1/openapi.json";

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "NeuroGraph Lab runtime API",
        version = "1",
        description = "The runtime a notebook holds, served: tokens, connections, grid and graph \
                       queries, semantic queries, CDNA management, events and metrics. Errors \
                       are RFC 9457 application/problem+json."
    ),
    paths(
        tokens::get_token, tokens::list_tokens, tokens::count_tokens, tokens::find_label,
        tokens::create_token, tokens::create_tokens, tokens::update_token, tokens::delete_token,
        tokens::delete_tokens, table::table_get, table::table_post, table::labels,
        connections::get_connection, connections::list_connections,
        connections::token_connections, connections::count_connections,
        connections::create_connection, connections::create_connections,
        connections::delete_connection, connections::feedback,
        grid::info, grid::neighbors, grid::neighbors_batch, grid::range, grid::influence,
        grid::density, grid::cross_space,
        graph::bfs, graph::path, graph::components, graph::subgraph,
        semantic::query, semantic::query_batch,
        cdna::get_cdna, cdna::patch_cdna, cdna::get_scales, cdna::put_scales,
        cdna::get_profile, cdna::put_profile, cdna::get_flags, cdna::put_flags,
        cdna::validate, cdna::history, cdna::rollback,
        bootstrap::create, bootstrap::list, bootstrap::get_job, bootstrap::cancel,
        bootstrap::upload,
        events::events, ws::upgrade,
        system::health, system::ready, system::status, system::metrics,
        views::grid_meta, views::grid_coords, views::grid_main, views::grid_labels,
        views::grid_hover, views::grid_ids, views_graph::graph_view, views_graph::graph_hover,
        views_search::complete, views_search::grid_focus,
        assets::index, assets::asset,
    ),
    components(schemas(Problem)),
    tags(
        (name = "tokens"), (name = "connections"), (name = "grid"), (name = "graph"),
        (name = "semantic"), (name = "cdna"), (name = "bootstrap"), (name = "system"),
        (name = "views"),
    )
)]
pub struct ApiDoc;

/// Adds the bearer scheme and the errors every operation can answer.
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut Doc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key, or a JWT access token from /api/v1/auth/login",
                    ))
                    .build(),
            ),
        );
        let problem = |desc: &str| {
            ResponseBuilder::new()
                .description(desc)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            "Problem",
                        ))))
                        .build(),
                )
                .build()
        };
        let common: [(&str, &str, bool); 9] = [
            ("400", "Malformed request (e.g. invalid JSON)", false),
            ("401", "No or invalid credentials", true),
            ("403", "The role is not enough (see x-required-role)", true),
            ("413", "Body too large", false),
            ("415", "The body is not JSON", false),
            (
                "422",
                "Invalid argument or Guardian refusal (field, value, limit)",
                false,
            ),
            ("429", "Rate limited (Retry-After)", false),
            ("500", "Internal error", false),
            (
                "503",
                "The runtime is busy with a long write (Retry-After)",
                false,
            ),
        ];
        for item in doc.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                // Operations that do not name their role: admin by tag, else any principal
                // (readonly) when secured, else public.
                let ext = op.extensions.get_or_insert_with(Default::default);
                if !ext.contains_key("x-required-role") {
                    let admin = op
                        .tags
                        .as_ref()
                        .is_some_and(|t| t.iter().any(|t| t == "admin"));
                    let role = match (secured, admin) {
                        (_, true) => "admin",
                        (true, false) => "readonly",
                        (false, false) => "public",
                    };
                    ext.insert("x-required-role".into(), serde_json::json!(role));
                }
                // A Problem body is problem+json, whatever the operation declared.
                for r in op.responses.responses.values_mut() {
                    if let RefOr::T(r) = r {
                        if let Some(c) = r.content.get("application/json") {
                            let is_problem = matches!(c, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(x)) if x.ref_location.ends_with("/Problem")));
                            if is_problem {
                                if let Some(c) = r.content.shift_remove("application/json") {
                                    r.content.insert("application/problem+json".into(), c);
                                }
                            }
                        }
                    }
                }
                // Every response needs a description (OpenAPI 3.1).
                for (code, r) in op.responses.responses.iter_mut() {
                    if let RefOr::T(r) = r {
                        if r.description.is_empty() {
                            r.description = code
                                .parse::<u16>()
                                .ok()
                                .and_then(|c| axum::http::StatusCode::from_u16(c).ok())
                                .and_then(|c| c.canonical_reason())
                                .unwrap_or("Answer")
                                .to_string();
                        }
                    }
                }
                for (code, desc, auth) in common {
                    if auth && !secured {
                        continue;
                    }
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| RefOr::T(problem(desc)));
                }
            }
        }
    }
}

/// The whole document: these routes and the auth and admin routes, each operation with its
/// role and the common problems.
pub fn document() -> Doc {
    let mut doc = ApiDoc::openapi();
    doc.merge(super::routes::admin::AuthApi::openapi());
    Common.modify(&mut doc);
    doc
}

/// `/api/v1/openapi.json` and the Swagger UI at `/docs` (public).
pub fn routes() -> Router<AppState> {
    SwaggerUi::new("/docs").url(SPEC_PATH, document()).into()
}
