package agent

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestInitProducerIDHandsOutNewIDs(t *testing.T) {
	srv := adminServer(t, nil)
	seen := make(map[int64]bool)
	for v := int16(0); v <= 5; v++ {
		req := kmsg.NewPtrInitProducerIDRequest()
		if v >= 3 && len(seen) > 0 {
			// KIP-360: a producer recovering names its id; it gets a new one.
			for id := range seen {
				req.ProducerID, req.ProducerEpoch = id, 0
			}
		}
		resp := callAPI[*kmsg.InitProducerIDResponse](t, srv, req, v)
		wantErrCode(t, "init", resp.ErrorCode, nil)
		if resp.ProducerID < 0 || resp.ProducerEpoch != 0 || seen[resp.ProducerID] {
			t.Errorf("v%d: id %d epoch %d (seen %v)", v, resp.ProducerID, resp.ProducerEpoch, seen)
		}
		seen[resp.ProducerID] = true
	}
}

func TestInitProducerIDRefuses(t *testing.T) {
	srv := adminServer(t, nil)
	for txnID, want := range map[string]*kerr.Error{
		"txn": kerr.TransactionalIDAuthorizationFailed,
		"":    kerr.InvalidRequest,
	} {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = kmsg.StringPtr(txnID)
		resp := callAPI[*kmsg.InitProducerIDResponse](t, srv, req, 4)
		wantErrCode(t, "transactional id "+txnID, resp.ErrorCode, want)
		if resp.ProducerID != -1 {
			t.Errorf("refused with producer id %d", resp.ProducerID)
		}
	}

	srv = adminServer(t, brokenStore{})
	resp := callAPI[*kmsg.InitProducerIDResponse](t, srv, kmsg.NewPtrInitProducerIDRequest(), 4)
	wantErrCode(t, "store down", resp.ErrorCode, kerr.KafkaStorageError)
	if resp.ProducerID != -1 {
		t.Errorf("store down answered producer id %d", resp.ProducerID)
	}
}
