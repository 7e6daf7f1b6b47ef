// Package agent is Sluice's Kafka protocol server: a stateless agent that
// any client can use for any partition.
//
// How the parts fit:
//   - server.go accepts connections; conn.go gives each one a read and a
//     write goroutine. The reader decodes requests with kmsg and hands them
//     to their handlers in order; the writer sends responses in that same
//     order, whenever each handler answers (a produce waits for its flush,
//     a fetch may long-poll).
//   - dispatch.go is the registry of served API keys and versions;
//     ApiVersions answers from it. One file per API, named by key.
//   - The write path: 00_produce.go validates batches and appends them to
//     the produce buffer (agent/produce), which uploads one object per flush
//     and commits it to metadata before any producer is answered.
//   - The read path: logview.go caches partition offsets and recent index
//     entries from commit notifications, and a read-ahead of the index for
//     readers behind the tail; a Fetch first prefetches every range its
//     partitions will want (01_fetch.go), then read.go reads them in request
//     order and writes assigned offsets into batch headers. Each object
//     this agent flushes enters the fetch cache on upload (server.go), so
//     its consumers at the tail read without a GET.
//   - The fleet (fleet.go): the agent registers in the store with a
//     heartbeat that expires, lists the live agents as brokers, and picks
//     partition leaders and group coordinators over them by rendezvous
//     hashing; leadership only spreads load, as every agent serves every
//     partition. Zone hints in client ids narrow the list to a zone.
//   - Groups (groups.go, group_actor.go): one actor goroutine per group this
//     agent coordinates, its state in the store fenced by generation, so
//     another agent carries a group on. internal_topics.go keeps the empty
//     __consumer_offsets clients expect.
//   - Maintenance (maintenance.go): every agent compacts, retains and cleans
//     up the partitions whose lease it takes, on a timer owned by Run.
//   - kerr.go is the only place Go errors become Kafka error codes.
//
// Invariants:
//   - A produce is acknowledged only after its object is uploaded and its
//     commit has assigned offsets (acks=0 excepted, as in Kafka).
//   - The agent holds no durable state: its buffer and caches only. Run
//     owns every goroutine it starts (buffer, watcher, maintenance, fleet
//     heartbeat, group actors) and stops them before it returns.
//   - Malformed input closes that one connection with one log line or gets
//     a Kafka error code; it never stops the agent.
package agent
