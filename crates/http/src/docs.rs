//! API documentation pages, served without any internet access: Swagger UI (vendored by
//! utoipa-swagger-ui) at `/docs`, Redoc (its bundle shipped in `assets/redoc`) at
//! `/redoc`, and the document at `/openapi.json`.

use std::sync::{Arc, LazyLock};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa::OpenApi;
use utoipa_redoc::{Redoc, Servable};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::error::ApiError;
use crate::ApiDoc;

const REDOC_HTML: &str = include_str!("../assets/redoc/index.html");
const REDOC_JS: &[u8] = include_bytes!("../assets/redoc/redoc.standalone.js");

/// Swagger UI's page as `/docs` answers it (the same as `/docs/`, without a redirect that
/// some clients do not follow): its relative links are resolved under `/docs/`.
static SWAGGER_PAGE: LazyLock<String> = LazyLock::new(|| {
    let config = Arc::new(Config::from("/openapi.json"));
    let page = utoipa_swagger_ui::serve("index.html", config)
        .ok()
        .flatten()
        .map(|file| String::from_utf8_lossy(&file.bytes).into_owned())
        .unwrap_or_default();
    page.replacen("<head>", "<head>\n    <base href=\"/docs/\">", 1)
});

/// Registers the documentation routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()))
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(SWAGGER_PAGE.as_str())
            }),
        )
        .service(Redoc::with_url("/redoc", ApiDoc::openapi()).custom_html(REDOC_HTML))
        .route(
            "/redoc/redoc.standalone.js",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
                    .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
                    .body(REDOC_JS)
            }),
        );
    // The pages answer GET only; another method is 405 naming it, as on every other
    // path (the GET routes above are matched first).
    for path in [
        "/openapi.json",
        "/docs",
        "/docs/{_:.*}",
        "/redoc",
        "/redoc/redoc.standalone.js",
    ] {
        cfg.service(web::resource(path).to(|| async {
            Err::<HttpResponse, _>(ApiError::method_not_allowed("GET".to_owned()))
        }));
    }
}
