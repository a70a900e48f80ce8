//! Between-node audio suppression (docs/protocol.md, "Audio between nodes").
//!
//! Member node (B, which proxies its users into a room hosted on A): per proxied room, the
//! union of what its local sockets in the room want ([`AudioInterest::union_of`] of their
//! [`crate::topics::AudioFilter`]s). When it changes (subscribe, unsubscribe, a socket joining
//! or leaving the room), B tells A with a versioned `audio_interest` peer message; only a
//! change is sent, and what was last told is kept per (host, room) on the peer link.
//!
//! Host node (A): per (room, member node) the interest with the highest version heard
//! ([`PeerInterests`] on the peer link); the relay asks [`PeerInterests::wants`] once per
//! (frame, peer), a scan of the node's rooms and a binary search, without allocating. Unknown
//! means every stream, so a node that never sends the message gets everything. A heard
//! interest goes back to "all" (keeping its version, so a late older copy still loses) when a
//! participant of that node is admitted to the room (a join or resume, which B answers by
//! telling its interest again if it is not "all"), and is forgotten with the whole table when
//! the node's process restarts. While the node holds no participant in the room nothing is
//! sent to it anyway, so a stale entry never matters; entries of rooms that closed are
//! dropped when the node next says something.
//!
//! This module holds the data and its rules; `crate::peer_interest` wires them into the
//! engine (what triggers a message, what a received one changes).

use serde::{Deserialize, Serialize};

/// Which streams of a room a member node wants: every stream except a sorted list, or only
/// a sorted list. `AllExcept([])` ("all") is what a node gets until it says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioInterest {
    AllExcept(Vec<u16>),
    Only(Vec<u16>),
}

impl Default for AudioInterest {
    fn default() -> Self {
        AudioInterest::all()
    }
}

impl AudioInterest {
    pub fn all() -> Self {
        AudioInterest::AllExcept(Vec::new())
    }

    pub fn is_all(&self) -> bool {
        matches!(self, AudioInterest::AllExcept(l) if l.is_empty())
    }

    /// Whether frames of `stream` go to the node (binary search, no allocation).
    #[inline]
    pub fn wants(&self, stream: u16) -> bool {
        match self {
            AudioInterest::AllExcept(l) => l.binary_search(&stream).is_err(),
            AudioInterest::Only(l) => l.binary_search(&stream).is_ok(),
        }
    }

    /// Well formed: the list strictly ascending and at most `max_streams` long.
    pub fn valid(&self, max_streams: usize) -> bool {
        let (AudioInterest::AllExcept(l) | AudioInterest::Only(l)) = self;
        l.len() <= max_streams && l.windows(2).all(|w| w[0] < w[1])
    }

    /// The union of connections' audio filters, each `(every stream but the list?, sorted
    /// list)`; None for no filter at all. A list longer than `max_streams` widens to "all"
    /// (more than is wanted is always correct, less never is).
    pub fn union_of<'a>(filters: impl IntoIterator<Item = (bool, &'a [u16])>, max_streams: usize) -> Option<AudioInterest> {
        let mut acc: Option<AudioInterest> = None;
        for (all, list) in filters {
            acc = Some(match (acc, all) {
                (None, true) => AudioInterest::AllExcept(list.to_vec()),
                (None, false) => AudioInterest::Only(list.to_vec()),
                // Not wanted by both: in both exception lists.
                (Some(AudioInterest::AllExcept(e)), true) => AudioInterest::AllExcept(e.into_iter().filter(|s| list.binary_search(s).is_ok()).collect()),
                // Not wanted by the one, and not listed by the other.
                (Some(AudioInterest::AllExcept(e)), false) => AudioInterest::AllExcept(e.into_iter().filter(|s| list.binary_search(s).is_err()).collect()),
                (Some(AudioInterest::Only(o)), true) => AudioInterest::AllExcept(list.iter().copied().filter(|s| o.binary_search(s).is_err()).collect()),
                (Some(AudioInterest::Only(mut o)), false) => {
                    o.extend_from_slice(list);
                    o.sort_unstable();
                    o.dedup();
                    AudioInterest::Only(o)
                }
            });
        }
        acc.map(|i| if i.valid(max_streams) { i } else { AudioInterest::all() })
    }
}

/// One room's interest as heard from a member node.
#[derive(Debug, Clone)]
struct Heard {
    room: String,
    version: u64,
    interest: AudioInterest,
}

/// Kept on each peer link: the interests that node told us (host side) and the ones we told
/// it (member side). Bounded by the rooms (hosted here, or proxied) shared with that node.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerInterests {
    heard: Vec<Heard>,
    told: Vec<(String, AudioInterest)>,
}

