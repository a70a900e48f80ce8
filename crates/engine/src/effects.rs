//! What a transition may cause, gathered in one place so that every room event reaches each
//! member exactly once per node: messages to sockets (the [`Outbox`]), control messages to
//! peers (the [`PeerLinks`]), a save (the [`SaveSchedule`]) and the counters.

use crate::error::EngineError;
use crate::lobby::Lobby;
use crate::metrics::Metrics;
use crate::outbox::{Outbox, Pending};
use crate::peer_wire::PeerMsg;
use crate::peer_links::PeerLinks;
use crate::protocol::{Event, Presence, ServerMsg};
use crate::room::{Notice, Room};
use crate::save::SaveSchedule;
use crate::subscribers::{event_topic, presence_topic, Subscribers};
use crate::topics::Topic;
use crate::ConnId;

pub(crate) struct Effects {
    pub queue: Outbox,
    pub peers: PeerLinks,
    pub metrics: Metrics,
    pub save: SaveSchedule,
    /// What each socket subscribed to: room pushes go only to sockets that want them.
    pub subs: Subscribers,
    /// What the `node.rooms` subscribers were sent and which rooms changed since.
    pub lobby: Lobby,
}

impl Effects {
    pub fn send(&mut self, conns: Vec<ConnId>, msg: ServerMsg) {
        self.queue.text(conns, msg);
    }

    /// Sends a push of `topic` to those of a room's sockets `conns` that want it.
    pub fn send_topic(&mut self, mut conns: Vec<ConnId>, topic: &Topic<'_>, msg: ServerMsg) {
        self.subs.retain_wanting(&mut conns, topic);
        self.send(conns, msg);
    }

    pub fn send_one(&mut self, conn: ConnId, msg: ServerMsg) {
        self.queue.text(vec![conn], msg);
    }

    pub fn error(&mut self, conn: ConnId, err: &EngineError, reference: Option<String>) {
        self.metrics.control_errors += 1;
        self.send_one(conn, ServerMsg::error(err, reference));
    }

    pub fn close(&mut self, conn: ConnId) {
        self.queue.push(Pending::Close(conn));
    }

    pub fn reachable(&self, node: &str) -> bool {
        self.peers.reachable(node)
    }

    /// A control message to `node`, retried by the engine until answered or given up.
    pub fn send_peer(&mut self, node: &str, now: u64, msg: PeerMsg) {
        let request = self.peers.send(node, now, msg);
        self.metrics.peer_messages_out += 1;
        self.queue.push(Pending::PeerControl(request));
    }

    pub fn mark_dirty(&mut self) {
        self.save.changed();
    }

    /// Sends a room event to everyone in the room: local sockets that subscribed to its topic
    /// and each reachable peer once.
    pub fn emit(&mut self, room: &mut Room, now: u64, event: Event) {
        self.lobby.touch(&room.id);
        let logged = room.log.append(event).clone();
        let msg = ServerMsg::Event { room: room.id.clone(), seq: logged.seq, event: logged.event.clone() };
        self.send_topic(room.local_conns(), &event_topic(&room.id, &logged.event), msg);
        for node in room.peer_nodes() {
            if self.reachable(&node) {
                self.send_peer(&node, now, PeerMsg::Event { room: room.id.clone(), event: logged.clone() });
            }
        }
        self.mark_dirty();
    }

    /// Sends what a room transition returned, in its order.
    pub fn publish(&mut self, room: &mut Room, now: u64, notices: Vec<Notice>) {
        for notice in notices {
            match notice {
                Notice::Event(event) => self.emit(room, now, event),
                Notice::Presence(presence) => self.announce(room, now, presence),
            }
        }
    }

    /// Sends a presence change to the room's sockets that want it, the owner's sockets that
    /// watch it from outside (`room.<id>.presence.*` without joining), and each reachable peer.
    pub fn announce(&mut self, room: &Room, now: u64, event: Presence) {
        self.lobby.touch(&room.id);
        let topic = presence_topic(&room.id, &event);
        let mut conns = room.local_conns();
        self.subs.retain_wanting(&mut conns, &topic);
        self.subs.add_outsiders(&mut conns, &room.id, &topic);
        self.send(conns, ServerMsg::Presence { room: room.id.clone(), event: event.clone() });
        for node in room.peer_nodes() {
            if self.reachable(&node) {
                self.send_peer(&node, now, PeerMsg::Presence { room: room.id.clone(), event: event.clone() });
            }
        }
    }
}
