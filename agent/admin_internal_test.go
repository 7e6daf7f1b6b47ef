package agent

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/metadata"
	"github.com/sluicehq/sluice/metadata/memory"
	"github.com/sluicehq/sluice/tiering/bucket"
)

// adminServer is an agent on a memory store whose handlers tests call
// directly; it is never Run.
func adminServer(t *testing.T, store Store) *Server {
	t.Helper()
	var cfg Config
	cfg.RegisterFlags("", flag.NewFlagSet("admin", flag.PanicOnError))
	cfg.Listen = "127.0.0.1:0"
	cfg.DefaultPartitions = 3
	if store == nil {
		store = memory.New()
	}
	srv, err := New(cfg, Deps{Store: store, Bucket: bucket.NewInMem(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.ln.Close() })
	return srv
}

// call runs req at version v through the registered handler, with the
// request and the response both round-tripped through their wire form so
// that only what version v carries survives.
func callAPI[R kmsg.Response](t *testing.T, srv *Server, req kmsg.Request, v int16) R {
	t.Helper()
	req.SetVersion(v)
	wire := kmsg.RequestForKey(req.Key())
	wire.SetVersion(v)
	if err := wire.ReadFrom(req.AppendTo(nil)); err != nil {
		t.Fatalf("decoding request v%d: %v", v, err)
	}
	s := &slot{req: &request{kreq: wire}, done: make(chan outcome, 1)}
	srv.dispatch(context.Background(), s)
	o := <-s.done
	if o.err != nil {
		t.Fatalf("handler error: %v", o.err)
	}
	got := wire.ResponseKind()
	if err := got.ReadFrom(o.resp.AppendTo(nil)); err != nil {
		t.Fatalf("decoding response v%d: %v", v, err)
	}
	return got.(R)
}

// mustCreate registers a topic straight in the store.
func mustCreateTopic(t *testing.T, srv *Server, name string, partitions int32, configs map[string]string) metadata.Topic {
	t.Helper()
	tp := newTopic(name, partitions, configs)
	if err := srv.deps.Store.CreateTopic(context.Background(), tp); err != nil {
		t.Fatal(err)
	}
	return tp
}

func mustGetTopic(t *testing.T, srv *Server, name string) metadata.Topic {
	t.Helper()
	tp, err := srv.deps.Store.Topic(context.Background(), name)
	if err != nil {
		t.Fatalf("topic %s: %v", name, err)
	}
	return tp
}

func wantErrCode(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	var wantCode int16
	if want != nil {
		wantCode = want.Code
	}
	if got != wantCode {
		t.Errorf("%s: code %v, want %v", what, kerr.ErrorForCode(got), want)
	}
}

// brokenStore fails every call of the registry with a non-sentinel error, as
// an unreachable Redis would.
type brokenStore struct {
	Store
}

var errStoreDown = errors.New("store down")

func (brokenStore) CreateTopic(context.Context, metadata.Topic) error { return errStoreDown }
func (brokenStore) Topic(context.Context, string) (metadata.Topic, error) {
	return metadata.Topic{}, errStoreDown
}
func (brokenStore) Topics(context.Context) ([]metadata.Topic, error) { return nil, errStoreDown }
func (brokenStore) InitProducerID(context.Context) (int64, int16, error) {
	return 0, 0, errStoreDown
}

// Kafka answers COORDINATOR_NOT_AVAILABLE until its offsets topic exists;
// so does an agent that cannot create it.
func TestFindCoordinatorStoreDown(t *testing.T) {
	srv := adminServer(t, brokenStore{})
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKey = "g"
	resp := callAPI[*kmsg.FindCoordinatorResponse](t, srv, req, 3)
	wantErrCode(t, "find", resp.ErrorCode, kerr.CoordinatorNotAvailable)
	req.CoordinatorType = 1
	resp = callAPI[*kmsg.FindCoordinatorResponse](t, srv, req, 3)
	wantErrCode(t, "transactional", resp.ErrorCode, kerr.TransactionalIDAuthorizationFailed)
}
