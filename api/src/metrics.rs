//! Prometheus metrics at `/metrics`: SQL statements and the database pool.

use actix_web::{web, HttpResponse};
use pcr_schema::Db;

pub async fn metrics(db: web::Data<Db>) -> HttpResponse {
    let (open, idle) = db.pool_state();
    let body = format!(
        "# HELP db_statements_total SQL statements executed by this process.\n\
         # TYPE db_statements_total counter\n\
         db_statements_total {}\n\
         # HELP db_pool_connections Open database connections.\n\
         # TYPE db_pool_connections gauge\n\
         db_pool_connections {open}\n\
         # HELP db_pool_idle_connections Idle database connections.\n\
         # TYPE db_pool_idle_connections gauge\n\
         db_pool_idle_connections {idle}\n",
        db.statements()
    );
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body)
}
