package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// idleWindow is how long consumers long-poll at the tail with no produce,
// to count what a tail Fetch costs.
const idleWindow = 3 * time.Second

// quietWindow is how long the bench watches the agent with no client at
// all, for what it sends Redis on its own (the fleet heartbeat): the
// per-flush and per-Fetch Redis figures leave that rate out.
const quietWindow = 3 * time.Second

// target is a broker the load runs against.
type target struct {
	name  string
	seeds func() string
	// obs reads the agent's counters; nil for a broker without them.
	obs *observer
	// restart, when set, replaces the broker before replay so that replay
	// reads through a cold cache.
	restart func(ctx context.Context) error
}

// Load is the result of one load against one broker.
type Load struct {
	Broker string `json:"broker"`
	Topic  string `json:"topic"`
	Full   Phase  `json:"full_load"`
	Half   Phase  `json:"half_load"`
	// Alone is full load with no consumer: what the broker absorbs, to
	// set beside what the S3 server absorbs alone.
	Alone         Phase   `json:"producers_alone"`
	ReplayMBps    float64 `json:"replay_mb_per_sec"`
	ReplayRecords int64   `json:"replay_records"`
	ReplaySeconds float64 `json:"replay_seconds"`
	ConsumeErrors int64   `json:"consume_errors"`
	Cost          *Cost   `json:"cost,omitempty"`
}

// The moments at which runLoad reads the agent's counters.
const (
	atStart          = iota // before full load
	afterFull               // right after full load
	afterHalf               // after half load and the consumers' catch-up
	afterIdle               // after the consumers idled at the tail
	afterProduceOnly        // after full load without consumers
	beforeReplay            // on the replay agent, before replay
	afterReplay
	numMarks
)

// runLoad creates a topic, runs the full-load and half-load phases with
// consumers at the tail, lets them idle at the tail, produces at full load
// without consumers (what the broker absorbs, and what a flush costs
// alone), then replays the topic from the start.
func runLoad(ctx context.Context, cfg Config, t target, prog *progress) (*Load, error) {
	res := &Load{Broker: t.name, Topic: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	configs, _ := cfg.topicConfigs() // checked by Validate
	if err := createTopic(ctx, t.seeds(), res.Topic, cfg.Partitions, configs); err != nil {
		return nil, err
	}
	var quiet [2]snapshot
	if t.obs != nil {
		var err error
		if quiet[0], err = t.obs.snapshot(ctx); err != nil {
			return nil, err
		}
		if err := pause(ctx, prog, t.name+": quiet", quietWindow, "no client: what the agent sends Redis on its own"); err != nil {
			return nil, err
		}
		if quiet[1], err = t.obs.snapshot(ctx); err != nil {
			return nil, err
		}
	}
	prods, err := newProducers(t.seeds(), res.Topic, cfg)
	if err != nil {
		return nil, err
	}
	defer prods.close()
	from := map[int32]int64{}
	for p := range cfg.Partitions {
		from[int32(p)] = 0
	}
	cons, err := startConsumers(ctx, t.seeds(), res.Topic, cfg.Consumers, from, nil)
	if err != nil {
		return nil, err
	}
	defer cons.stop()

	var snaps [numMarks]snapshot
	var produced, consumed [numMarks]int64
	mark := func(i int) error {
		produced[i], consumed[i] = prods.acked.bytes.Load(), cons.read.bytes.Load()
		if t.obs == nil {
			return nil
		}
		var err error
		snaps[i], err = t.obs.snapshot(ctx)
		return err
	}
	if err := mark(atStart); err != nil {
		return nil, err
	}
	profiled := profileAgent(ctx, cfg, t.obs, cfg.Duration-time.Second)
	if res.Full, err = prods.run(ctx, prog, t.name+": full load", cfg.Duration, float64(cfg.Rate), cons); err != nil {
		return nil, err
	}
	if err := <-profiled; err != nil {
		return nil, err
	}
	if err := mark(afterFull); err != nil {
		return nil, err
	}
	res.Full.CatchUpSeconds = cons.catchUp(ctx, prog, t.name+": consumers catch up", prods.acked.records.Load(), cfg.Duration)
	half := res.Full.RecordsPerSec / 2
	if res.Half, err = prods.run(ctx, prog, t.name+": half load", cfg.Duration/2, half, cons); err != nil {
		return nil, err
	}
	res.Half.CatchUpSeconds = cons.catchUp(ctx, prog, t.name+": consumers catch up", prods.acked.records.Load(), cfg.Duration)
	if err := mark(afterHalf); err != nil {
		return nil, err
	}
	if err := pause(ctx, prog, t.name+": idle at tail", idleWindow, "consumers long-poll, nothing produced"); err != nil {
		return nil, err
	}
	if err := mark(afterIdle); err != nil {
		return nil, err
	}
	cons.stop()
	res.ConsumeErrors = cons.errs.Load()
	// Consumers that fell behind the tail read the index in Redis and
	// compete for the cores; without them Redis and the agent's CPU see
	// only what producing costs.
	aloneProfiled := profileAgentTo(ctx, cfg, t.obs, cfg.Duration/2-time.Second, ".alone")
	if res.Alone, err = prods.run(ctx, prog, t.name+": producers alone", cfg.Duration/2, float64(cfg.Rate), new(consumers)); err != nil {
		return nil, err
	}
	if err := <-aloneProfiled; err != nil {
		return nil, err
	}
	if err := mark(afterProduceOnly); err != nil {
		return nil, err
	}

	if t.restart != nil {
		if err := t.restart(ctx); err != nil {
			return nil, fmt.Errorf("restarting the agent for replay: %w", err)
		}
	}
	if err := mark(beforeReplay); err != nil {
		return nil, err
	}
	replayProfiled := profileAgentTo(ctx, cfg, t.obs, replayProfileSeconds(cfg), ".replay")
	replayed, el, errs, err := replay(ctx, cfg, t, res.Topic, prog)
	if err != nil {
		return nil, err
	}
	if err := <-replayProfiled; err != nil {
		return nil, err
	}
	res.ReplayRecords, res.ReplaySeconds, res.ReplayMBps = replayed.records, el.Seconds(), mbps(replayed.bytes, el)
	res.ConsumeErrors += errs
	if err := mark(afterReplay); err != nil {
		return nil, err
	}
	if t.obs != nil {
		res.Cost = costOf(snaps, quiet, produced, consumed[afterIdle]-consumed[atStart], replayed.bytes)
	}
	return res, nil
}

func createTopic(ctx context.Context, seeds, topic string, partitions int, configs map[string]*string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds))
	if err != nil {
		return err
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, int32(partitions), 1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("creating topic %s with %d partitions at %s: %w", topic, partitions, seeds, err)
	}
	return nil
}

