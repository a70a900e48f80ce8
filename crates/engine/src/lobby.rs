//! The `node.rooms` topic: a live list of the rooms hosted here for the owner's lobby.
//!
//! A subscriber gets `rooms` (every room now) right after its `subscribed`, then one
//! `room_update` per room that was created or changed (name, capacity, guests, participant
//! count, who speaks) and one `room_closed` per room that is gone. Rooms of other nodes that
//! local users are in (proxied) are not listed.
//!
//! Work is bounded and nothing is done while nobody subscribes:
//! - room events and presence mark their room *dirty* (a set of room ids, at most one entry
//!   per room); a created room is found because the number of rooms changed;
//! - at the end of every input (`Engine::settle`) the dirty rooms are summarised and compared
//!   with the summary sent last: only a difference is sent (a typing indicator marks a room
//!   dirty and sends nothing);
//! - at most one `room_update` per room per `lobby_update_ms` (250 ms): the first change after
//!   a quiet interval goes out at once, later ones wait for the interval's end (the `Lobby`
//!   timer) and go as one update with the state then. So a flood of speaking changes costs at
//!   most four updates per room per second. `room_closed` is never held back.
//!
//! This file is the bookkeeping, without the engine; `crate::lobby_push` sends what it decides
//! to the subscribers.

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::{LobbyRoom, LobbySpeaker, ServerMsg};
use crate::room::Room;

/// What the lobby last sent and what changed since (shared by every subscriber).
#[derive(Debug, Clone, Default)]
pub(crate) struct Lobby {
    /// Whether anybody subscribes (what follows is kept only then).
    active: bool,
    /// Rooms that may have changed since their last update.
    dirty: BTreeSet<String>,
    /// The summary sent last, per room.
    sent: BTreeMap<String, LobbyRoom>,
    /// Per room: no `room_update` before this time.
    quiet_until: BTreeMap<String, u64>,
    /// A room became dirty since the last flush (else every dirty room is held back).
    fresh: bool,
    /// The earliest time a held-back room may be sent: until then, with nothing fresh, a
    /// flush has nothing to do (so audio frames during a burst cost no set walk).
    held_until: Option<u64>,
}

impl Lobby {
    /// `room` may have changed (a room event or presence). Nothing while nobody subscribes.
    #[inline]
    pub fn touch(&mut self, room: &str) {
        if self.active && !self.dirty.contains(room) {
            self.dirty.insert(room.to_owned());
            self.fresh = true;
        }
    }
}

/// The `node.rooms` summary of `room`.
pub(crate) fn summarize(room: &Room) -> LobbyRoom {
    LobbyRoom {
        id: room.id.clone(),
        name: room.settings.name.clone(),
        participants: room.participants.len() as u32,
        capacity: room.settings.capacity,
        guests_allowed: room.settings.guests_allowed,
        e2ee: room.settings.e2ee,
        created_ms: room.created_ms,
        speaking: room
            .participants
            .iter()
            .filter(|p| p.speaking.speaking())
            .map(|p| LobbySpeaker { participant: p.id.clone(), name: p.name.clone(), stream: p.stream })
            .collect(),
    }
}

impl Lobby {
    /// Someone subscribed: every room now, as `rooms` sends it. The first subscriber starts
    /// the bookkeeping from this state.
    pub fn subscribed(&mut self, rooms: &BTreeMap<String, Room>) -> Vec<LobbyRoom> {
        let list: Vec<LobbyRoom> = rooms.values().map(summarize).collect();
        if !self.active {
            self.active = true;
            self.dirty.clear();
            self.quiet_until.clear();
            self.sent = list.iter().map(|r| (r.id.clone(), r.clone())).collect();
        }
        list
    }

    /// What to send now (see the module docs), and when to look again for updates held back.
    /// `watched`: whether anybody subscribes now; when nobody does, everything is forgotten.
    /// Costs two comparisons when nothing changed, and allocates nothing then.
    pub fn flush(&mut self, now_ms: u64, interval_ms: u64, watched: bool, rooms: &BTreeMap<String, Room>) -> (Vec<ServerMsg>, Option<u64>) {
        let mut messages = Vec::new();
        if !watched {
            if self.active {
                *self = Lobby::default();
            }
            return (messages, None);
        }
        let same_rooms = rooms.len() == self.sent.len();
        if same_rooms && (self.dirty.is_empty() || (!self.fresh && self.held_until.is_some_and(|t| now_ms < t))) {
            return (messages, None);
        }
        if !same_rooms {
            // Created (or gone without an event): compare the two lists whole.
            for id in rooms.keys().filter(|id| !self.sent.contains_key(*id)) {
                self.dirty.insert(id.clone());
            }
            for id in self.sent.keys().filter(|id| !rooms.contains_key(*id)) {
                self.dirty.insert(id.clone());
            }
        }
        let mut wake: Option<u64> = None;
        for id in std::mem::take(&mut self.dirty) {
            let Some(room) = rooms.get(&id) else {
                self.quiet_until.remove(&id);
                if self.sent.remove(&id).is_some() {
                    messages.push(ServerMsg::RoomClosed { id });
                }
                continue;
            };
            if let Some(&until) = self.quiet_until.get(&id) {
                if now_ms < until {
                    wake = Some(wake.map_or(until, |w| w.min(until)));
                    self.dirty.insert(id);
                    continue;
                }
            }
            let summary = summarize(room);
            if self.sent.get(&id) != Some(&summary) {
                self.quiet_until.insert(id.clone(), now_ms + interval_ms);
                self.sent.insert(id, summary.clone());
                messages.push(ServerMsg::RoomUpdate { room: summary });
            }
        }
        self.fresh = false;
        self.held_until = wake;
        (messages, wake)
    }
}
