//! Between-node audio suppression, the engine's side (docs/protocol.md, "Audio between
//! nodes"; the data and its rules are `crate::audio_interest`). Member side: after anything
//! that may change which streams its sockets in a proxied room want, the union is told to the
//! host if it changed. Host side: a received `audio_interest` is checked and kept on the
//! sender's peer link, where the relay reads it.

use crate::audio_interest::AudioInterest;
use crate::engine::{Engine, Membership};
use crate::error::ErrorCode;
use crate::peer_wire::PeerMsg;

impl Engine {
    /// Member side: after anything that may change which streams our sockets in a proxied
    /// room want (their subscriptions, or the room they are in).
    pub(crate) fn audio_interest_may_change(&mut self, membership: &Option<Membership>) {
        if let Some(Membership::Remote { host, room }) = membership {
            let (host, room) = (host.clone(), room.clone());
            self.tell_audio_interest(&host, &room);
        }
    }

    /// Member side: tells `host` the union of what our sockets in `room` want, if it differs
    /// from what we told it last. Sockets that are no longer in the room (being let go) do
    /// not count; with none left there is nothing to say.
    pub(crate) fn tell_audio_interest(&mut self, host: &str, room: &str) {
        self.tell_audio_interest_or_repeat(host, room, false);
    }

    /// As `tell_audio_interest`; with `repeat`, also when the union is what we told last.
    fn tell_audio_interest_or_repeat(&mut self, host: &str, room: &str, repeat: bool) {
        let now = self.clock;
        let Some(proxy) = self.proxies.get(host).and_then(|r| r.get(room)) else {
            // A told "all" needs no memory; a told narrowing is kept until our next `joined`
            // there (see `audio_interest_after_joined`; one entry per room we were in on that
            // host, gone with the peer link or the host's restart).
            if let Some(id) = self.out.peers.id_of(host) {
                let interests = &mut self.out.peers.get_mut(id).interests;
                if interests.told(room).is_some_and(|told| *told == AudioInterest::all()) {
                    interests.forget_told(room);
                }
            }
            return;
        };
        let in_room = |conn| {
            self.conns.get(&conn).is_some_and(|c| matches!(&c.membership, Some(Membership::Remote { host: h, room: r }) if h == host && r == room))
        };
        let filters = proxy
            .members
            .iter()
            // Only users the host admitted: a join still on its way is told after its
            // `joined` (`audio_interest_after_joined`), when the host counts the node a member.
            .filter(|m| m.participant.is_some() && in_room(m.conn))
            .map(|m| self.out.subs.audio_filter(m.conn).map_or((true, &[][..]), |f| f.parts()));
        let Some(union) = AudioInterest::union_of(filters, self.cfg.max_participants as usize) else { return };
        if !self.out.reachable(host) {
            // Told again when it is back (`peer_came_back`).
            return;
        }
        let link = self.out.peers.link(host, now);
        if !repeat && link.interests.told(room).unwrap_or(&AudioInterest::all()) == &union {
            return;
        }
        link.interests.set_told(room, union.clone());
        let version = self.out.peers.next_interest_version();
        self.out.send_peer(host, now, PeerMsg::AudioInterest { room: room.to_string(), interest: union, version });
    }

    /// Member side: the host just admitted one of our users to `room`, which resets what it
    /// heard from us to "all": tell it again unless that is right. If we ever told it a
    /// narrowing, tell it even "all": that narrowing may be a retry still on its way (sent
    /// before our users left and came back), and only a newer version keeps it from winning.
    pub(crate) fn audio_interest_after_joined(&mut self, host: &str, room: &str) {
        let mut narrowed_before = false;
        if let Some(id) = self.out.peers.id_of(host) {
            let interests = &mut self.out.peers.get_mut(id).interests;
            narrowed_before = interests.told(room).is_some_and(|told| *told != AudioInterest::all());
            interests.forget_told(room);
        }
        self.tell_audio_interest_or_repeat(host, room, narrowed_before);
    }

    /// Host side: `audio_interest` from `from`. Refused (counted in `peer_messages_refused`,
    /// nothing changes) unless `from` holds participants in `room` (connected or
    /// reconnecting) and the list is strictly ascending and at most `max_participants`
    /// long; an older or equal version than one heard is ignored.
    pub(crate) fn heed_audio_interest(&mut self, from: &str, room: &str, interest: AudioInterest, version: u64) -> Result<(), ErrorCode> {
        let member = self.rooms.get(room).is_some_and(|r| r.participants.iter().any(|p| p.is_remote_of(from)));
        if !member {
            self.out.metrics.peer_messages_refused += 1;
            return Err(ErrorCode::NotMember);
        }
        if !interest.valid(self.cfg.max_participants as usize) {
            self.out.metrics.peer_messages_refused += 1;
            return Err(ErrorCode::Malformed);
        }
        let Some(id) = self.out.peers.id_of(from) else { return Ok(()) };
        let rooms = &self.rooms;
        let link = self.out.peers.get_mut(id);
        link.interests.retain_rooms(|r| rooms.contains_key(r));
        link.interests.heed(room, version, interest);
        Ok(())
    }
}
