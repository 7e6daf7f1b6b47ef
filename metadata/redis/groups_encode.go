package redis

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/metadata"
)

// A group's state is stored as JSON with short names; byte fields are
// base64 and come back exactly, times and timeouts are Unix milliseconds.
// Renaming a tag is a format change.
type groupJSON struct {
	Type       string       `json:"t,omitempty"`
	Protocol   string       `json:"p,omitempty"`
	Generation int32        `json:"g"`
	Leader     string       `json:"l,omitempty"`
	State      string       `json:"s,omitempty"`
	Members    []memberJSON `json:"m,omitempty"`
	EmptySince *int64       `json:"e,omitempty"` // nil for the zero time
}

type memberJSON struct {
	ID         string         `json:"id"`
	Instance   *string        `json:"i,omitempty"`
	Client     string         `json:"c,omitempty"`
	Host       string         `json:"h,omitempty"`
	Session    int64          `json:"st,omitempty"`
	Rebalance  int64          `json:"rt,omitempty"`
	Protocols  []protocolJSON `json:"p,omitempty"`
	Assignment []byte         `json:"a,omitempty"`
}

type protocolJSON struct {
	Name     string `json:"n"`
	Metadata []byte `json:"m,omitempty"`
}

func encodeGroupState(st metadata.GroupState) (string, error) {
	g := groupJSON{Type: st.ProtocolType, Protocol: st.Protocol, Generation: st.Generation,
		Leader: st.Leader, State: st.State, EmptySince: unixMillis(st.EmptySince)}
	for _, m := range st.Members {
		mj := memberJSON{ID: m.MemberID, Instance: m.InstanceID, Client: m.ClientID, Host: m.ClientHost,
			Session: m.SessionTimeout.Milliseconds(), Rebalance: m.RebalanceTimeout.Milliseconds(),
			Assignment: m.Assignment}
		for _, p := range m.Protocols {
			mj.Protocols = append(mj.Protocols, protocolJSON{Name: p.Name, Metadata: p.Metadata})
		}
		g.Members = append(g.Members, mj)
	}
	b, err := json.Marshal(g)
	if err != nil {
		return "", fmt.Errorf("encoding group %s: %w", st.Group, err)
	}
	return string(b), nil
}

func decodeGroupState(group, data string) (metadata.GroupState, error) {
	var g groupJSON
	if err := json.Unmarshal([]byte(data), &g); err != nil {
		return metadata.GroupState{}, fmt.Errorf("%w: group %s state: %w", errBadReply, group, err)
	}
	st := metadata.GroupState{Group: group, ProtocolType: g.Type, Protocol: g.Protocol, Generation: g.Generation,
		Leader: g.Leader, State: g.State, Members: make([]metadata.GroupMember, len(g.Members))}
	if g.EmptySince != nil {
		st.EmptySince = time.UnixMilli(*g.EmptySince).UTC()
	}
	for i, mj := range g.Members {
		m := metadata.GroupMember{MemberID: mj.ID, InstanceID: mj.Instance, ClientID: mj.Client, ClientHost: mj.Host,
			SessionTimeout:   time.Duration(mj.Session) * time.Millisecond,
			RebalanceTimeout: time.Duration(mj.Rebalance) * time.Millisecond,
			Assignment:       mj.Assignment, Protocols: make([]metadata.GroupProtocol, len(mj.Protocols))}
		for j, p := range mj.Protocols {
			m.Protocols[j] = metadata.GroupProtocol{Name: p.Name, Metadata: p.Metadata}
		}
		st.Members[i] = m
	}
	return st, nil
}

func unixMillis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// offsetField is a committed offset's field in the offsets hash:
// "<partition>:<topic>". The partition comes first so that a topic name
// holding ":" still splits at the first one.
func offsetField(tp metadata.TopicPartition) string {
	return strconv.FormatInt(int64(tp.Partition), 10) + ":" + tp.Topic
}

func parseOffsetField(f string) (metadata.TopicPartition, error) {
	p, topic, ok := strings.Cut(f, ":")
	n, err := strconv.ParseInt(p, 10, 32)
	if !ok || err != nil {
		return metadata.TopicPartition{}, fmt.Errorf("%w: offset field %q", errBadReply, f)
	}
	return metadata.TopicPartition{Topic: topic, Partition: int32(n)}, nil
}

// encodeOffset writes "<offset>,<leader epoch>,<commit time ms or empty
// for zero>,<n for nil metadata | s then the metadata>". The metadata is
// last, so it may hold commas.
func encodeOffset(o metadata.CommittedOffset) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(o.Offset, 10))
	b.WriteByte(',')
	b.WriteString(strconv.FormatInt(int64(o.LeaderEpoch), 10))
	b.WriteByte(',')
	if ms := unixMillis(o.CommitTime); ms != nil {
		b.WriteString(strconv.FormatInt(*ms, 10))
	}
	b.WriteByte(',')
	if o.Metadata == nil {
		b.WriteByte('n')
	} else {
		b.WriteByte('s')
		b.WriteString(*o.Metadata)
	}
	return b.String()
}

func decodeOffset(tp metadata.TopicPartition, v string) (metadata.CommittedOffset, error) {
	bad := fmt.Errorf("%w: offset %q of %s/%d", errBadReply, v, tp.Topic, tp.Partition)
	parts := strings.SplitN(v, ",", 4)
	if len(parts) != 4 || parts[3] == "" {
		return metadata.CommittedOffset{}, bad
	}
	o := metadata.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition}
	off, err1 := strconv.ParseInt(parts[0], 10, 64)
	epoch, err2 := strconv.ParseInt(parts[1], 10, 32)
	if err1 != nil || err2 != nil {
		return metadata.CommittedOffset{}, bad
	}
	o.Offset, o.LeaderEpoch = off, int32(epoch)
	if parts[2] != "" {
		ms, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil {
			return metadata.CommittedOffset{}, bad
		}
		o.CommitTime = time.UnixMilli(ms).UTC()
	}
	switch parts[3][0] {
	case 'n':
	case 's':
		md := parts[3][1:]
		o.Metadata = &md
	default:
		return metadata.CommittedOffset{}, bad
	}
	return o, nil
}
