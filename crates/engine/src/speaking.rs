//! Speaking indicator from per-frame audio levels, with hysteresis: it turns on only after a
//! run of loud voice frames and off only after a quiet hang-over, so it doesn't flicker.

#[derive(Debug, Clone, Copy, Default)]
pub struct SpeakingDetector {
    speaking: bool,
    loud_run: u8,
    last_loud_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeakingParams {
    pub on_frames: u8,
    pub level: u8,
    pub hangover_ms: u64,
}

impl SpeakingDetector {
    pub fn speaking(&self) -> bool {
        self.speaking
    }

    /// Feeds one frame; returns the new state when it changed.
    pub fn on_frame(&mut self, p: SpeakingParams, now_ms: u64, voice: bool, level: u8) -> Option<bool> {
        if voice && level <= p.level {
            self.loud_run = self.loud_run.saturating_add(1);
            self.last_loud_ms = now_ms;
            if !self.speaking && self.loud_run >= p.on_frames {
                self.speaking = true;
                return Some(true);
            }
            None
        } else {
            self.loud_run = 0;
            self.on_time(p, now_ms)
        }
    }

    /// Clock-only update (frames stop arriving when a client stops sending).
    pub fn on_time(&mut self, p: SpeakingParams, now_ms: u64) -> Option<bool> {
        if self.speaking && now_ms.saturating_sub(self.last_loud_ms) >= p.hangover_ms {
            self.speaking = false;
            self.loud_run = 0;
            return Some(false);
        }
        None
    }

    /// When the indicator runs out if no loud frame comes (None while not speaking).
    pub fn off_at(&self, p: SpeakingParams) -> Option<u64> {
        self.speaking.then(|| self.last_loud_ms.saturating_add(p.hangover_ms))
    }

    /// Forced off (muted, demoted, left).
    pub fn reset(&mut self) -> bool {
        let was = self.speaking;
        *self = Self::default();
        was
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const P: SpeakingParams = SpeakingParams { on_frames: 3, level: 50, hangover_ms: 500 };

    #[test]
    fn needs_a_run_of_loud_frames_to_start() {
        let mut d = SpeakingDetector::default();
        assert_eq!(d.on_frame(P, 0, true, 30), None);
        assert_eq!(d.on_frame(P, 20, true, 30), None);
        assert_eq!(d.on_frame(P, 40, false, 127), None);
        assert_eq!(d.on_frame(P, 60, true, 30), None);
        assert_eq!(d.on_frame(P, 80, true, 30), None);
        assert_eq!(d.on_frame(P, 100, true, 30), Some(true));
    }

    #[test]
    fn short_pauses_do_not_flicker_and_hangover_ends_it() {
        let mut d = SpeakingDetector::default();
        for t in 0..3 {
            d.on_frame(P, t * 20, true, 10);
        }
        assert!(d.speaking());
        assert_eq!(d.on_frame(P, 100, false, 127), None);
        assert_eq!(d.on_frame(P, 400, true, 90), None);
        assert_eq!(d.on_frame(P, 539, false, 127), None);
        assert_eq!(d.on_time(P, 540), Some(false));
        assert_eq!(d.on_time(P, 2000), None);
    }

    #[test]
    fn quiet_voice_frames_never_start_it() {
        let mut d = SpeakingDetector::default();
        for t in 0..50 {
            assert_eq!(d.on_frame(P, t * 20, true, 51), None);
        }
    }
}