// pause waits d, showing what happens meanwhile as a phase.
func pause(ctx context.Context, prog *progress, name string, d time.Duration, what string) error {
	stop := prog.phase(name, d, func(time.Duration) string { return what })
	defer stop()
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type replayed struct{ records, bytes int64 }

// replay reads the whole topic from its start with fresh consumers, for at
// most cfg.Duration, and returns what they read and how long it took.
func replay(ctx context.Context, cfg Config, t target, topic string, prog *progress) (replayed, time.Duration, int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(t.seeds()))
	if err != nil {
		return replayed{}, 0, 0, err
	}
	starts, err := kadm.NewClient(cl).ListStartOffsets(ctx, topic)
	var ends kadm.ListedOffsets
	if err == nil {
		ends, err = kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	}
	cl.Close()
	if err == nil {
		err = starts.Error()
	}
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return replayed{}, 0, 0, fmt.Errorf("listing offsets of %s for replay: %w", topic, err)
	}
	from, until := map[int32]int64{}, map[int32]int64{}
	starts.Each(func(o kadm.ListedOffset) { from[o.Partition] = o.Offset })
	ends.Each(func(o kadm.ListedOffset) { until[o.Partition] = o.Offset })

	rctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	began := time.Now()
	cons, err := startConsumers(rctx, t.seeds(), topic, cfg.Consumers, from, until)
	if err != nil {
		return replayed{}, 0, 0, err
	}
	stop := prog.phase(t.name+": replay", cfg.Duration, func(el time.Duration) string {
		r, b := cons.read.load()
		return fmt.Sprintf("consume %7.1f MB/s %8.0f rec/s", mbps(b, el), float64(r)/el.Seconds())
	})
	cons.wait()
	el := time.Since(began)
	stop()
	cons.stop()
	r, b := cons.read.load()
	return replayed{records: r, bytes: b}, el, cons.errs.Load(), ctx.Err()
}

// profileAgent takes a CPU profile of the agent for d into
// cfg.AgentProfile, then a heap profile into cfg.AgentProfile+".heap", when
// asked to and the agent has an HTTP address. The channel yields the
// outcome.
func profileAgent(ctx context.Context, cfg Config, obs *observer, d time.Duration) <-chan error {
	return profileAgentTo(ctx, cfg, obs, d, "")
}

// replayProfileSeconds is how long the replay profile runs: replay takes at
// most cfg.Duration but often less, and a profile outlasting it would count
// idle time.
func replayProfileSeconds(cfg Config) time.Duration {
	return max(cfg.Duration/4, time.Second)
}

// profileAgentTo is profileAgent writing to cfg.AgentProfile+suffix.
func profileAgentTo(ctx context.Context, cfg Config, obs *observer, d time.Duration, suffix string) <-chan error {
	ch := make(chan error, 1)
	if cfg.AgentProfile == "" || obs == nil || obs.srv.agentHTTP == "" {
		ch <- nil
		return ch
	}
	base := "http://" + obs.srv.agentHTTP + "/debug/pprof/"
	path := cfg.AgentProfile + suffix
	go func() {
		err := fetchTo(ctx, fmt.Sprintf("%sprofile?seconds=%d", base, int(d.Seconds())), path)
		if err == nil {
			err = fetchTo(ctx, base+"heap", path+".heap")
		}
		ch <- err
	}()
	return ch
}

func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profiling the agent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profiling the agent: %s answered %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
