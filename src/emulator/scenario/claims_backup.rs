//! Backup part of the claims scenario (to be written).
