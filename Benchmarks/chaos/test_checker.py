#!/usr/bin/env python3
"""The chaos checker against made-up runs: each breach of the promise is found and named, and a
clean run, a declared gap and a seq given again after its withdrawal are not anomalies.

  python3 Benchmarks/chaos/test_checker.py
"""

import os
import sys
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos  # noqa: E402


class FakeHarness:
    def __init__(self):
        self.fault_log = [{"kind": "partition", "start": 10.0, "end": 12.0, "detail": ""}]

    def now(self):
        return 100.0


def make_workload(posts, retractions=()):
    workload = types.SimpleNamespace(viewers=[], accepted=[], retractions=list(retractions))
    harness = FakeHarness()
    for index, (seq, cid) in enumerate(posts):
        workload.accepted.append({"id": cid, "seq": seq, "room": "r", "answered": 1.0 + index, "sent": 0.5 + index})
    return harness, workload


def viewer(workload, messages, start=0, name="viewer0", connects=None, drops=None):
    state = {"name": name, "room": "r", "last": None, "epoch": 0, "start": None, "seen": set(), "screen": {},
             "deliveries": [], "duplicates": [], "reorders": [], "after_retract": [], "after_retract_ids": set(),
             "gaps": [], "retracted": {}, "withdrawn_at": {}, "restarts": [],
             "connects": connects or [{"at": 0.0}], "drops": drops or [], "connection": 1, "delivered_on": {},
             "retracted_on": {}}
    harness = types.SimpleNamespace(now=lambda: 11.0)
    feeder = chaos.Workload.__new__(chaos.Workload)
    feeder.h = harness
    feeder.on_message(state, {"type": "hello", "lastSeq": start, "epoch": 7}, "push1")
    for message in messages:
        if message == RECONNECT:
            state["connection"] += 1
            continue
        feeder.on_message(state, message, "push1")
    workload.viewers.append(state)
    return state


# Between messages: the viewer's connection was replaced by a new one.
RECONNECT = {"reconnect": True}


def batch(*items):
    return {"type": "comments", "comments": [{"seq": seq, "id": cid} for seq, cid in items]}


