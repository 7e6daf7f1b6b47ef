package integration

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/integration/testenv"
)

// TestObjectTool lists the objects a real agent wrote to S3 and inspects
// one: header, index naming the topic, and verified checksums.
func TestObjectTool(t *testing.T) {
	rd := testenv.StartRedis(t)
	s3 := testenv.StartS3(t)
	a := startAgent(t, rd.URL(), s3.URL())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	createTopic(ctx, t, a.addr, "inspected", 3)
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.addr), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produceN(ctx, t, cl, "inspected", 0, 300, 50, newLedger())

	out, err := exec.CommandContext(ctx, sluiceBin, "object", "ls", s3.URL()).CombinedOutput()
	if err != nil {
		t.Fatalf("object ls: %v\n%s", err, out)
	}
	keys := strings.Fields(string(out))
	if len(keys) == 0 || !strings.HasPrefix(keys[0], "ingest/") {
		t.Fatalf("object ls printed %q, want ingest/ keys", out)
	}
	out, err = exec.CommandContext(ctx, sluiceBin, "object", "inspect", s3.URL(), keys[0]).CombinedOutput()
	if err != nil {
		t.Fatalf("object inspect: %v\n%s", err, out)
	}
	for _, want := range []string{"checksums verified", "inspected"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("object inspect output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("%s", out)

	if out, err := exec.CommandContext(ctx, sluiceBin, "object", "inspect", s3.URL(), "ingest/missing").CombinedOutput(); err == nil {
		t.Fatalf("inspecting a missing key succeeded:\n%s", out)
	}
}
