pub mod policy;
pub mod router;
pub mod template;
