//! Campaign operations: campaigns, the import of the police's resident
//! lists, target lists with quotas, the signed lists and daily reports, the
//! review queue, and their HTTP routes.

pub mod campaigns;
pub mod export;
pub mod import;
pub mod import_file;
pub mod reports;
pub mod review;
pub mod routes;
pub mod targets;
