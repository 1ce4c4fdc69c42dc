pub mod router;
pub mod template;
