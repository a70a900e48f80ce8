//! The engine's side of `node.rooms` (`crate::lobby`): the list for a new subscriber, and what
//! changed for every subscriber at the end of each input.

use crate::engine::Engine;
use crate::protocol::ServerMsg;
use crate::timers::Timer;
use crate::ConnId;

impl Engine {
    /// `conn` just subscribed to `node.rooms`: it gets every room now.
    pub(crate) fn lobby_subscribed(&mut self, conn: ConnId) {
        let rooms = self.out.lobby.subscribed(&self.rooms);
        self.out.send_one(conn, ServerMsg::Rooms { rooms });
    }

    /// Sends what changed to the `node.rooms` subscribers. Runs at the end of every input
    /// (`Engine::settle`); the `Lobby` timer brings it back for updates held back.
    pub(crate) fn flush_lobby(&mut self, now_ms: u64) {
        let watched = self.out.subs.has_lobby_watchers();
        let (messages, wake) = self.out.lobby.flush(now_ms, self.cfg.lobby_update_ms, watched, &self.rooms);
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
