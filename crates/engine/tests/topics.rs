//! Topic subscriptions against a reference written independently of `topics/`: random
//! subscribe/unsubscribe sequences on a plain set of topic names (subscribe adds what the
//! pattern matches, unsubscribe removes it), then every topic is delivered exactly when it is
//! in that set and the connection may see it, and the resolved audio filter agrees with
//! per-topic delivery for every stream.

use proptest::prelude::*;
use std::collections::BTreeSet;
use voice_chat_engine::topics::{AudioFilter, Pattern, RoomTopic, Subscriptions, Topic, Viewer, MAX_SUBSCRIPTIONS};

/// The segments patterns are drawn from. Every literal here (and every other literal a case's
/// patterns hold) is also a room id in the universe below, and every canonical number a
/// stream, so "no topic matches" can be decided by enumeration.
const ALPHABET: &[&str] = &[
    "room", "node", "rooms", "chat", "events", "presence", "typing", "speaking", "audio", "A", "B", "0", "7", "07", "65535", "x", "*",
    "**",
];
/// Pieces no valid pattern contains.
const BAD: &[&str] = &["", "a*", "*a", "***", ">", "#", "+", "é", "a b", "a/b"];

const FRESH_ROOM: &str = "fresh";
const FRESH_STREAM: &str = "12345";

fn rooms() -> Vec<&'static str> {
    let mut r: Vec<&str> = ALPHABET.iter().copied().filter(|s| !s.starts_with('*')).collect();
    r.push(FRESH_ROOM);
    r
}

/// The segments of `patterns` that could be room ids but are not in the alphabet.
fn extra_rooms(patterns: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in patterns {
        for s in p.split('.') {
            let literal = !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if literal && !ALPHABET.contains(&s) && !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        }
    }
    out
}

fn streams() -> Vec<&'static str> {
    vec!["0", "7", "65535", FRESH_STREAM]
}

/// Every topic name with a room id and stream from the alphabet (plus one of neither), and
/// with the `extra` room ids.
fn universe(extra: &[String]) -> Vec<String> {
    let mut all = vec!["node.rooms".to_string()];
    for r in rooms().into_iter().chain(extra.iter().map(String::as_str)) {
        for t in ["chat", "events", "presence.typing", "presence.speaking"] {
            all.push(format!("room.{r}.{t}"));
        }
        for s in streams() {
            all.push(format!("room.{r}.audio.{s}"));
        }
    }
    all
}

fn ref_valid(p: &str) -> bool {
    let segs: Vec<&str> = p.split('.').collect();
    !p.is_empty()
        && p.len() <= 128
        && segs.len() <= 8
        && segs.iter().enumerate().all(|(i, s)| {
            *s == "*"
                || (*s == "**" && i == segs.len() - 1)
                || (!s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        })
}

fn ref_match(p: &[&str], t: &[&str]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some(&"**"), Some(_)) => true,
        (Some(&"*"), Some(_)) => ref_match(&p[1..], &t[1..]),
        (Some(a), Some(b)) if a == b => ref_match(&p[1..], &t[1..]),
        _ => false,
    }
}

fn matches(p: &str, t: &str) -> bool {
    ref_match(&p.split('.').collect::<Vec<_>>(), &t.split('.').collect::<Vec<_>>())
}

#[derive(Debug, Clone, Copy)]
struct Who {
    owner: bool,
    room: Option<&'static str>,
}

impl Who {
    fn viewer(self) -> Viewer<'static> {
        Viewer { owner: self.owner, room: self.room }
    }
}

fn ref_may_see(who: Who, t: &str) -> bool {
    let segs: Vec<&str> = t.split('.').collect();
    if t == "node.rooms" {
        return who.owner;
    }
    if Some(segs[1]) == who.room {
        return true;
    }
    who.owner && segs.len() == 4 && segs[2] == "presence"
}

#[derive(Debug, Clone)]
enum Op {
    Sub(String),
    Unsub(String),
}

fn pattern_text() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        12 => proptest::sample::select(ALPHABET).prop_map(str::to_string),
        1 => proptest::sample::select(BAD).prop_map(str::to_string),
        1 => (60..70usize).prop_map(|n| "y".repeat(n)),
    ];
    let room_seg = proptest::sample::select(&["A", "B", "*", "x"][..]);
    let rest = proptest::sample::select(
        &["chat", "events", "presence.typing", "presence.speaking", "presence.*", "presence.**", "audio.0", "audio.7", "audio.65535", "audio.*", "audio.**", "*", "**", "*.*", "*.7"][..],
    );
    prop_oneof![
        // Room topics and their families, so that subscribe and unsubscribe overlap often.
        8 => (room_seg, rest).prop_map(|(r, rest)| format!("room.{r}.{rest}")),
        // Shaped like topics, from the whole alphabet.
        8 => (proptest::sample::select(&["room", "node", "*", "**"][..]), proptest::collection::vec(seg.clone(), 0..4))
            .prop_map(|(first, rest)| std::iter::once(first.to_string()).chain(rest).collect::<Vec<_>>().join(".")),
        1 => proptest::collection::vec(seg, 1..11).prop_map(|v| v.join(".")),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![3 => pattern_text().prop_map(Op::Sub), 1 => pattern_text().prop_map(Op::Unsub)]
}

