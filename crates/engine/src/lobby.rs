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

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::Engine;
use crate::protocol::{LobbyRoom, LobbySpeaker, ServerMsg};
use crate::room::Room;
use crate::timers::Timer;
use crate::ConnId;

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
}

impl Lobby {
    /// `room` may have changed (a room event or presence). Nothing while nobody subscribes.
    #[inline]
    pub fn touch(&mut self, room: &str) {
        if self.active && !self.dirty.contains(room) {
            self.dirty.insert(room.to_owned());
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
        created_ms: room.created_ms,
        speaking: room
            .participants
            .iter()
            .filter(|p| p.speaking.speaking())
            .map(|p| LobbySpeaker { participant: p.id.clone(), name: p.name.clone(), stream: p.stream })
            .collect(),
    }
}

impl Engine {
    /// Every room hosted here, as `node.rooms` shows it.
    fn lobby_rooms(&self) -> Vec<LobbyRoom> {
        self.rooms.values().map(summarize).collect()
    }

    /// `conn` just subscribed to `node.rooms`: it gets every room now. The first subscriber
    /// starts the bookkeeping from this state.
    pub(crate) fn lobby_subscribed(&mut self, conn: ConnId) {
        let rooms = self.lobby_rooms();
        let lobby = &mut self.out.lobby;
        if !lobby.active {
            lobby.active = true;
            lobby.dirty.clear();
            lobby.quiet_until.clear();
            lobby.sent = rooms.iter().map(|r| (r.id.clone(), r.clone())).collect();
        }
        self.out.send_one(conn, ServerMsg::Rooms { rooms });
    }

    /// Sends what changed to the `node.rooms` subscribers (see the module docs). Runs at the
    /// end of every input; costs two comparisons when nothing changed.
    pub(crate) fn flush_lobby(&mut self, now_ms: u64) {
        if !self.out.subs.has_lobby_watchers() {
            if self.out.lobby.active {
                self.out.lobby = Lobby::default();
            }
            return;
        }
        let lobby = &mut self.out.lobby;
        if lobby.dirty.is_empty() && self.rooms.len() == lobby.sent.len() {
            return;
        }
        if self.rooms.len() != lobby.sent.len() {
            // Created (or gone without an event): compare the two lists whole.
            for id in self.rooms.keys().filter(|id| !lobby.sent.contains_key(*id)) {
                lobby.dirty.insert(id.clone());
            }
            for id in lobby.sent.keys().filter(|id| !self.rooms.contains_key(*id)) {
                lobby.dirty.insert(id.clone());
            }
        }
        let mut wake: Option<u64> = None;
        let mut messages = Vec::new();
        let dirty = std::mem::take(&mut lobby.dirty);
        for id in dirty {
            let Some(room) = self.rooms.get(&id) else {
                lobby.quiet_until.remove(&id);
                if lobby.sent.remove(&id).is_some() {
                    messages.push(ServerMsg::RoomClosed { id });
                }
                continue;
            };
            if let Some(&until) = lobby.quiet_until.get(&id) {
                if now_ms < until {
                    wake = Some(wake.map_or(until, |w| w.min(until)));
                    lobby.dirty.insert(id);
                    continue;
                }
            }
            let summary = summarize(room);
            if lobby.sent.get(&id) != Some(&summary) {
                lobby.quiet_until.insert(id.clone(), now_ms + self.cfg.lobby_update_ms);
                lobby.sent.insert(id, summary.clone());
                messages.push(ServerMsg::RoomUpdate { room: summary });
            }
        }
        if let Some(at) = wake {
            self.timers.arm(Timer::Lobby, at);
        }
        if messages.is_empty() {
            return;
        }
        let watchers: Vec<ConnId> = self.out.subs.lobby_watchers().collect();
        for msg in messages {
            self.out.send(watchers.clone(), msg);
        }
    }
}
