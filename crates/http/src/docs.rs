//! API documentation pages, served without any internet access: Swagger UI (vendored by
//! utoipa-swagger-ui) at `/docs`, Redoc (its bundle shipped in `assets/redoc`) at
//! `/redoc`, and the document at `/openapi.json`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa::OpenApi;
use utoipa_redoc::{Redoc, Servable};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::ApiDoc;

const REDOC_HTML: &str = include_str!("../assets/redoc/index.html");
const REDOC_JS: &[u8] = include_bytes!("../assets/redoc/redoc.standalone.js");

/// Registers the documentation routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()))
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, "/docs/"))
                    .finish()
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
