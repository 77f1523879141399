//! The fleet model's overload gates: calls held while a device's service
//! refuses everything, and its trials.

use std::time::{Duration, Instant};

use apiretry::Overload;

use super::{Sim, What};

impl Sim<'_> {
    /// A held call asks the overload gate again when its next trial is due.
    pub(super) fn trial_wake(&mut self, device: usize, due: Option<Instant>) {
        if let Some(due) = due {
            // A microsecond late: event times are whole microseconds, and
            // one a hair early would find the trial not yet due.
            let when = (due - self.t0).as_secs_f64() + 1e-6;
            self.push(when, What::TrialDue, device);
        }
    }

    /// The device's overload gate hears an answer (or a trial's loss).
    pub(super) fn tell_overload(&mut self, t: f64, id: usize, answer: What) {
        let now = self.at(t);
        let call = self.calls[id].as_mut().expect("a live call");
        let trial = std::mem::take(&mut call.trial);
        let (d, sent) = (call.device, call.sent);
        let dev = &mut self.fleet[d];
        let secs = Duration::from_secs_f64;
        let Some(gate) = dev.overload.as_mut() else {
            if let (Some(l), true) = (&mut dev.learner, answer != What::Refused) {
                l.on_answer(secs(sent), secs(t), answer == What::Shed);
            }
            return;
        };
        if answer == What::Refused {
            if trial {
                gate.on_trial_lost(now, true);
                let due = gate.trial_due();
                self.trial_wake(d, due);
            }
            return;
        }
        let change = gate.on_answer(now, answer == What::Shed, trial);
        let (closed, due) = (gate.is_closed(), gate.trial_due());
        match (change, &mut dev.learner) {
            (Overload::Began, Some(l)) => l.rewind(),
            (_, Some(l)) if !closed => {
                l.on_answer(secs(sent), secs(t), answer == What::Shed);
            }
            _ => {}
        }
        match change {
            Overload::Ended => {
                for call in std::mem::take(&mut self.fleet[d].overload_held) {
                    self.push(t, What::Overload, call);
                }
            }
            _ if trial => self.trial_wake(d, due),
            _ => {}
        }
    }
}