class CheckerTests(unittest.TestCase):
    posts = [(1, "a"), (2, "b"), (3, "c")]
    history = {"r": ({"a": 1, "b": 2, "c": 3}, 3, 7)}

    def check(self, harness, workload, history=None):
        counts, anomalies = chaos.check(harness, workload, history or self.history)
        return {k: v for k, v in counts.items() if v}, anomalies

    def test_a_clean_run_has_no_anomaly(self):
        harness, workload = make_workload(self.posts)
        viewer(workload, [batch((1, "a"), (2, "b")), batch((3, "c"))])
        self.assertEqual(self.check(harness, workload)[0], {})

    def test_a_missing_comment_is_lost_with_its_fault_window(self):
        harness, workload = make_workload(self.posts)
        viewer(workload, [batch((1, "a"), (3, "c"))])
        counts, anomalies = self.check(harness, workload)
        self.assertEqual(counts, {"lost": 1})
        self.assertEqual((anomalies[0]["seq"], anomalies[0]["id"], anomalies[0]["viewer"]), (2, "b", "viewer0"))
        self.assertEqual(anomalies[0]["faults"], [])
        harness.fault_log[0]["start"] = 1.5
        self.assertEqual(self.check(harness, workload)[1][0]["faults"], ["partition@1.5-12.0"])

    def test_a_declared_gap_covers_what_it_names(self):
        harness, workload = make_workload(self.posts)
        viewer(workload, [{"type": "gap", "from": 1, "to": 2}, batch((3, "c"))])
        self.assertEqual(self.check(harness, workload)[0], {})

    def test_twice_and_out_of_order(self):
        harness, workload = make_workload(self.posts)
        viewer(workload, [batch((1, "a"), (3, "c")), batch((2, "b")), batch((3, "c"))])
        self.assertEqual(self.check(harness, workload)[0], {"duplicated": 1, "reordered": 1})

    def test_a_seq_given_again_after_its_withdrawal_is_in_order(self):
        harness, workload = make_workload([(1, "a"), (2, "b2")])
        viewer(workload, [batch((1, "a"), (2, "b1")), {"type": "retract", "seq": 2, "id": "b1"}, batch((2, "b2"))])
        self.assertEqual(self.check(harness, workload, {"r": ({"a": 1, "b2": 2}, 2, 7)})[0], {})

    def test_history_without_a_201(self):
        harness, workload = make_workload(self.posts)
        viewer(workload, [batch((1, "a"), (3, "c"))])
        counts = self.check(harness, workload, {"r": ({"a": 1, "c": 3}, 3, 7)})[0]
        self.assertEqual(counts, {"history_missing": 1})

    def test_a_withdrawn_comment_left_on_screen(self):
        harness, workload = make_workload([(1, "a")])
        viewer(workload, [batch((1, "a"), (2, "w"))])
        self.assertEqual(self.check(harness, workload, {"r": ({"a": 1}, 2, 7)})[0], {"withdrawn_on_screen": 1})
        harness, workload = make_workload([(1, "a")])
        viewer(workload, [batch((1, "a"), (2, "w"))], drops=[{"at": 14.0}])
        counts = self.check(harness, workload, {"r": ({"a": 1}, 2, 7)})[0]
        self.assertEqual(counts, {"withdrawn_on_screen": 1}, "a resume brings the retract the viewer was away for")

    def test_retractions(self):
        retraction = {"id": "b", "seq": 2, "room": "r", "sent": 10.5, "answered": 10.6, "status": 200}
        history = {"r": ({"a": 1, "c": 3}, 3, 7)}
        harness, workload = make_workload(self.posts, [retraction])
        viewer(workload, [batch((1, "a"), (2, "b")), {"type": "retract", "seq": 2, "id": "b"}, batch((3, "c"))])
        self.assertEqual(self.check(harness, workload, history)[0], {})
        harness, workload = make_workload(self.posts, [retraction])
        viewer(workload, [batch((1, "a"), (2, "b"), (3, "c"))])
        self.assertEqual(self.check(harness, workload, history)[0], {"retract_lost": 1})
        harness, workload = make_workload(self.posts, [retraction])
        viewer(workload, [batch((1, "a"), (2, "b"), (3, "c"))], connects=[{"at": 0.0}, {"at": 10.0}])
        self.assertEqual(self.check(harness, workload, history)[0], {"retract_lost": 1}, "a resume brings the retract")
        harness, workload = make_workload(self.posts, [retraction])
        viewer(workload, [batch((1, "a"), (2, "b")), {"type": "hello", "lastSeq": 2, "epoch": 7},
                          {"type": "retract", "seq": 2, "id": "b"}, batch((3, "c"))], connects=[{"at": 0.0}, {"at": 10.0}])
        self.assertEqual(self.check(harness, workload, history)[0], {}, "told on its resume")
        harness, workload = make_workload(self.posts, [retraction])
        viewer(workload, [batch((1, "a")), {"type": "retract", "seq": 2, "id": "b"}, batch((2, "b"), (3, "c"))])
        self.assertEqual(self.check(harness, workload, history)[0], {"shown_after_retract": 1})
        harness, workload = make_workload(self.posts, [dict(retraction, sent=5.0, answered=5.1)])
        viewer(workload, [batch((1, "a"), (2, "b"), (3, "c"))], connects=[{"at": 0.0}, {"at": 6.0}])
        # Delivered 5.9 s after the 200 (the viewer reconnected before the retraction), and its
        # retract never came: still on the screen at the end, a second breach.
        self.assertEqual(self.check(harness, workload, history)[0], {"shown_after_retract": 1, "retract_lost": 1})

    def test_a_late_comment_its_retract_follows_on_the_same_connection(self):
        retraction = {"id": "b", "seq": 2, "room": "r", "sent": 5.0, "answered": 5.1, "status": 200}
        history = {"r": ({"a": 1, "c": 3}, 3, 7)}
        # Arrives 5.9 s after the 200 over a held-up link, and its retract right behind it: the
        # push node sent it before it took the retraction in.
        harness, workload = make_workload(self.posts, [retraction])
        viewer(workload, [batch((1, "a"), (2, "b")), {"type": "retract", "seq": 2, "id": "b"}, batch((3, "c"))])
        self.assertEqual(self.check(harness, workload, history)[0], {})
        # The retract came on a later connection only: nothing shows the comment was sent before it.
        harness, workload = make_workload(self.posts, [retraction])
        viewer(workload, [batch((1, "a"), (2, "b")), RECONNECT, {"type": "hello", "lastSeq": 2, "epoch": 7},
                          {"type": "retract", "seq": 2, "id": "b"}, batch((3, "c"))])
        self.assertEqual(self.check(harness, workload, history)[0], {"shown_after_retract": 1})
        # It followed on the same connection, and a later resume told it again (a resume repeats
        # the room's recent retractions): the first retract is the one that counts (seed 301).
        harness, workload = make_workload(self.posts, [retraction])
        viewer(workload, [batch((1, "a"), (2, "b")), {"type": "retract", "seq": 2, "id": "b"}, batch((3, "c")), RECONNECT,
                          {"type": "hello", "lastSeq": 3, "epoch": 7}, {"type": "retract", "seq": 2, "id": "b"}])
        self.assertEqual(self.check(harness, workload, history)[0], {})


if __name__ == "__main__":
    unittest.main()