fn who() -> impl Strategy<Value = Who> {
    (any::<bool>(), proptest::sample::select(&[None, Some("A"), Some("B")][..])).prop_map(|(owner, room)| Who { owner, room })
}

fn topic_of(name: &str) -> Topic<'_> {
    Topic::parse(name).unwrap_or_else(|| panic!("{name} is a topic"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn delivery_is_subscribed_and_permitted(subscriber in who(), ops in proptest::collection::vec(op(), 0..60), others in proptest::collection::vec(who(), 3)) {
        let texts: Vec<&str> = ops.iter().map(|op| match op { Op::Sub(p) | Op::Unsub(p) => p.as_str() }).collect();
        let universe = universe(&extra_rooms(&texts));
        let mut subs = Subscriptions::new();
        // The reference: the set of wanted topic names, and the rule count (docs: the rules
        // of the same pattern are replaced by one at the end; a `-` rule is dropped with
        // everything else when no `+` rule is left; at most 32 rules).
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        let mut rules: Vec<(bool, String)> = Vec::new();
        let put = |rules: &mut Vec<(bool, String)>, want: bool, p: &str| -> Result<(), &'static str> {
            let others: Vec<(bool, String)> = rules.iter().filter(|(_, q)| q != p).cloned().collect();
            let keep = want || others.iter().any(|(w, _)| *w);
            if keep && others.len() + 1 > MAX_SUBSCRIPTIONS {
                return Err("too_many_subscriptions");
            }
            *rules = if keep { others.into_iter().chain([(want, p.to_string())]).collect() } else { Vec::new() };
            Ok(())
        };
        for op in &ops {
            match op {
                Op::Sub(p) => {
                    let got = subs.subscribe(p, subscriber.viewer()).map(|p| p.as_str().to_string()).map_err(|e| e.code());
                    let want = if !ref_valid(p) || !universe.iter().any(|t| matches(p, t)) {
                        Err("invalid_pattern")
                    } else if !universe.iter().any(|t| matches(p, t) && ref_may_see(subscriber, t)) {
                        Err("forbidden")
                    } else {
                        put(&mut rules, true, p).map(|()| {
                            wanted.extend(universe.iter().filter(|t| matches(p, t)).cloned());
                            p.clone()
                        })
                    };
                    prop_assert_eq!(&got, &want, "subscribe {:?}", p);
                    if let Ok(p) = &got {
                        // The confirmation lists exactly the permitted topics it matches.
                        let pattern = Pattern::parse(p).unwrap();
                        let listed = Subscriptions::matched(&pattern, subscriber.viewer(), universe.iter().map(|t| topic_of(t)));
                        let expected: Vec<String> = universe.iter().filter(|t| matches(p, t) && ref_may_see(subscriber, t)).cloned().collect();
                        prop_assert_eq!(listed, expected);
                    }
                }
                Op::Unsub(p) => {
                    let got = subs.unsubscribe(p).map_err(|e| e.code());
                    let want = if ref_valid(p) {
                        put(&mut rules, false, p).map(|()| wanted.retain(|t| !matches(p, t)))
                    } else {
                        Err("invalid_pattern")
                    };
                    prop_assert_eq!(got, want, "unsubscribe {:?}", p);
                }
            }
            prop_assert!(subs.len() <= MAX_SUBSCRIPTIONS);
            prop_assert_eq!(subs.len(), rules.len());
        }
        // Permission is per topic at delivery time: check for the subscriber and for others
        // (the same connection after joining or leaving a room).
        for viewer in std::iter::once(subscriber).chain(others) {
            for t in &universe {
                let want = wanted.contains(t) && ref_may_see(viewer, t);
                prop_assert_eq!(subs.delivers(viewer.viewer(), &topic_of(t)), want, "{} for {:?}", t, viewer);
                // A guest never gets another room or the room list, whatever it holds.
                if !viewer.owner && want {
                    let own = format!("room.{}.", viewer.room.unwrap());
                    prop_assert!(t.starts_with(&own), "{} for {:?}", t, viewer);
                }
            }
            // The audio filter, resolved once, agrees with per-topic delivery for every stream.
            for room in rooms() {
                let filter = AudioFilter::resolve(&subs, viewer.viewer(), room);
                for stream in [0u16, 1, 7, 8, 65535, 12345, 40000] {
                    let topic = Topic::Room(room, RoomTopic::Audio(stream));
                    prop_assert_eq!(filter.wants(stream), subs.delivers(viewer.viewer(), &topic), "{} for {:?}", topic, viewer);
                }
            }
        }
    }

    #[test]
    fn grammar_matches_the_reference(p in pattern_text()) {
        prop_assert_eq!(Pattern::parse(&p).is_ok(), ref_valid(&p), "{:?}", p);
        if let Ok(pattern) = Pattern::parse(&p) {
            for t in universe(&extra_rooms(&[&p])) {
                prop_assert_eq!(pattern.matches(&topic_of(&t)), matches(&p, &t), "{} vs {}", p, t);
            }
        }
    }
}