impl PeerInterests {
    /// Host side, on the hot path: whether frames of `stream` in `room` go to this node.
    #[inline]
    pub fn wants(&self, room: &str, stream: u16) -> bool {
        self.heard.iter().find(|h| h.room == room).is_none_or(|h| h.interest.wants(stream))
    }

    /// Host side: takes `interest` unless a version as high was heard for `room`. Says
    /// whether it was taken.
    pub fn heed(&mut self, room: &str, version: u64, interest: AudioInterest) -> bool {
        match self.heard.iter_mut().find(|h| h.room == room) {
            Some(h) if h.version >= version => false,
            Some(h) => {
                h.version = version;
                h.interest = interest;
                true
            }
            None => {
                self.heard.push(Heard { room: room.to_string(), version, interest });
                true
            }
        }
    }

    /// Host side: forgets the interests of rooms for which `keep` is false (closed rooms).
    pub fn retain_rooms(&mut self, keep: impl Fn(&str) -> bool) {
        self.heard.retain(|h| keep(&h.room));
    }

    /// Host side: the node's interest in `room` is "all" again; its version stays, so a
    /// late copy of an older message does not come back.
    pub fn reset(&mut self, room: &str) {
        if let Some(h) = self.heard.iter_mut().find(|h| h.room == room) {
            h.interest = AudioInterest::all();
        }
    }

    /// The node's process restarted: what it said, and what we told its old process, is gone.
    pub fn forget_all(&mut self) {
        self.heard.clear();
        self.told.clear();
    }

    /// Member side: what we last told the host about `room` ("all" if nothing).
    pub fn told(&self, room: &str) -> Option<&AudioInterest> {
        self.told.iter().find(|(r, _)| r == room).map(|(_, i)| i)
    }

    pub fn set_told(&mut self, room: &str, interest: AudioInterest) {
        match self.told.iter_mut().find(|(r, _)| r == room) {
            Some((_, i)) => *i = interest,
            None => self.told.push((room.to_string(), interest)),
        }
    }

    /// Member side: the host holds "all" for `room` now (or we no longer proxy it).
    pub fn forget_told(&mut self, room: &str) {
        self.told.retain(|(r, _)| r != room);
    }
}

#[cfg(test)]
mod tests {
    use super::AudioInterest::{AllExcept, Only};
    use super::*;

    fn union(filters: &[(bool, &[u16])]) -> Option<AudioInterest> {
        AudioInterest::union_of(filters.iter().copied(), 4)
    }

    #[test]
    fn the_union_wants_what_any_socket_wants() {
        assert_eq!(union(&[]), None);
        assert_eq!(union(&[(true, &[3, 5])]), Some(AllExcept(vec![3, 5])));
        assert_eq!(union(&[(true, &[3, 5]), (true, &[5, 7])]), Some(AllExcept(vec![5])));
        assert_eq!(union(&[(true, &[3, 5]), (false, &[5])]), Some(AllExcept(vec![3])));
        assert_eq!(union(&[(false, &[5]), (true, &[3, 5])]), Some(AllExcept(vec![3])));
        assert_eq!(union(&[(false, &[5]), (false, &[1, 5])]), Some(Only(vec![1, 5])));
        assert_eq!(union(&[(false, &[]), (false, &[])]), Some(Only(vec![])));
        assert_eq!(union(&[(false, &[1, 2]), (false, &[3, 4, 5])]), Some(AudioInterest::all()), "too long: all");
    }

    #[test]
    fn wants_valid_and_versions() {
        assert!(AudioInterest::all().wants(9) && AudioInterest::all().is_all());
        assert!(!AllExcept(vec![9]).wants(9) && Only(vec![9]).wants(9) && !Only(vec![9]).wants(8));
        assert!(!AllExcept(vec![2, 1]).valid(4) && !Only(vec![1, 1]).valid(4) && !Only(vec![1, 2, 3]).valid(2));
        let mut p = PeerInterests::default();
        assert!(p.wants("r", 1));
        assert!(p.heed("r", 2, Only(vec![2])));
        assert!(!p.wants("r", 1) && p.wants("other", 1));
        assert!(!p.heed("r", 1, AudioInterest::all()), "older");
        assert!(!p.heed("r", 2, AudioInterest::all()), "same version");
        p.reset("r");
        assert!(p.wants("r", 1));
        assert!(!p.heed("r", 2, Only(vec![2])), "a reset keeps the version");
        assert!(p.heed("r", 3, Only(vec![2])));
    }
}
