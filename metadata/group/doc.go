// Package group is the consumer-group coordinator's state machine for
// Kafka's classic group protocol: JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, and the member checks of OffsetCommit. It is pure: no I/O, no
// goroutines, no clock. Every method takes the time it happens at, and
// Tick applies the deadlines (sessions, the join phase, the sync barrier)
// that have passed; NextDeadline says when to call it next.
//
// How the parts fit:
//   - group.go: the Group, its persistence bookkeeping and Describe.
//   - join.go: joining, static members, and the rebalance (the join phase,
//     the protocol vote, the sync barrier).
//   - members.go: SyncGroup, Heartbeat, LeaveGroup, OffsetCommit checks and
//     the deadlines.
//   - retention.go: which offsets of an empty group have expired.
//
// The owner (the agent runs one goroutine per group) calls one method per
// request or timer, then, if NeedsSave, saves Snapshot with
// metadata.GroupStore.SaveGroup expecting SavedGeneration and calls Saved,
// and then Flush, which delivers the answers decided. Answers wait for the
// save so that no member learns a generation, an assignment or a member id
// the store does not hold: a coordinator that takes the group over carries
// on from what members were told. If the save fails the owner calls Abort,
// which answers everything waiting with an error and forgets the group;
// the owner loads it again for the next request.
//
// Invariants:
//   - Every done callback given to Join or Sync is called exactly once, by
//     Flush or Abort.
//   - The generation only grows, by one per completed join phase, and
//     every new generation needs a save; so a member's generation is one
//     the store has held, and the store's generation fence on offset
//     commits refuses a stale coordinator's members.
//   - Member metadata and assignments are opaque bytes, so any client-side
//     assignor works.
//   - A static member (group.instance.id) that joins again without its
//     member id gets a new one; the old id is fenced (FENCED_INSTANCE_ID).
package group
