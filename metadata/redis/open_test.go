package redis

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/integration/testenv"
	"github.com/sluicehq/sluice/metadata"
)

func TestOpenBadURL(t *testing.T) {
	for _, u := range []string{"", "localhost:6379", "http://localhost:6379", "redis://localhost:notaport",
		"redis://user:hunter2@localhost:6379/notadb"} {
		_, err := Open(t.Context(), u)
		if err == nil {
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		if !strings.Contains(err.Error(), "want redis://") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): %v; want the expected form, and no password", u, err)
		}
	}
}

func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	start := time.Now()
	_, err = Open(t.Context(), "redis://"+addr+"/0")
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "check that Redis runs") {
		t.Fatalf("Open of a closed port: %v; want an error naming %s and what to check", err, addr)
	}
	if d := time.Since(start); d > openTimeout+time.Second {
		t.Fatalf("Open of a closed port took %v", d)
	}
}

func TestCheckDurability(t *testing.T) {
	plain := testenv.StartRedis(t)
	if err := openStore(t, plain.URL()).CheckDurability(t.Context()); !errors.Is(err, ErrNotDurable) {
		t.Errorf("CheckDurability without AOF: %v, want ErrNotDurable", err)
	}
	aof := testenv.StartRedis(t, testenv.WithAOF())
	if err := openStore(t, aof.URL()).CheckDurability(t.Context()); err != nil {
		t.Errorf("CheckDurability with appendfsync always: %v", err)
	}
	managed := testenv.StartRedis(t, testenv.WithArgs("--rename-command", "CONFIG", ""))
	if err := openStore(t, managed.URL()).CheckDurability(t.Context()); err != nil {
		t.Errorf("CheckDurability without CONFIG, as on a managed service: %v", err)
	}
}

func TestCheckDurabilityReplica(t *testing.T) {
	primary := testenv.StartRedis(t)
	host, port, _ := net.SplitHostPort(primary.Addr())
	testenv.StartRedis(t, testenv.WithArgs("--replicaof", host, port))
	s := openStore(t, primary.URL())
	// The replica connects and syncs in the background.
	var err error
	eventually(t, "a replica to confirm writes", func() bool {
		err = s.CheckDurability(t.Context())
		return err == nil
	})
}

// A store whose durability rests on a replica holds each commit for the
// replica's confirmation, in the commit's one round trip, and fails the
// commit when no replica confirms it.
func TestCommitWaitsForReplica(t *testing.T) {
	primary := testenv.StartRedis(t)
	host, port, _ := net.SplitHostPort(primary.Addr())
	replica := testenv.StartRedis(t, testenv.WithArgs("--replicaof", host, port))
	s := openStore(t, primary.URL())
	eventually(t, "a replica to confirm writes", func() bool { return s.CheckDurability(t.Context()) == nil })
	p := metadata.Partition{Topic: createTopic(t, s, "t", 1).ID}
	var rt roundTrips
	s.client.AddHook(&rt)
	if _, err := s.Commit(t.Context(), oneBatch(p, 1)); err != nil {
		t.Fatalf("Commit with a replica: %v", err)
	}
	if n := rt.n.Load(); n != 1 {
		t.Fatalf("Commit took %d round trips, want 1", n)
	}
	if err := rawClient(t, primary).ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(t.Context(), oneBatch(p, 1)); err != nil {
		t.Fatalf("Commit with a replica after SCRIPT FLUSH: %v", err)
	}
	replica.Kill()
	start := time.Now()
	if _, err := s.Commit(t.Context(), oneBatch(p, 1)); !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("Commit without the replica: %v, want ErrNotReplicated", err)
	}
	if d := time.Since(start); d > waitTimeout+time.Second {
		t.Fatalf("Commit without the replica took %v", d)
	}
}

// A fresh Redis is marked with this build's format; one marked with a
// newer format, or with no number, is refused with a message that says
// what to run.
func TestOpenChecksTheFormat(t *testing.T) {
	r := testenv.StartRedis(t)
	openStore(t, r.URL())
	raw := rawClient(t, r)
	if v, err := raw.Get(t.Context(), formatKey()).Result(); err != nil || v != fmt.Sprint(formatVersion) {
		t.Fatalf("%s = %q, %v; want %d", formatKey(), v, err, formatVersion)
	}
	for _, stored := range []string{fmt.Sprint(formatVersion + 1), "x"} {
		if err := raw.Set(t.Context(), formatKey(), stored, 0).Err(); err != nil {
			t.Fatal(err)
		}
		s, err := Open(t.Context(), r.URL())
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, ErrFormat) {
			t.Errorf("Open with format %q stored = %v, want ErrFormat", stored, err)
		}
		t.Log(err)
	}
}
