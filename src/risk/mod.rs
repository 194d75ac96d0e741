//! Clinical translation (cfdna-model.md §5): organ thresholds and absolute
//! quantity. Thresholds carry their sources.

pub mod organ;

pub use organ::{Organ, OrganThreshold};
