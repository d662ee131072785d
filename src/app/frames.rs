//! A backend that notes when each frame reached the terminal (its flush): what the tests and
//! benchmarks that drive `run_loop` count and time. It draws nothing itself.

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// The instants frames were flushed at, shared with whoever watches.
#[derive(Debug, Clone, Default)]
pub struct FrameLog(Arc<Mutex<Vec<Instant>>>);

impl FrameLog {
    fn with<R>(&self, f: impl FnOnce(&mut Vec<Instant>) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
    /// Frames so far.
    pub fn count(&self) -> usize {
        self.with(|v| v.len())
    }
    /// When each frame was flushed.
    pub fn instants(&self) -> Vec<Instant> {
        self.with(|v| v.clone())
    }
}

/// `inner`, noting each flush in a [`FrameLog`].
#[derive(Debug)]
pub struct Timed<B> {
    inner: B,
    log: FrameLog,
}

impl<B> Timed<B> {
    pub fn new(inner: B) -> (Self, FrameLog) {
        let log = FrameLog::default();
        (
            Timed {
                inner,
                log: log.clone(),
            },
            log,
        )
    }
    pub fn inner(&self) -> &B {
        &self.inner
    }
    pub fn inner_mut(&mut self) -> &mut B {
        &mut self.inner
    }
}

fn io<E: std::error::Error + Send + Sync + 'static>(e: E) -> std::io::Error {
    std::io::Error::other(e)
}

/// Errors are I/O errors (what `run_loop` returns), whatever the inner backend's are.
impl<B: Backend> Backend for Timed<B>
where
    B::Error: Send + Sync + 'static,
{
    type Error = std::io::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content).map_err(io)
    }
    fn append_lines(&mut self, n: u16) -> Result<(), Self::Error> {
        self.inner.append_lines(n).map_err(io)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor().map_err(io)
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor().map_err(io)
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position().map_err(io)
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position).map_err(io)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear().map_err(io)
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type).map_err(io)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size().map_err(io)
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size().map_err(io)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        let r = self.inner.flush().map_err(io);
        self.log.with(|v| v.push(Instant::now()));
        r
    }
}
